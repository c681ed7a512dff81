package report

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Drill-down: the rows behind one cell of a report (a summary figure, an
// LTV cohort cell, a retention cycle, a merchant account's month), listed
// with the events, filters and display time zone of the report that
// produced the cell, so that the rows add up to it exactly: their number
// is the cell's count, and (for a money figure) their amounts its sum.
// Every list has a stable order (the event's instant, then source and id)
// and is read a page at a time (offset and limit) or streamed whole (CSV).

// Drill reports.
const (
	DrillSummary     = "summary"
	DrillLTV         = "ltv"
	DrillRetention   = "retention"
	DrillChargebacks = "chargebacks"
)

// Row kinds: what a drill lists.
const (
	RowTransactions  = "transactions"
	RowCustomers     = "customers"
	RowSubscriptions = "subscriptions"
	RowOrders        = "orders"
)

// DrillCell names one cell of a report.
type DrillCell struct {
	Report string // DrillSummary, DrillLTV, DrillRetention or DrillChargebacks
	// Figure is the summary's figure (a SummaryRow JSON key: gross_revenue,
	// sales, refunds, ...), the LTV cell's value (gross or net), the
	// retention set (approvals, eligible, eligible_approvals) or the
	// chargeback month's part (chargebacks, sales, sales_prev_month).
	Figure string
	// Group is the group of a broken-down report's row (Query.By); nil
	// when the report has no breakdown.
	Group *string

	From, To crm.Date // summary: the range
	AsOf     crm.Date // ltv, retention: the report's now

	Period string // ltv: the cohort period (day, week, month)
	Cohort string // ltv: the cohort's name (CohortName)
	N      int    // ltv: the cell's day (or month) since the first sale; retention: the cycle
	Months bool   // ltv: N counts months since the first sale

	// Retention: each product's billing interval in days (RetentionResult.
	// IntervalDays); nil computes it (a retention report).
	Intervals map[string]int

	Merchant, Month, Brand string // chargebacks: the merchant account, YYYY-MM, the brand row (AllCards for all)
}

// summaryFigures are the summary's drillable figures and the rows they list.
var summaryFigures = map[string]string{
	"gross_revenue": RowTransactions, "sales": RowTransactions, "sales_initial": RowTransactions, "sales_rebill": RowTransactions,
	"declines": RowTransactions, "declines_initial": RowTransactions, "declines_rebill": RowTransactions,
	"refund_transactions": RowTransactions, "refund_amount": RowTransactions,
	"refunds": RowTransactions, "refunds_konnektive_view": RowTransactions,
	"chargebacks": RowTransactions, "chargeback_amount": RowTransactions,
	"chargebacks_konnektive_view": RowTransactions, "chargeback_amount_konnektive_view": RowTransactions,
	"net_revenue": RowTransactions, "orders": RowOrders, "new_customers": RowCustomers,
}

// SummaryDrillable says whether a summary column lists rows behind it.
func SummaryDrillable(figure string) bool { _, ok := summaryFigures[figure]; return ok }

// Kind is what the cell's rows are (RowTransactions, ...).
func (c DrillCell) Kind() string {
	switch c.Report {
	case DrillLTV:
		return RowCustomers
	case DrillRetention:
		return RowSubscriptions
	case DrillChargebacks:
		return RowTransactions
	}
	return summaryFigures[c.Figure]
}

// Check says what is wrong with a cell, or nil.
func (c DrillCell) Check() error {
	switch c.Report {
	case DrillSummary:
		if !SummaryDrillable(c.Figure) {
			return fmt.Errorf("drill: the summary figure %q lists no rows", c.Figure)
		}
		if c.To.Before(c.From) || c.From.IsZero() {
			return fmt.Errorf("drill: the range %s to %s is empty", c.From, c.To)
		}
	case DrillLTV:
		if c.Figure != "gross" && c.Figure != "net" {
			return fmt.Errorf("drill: LTV value %q (want gross or net)", c.Figure)
		}
		if _, _, err := cohortRange(c.Period, c.Cohort); err != nil {
			return err
		}
		if c.N < 0 || c.N > MaxCell || c.AsOf.IsZero() {
			return fmt.Errorf("drill: LTV cell %d as of %s", c.N, c.AsOf)
		}
	case DrillRetention:
		switch c.Figure {
		case "approvals", "eligible", "eligible_approvals":
		default:
			return fmt.Errorf("drill: retention set %q (want approvals, eligible or eligible_approvals)", c.Figure)
		}
		if c.N < 1 || c.AsOf.IsZero() {
			return fmt.Errorf("drill: retention cycle %d as of %s", c.N, c.AsOf)
		}
	case DrillChargebacks:
		switch c.Figure {
		case "chargebacks", "chargeback_amount", "sales", "sales_prev_month":
		default:
			return fmt.Errorf("drill: chargebacks part %q (want chargebacks, sales or sales_prev_month)", c.Figure)
		}
		if _, err := time.Parse("2006-01", c.Month); err != nil {
			return fmt.Errorf("drill: month %q (want YYYY-MM)", c.Month)
		}
	default:
		return fmt.Errorf("drill: unknown report %q", c.Report)
	}
	return nil
}

// DrillRow is one row behind a cell.
type DrillRow struct {
	// When is the row's date (YYYY-MM-DD) or local time (YYYY-MM-DD HH:MM:SS)
	// in the display time zone: a transaction's instant, a chargeback's
	// date, an order's or customer's first sale, a subscription's cycle 1.
	When       string
	Event      string // transactions: sale, decline, refund, chargeback
	ID         string // the transaction, order or subscription id
	Source     string // api or legacy
	CustomerID string
	OrderID    string
	Product    string
	Merchant   string
	Cycle      int
	Brand      string // the card's brand
	Last4      string // the card's last four digits, at most
	Currency   string
	// Amount is what the row adds to the cell's sum, in cents: negative
	// where the cell subtracts it (refunds and chargebacks in net revenue);
	// a decline's attempted amount (a count figure sums nothing).
	Amount int64
	Sales  int64 // orders: sales in the range; customers: sales counted in the cell
	// Subscriptions: the day of the approved cycle N ("" none) and
	// whether it is eligible for cycle N.
	CycleN   string
	Eligible bool

	at int64 // the instant behind When
}

// DrillHeader is the header of a kind of rows (CSV and tables).
func DrillHeader(kind string) []string {
	switch kind {
	case RowCustomers:
		return []string{"customer", "first_sale", "cohort_sales", "amount", "currency"}
	case RowOrders:
		return []string{"first_sale", "order", "customer", "sales", "amount", "currency"}
	case RowSubscriptions:
		return []string{"cycle_1", "subscription", "customer", "product", "approved_cycle_n", "eligible", "currency"}
	}
	return []string{"date", "event", "amount", "currency", "customer", "transaction", "order", "product", "merchant", "cycle", "card"}
}

// Cells are the row's cells under DrillHeader(kind).
func (r DrillRow) Cells(kind string) []string {
	amt := Money(r.Amount).String()
	switch kind {
	case RowCustomers:
		return []string{r.CustomerID, r.When, fmt.Sprint(r.Sales), amt, r.Currency}
	case RowOrders:
		return []string{r.When, r.OrderID, r.CustomerID, fmt.Sprint(r.Sales), amt, r.Currency}
	case RowSubscriptions:
		return []string{r.When, r.ID, r.CustomerID, r.Product, r.CycleN, fmt.Sprint(r.Eligible), r.Currency}
	}
	card := strings.TrimSpace(r.Brand)
	if r.Last4 != "" {
		card = strings.TrimSpace(card + " …" + r.Last4)
	}
	return []string{r.When, r.Event, amt, r.Currency, r.CustomerID, r.ID, r.OrderID, r.Product, r.Merchant, fmt.Sprint(r.Cycle), card}
}

// Last4 keeps at most the last four digits of a stored card field: the
// store holds card_last4, but a drill never shows more whatever it holds.
func Last4(s string) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) > 4 {
		d = d[len(d)-4:]
	}
	return string(d)
}

