package report

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/rollup"
)

// Figures are a period's exact counts and sums (metrics.md "Period
// figures") for one group.
type Figures struct {
	Group           string
	Name            *string // the group's name; nil for a breakdown without names
	Sales           int64
	Gross           int64 // cents of sales dated in the range
	Declines        int64
	SalesInitial    int64 // billing cycle 1 (or unknown)
	DeclinesInitial int64
	RefundCount     int64 // refund transactions dated in the range
	RefundCents     int64
	CBCount         int64 // chargebacks received (chargebackDate) in the range
	CBCents         int64
	KCBCount        int64 // chargebacks of sales dated in the range (Konnektive's view)
	KCBCents        int64
	Orders          int64 // distinct orders with a sale in the range
	NewCustomers    int64 // customers whose first sale is in the range
}

// SummaryRow is one group's figures as shown. The first twelve keys are the
// documented ones; the rest split them further.
type SummaryRow struct {
	Group                 *string `json:"group,omitempty"`
	GroupName             *string `json:"group_name,omitempty"`
	GrossRevenue          Money   `json:"gross_revenue"`
	Refunds               Money   `json:"refunds"`
	RefundsKonnektiveView Money   `json:"refunds_konnektive_view"`
	NetRevenue            Money   `json:"net_revenue"`
	Orders                int64   `json:"orders"`
	NewCustomers          int64   `json:"new_customers"`
	Sales                 int64   `json:"sales"`
	Declines              int64   `json:"declines"`
	ApprovalRate          Rate    `json:"approval_rate"`
	RefundRate            Rate    `json:"refund_rate"`
	ChargebackRate        Rate    `json:"chargeback_rate"`
	AOV                   PerHead `json:"aov"`

	RefundTransactions       int64 `json:"refund_transactions"`
	RefundAmount             Money `json:"refund_amount"`
	Chargebacks              int64 `json:"chargebacks"`
	ChargebackAmount         Money `json:"chargeback_amount"`
	ChargebacksKonnektive    int64 `json:"chargebacks_konnektive_view"`
	ChargebackAmountKonnektv Money `json:"chargeback_amount_konnektive_view"`
	RefundRateAmount         Rate  `json:"refund_rate_amount"`
	ChargebackRateAmount     Rate  `json:"chargeback_rate_amount"`
	SalesInitial             int64 `json:"sales_initial"`
	DeclinesInitial          int64 `json:"declines_initial"`
	ApprovalRateInitial      Rate  `json:"approval_rate_initial"`
	SalesRebill              int64 `json:"sales_rebill"`
	DeclinesRebill           int64 `json:"declines_rebill"`
	ApprovalRateRebill       Rate  `json:"approval_rate_rebill"`
}

// Row turns exact figures into a row to show.
func (f *Figures) Row(grouped bool) SummaryRow {
	r := SummaryRow{
		GrossRevenue:             Money(f.Gross),
		Refunds:                  Money(f.RefundCents + f.CBCents),
		RefundsKonnektiveView:    Money(f.RefundCents + f.KCBCents),
		NetRevenue:               Money(f.Gross - f.RefundCents - f.CBCents),
		Orders:                   f.Orders,
		NewCustomers:             f.NewCustomers,
		Sales:                    f.Sales,
		Declines:                 f.Declines,
		ApprovalRate:             Rate{f.Sales, f.Sales + f.Declines},
		RefundRate:               Rate{f.RefundCount, f.Sales},
		ChargebackRate:           Rate{f.CBCount, f.Sales},
		AOV:                      PerHead{f.Gross, f.Orders},
		RefundTransactions:       f.RefundCount,
		RefundAmount:             Money(f.RefundCents),
		Chargebacks:              f.CBCount,
		ChargebackAmount:         Money(f.CBCents),
		ChargebacksKonnektive:    f.KCBCount,
		ChargebackAmountKonnektv: Money(f.KCBCents),
		RefundRateAmount:         Rate{f.RefundCents, f.Gross},
		ChargebackRateAmount:     Rate{f.CBCents, f.Gross},
		SalesInitial:             f.SalesInitial,
		DeclinesInitial:          f.DeclinesInitial,
		ApprovalRateInitial:      Rate{f.SalesInitial, f.SalesInitial + f.DeclinesInitial},
		SalesRebill:              f.Sales - f.SalesInitial,
		DeclinesRebill:           f.Declines - f.DeclinesInitial,
		ApprovalRateRebill:       Rate{f.Sales - f.SalesInitial, f.Sales - f.SalesInitial + f.Declines - f.DeclinesInitial},
	}
	if grouped {
		g := f.Group
		r.Group = &g
		r.GroupName = f.Name
	}
	return r
}

