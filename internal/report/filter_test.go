package report_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/synth"
)

// combo is a combined filter and the same filter as a test of a generated
// transaction, written here from synth's fields.
type combo struct {
	name    string
	filters []report.Filter
	match   func(*crm.Transaction) bool
}

// combos are two-dimension filters that keep some rows but not all: the
// commonest campaign and merchant account of the sales; and two campaigns
// (any of them) with that merchant account.
func combos(w *world) []combo {
	type pair struct{ c, m string }
	n := map[pair]int{}
	camps := map[string]int{}
	for _, c := range w.customers {
		for i := range c.Transactions {
			t := &c.Transactions[i].Transaction
			if t.IsSale() {
				n[pair{t.CampaignID, t.MerchantID}]++
				camps[t.CampaignID]++
			}
		}
	}
	var best pair
	for p, k := range n {
		if k > n[best] || (k == n[best] && (p.c < best.c || (p.c == best.c && p.m < best.m))) {
			best = p
		}
	}
	var other string
	for c, k := range camps {
		if c != best.c && (other == "" || k > camps[other] || (k == camps[other] && c < other)) {
			other = c
		}
	}
	return []combo{
		{"campaign+merchant", []report.Filter{{By: "campaign", Values: []string{best.c}}, {By: "mid", Values: []string{best.m}}},
			func(t *crm.Transaction) bool { return t.CampaignID == best.c && t.MerchantID == best.m }},
		{"two campaigns+merchant", []report.Filter{{By: "campaign", Values: []string{best.c}}, {By: "campaign", Values: []string{other}}, {By: "merchant", Values: []string{best.m}}},
			func(t *crm.Transaction) bool {
				return (t.CampaignID == best.c || t.CampaignID == other) && t.MerchantID == best.m
			}},
	}
}

// in is the group of a transaction for a filter: "in" when it passes.
func in(match func(*crm.Transaction) bool) func(*crm.Transaction) string {
	return func(t *crm.Transaction) string {
		if match(t) {
			return "in"
		}
		return "out"
	}
}

