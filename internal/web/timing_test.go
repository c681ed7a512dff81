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
	dsn := os.Getenv("KONDUIT_WEB_BENCH_DSN")
	if dsn == "" {
		t.Skip("set KONDUIT_WEB_BENCH_DSN to a database to measure")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := st.Integrations(ctx)
	if err != nil || len(all) == 0 {
		t.Fatalf("no integration in %s: %v", dsn, err)
	}
	in := all[0]
	counts, err := st.Counts(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin")
	if err := SetAdminPassword(ctx, admin, testAdminPassword); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Store: st, DSN: dsn, AdminFile: admin, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(ts.URL+"/login", url.Values{"password": {testAdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	asOf := os.Getenv("KONDUIT_WEB_BENCH_ASOF")
	if asOf == "" {
		asOf = time.Now().Format("2006-01-02")
	}
	end, err := time.Parse("2006-01-02", asOf)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"integration": {in.Name}, "asof": {asOf}, "to": {asOf}, "from": {end.AddDate(0, 0, -29).Format("2006-01-02")}}.Encode()
	pages := []string{
		"/integrations", "/import",
		"/reports?" + q, "/reports?" + q + "&dim=campaign", "/reports/ltv?" + q, "/reports/retention?" + q, "/reports/chargebacks?" + q,
		"/reports/csv/summary.csv?" + q, "/reports/csv/ltv.csv?" + q,
	}
	get := func(p string) time.Duration {
		t0 := time.Now()
		resp, err := client.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		return time.Since(t0)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "database %s: %d transactions, %d customers, %d orders, %d purchases\n\n", in.Name, counts[store.Transactions], counts[store.Customers], counts[store.Orders], counts[store.Purchases])
	fmt.Fprintf(&b, "| page | first answer | median of 5 after |\n| --- | ---: | ---: |\n")
	for _, p := range pages {
		first := get(p)
		var d []time.Duration
		for range 5 {
			d = append(d, get(p))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		name, _, _ := strings.Cut(p, "?")
		if strings.Contains(p, "dim=") {
			name += " (by campaign)"
		}
		fmt.Fprintf(&b, "| `%s` | %d ms | %d ms |\n", name, first.Milliseconds(), d[2].Milliseconds())
	}
	t.Log("\n" + b.String())
}
