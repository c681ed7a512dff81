package report

import (
	"context"
	"fmt"
	"sort"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/rollup"
)

// GraceDays is metrics.md's grace after a cycle's due day before a
// subscription counts as eligible for it.
const GraceDays = 3

// RetentionOptions choose the subscriptions and the report's now.
type RetentionOptions struct {
	// From..To is the range of cycle-1 days (display time zone), both
	// inclusive; zero dates leave that end open (all of history).
	From, To crm.Date
	// AsOf is the report's today: events after it do not count, and
	// eligibility is judged on it. Required.
	AsOf crm.Date
}

// CycleRow is one billing cycle of a group, Konnektive numbering (the
// initial sale is cycle 1).
type CycleRow struct {
	Cycle     int   `json:"cycle"`
	Approvals int64 `json:"approvals"` // subscriptions with an approved sale in this cycle
	Declines  int64 `json:"declines"`  // declined attempts at this cycle
	// RebillRate is approvals ÷ the previous cycle's approvals among the
	// subscriptions eligible for this cycle (undefined for cycle 1);
	// Retention is approvals ÷ subscriptions, among the eligible only.
	RebillRate Rate `json:"rebill_rate"`
	Retention  Rate `json:"retention"`
	// Eligible are the subscriptions old enough at the as-of date for this
	// cycle to have been attempted; EligibleApprovals those of them with an
	// approved sale in the cycle. Partial: some subscriptions are not
	// eligible yet. RetentionAll ignores maturity: approvals ÷ cycle 1's.
	Eligible          int64 `json:"eligible"`
	EligibleApprovals int64 `json:"eligible_approvals"`
	Partial           bool  `json:"partial"`
	RetentionAll      Rate  `json:"retention_all"`
}

// RetentionGroup is one product's (or campaign's...) cycle table.
type RetentionGroup struct {
	Group         string     `json:"group"`
	GroupName     *string    `json:"group_name,omitempty"`
	Subscriptions int64      `json:"subscriptions"` // with an approved cycle 1 in the range
	Cycles        []CycleRow `json:"cycles"`
}

// RetentionResult is the retention report.
type RetentionResult struct {
	By       string `json:"by"`
	From     string `json:"from,omitempty"` // cycle-1 days, "" when open
	To       string `json:"to,omitempty"`
	AsOf     string `json:"as_of"`
	TimeZone string `json:"time_zone"`
	Grace    int    `json:"grace_days"`
	// IntervalDays is each product's billing interval: the median gap in
	// days between consecutive approved cycles (the data holds no
	// billingIntervalDays); a product without a rebill has none.
	IntervalDays map[string]int   `json:"interval_days"`
	Groups       []RetentionGroup `json:"groups"`
	names        names
}

// Table has one row per group and cycle; rebill rate and retention of a
// partial cycle are marked (a "*" in the table, a partial column in CSV).
func (r *RetentionResult) Table() Table {
	t := Table{Header: append(groupHeader(r.By, r.names), "subscriptions", "cycle", "approvals", "declines", "eligible", "eligible_approvals",
		"rebill_rate", "retention", "retention_all")}
	t.Flags = map[int]string{len(t.Header) - 2: "partial"}
	for _, g := range r.Groups {
		for _, c := range g.Cycles {
			row := append(groupCells(g.Group, r.names), fmt.Sprint(g.Subscriptions), fmt.Sprint(c.Cycle), fmt.Sprint(c.Approvals), fmt.Sprint(c.Declines),
				fmt.Sprint(c.Eligible), fmt.Sprint(c.EligibleApprovals), c.RebillRate.String(), c.Retention.String(), c.RetentionAll.String())
			marks := make([]bool, len(row))
			marks[len(row)-3], marks[len(row)-2] = c.Partial, c.Partial
			t.Rows = append(t.Rows, row)
			t.Marks = append(t.Marks, marks)
		}
	}
	return t
}

