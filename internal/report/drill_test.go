package report_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/store/pgtest"
)

// drillAll lists every row behind a cell.
func drillAll(t *testing.T, q report.Query, c report.DrillCell) []report.DrillRow {
	t.Helper()
	var rows []report.DrillRow
	if err := report.Drill(context.Background(), q, c, 0, 0, func(r report.DrillRow) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatalf("drill %+v: %v", c, err)
	}
	return rows
}

// holds checks that a cell's rows add up to it: as many rows as its count,
// their amounts to its sum; no row twice.
func holds(t *testing.T, q report.Query, res report.Result, c report.DrillCell) []report.DrillRow {
	t.Helper()
	want, ok := report.CellTotal(c, res)
	if !ok {
		t.Fatalf("no cell %+v in the report", c)
	}
	rows := drillAll(t, q, c)
	var cents int64
	seen := map[string]bool{}
	for _, r := range rows {
		cents += r.Amount
		k := r.Event + "|" + r.Source + "|" + r.ID + "|" + r.CustomerID + "|" + r.OrderID
		if seen[k] {
			t.Errorf("%s %s %+v: row %s twice", q.Loc, q.By, c, k)
		}
		seen[k] = true
	}
	if int64(len(rows)) != want.Count || (want.Money && cents != want.Cents) {
		t.Errorf("%s by %q %+v: %d rows adding up to %d cents; the cell says %d (%d cents, money %v)",
			q.Loc, q.By, c, len(rows), cents, want.Count, want.Cents, want.Money)
	}
	return rows
}

func checkDrills(t *testing.T, w *world, id int64, loc *time.Location, by, currency string, filters ...report.Filter) (cells int) {
	t.Helper()
	ctx := context.Background()
	q := w.query(id, loc, by)
	q.Currency = currency
	q.Filters = filters
	group := func(g *string) *string {
		if by == "" {
			return nil
		}
		return g
	}
	// Summary: every figure of every group, over two ranges.
	for _, r := range [][2]crm.Date{{{Year: 2025, Month: time.March, Day: 1}, {Year: 2025, Month: time.May, Day: 31}}, {{Year: 2024, Month: time.September, Day: 1}, genAsOf}} {
		res, err := report.Summary(ctx, q, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		groups := []*string{nil}
		if by != "" {
			groups = nil
			for i := range res.Groups {
				groups = append(groups, &res.Groups[i].Group)
			}
		}
		for _, g := range groups {
			for _, fig := range []string{"gross_revenue", "sales_initial", "sales_rebill", "declines", "declines_rebill", "refund_transactions", "refunds",
				"refunds_konnektive_view", "chargebacks", "chargebacks_konnektive_view", "net_revenue", "orders", "new_customers"} {
				holds(t, q, res, report.DrillCell{Report: report.DrillSummary, Figure: fig, Group: g, From: r[0], To: r[1]})
				cells++
			}
		}
	}
	// LTV: every cohort's every cell, gross and net; months too.
	for _, months := range []bool{false, true} {
		o := report.LTVOptions{Cohort: report.CohortMonth, AsOf: w.asOf}
		if months {
			o = report.LTVOptions{Cohort: report.CohortWeek, AsOf: w.asOf, Months: []int{0, 1, 3}}
		}
		res, err := report.LTV(ctx, q, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, co := range res.Cohorts {
			for _, cell := range co.Cells {
				n := cell.Day
				if months {
					n = cell.Month
				}
				for _, fig := range []string{"gross", "net"} {
					holds(t, q, res, report.DrillCell{Report: report.DrillLTV, Figure: fig, Group: group(co.Group), AsOf: w.asOf, Period: o.Cohort, Cohort: co.Cohort, N: *n, Months: months})
					cells++
				}
			}
		}
	}
	// Retention: every group's every cycle, the three sets.
	rq := q
	if rq.By == "" {
		rq.By = "product"
	}
	ret, err := report.Retention(ctx, rq, report.RetentionOptions{AsOf: w.asOf})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range ret.Groups {
		for _, cy := range g.Cycles {
			for _, set := range []string{"approvals", "eligible", "eligible_approvals"} {
				gr := g.Group
				holds(t, rq, ret, report.DrillCell{Report: report.DrillRetention, Figure: set, Group: &gr, AsOf: w.asOf, N: cy.Cycle, Intervals: ret.IntervalDays})
				cells++
			}
		}
	}
	// Chargebacks: every merchant account's month and brand row.
	cq := q
	cq.By = ""
	cb, err := report.Chargebacks(ctx, cq, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cb.Months {
		for _, part := range []string{"chargebacks", "sales", "sales_prev_month"} {
			holds(t, cq, cb, report.DrillCell{Report: report.DrillChargebacks, Figure: part, Merchant: m.Merchant, Month: m.Month, Brand: m.Brand})
			cells++
		}
	}
	return cells
}

// TestDrillAddsUp: for every drillable cell of every report, on both
// roads and both engines, in two display zones, with and without a
// breakdown, the drilled rows add up exactly to the cell.
func TestDrillAddsUp(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.dsn(t), 70)
			cells := 0
			cells += checkDrills(t, w, w.legacyID, mustLoc(t, account), "", "")
			cells += checkDrills(t, w, w.fxID, time.UTC, "currency", "")
			// Combined filters: a campaign and a merchant account at once.
			var camp, mid string
			if err := w.st.DB().QueryRow(w.st.Rebind("SELECT campaign_id, merchant_id FROM transactions WHERE integration_id = ? GROUP BY campaign_id, merchant_id ORDER BY COUNT(*) DESC LIMIT 1"), w.apiID).Scan(&camp, &mid); err != nil {
				t.Fatal(err)
			}
			cells += checkDrills(t, w, w.apiID, mustLoc(t, account), "product", "", report.Filter{By: "campaign", Values: []string{camp}}, report.Filter{By: "merchant", Values: []string{mid}})
			if b.name == "sqlite" {
				// The same SQL runs on both engines: the other cases once.
				cells += checkDrills(t, w, w.apiID, mustLoc(t, "Australia/Sydney"), "campaign", "")
				cells += checkDrills(t, w, w.fxID, mustLoc(t, account), "", "EUR")
			}
			if cells < 500 {
				t.Fatalf("only %d cells drilled: the data is too thin to prove anything", cells)
			}
			t.Logf("%d cells", cells)
			checkPaging(t, w)
		})
	}
}

