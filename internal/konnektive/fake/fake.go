// Package fake is a faithful fake of the Konnektive / CheckoutChamp query
// API (../../../../shared/spec/konnektive-api.md §7) for tests, benchmarks
// and the demo. It serves a generated merchant over real HTTP:
//
//   - routes /{transactions,order,customer,purchase,campaign,product}/query/
//     and /transactions/summary/; anything else is an ERROR;
//   - GET and POST, with the query string, urlencoded and multipart bodies
//     merged; loginId and password required; the API user's IP allow-list
//     and per-endpoint permissions;
//   - always HTTP 200 with {result, message}; "No ... matching those
//     parameters could be found" when nothing matches;
//   - startDate/endDate as MM/DD/YYYY, M/D/YY or YYYY-MM-DD[ HH:MM:SS], read
//     as whole days of the account zone; dateRangeType dateCreated (default)
//     or dateUpdated; sortDir 1 ascending (default) or 0 descending;
//     startTime/endTime (HH:MM) only with Options.HonourTimes;
//   - resultsPerPage default 25, clamped to 200; page 1-based; totalResults
//     the full count; pages past the end have an empty data list;
//   - amounts as strings, flags 0/1, ids as integers except orderId and
//     purchaseId, account-zone wall-clock times, items keyed by id, the
//     3DTxnResult key, and the bank numbers and eCommercePassword a real
//     answer carries (synthetic here) so clients prove they drop them;
//   - switchable faults (Faults): HTML 502 pages, transient ERRORs, 429 with
//     Retry-After, slow answers, dropped connections, a request rate limit,
//     and rows shifting between pages (a row's dateUpdated bumped to "now"
//     in the middle of a dateUpdated walk).
//
// Import mode (ImportLegacy, import.go) serves what Konnektive holds after
// importing legacy transactions files instead of a generated merchant, and
// optionally a plausibly broken import with its faults listed.
//
// Time is modelled: the server has a clock (Options.Clock). A row exists
// from its dateCreated; a row whose dateUpdated is later (a chargeback
// restating its sale weeks later, a refunded order, a cancelled
// subscription) shows its earlier state until the clock reaches that
// dateUpdated, then the restated row with the new dateUpdated. A test
// advances a Clock to watch a chargeback appear in a later dateUpdated query.
package fake

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Options configure a Server.
type Options struct {
	LoginID  string
	Password string
	Location *time.Location // the account time zone; America/New_York when nil

	// AllowIPs is the API user's IP allow-list: addresses or CIDR prefixes.
	// Empty allows every caller.
	AllowIPs []string
	// Denied lists endpoints the API user may not query, as paths without
	// slashes ("transactions/query").
	Denied []string

	// HonourTimes filters on startTime/endTime (HH:MM) within the first and
	// last day, as Konnektive may do; off, they are ignored like the time
	// part of startDate/endDate.
	HonourTimes bool

	// RowsWithoutNames leaves campaignName and the items' product names
	// out of transaction rows, as an account whose rows lack them: the
	// campaign and product queries still name them.
	RowsWithoutNames bool

	Clock     func() time.Time // "now"; time.Now when nil
	RateLimit float64          // requests a second before 429s; 0 is no limit
	Faults    Faults
	Logger    *slog.Logger
}

// Faults are injected failures. An EveryN field fires on every Nth request
// (counted over all requests, in arrival order); 0 turns it off. When two
// fire on the same request the first listed wins.
type Faults struct {
	DropEvery      int           // close the connection: before any answer, or mid-body (alternating)
	HTML502Every   int           // a load balancer's HTML 502 page
	RateLimitEvery int           // 429 with Retry-After
	TransientEvery int           // HTTP 200 {"result":"ERROR"} with a transient text
	SlowEvery      int           // answer after Slow
	Slow           time.Duration // how slow; 2s when 0
	RetryAfter     time.Duration // Retry-After on 429s, whole seconds; 1s when 0
	// DriftEvery bumps a row's dateUpdated to now on every Nth page served
	// of a dateUpdated query that has pages after it, after the page is
	// computed: later pages shift by a row.
	DriftEvery int
	DriftLimit int // at most this many rows moved; 0 is no limit
}

// Catalog is what the campaign and product endpoints serve.
type Catalog struct {
	Campaigns  []Campaign
	Products   []Product
	Merchants  []Merchant
	Affiliates []Affiliate
}

// Affiliate is a traffic source: rows carry its id (affId) and its name
// (sourceTitle).
type Affiliate struct {
	ID   string
	Name string
}

// Campaign is a campaign row.
type Campaign struct {
	ID   int
	Name string
	Type string // ECOMMERCE, PHONE, LANDER
}

// Product is a campaign product row.
type Product struct {
	ID         int
	CampaignID int
	Name       string
	SKU        string
	Price      crm.Money
	Shipping   crm.Money
}

// Merchant is a merchant account (MID).
type Merchant struct {
	ID         int
	Name       string
	Descriptor string
	Currency   string // ISO 4217; "USD" when empty
}

