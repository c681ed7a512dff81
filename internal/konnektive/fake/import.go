package fake

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

// Import mode: the fake serves what Konnektive holds after importing legacy
// transactions files (../../../../shared/seeds/konnektive-legacy-import-process.md):
//
//   - Konnektive assigns its own ids: customers from 700001, orders from
//     800001, purchases from 900001, transactions from 5000001, in file
//     order. The file's orderId becomes the order's clientOrderId (on the
//     order and on its transactions); merchantTxnId is kept.
//   - Wall-clock times are the file's dateCreated, read in the account zone.
//   - DECLINE becomes HARD_DECLINE or SOFT_DECLINE (by a hash of the
//     merchantTxnId, so the same file always gives the same answer).
//   - Refunds and captures hang off their parent's transactionId.
//   - Chargebacks are flagged on their sales with amount and date.
//   - Every (customer, productId) with an isActiveRecurring=1 row is an
//     ACTIVE purchase with the productId, merchantId and nextBillDate of its
//     latest such row.
//   - Every row's dateUpdated is the import time.
//
// With ImportOptions.Faults the import is plausibly broken, each fault on
// its own customer, chosen in file order (see ImportFault).

// Import fault kinds.
const (
	FaultMissingCustomer  = "missing-customer"      // the customer and all their rows were not imported
	FaultTimeZone         = "time-zone"             // the customer's times were read as UTC, not in the account zone
	FaultLostNextBillDate = "lost-next-bill-date"   // an active purchase has no nextBillDate
	FaultOrphanRefund     = "orphan-refund"         // a refund lost its parentTxnId
	FaultDuplicateTxn     = "duplicate-transaction" // a sale was imported twice
)

// ImportOptions choose how ImportLegacy imports.
type ImportOptions struct {
	// Faults injects one of each fault kind, deterministically.
	Faults bool
	// ImportedAt is the import's time, every row's dateUpdated; the
	// server's clock when zero.
	ImportedAt time.Time
}

// ImportFault is one injected fault: what a verify must report, at which
// customer (the file's customerId) and field.
type ImportFault struct {
	Kind          string `json:"kind"`
	CustomerID    string `json:"customerId"`              // the legacy customerId
	MerchantTxnID string `json:"merchantTxnId,omitempty"` // the transaction concerned
	ProductID     string `json:"productId,omitempty"`     // the purchase concerned
	Field         string `json:"field"`                   // customer, dateCreated, nextBillDate, parentTxnId, transaction
}

func (f ImportFault) String() string {
	s := f.Kind + " customer " + f.CustomerID + " field " + f.Field
	if f.MerchantTxnID != "" {
		s += " merchantTxnId " + f.MerchantTxnID
	}
	if f.ProductID != "" {
		s += " productId " + f.ProductID
	}
	return s
}

// ImportResult says what an import loaded.
type ImportResult struct {
	Customers, Orders, Purchases, Transactions int
	Faults                                     []ImportFault
	Skipped                                    []string // inputs that are not transactions files
}

// ImportInput is one legacy file.
type ImportInput struct {
	Name string
	R    io.Reader
}

// lrow is one transactions row, card numbers reduced to what Konnektive
// shows (bin and last four).
type lrow struct {
	f        map[string]string
	created  crm.WallTime
	kTxnID   string
	kOrderID string
}

func (r *lrow) get(k string) string { return r.f[k] }

type lcust struct {
	id   string
	rows []*lrow
}

// ImportLegacy loads legacy transactions files into s as a (possibly
// broken) import. Notes and details files are skipped and listed.
func ImportLegacy(ctx context.Context, s *Server, inputs []ImportInput, opts ImportOptions) (*ImportResult, error) {
	res := &ImportResult{}
	var custs []*lcust
	byID := map[string]*lcust{}
	for _, in := range inputs {
		skipped, err := readLegacy(ctx, in, s.loc, func(r *lrow) {
			id := r.get(legacy.FCustomerID)
			c := byID[id]
			if c == nil {
				c = &lcust{id: id}
				byID[id] = c
				custs = append(custs, c)
			}
			c.rows = append(c.rows, r)
		})
		if err != nil {
			return nil, err
		}
		if skipped {
			res.Skipped = append(res.Skipped, in.Name)
		}
	}
	at := opts.ImportedAt
	if at.IsZero() {
		at = s.opts.Clock()
	}
	b := &importer{loc: s.loc, updated: wallOf(at, s.loc), faults: opts.Faults, used: map[int]bool{}}
	if opts.Faults {
		b.pickFaults(custs)
	}
	sc := synth.DefaultCatalog()
	s.SetCatalog(CatalogFromSynth(sc))
	for i, c := range custs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if b.missing == i && opts.Faults {
			res.Faults = append(res.Faults, ImportFault{Kind: FaultMissingCustomer, CustomerID: c.id, Field: "customer"})
			continue
		}
		bu, faults := b.bundle(i, c)
		res.Faults = append(res.Faults, faults...)
		if err := s.Add(bu); err != nil {
			return nil, fmt.Errorf("import customer %s: %w", c.id, err)
		}
		res.Customers++
		res.Orders += len(bu.Orders)
		res.Purchases += len(bu.Purchases)
		res.Transactions += len(bu.Transactions)
	}
	return res, nil
}