// checkPaging: the pages of a list, one after another, are the whole list.
func checkPaging(t *testing.T, w *world) {
	ctx := context.Background()
	q := w.query(w.apiID, mustLoc(t, account), "")
	ltv, err := report.LTV(ctx, q, report.LTVOptions{Cohort: report.CohortMonth, AsOf: genAsOf})
	if err != nil {
		t.Fatal(err)
	}
	biggest := ltv.Cohorts[0]
	for _, c := range ltv.Cohorts {
		if c.Customers > biggest.Customers {
			biggest = c
		}
	}
	for _, c := range []report.DrillCell{
		{Report: report.DrillSummary, Figure: "net_revenue", From: crm.Date{Year: 2024, Month: time.September, Day: 1}, To: genAsOf},
		{Report: report.DrillLTV, Figure: "net", AsOf: genAsOf, Period: report.CohortMonth, Cohort: biggest.Cohort, N: 365},
		{Report: report.DrillRetention, Figure: "eligible", AsOf: genAsOf, N: 2},
	} {
		all := drillAll(t, q, c)
		if len(all) < 5 {
			t.Fatalf("%+v: %d rows, too few to page", c, len(all))
		}
		var paged []report.DrillRow
		for off := 0; ; off += 3 {
			n := 0
			if err := report.Drill(ctx, q, c, off, 3, func(r report.DrillRow) error { paged = append(paged, r); n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n > 3 {
				t.Fatalf("a page of 3 held %d rows", n)
			}
			if n < 3 {
				break
			}
		}
		if !reflect.DeepEqual(fmt.Sprint(all), fmt.Sprint(paged)) {
			t.Errorf("%+v: the pages (%d rows) are not the list (%d rows)", c, len(paged), len(all))
		}
	}
}

func TestDrillCellChecks(t *testing.T) {
	for _, c := range []report.DrillCell{
		{Report: "nope"},
		{Report: report.DrillSummary, Figure: "approval_rate", From: genAsOf, To: genAsOf},
		{Report: report.DrillSummary, Figure: "gross_revenue", From: genAsOf, To: crm.Date{Year: 2020, Month: 1, Day: 1}},
		{Report: report.DrillLTV, Figure: "gross", Period: "week", Cohort: "2025-W60", AsOf: genAsOf},
		{Report: report.DrillLTV, Figure: "gross", Period: "month", Cohort: "2025-13", AsOf: genAsOf},
		{Report: report.DrillRetention, Figure: "approvals", N: 0, AsOf: genAsOf},
		{Report: report.DrillChargebacks, Figure: "sales", Month: "2025/01"},
	} {
		if err := c.Check(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if got := report.Last4("4111 1111 1111 1111"); got != "1111" {
		t.Errorf("Last4 = %q", got)
	}
}
