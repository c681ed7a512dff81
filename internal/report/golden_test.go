package report_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden pins every report's three output formats on a small generated
// merchant: a change in a figure or a format shows up in review.
func TestGolden(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"), 120)
	q := report.Query{Store: w.st, Integration: w.legacyID, Loc: mustLoc(t, "Australia/Sydney")}
	from, to := crm.Date{Year: 2025, Month: 6, Day: 1}, crm.Date{Year: 2025, Month: 9, Day: 30}
	run := map[string]func() (report.Result, error){
		"summary": func() (report.Result, error) { return report.Summary(ctx, q, from, to) },
		"summary_by_campaign": func() (report.Result, error) {
			q := q
			q.By = "campaign"
			return report.Summary(ctx, q, from, to)
		},
		"reconcile":   func() (report.Result, error) { return report.Reconcile(ctx, q, from, to) },
		"trend_month": func() (report.Result, error) { return report.Trend(ctx, q, from, to, report.GrainMonth) },
		"summary_two_filters": func() (report.Result, error) {
			q := q
			q.Filters = []report.Filter{{By: "campaign", Values: []string{"1001"}}, {By: "merchant", Values: []string{"11", "13"}}}
			return report.Summary(ctx, q, from, to)
		},
		"ltv_week_days": func() (report.Result, error) {
			return report.LTV(ctx, q, report.LTVOptions{Cohort: "week", Days: []int{0, 7, 30, 90}, AsOf: w.asOf})
		},
		"ltv_month_months": func() (report.Result, error) {
			return report.LTV(ctx, q, report.LTVOptions{Cohort: "month", Months: []int{0, 1, 3, 6}, AsOf: w.asOf})
		},
		"retention": func() (report.Result, error) {
			return report.Retention(ctx, q, report.RetentionOptions{AsOf: w.asOf, From: from})
		},
		"chargebacks": func() (report.Result, error) {
			return report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
		},
	}
	for name, f := range run {
		r, err := f()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, format := range report.Formats {
			b.WriteString("== " + format + "\n")
			if err := report.Write(&b, format, r); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join("testdata", "golden", name+".txt")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from %s (run go test -run TestGolden -update and review the diff)", name, path)
		}
	}
}