// SummaryResult is the summary report. Without a breakdown the figures are
// at the top level; with one, one object per group under "groups".
type SummaryResult struct {
	From, To crm.Date
	TimeZone string
	By       string
	Total    Figures   // without a breakdown
	Groups   []Figures // with one (Total is then unset: orders and customers do not add up across groups)
	Currency string    // the one currency the figures are restricted to, or ""
	names    names
}

// MarshalJSON writes {"from":..,"to":..,"time_zone":..,<figures>} or, with a
// breakdown, {"from":..,"by":..,"groups":[...]}.
func (s *SummaryResult) MarshalJSON() ([]byte, error) {
	type head struct {
		From     string `json:"from"`
		To       string `json:"to"`
		TimeZone string `json:"time_zone"`
		Currency string `json:"currency,omitempty"`
	}
	h := head{s.From.String(), s.To.String(), s.TimeZone, s.Currency}
	if s.By == "" {
		return marshalFlat(struct {
			head
			SummaryRow
		}{h, s.Total.Row(false)})
	}
	rows := make([]SummaryRow, len(s.Groups))
	for i := range s.Groups {
		rows[i] = s.Groups[i].Row(true)
	}
	return marshalFlat(struct {
		head
		By     string       `json:"by"`
		Groups []SummaryRow `json:"groups"`
	}{h, s.By, rows})
}

var summaryColumns = []string{"gross_revenue", "refunds", "refunds_konnektive_view", "net_revenue", "orders", "new_customers", "sales", "declines",
	"approval_rate", "refund_rate", "chargeback_rate", "aov", "refund_transactions", "refund_amount", "chargebacks", "chargeback_amount",
	"chargebacks_konnektive_view", "chargeback_amount_konnektive_view", "refund_rate_amount", "chargeback_rate_amount",
	"sales_initial", "declines_initial", "approval_rate_initial", "sales_rebill", "declines_rebill", "approval_rate_rebill"}

func (r SummaryRow) cells() []string {
	n := func(v int64) string { return fmt.Sprint(v) }
	return []string{r.GrossRevenue.String(), r.Refunds.String(), r.RefundsKonnektiveView.String(), r.NetRevenue.String(), n(r.Orders), n(r.NewCustomers),
		n(r.Sales), n(r.Declines), r.ApprovalRate.String(), r.RefundRate.String(), r.ChargebackRate.String(), r.AOV.String(),
		n(r.RefundTransactions), r.RefundAmount.String(), n(r.Chargebacks), r.ChargebackAmount.String(), n(r.ChargebacksKonnektive),
		r.ChargebackAmountKonnektv.String(), r.RefundRateAmount.String(), r.ChargebackRateAmount.String(),
		n(r.SalesInitial), n(r.DeclinesInitial), r.ApprovalRateInitial.String(), n(r.SalesRebill), n(r.DeclinesRebill), r.ApprovalRateRebill.String()}
}

// Table has one row per group (one row without a breakdown).
func (s *SummaryResult) Table() Table {
	if s.By == "" {
		return Table{Header: summaryColumns, Rows: [][]string{s.Total.Row(false).cells()}}
	}
	t := Table{Header: append(groupHeader(s.By, s.names), summaryColumns...)}
	for i := range s.Groups {
		t.Rows = append(t.Rows, append(groupCells(s.Groups[i].Group, s.names), s.Groups[i].Row(true).cells()...))
	}
	return t
}

// Summary computes the period figures for the calendar days from..to in
// the display time zone.
func Summary(ctx context.Context, q Query, from, to crm.Date) (*SummaryResult, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("summary: --to %s is before --from %s", to, from)
	}
	q, err := q.prepare(ctx, true)
	if err != nil {
		return nil, err
	}
	res := &SummaryResult{From: from, To: to, TimeZone: q.Loc.String(), By: q.By, Currency: q.Currency}
	if err := res.prepare(ctx, q); err != nil {
		return nil, err
	}
	figs, err := periodFigures(ctx, q, []span{newSpan(from, to, q.Loc)})
	if err != nil {
		return nil, err
	}
	return res.finish(figs[0]), nil
}

