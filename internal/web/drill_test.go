package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/store"
)

var (
	reRow       = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)
	reTR        = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	reTD        = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	reTag       = regexp.MustCompile(`<[^>]*>`)
	reNext      = regexp.MustCompile(`<a href="([^"]*)" id="next">`)
	reCellCount = regexp.MustCompile(`id="cell-count">([0-9,]+)<`)
	reCellSum   = regexp.MustCompile(`id="cell-sum">([^<]*)<`)
	reLink      = regexp.MustCompile(`href="(/reports/drill\?[^"]*)"`)
	reCustomer  = regexp.MustCompile(`href="(/customers/[^"]*)"`)
)

// pageRows are the cells of a drill page's table, as text.
func pageRows(body string) [][]string {
	m := reRow.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out [][]string
	for _, tr := range reTR.FindAllStringSubmatch(m[1], -1) {
		var row []string
		for _, td := range reTD.FindAllStringSubmatch(tr[1], -1) {
			row = append(row, html.UnescapeString(reTag.ReplaceAllString(td[1], "")))
		}
		out = append(out, row)
	}
	return out
}

// cents reads a shown amount ("-$1,234.50", "€12.00") as cents.
func centsOf(t *testing.T, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	if neg {
		n = -n
	}
	return n
}

// walkDrill follows a drill page's Next links: every row shown, and the
// cell's count and sum as the page states them.
func walkDrill(t *testing.T, e *env, path string) (rows [][]string, count int64, sum string) {
	t.Helper()
	for pages := 0; path != ""; pages++ {
		resp, body := e.do("GET", path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %.300s", path, resp.StatusCode, body)
		}
		if cardnum.MaskText(body) != body {
			t.Fatalf("%s shows a card number", path)
		}
		if pages == 0 {
			m := reCellCount.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("%s: no cell count", path)
			}
			count, _ = strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
			if m := reCellSum.FindStringSubmatch(body); m != nil {
				sum = html.UnescapeString(m[1])
			}
		}
		got := pageRows(body)
		if len(got) > maxDrillPageSize {
			t.Fatalf("a page of %d rows", len(got))
		}
		rows = append(rows, got...)
		path = ""
		if m := reNext.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return rows, count, sum
}