// DrillTotal is what a cell says: Count rows, and, when Money, Cents.
type DrillTotal struct {
	Count int64
	Cents int64
	Money bool // the rows' amounts add up to Cents
}

// Drill lists the rows behind a cell: it skips offset rows of the cell's
// stable order and calls fn for the next limit (every one when limit <= 0).
// q is the report's query as the report page built it (filters, currency,
// display zone): the rows pass the same filters as the cell's figures.
// Rows are read in batches, each result set closed before fn sees its
// rows, so fn may write to a slow client without holding a connection.
func Drill(ctx context.Context, q Query, c DrillCell, offset, limit int, fn func(DrillRow) error) error {
	if err := c.Check(); err != nil {
		return err
	}
	if c.Report == DrillRetention && q.By == "" {
		q.By = "product"
	}
	if c.Group != nil && q.By == "" && c.Report != DrillChargebacks {
		return fmt.Errorf("drill: a group needs a breakdown")
	}
	// The report's filters, resolved as the report resolves them (the
	// chargebacks report takes a bare value as a merchant account's).
	if c.Report == DrillChargebacks {
		q.By = "merchant"
	}
	q, err := q.prepare(ctx, c.Report == DrillSummary || c.Report == DrillLTV)
	if err != nil {
		return err
	}
	if c.Report == DrillChargebacks {
		q.By = "" // the cell names its merchant account
	}
	d := &drill{q: q, c: c, offset: int64(max(offset, 0)), limit: int64(limit), fn: fn}
	if limit <= 0 {
		d.limit = -1
	}
	d.filter, d.filterArgs = d.groupFilter()
	switch c.Report {
	case DrillSummary:
		return d.summary(ctx)
	case DrillLTV:
		return d.ltv(ctx)
	case DrillRetention:
		return d.retention(ctx)
	}
	return d.chargebacks(ctx)
}

