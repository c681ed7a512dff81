package adversary

import (
	"encoding/json"
	"fmt"
	"time"
)

// Row is the ground truth of one held row, taken from the server's own
// data, not from what it serves.
type Row struct {
	Entity     Entity
	ID         string
	CustomerID string
	OrderID    string // the order of an order, transaction or purchase
	PurchaseID string // the purchase of a purchase or transaction, if any
	ParentID   string // a REFUND's refunded transaction

	// Created and Updated are the true instants, in the account zone. The
	// served wall clock has no offset, so in the repeated hour of a
	// fall-back day it is ambiguous: compare wall times (Format
	// "2006-01-02 15:04:05"), not instants, with what a client decoded.
	Created time.Time
	Updated time.Time

	// Cents is a transaction's totalAmount (positive for refunds), an
	// order's totalAmount, a purchase's price. For a bad amount row it is
	// the amount before the damage.
	Cents        int64
	TxnType      string // SALE or REFUND
	OrderType    string // NEW_SALE or RECURRING
	Response     string // SUCCESS, SOFT_DECLINE or HARD_DECLINE
	Status       string // an order's orderStatus, a purchase's status
	BillingCycle int

	Chargedback     bool
	ChargebackCents int64
	ChargebackDate  string // YYYY-MM-DD

	Bad      string // the Bad* reason; "" for a good row
	BadField string // the field that is malformed

	Sensitive []string        // keys the row carries that a client must strip
	JSON      json.RawMessage // the row exactly as served now
}

// Day is the row's calendar date in the account zone for a range type
// (dateCreated or dateUpdated), YYYY-MM-DD.
func (r Row) Day(rangeType string) string {
	t := r.Created
	if rangeType == "dateUpdated" {
		t = r.Updated
	}
	return t.Format("2006-01-02")
}

func (w *world) row(r *rec) Row {
	x := Row{
		Entity: r.ent, ID: r.id, CustomerID: r.customerID, OrderID: r.orderID, PurchaseID: r.purchaseID,
		ParentID: r.parentID, Created: r.created.In(w.loc), Updated: r.updated.In(w.loc),
		Cents: r.amount, TxnType: r.txnType, OrderType: r.orderType, Response: r.response,
		BillingCycle: r.cycle, Chargedback: r.chargedback, Bad: r.bad, BadField: r.badField,
		Sensitive: sensitiveKeys(r), JSON: w.render(r),
	}
	if r.ent == Orders || r.ent == Purchases {
		x.Status = r.status
	}
	if r.chargedback {
		x.ChargebackCents = r.cbAmount
		x.ChargebackDate = r.cbDay.String()
	}
	return x
}

// Holds is every row of the endpoint the server holds now, by id.
func (s *Server) Holds(e Entity) map[string]Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Row{}
	for _, r := range s.w.recs[e] {
		out[r.id] = s.w.row(r)
	}
	return out
}

// Rows is every row of the endpoint, in creation order.
func (s *Server) Rows(e Entity) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Row, 0, len(s.w.recs[e]))
	for _, r := range s.w.recs[e] {
		out = append(out, s.w.row(r))
	}
	return out
}

// Select is what the server would serve now, over all pages and in order,
// for a window of whole days (YYYY-MM-DD, both included) and a range type
// ("" for dateCreated). It is the server's own filter, not an independent
// one.
func (s *Server) Select(e Entity, rangeType, from, to string) ([]Row, error) {
	a, ok1 := parseDay(from)
	b, ok2 := parseDay(to)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("adversary: select %q..%q: want YYYY-MM-DD", from, to)
	}
	if rangeType == "" {
		rangeType = "dateCreated"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := query{ent: e, dated: true, from: a.num(), to: b.num(), rangeType: rangeType, empty: a.num() > b.num()}
	var out []Row
	for _, r := range s.match(q) {
		out = append(out, s.w.row(r))
	}
	return out, nil
}

// BadRow names a malformed row.
type BadRow struct {
	Entity Entity
	ID     string
	Reason string // a Bad* constant
	Field  string
}

// BadRows lists the malformed rows held now, by endpoint and creation.
func (s *Server) BadRows() []BadRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BadRow
	for _, e := range Entities {
		for _, r := range s.w.recs[e] {
			if r.bad != "" {
				out = append(out, BadRow{e, r.id, r.bad, r.badField})
			}
		}
	}
	return out
}

// Sum is a count and a total in cents.
type Sum struct {
	Count int
	Cents int64
}

