package web

import (
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
)

func intp(n int) *int { return &n }

// ltvFixture: three month cohorts over days 0, 7, 30, 365; the older the
// cohort the more cells are complete (the youngest has none beyond day 0,
// and one has no complete cell at all).
func ltvFixture() *report.LTVResult {
	days := []int{0, 7, 30, 365}
	cohort := func(name string, customers int64, complete int) report.Cohort {
		c := report.Cohort{Cohort: name, Customers: customers}
		for i, d := range days {
			c.Cells = append(c.Cells, report.Cell{Day: intp(d),
				GrossLTV: report.PerHead{Cents: int64(1000 * (i + 2)), N: customers},
				NetLTV:   report.PerHead{Cents: int64(900 * (i + 2)), N: customers},
				Partial:  i >= complete})
		}
		return c
	}
	return &report.LTVResult{AsOf: "2026-12-01", TimeZone: "UTC", Period: "month", Cohorts: []report.Cohort{
		cohort("2025-11", 10, 4), cohort("2026-06", 20, 3), cohort("2026-11", 30, 1), cohort("2026-12", 5, 0)}}
}

// TestLTVCurves: each curve has exactly its cohort's leading complete
// cells (never a flat run of partial ones), the points sit on a time axis
// (their day), a cohort without a complete cell is left out, and the
// curves show the measure asked for.
func TestLTVCurves(t *testing.T) {
	res := ltvFixture()
	p := &reportParams{Metric: "gross"}
	for _, metric := range []string{"gross", "net"} {
		p.Metric = metric
		pick := func(c report.Cell) report.PerHead {
			if metric == "gross" {
				return c.GrossLTV
			}
			return c.NetLTV
		}
		lc := ltvCurves(res, p, titleCase(metric)+" LTV", pick)
		if want := []float64{0, 7, 30, 365}; len(lc.XAt) != 4 || lc.XAt[2] != want[2] || lc.XAt[3] != want[3] {
			t.Fatalf("x positions %v, want the days %v", lc.XAt, want)
		}
		if !strings.HasPrefix(lc.Title, titleCase(metric)+" LTV per customer") || lc.XTitle != "days since the first sale" {
			t.Errorf("title %q, axis %q", lc.Title, lc.XTitle)
		}
		var got []int
		for _, s := range lc.Series {
			got = append(got, len(s.Points))
		}
		if len(got) != 3 || got[0] != 4 || got[1] != 3 || got[2] != 1 {
			t.Errorf("%s: points per curve %v, want [4 3 1] (the 2026-12 cohort has no complete cell)", metric, got)
		}
		// the oldest cohort's day-365 point is its own cell, per head
		want := float64(pick(res.Cohorts[0].Cells[3]).Cents) / 10 / 100
		if s := lc.Series[0]; math.Abs(s.Points[3]-want) > 1e-9 || !strings.HasPrefix(s.Name, "2025-11 (10)") {
			t.Errorf("%s: %s ends at %v, want %v", metric, s.Name, s.Points[3], want)
		}
	}
}

// TestWithMetric: the measure links keep every other filter.
func TestWithMetric(t *testing.T) {
	p := &reportParams{Integration: "acme", TZ: "Europe/Berlin", Dim: "campaign", Filters: []filterRow{{Dim: "product", Value: "7"}}, Cohort: "week", Metric: "net", Currency: "EUR"}
	p.From = crm.Date{Year: 2026, Month: time.October, Day: 1}
	p.To = crm.Date{Year: 2026, Month: time.October, Day: 31}
	p.AsOf = p.To
	q, err := url.ParseQuery(string(p.WithMetric("gross")))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"metric": "gross", "integration": "acme", "tz": "Europe/Berlin", "dim": "campaign", "fd": "product", "fv": "7", "cohort": "week", "currency": "EUR", "from": "2026-10-01", "asof": "2026-10-31"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if p.Metric != "net" {
		t.Error("WithMetric changed the page's own filters")
	}
}

