package report

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/rollup"
)

// Cohort periods.
const (
	CohortDay   = "day"
	CohortWeek  = "week"
	CohortMonth = "month"
)

// DefaultDays are metrics.md's standard columns.
var DefaultDays = []int{0, 7, 30, 60, 90, 180, 365}

// LTVOptions choose the cohort table.
type LTVOptions struct {
	Cohort string // day, week or month
	// Days are the cells in days since the first sale; Months, when set,
	// replace them with months since the first sale.
	Days   []int
	Months []int
	AsOf   crm.Date // nothing after this day counts; cells not reached are partial
}

// Cell is one column of a cohort.
type Cell struct {
	Day      *int    `json:"day,omitempty"`
	Month    *int    `json:"month,omitempty"`
	GrossLTV PerHead `json:"gross_ltv"`
	NetLTV   PerHead `json:"net_ltv"`
	Partial  bool    `json:"partial"`
	// Exact sums behind the averages.
	GrossCents int64 `json:"-"`
	NetCents   int64 `json:"-"`
}

// Cohort is the customers whose first sale fell in one period.
type Cohort struct {
	Group     *string `json:"group,omitempty"`
	GroupName *string `json:"group_name,omitempty"`
	Cohort    string  `json:"cohort"`
	Customers int64   `json:"customers"`
	Cells     []Cell  `json:"cells"`
	lastFirst int     // the latest first-sale day number in the cohort
}

// LTVResult is the cohort table.
type LTVResult struct {
	AsOf     string   `json:"as_of"`
	TimeZone string   `json:"time_zone"`
	Period   string   `json:"cohort_period"`
	By       string   `json:"by,omitempty"`
	Currency string   `json:"currency,omitempty"` // the one currency the figures are restricted to
	Cohorts  []Cohort `json:"cohorts"`
	names    names
}

// Table has one row per cohort and two columns (gross, net) per cell; a
// partial cell is marked (a "*" in the table, a partial_day_N column of
// true/false after the cell in CSV).
func (r *LTVResult) Table() Table {
	t := Table{Flags: map[int]string{}}
	if r.By != "" {
		t.Header = append(t.Header, groupHeader(r.By, r.names)...)
	}
	t.Header = append(t.Header, "cohort", "customers")
	if len(r.Cohorts) > 0 {
		for _, c := range r.Cohorts[0].Cells {
			unit, n := "day", c.Day
			if c.Month != nil {
				unit, n = "month", c.Month
			}
			t.Header = append(t.Header, fmt.Sprintf("gross_%s_%d", unit, *n), fmt.Sprintf("net_%s_%d", unit, *n))
			t.Flags[len(t.Header)-1] = fmt.Sprintf("partial_%s_%d", unit, *n)
		}
	}
	for _, c := range r.Cohorts {
		var row []string
		if c.Group != nil {
			row = append(row, groupCells(*c.Group, r.names)...)
		}
		row = append(row, c.Cohort, fmt.Sprint(c.Customers))
		marks := make([]bool, len(row), len(row)+2*len(c.Cells))
		for _, cell := range c.Cells {
			row = append(row, cell.GrossLTV.String(), cell.NetLTV.String())
			marks = append(marks, cell.Partial, cell.Partial)
		}
		t.Rows = append(t.Rows, row)
		t.Marks = append(t.Marks, marks)
	}
	return t
}

// CohortName names the period of a first-sale date: "2025-01-17",
// "2025-W03" (ISO week) or "2025-01".
func CohortName(period string, d crm.Date) string {
	switch period {
	case CohortDay:
		return d.String()
	case CohortWeek:
		y, w := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	}
	return fmt.Sprintf("%04d-%02d", d.Year, int(d.Month))
}

