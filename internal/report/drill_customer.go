package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/crm"
)

// ErrNoCustomer is returned by CustomerTimeline for an unknown customer.
var ErrNoCustomer = errors.New("no such customer")

// CustomerEvent is one line of a customer's timeline.
type CustomerEvent struct {
	When  string // local time (YYYY-MM-DD HH:MM:SS) or date in the display zone
	Kind  string // sale, rebill, decline, refund, chargeback, order, subscription, note, other
	What  string // a short description (masked: no card number)
	Ref   string // the transaction, order, purchase or note id
	Cycle int    // billing cycle of a transaction (Konnektive numbering), 0 when none
	// Amount and Currency of a money event; HasAmount says whether there is one.
	Amount    Money
	HasAmount bool
	Currency  string
	Card      string // the card's brand and at most its last four digits
	at        int64
	seq       int
}

// CustomerTotals are a customer's lifetime figures in one currency, by the
// events of metrics.md.
type CustomerTotals struct {
	Currency    string
	Sales       int64
	Gross       Money
	Refunds     Money // refund transactions
	Chargebacks Money
	Net         Money // gross − refunds − chargebacks
	Declines    int64
}

// CustomerView is a customer and their timeline, oldest first.
type CustomerView struct {
	Source, ID       string
	Name, Email      string // customer data: shown on pages only, never logged
	Phone            string
	Country, State   string
	Created          string
	FirstSale        string
	Events           []CustomerEvent
	Totals           []CustomerTotals
	Subscriptions    []CustomerSubscription
	TimeZone         string
	KnownAsCustomer  bool // the customers table holds the customer (legacy loads may hold only transactions)
	TransactionCount int
}

// CustomerSubscription is a purchase as the store knows it now.
type CustomerSubscription struct {
	ID, Product, Status, NextBill string
	Cycle                         int
	Price                         Money
	Updated                       string
}

// maxTimeline bounds a timeline (a customer of many years has hundreds of
// events; the page is not a data export).
const maxTimeline = 5000