type drill struct {
	q          Query
	c          DrillCell
	offset     int64
	limit      int64 // -1: all
	fn         func(DrillRow) error
	filter     string // " AND ..." on the row that carries the group (alias t.)
	filterArgs []any
}

// groupFilter is the condition the report's filters and the cell's group
// put on the row that carries the group: the event's own row, or a
// customer's or subscription's first sale (as the reports group and
// filter them).
func (d *drill) groupFilter() (string, []any) { return d.filterOn("t.") }

// filterOn is groupFilter on another alias.
func (d *drill) filterOn(alias string) (string, []any) {
	cond, args := d.q.filterSQL(alias)
	if col := mustColumn(d.q.By); col != "" && d.c.Group != nil {
		cond += " AND " + alias + col + " = ?"
		args = append(args, *d.c.Group)
	}
	return cond, args
}

// drillBatch is how many rows one query of a drill reads.
const drillBatch = 500

// each runs stmt (which ends in a total ORDER BY) batch by batch from the
// drill's offset, limit rows in all; scan reads a row, emit finishes it
// (it may query the store: the batch's result set is closed by then) and
// hands it on.
//
// A whole list (limit < 0) whose emit does not query is one query,
// streamed: batches by offset would sort the list once per batch.
func (d *drill) each(ctx context.Context, what, stmt string, args []any, scan func(*sql.Rows) (DrillRow, error), emit func(DrillRow) error, queries bool) error {
	off, left := d.offset, d.limit
	q := d.q.Store.Rebind(stmt + " LIMIT ? OFFSET ?")
	batch := int64(drillBatch)
	if left < 0 && !queries {
		batch = 1<<63 - 1
	}
	for left != 0 {
		n := batch
		if left > 0 {
			n = min(n, left)
		}
		rows, err := d.q.Store.DB().QueryContext(ctx, q, append(append([]any{}, args...), n, off)...)
		if err != nil {
			return fmt.Errorf("drill %s: %w", what, err)
		}
		var got []DrillRow
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("drill %s: %w", what, err)
			}
			if queries || left > 0 {
				got = append(got, r)
				continue
			}
			if err := emit(r); err != nil { // streamed: the result set stays open
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("drill %s: %w", what, err)
		}
		for _, r := range got {
			if err := emit(r); err != nil {
				return err
			}
		}
		if int64(len(got)) < n {
			return nil // the last batch, or the whole list streamed
		}
		off += n
		if left > 0 {
			left -= n
		}
	}
	return nil
}

func (d *drill) localTime(at int64) string {
	return time.Unix(at, 0).In(d.q.Loc).Format("2006-01-02 15:04:05")
}

// txnCols are the columns a transaction row reads (alias t.), scanned by
// scanTxn after any leading columns.
const txnCols = "COALESCE(t.created_utc, 0), t.source, t.id, t.customer_id, t.order_id, t.product_id, t.merchant_id, t.billing_cycle, t.card_brand, t.card_last4, t.currency, t.chargeback_date"

func (d *drill) scanTxn(rows *sql.Rows, lead []any, tail ...any) (DrillRow, sql.NullString, int64, error) {
	var r DrillRow
	var at int64
	var cbDate sql.NullString
	dest := append(append(lead, &at, &r.Source, &r.ID, &r.CustomerID, &r.OrderID, &r.Product, &r.Merchant, &r.Cycle, &r.Brand, &r.Last4, &r.Currency, &cbDate), tail...)
	if err := rows.Scan(dest...); err != nil {
		return r, cbDate, at, err
	}
	r.Last4 = Last4(r.Last4)
	r.When, r.at = d.localTime(at), at
	return r, cbDate, at, nil
}