// TestRetentionPivot: one row per group, one column per cycle, partial
// cells marked, a cycle a group never reached shown empty.
func TestRetentionPivot(t *testing.T) {
	name := "Coffee Club"
	v := &reportView{P: &reportParams{}, Retention: &report.RetentionResult{Groups: []report.RetentionGroup{
		{Group: "2101", GroupName: &name, Subscriptions: 1200, Cycles: []report.CycleRow{
			{Cycle: 1, Retention: report.Rate{Num: 10, Den: 10}},
			{Cycle: 2, Retention: report.Rate{Num: 5, Den: 8}, Partial: true, Eligible: 8, EligibleApprovals: 5},
		}},
		{Group: "2102", Subscriptions: 3, Cycles: []report.CycleRow{{Cycle: 1, Retention: report.Rate{Num: 3, Den: 3}}}},
	}}}
	pv := v.RetentionPivot()
	if pv == nil || len(pv.Cols) != 2 || pv.Cols[1] != "cycle 2" || len(pv.Rows) != 2 || pv.Corner != "product" {
		t.Fatalf("pivot %+v", pv)
	}
	r0, r1 := pv.Rows[0], pv.Rows[1]
	if r0.Head != "2101 Coffee Club" || r0.Subscriptions != "1,200" || r0.Cells[0].Text != "100.00%" || r0.Cells[1].Text != "62.50%*" || !r0.Cells[1].Partial {
		t.Errorf("row 1 %+v", r0)
	}
	if l := r0.Cells[1].Link; !strings.Contains(l, "cell=retention") || !strings.Contains(l, "cycle=2") || !strings.Contains(l, "group=2101") {
		t.Errorf("cycle 2's link %q", l)
	}
	if !strings.Contains(r0.Cells[1].Title, "5 of 8 eligible") {
		t.Errorf("tooltip %q", r0.Cells[1].Title)
	}
	if r1.Cells[1].Text != "" || r1.Cells[1].Partial {
		t.Errorf("a cycle never reached: %+v", r1.Cells[1])
	}
	if (&reportView{P: &reportParams{}}).RetentionPivot() != nil {
		t.Error("a pivot without a report")
	}
}

// TestChargebackMonth: the month table holds the chosen month's rows only;
// the links go to the months around it.
func TestChargebackMonth(t *testing.T) {
	var months []report.MIDMonth
	for i, m := range []string{"2026-09", "2026-10", "2026-11"} {
		for _, mid := range []string{"11", "12"} {
			months = append(months, report.MIDMonth{Merchant: mid, Month: m, Brand: "all cards", Sales: int64(1000 * (i + 1))})
		}
	}
	p := &reportParams{Month: "2026-10", Integration: "acme", Cohort: "month", Metric: "net"}
	v := &reportView{P: p, CB: &report.ChargebacksResult{Months: months}, CBMonths: []string{"2026-09", "2026-10", "2026-11"}}
	v.Table.Links = drillLinks(p, v.CB)
	tb := v.CBMonthTable()
	if tb == nil || len(tb.Rows) != 2 {
		t.Fatalf("month table %+v", tb)
	}
	// each row keeps its own drill links, in the right columns
	sales := slices.Index(tb.Header, "Sales")
	for r := range tb.Rows {
		if l := tb.Link(r, sales); !strings.Contains(l, "figure=sales&") || !strings.Contains(l, "ym=2026-10") {
			t.Errorf("row %d's sales link %q", r, l)
		}
	}
	for _, r := range tb.Rows {
		if !strings.Contains(strings.Join(r, "|"), "|2,000|") {
			t.Errorf("row of another month: %v", r)
		}
	}
	if slices.Contains(tb.Header, "Month") || slices.Contains(tb.Header, "month") {
		t.Errorf("the month table repeats the month: %v", tb.Header)
	}
	l := v.CBMonthLinks()
	if l.Prev != "2026-09" || l.Next != "2026-11" || !strings.Contains(l.PrevURL, "month=2026-09") || !strings.Contains(l.NextURL, "integration=acme") {
		t.Errorf("links %+v", l)
	}
	if ms := v.CBMonthList(); len(ms) != 3 || !ms[1].On || ms[0].On || !strings.Contains(ms[2].URL, "month=2026-11") {
		t.Errorf("month list %+v", ms)
	}
	p.Month = "2026-11"
	if l := v.CBMonthLinks(); l.Next != "" || l.Prev != "2026-10" {
		t.Errorf("last month's links %+v", l)
	}
}
