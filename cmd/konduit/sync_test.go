package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
	ksync "github.com/konduit/konduit/internal/sync"
	"github.com/konduit/konduit/internal/synth"
)

const (
	cliLogin    = "konduit_api"
	cliPassword = "synthetic-Secr3t-pw"
	cliZone     = "America/New_York"
)

// startCLIFake serves a generated merchant of n customers over the last two
// months, on 127.0.0.1.
func startCLIFake(t *testing.T, n int, opts fake.Options) (url string, srv *fake.Server) {
	t.Helper()
	loc, err := time.LoadLocation(cliZone)
	if err != nil {
		t.Fatal(err)
	}
	opts.LoginID, opts.Location = cliLogin, loc
	if opts.Password == "" {
		opts.Password = cliPassword
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err = fake.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = fake.Generate(context.Background(), srv, synth.Options{Customers: n, Seed: 7, AsOf: crm.DateOf(time.Now().In(loc)), Months: 2, TimeZone: loc})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL, srv
}

func fromDay() string { return time.Now().AddDate(0, -3, 0).Format("2006-01-02") }

func noSecret(t *testing.T, r cliResult, secret string) {
	t.Helper()
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("the password appears in the output:\n%s\n%s", r.stdout, r.stderr)
	}
}

func TestConnectRefusesAmpersand(t *testing.T) {
	dir := t.TempDir()
	pw := "abc&def-synthetic"
	r := runCLI(t, dir, []string{"KONNEKTIVE_PASSWORD=" + pw}, "connect", "konnektive", "--db", "sqlite:k.db",
		"--login-id", cliLogin, "--timezone", cliZone, "--api-url", "http://127.0.0.1:1", "--no-check")
	if r.code != exitUsage || !strings.Contains(r.stderr, `"&"`) || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	noSecret(t, r, pw)
	if _, err := os.Stat(filepath.Join(dir, "k.db")); err == nil {
		t.Error("a refused connect created the database")
	}
}