// part is one kind of event in a transactions list.
type part struct {
	event string // sale, decline, refund, chargeback
	cond  string // on t.
	args  []any
	sign  int    // +1, or -1 where the cell subtracts the amount
	amt   string // the amount column
}

// summary lists a period figure's rows.
func (d *drill) summary(ctx context.Context) error {
	c := d.c
	lo, hi := dayBounds(c.From, c.To, d.q.Loc)
	inRange := " AND t.created_utc >= ? AND t.created_utc < ?"
	rng := []any{lo, hi}
	sales := part{"sale", saleCond("t.") + inRange, rng, 1, "t.amount_cents"}
	declines := part{"decline", declineCond("t.") + inRange, rng, 1, "t.amount_cents"}
	refunds := part{"refund", refundCond("t.") + inRange, rng, 1, "t.amount_cents"}
	received := part{"chargeback", saleCond("t.") + " AND t.chargedback = 1 AND t.chargeback_date >= ? AND t.chargeback_date <= ?",
		[]any{c.From.String(), c.To.String()}, 1, "t.chargeback_cents"}
	ofSales := part{"chargeback", saleCond("t.") + " AND t.chargedback = 1" + inRange, rng, 1, "t.chargeback_cents"}
	neg := func(p part) part { p.sign = -1; return p }
	with := func(p part, cond string) part { p.cond += cond; return p }
	initial, rebill := " AND t.billing_cycle <= 1", " AND t.billing_cycle > 1"
	switch c.Figure {
	case "gross_revenue", "sales":
		return d.transactions(ctx, sales)
	case "sales_initial":
		return d.transactions(ctx, with(sales, initial))
	case "sales_rebill":
		return d.transactions(ctx, with(sales, rebill))
	case "declines":
		return d.transactions(ctx, declines)
	case "declines_initial":
		return d.transactions(ctx, with(declines, initial))
	case "declines_rebill":
		return d.transactions(ctx, with(declines, rebill))
	case "refund_transactions", "refund_amount":
		return d.transactions(ctx, refunds)
	case "refunds":
		return d.transactions(ctx, refunds, received)
	case "refunds_konnektive_view":
		return d.transactions(ctx, refunds, ofSales)
	case "chargebacks", "chargeback_amount":
		return d.transactions(ctx, received)
	case "chargebacks_konnektive_view", "chargeback_amount_konnektive_view":
		return d.transactions(ctx, ofSales)
	case "net_revenue":
		return d.transactions(ctx, sales, neg(refunds), neg(received))
	case "orders":
		return d.orders(ctx, lo, hi)
	}
	// new_customers
	return d.firstSales(ctx, lo, hi, d.fn, false)
}

// transactions lists the parts' rows, part after part, each in the order
// of the transactions' instants (then source and id). Each part is its own
// query, which reads its index in order and stops at the page's end; a
// page that starts past a part counts that part instead of reading it.
func (d *drill) transactions(ctx context.Context, parts ...part) error {
	offset, left := d.offset, d.limit
	for i, p := range parts {
		if left == 0 {
			return nil
		}
		where := d.q.scope("t.") + " AND " + p.cond + d.filter
		args := append(append(d.q.scopeArgs(), p.args...), d.filterArgs...)
		if offset > 0 && i < len(parts)-1 {
			var n int64
			if err := d.q.Store.DB().QueryRowContext(ctx, d.q.Store.Rebind("SELECT COUNT(*) FROM transactions t WHERE "+where), args...).Scan(ints(&n)...); err != nil {
				return fmt.Errorf("drill transactions: %w", err)
			}
			if n <= offset {
				offset -= n
				continue
			}
		}
		stmt := fmt.Sprintf("SELECT %s, %d * %s FROM transactions t WHERE %s ORDER BY t.created_utc, t.source, t.id", txnCols, p.sign, p.amt, where)
		d.offset, d.limit = offset, left
		var emitted int64
		err := d.each(ctx, "transactions", stmt, args, func(rows *sql.Rows) (DrillRow, error) {
			var amt int64
			r, cbDate, _, err := d.scanTxn(rows, nil, ints(&amt)...)
			if err != nil {
				return r, err
			}
			r.Event, r.Amount = p.event, amt
			if r.Event == "chargeback" && cbDate.Valid {
				r.When = cbDate.String // received on the day it names
			}
			return r, nil
		}, func(r DrillRow) error { emitted++; return d.fn(r) }, false)
		if err != nil {
			return err
		}
		if left > 0 {
			left -= emitted
		}
		offset = 0
	}
	return nil
}