// Bundle is one customer with everything they did.
type Bundle struct {
	Customer     crm.Customer
	Contact      Contact
	Orders       []crm.Order
	Transactions []crm.Transaction
	Purchases    []crm.Purchase
	// TxnInfo, when set, has one entry per transaction: what a processor
	// said beyond the crm fields.
	TxnInfo []TxnInfo
	// OrderInfo, when set, has one entry per order.
	OrderInfo []OrderInfo
}

// OrderInfo is what an order row says beyond crm.Order.
type OrderInfo struct {
	ClientOrderID string // the order id the merchant sent (a legacy import's orderId)
}

// TxnInfo is a transaction's processor detail.
type TxnInfo struct {
	ResponseText  string // "Approved", "Do Not Honor"
	AuthCode      string
	RecycleNumber int
	ClientOrderID string // the order's client order id (a legacy import's orderId)
}

// Contact is what a Konnektive row says about a customer beyond
// crm.Customer: address and payment details. Bank numbers are synthetic.
type Contact struct {
	Address1, Address2, City string
	IPAddress                string
	PaySource                string
	CardType                 string
	CardBin                  string
	CardLast4                string
	CardExpiry               string // MM/YYYY
	ACHAccount, ACHRouting   string
	ECommercePassword        string
	// Ship is the shipping address when it differs from the billing one;
	// nil ships to the billing address.
	Ship *ShipAddress
}

// ShipAddress is a shipping address.
type ShipAddress struct {
	FirstName, LastName        string
	Address1, Address2, City   string
	State, PostalCode, Country string
}

type kind uint8

const (
	kCustomer kind = iota
	kOrder
	kPurchase
	kTxn
	nKinds
)

// rec is one row and its place in time.
type rec struct {
	kind    kind
	id      string
	num     int64 // numeric id for ordering; 0 when not numeric
	created crm.WallTime
	updated crm.WallTime // the final version's dateUpdated
	touched crm.WallTime // a drift fault's dateUpdated, when set
	state   uint8        // 0 not yet created, 1 as created, 2 restated (final)
	cust    *custRec
	order   *crm.Order
	oinfo   *OrderInfo
	pur     *crm.Purchase
	txn     *crm.Transaction
	info    *TxnInfo
}

const (
	stHidden uint8 = iota
	stCreated
	stFinal
)

// curUpdated is the dateUpdated the row shows now.
func (r *rec) curUpdated() crm.WallTime {
	switch {
	case !r.touched.IsZero():
		return r.touched
	case r.state == stFinal:
		return r.updated
	}
	return r.created
}

type custRec struct {
	c       crm.Customer
	contact Contact
	recs    []*rec // every row of the customer, all kinds
}

type event struct {
	at  int64 // UTC unix nanoseconds
	r   *rec
	to  uint8
	seq int
}

// Server is the fake API. Add data, then serve Handler.
type Server struct {
	opts    Options
	loc     *time.Location
	allow   []netip.Prefix
	denied  map[string]bool
	log     *slog.Logger
	limiter *bucket

	mu         sync.Mutex
	sealed     bool
	catalog    Catalog
	created    [nKinds]*index
	updated    [nKinds]*index
	byID       [nKinds]map[string]*rec
	events     []event
	next       int // events[:next] are applied
	reqs       int64
	drifts     int64        // rows moved by the drift fault
	driftPages int64        // pages that could have drifted
	epoch      crm.WallTime // campaigns' and products' dateCreated
}

// New returns an empty server.
func New(opts Options) (*Server, error) {
	if opts.LoginID == "" || opts.Password == "" {
		return nil, errors.New("new fake konnektive: login id and password are required")
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			return nil, fmt.Errorf("new fake konnektive: %w", err)
		}
		opts.Location = loc
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Faults.Slow <= 0 {
		opts.Faults.Slow = 2 * time.Second
	}
	if opts.Faults.RetryAfter <= 0 {
		opts.Faults.RetryAfter = time.Second
	}
	s := &Server{opts: opts, loc: opts.Location, log: opts.Logger, denied: map[string]bool{}}
	for _, a := range opts.AllowIPs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, err2 := netip.ParseAddr(a)
			if err2 != nil {
				return nil, fmt.Errorf("new fake konnektive: allow-list entry %q is not an address or prefix", a)
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		s.allow = append(s.allow, p)
	}
	for _, d := range opts.Denied {
		s.denied[trimPath(d)] = true
	}
	if opts.RateLimit > 0 {
		s.limiter = newBucket(opts.RateLimit)
	}
	for k := range nKinds {
		s.created[k] = newIndex(func(r *rec) string { return r.created.Raw })
		s.updated[k] = newIndex(func(r *rec) string { return r.curUpdated().Raw })
		s.byID[k] = map[string]*rec{}
	}
	return s, nil
}

// SetCatalog sets the campaigns, products and merchant accounts served.
func (s *Server) SetCatalog(c Catalog) {
	s.mu.Lock()
	s.catalog = c
	s.mu.Unlock()
}