func TestConnectTurnsRefusalsIntoNextSteps(t *testing.T) {
	tests := []struct {
		name     string
		opts     fake.Options
		password string
		hint     string
	}{
		{"wrong password", fake.Options{}, "not-the-password", "check the API username (loginId) and password"},
		{"ip allow-list", fake.Options{AllowIPs: []string{"192.0.2.1"}}, cliPassword, "add 127.0.0.1 to the API user's IP allow-list"},
		{"permission", fake.Options{Denied: []string{"transactions/query", "purchase/query"}}, cliPassword, `"Purchase Query", "Transaction Query"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := startCLIFake(t, 5, tt.opts)
			dir := t.TempDir()
			r := runCLI(t, dir, []string{"KONNEKTIVE_PASSWORD=" + tt.password}, "connect", "konnektive", "--db", "sqlite:k.db",
				"--login-id", cliLogin, "--timezone", cliZone, "--api-url", url)
			if r.code != exitRemote || !strings.Contains(r.stderr, tt.hint) {
				t.Fatalf("exit %d, want %d with hint %q:\n%s", r.code, exitRemote, tt.hint, r.stderr)
			}
			noSecret(t, r, tt.password)
			if _, err := os.Stat(filepath.Join(dir, "k.db")); err == nil {
				t.Error("a refused connect saved the integration")
			}
		})
	}
}

func TestConnectSyncStatusRetime(t *testing.T) {
	url, srv := startCLIFake(t, 60, fake.Options{})
	dir := t.TempDir()
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword, "KONDUIT_SECRET_KEY="}
	r := runCLI(t, dir, env, "connect", "konnektive", "--db", "sqlite:k.db", "--name", "acme", "--login-id", cliLogin,
		"--account-name", "Acme Supplements", "--account-username", "owner", "--timezone", cliZone, "--api-url", url, "--from", fromDay(), "--every", "6h")
	if r.code != 0 || !strings.Contains(r.stdout, "saved integration acme") || !strings.Contains(r.stdout, "next: konduit sync --integration acme") {
		t.Fatalf("connect: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noSecret(t, r, cliPassword)
	st, err := os.Stat(filepath.Join(dir, "k.db.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "k.db"))
	if strings.Contains(string(raw), cliPassword) {
		t.Fatal("the password is stored in clear")
	}

	// The saved, encrypted password is used: no environment variable now.
	r = runCLI(t, dir, []string{"KONDUIT_SECRET_KEY="}, "sync", "--db", "sqlite:k.db", "--rate", "0")
	if r.code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Error("a progress bar was drawn on a non-terminal stderr")
	}
	for _, want := range []string{"synced acme", "transactions", "pages", "DST:", "retries 0", "backfill of"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sync summary lacks %q:\n%s", want, r.stdout)
		}
	}
	c, o, p, x := srv.Counts()
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Integration(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	counts, err := s.Counts(context.Background(), in.ID)
	s.Close()
	if err != nil || counts[store.Customers] != int64(c) || counts[store.Orders] != int64(o) || counts[store.Purchases] != int64(p) || counts[store.Transactions] != int64(x) {
		t.Fatalf("stored %v, the fake has %d %d %d %d", counts, c, o, p, x)
	}

	r = runCLI(t, dir, nil, "status", "--db", "sqlite:k.db")
	for _, want := range []string{"acme (konnektive)", "Acme Supplements", "password saved, encrypted", "time zone:  America/New_York", "last sync:", " ok ", "up to date from"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q (exit %d):\n%s%s", want, r.code, r.stdout, r.stderr)
		}
	}

	r = runCLI(t, dir, nil, "retime", "--db", "sqlite:k.db", "--timezone", "America/Chicago")
	if r.code != 0 || !strings.Contains(r.stdout, "America/New_York -> America/Chicago") {
		t.Fatalf("retime: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "status", "--db", "sqlite:k.db")
	if !strings.Contains(r.stdout, "time zone:  America/Chicago") {
		t.Errorf("status after retime:\n%s", r.stdout)
	}
	r = runCLI(t, dir, nil, "retime", "--db", "sqlite:k.db", "--timezone", "Mars/Olympus")
	if r.code != exitUsage {
		t.Errorf("retime to an unknown zone: exit %d", r.code)
	}
}

func TestSyncAdhocAndErrors(t *testing.T) {
	url, srv := startCLIFake(t, 30, fake.Options{})
	dir := t.TempDir()
	args := []string{"sync", "--db", "sqlite:k.db", "--api-url", url, "--login-id", cliLogin, "--timezone", cliZone, "--from", fromDay(), "--rate", "0"}
	r := runCLI(t, dir, nil, args...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "KONNEKTIVE_PASSWORD") {
		t.Fatalf("without a password: exit %d\n%s", r.code, r.stderr)
	}
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword}
	for i := 0; i < 2; i++ {
		r = runCLI(t, dir, env, args...)
		if r.code != 0 {
			t.Fatalf("ad hoc sync %d: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
	}
	_, _, _, x := srv.Counts()
	r = runCLI(t, dir, nil, "status", "--db", "sqlite:k.db")
	if !strings.Contains(r.stdout, "adhoc (konnektive)") || !strings.Contains(r.stdout, "no password saved") || !strings.Contains(r.stdout, " transactions") {
		t.Errorf("status:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, strconv.Itoa(x)+" transactions") {
		t.Errorf("status does not show the fake's %d transactions:\n%s", x, r.stdout)
	}
	// Another zone for the same ad hoc integration is refused with the way out.
	r = runCLI(t, dir, env, "sync", "--db", "sqlite:k.db", "--api-url", url, "--login-id", cliLogin, "--timezone", "UTC", "--from", fromDay())
	if r.code != exitUsage || !strings.Contains(r.stderr, "konduit retime") {
		t.Errorf("zone change: exit %d\n%s", r.code, r.stderr)
	}
	// A wrong password is a final refusal (exit 3), recorded for status.
	r = runCLI(t, dir, []string{"KONNEKTIVE_PASSWORD=wrong-synthetic"}, args...)
	if r.code != exitRemote || !strings.Contains(r.stderr, "hint:") {
		t.Errorf("wrong password: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "status", "--db", "sqlite:k.db")
	if !strings.Contains(r.stdout, "failed") || !strings.Contains(r.stdout, "error:") {
		t.Errorf("status after a failed sync:\n%s", r.stdout)
	}
	r = runCLI(t, dir, nil, "sync", "--db", "mysql://x")
	if r.code != exitUsage {
		t.Errorf("bad --db: exit %d", r.code)
	}
}

// TestSyncKill9Resume kills the real binary with SIGKILL in the middle of a
// sync, several times, and resumes: the database ends equal to the fake, and
// every run that died is shown as interrupted, none as running. The kills
// land at exact points (a failpoint: the process kills itself after its n-th
// committed page), so the outcome does not depend on timing.
func TestSyncKill9Resume(t *testing.T) {
	url, srv := startCLIFake(t, 150, fake.Options{})
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	args := []string{"sync", "--db", "sqlite:" + db, "--api-url", url, "--login-id", cliLogin, "--timezone", cliZone, "--from", fromDay(), "--rate", "0", "--page-size", "9"}
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword}
	kills := []int{1, 7, 25}
	for _, page := range kills {
		r := runCLI(t, dir, append(env, fmt.Sprintf("%s=sync.committed:%d", failpoint.Env, page)), args...)
		if r.signal != syscall.SIGKILL {
			t.Fatalf("failpoint at page %d: the sync was not killed (exit %d)\n%s%s", page, r.code, r.stdout, r.stderr)
		}
	}
	r := runCLI(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c, o, p, x := srv.Counts()
	s, err := store.Open(context.Background(), "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, _ := s.Integration(context.Background(), "adhoc")
	counts, _ := s.Counts(context.Background(), in.ID)
	if counts[store.Customers] != int64(c) || counts[store.Orders] != int64(o) || counts[store.Purchases] != int64(p) || counts[store.Transactions] != int64(x) {
		t.Fatalf("after %d kills and a resume: stored %v, the fake has %d %d %d %d", len(kills), counts, c, o, p, x)
	}
	runs, _ := s.Runs(context.Background(), in.ID, 10)
	var statuses []string
	for _, r := range runs {
		statuses = append(statuses, r.Status)
	}
	// newest first: the resume, then the three killed runs
	want := []string{store.RunOK, store.RunInterrupted, store.RunInterrupted, store.RunInterrupted}
	if !slices.Equal(statuses, want) {
		t.Errorf("run statuses %v, want %v", statuses, want)
	}
}

func TestProgressLine(t *testing.T) {
	p := ksync.Progress{Entity: "transactions", Phase: "backfill", Day: crm.Date{Year: 2025, Month: 1, Day: 1}, Rows: 250, Expected: 1000, Requests: 7}
	got := progressLine(p, time.Minute)
	want := "[######------------------] 250/1000 rows, 7 requests, about 3m0s left (transactions backfill from 2025-01-01)"
	if got != want {
		t.Errorf("progress line\n got %q\nwant %q", got, want)
	}
	p.Rows, p.Expected = 0, 0
	if got := progressLine(p, time.Second); !strings.Contains(got, "estimating") {
		t.Errorf("before any row: %q", got)
	}
}
