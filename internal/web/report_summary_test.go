package web

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
)

// The summary page under combined filters: its KPIs, the previous period
// beside them and the trend's points are report.Summary's and
// report.Trend's for the same filters; the filters are by name or id,
// summarised, and each can be removed by a link (no script needed).
func TestSummaryPageCombinedFiltersTrendPrevious(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	loc, _ := time.LoadLocation("America/New_York")
	from, to := crm.Date{Year: 2026, Month: 4, Day: 1}, crm.Date{Year: 2026, Month: 6, Day: 30}
	base := report.Query{Store: e.st, Integration: in.ID, Loc: loc, Currency: "USD"}
	// The campaign with the most sales, by name; its merchant account with
	// the most, by id: a filter that keeps some sales, not all.
	camp, _ := busiest(t, ctx, base, "campaign", from, to)
	if camp.Name == nil || *camp.Name == "" {
		t.Fatalf("campaign %s has no name", camp.Group)
	}
	q := base
	q.Filters = []report.Filter{{By: "campaign", Values: []string{camp.Group}}}
	mid, mids := busiest(t, ctx, q, "merchant", from, to)
	filters := []report.Filter{{By: "campaign", Values: []string{*camp.Name}}, {By: "merchant", Values: []string{mid.Group}}}
	q = base
	q.Filters = filters
	want, err := report.Summary(ctx, q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want.Total.Sales == 0 || want.Total.Sales == camp.Sales && mids > 1 {
		t.Fatalf("the combined filter should keep some of the campaign's sales: %+v", want.Total)
	}
	pf, pt := report.Previous(from, to)
	prev, err := report.Summary(ctx, q, pf, pt)
	if err != nil {
		t.Fatal(err)
	}
	trend, err := report.Trend(ctx, q, from, to, report.GrainWeek)
	if err != nil {
		t.Fatal(err)
	}

	page := "integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30&grain=week&fd=campaign&fv=" + url.QueryEscape(strings.ToLower(*camp.Name)) +
		"&fd=mid&fv=" + url.QueryEscape(mid.Group) + "&fd=&fv="
	resp, body := e.do("GET", "/reports?"+page, nil)
	if resp.StatusCode != 200 || strings.Contains(body, "report failed") {
		t.Fatalf("summary page: %d\n%s", resp.StatusCode, body)
	}
	text := html.UnescapeString(body)
	cur, old := want.Total.Row(false), prev.Total.Row(false)
	shown := map[string][2]string{ // id: this period, the previous one
		"gross_revenue":           {money(cur.GrossRevenue.String(), "USD"), money(old.GrossRevenue.String(), "USD")},
		"refunds":                 {money(cur.Refunds.String(), "USD"), money(old.Refunds.String(), "USD")},
		"refunds_konnektive_view": {money(cur.RefundsKonnektiveView.String(), "USD"), money(old.RefundsKonnektiveView.String(), "USD")},
		"net_revenue":             {money(cur.NetRevenue.String(), "USD"), money(old.NetRevenue.String(), "USD")},
		"orders":                  {formatInt(cur.Orders), formatInt(old.Orders)},
		"new_customers":           {formatInt(cur.NewCustomers), formatInt(old.NewCustomers)},
		"aov":                     {money(cur.AOV.String(), "USD"), money(old.AOV.String(), "USD")},
		"approval_rate":           {pct(cur.ApprovalRate.String()), pct(old.ApprovalRate.String())},
		"refund_rate":             {pct(cur.RefundRate.String()), pct(old.RefundRate.String())},
		"chargeback_rate":         {pct(cur.ChargebackRate.String()), pct(old.ChargebackRate.String())},
	}
	for id, v := range shown {
		if !strings.Contains(text, `id="`+id+`">`+v[0]+`<`) {
			t.Errorf("%s: the page does not show %s", id, v[0])
		}
		re := regexp.MustCompile(`id="prev_` + id + `"><span class="delta">([^<]*)</span> <span class="was">vs ([^<]*)</span>`)
		m := re.FindStringSubmatch(text)
		if m == nil || m[2] != v[1] {
			t.Errorf("prev_%s: %q, want the previous period's %s", id, m, v[1])
		}
	}
	// The change, exact and signed; lower is better for refunds.
	d := int64(cur.GrossRevenue - old.GrossRevenue)
	delta := money(report.Money(d).String(), "USD")
	if d > 0 {
		delta = "+" + delta
	}
	if !strings.Contains(text, `id="prev_gross_revenue"><span class="delta">`) || !strings.Contains(text, delta) {
		t.Errorf("gross revenue change %s not shown", delta)
	}
	if r := int64(cur.Refunds - old.Refunds); r != 0 {
		class := "good"
		if r > 0 {
			class = "bad"
		}
		if !strings.Contains(text, `class="prev `+class+`" id="prev_refunds"`) {
			t.Errorf("refunds moved by %d cents: want the class %s", r, class)
		}
	}
	// Every point of the trend, and the points add up to the KPIs.
	var gross int64
	for i, p := range trend.Points {
		r := p.Figures.Row(false)
		gross += p.Figures.Gross
		row := regexp.MustCompile(`<tr id="trend-` + itoa(i) + `">(.*?)</tr>`).FindStringSubmatch(text)
		if row == nil {
			t.Errorf("trend point %d (%s) not shown", i, p.Label)
			continue
		}
		for _, v := range []string{p.Label, money(r.GrossRevenue.String(), "USD"), money(r.NetRevenue.String(), "USD"), money(r.Refunds.String(), "USD"),
			formatInt(r.Orders), formatInt(r.NewCustomers)} {
			if !strings.Contains(row[1], ">"+v+"<") {
				t.Errorf("trend point %s: %s not in %s", p.Label, v, row[1])
			}
		}
	}
	if gross != want.Total.Gross || strings.Count(text, `<tr id="trend-`) != len(trend.Points) {
		t.Errorf("trend: %d points shown, %d computed, adding up to %d cents of %d", strings.Count(text, `<tr id="trend-`), len(trend.Points), gross, want.Total.Gross)
	}
	if !strings.Contains(body, `class="chart trend trend-wide"`) || !strings.Contains(body, `class="chart trend trend-narrow"`) {
		t.Error("the trend chart is not drawn in both sizes")
	}
	// The filters: summarised, each in its row with a link that drops it.
	sum := regexp.MustCompile(`<summary id="filters-summary">([^<]*)</summary>`).FindStringSubmatch(text)
	if sum == nil || !strings.Contains(sum[1], "campaign "+strings.ToLower(*camp.Name)) || !strings.Contains(sum[1], "merchant "+mid.Group) {
		t.Errorf("filters summary %q", sum)
	}
	if n := strings.Count(body, `name="fd"`); n != 3 {
		t.Errorf("%d filter rows, want the two chosen and an empty one", n)
	}
	rm := regexp.MustCompile(`<a class="remove" href="([^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(rm) != 2 {
		t.Fatalf("%d remove links", len(rm))
	}
	_, body = e.do("GET", html.UnescapeString(rm[1][1]), nil)
	q.Filters = filters[:1]
	one, err := report.Summary(ctx, q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `id="gross_revenue">`+money(one.Total.Row(false).GrossRevenue.String(), "USD")+`<`) || strings.Count(body, `name="fd"`) != 2 {
		t.Error("removing the merchant filter does not show the campaign's figures")
	}
	// The CSV of the trend is the report's.
	var buf strings.Builder
	if err := report.Write(&buf, "csv", trend); err != nil {
		t.Fatal(err)
	}
	if _, got := e.do("GET", "/reports/csv/trend.csv?"+page, nil); got != buf.String() {
		t.Errorf("trend.csv:\n%.300s\nwant\n%.300s", got, buf.String())
	}
	// A name no merchant account has: the page says which there are.
	_, body = e.do("GET", "/reports?integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30&fd=merchant&fv=Nobody", nil)
	if !strings.Contains(html.UnescapeString(body), "known are") {
		t.Error("an unknown merchant name: the known ones are not listed")
	}
	// Presets: computed from the as-of day.
	for key, want := range map[string]string{"preset-7d": "2026-06-24 2026-06-30", "preset-lastmonth": "2026-05-01 2026-05-31", "preset-ytd": "2026-01-01 2026-06-30"} {
		m := regexp.MustCompile(`href="([^"]*)" id="` + key + `"`).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("%s: no link", key)
			continue
		}
		u, err := url.Parse(html.UnescapeString(m[1]))
		if got := u.Query().Get("from") + " " + u.Query().Get("to"); err != nil || got != want || u.Query().Get("fv") != "Nobody" {
			t.Errorf("%s: %s, want %s and the filters kept", key, m[1], want)
		}
	}
	// From and To only where the range applies; the as-of elsewhere.
	for _, tab := range []string{"ltv", "retention", "chargebacks"} {
		_, body := e.do("GET", "/reports/"+tab+"?"+page, nil)
		if strings.Contains(body, `type="date" name="from"`) || !strings.Contains(body, `type="date" name="asof"`) || !strings.Contains(body, `type="hidden" name="from"`) {
			t.Errorf("%s: the From box shows, or the as-of does not", tab)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSummaryTimings measures the summary page on an existing database
// (KONDUIT_WEB_BENCH_DSN, KONDUIT_WEB_BENCH_ASOF as TestPageTimings): the
// default page, one filter (the rollups), two filters (the transactions),
// longer ranges; cold (nothing cached) and warm. docs/benchmarks.md
// records the results. Without the variable it skips.
func TestSummaryTimings(t *testing.T) {
	b := openBenchServer(t, time.Hour)
	ctx := context.Background()
	st, in, end := b.st, b.in, b.asOf
	loc, _ := time.LoadLocation(in.TimeZone)
	asOf := crm.DateOf(end)
	// The commonest campaign and, within it, merchant account: filters that
	// keep many rows.
	q := report.Query{Store: st, Integration: in.ID, Loc: loc}
	from := crm.DateOf(end.AddDate(0, 0, -29))
	camp, _ := busiest(t, ctx, q, "campaign", from, asOf)
	q.Filters = []report.Filter{{By: "campaign", Values: []string{camp.Group}}}
	mid, _ := busiest(t, ctx, q, "merchant", from, asOf)
	base := url.Values{"integration": {in.Name}, "asof": {asOf.String()}, "to": {asOf.String()}, "from": {from.String()}}.Encode()
	one := "&fd=campaign&fv=" + url.QueryEscape(camp.Group)
	two := one + "&fd=merchant&fv=" + url.QueryEscape(mid.Group)
	y := url.Values{"integration": {in.Name}, "asof": {asOf.String()}, "to": {asOf.String()}, "from": {crm.DateOf(end.AddDate(0, 0, -364)).String()}}.Encode()
	pages := []struct{ name, path string }{
		{"30 days, trend by day", "/reports?" + base},
		{"30 days, one filter (campaign)", "/reports?" + base + one},
		{"30 days, two filters (campaign and merchant)", "/reports?" + base + two},
		{"30 days, two filters, by product", "/reports?" + base + two + "&dim=product"},
		{"365 days, trend by week", "/reports?" + y},
		{"365 days, two filters, trend by week", "/reports?" + y + two},
		{"365 days, two filters, trend by day", "/reports?" + y + two + "&grain=day"},
		{"LTV tab, two filters", "/reports/ltv?" + base + two},
		{"retention tab, two filters", "/reports/retention?" + base + two},
		{"chargebacks tab, two filters", "/reports/chargebacks?" + base + two},
	}
	var w strings.Builder
	fmt.Fprintf(&w, "campaign %s, merchant %s\n\n", camp.Group, mid.Group)
	var timed []timedPage
	for _, p := range pages {
		timed = append(timed, timedPage(p))
	}
	b.time(&w, "cold (computed)", timed)
	t.Log("\n" + w.String())
}

// busiest is the group of the breakdown by with the most sales in from..to
// (q's filters kept), and how many groups there are.
func busiest(t *testing.T, ctx context.Context, q report.Query, by string, from, to crm.Date) (report.Figures, int) {
	t.Helper()
	q.By = by
	res, err := report.Summary(ctx, q, from, to)
	if err != nil || len(res.Groups) == 0 {
		t.Fatalf("by %s: %v", by, err)
	}
	top := res.Groups[0]
	for _, g := range res.Groups {
		if g.Sales > top.Sales {
			top = g
		}
	}
	return top, len(res.Groups)
}