// Tally is counts and money totals computed from the server's data.
type Tally struct {
	Rows    map[Entity]int // every row held
	BadRows map[Entity]int // of which malformed

	// Over good transaction rows only (a sync that quarantines bad rows
	// should find exactly these; BadTxns holds the rest).
	Sales        Sum // SALE + SUCCESS, initial and rebills
	NewSales     Sum // of which NEW_SALE
	Rebills      Sum // of which RECURRING
	Refunds      Sum // REFUND + SUCCESS, positive cents
	Chargebacks  Sum // isChargedback=1, chargebackAmount
	SoftDeclines int
	HardDeclines int

	BadTxns BadSums
}

// BadSums is the money of the bad transaction rows, at their undamaged
// amounts.
type BadSums struct {
	Sales, Refunds, Chargebacks Sum
}

// Tally counts what the server holds now.
func (s *Server) Tally() Tally {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []Row
	for _, e := range Entities {
		for _, r := range s.w.recs[e] {
			x := s.w.row(r)
			x.JSON = nil
			all = append(all, x)
		}
	}
	return TallyOf(all)
}

// TallyOf tallies any rows, e.g. Holds filtered to a window.
func TallyOf(rows []Row) Tally {
	t := Tally{Rows: map[Entity]int{}, BadRows: map[Entity]int{}}
	add := func(s *Sum, c int64) { s.Count++; s.Cents += c }
	for _, r := range rows {
		t.Rows[r.Entity]++
		if r.Bad != "" {
			t.BadRows[r.Entity]++
		}
		if r.Entity != Transactions {
			continue
		}
		if r.Bad != "" {
			switch {
			case r.TxnType == "SALE" && r.Response == "SUCCESS":
				add(&t.BadTxns.Sales, r.Cents)
			case r.TxnType == "REFUND" && r.Response == "SUCCESS":
				add(&t.BadTxns.Refunds, r.Cents)
			}
			if r.Chargedback {
				add(&t.BadTxns.Chargebacks, r.ChargebackCents)
			}
			continue
		}
		switch {
		case r.TxnType == "SALE" && r.Response == "SUCCESS":
			add(&t.Sales, r.Cents)
			if r.OrderType == "RECURRING" {
				add(&t.Rebills, r.Cents)
			} else {
				add(&t.NewSales, r.Cents)
			}
		case r.TxnType == "REFUND" && r.Response == "SUCCESS":
			add(&t.Refunds, r.Cents)
		case r.Response == "SOFT_DECLINE":
			t.SoftDeclines++
		case r.Response == "HARD_DECLINE":
			t.HardDeclines++
		}
		if r.Chargedback {
			add(&t.Chargebacks, r.ChargebackCents)
		}
	}
	return t
}

// Chargeback charges back a successful, unrefunded SALE now: the row is
// restated in place and its dateUpdated becomes Now.
func (s *Server) Chargeback(txnID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.w.byID[Transactions][txnID]
	if x == nil || !s.w.chargeback(x, s.w.now) {
		return fmt.Errorf("adversary: transaction %s cannot be charged back", txnID)
	}
	return nil
}

// Refund refunds cents of a successful SALE now (all of what remains when
// cents <= 0) and returns the REFUND's id; the sale, its order and its
// purchase are restated.
func (s *Server) Refund(txnID string, cents int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.w.byID[Transactions][txnID]
	if x == nil {
		return "", fmt.Errorf("adversary: no transaction %s", txnID)
	}
	if cents <= 0 {
		cents = x.amount - x.refunded
	}
	if !s.w.refund(x, s.w.now, cents) {
		return "", fmt.Errorf("adversary: transaction %s cannot be refunded", txnID)
	}
	txns := s.w.recs[Transactions]
	return txns[len(txns)-1].id, nil
}

// RestateInPlace changes a transaction's amount to cents and moves nothing
// else, its dateUpdated included: a row changed under the same id and the
// same dates, which only a client that reads its window again and looks at
// what the row says (not at its id or its dates) can see.
func (s *Server) RestateInPlace(txnID string, cents int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.w.byID[Transactions][txnID]
	if x == nil {
		return fmt.Errorf("adversary: no transaction %s", txnID)
	}
	x.amount = cents
	return nil
}

// Touch restates a row now (see DriftBump) and moves its dateUpdated to
// Now.
func (s *Server) Touch(e Entity, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.w.byID[e][id]
	if r == nil {
		return fmt.Errorf("adversary: no %s %s", e, id)
	}
	s.w.touch(r, s.w.now)
	return nil
}

// AddCustomer makes a customer arrive at at (its checkout follows within
// 90 seconds) and returns the customer's id once the arrival happened: at
// once when at is not after Now, else "" until Advance passes it.
func (s *Server) AddCustomer(at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.w.scheduleArrival(at)
	s.w.run()
	if c.row == nil {
		return ""
	}
	return c.row.id
}
