package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/store"
)

// loadedDB generates a merchant with `konduit synth`, loads it with
// `konduit load` and returns the working directory and the --db value.
func loadedDB(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if r := runCLI(t, dir, nil, "synth", "-o", "files", "--customers", "300", "--as-of", "2025-11-10", "--months", "14", "--timezone", "America/New_York"); r.code != exitOK {
		t.Fatalf("synth: exit %d: %s", r.code, r.stderr)
	}
	db := "sqlite:" + filepath.Join(dir, "k.db")
	files, _ := filepath.Glob(filepath.Join(dir, "files", "*.csv"))
	args := append([]string{"load", "--db", db, "--timezone", "America/New_York", "--name", "old-crm", "--as-of", "2025-11-10"}, files...)
	r := runCLI(t, dir, nil, args...)
	if r.code != exitOK {
		t.Fatalf("load: exit %d: %s", r.code, r.stderr)
	}
	if !regexp.MustCompile(`loaded into integration "old-crm" \(time zone America/New_York\): [1-9]\d* transactions`).MatchString(r.stdout) {
		t.Fatalf("load output: %s", r.stdout)
	}
	return dir, db
}

var moneyRE = regexp.MustCompile(`^-?\d+\.\d\d$`)
var rateRE = regexp.MustCompile(`^\d+\.\d{4}$`)