// orders lists the distinct orders with a sale in [lo, hi) (among the
// filtered rows), each at its first such sale, with its sales in the range.
// An order is its id within its source (an integration's rows have one).
func (d *drill) orders(ctx context.Context, lo, hi int64) error {
	efilter, eargs := d.filterOn("e.")
	inRange := func(a string) string {
		return d.q.scope(a) + " AND " + saleCond(a) + " AND " + a + "created_utc >= ? AND " + a + "created_utc < ?"
	}
	sameOrder := "e.source = t.source AND e.order_id = t.order_id AND " + inRange("e.") + efilter
	stmt := "SELECT COALESCE(t.created_utc, 0), t.order_id, t.customer_id, t.currency," +
		" (SELECT COUNT(*) FROM transactions e WHERE " + sameOrder + ")," +
		" (SELECT CAST(COALESCE(SUM(e.amount_cents), 0) AS BIGINT) FROM transactions e WHERE " + sameOrder + ")" +
		" FROM transactions t WHERE " + inRange("t.") + " AND t.order_id <> ''" + d.filter +
		" AND NOT EXISTS (SELECT 1 FROM transactions e WHERE " + sameOrder + " AND (e.created_utc < t.created_utc OR (e.created_utc = t.created_utc AND e.id < t.id)))" +
		" ORDER BY t.created_utc, t.source, t.id"
	same := append(d.q.scopeArgs(lo, hi), eargs...)
	args := append(append(append(append(append([]any{}, same...), same...), d.q.scopeArgs(lo, hi)...), d.filterArgs...), same...)
	return d.each(ctx, "orders", stmt, args, func(rows *sql.Rows) (DrillRow, error) {
		var r DrillRow
		var at int64
		err := rows.Scan(ints(&at)[0], &r.OrderID, &r.CustomerID, &r.Currency, ints(&r.Sales)[0], ints(&r.Amount)[0])
		r.ID, r.When = r.OrderID, d.localTime(at)
		return r, err
	}, d.fn, false)
}

// firstSales lists the customers whose first sale (the first in the order
// of instants, then ids, as the reports take it) falls in [lo, hi) and
// whose first-sale row passes the filters, in the order of those sales;
// emit finishes each row (queries: it reads the store).
func (d *drill) firstSales(ctx context.Context, lo, hi int64, emit func(DrillRow) error, queries bool) error {
	stmt := "SELECT " + txnCols + ", t.amount_cents FROM transactions t WHERE " + d.q.scope("t.") + " AND " + saleCond("t.") +
		" AND t.created_utc >= ? AND t.created_utc < ?" + d.filter +
		" AND NOT EXISTS (SELECT 1 FROM transactions e WHERE " + d.q.scope("e.") + " AND e.source = t.source AND e.customer_id = t.customer_id AND " + saleCond("e.") +
		" AND (e.created_utc < t.created_utc OR (e.created_utc = t.created_utc AND e.id < t.id)))" +
		" ORDER BY t.created_utc, t.source, t.id"
	args := append(append(d.q.scopeArgs(lo, hi), d.filterArgs...), d.q.scopeArgs()...)
	return d.each(ctx, "customers", stmt, args, func(rows *sql.Rows) (DrillRow, error) {
		var amt int64
		r, _, _, err := d.scanTxn(rows, nil, ints(&amt)...)
		r.Event, r.Amount, r.Sales = "sale", amt, 1
		return r, err
	}, emit, queries)
}

// cohortRange is the first and last day of a cohort by its name.
func cohortRange(period, name string) (crm.Date, crm.Date, error) {
	switch period {
	case CohortDay:
		d, err := crm.ParseDate(name)
		if err == nil && !d.IsZero() {
			return d, d, nil
		}
	case CohortWeek:
		var y, w int
		if _, err := fmt.Sscanf(name, "%4d-W%2d", &y, &w); err == nil && w >= 1 && w <= 53 {
			// ISO week 1 holds January 4th; weeks start on Monday.
			jan4 := time.Date(y, time.January, 4, 12, 0, 0, 0, time.UTC)
			mon := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(w-1))
			if CohortName(CohortWeek, crm.DateOf(mon)) == name {
				return crm.DateOf(mon), crm.DateOf(mon.AddDate(0, 0, 6)), nil
			}
		}
	case CohortMonth:
		if t, err := time.Parse("2006-01", name); err == nil {
			return crm.DateOf(t), crm.DateOf(t.AddDate(0, 1, -1)), nil
		}
	default:
		return crm.Date{}, crm.Date{}, fmt.Errorf("drill: cohort period %q (want day, week or month)", period)
	}
	return crm.Date{}, crm.Date{}, fmt.Errorf("drill: %q is not a %s cohort", name, period)
}