// span is a period of calendar days from..to and its UTC bounds [lo, hi).
type span struct {
	from, to crm.Date
	lo, hi   int64
}

func newSpan(from, to crm.Date, loc *time.Location) span {
	lo, hi := dayBounds(from, to, loc)
	return span{from, to, lo, hi}
}

// periodFigures computes the period figures of consecutive spans, by group
// of the breakdown, for a prepared query: from the rollups when they serve
// it (rollupPlan) and every span starts and ends on a bucket, else from
// the transactions. Each span's figures are exactly Summary's for it.
func periodFigures(ctx context.Context, q Query, spans []span) ([]map[string]*Figures, error) {
	out := make([]map[string]*Figures, len(spans))
	for i := range out {
		out[i] = map[string]*Figures{}
	}
	at := func(i int, g string) *Figures {
		f, ok := out[i][g]
		if !ok {
			f = &Figures{Group: g}
			out[i][g] = f
		}
		return f
	}
	start := time.Now()
	plan, err := q.rollups(ctx)
	if err != nil {
		return nil, err
	}
	aligned := plan.ok
	for _, s := range spans {
		aligned = aligned && rollup.Aligned(s.lo) && rollup.Aligned(s.hi)
	}
	if aligned {
		for i, s := range spans {
			get := func(g string) *Figures {
				if !plan.keep(g) {
					return &Figures{}
				}
				return at(i, plan.group(g))
			}
			if err := summaryRollup(ctx, q, plan.dim, s.from, s.to, s.lo, s.hi, get); err != nil {
				return nil, err
			}
		}
		slog.Debug("summary: from the rollups", "spans", len(spans), "took", time.Since(start))
		return out, nil
	}
	db := q.Store.DB()
	grp, err := q.groupExpr("")
	if err != nil {
		return nil, err
	}
	fcond, fargs := q.filterSQL("")
	sale, decl, ref := saleCond(""), declineCond(""), refundCond("")
	sum := func(cond, val string) string {
		return fmt.Sprintf("CAST(COALESCE(SUM(CASE WHEN %s THEN %s ELSE 0 END), 0) AS BIGINT)", cond, val)
	}
	groupBy := ""
	if q.By != "" {
		groupBy = " GROUP BY " + grp
	}
	// 1. Events dated in the range.
	stmt := "SELECT " + grp + ", " + sum(sale, "1") + ", " + sum(sale, "amount_cents") + ", " + sum(decl, "1") + ", " +
		sum(sale+" AND billing_cycle <= 1", "1") + ", " + sum(decl+" AND billing_cycle <= 1", "1") + ", " +
		sum(ref, "1") + ", " + sum(ref, "amount_cents") + ", " +
		sum(sale+" AND chargedback = 1", "1") + ", " + sum(sale+" AND chargedback = 1", "chargeback_cents") + ", " +
		"COUNT(DISTINCT CASE WHEN " + sale + " AND order_id <> '' THEN order_id END)" +
		" FROM transactions WHERE " + q.scope("") + " AND created_utc >= ? AND created_utc < ?" + fcond + groupBy
	for i, s := range spans {
		rows, err := db.QueryContext(ctx, q.Store.Rebind(stmt), append(q.scopeArgs(s.lo, s.hi), fargs...)...)
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		for rows.Next() {
			var g string
			var f Figures
			if err := rows.Scan(append([]any{&g}, ints(&f.Sales, &f.Gross, &f.Declines, &f.SalesInitial, &f.DeclinesInitial,
				&f.RefundCount, &f.RefundCents, &f.KCBCount, &f.KCBCents, &f.Orders)...)...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("summary: %w", err)
			}
			if q.By == "" && f == (Figures{}) {
				continue
			}
			x := at(i, g)
			f.Group = g
			*x = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
	}
	slog.Debug("summary: events in the range", "took", time.Since(start))
	// 2. Chargebacks received in the range: chargebackDate is a date that
	// belongs to the day it names.
	stmt = "SELECT " + grp + ", COUNT(*), " + sum("1 = 1", "chargeback_cents") +
		" FROM transactions WHERE " + q.scope("") + " AND chargedback = 1 AND " + sale +
		" AND chargeback_date >= ? AND chargeback_date <= ?" + fcond + groupBy
	for i, s := range spans {
		rows, err := db.QueryContext(ctx, q.Store.Rebind(stmt), append(q.scopeArgs(s.from.String(), s.to.String()), fargs...)...)
		if err != nil {
			return nil, fmt.Errorf("summary chargebacks: %w", err)
		}
		for rows.Next() {
			var g string
			var n, c int64
			if err := rows.Scan(append([]any{&g}, ints(&n, &c)...)...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("summary chargebacks: %w", err)
			}
			if q.By == "" && n == 0 {
				continue
			}
			x := at(i, g)
			x.CBCount, x.CBCents = n, c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("summary chargebacks: %w", err)
		}
	}
	slog.Debug("summary: chargebacks received", "took", time.Since(start))
	// 3. New customers: customers whose first sale is in the range. The
	// first sales come from one ordered pass over the customer index; with a
	// breakdown or filters, the first sale's row gives the group and says
	// whether the customer passes the filters (ties at the same second go
	// to the smaller id).
	lo, hi := spans[0].lo, spans[len(spans)-1].hi
	if len(q.filt) > 0 {
		// Filtered: the matching sales in the range with no earlier sale of
		// their customer, by the customer index (far fewer rows than every
		// customer's first sale).
		firsts, err := newCustomersFiltered(ctx, q, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("summary new customers: %w", err)
		}
		for _, f := range firsts {
			i := sort.Search(len(spans), func(i int) bool { return spans[i].hi > f.at })
			if f.keep && i < len(spans) {
				at(i, f.group).NewCustomers++
			}
		}
		slog.Debug("summary: new customers (filtered)", "took", time.Since(start))
		return out, nil
	}
	firstSQL := "SELECT source, customer_id, MIN(created_utc) AS first_utc FROM transactions WHERE " + q.scope("") + " AND " + saleCond("") +
		" GROUP BY source, customer_id HAVING MIN(created_utc) >= ? AND MIN(created_utc) < ?"
	stmt = "SELECT f.source, f.customer_id, '', f.first_utc, ''" + strings.Repeat(", ''", len(q.filt)) + " FROM (" + firstSQL + ") f"
	args := q.scopeArgs(lo, hi)
	if q.By != "" || len(q.filt) > 0 {
		tgrp, _ := q.groupExpr("t")
		stmt = "SELECT f.source, f.customer_id, t.id, f.first_utc, " + tgrp + q.filterCols("t.") + " FROM (" + firstSQL + ") f" +
			" JOIN transactions t ON " + q.scope("t.") + " AND t.source = f.source AND t.customer_id = f.customer_id" +
			" AND t.created_utc = f.first_utc AND " + saleCond("t.")
		args = append(args, q.scopeArgs()...)
	}
	rows, err := db.QueryContext(ctx, q.Store.Rebind(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("summary new customers: %w", err)
	}
	firsts := map[[2]string]first{}
	vals := make([]string, len(q.filt))
	for rows.Next() {
		var src, cust, id, g string
		var at int64
		if err := rows.Scan(append([]any{&src, &cust, &id, &at, &g}, filterDests(vals)...)...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("summary new customers: %w", err)
		}
		k := [2]string{src, cust}
		if f, ok := firsts[k]; !ok || id < f.id {
			firsts[k] = first{id, at, g, q.matches(vals)}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summary new customers: %w", err)
	}
	for _, f := range firsts {
		if !f.keep {
			continue
		}
		// the span holding the first sale: spans are consecutive
		i := sort.Search(len(spans), func(i int) bool { return spans[i].hi > f.at })
		if i < len(spans) {
			at(i, f.group).NewCustomers++
		}
	}
	slog.Debug("summary: new customers", "took", time.Since(start))
	return out, nil
}

// first is a customer's first sale: its id, instant and group, and
// whether it passes the filters.
type first struct {
	id    string
	at    int64
	group string
	keep  bool
}

// newCustomersFiltered finds the customers whose first sale is in [lo, hi)
// and passes the filters: the matching sales in the range that no sale of
// their customer precedes. A customer with another sale at the same second
// is settled here, in Go, by the smaller id (bytes, as the unfiltered
// query settles it).
func newCustomersFiltered(ctx context.Context, q Query, lo, hi int64) (map[[2]string]first, error) {
	tgrp, err := q.groupExpr("t")
	if err != nil {
		return nil, err
	}
	fcond, fargs := q.filterSQL("t.")
	same := "SELECT 1 FROM transactions p WHERE " + q.scope("p.") + " AND p.source = t.source AND p.customer_id = t.customer_id AND " + saleCond("p.")
	stmt := "SELECT t.source, t.customer_id, t.id, t.created_utc, " + tgrp +
		", CASE WHEN EXISTS (" + same + " AND p.created_utc = t.created_utc AND p.id <> t.id) THEN 1 ELSE 0 END" +
		" FROM transactions t WHERE " + q.scope("t.") + " AND " + saleCond("t.") + " AND t.created_utc >= ? AND t.created_utc < ?" + fcond +
		" AND NOT EXISTS (" + same + " AND p.created_utc < t.created_utc)"
	args := append(append(append(q.scopeArgs(), q.scopeArgs(lo, hi)...), fargs...), q.scopeArgs()...)
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), args...)
	if err != nil {
		return nil, err
	}
	firsts := map[[2]string]first{}
	var ties [][2]string
	tied := map[[2]string]int64{}
	for rows.Next() {
		var src, cust, id, g string
		var at, tie int64
		if err := rows.Scan(append([]any{&src, &cust, &id, &at, &g}, ints(&tie)...)...); err != nil {
			rows.Close()
			return nil, err
		}
		k := [2]string{src, cust}
		if tie != 0 {
			if _, ok := tied[k]; !ok {
				ties = append(ties, k)
			}
			tied[k] = at
			continue
		}
		firsts[k] = first{id, at, g, true}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Ties (rare): every sale of the customer at that second.
	stmt = "SELECT id, " + mustGroupExpr(q) + q.filterCols("") + " FROM transactions WHERE " + q.scope("") +
		" AND source = ? AND customer_id = ? AND created_utc = ? AND " + saleCond("")
	vals := make([]string, len(q.filt))
	for _, k := range ties {
		rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), q.scopeArgs(k[0], k[1], tied[k])...)
		if err != nil {
			return nil, err
		}
		var best first
		for rows.Next() {
			var id, g string
			if err := rows.Scan(append([]any{&id, &g}, filterDests(vals)...)...); err != nil {
				rows.Close()
				return nil, err
			}
			if best.id == "" || id < best.id {
				best = first{id, tied[k], g, q.matches(vals)}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		firsts[k] = best
	}
	return firsts, nil
}

// mustGroupExpr is groupExpr for a query already checked.
func mustGroupExpr(q Query) string {
	g, _ := q.groupExpr("")
	return g
}

// prepare reads the breakdown's names.
func (res *SummaryResult) prepare(ctx context.Context, q Query) error {
	col, err := ByColumn(q.By)
	if err != nil {
		return err
	}
	res.names, err = namesOf(ctx, q, col)
	return err
}

// finish puts the groups' figures into the result, named and sorted.
func (res *SummaryResult) finish(groups map[string]*Figures) *SummaryResult {
	if res.By == "" {
		res.Total = Figures{}
		if f := groups[""]; f != nil {
			res.Total = *f
		}
		return res
	}
	for _, f := range groups {
		f.Name = res.names.ptr(f.Group)
		res.Groups = append(res.Groups, *f)
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Group < res.Groups[j].Group })
	return res
}

// summaryRollup reads the three parts of the summary from the rollups:
// events dated in [lo, hi) (whole buckets), chargebacks received from..to,
// new customers.
func summaryRollup(ctx context.Context, q Query, dim int, from, to crm.Date, lo, hi int64, get func(string) *Figures) error {
	sums, err := rollup.Period(ctx, q.Store, q.Integration, dim, lo, hi)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	for g, s := range sums {
		f := get(g)
		f.Sales += s.Sales
		f.Gross += s.Gross
		f.Declines += s.Declines
		f.SalesInitial += s.SalesInitial
		f.DeclinesInitial += s.DeclinesInitial
		f.RefundCount += s.Refunds
		f.RefundCents += s.RefundCents
		f.KCBCount += s.KCB
		f.KCBCents += s.KCBCents
		f.Orders += s.Orders
	}
	err = rollup.Received(ctx, q.Store, q.Integration, dim, from.String(), to.String(), func(_, g string, n, cents int64) {
		f := get(g)
		f.CBCount += n
		f.CBCents += cents
	})
	if err != nil {
		return fmt.Errorf("summary chargebacks: %w", err)
	}
	news, err := rollup.NewCustomers(ctx, q.Store, q.Integration, dim, lo, hi)
	if err != nil {
		return fmt.Errorf("summary new customers: %w", err)
	}
	for g, n := range news {
		get(g).NewCustomers += n
	}
	return nil
}