func TestReportCLISummary(t *testing.T) {
	t.Parallel()
	dir, db := loadedDB(t)
	r := runCLI(t, dir, nil, "report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--format", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	for _, k := range []string{"gross_revenue", "refunds", "refunds_konnektive_view", "net_revenue", "aov"} {
		if s, ok := got[k].(string); !ok || !moneyRE.MatchString(s) {
			t.Errorf("%s = %#v, want a decimal string like \"1234.50\"", k, got[k])
		}
	}
	for _, k := range []string{"approval_rate", "refund_rate", "chargeback_rate", "approval_rate_initial", "approval_rate_rebill", "refund_rate_amount", "chargeback_rate_amount"} {
		if s, ok := got[k].(string); !ok || !rateRE.MatchString(s) {
			t.Errorf("%s = %#v, want a rate like \"0.1234\"", k, got[k])
		}
	}
	for _, k := range []string{"orders", "new_customers", "sales", "declines"} {
		if n, ok := got[k].(float64); !ok || n <= 0 {
			t.Errorf("%s = %#v, want a positive count", k, got[k])
		}
	}
	if got["time_zone"] != "America/New_York" {
		t.Errorf("default display zone %v, want the account's", got["time_zone"])
	}
	// The CSV says the same.
	r = runCLI(t, dir, nil, "report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][0] != "gross_revenue" || recs[1][0] != got["gross_revenue"] {
		t.Fatalf("csv %v (%v), json gross %v", recs, err, got["gross_revenue"])
	}
	// A breakdown puts one object per group under "groups".
	r = runCLI(t, dir, nil, "report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--format", "json", "--by", "campaign", "--tz", "Australia/Sydney")
	var by struct {
		TimeZone string           `json:"time_zone"`
		Groups   []map[string]any `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &by); err != nil || len(by.Groups) < 2 || by.TimeZone != "Australia/Sydney" {
		t.Fatalf("by campaign: %v %s %s", err, r.stdout, r.stderr)
	}
	for _, g := range by.Groups {
		if _, ok := g["group"].(string); !ok || g["gross_revenue"] == nil {
			t.Errorf("group %v", g)
		}
	}
}

func TestReportCLIEveryReport(t *testing.T) {
	t.Parallel()
	dir, db := loadedDB(t)
	for _, args := range [][]string{
		{"reconcile", "--from", "2025-06-01", "--to", "2025-06-30"},
		{"ltv", "--as-of", "2025-11-10"},
		{"ltv", "--as-of", "2025-11-10", "--cohort", "week", "--months", "0,1,2"},
		{"ltv", "--as-of", "2025-11-10", "--cohort", "day", "--days", "0,30", "--by", "affiliate"},
		{"retention", "--by", "campaign"},
		{"chargebacks", "--visa-ratio", "1%", "--visa-count", "1"},
	} {
		for _, f := range []string{"table", "csv", "json"} {
			r := runCLI(t, dir, nil, append(append([]string{"report"}, args...), "--db", db, "--format", f)...)
			if r.code != exitOK || r.stdout == "" {
				t.Errorf("%v %s: exit %d: %s", args, f, r.code, r.stderr)
			}
			if f == "json" && !json.Valid([]byte(r.stdout)) {
				t.Errorf("%v: invalid JSON %s", args, r.stdout)
			}
			// Reading every transaction gives the same report.
			slow := runCLI(t, dir, nil, append(append([]string{"report"}, args...), "--db", db, "--format", f, "--no-rollup")...)
			if slow.code != exitOK || slow.stdout != r.stdout {
				t.Errorf("%v %s: from the rollups\n%s\nfrom the transactions (exit %d)\n%s", args, f, r.stdout, slow.code, slow.stdout)
			}
		}
	}
	r := runCLI(t, dir, nil, "report", "ltv", "--db", db, "--as-of", "2025-11-10", "--format", "json", "--cohort", "week", "--days", "0,30")
	var ltv struct {
		Cohorts []struct {
			Cohort    string `json:"cohort"`
			Customers int    `json:"customers"`
			Cells     []struct {
				Day     *int   `json:"day"`
				Gross   string `json:"gross_ltv"`
				Net     string `json:"net_ltv"`
				Partial bool   `json:"partial"`
			} `json:"cells"`
		} `json:"cohorts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ltv); err != nil || len(ltv.Cohorts) == 0 {
		t.Fatalf("ltv: %v %s", err, r.stdout)
	}
	c := ltv.Cohorts[len(ltv.Cohorts)-1]
	if !regexp.MustCompile(`^\d{4}-W\d\d$`).MatchString(c.Cohort) || c.Customers == 0 || len(c.Cells) != 2 || *c.Cells[1].Day != 30 ||
		!moneyRE.MatchString(c.Cells[0].Gross) || !c.Cells[1].Partial {
		t.Errorf("last weekly cohort %+v", c)
	}
}

func TestReportCLIErrors(t *testing.T) {
	t.Parallel()
	dir, db := loadedDB(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "summary", "--db", db, "--from", "2025-10-01"}, exitUsage, "--from and --to"},
		{[]string{"report", "summary", "--db", db, "--from", "2025-10-31", "--to", "2025-10-01"}, exitUsage, "before"},
		{[]string{"report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--by", "planet"}, exitUsage, "breakdown"},
		{[]string{"report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--format", "xml"}, exitUsage, "--format"},
		{[]string{"report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--tz", "Mars/Olympus"}, exitUsage, "--tz"},
		{[]string{"report", "ltv", "--db", db, "--days", "0,x"}, exitUsage, "--days"},
		{[]string{"report", "ltv", "--db", db, "--cohort", "year"}, exitUsage, "--cohort"},
		{[]string{"report", "retention", "--db", db, "--integration", "nope"}, exitUsage, "not found"},
		{[]string{"report", "retention"}, exitUsage, "no integration is saved"}, // the default database, empty
		{[]string{"report", "retention", "--db", "sqlite:" + filepath.Join(dir, "empty.db")}, exitUsage, "no integration is saved"},
		{[]string{"load", "--db", db, "files/legacy_transactions.csv"}, exitUsage, "--timezone is required"},
	} {
		r := runCLI(t, dir, []string{"KONDUIT_DB="}, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	// A second integration makes --integration necessary.
	files, _ := filepath.Glob(filepath.Join(dir, "files", "*.csv"))
	if r := runCLI(t, dir, nil, append([]string{"load", "--db", db, "--timezone", "UTC", "--name", "other", "--as-of", "2025-11-10"}, files...)...); r.code != exitOK {
		t.Fatalf("second load: %s", r.stderr)
	}
	if r := runCLI(t, dir, nil, "report", "retention", "--db", db); r.code != exitUsage || !strings.Contains(r.stderr, "--integration") {
		t.Errorf("two integrations: exit %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, nil, "report", "retention", "--db", db, "--integration", "other"); r.code != exitOK {
		t.Errorf("--integration other: exit %d %s", r.code, r.stderr)
	}
}

func TestLoadCLIRefusesBrokenFiles(t *testing.T) {
	dir, db := loadedDB(t)
	path := filepath.Join(dir, "files", "legacy_transactions.csv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 3)
	broken := filepath.Join(dir, "broken.csv")
	// A header and a row that lost its columns.
	if err := os.WriteFile(broken, []byte(lines[0]+"\n"+"100001,A,2025-01-01 00:00:00\n"+lines[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, nil, "load", "--db", db, "--timezone", "America/New_York", "--name", "broken", "--as-of", "2025-11-10", broken)
	if r.code != exitDataErrors || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("broken file: exit %d, stderr %s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "load", "--db", db, "--timezone", "America/New_York", "--name", "broken", "--as-of", "2025-11-10", "--force", broken)
	if r.code != exitOK || !strings.Contains(r.stdout, "1 transactions") || !strings.Contains(r.stdout, "1 rows skipped") {
		t.Fatalf("forced: exit %d, stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestReportHelpPointsToMetrics(t *testing.T) {
	for _, sub := range []string{"summary", "reconcile", "ltv", "retention", "chargebacks"} {
		r := runCLI(t, "", nil, "report", sub, "--help")
		if r.code != exitOK || !strings.Contains(r.stdout, "docs/metrics.md") {
			t.Errorf("report %s --help: exit %d, no pointer to docs/metrics.md", sub, r.code)
		}
	}
}

func TestRollupCLI(t *testing.T) {
	t.Parallel()
	dir, db := loadedDB(t)
	// load left the rollups current.
	r := runCLI(t, dir, nil, "rollup", "--db", db)
	if r.code != exitOK || !strings.Contains(r.stdout, `old-crm: rollups up to date: 0 changed customers (0 shards), 0 buckets, 0 chargeback days`) {
		t.Fatalf("rollup after load: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	// A retime rebuilds them in the new zone; the reports still agree with
	// the transactions.
	if r := runCLI(t, dir, nil, "retime", "--db", db, "--timezone", "Australia/Sydney"); r.code != exitOK {
		t.Fatalf("retime: exit %d: %s", r.code, r.stderr)
	}
	args := []string{"report", "ltv", "--db", db, "--as-of", "2025-11-10", "--format", "json"}
	fast, slow := runCLI(t, dir, nil, args...), runCLI(t, dir, nil, append(args, "--no-rollup")...)
	if fast.code != exitOK || fast.stdout != slow.stdout || !strings.Contains(fast.stdout, `"time_zone": "Australia/Sydney"`) {
		t.Fatalf("ltv after retime: rollups %s\ntransactions %s", fast.stdout, slow.stdout)
	}
	if r := runCLI(t, dir, nil, "rollup", "--db", db, "--integration", "nope"); r.code != exitUsage {
		t.Errorf("unknown integration: exit %d, want %d: %s", r.code, exitUsage, r.stderr)
	}
}

// TestInterruptedLoadIsMarked: a load stopped midway (Ctrl-C at an exact
// point, then kill -9) says what it left, and status and reports say the
// figures are partial until a load of the same files completes.
func TestInterruptedLoadIsMarked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := runCLI(t, dir, nil, "synth", "-o", "files", "--customers", "2500", "--as-of", "2025-11-10", "--months", "14", "--timezone", "America/New_York"); r.code != exitOK {
		t.Fatalf("synth: exit %d: %s", r.code, r.stderr)
	}
	db := "sqlite:" + filepath.Join(dir, "k.db")
	files, _ := filepath.Glob(filepath.Join(dir, "files", "*.csv"))
	args := append([]string{"load", "--db", db, "--timezone", "America/New_York", "--name", "old-crm", "--as-of", "2025-11-10"}, files...)
	partial := "did not finish"
	check := func(when string, want bool) {
		t.Helper()
		r := runCLI(t, dir, nil, "status", "--db", db)
		if strings.Contains(r.stdout, "PARTIAL:") != want {
			t.Errorf("%s: status partial mark %v, want %v:\n%s", when, !want, want, r.stdout)
		}
		r = runCLI(t, dir, nil, "report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31")
		if strings.Contains(r.stdout, partial) != want {
			t.Errorf("%s: report warning %v, want %v:\n%s", when, !want, want, r.stdout)
		}
	}
	r := runCLI(t, dir, []string{failpoint.Env + "=load.committed:1:int"}, args...)
	if r.code != exitInterrupted || !regexp.MustCompile(`interrupted; [1-9]\d* of [1-9]\d* rows loaded; run the same load again to finish`).MatchString(r.stderr) ||
		!strings.Contains(r.stderr, "the tables' indexes are built when the load finishes") {
		t.Fatalf("interrupted load: exit %d\n%s", r.code, r.stderr)
	}
	check("after Ctrl-C", true)
	r = runCLI(t, dir, []string{failpoint.Env + "=load.committed:2"}, args...)
	if r.signal != syscall.SIGKILL {
		t.Fatalf("the load was not killed: exit %d\n%s", r.code, r.stderr)
	}
	check("after kill -9", true)
	if r = runCLI(t, dir, nil, args...); r.code != exitOK {
		t.Fatalf("load again: exit %d\n%s", r.code, r.stderr)
	}
	check("after a complete load", false)
	// The first load had dropped the secondary indexes; the loads after
	// it built them again.
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var indexes, deferred int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('transactions_customer', 'report_txn_range', 'customers_email')`).Scan(&indexes); err != nil || indexes != 3 {
		t.Errorf("%d of 3 indexes after the loads (%v)", indexes, err)
	}
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM deferred_indexes`).Scan(&deferred); err != nil || deferred != 0 {
		t.Errorf("%d indexes still deferred (%v)", deferred, err)
	}
}