// CustomerTimeline reads a customer's orders, transactions (sales and
// rebills by cycle, declines, refunds), chargebacks (on the day received),
// subscriptions and notes, with times in q.Loc. source may be "" (the
// customer's id in any source, api first). Text from the data is masked
// (cardnum.MaskText); cards show at most their last four digits.
func CustomerTimeline(ctx context.Context, q Query, source, id string) (*CustomerView, error) {
	db, rb := q.Store.DB(), q.Store.Rebind
	v := &CustomerView{ID: id, TimeZone: q.Loc.String()}
	local := func(at sql.NullInt64) (string, int64) {
		if !at.Valid {
			return "", 0
		}
		return time.Unix(at.Int64, 0).In(q.Loc).Format("2006-01-02 15:04:05"), at.Int64
	}
	// The customer row.
	srcCond, srcArgs := "", []any{}
	if source != "" {
		srcCond, srcArgs = " AND source = ?", []any{source}
	}
	var first, last string
	var created sql.NullInt64
	err := db.QueryRowContext(ctx, rb("SELECT source, first_name, last_name, email, phone, country, state, created_utc FROM customers WHERE integration_id = ? AND id = ?"+srcCond+" ORDER BY source LIMIT 1"),
		append([]any{q.Integration, id}, srcArgs...)...).Scan(&v.Source, &first, &last, &v.Email, &v.Phone, &v.Country, &v.State, &created)
	switch {
	case err == nil:
		v.KnownAsCustomer = true
	case errors.Is(err, sql.ErrNoRows):
		// Legacy transactions may name a customer the customers table lacks.
		var src sql.NullString
		if err := db.QueryRowContext(ctx, rb("SELECT MIN(source) FROM transactions WHERE integration_id = ? AND customer_id = ?"+srcCond),
			append([]any{q.Integration, id}, srcArgs...)...).Scan(&src); err != nil {
			return nil, fmt.Errorf("customer: %w", err)
		}
		if !src.Valid {
			return nil, ErrNoCustomer
		}
		v.Source = src.String
	default:
		return nil, fmt.Errorf("customer: %w", err)
	}
	v.Name = strings.TrimSpace(first + " " + last)
	v.Created, _ = local(created)
	for _, p := range []*string{&v.Name, &v.Email, &v.Phone, &v.Country, &v.State} {
		*p = cardnum.MaskText(*p)
	}
	add := func(e CustomerEvent) {
		e.seq = len(v.Events)
		e.What = cardnum.MaskText(e.What)
		v.Events = append(v.Events, e)
	}
	totals := map[string]*CustomerTotals{}
	total := func(cur string) *CustomerTotals {
		t := totals[cur]
		if t == nil {
			t = &CustomerTotals{Currency: cur}
			totals[cur] = t
		}
		return t
	}
	// Transactions, and each chargeback on its own date.
	rows, err := db.QueryContext(ctx, rb("SELECT id, created_utc, txn_type, response_type, billing_cycle, product_id, merchant_id, order_id, amount_cents, currency, card_brand, card_last4,"+
		" chargedback, chargeback_cents, chargeback_date, chargeback_reason FROM transactions WHERE integration_id = ? AND source = ? AND customer_id = ? ORDER BY created_utc, id LIMIT ?"),
		q.Integration, v.Source, id, maxTimeline)
	if err != nil {
		return nil, fmt.Errorf("customer transactions: %w", err)
	}
	for rows.Next() {
		var tid, typ, resp, product, mid, order, cur, brand, last4, cbReason string
		var at sql.NullInt64
		var cycle int
		var amt, cb, cbCents int64
		var cbDate sql.NullString
		if err := rows.Scan(&tid, &at, &typ, &resp, &cycle, &product, &mid, &order, &amt, &cur, &brand, &last4, &cb, &cbCents, &cbDate, &cbReason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("customer transactions: %w", err)
		}
		v.TransactionCount++
		when, unix := local(at)
		card := strings.TrimSpace(brand)
		if l4 := Last4(last4); l4 != "" {
			card = strings.TrimSpace(card + " …" + l4)
		}
		e := CustomerEvent{When: when, at: unix, Ref: tid, Cycle: cycle, Amount: Money(amt), HasAmount: true, Currency: cur, Card: card}
		what := []string{}
		if product != "" {
			what = append(what, "product "+product)
		}
		if order != "" {
			what = append(what, "order "+order)
		}
		if mid != "" {
			what = append(what, "MID "+mid)
		}
		t := total(cur)
		switch {
		case crm.IsSaleOf(typ, resp):
			e.Kind = "sale"
			if cycle > 1 {
				e.Kind = "rebill"
			}
			t.Sales++
			t.Gross += Money(amt)
		case crm.IsDeclineOf(typ, resp):
			e.Kind = "decline"
			what = append([]string{strings.ToLower(resp)}, what...)
			t.Declines++
		case crm.IsRefundOf(typ, resp):
			e.Kind = "refund"
			t.Refunds += Money(amt)
		default:
			e.Kind = "other"
			what = append([]string{strings.ToLower(typ + " " + resp)}, what...)
		}
		e.What = strings.Join(what, ", ")
		add(e)
		if cb != 0 && crm.IsSaleOf(typ, resp) {
			ce := CustomerEvent{Kind: "chargeback", Ref: tid, Cycle: cycle, Amount: Money(cbCents), HasAmount: true, Currency: cur, Card: card,
				What: strings.TrimSpace("of the sale of " + when + " " + cbReason)}
			if cbDate.Valid {
				ce.When = cbDate.String
				if d, err := crm.ParseDate(cbDate.String); err == nil {
					ce.at = d.In(q.Loc).Unix()
				}
			}
			t.Chargebacks += Money(cbCents)
			add(ce)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("customer transactions: %w", err)
	}
	// Orders.
	if err := eachRow(ctx, q, "SELECT id, created_utc, status, type, total_cents FROM orders WHERE integration_id = ? AND source = ? AND customer_id = ? ORDER BY created_utc, id LIMIT ?",
		[]any{q.Integration, v.Source, id, maxTimeline}, func(rows *sql.Rows) error {
			var oid, status, typ string
			var at sql.NullInt64
			var cents int64
			if err := rows.Scan(&oid, &at, &status, &typ, &cents); err != nil {
				return err
			}
			when, unix := local(at)
			add(CustomerEvent{When: when, at: unix, Kind: "order", Ref: oid, What: strings.TrimSpace(strings.ToLower(status + " " + typ)), Amount: Money(cents), HasAmount: cents != 0})
			return nil
		}); err != nil {
		return nil, fmt.Errorf("customer orders: %w", err)
	}
	// Subscriptions: their start, and their status as of their last update.
	if err := eachRow(ctx, q, "SELECT id, product_id, status, billing_cycle, next_bill_date, price_cents, created_utc, updated_utc FROM purchases WHERE integration_id = ? AND source = ? AND customer_id = ? ORDER BY created_utc, id LIMIT ?",
		[]any{q.Integration, v.Source, id, maxTimeline}, func(rows *sql.Rows) error {
			var s CustomerSubscription
			var next sql.NullString
			var created, updated sql.NullInt64
			var price int64
			if err := rows.Scan(&s.ID, &s.Product, &s.Status, &s.Cycle, &next, &price, &created, &updated); err != nil {
				return err
			}
			s.Status, s.NextBill, s.Price = cardnum.MaskText(s.Status), next.String, Money(price)
			s.Updated, _ = local(updated)
			v.Subscriptions = append(v.Subscriptions, s)
			when, unix := local(created)
			add(CustomerEvent{When: when, at: unix, Kind: "subscription", Ref: s.ID, What: "started, product " + s.Product})
			if updated.Valid && s.Status != "" {
				when, unix := local(updated)
				add(CustomerEvent{When: when, at: unix, Kind: "subscription", Ref: s.ID, What: "status " + strings.ToLower(s.Status) + " (as of this update)", Cycle: s.Cycle})
			}
			return nil
		}); err != nil {
		return nil, fmt.Errorf("customer subscriptions: %w", err)
	}
	// Notes (legacy imports).
	if err := eachRow(ctx, q, "SELECT id, created_utc, agent_name, note_text FROM customer_notes WHERE integration_id = ? AND source = ? AND customer_id = ? ORDER BY created_utc, id LIMIT ?",
		[]any{q.Integration, v.Source, id, maxTimeline}, func(rows *sql.Rows) error {
			var nid, agent, text string
			var at sql.NullInt64
			if err := rows.Scan(&nid, &at, &agent, &text); err != nil {
				return err
			}
			when, unix := local(at)
			add(CustomerEvent{When: when, at: unix, Kind: "note", Ref: nid, What: strings.TrimSpace(agent + ": " + text)})
			return nil
		}); err != nil {
		return nil, fmt.Errorf("customer notes: %w", err)
	}
	sort.SliceStable(v.Events, func(i, j int) bool {
		a, b := v.Events[i], v.Events[j]
		if a.at != b.at {
			return a.at < b.at
		}
		return a.seq < b.seq
	})
	for _, e := range v.Events {
		if e.Kind == "sale" || e.Kind == "rebill" {
			v.FirstSale = e.When
			break
		}
	}
	curs := make([]string, 0, len(totals))
	for c := range totals {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, c := range curs {
		t := totals[c]
		t.Net = t.Gross - t.Refunds - t.Chargebacks
		v.Totals = append(v.Totals, *t)
	}
	return v, nil
}

func eachRow(ctx context.Context, q Query, stmt string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