// MonthStart is the first day of month m since a first sale on d: d plus m
// calendar months, on the same day of the month; when that month is too
// short, the first day of the month after (Jan 31 + 1 month = Mar 1, so
// month 0 of a January 31 customer ends on the last day of February).
func MonthStart(d crm.Date, m int) crm.Date {
	first := time.Date(d.Year, d.Month+time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	if last := first.AddDate(0, 1, -1).Day(); d.Day > last {
		return crm.DateOf(first.AddDate(0, 1, 0))
	}
	return crm.Date{Year: first.Year(), Month: first.Month(), Day: d.Day}
}

// monthIndex is the month since the first sale d0 that day d falls in.
func monthIndex(d0, d crm.Date) int {
	m := (d.Year-d0.Year)*12 + int(d.Month) - int(d0.Month)
	for m > 0 && d.Before(MonthStart(d0, m)) {
		m--
	}
	for !d.Before(MonthStart(d0, m+1)) {
		m++
	}
	return m
}

// LTV computes the cohort table. It streams every sale and refund ordered
// by customer; memory grows with the number of cohorts only.
func LTV(ctx context.Context, q Query, o LTVOptions) (*LTVResult, error) {
	switch o.Cohort {
	case CohortDay, CohortWeek, CohortMonth:
	default:
		return nil, fmt.Errorf("ltv: cohort %q (want day, week or month)", o.Cohort)
	}
	if o.AsOf.IsZero() {
		return nil, fmt.Errorf("ltv: as-of date required")
	}
	cols := o.Days
	months := len(o.Months) > 0
	if months {
		cols = o.Months
	}
	if len(cols) == 0 {
		cols = DefaultDays
	}
	cols = append([]int(nil), cols...)
	sort.Ints(cols)
	for _, c := range cols {
		if c < 0 {
			return nil, fmt.Errorf("ltv: cell %d is negative", c)
		}
	}
	if _, err := q.groupExpr(""); err != nil {
		return nil, err
	}
	q, err := q.prepare(ctx, true)
	if err != nil {
		return nil, err
	}
	res := &LTVResult{AsOf: o.AsOf.String(), TimeZone: q.Loc.String(), Period: o.Cohort, By: q.By, Currency: q.Currency}
	if res.names, err = namesOf(ctx, q, mustColumn(q.By)); err != nil {
		return nil, err
	}
	asOf := dayNum(o.AsOf)
	plan, err := q.rollups(ctx)
	if err != nil {
		return nil, err
	}
	if plan.ok && plan.zone == q.Loc.String() {
		cohorts, err := ltvRollup(ctx, q, plan, o.Cohort, cols, months, asOf)
		if err != nil {
			return nil, err
		}
		return res.finish(cohorts, cols, months, asOf), nil
	}
	tgrp, err := q.groupExpr("t")
	if err != nil {
		return nil, err
	}
	sel := "t.source, t.customer_id, t.id, t.created_utc, t.amount_cents, " + saleCond("t.") + ", t.chargedback, t.chargeback_cents, t.chargeback_date, " + tgrp + q.filterCols("t.")
	where := q.scope("t.") + " AND (" + saleCond("t.") + " OR " + refundCond("t.") + ")"
	order := " ORDER BY t.source, t.customer_id, t.created_utc, t.id"
	stmt := "SELECT " + sel + " FROM transactions t WHERE " + where + order
	args := q.scopeArgs()
	if len(q.filt) > 0 {
		// Only the customers with a matching sale can have a first sale
		// that matches: the others are not read.
		fcond, fargs := q.filterSQL("m.")
		stmt = "SELECT " + sel + " FROM (SELECT DISTINCT m.source, m.customer_id FROM transactions m WHERE " + q.scope("m.") + " AND " + saleCond("m.") + fcond + ") c" +
			" JOIN transactions t ON t.source = c.source AND t.customer_id = c.customer_id AND " + where + order
		args = append(append(q.scopeArgs(), fargs...), q.scopeArgs()...)
	}
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("ltv: %w", err)
	}
	defer rows.Close()

	cohorts := map[[2]string]*Cohort{}
	// One customer's events as (cell index from which it counts, cents, net only).
	var curSrc, curCust string
	var started bool
	var d0 crm.Date
	var d0n int
	var gross, net []int64
	var group string
	var keep bool // the customer's first sale passes the filters
	flush := func() {
		if !started || !keep {
			return
		}
		c := cohortOf(cohorts, q.By != "", group, CohortName(o.Cohort, d0), len(cols))
		c.Customers++
		c.lastFirst = max(c.lastFirst, d0n)
		for i := range cols {
			c.Cells[i].GrossCents += gross[i]
			c.Cells[i].NetCents += net[i]
		}
	}
	add := func(d crm.Date, cents int64, both bool) {
		k, ok := sinceFirst(d0, d, asOf, months)
		if !ok {
			return
		}
		for i := sort.SearchInts(cols, k); i < len(cols); i++ {
			net[i] += cents
			if both {
				gross[i] += cents
			}
		}
	}
	gross, net = make([]int64, len(cols)), make([]int64, len(cols))
	n := 0
	vals := make([]string, len(q.filt))
	for rows.Next() {
		n++
		if err := ctxErr(ctx, n); err != nil {
			return nil, err
		}
		var src, cust, id, g string
		var at, amt, cbCents int64
		var isSale bool
		var cb int64
		var cbDate sql.NullString
		if err := rows.Scan(append([]any{&src, &cust, &id, &at, &amt, &isSale, &cb, &cbCents, &cbDate, &g}, filterDests(vals)...)...); err != nil {
			return nil, fmt.Errorf("ltv: %w", err)
		}
		if src != curSrc || cust != curCust {
			flush()
			curSrc, curCust, started = src, cust, false
			clear(gross)
			clear(net)
		}
		day := localDay(at, q.Loc)
		if !started {
			if !isSale || dayNum(day) > asOf {
				continue // a refund before any sale, or a customer who arrives after as-of
			}
			started, d0, d0n, group, keep = true, day, dayNum(day), g, q.matches(vals)
		}
		if !keep {
			continue
		}
		if q.By == "currency" && g != group {
			continue // never add another currency's amounts to the cohort's
		}
		if isSale {
			add(day, amt, true)
			if cb != 0 && cbDate.Valid {
				cd, err := crm.ParseDate(cbDate.String)
				if err != nil {
					return nil, fmt.Errorf("ltv: transaction %s: %w", id, err)
				}
				add(cd, -cbCents, false)
			}
		} else {
			add(day, -amt, false)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ltv: %w", err)
	}
	flush()
	return res.finish(cohorts, cols, months, asOf), nil
}

// sinceFirst is the day (or month) since a customer's first sale on d0 of
// an event on day d, counted in every cell from it on; ok is false for an
// event that counts nowhere (before the first sale, after the as-of day).
// The one rule of an LTV cell: LTV and its drill-down both apply it.
func sinceFirst(d0, d crm.Date, asOf int, months bool) (k int, ok bool) {
	if dayNum(d) > asOf || dayNum(d) < dayNum(d0) {
		return 0, false
	}
	if months {
		return monthIndex(d0, d), true
	}
	return dayNum(d) - dayNum(d0), true
}

// cohortOf is the group's cohort of that name, created when missing.
func cohortOf(cohorts map[[2]string]*Cohort, grouped bool, group, name string, cells int) *Cohort {
	key := [2]string{group, name}
	c, ok := cohorts[key]
	if !ok {
		c = &Cohort{Cohort: name, Cells: make([]Cell, cells)}
		if grouped {
			c.Group = &group
		}
		cohorts[key] = c
	}
	return c
}

// ltvRollup adds up the cohort table from the rollups (days in the account
// time zone, which is the display zone here).
func ltvRollup(ctx context.Context, q Query, plan rollupPlan, period string, cols []int, months bool, asOf int) (map[[2]string]*Cohort, error) {
	cohorts := map[[2]string]*Cohort{}
	err := rollup.Cohorts(ctx, q.Store, q.Integration, plan.dim, asOf, func(g string, day int, n int64) {
		if !plan.keep(g) {
			return
		}
		g = plan.group(g)
		c := cohortOf(cohorts, q.By != "", g, CohortName(period, dateOfNum(day)), len(cols))
		c.Customers += n
		c.lastFirst = max(c.lastFirst, day)
	})
	if err != nil {
		return nil, fmt.Errorf("ltv: %w", err)
	}
	err = rollup.Values(ctx, q.Store, q.Integration, plan.dim, asOf, func(g string, cd, ed int, gross, net int64) {
		if !plan.keep(g) {
			return
		}
		g = plan.group(g)
		c := cohorts[[2]string{g, CohortName(period, dateOfNum(cd))}]
		if c == nil {
			return
		}
		k := ed - cd
		if months {
			k = monthIndex(dateOfNum(cd), dateOfNum(ed))
		}
		for i := sort.SearchInts(cols, k); i < len(cols); i++ {
			c.Cells[i].GrossCents += gross
			c.Cells[i].NetCents += net
		}
	})
	if err != nil {
		return nil, fmt.Errorf("ltv: %w", err)
	}
	return cohorts, nil
}

// finish turns the cohorts' sums into cells, sorted.
func (res *LTVResult) finish(cohorts map[[2]string]*Cohort, cols []int, months bool, asOf int) *LTVResult {
	for _, c := range cohorts {
		if c.Group != nil {
			c.GroupName = res.names.ptr(*c.Group)
		}
		for i, k := range cols {
			cell := &c.Cells[i]
			k := k
			var reached crm.Date // the last day the cell covers for the cohort's latest customer
			if months {
				cell.Month = &k
				reached = addDays(MonthStart(dateOfNum(c.lastFirst), k+1), -1)
			} else {
				cell.Day = &k
				reached = dateOfNum(c.lastFirst + k)
			}
			cell.Partial = dayNum(reached) > asOf
			cell.GrossLTV = PerHead{cell.GrossCents, c.Customers}
			cell.NetLTV = PerHead{cell.NetCents, c.Customers}
		}
		res.Cohorts = append(res.Cohorts, *c)
	}
	sort.Slice(res.Cohorts, func(i, j int) bool {
		a, b := res.Cohorts[i], res.Cohorts[j]
		if a.Group != nil && *a.Group != *b.Group {
			return *a.Group < *b.Group
		}
		return a.Cohort < b.Cohort
	})
	if res.Cohorts == nil {
		res.Cohorts = []Cohort{}
	}
	return res
}