// checkFiltered holds every report under combined filters to the
// independent computation: the figures of the group "in" when each
// transaction is grouped by whether it passes (so a customer is new, or in
// a cohort, by its first sale, and a subscription by its cycle-1 sale, as
// a breakdown's group is).
func checkFiltered(t *testing.T, w *world, id int64, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	for _, c := range combos(w) {
		q := w.query(id, loc, "")
		q.Filters = c.filters
		for _, r := range [][2]crm.Date{ranges[1], ranges[4], ranges[3]} {
			got, err := report.Summary(ctx, q, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			want := expectSummaryOf(w, loc, in(c.match), nil, r[0], r[1])["in"]
			want.Group = ""
			if got.Total != want || want.Sales == 0 {
				t.Errorf("summary %s %s..%s in %s:\n got %+v\nwant %+v", c.name, r[0], r[1], loc, got.Total, want)
			}
		}
		// With a breakdown by a third dimension: the groups of the "in" rows.
		qb := q
		qb.By = "product"
		got, err := report.Summary(ctx, qb, ranges[1][0], ranges[1][1])
		if err != nil {
			t.Fatal(err)
		}
		want := expectSummaryOf(w, loc, func(t *crm.Transaction) string { return in(c.match)(t) + "|" + t.ProductID }, nil, ranges[1][0], ranges[1][1])
		gotMap := map[string]report.Figures{}
		for _, f := range got.Groups {
			f.Name = nil
			gotMap["in|"+f.Group] = f
		}
		for g, wf := range want {
			if strings.HasPrefix(g, "in|") {
				if wf.Group = strings.TrimPrefix(g, "in|"); gotMap[g] != wf {
					t.Errorf("summary %s by product, %s:\n got %+v\nwant %+v", c.name, g, gotMap[g], wf)
				}
				delete(gotMap, g)
			}
		}
		for g, f := range gotMap {
			if f != (report.Figures{Group: f.Group}) {
				t.Errorf("summary %s by product: unexpected group %s %+v", c.name, g, f)
			}
		}
		// Lifetime value: the cohorts of the customers whose first sale passes.
		l, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", Days: []int{0, 30, 90}, AsOf: w.asOf})
		if err != nil {
			t.Fatal(err)
		}
		wl := expectLTVOf(w, loc, in(c.match), "month", []int{0, 30, 90}, false, w.asOf)
		n := 0
		for _, co := range l.Cohorts {
			wc := wl[ltvKey{"in", co.Cohort}]
			for i, cell := range co.Cells {
				if co.Customers != wc.customers || (ltvCell{cell.GrossLTV.String(), cell.NetLTV.String(), cell.Partial}) != wc.cells[i] {
					t.Errorf("ltv %s cohort %s cell %d: %d customers %+v, want %d %+v", c.name, co.Cohort, i, co.Customers, cell, wc.customers, wc.cells[i])
				}
			}
			n++
		}
		for k := range wl {
			if k.group == "in" {
				n--
			}
		}
		if n != 0 || len(l.Cohorts) == 0 {
			t.Errorf("ltv %s: %d cohorts, %d more than expected", c.name, len(l.Cohorts), n)
		}
		checkRetentionOf(t, w, id, "product", c.filters, c.match, loc, crm.Date{}, crm.Date{})
		checkChargebacksOf(t, w, id, loc, c.filters, c.match)
		checkReconcileOf(t, w, id, loc, ranges[4][0], ranges[4][1], c.filters, c.match)
	}
}

// checkTrend: each point is the Summary of its days, and the points add up
// to the range's Summary (orders excepted: distinct per point).
func checkTrend(t *testing.T, w *world, id int64, loc *time.Location, filters []report.Filter) {
	t.Helper()
	ctx := context.Background()
	q := w.query(id, loc, "")
	q.Filters = filters
	for _, tc := range []struct {
		grain    string
		from, to crm.Date
		points   int
	}{
		{report.GrainDay, ranges[1][0], ranges[1][1], 29},
		{report.GrainWeek, ranges[1][0], ranges[1][1], 5}, // Sun Oct 5 .. Sun Nov 2: one day, then four whole weeks
		{report.GrainMonth, crm.Date{Year: 2024, Month: time.September, Day: 15}, genAsOf, 15},
	} {
		tr, err := report.Trend(ctx, q, tc.from, tc.to, tc.grain)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Points) != tc.points {
			t.Errorf("trend by %s %s..%s: %d points, want %d", tc.grain, tc.from, tc.to, len(tr.Points), tc.points)
		}
		total, err := report.Summary(ctx, q, tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		var sum report.Figures
		next := tc.from
		for i, p := range tr.Points {
			if p.From != next || p.To.Before(p.From) {
				t.Errorf("trend by %s point %d: %s..%s does not follow %s", tc.grain, i, p.From, p.To, next)
			}
			next = crm.DateOf(time.Date(p.To.Year, p.To.Month, p.To.Day+1, 0, 0, 0, 0, time.UTC))
			f := p.Figures
			sum.Sales += f.Sales
			sum.Gross += f.Gross
			sum.Declines += f.Declines
			sum.SalesInitial += f.SalesInitial
			sum.DeclinesInitial += f.DeclinesInitial
			sum.RefundCount += f.RefundCount
			sum.RefundCents += f.RefundCents
			sum.CBCount += f.CBCount
			sum.CBCents += f.CBCents
			sum.KCBCount += f.KCBCount
			sum.KCBCents += f.KCBCents
			sum.NewCustomers += f.NewCustomers
			sum.Orders += f.Orders
			if i%5 == 0 || i == len(tr.Points)-1 {
				one, err := report.Summary(ctx, q, p.From, p.To)
				if err != nil {
					t.Fatal(err)
				}
				if one.Total != f {
					t.Errorf("trend by %s point %s: %+v, its summary %+v", tc.grain, p.Label, f, one.Total)
				}
			}
		}
		if next != crm.DateOf(time.Date(tc.to.Year, tc.to.Month, tc.to.Day+1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("trend by %s ends before %s", tc.grain, tc.to)
		}
		if sum.Orders < total.Total.Orders {
			t.Errorf("trend by %s: %d orders over the points, fewer than the range's %d", tc.grain, sum.Orders, total.Total.Orders)
		}
		sum.Orders = total.Total.Orders
		if sum != total.Total || sum.Sales == 0 {
			t.Errorf("trend by %s %s..%s: the points add up to\n%+v\nthe summary is\n%+v", tc.grain, tc.from, tc.to, sum, total.Total)
		}
	}
}

func TestTrendSpansAndPresets(t *testing.T) {
	d := func(s string) crm.Date { x, _ := crm.ParseDate(s); return x }
	for _, tc := range []struct {
		grain, from, to string
		want            []string // from..to of each point
	}{
		{"day", "2025-03-08", "2025-03-10", []string{"2025-03-08..2025-03-08", "2025-03-09..2025-03-09", "2025-03-10..2025-03-10"}},
		{"week", "2025-03-05", "2025-03-18", []string{"2025-03-05..2025-03-09", "2025-03-10..2025-03-16", "2025-03-17..2025-03-18"}},
		{"week", "2025-03-10", "2025-03-16", []string{"2025-03-10..2025-03-16"}},
		{"month", "2024-12-15", "2025-03-01", []string{"2024-12-15..2024-12-31", "2025-01-01..2025-01-31", "2025-02-01..2025-02-28", "2025-03-01..2025-03-01"}},
		{"month", "2024-02-01", "2024-02-29", []string{"2024-02-01..2024-02-29"}},
	} {
		got, err := report.TrendSpans(d(tc.from), d(tc.to), tc.grain)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range got {
			s = append(s, p[0].String()+".."+p[1].String())
		}
		if strings.Join(s, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s %s..%s: %v, want %v", tc.grain, tc.from, tc.to, s, tc.want)
		}
	}
	if _, err := report.TrendSpans(d("2020-01-01"), d("2025-01-01"), "day"); err == nil {
		t.Error("five years by day: want a refusal")
	}
	if _, err := report.TrendSpans(d("2025-01-01"), d("2025-01-31"), "hour"); err == nil {
		t.Error("grain hour: want a refusal")
	}
	presets := map[string]string{}
	for _, p := range report.Presets(d("2025-03-01")) {
		presets[p.Key] = p.From.String() + ".." + p.To.String()
	}
	want := map[string]string{"7d": "2025-02-23..2025-03-01", "30d": "2025-01-31..2025-03-01", "90d": "2024-12-02..2025-03-01",
		"mtd": "2025-03-01..2025-03-01", "lastmonth": "2025-02-01..2025-02-28", "ytd": "2025-01-01..2025-03-01"}
	if len(presets) != len(want) {
		t.Errorf("presets %v", presets)
	}
	for k, v := range want {
		if presets[k] != v {
			t.Errorf("preset %s: %s, want %s", k, presets[k], v)
		}
	}
	for _, tc := range [][4]string{{"2025-03-01", "2025-03-31", "2025-01-29", "2025-02-28"}, {"2025-01-01", "2025-01-01", "2024-12-31", "2024-12-31"}} {
		f, to := report.Previous(d(tc[0]), d(tc[1]))
		if f.String() != tc[2] || to.String() != tc[3] {
			t.Errorf("previous of %s..%s: %s..%s, want %s..%s", tc[0], tc[1], f, to, tc[2], tc[3])
		}
	}
	for _, tc := range []struct {
		in      string
		by, val string
	}{{"campaign=Summer Trial", "campaign", "Summer Trial"}, {" MID = 12 ", "merchant", "12"}, {"campaign_id=a=b", "campaign", "a=b"}, {"brand=Visa", "brand", "Visa"}} {
		f, err := report.ParseFilter(tc.in)
		if err != nil || f.By != tc.by || len(f.Values) != 1 || f.Values[0] != tc.val {
			t.Errorf("ParseFilter(%q) = %+v, %v", tc.in, f, err)
		}
	}
	for _, bad := range []string{"campaign", "campaign=", "planet=Mars", "=x"} {
		if _, err := report.ParseFilter(bad); err == nil {
			t.Errorf("ParseFilter(%q): want an error", bad)
		}
	}
}

// checkFilterNames: a combined filter takes names as well as ids, and an
// unknown name is refused with the known ones listed.
func checkFilterNames(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	loc := mustLoc(t, account)
	cat := synth.DefaultCatalog()
	cs := combos(w)
	var mid int
	for _, f := range cs[0].filters {
		if f.By == "mid" {
			var err error
			if mid, err = strconv.Atoi(f.Values[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, ok := cat.Merchant(mid)
	if !ok {
		t.Fatalf("merchant %d not in the catalog", mid)
	}
	q := w.query(w.fxID, loc, "")
	q.Currency = "USD"
	q.Filters = []report.Filter{cs[0].filters[0], {By: "merchant", Values: []string{" " + strings.ToUpper(m.Name) + " "}}}
	byName, err := report.Summary(ctx, q, ranges[3][0], ranges[3][1])
	if err != nil {
		t.Fatal(err)
	}
	q.Filters = cs[0].filters
	byID, err := report.Summary(ctx, q, ranges[3][0], ranges[3][1])
	if err != nil {
		t.Fatal(err)
	}
	if byName.Total != byID.Total {
		t.Errorf("merchant by name %q: %+v; by id: %+v", m.Name, byName.Total, byID.Total)
	}
	q.Filters = []report.Filter{cs[0].filters[0], {By: "merchant", Values: []string{"No Such MID"}}}
	if _, err := report.Summary(ctx, q, ranges[3][0], ranges[3][1]); err == nil || !strings.Contains(err.Error(), m.Name) {
		t.Errorf("an unknown merchant among filters: %v, want an error listing the known ones", err)
	}
	q.Filters = []report.Filter{{By: "currency", Values: []string{"eur"}}}
	q.Currency = ""
	eur, err := report.Summary(ctx, q, ranges[3][0], ranges[3][1])
	if err != nil || eur.Currency != "EUR" {
		t.Errorf("a currency filter is --currency: %+v, %v", eur, err)
	}
}

// FuzzParseFilter: any input is refused or gives a known dimension and a
// non-empty value, which parse back to the same filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"campaign=Summer Trial", "mid=12", "MID = 1234567890123456789", "=", "campaign=", "x=y", "brand=\xff", "country=us=ca", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := report.ParseFilter(s)
		if err != nil {
			return
		}
		if !slices.Contains(report.ByValues, got.By) || len(got.Values) != 1 || got.Values[0] == "" || got.Values[0] != strings.TrimSpace(got.Values[0]) {
			t.Fatalf("ParseFilter(%q) = %+v", s, got)
		}
		again, err := report.ParseFilter(got.String())
		if err != nil || again.String() != got.String() {
			t.Fatalf("ParseFilter(%q) = %+v; again %+v, %v", s, got, again, err)
		}
	})
}