// retKey is a set of subscriptions with the same group, product and
// cycle-1 day: they are eligible for a cycle together.
type retKey struct {
	group, product string
	day            int // cycle-1 day number
}

// retCell is what those subscriptions did at one cycle.
type retCell struct {
	approvals int64 // subscriptions with an approved sale in the cycle
	declines  int64 // declined attempts at the cycle
}

// Retention computes the cycle table per group (default product) of the
// subscriptions whose approved cycle 1 falls in the range, with maturity
// (metrics.md "Subscriptions"). A subscription is a purchase; rows without
// one (legacy files) form one per customer and product. It streams the
// sales and declines ordered by customer; memory grows with the groups,
// products, cycle-1 days and cycles, not with the subscriptions. It reads
// the rollups (rollup_retention, rollup_gaps) when they are current and
// their days are the display zone's.
func Retention(ctx context.Context, q Query, o RetentionOptions) (*RetentionResult, error) {
	if q.By == "" {
		q.By = "product"
	}
	if o.AsOf.IsZero() {
		return nil, fmt.Errorf("retention: as-of date required")
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.To.Before(o.From) {
		return nil, fmt.Errorf("retention: --to %s is before --from %s", o.To, o.From)
	}
	if _, err := q.groupExpr(""); err != nil {
		return nil, err
	}
	q, err := q.prepare(ctx, false)
	if err != nil {
		return nil, err
	}
	res := &RetentionResult{By: q.By, AsOf: o.AsOf.String(), TimeZone: q.Loc.String(), Grace: GraceDays, IntervalDays: map[string]int{}, Groups: []RetentionGroup{}}
	if !o.From.IsZero() {
		res.From = o.From.String()
	}
	if !o.To.IsZero() {
		res.To = o.To.String()
	}
	if res.names, err = namesOf(ctx, q, mustColumn(q.By)); err != nil {
		return nil, err
	}
	asOf := dayNum(o.AsOf)
	lo, hi := -1<<31, 1<<31-1
	if !o.From.IsZero() {
		lo = dayNum(o.From)
	}
	if !o.To.IsZero() {
		hi = dayNum(o.To)
	}
	if plan, err := q.rollups(ctx); err != nil {
		return nil, err
	} else if plan.ok && plan.zone == q.Loc.String() {
		// The rollups' days are the account zone's, the display zone here.
		subs := map[retKey]int64{}
		cells := map[retKey]map[int]*retCell{}
		err := rollup.RetentionCells(ctx, q.Store, q.Integration, plan.dim, lo, hi, asOf, func(g, product string, d1, cycle int, approvals, declines int64) {
			if !plan.keep(g) {
				return
			}
			k := retKey{plan.group(g), product, d1}
			if cycle == 1 {
				subs[k] += approvals
			}
			if cells[k] == nil {
				cells[k] = map[int]*retCell{}
			}
			x := cells[k][cycle]
			if x == nil {
				x = &retCell{}
				cells[k][cycle] = x
			}
			x.approvals += approvals
			x.declines += declines
		})
		if err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		}
		if err := rollupIntervals(ctx, q, asOf, res.IntervalDays); err != nil {
			return nil, err
		}
		res.Groups = retentionTable(subs, cells, res.IntervalDays, asOf, res.names)
		return res, nil
	}
	// Filtered, in the rollups' zone with the rollups current: the billing
	// intervals come from the rollups (every subscription's, as the full
	// stream counts them), and only the customers with a matching cycle-1
	// sale are streamed (a subscription passes by its cycle-1 sale).
	gapsRead := false
	if len(q.filt) > 0 && !q.NoRollup && !q.restrict {
		zone, ok, err := rollup.Ready(ctx, q.Store, q.Integration)
		if err != nil {
			return nil, err
		}
		if ok && zone == q.Loc.String() {
			if err := rollupIntervals(ctx, q, asOf, res.IntervalDays); err != nil {
				return nil, err
			}
			gapsRead = true
		}
	}
	tgrp, err := q.groupExpr("t")
	if err != nil {
		return nil, err
	}
	cols := "t.source, t.customer_id, COALESCE(NULLIF(t.purchase_id, ''), ''), t.product_id, t.billing_cycle, t.created_utc, " + saleCond("t.") + ", " + tgrp + q.filterCols("t.")
	where := q.scope("t.") + " AND t.billing_cycle > 0 AND t.created_utc IS NOT NULL AND (" + saleCond("t.") + " OR " + declineCond("t.") + ")"
	stmt := "SELECT " + cols + " FROM transactions t WHERE " + where + " ORDER BY t.source, t.customer_id, t.created_utc, t.id"
	args := q.scopeArgs()
	if gapsRead {
		fcond, fargs := q.filterSQL("m.")
		stmt = "SELECT " + cols + " FROM (SELECT DISTINCT m.source, m.customer_id FROM transactions m WHERE " + q.scope("m.") +
			" AND m.billing_cycle = 1 AND " + saleCond("m.") + fcond + ") c JOIN transactions t ON t.source = c.source AND t.customer_id = c.customer_id AND " + where +
			" ORDER BY t.source, t.customer_id, t.created_utc, t.id"
		args = append(append(q.scopeArgs(), fargs...), q.scopeArgs()...)
	}
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	defer rows.Close()

	// One customer's subscriptions at a time.
	type sub struct {
		product, group string
		keep           bool          // the cycle-1 sale passes the filters
		first          map[int]int   // cycle → day of its first approved sale
		declines       map[int]int64 // cycle → declined attempts
	}
	gaps := map[string]map[int]int64{} // product → gap in days → count
	subs := map[retKey]int64{}         // subscriptions per key
	cells := map[retKey]map[int]*retCell{}
	var cur map[string]*sub
	var curSrc, curCust string
	flush := func() {
		for _, s := range cur {
			d1, ok := s.first[1]
			// Gaps between consecutive approved cycles, all history
			// (unless read from the rollups).
			for c, d := range s.first {
				if gapsRead {
					break
				}
				if p, ok := s.first[c+1]; ok {
					if gaps[s.product] == nil {
						gaps[s.product] = map[int]int64{}
					}
					gaps[s.product][p-d]++
				}
			}
			if !ok || d1 < lo || d1 > hi || !s.keep {
				continue
			}
			k := retKey{s.group, s.product, d1}
			subs[k]++
			if cells[k] == nil {
				cells[k] = map[int]*retCell{}
			}
			cell := func(c int) *retCell {
				x := cells[k][c]
				if x == nil {
					x = &retCell{}
					cells[k][c] = x
				}
				return x
			}
			for c := range s.first {
				cell(c).approvals++
			}
			for c, n := range s.declines {
				cell(c).declines += n
			}
		}
		cur = map[string]*sub{}
	}
	cur = map[string]*sub{}
	n := 0
	vals := make([]string, len(q.filt))
	for rows.Next() {
		n++
		if err := ctxErr(ctx, n); err != nil {
			return nil, err
		}
		var src, cust, pur, product, g string
		var cycle int
		var at int64
		var isSale bool
		if err := rows.Scan(append([]any{&src, &cust, &pur, &product, &cycle, &at, &isSale, &g}, filterDests(vals)...)...); err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		}
		if src != curSrc || cust != curCust {
			flush()
			curSrc, curCust = src, cust
		}
		day := dayNum(localDay(at, q.Loc))
		if day > asOf {
			continue
		}
		key := pur
		if key == "" {
			key = "|" + product
		}
		s := cur[key]
		if s == nil {
			s = &sub{product: product, group: g, keep: q.matches(vals), first: map[int]int{}, declines: map[int]int64{}}
			cur[key] = s
		}
		if isSale {
			if _, ok := s.first[cycle]; !ok {
				s.first[cycle] = day
				if cycle == 1 {
					s.product, s.group, s.keep = product, g, q.matches(vals) // the cycle-1 sale names the subscription
				}
			}
		} else {
			s.declines[cycle]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	flush()
	for p, h := range gaps {
		res.IntervalDays[p] = median(h)
	}
	res.Groups = retentionTable(subs, cells, res.IntervalDays, asOf, res.names)
	return res, nil
}

// eligible says whether subscriptions of a product with cycle 1 on day d1
// are old enough at asOf for cycle c to have been attempted: (c−1) billing
// intervals plus the grace. Without a known interval only cycle 1 is.
func eligible(c, d1, asOf int, interval int, known bool) bool {
	if c <= 1 {
		return true
	}
	if !known {
		return false
	}
	return asOf-d1 >= (c-1)*interval+GraceDays
}

// median of a histogram of day gaps: the lower middle value.
func median(h map[int]int64) int {
	var keys []int
	var total int64
	for k, n := range h {
		keys = append(keys, k)
		total += n
	}
	sort.Ints(keys)
	mid := (total + 1) / 2 // 1-based rank of the lower middle
	var seen int64
	for _, k := range keys {
		seen += h[k]
		if seen >= mid {
			return k
		}
	}
	return 0
}

// retentionTable adds the keys up per group: each cycle from 1 to the
// highest seen, with maturity.
func retentionTable(subs map[retKey]int64, cells map[retKey]map[int]*retCell, interval map[string]int, asOf int, nm names) []RetentionGroup {
	type acc struct {
		subs  int64
		top   int
		rows  map[int]*CycleRow
		prevE map[int]int64 // eligible subscriptions' approvals at c−1
	}
	groups := map[string]*acc{}
	for k, n := range subs {
		a := groups[k.group]
		if a == nil {
			a = &acc{rows: map[int]*CycleRow{}, prevE: map[int]int64{}}
			groups[k.group] = a
		}
		a.subs += n
		for c := range cells[k] {
			a.top = max(a.top, c)
		}
	}
	for k, n := range subs {
		a := groups[k.group]
		if a == nil {
			continue
		}
		iv, known := interval[k.product]
		for c := 1; c <= a.top; c++ {
			row := a.rows[c]
			if row == nil {
				row = &CycleRow{Cycle: c}
				a.rows[c] = row
			}
			x := cells[k][c]
			if x != nil {
				row.Approvals += x.approvals
				row.Declines += x.declines
			}
			if !eligible(c, k.day, asOf, iv, known) {
				continue
			}
			row.Eligible += n
			if x != nil {
				row.EligibleApprovals += x.approvals
			}
			if p := cells[k][c-1]; p != nil && c > 1 {
				a.prevE[c] += p.approvals
			}
		}
	}
	var out []RetentionGroup
	for g, a := range groups {
		rg := RetentionGroup{Group: g, GroupName: nm.ptr(g), Subscriptions: a.subs}
		first := int64(0)
		for c := 1; c <= a.top; c++ {
			row := *a.rows[c]
			if c == 1 {
				first = row.Approvals
			} else {
				row.RebillRate = Rate{row.EligibleApprovals, a.prevE[c]}
			}
			row.Retention = Rate{row.EligibleApprovals, row.Eligible}
			row.RetentionAll = Rate{row.Approvals, first}
			row.Partial = row.Eligible < a.subs
			rg.Cycles = append(rg.Cycles, row)
		}
		out = append(out, rg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	if out == nil {
		out = []RetentionGroup{}
	}
	return out
}

// rollupIntervals sets each product's billing interval, the median of its
// gaps between approved cycles, from the rollups as of asOf.
func rollupIntervals(ctx context.Context, q Query, asOf int, into map[string]int) error {
	gaps := map[string]map[int]int64{}
	err := rollup.Gaps(ctx, q.Store, q.Integration, asOf, func(product string, gap int, n int64) {
		if gaps[product] == nil {
			gaps[product] = map[int]int64{}
		}
		gaps[product][gap] = n
	})
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	for p, h := range gaps {
		into[p] = median(h)
	}
	return nil
}