// Add adds one customer's rows. Call it before serving.
func (s *Server) Add(b Bundle) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		return errors.New("fake konnektive: add after serving started")
	}
	cr := &custRec{c: b.Customer, contact: b.Contact}
	if err := s.addRec(cr, &rec{kind: kCustomer, id: b.Customer.ID, created: b.Customer.Created, updated: b.Customer.Updated, cust: cr}); err != nil {
		return err
	}
	for i := range b.Orders {
		o := &b.Orders[i]
		r := &rec{kind: kOrder, id: o.ID, created: o.Created, updated: o.Updated, cust: cr, order: o}
		if i < len(b.OrderInfo) {
			r.oinfo = &b.OrderInfo[i]
		}
		if err := s.addRec(cr, r); err != nil {
			return err
		}
	}
	for i := range b.Purchases {
		p := &b.Purchases[i]
		if err := s.addRec(cr, &rec{kind: kPurchase, id: p.ID, created: p.Created, updated: p.Updated, cust: cr, pur: p}); err != nil {
			return err
		}
	}
	for i := range b.Transactions {
		t := &b.Transactions[i]
		r := &rec{kind: kTxn, id: t.ID, created: t.Created, updated: t.Updated, cust: cr, txn: t}
		if i < len(b.TxnInfo) {
			r.info = &b.TxnInfo[i]
		}
		if err := s.addRec(cr, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) addRec(cr *custRec, r *rec) error {
	if r.id == "" {
		return fmt.Errorf("fake konnektive: a row of kind %d has no id", r.kind)
	}
	if r.created.IsZero() {
		return fmt.Errorf("fake konnektive: row %s has no dateCreated", r.id)
	}
	if _, dup := s.byID[r.kind][r.id]; dup {
		return fmt.Errorf("fake konnektive: duplicate id %s", r.id)
	}
	if n, err := strconv.ParseInt(r.id, 10, 64); err == nil {
		r.num = n
	}
	s.byID[r.kind][r.id] = r
	cr.recs = append(cr.recs, r)
	seq := len(s.events)
	s.events = append(s.events, event{at: r.created.UTC.UnixNano(), r: r, to: stCreated, seq: seq})
	if !r.updated.IsZero() && r.updated.UTC.After(r.created.UTC) {
		s.events = append(s.events, event{at: r.updated.UTC.UnixNano(), r: r, to: stFinal, seq: seq + 1})
	} else {
		r.updated = r.created
	}
	return nil
}

// seal sorts the events once, before the first request. Callers hold mu.
func (s *Server) seal() {
	if s.sealed {
		return
	}
	s.sealed = true
	sort.Slice(s.events, func(i, j int) bool {
		if s.events[i].at != s.events[j].at {
			return s.events[i].at < s.events[j].at
		}
		return s.events[i].seq < s.events[j].seq
	})
	// Campaigns and products exist from 30 days before the first row.
	first := time.Now()
	if len(s.events) > 0 {
		first = time.Unix(0, s.events[0].at)
	}
	day := first.In(s.loc).AddDate(0, 0, -30)
	raw := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC).Format(crm.WallLayout)
	s.epoch, _ = crm.ParseWall(raw, s.loc)
}

// advance applies every event up to now. Callers hold mu.
func (s *Server) advance(now time.Time) {
	s.seal()
	t := now.UnixNano()
	for s.next < len(s.events) && s.events[s.next].at <= t {
		e := s.events[s.next]
		s.next++
		r := e.r
		switch {
		case r.state == stHidden:
			r.state = stCreated
			if e.to == stFinal {
				r.state = stFinal
			}
			s.created[r.kind].insert(r)
			s.updated[r.kind].insert(r)
		case e.to > r.state:
			old := r.curUpdated().Raw
			s.updated[r.kind].remove(r, old)
			r.state = e.to
			s.updated[r.kind].insert(r)
		}
	}
}

// touch bumps r's dateUpdated to now (a drift fault) and reports whether
// it moved. Callers hold mu.
func (s *Server) touch(r *rec, now time.Time) bool {
	w := wallOf(now, s.loc)
	if w.Raw <= r.curUpdated().Raw {
		return false
	}
	s.updated[r.kind].remove(r, r.curUpdated().Raw)
	r.touched = w
	s.updated[r.kind].insert(r)
	return true
}

func wallOf(t time.Time, loc *time.Location) crm.WallTime {
	raw := t.In(loc).Format(crm.WallLayout)
	w, _ := crm.ParseWall(raw, loc)
	return w
}

// Counts reports the rows visible now, by kind: customers, orders,
// purchases, transactions.
func (s *Server) Counts() (customers, orders, purchases, transactions int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Clock())
	c := func(k kind) int { return s.created[k].count(-1<<30, 1<<30) }
	return c(kCustomer), c(kOrder), c(kPurchase), c(kTxn)
}

// Requests is how many requests the server has received.
func (s *Server) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs
}

// Drifts is how many rows a drift fault has moved so far.
func (s *Server) Drifts() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drifts
}

// Clock is a settable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// bucket is the server's request rate limit: a token bucket that refuses
// instead of waiting.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64) *bucket {
	return &bucket{rate: rate, tokens: max(1, rate), now: time.Now}
}

func (b *bucket) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(max(1, b.rate), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func trimPath(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// remoteAddr is the caller's address.
func remoteAddr(hostport string) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host
	}
	return a.Unmap(), host
}
