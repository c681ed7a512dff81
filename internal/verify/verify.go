// Package verify checks an import against what Konnektive holds: for every
// customer of legacy transactions files it compares the customer, their
// orders, transactions and active subscriptions with the rows the query API
// returns, and reports each difference at its customer and field.
//
// Matching tolerates what an import legitimately changes:
//
//   - Konnektive assigns its own ids. A transaction is matched on its
//     merchantTxnId; an order on its client order id (the file's orderId);
//     an active subscription on (customer, productId).
//   - A file customer is the Konnektive customer that owns their matched
//     transactions and orders (the most rows, when they are split, which is
//     itself reported). A customer none of whose rows was found is looked
//     up by email address and name (case-insensitive); failing that, they
//     are missing.
//   - The file's DECLINE matches the API's HARD_DECLINE and SOFT_DECLINE.
//   - Times are compared as instants: the file's dateCreated is account
//     wall clock, read in the account zone; the API's likewise.
//
// "Nothing extra" means: no transaction, order or purchase of a matched
// customer that the files do not account for, and no merchantTxnId twice.
// Rows of customers who are not in the files are not compared (an account
// holds other traffic); they are counted.
//
// The files are read twice, streaming: the first pass indexes customers,
// orders, active subscriptions and the date span; the API is then walked
// (by date range over the span, or per customer); the second pass compares
// each transaction row as it is read. Memory grows with customers and with
// the API rows of the span, never with file size.
package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/legacy"
)

// API is what verify needs from Konnektive; *konnektive.Client implements it.
type API interface {
	Walk(ctx context.Context, ep konnektive.Endpoint, q konnektive.Query, fn func(konnektive.Page) error) error
}

// Query strategies.
const (
	ByRange    = "range"    // walk every endpoint over the import's date span
	ByCustomer = "customer" // query each customer by email, then their rows by customerId
)

// Options configure Run.
type Options struct {
	API      API
	Location *time.Location // the account time zone
	Strategy string         // ByRange (default) or ByCustomer
	// Today is the last day walked for customers, orders and purchases
	// (created on import, perhaps long after the file's dates); today in
	// Location when zero.
	Today crm.Date
	// Parallel is the number of concurrent walks; 4 when 0.
	Parallel int
	// Requests, when set, counts the HTTP requests made so far (retries
	// included); the report shows how many the run took.
	Requests func() int64
}

// Input is one file to verify (legacy.Input: the one input type).
type Input = legacy.Input

// Difference is one field that differs, or a row that is missing or extra.
type Difference struct {
	Field         string `json:"field"`
	MerchantTxnID string `json:"merchantTxnId,omitempty"`
	OrderID       string `json:"orderId,omitempty"`   // the file's orderId
	ProductID     string `json:"productId,omitempty"` // of a subscription
	File          string `json:"file"`
	Konnektive    string `json:"konnektive"`
	Note          string `json:"note,omitempty"`
}

// CustomerResult is a customer with differences.
type CustomerResult struct {
	CustomerID   string       `json:"customerId"`                     // the file's
	KonnektiveID string       `json:"konnektiveCustomerId,omitempty"` // the API's; "" when missing
	Differences  []Difference `json:"differences"`
}

// Counts are rows read.
type Counts struct {
	Customers     int `json:"customers"`
	Orders        int `json:"orders"`
	Transactions  int `json:"transactions"`
	Subscriptions int `json:"subscriptions"` // active: purchases in the API
}

// Report is what Run found.
type Report struct {
	OK         bool     `json:"ok"`
	Verdict    string   `json:"verdict"`
	Strategy   string   `json:"strategy"`
	Files      []string `json:"files"`
	Skipped    []string `json:"skipped,omitempty"` // notes and details files: not compared
	File       Counts   `json:"file"`
	Konnektive Counts   `json:"konnektive"` // rows the walks returned
	Matched    int      `json:"matchedCustomers"`
	// Unrelated counts API customers in the walked span that are not in
	// the files (not compared).
	Unrelated   int              `json:"unrelatedCustomers"`
	Pages       int64            `json:"pages"`
	Requests    int64            `json:"requests,omitempty"`
	Differences int              `json:"differences"`
	ByField     map[string]int   `json:"byField"`
	Customers   []CustomerResult `json:"customers"` // customers with differences, in file order
	Elapsed     time.Duration    `json:"-"`
	ElapsedText string           `json:"elapsed"`
}

