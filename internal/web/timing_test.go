package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// TestPageTimings measures every page on an existing database: set
// KONDUIT_WEB_BENCH_DSN (and KONDUIT_WEB_BENCH_ASOF, the data's last day) and
// run
//
//	go test -run TestPageTimings -v ./internal/web
//
// It prints, per page, the first answer (nothing cached) and the median of
// five more. docs/benchmarks.md (Dashboard) records the results. Without the
// variable there is nothing to measure and the test skips.
func TestPageTimings(t *testing.T) {
	b := openBenchServer(t, 0)
	counts, err := b.st.Counts(context.Background(), b.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	q := b.query(29)
	var pages []timedPage
	for _, p := range []string{
		"/integrations", "/import",
		"/reports?" + q, "/reports?" + q + "&dim=campaign", "/reports/ltv?" + q, "/reports/retention?" + q, "/reports/chargebacks?" + q,
		"/reports/csv/summary.csv?" + q, "/reports/csv/ltv.csv?" + q,
	} {
		name, _, _ := strings.Cut(p, "?")
		if strings.Contains(p, "dim=") {
			name += " (by campaign)"
		}
		pages = append(pages, timedPage{"`" + name + "`", p})
	}
	var w strings.Builder
	fmt.Fprintf(&w, "database %s: %d transactions, %d customers, %d orders, %d purchases\n\n", b.in.Name, counts[store.Transactions], counts[store.Customers], counts[store.Orders], counts[store.Purchases])
	b.time(&w, "first answer", pages)
	t.Log("\n" + w.String())
}

// benchServer is the dashboard over an existing database, for the timing
// tests: KONDUIT_WEB_BENCH_DSN (they skip without it), its first
// integration, a logged-in client, and the as-of day
// (KONDUIT_WEB_BENCH_ASOF, else today).
type benchServer struct {
	t      *testing.T
	st     *store.Store
	in     store.Integration
	asOf   time.Time
	client *http.Client
	url    string
}

// openBenchServer starts it; reportWait is Options.ReportWait.
func openBenchServer(t *testing.T, reportWait time.Duration) *benchServer {
	t.Helper()
	dsn := os.Getenv("KONDUIT_WEB_BENCH_DSN")
	if dsn == "" {
		t.Skip("set KONDUIT_WEB_BENCH_DSN to a database to measure")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	all, err := st.Integrations(ctx)
	if err != nil || len(all) == 0 {
		t.Fatalf("no integration in %s: %v", dsn, err)
	}
	asOf := os.Getenv("KONDUIT_WEB_BENCH_ASOF")
	if asOf == "" {
		asOf = time.Now().Format("2006-01-02")
	}
	end, err := time.Parse("2006-01-02", asOf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin")
	if err := SetAdminPassword(ctx, admin, testAdminPassword); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Store: st, DSN: dsn, AdminFile: admin, TempDir: dir, ReportWait: reportWait})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(ts.URL+"/login", url.Values{"password": {testAdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return &benchServer{t: t, st: st, in: all[0], asOf: end, client: client, url: ts.URL}
}

// query is the filters of the days days before the as-of day to it.
func (b *benchServer) query(days int) string {
	return url.Values{"integration": {b.in.Name}, "asof": {b.asOf.Format("2006-01-02")}, "to": {b.asOf.Format("2006-01-02")},
		"from": {b.asOf.AddDate(0, 0, -days).Format("2006-01-02")}}.Encode()
}

// get times one page; an answer other than 200, or a failed report, fails
// the test.
func (b *benchServer) get(p string) time.Duration {
	t0 := time.Now()
	resp, err := b.client.Get(b.url + p)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(body), "report failed") {
		b.t.Fatalf("GET %s: %d", p, resp.StatusCode)
	}
	return time.Since(t0)
}

// timedPage is a row of a timing table.
type timedPage struct{ name, path string }

// time writes a markdown table: each page's first answer, then the median
// of five more.
func (b *benchServer) time(w io.Writer, first string, pages []timedPage) {
	fmt.Fprintf(w, "| page | %s | median of 5 after |\n| --- | ---: | ---: |\n", first)
	for _, p := range pages {
		cold := b.get(p.path)
		var d []time.Duration
		for range 5 {
			d = append(d, b.get(p.path))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		fmt.Fprintf(w, "| %s | %d ms | %d ms |\n", p.name, cold.Milliseconds(), d[2].Milliseconds())
	}
}