// TestDrillPagesAddUp: from the report pages' own links, each drill's
// pages list exactly the cell's rows (count and money), the CSV holds the
// same rows in the same order, and a read-only viewer may see all of it.
func TestDrillPagesAddUp(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	q := "integration=acme&from=2026-03-01&to=2026-06-30&asof=2026-06-30"

	// The summary's KPI links and table links (plain, broken down by
	// campaign, and with two filters combined), and cells of each other
	// report.
	var camp, mid string
	if err := e.st.DB().QueryRowContext(ctx, e.st.Rebind("SELECT campaign_id, merchant_id FROM transactions WHERE integration_id = ? AND currency = 'USD' GROUP BY campaign_id, merchant_id ORDER BY COUNT(*) DESC LIMIT 1"), in.ID).Scan(&camp, &mid); err != nil {
		t.Fatal(err)
	}
	filtered := "&fd=campaign&fv=" + url.QueryEscape(camp) + "&fd=merchant&fv=" + url.QueryEscape(mid)
	var links []string
	for _, extra := range []string{"", "&dim=campaign", filtered} {
		_, body := e.do("GET", "/reports?"+q+extra, nil)
		for _, m := range reLink.FindAllStringSubmatch(body, -1) {
			links = append(links, html.UnescapeString(m[1]))
		}
		if !strings.Contains(body, `figure=gross_revenue" id="gross_revenue">`) {
			t.Errorf("%s: the gross revenue KPI is not a link to its rows", extra)
		}
	}
	for _, tab := range []string{"ltv", "retention", "chargebacks", "ltv?dim=product&", "retention?" + filtered[1:] + "&"} {
		if !strings.Contains(tab, "?") {
			tab += "?"
		}
		_, body := e.do("GET", "/reports/"+tab+q, nil)
		ms := reLink.FindAllStringSubmatch(body, -1)
		if len(ms) == 0 {
			t.Fatalf("%s: no cell links to a drill page", tab)
		}
		// the first, a middle and the last cell
		for _, i := range []int{0, len(ms) / 2, len(ms) - 1} {
			links = append(links, html.UnescapeString(ms[i][1]))
		}
	}
	if len(links) < 20 {
		t.Fatalf("only %d drill links", len(links))
	}
	walked, paged := 0, false
	seen := map[string]bool{}
	for _, link := range links {
		if seen[link] {
			continue
		}
		seen[link] = true
		if walked%3 == 0 {
			link += "&size=10" // pages of 10 rows
		}
		rows, count, sum := walkDrill(t, e, link)
		walked++
		paged = paged || (len(rows) > 10 && strings.HasSuffix(link, "&size=10"))
		if int64(len(rows)) != count {
			t.Errorf("%s: %d rows, the cell says %d", link, len(rows), count)
		}
		u, _ := url.Parse(link)
		kind := drillKindOf(u.Query())
		amountCol := indexOf(report.DrillHeader(kind), "amount")
		if sum != "" {
			var got int64
			for _, r := range rows {
				got += centsOf(t, r[amountCol])
			}
			if got != centsOf(t, sum) {
				t.Errorf("%s: the rows add up to %d cents, the cell is %s", link, got, sum)
			}
		}
		// The CSV: the same rows, in the same order, plain values.
		resp, csvBody := e.do("GET", strings.Replace(link, "/reports/drill?", "/reports/drill.csv?", 1), nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("csv %s: %d", link, resp.StatusCode)
		}
		if cardnum.MaskText(csvBody) != csvBody {
			t.Fatalf("csv %s holds a card number", link)
		}
		recs, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil || len(recs) != len(rows)+1 {
			t.Fatalf("csv %s: %d records for %d rows (%v)", link, len(recs), len(rows), err)
		}
		idCol := 0
		if kind == report.RowTransactions {
			idCol = indexOf(report.DrillHeader(kind), "transaction")
		}
		if kind == report.RowSubscriptions {
			idCol = indexOf(report.DrillHeader(kind), "subscription")
		}
		var csvCents int64
		for i, r := range recs[1:] {
			if r[idCol] != rows[i][idCol] {
				t.Fatalf("csv %s row %d: %q, the page has %q", link, i, r[idCol], rows[i][idCol])
			}
			if amountCol >= 0 {
				csvCents += centsOf(t, r[amountCol])
			}
		}
		if sum != "" && csvCents != centsOf(t, sum) {
			t.Errorf("csv %s: adds up to %d cents, the cell is %s", link, csvCents, sum)
		}
	}
	if !paged {
		t.Error("no drill ran to a second page: paging was not tried")
	}
	t.Logf("%d cells walked", walked)

	// The gross revenue cell agrees with the report itself.
	loc, _ := time.LoadLocation("America/New_York")
	want, err := report.Summary(ctx, report.Query{Store: e.st, Integration: in.ID, Loc: loc, Currency: "USD"}, crm.Date{Year: 2026, Month: 3, Day: 1}, crm.Date{Year: 2026, Month: 6, Day: 30})
	if err != nil {
		t.Fatal(err)
	}
	rows, count, sum := walkDrill(t, e, "/reports/drill?"+q+"&cell=summary&figure=gross_revenue")
	if count != want.Total.Sales || centsOf(t, sum) != want.Total.Gross || int64(len(rows)) != count {
		t.Errorf("gross revenue drill: %d rows, cell %d %s; the report: %d sales, %d cents", len(rows), count, sum, want.Total.Sales, want.Total.Gross)
	}

	// A viewer may read drill pages, their CSV and customer pages.
	if err := SetViewer(ctx, e.srv.viewersFile(), "accountant", testViewerPassword); err != nil {
		t.Fatal(err)
	}
	viewer := *e
	jar, _ := cookiejar.New(nil)
	viewer.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	if resp, _ := viewer.do("POST", "/login", url.Values{"user": {"accountant"}, "password": {testViewerPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("viewer login: %d", resp.StatusCode)
	}
	_, body := viewer.do("GET", "/reports/drill?"+q+"&cell=summary&figure=net_revenue", nil)
	cust := reCustomer.FindStringSubmatch(body)
	if cust == nil {
		t.Fatal("a drill's rows do not link to their customers")
	}
	for _, p := range []string{"/reports/drill?" + q + "&cell=summary&figure=net_revenue", "/reports/drill.csv?" + q + "&cell=summary&figure=refunds", html.UnescapeString(cust[1])} {
		if resp, body := viewer.do("GET", p, nil); resp.StatusCode != 200 {
			t.Errorf("viewer GET %s: %d %.200s", p, resp.StatusCode, body)
		}
	}
	for _, bad := range []string{"&cell=ltv&figure=gross&cohort_name=nope&n=0", "&cell=summary&figure=gross_revenue&group=x", "&cell=summary&figure=aov", "&cell=retention&figure=eligible&cycle=0"} {
		if resp, _ := viewer.do("GET", "/reports/drill?"+q+bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a bad cell %s: %d", bad, resp.StatusCode)
		}
	}
}

func drillKindOf(q url.Values) string {
	c := report.DrillCell{Report: q.Get("cell"), Figure: q.Get("figure")}
	return c.Kind()
}

func indexOf(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// TestCustomerPage: a customer's timeline in the display zone, money in its
// currency, and never a card number: a full one planted in the store's
// card field and in a note shows as its last four at most, on the page and
// in the drill CSV.
func TestCustomerPage(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	var cust, txn string
	if err := e.st.DB().QueryRowContext(ctx, e.st.Rebind("SELECT customer_id, id FROM transactions WHERE integration_id = ? AND "+crm.SaleSQL("")+
		" AND currency = 'USD' ORDER BY created_utc DESC, id LIMIT 1"), in.ID).Scan(&cust, &txn); err != nil {
		t.Fatal(err)
	}
	card := testCard()
	if _, err := e.st.DB().ExecContext(ctx, e.st.Rebind("UPDATE transactions SET card_last4 = ?, chargeback_reason = ? WHERE integration_id = ? AND id = ?"),
		card, "customer disputes "+card[:4]+" "+card[4:8]+" "+card[8:12]+" "+card[12:], in.ID, txn); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.DB().ExecContext(ctx, e.st.Rebind("UPDATE transactions SET chargedback = 1, chargeback_cents = 100, chargeback_date = '2026-06-29' WHERE integration_id = ? AND id = ?"), in.ID, txn); err != nil {
		t.Fatal(err)
	}
	for _, tz := range []string{"America/New_York", "Asia/Tokyo"} {
		resp, body := e.do("GET", "/customers/"+url.PathEscape(cust)+"?integration=acme&tz="+tz, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("customer page: %d %.300s", resp.StatusCode, body)
		}
		if strings.Contains(body, card) || cardnum.MaskText(body) != body || strings.Contains(body, card[:6]) {
			t.Fatalf("the customer page shows a card number")
		}
		if !strings.Contains(body, "…"+card[len(card)-4:]) {
			t.Error("the card's last four are not shown")
		}
		for _, want := range []string{"Timeline (" + tz + ")", `class="ev-chargeback"`, `class="ev-sale"`, "$"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the customer page lacks %q", tz, want)
			}
		}
	}
	// the sale's instant in both zones
	var at int64
	e.st.DB().QueryRowContext(ctx, e.st.Rebind("SELECT created_utc FROM transactions WHERE integration_id = ? AND id = ?"), in.ID, txn).Scan(&at)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if _, body := e.do("GET", "/customers/"+url.PathEscape(cust)+"?integration=acme&tz=Asia/Tokyo", nil); !strings.Contains(body, time.Unix(at, 0).In(tokyo).Format("2006-01-02 15:04:05")) {
		t.Error("the timeline is not in the display zone")
	}
	if resp, _ := e.do("GET", "/customers/no-such-customer?integration=acme", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown customer: %d", resp.StatusCode)
	}
	// The drill CSV of the chargebacks holds the planted card as its last four only.
	resp, body := e.do("GET", "/reports/drill.csv?integration=acme&from=2026-06-01&to=2026-06-30&asof=2026-06-30&currency=USD&cell=summary&figure=chargebacks", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, txn) {
		t.Fatalf("chargebacks csv: %d, the planted chargeback listed %v", resp.StatusCode, strings.Contains(body, txn))
	}
	if strings.Contains(body, card) || cardnum.MaskText(body) != body {
		t.Fatal("the drill CSV holds a card number")
	}
	if _, body := e.do("GET", "/reports/drill?integration=acme&from=2026-06-01&to=2026-06-30&asof=2026-06-30&currency=USD&cell=summary&figure=chargebacks", nil); cardnum.MaskText(body) != body || !strings.Contains(body, txn) {
		t.Fatal("the drill page holds a card number, or not the chargeback")
	}
}

// TestDrillTimings measures the drill and customer pages on an existing
// database, as TestPageTimings does the report pages: set
// KONDUIT_WEB_BENCH_DSN (and KONDUIT_WEB_BENCH_ASOF) and run
//
//	go test -run TestDrillTimings -v ./internal/web
//
// Each page's first answer (its report not yet cached) and the median of
// five more. Without the variable it skips.
func TestDrillTimings(t *testing.T) {
	b := openBenchServer(t, 0)
	ctx := context.Background()
	st, in, end := b.st, b.in, b.asOf
	var cust, mid, prod string
	st.DB().QueryRowContext(ctx, st.Rebind("SELECT product_id FROM transactions WHERE integration_id = ? GROUP BY product_id ORDER BY COUNT(*) DESC LIMIT 1"), in.ID).Scan(&prod)
	st.DB().QueryRowContext(ctx, st.Rebind("SELECT customer_id FROM transactions WHERE integration_id = ? ORDER BY created_utc DESC LIMIT 1"), in.ID).Scan(&cust)
	st.DB().QueryRowContext(ctx, st.Rebind("SELECT merchant_id FROM transactions WHERE integration_id = ? AND chargedback = 1 ORDER BY chargeback_date DESC LIMIT 1"), in.ID).Scan(&mid)
	q := b.query(29)
	cohort := end.AddDate(0, -3, 0).Format("2006-01")
	ym := end.AddDate(0, -1, 0).Format("2006-01")
	pages := []string{
		"/reports/drill?" + q + "&cell=summary&figure=gross_revenue",
		"/reports/drill?" + q + "&cell=summary&figure=gross_revenue&page=5",
		"/reports/drill?" + q + "&cell=summary&figure=net_revenue",
		"/reports/drill?" + q + "&cell=summary&figure=refunds",
		"/reports/drill?" + q + "&cell=summary&figure=orders",
		"/reports/drill?" + q + "&cell=summary&figure=new_customers",
		"/reports/drill?" + q + "&cell=ltv&figure=net&cohort_name=" + cohort + "&n=30",
		"/reports/drill?" + q + "&cell=retention&figure=eligible_approvals&group=" + url.QueryEscape(prod) + "&cycle=2",
		"/reports/drill?" + q + "&cell=chargebacks&figure=chargebacks&merchant=" + url.QueryEscape(mid) + "&ym=" + ym + "&brand=all+cards",
		"/reports/drill?" + q + "&cell=chargebacks&figure=sales&merchant=" + url.QueryEscape(mid) + "&ym=" + ym + "&brand=Visa",
		"/customers/" + url.PathEscape(cust) + "?integration=" + url.QueryEscape(in.Name),
		"/reports/drill.csv?" + q + "&cell=summary&figure=gross_revenue",
	}
	var timed []timedPage
	for _, p := range pages {
		name := p
		if i := strings.Index(p, "cell="); i >= 0 {
			name = p[:strings.Index(p, "?")] + " " + p[i:]
		} else if i := strings.Index(p, "?"); i >= 0 {
			name = p[:i]
		}
		timed = append(timed, timedPage{"`" + name + "`", p})
	}
	counts, _ := st.Counts(ctx, in.ID)
	var w strings.Builder
	fmt.Fprintf(&w, "database %s: %d transactions, %d customers\n\n", in.Name, counts[store.Transactions], counts[store.Customers])
	b.time(&w, "first answer", timed)
	t.Log("\n" + w.String())
}

// TestDrillColdReport: a drill whose report is not cached answers at once
// with its rows (the cell's figure comes once the report is computed, in
// the background).
func TestDrillColdReport(t *testing.T) {
	e := syncedEnv(t)
	e.srv.opts.ReportWait = -1 // never wait
	path := "/reports/drill?integration=acme&from=2026-03-01&to=2026-06-30&asof=2026-06-30&cohort=week&cell=ltv&figure=gross&cohort_name=2026-W15&n=30"
	deadline := time.Now().Add(time.Minute)
	for {
		resp, body := e.do("GET", path, nil)
		if resp.StatusCode != 200 || len(pageRows(body)) == 0 {
			t.Fatalf("cold drill: %d, %d rows", resp.StatusCode, len(pageRows(body)))
		}
		if strings.Contains(body, `id="cell-count"`) {
			return
		}
		if !strings.Contains(body, `id="cell-computing"`) || time.Now().After(deadline) {
			t.Fatal("neither the cell's figure nor that it is being computed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