// readLegacy calls fn with each row of a transactions file; it reports a
// file of another kind as skipped.
func readLegacy(ctx context.Context, in ImportInput, loc *time.Location, fn func(*lrow)) (bool, error) {
	lf, err := legacy.NewFile(ctx, in.Name, in.R, 0)
	if err != nil {
		return false, err
	}
	if lf.Kind != legacy.Transactions {
		return true, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		rec, err := lf.Read()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", in.Name, err)
		}
		f := make(map[string]string, len(lf.Columns))
		for h, i := range lf.Columns {
			if i < len(rec.Fields) {
				f[h] = strings.TrimSpace(rec.Fields[i])
			}
		}
		// Konnektive keeps the bin and the last four; the full number is
		// never held.
		if cn := f[legacy.FCardNumber]; cn != "" {
			f["cardBin"] = ""
			if len(cn) >= 6 && digitsOnly(cn[:6]) {
				f["cardBin"] = cn[:6]
			}
			f["cardLast4"] = last(cn, 4)
			delete(f, legacy.FCardNumber)
		}
		delete(f, legacy.FExternalToken)
		w, err := crm.ParseWall(f[legacy.FDateCreated], loc)
		if err != nil {
			return false, fmt.Errorf("read %s row %d: %w", in.Name, rec.Row, err)
		}
		fn(&lrow{f: f, created: w})
	}
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// importer assigns Konnektive's ids and builds bundles.
type importer struct {
	loc     *time.Location
	updated crm.WallTime
	faults  bool
	nCust   int
	nOrder  int
	nPur    int
	nTxn    int
	used    map[int]bool
	// customers chosen for each fault; -1 none
	missing, zone, nbd, orphan, dup int
}

func isActive(r *lrow) bool { return r.get(legacy.FIsActiveRecurring) == "1" }

// pickFaults chooses each fault's customer: the first eligible one in
// file order not already chosen.
func (b *importer) pickFaults(custs []*lcust) {
	pick := func(ok func(*lcust) bool) int {
		for i, c := range custs {
			if !b.used[i] && ok(c) {
				b.used[i] = true
				return i
			}
		}
		return -1
	}
	has := func(c *lcust, ok func(*lrow) bool) bool {
		for _, r := range c.rows {
			if ok(r) {
				return true
			}
		}
		return false
	}
	b.missing = pick(func(*lcust) bool { return true })
	b.nbd = pick(func(c *lcust) bool { return has(c, isActive) })
	b.orphan = pick(func(c *lcust) bool {
		return has(c, func(r *lrow) bool {
			return r.get(legacy.FTxnType) == legacy.ValueRefund && r.get(legacy.FParentTxnID) != ""
		})
	})
	b.dup = pick(func(c *lcust) bool {
		return has(c, func(r *lrow) bool {
			return r.get(legacy.FTxnType) == legacy.ValueSale && r.get(legacy.FResponseType) == legacy.ValueSuccess
		})
	})
	b.zone = pick(func(c *lcust) bool { return len(c.rows) >= 3 })
}

// wrongZone re-reads a wall-clock time as UTC and shows it in the account
// zone: what an importer that ignored the account zone stores.
func (b *importer) wrongZone(w crm.WallTime) crm.WallTime {
	wrong := time.UTC
	if _, off := time.Now().In(b.loc).Zone(); off == 0 {
		wrong, _ = time.LoadLocation("America/New_York")
	}
	naive, _ := time.Parse(crm.WallLayout, w.Raw)
	inst, _ := crm.Place(naive, wrong)
	return wallOf(inst, b.loc)
}

func declineKind(mtid string) string {
	h := fnv.New32a()
	h.Write([]byte(mtid))
	if h.Sum32()%2 == 0 {
		return crm.RespSoftDecline
	}
	return crm.RespHardDecline
}

func money(s string) crm.Money {
	m, _ := crm.ParseMoney(s)
	return m
}