// Run verifies the files against Konnektive.
func Run(ctx context.Context, inputs []Input, opts Options) (*Report, error) {
	if opts.API == nil || opts.Location == nil {
		return nil, errors.New("verify: an API client and the account time zone are required")
	}
	switch opts.Strategy {
	case "":
		opts.Strategy = ByRange
	case ByRange, ByCustomer:
	default:
		return nil, fmt.Errorf("verify: unknown strategy %q (want %s or %s)", opts.Strategy, ByRange, ByCustomer)
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Today.IsZero() {
		opts.Today = crm.DateOf(time.Now().In(opts.Location))
	}
	start := time.Now()
	v := newVerifier(opts)
	rep := &Report{Strategy: opts.Strategy, ByField: map[string]int{}}
	for _, in := range inputs {
		rep.Files = append(rep.Files, in.Name)
	}
	// Pass 1: index the files.
	for _, in := range inputs {
		skipped, err := v.readFile(ctx, in, v.index)
		if err != nil {
			return nil, err
		}
		if skipped {
			rep.Skipped = append(rep.Skipped, in.Name)
		}
	}
	if len(v.custs) > 0 {
		if err := v.load(ctx); err != nil {
			return nil, err
		}
	}
	// Pass 2: compare transactions as they are read.
	for _, in := range inputs {
		if _, err := v.readFile(ctx, in, v.compareRow); err != nil {
			return nil, err
		}
	}
	if err := v.finish(ctx); err != nil {
		return nil, err
	}
	v.fill(rep)
	if opts.Requests != nil {
		rep.Requests = opts.Requests()
	}
	rep.Elapsed = time.Since(start)
	rep.ElapsedText = rep.Elapsed.Round(time.Millisecond).String()
	return rep, nil
}

// fill writes the results into rep.
func (v *verifier) fill(rep *Report) {
	rep.File = Counts{Customers: len(v.custs), Orders: len(v.fileOrders), Transactions: v.fileTxns, Subscriptions: len(v.subs)}
	rep.Konnektive = Counts{Customers: len(v.acusts), Orders: len(v.orders), Transactions: len(v.txns), Subscriptions: len(v.purs)}
	rep.Pages = v.pages.Load()
	mapped := map[string]bool{}
	for _, c := range v.custs {
		if c.kID != "" {
			rep.Matched++
			mapped[c.kID] = true
		}
		if len(c.diffs) == 0 {
			continue
		}
		sortDiffs(c.diffs)
		rep.Customers = append(rep.Customers, CustomerResult{CustomerID: c.id, KonnektiveID: c.kID, Differences: c.diffs})
		rep.Differences += len(c.diffs)
		for _, d := range c.diffs {
			rep.ByField[d.Field]++
		}
	}
	for id := range v.acusts {
		if !mapped[id] {
			rep.Unrelated++
		}
	}
	rep.OK = rep.Differences == 0
	if rep.OK {
		rep.Verdict = fmt.Sprintf("verified: %d customers, %d transactions, no differences", len(v.custs), v.fileTxns)
		return
	}
	fields := make([]string, 0, len(rep.ByField))
	for f := range rep.ByField {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%s %d", f, rep.ByField[f])
	}
	rep.Verdict = fmt.Sprintf("DIFFERENCES: %d in %d of %d customers (%s)", rep.Differences, len(rep.Customers), len(v.custs), strings.Join(parts, ", "))
}

// fileCust is a customer of the files.
type fileCust struct {
	id      string
	contact [nContact]string
	txns    int
	kID     string
	votes   map[string]int // Konnektive customerId → rows matched there
	diffs   []Difference
}

// Contact fields compared, in report order.
const (
	cFirst = iota
	cLast
	cEmail
	cPhone
	cAddr1
	cAddr2
	cCity
	cState
	cPostal
	cCountry
	cShip1
	cShip2
	cShipCity
	cShipState
	cShipPostal
	cShipCountry
	nContact
)

var contactNames = [nContact]string{"firstName", "lastName", "emailAddress", "phoneNumber", "address1", "address2", "city",
	"state", "postalCode", "country", "shipAddress1", "shipAddress2", "shipCity", "shipState", "shipPostalCode", "shipCountry"}

type subKey struct {
	cust    int32
	product string
}

type fileSub struct {
	latest   string // dateCreated of the latest active row
	nbd      string
	merchant string
}

// verifier holds the indexes of one run.
type verifier struct {
	opts Options

	custs      []*fileCust
	custIdx    map[string]int32
	fileOrders map[string]int32 // orderId → customer
	subs       map[subKey]*fileSub
	subOrder   []subKey
	fileTxns   int
	d0, d1     string // the files' first and last day, YYYY-MM-DD

	mu        sync.Mutex
	txns      []apiTxn
	txnByID   map[string]int32
	txnByMTID map[string][]int32
	orders    []apiOrder
	orderByID map[string]int32
	acusts    map[string]*apiCust
	purs      []apiPur
	purByID   map[string]int32
	pages     atomicInt
}

func newVerifier(opts Options) *verifier {
	return &verifier{opts: opts, custIdx: map[string]int32{}, fileOrders: map[string]int32{}, subs: map[subKey]*fileSub{},
		txnByID: map[string]int32{}, txnByMTID: map[string][]int32{}, orderByID: map[string]int32{},
		acusts: map[string]*apiCust{}, purByID: map[string]int32{}}
}

func (c *fileCust) add(d Difference) { c.diffs = append(c.diffs, d) }