// ltv lists a cohort's customers with what each adds to the cell: their
// sales (net: less refunds and chargebacks, each on its own date) on days
// 0..N since their first sale, up to the as-of date.
func (d *drill) ltv(ctx context.Context) error {
	c := d.c
	from, to, _ := cohortRange(c.Period, c.Cohort)
	if c.AsOf.Before(to) {
		to = c.AsOf
	}
	if to.Before(from) {
		return nil
	}
	lo, hi := dayBounds(from, to, d.q.Loc)
	asOf := dayNum(c.AsOf)
	stmt := d.q.Store.Rebind("SELECT t.id, COALESCE(t.created_utc, 0), t.amount_cents, " + saleCond("t.") + ", t.chargedback, t.chargeback_cents, t.chargeback_date, t.currency" +
		" FROM transactions t WHERE " + d.q.scope("t.") + " AND t.source = ? AND t.customer_id = ? AND (" + saleCond("t.") + " OR " + refundCond("t.") + ")" +
		" ORDER BY t.created_utc, t.id")
	return d.firstSales(ctx, lo, hi, func(r DrillRow) error {
		first := r.ID
		v := ltvValue{d0: localDay(r.at, d.q.Loc), asOf: asOf, n: c.N, months: c.Months}
		rows, err := d.q.Store.DB().QueryContext(ctx, stmt, d.q.scopeArgs(r.Source, r.CustomerID)...)
		if err != nil {
			return fmt.Errorf("drill ltv: %w", err)
		}
		started := false
		for rows.Next() {
			var id, cur string
			var at, amt, cbCents, cb int64
			var isSale bool
			var cbDate sql.NullString
			if err := rows.Scan(&id, &at, &amt, &isSale, &cb, &cbCents, &cbDate, &cur); err != nil {
				rows.Close()
				return fmt.Errorf("drill ltv: %w", err)
			}
			if !started {
				if id != first {
					continue // a refund before the first sale
				}
				started = true
			}
			if d.q.By == "currency" && cur != r.Currency {
				continue // never another currency's amounts
			}
			day := localDay(at, d.q.Loc)
			if !isSale {
				v.add(day, -amt, false)
				continue
			}
			v.add(day, amt, true)
			if cb != 0 && cbDate.Valid {
				cd, err := crm.ParseDate(cbDate.String)
				if err != nil {
					rows.Close()
					return fmt.Errorf("drill ltv: transaction %s: %w", id, err)
				}
				v.add(cd, -cbCents, false)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("drill ltv: %w", err)
		}
		r.When, r.Sales, r.Amount = v.d0.String(), v.sales, v.net
		if c.Figure == "gross" {
			r.Amount = v.gross
		}
		return d.fn(r)
	}, true)
}

// ltvValue is one customer's value to one cell: LTV's rule for an event
// on day d (metrics.md: days 0..N since the first sale, nothing after the
// as-of date).
type ltvValue struct {
	d0         crm.Date
	asOf       int
	n          int
	months     bool
	gross, net int64
	sales      int64
}

func (v *ltvValue) add(d crm.Date, cents int64, sale bool) {
	if k, ok := sinceFirst(v.d0, d, v.asOf, v.months); !ok || k > v.n {
		return
	}
	v.net += cents
	if sale {
		v.gross += cents
		v.sales++
	}
}

// retention lists the subscriptions of a cycle: those with an approved
// cycle N (approvals), those eligible for it, or both, among the
// subscriptions whose group (their first approved cycle-1 sale's) is the
// cell's. A subscription is a purchase, or, for rows without one, a
// customer's rows of one product (Retention's rule).
func (d *drill) retention(ctx context.Context) error {
	c := d.c
	iv := c.Intervals
	if iv == nil {
		res, err := Retention(ctx, d.q, RetentionOptions{AsOf: c.AsOf})
		if err != nil {
			return err
		}
		iv = res.IntervalDays
	}
	asOf := dayNum(c.AsOf)
	end := addDays(c.AsOf, 1).In(d.q.Loc).Unix() // events after the as-of day do not count
	same := "e.source = t.source AND e.customer_id = t.customer_id AND e.purchase_id = t.purchase_id AND (t.purchase_id <> '' OR e.product_id = t.product_id)"
	cycleN := "(SELECT MIN(e.created_utc) FROM transactions e WHERE " + d.q.scope("e.") + " AND " + same + " AND " + saleCond("e.") +
		" AND e.billing_cycle = ? AND e.created_utc IS NOT NULL AND e.created_utc < ?)"
	cycleArgs := d.q.scopeArgs(c.N, end)
	stmt := "SELECT " + txnCols + ", t.purchase_id, " + cycleN + " AS cn FROM transactions t WHERE " + d.q.scope("t.") + " AND " + saleCond("t.") +
		" AND t.billing_cycle = 1 AND t.created_utc IS NOT NULL AND t.created_utc < ?" + d.filter +
		" AND NOT EXISTS (SELECT 1 FROM transactions e WHERE " + d.q.scope("e.") + " AND " + same + " AND " + saleCond("e.") +
		" AND e.billing_cycle = 1 AND (e.created_utc < t.created_utc OR (e.created_utc = t.created_utc AND e.id < t.id)))"
	args := append(append(append(cycleArgs, d.q.scopeArgs(end)...), d.filterArgs...), d.q.scopeArgs()...)
	if c.Figure != "eligible" {
		stmt += " AND " + cycleN + " IS NOT NULL"
		args = append(args, cycleArgs...)
	}
	if c.Figure != "approvals" && c.N > 1 {
		// Eligible: the cycle-1 day at least (N−1) intervals plus the
		// grace before the as-of day; a product without an interval is
		// eligible for cycle 1 only.
		var or []string
		products := make([]string, 0, len(iv))
		for p := range iv {
			products = append(products, p)
		}
		sort.Strings(products)
		for _, p := range products {
			last := asOf - (c.N-1)*iv[p] - GraceDays // the latest eligible cycle-1 day
			or = append(or, "(t.product_id = ? AND t.created_utc < ?)")
			args = append(args, p, addDays(dateOfNum(last), 1).In(d.q.Loc).Unix())
		}
		if len(or) == 0 {
			or = []string{"1 = 0"}
		}
		stmt += " AND (" + strings.Join(or, " OR ") + ")"
	}
	stmt += " ORDER BY t.created_utc, t.source, t.id"
	return d.each(ctx, "retention", stmt, args, func(rows *sql.Rows) (DrillRow, error) {
		var pur string
		var cn sql.NullInt64
		r, _, at, err := d.scanTxn(rows, nil, &pur, &cn)
		if err != nil {
			return r, err
		}
		d1 := dayNum(localDay(at, d.q.Loc))
		r.When = dateOfNum(d1).String()
		r.ID = pur
		if pur == "" {
			r.ID = r.CustomerID + "/" + r.Product // a customer's rows of one product
		}
		if cn.Valid {
			r.CycleN = d.localTime(cn.Int64)
		}
		p, known := iv[r.Product]
		r.Eligible = eligible(c.N, d1, asOf, p, known)
		if !r.Eligible && c.Figure != "approvals" {
			return r, fmt.Errorf("subscription %s: listed as eligible for cycle %d but is not", r.ID, c.N)
		}
		r.Event, r.Cycle = "sale", 1
		return r, nil
	}, d.fn, false)
}

// chargebacks lists a merchant account's month for one brand row (every
// brand for AllCards): the chargebacks received in it (chargebackDate), the
// sales made in it, or the sales of the month before (the Mastercard-style
// denominator).
func (d *drill) chargebacks(ctx context.Context) error {
	c := d.c
	m, _ := time.Parse("2006-01", c.Month)
	cond := " AND t.merchant_id = ?"
	args := []any{c.Merchant}
	if c.Brand != AllCards {
		cond += " AND t.card_brand = ?"
		args = append(args, c.Brand)
	}
	month := func(t time.Time) []any {
		start := crm.DateOf(t).In(d.q.Loc)
		end := crm.DateOf(t.AddDate(0, 1, 0)).In(d.q.Loc)
		return append([]any{start.Unix(), end.Unix()}, args...)
	}
	switch c.Figure {
	case "chargebacks", "chargeback_amount":
		return d.transactions(ctx, part{"chargeback", saleCond("t.") + " AND t.chargedback = 1 AND t.chargeback_date IS NOT NULL" +
			" AND t.chargeback_date >= ? AND t.chargeback_date < ?" + cond,
			append([]any{crm.DateOf(m).String(), crm.DateOf(m.AddDate(0, 1, 0)).String()}, args...), 1, "t.chargeback_cents"})
	case "sales_prev_month":
		m = m.AddDate(0, -1, 0)
	}
	return d.transactions(ctx, part{"sale", saleCond("t.") + " AND t.created_utc >= ? AND t.created_utc < ?" + cond, month(m), 1, "t.amount_cents"})
}

// CellTotal is what the report res (the report the cell is in, computed
// with the same query) says of the cell: its count and, for a money
// figure, its cents. ok is false when res has no such cell.
func CellTotal(c DrillCell, res Result) (t DrillTotal, ok bool) {
	group := func(g *string, has bool) bool { return c.Group == nil || (has && *c.Group == *g) }
	switch r := res.(type) {
	case *SummaryResult:
		var f Figures
		if r.By == "" {
			f, ok = r.Total, c.Group == nil
		}
		for i := range r.Groups {
			g := r.Groups[i]
			if group(&g.Group, true) {
				f, ok = addFigures(f, g), true
			}
		}
		if !ok {
			return t, false
		}
		return summaryTotal(c.Figure, f)
	case *LTVResult:
		for _, co := range r.Cohorts {
			if co.Cohort != c.Cohort || !group(co.Group, co.Group != nil) {
				continue
			}
			for _, cell := range co.Cells {
				n := cell.Day
				if c.Months {
					n = cell.Month
				}
				if n == nil || *n != c.N {
					continue
				}
				cents := cell.NetCents
				if c.Figure == "gross" {
					cents = cell.GrossCents
				}
				return DrillTotal{Count: co.Customers, Cents: cents, Money: true}, true
			}
		}
	case *RetentionResult:
		for _, g := range r.Groups {
			if !group(&g.Group, true) {
				continue
			}
			for _, cy := range g.Cycles {
				if cy.Cycle != c.N {
					continue
				}
				switch c.Figure {
				case "approvals":
					return DrillTotal{Count: cy.Approvals}, true
				case "eligible":
					return DrillTotal{Count: cy.Eligible}, true
				case "eligible_approvals":
					return DrillTotal{Count: cy.EligibleApprovals}, true
				}
			}
		}
	case *ChargebacksResult:
		for _, m := range r.Months {
			if m.Merchant != c.Merchant || m.Month != c.Month || m.Brand != c.Brand {
				continue
			}
			switch c.Figure {
			case "chargebacks", "chargeback_amount":
				return DrillTotal{Count: m.Chargebacks, Cents: int64(m.ChargebackAmount), Money: true}, true
			case "sales":
				return DrillTotal{Count: m.Sales}, true
			case "sales_prev_month":
				return DrillTotal{Count: m.SalesPrevMonth}, true
			}
		}
	}
	return t, false
}

// addFigures adds a group's figures (drilling into several groups of a
// filter that names more than one id).
func addFigures(a, b Figures) Figures {
	a.Sales += b.Sales
	a.Gross += b.Gross
	a.Declines += b.Declines
	a.SalesInitial += b.SalesInitial
	a.DeclinesInitial += b.DeclinesInitial
	a.RefundCount += b.RefundCount
	a.RefundCents += b.RefundCents
	a.CBCount += b.CBCount
	a.CBCents += b.CBCents
	a.KCBCount += b.KCBCount
	a.KCBCents += b.KCBCents
	a.Orders += b.Orders
	a.NewCustomers += b.NewCustomers
	return a
}

// summaryTotal is a summary figure as rows: how many, and their sum.
func summaryTotal(figure string, f Figures) (DrillTotal, bool) {
	m := func(n, cents int64) (DrillTotal, bool) { return DrillTotal{Count: n, Cents: cents, Money: true}, true }
	n := func(n int64) (DrillTotal, bool) { return DrillTotal{Count: n}, true }
	switch figure {
	case "gross_revenue", "sales":
		return m(f.Sales, f.Gross)
	case "sales_initial":
		return n(f.SalesInitial)
	case "sales_rebill":
		return n(f.Sales - f.SalesInitial)
	case "declines":
		return n(f.Declines)
	case "declines_initial":
		return n(f.DeclinesInitial)
	case "declines_rebill":
		return n(f.Declines - f.DeclinesInitial)
	case "refund_transactions", "refund_amount":
		return m(f.RefundCount, f.RefundCents)
	case "refunds":
		return m(f.RefundCount+f.CBCount, f.RefundCents+f.CBCents)
	case "refunds_konnektive_view":
		return m(f.RefundCount+f.KCBCount, f.RefundCents+f.KCBCents)
	case "chargebacks", "chargeback_amount":
		return m(f.CBCount, f.CBCents)
	case "chargebacks_konnektive_view", "chargeback_amount_konnektive_view":
		return m(f.KCBCount, f.KCBCents)
	case "net_revenue":
		return m(f.Sales+f.RefundCount+f.CBCount, f.Gross-f.RefundCents-f.CBCents)
	case "orders":
		return n(f.Orders)
	case "new_customers":
		return n(f.NewCustomers)
	}
	return DrillTotal{}, false
}