// bundle turns customer i's rows into what Konnektive holds.
func (b *importer) bundle(i int, c *lcust) (Bundle, []ImportFault) {
	var faults []ImportFault
	rows := c.rows
	sort.SliceStable(rows, func(x, y int) bool { return rows[x].created.UTC.Before(rows[y].created.UTC) })
	zone := b.faults && i == b.zone
	for _, r := range rows {
		if zone {
			shifted := b.wrongZone(r.created)
			if shifted.Raw != r.created.Raw {
				faults = append(faults, ImportFault{Kind: FaultTimeZone, CustomerID: c.id, MerchantTxnID: r.get(legacy.FMerchantTxnID), Field: "dateCreated"})
			}
			r.created = shifted
		}
	}
	first := rows[0]
	b.nCust++
	kCust := strconv.Itoa(700000 + b.nCust)
	cu := crm.Customer{
		ID: kCust, FirstName: first.get(legacy.FFirstName), LastName: first.get(legacy.FLastName),
		Email: first.get(legacy.FEmailAddress), Phone: first.get(legacy.FPhoneNumber),
		Country: first.get(legacy.FCountry), State: first.get(legacy.FState), PostalCode: first.get(legacy.FPostalCode),
		Created: first.created, Updated: b.updated,
	}
	con := Contact{
		Address1: first.get(legacy.FAddress1), Address2: first.get(legacy.FAddress2), City: first.get(legacy.FCity),
		IPAddress: syntheticIP(b.nCust), PaySource: first.get(legacy.FPaySource),
		CardBin: first.get("cardBin"), CardLast4: first.get("cardLast4"),
		ACHAccount: first.get(legacy.FACHAccountNumber), ACHRouting: first.get(legacy.FACHRoutingNumber),
	}
	if m, y := first.get(legacy.FCardExpiryMonth), first.get(legacy.FCardExpiryYear); m != "" && y != "" {
		con.CardExpiry = m + "/" + y
	}
	if first.get(legacy.FBillShipSame) == "0" {
		con.Ship = &ShipAddress{FirstName: cu.FirstName, LastName: cu.LastName,
			Address1: first.get(legacy.FShipAddress1), Address2: first.get(legacy.FShipAddress2), City: first.get(legacy.FShipCity),
			State: first.get(legacy.FShipState), PostalCode: first.get(legacy.FShipPostalCode), Country: first.get(legacy.FShipCountry)}
	}
	bu := Bundle{Customer: cu, Contact: con}

	// Orders, in order of first appearance.
	orderIdx := map[string]int{}
	for _, r := range rows {
		oid := r.get(legacy.FOrderID)
		k, ok := orderIdx[oid]
		if !ok {
			b.nOrder++
			k = len(bu.Orders)
			orderIdx[oid] = k
			typ := "NEW_SALE"
			if k > 0 {
				typ = "RECURRING"
			}
			bu.Orders = append(bu.Orders, crm.Order{ID: strconv.Itoa(800000 + b.nOrder), CustomerID: kCust,
				CampaignID: r.get(legacy.FCampaignID), Status: "DECLINED", Type: typ, AffID: r.get(legacy.FAffID),
				SubAffID: r.get(legacy.FSubAffID), Country: r.get(legacy.FCountry), Created: r.created, Updated: b.updated})
			bu.OrderInfo = append(bu.OrderInfo, OrderInfo{ClientOrderID: oid})
		}
		r.kOrderID = bu.Orders[k].ID
		if r.get(legacy.FResponseType) == legacy.ValueSuccess {
			switch r.get(legacy.FTxnType) {
			case legacy.ValueSale, legacy.ValueCapture:
				bu.Orders[k].Status = "COMPLETE"
				bu.Orders[k].Total += money(r.get(legacy.FTotalAmount))
			}
		}
	}

	// Purchases: one per product with an active row.
	type sub struct {
		idx    int
		latest *lrow
	}
	subs := map[string]*sub{}
	var subOrder []string
	for _, r := range rows {
		if !isActive(r) {
			continue
		}
		p := r.get(legacy.FProductID)
		s := subs[p]
		if s == nil {
			s = &sub{}
			subs[p] = s
			subOrder = append(subOrder, p)
		}
		s.latest = r
	}
	for _, p := range subOrder {
		s := subs[p]
		var firstRow *lrow
		cycles := 0
		var price crm.Money
		for _, r := range rows {
			if r.get(legacy.FProductID) != p {
				continue
			}
			if firstRow == nil {
				firstRow = r
			}
			if r.get(legacy.FTxnType) == legacy.ValueSale && r.get(legacy.FResponseType) == legacy.ValueSuccess {
				cycles++
				price = money(r.get(legacy.FSubTotal))
			}
		}
		b.nPur++
		nbd, _ := crm.ParseDate(s.latest.get(legacy.FNextBillDate))
		if b.faults && i == b.nbd && len(bu.Purchases) == 0 {
			nbd = crm.Date{}
			faults = append(faults, ImportFault{Kind: FaultLostNextBillDate, CustomerID: c.id, ProductID: p, Field: "nextBillDate"})
		}
		s.idx = len(bu.Purchases)
		bu.Purchases = append(bu.Purchases, crm.Purchase{ID: strconv.Itoa(900000 + b.nPur), OrderID: firstRow.kOrderID,
			CustomerID: kCust, CampaignID: s.latest.get(legacy.FCampaignID), ProductID: p, MerchantID: s.latest.get(legacy.FMerchantID),
			Status: "ACTIVE", BillingCycle: cycles, NextBillDate: nbd, Price: price, Created: firstRow.created, Updated: b.updated})
	}

	// Transactions.
	byMTID := map[string]string{}
	cycle := map[string]int{}
	dupDone := false
	for _, r := range rows {
		b.nTxn++
		r.kTxnID = strconv.Itoa(5000000 + b.nTxn)
		mtid := r.get(legacy.FMerchantTxnID)
		byMTID[mtid] = r.kTxnID
		resp := r.get(legacy.FResponseType)
		if resp == legacy.ValueDecline {
			resp = declineKind(mtid)
		}
		t := crm.Transaction{ID: r.kTxnID, MerchantTxnID: mtid, CustomerID: kCust, OrderID: r.kOrderID,
			CampaignID: r.get(legacy.FCampaignID), ProductID: r.get(legacy.FProductID), MerchantID: r.get(legacy.FMerchantID),
			AffID: r.get(legacy.FAffID), SubAffID: r.get(legacy.FSubAffID), Country: r.get(legacy.FCountry),
			TxnType: r.get(legacy.FTxnType), ResponseType: resp, PaySource: r.get(legacy.FPaySource), CardLast4: r.get("cardLast4"),
			SubTotal: money(r.get(legacy.FSubTotal)), ShipTotal: money(r.get(legacy.FShipTotal)), SalesTax: money(r.get(legacy.FSalesTax)),
			Amount: money(r.get(legacy.FTotalAmount)), Created: r.created, Updated: b.updated}
		if s := subs[t.ProductID]; s != nil {
			t.PurchaseID = bu.Purchases[s.idx].ID
		}
		if t.TxnType == crm.TxnSale && t.ResponseType == crm.RespSuccess {
			cycle[t.ProductID]++
			t.BillingCycle = cycle[t.ProductID]
		}
		if p := r.get(legacy.FParentTxnID); p != "" {
			t.ParentID = byMTID[p]
			if b.faults && i == b.orphan && t.TxnType == crm.TxnRefund && !hasFault(faults, FaultOrphanRefund) {
				t.ParentID = ""
				faults = append(faults, ImportFault{Kind: FaultOrphanRefund, CustomerID: c.id, MerchantTxnID: mtid, Field: "parentTxnId"})
			}
		}
		if r.get(legacy.FIsChargedback) == "1" {
			t.Chargedback = true
			t.ChargebackAmt = money(r.get(legacy.FChargebackTotal))
			t.ChargebackDay, _ = crm.ParseDate(r.get(legacy.FChargebackDate))
			t.ChargebackWhy = r.get(legacy.FChargebackReason)
		}
		text := "Approved"
		if t.ResponseType != crm.RespSuccess {
			text = "Declined"
		}
		info := TxnInfo{ResponseText: text, AuthCode: r.get(legacy.FAuthCode), ClientOrderID: r.get(legacy.FOrderID)}
		bu.Transactions = append(bu.Transactions, t)
		bu.TxnInfo = append(bu.TxnInfo, info)
		if b.faults && i == b.dup && !dupDone && t.IsSale() {
			dupDone = true
			b.nTxn++
			d := t
			d.ID = strconv.Itoa(5000000 + b.nTxn)
			bu.Transactions = append(bu.Transactions, d)
			bu.TxnInfo = append(bu.TxnInfo, info)
			faults = append(faults, ImportFault{Kind: FaultDuplicateTxn, CustomerID: c.id, MerchantTxnID: mtid, Field: "transaction"})
		}
	}
	return bu, faults
}

func hasFault(fs []ImportFault, kind string) bool {
	for _, f := range fs {
		if f.Kind == kind {
			return true
		}
	}
	return false
}
