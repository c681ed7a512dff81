package main

import (
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/konnektive/adversary"
)

// TestSyncQuarantineIsShown syncs, through the real binary, an account of
// the independent adversary server whose rows include ones konduit will not
// read (a thousands separator, a time without a date, no dateCreated, three
// decimals). The sync finishes; the summary, status and every report say how
// many rows were set aside, and status lists them.
func TestSyncQuarantineIsShown(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	srv, err := adversary.New(adversary.Config{Seed: 3, Customers: 120, BadRowRate: 0.05, Location: ny,
		Now: time.Date(2025, 11, 20, 12, 0, 0, 0, ny), Start: time.Date(2025, 1, 1, 0, 0, 0, 0, ny)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	refused := 0
	for _, b := range srv.BadRows() {
		if slices.Contains([]string{adversary.BadDateTimeOnly, adversary.BadNoDateCreated, adversary.BadAmountComma, adversary.BadAmountMills}, b.Reason) {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("the adversary holds no row konduit refuses; pick another seed")
	}
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "k.db")
	env := []string{"KONNEKTIVE_PASSWORD=" + adversary.DefaultPassword}
	r := runCLI(t, dir, env, "sync", "--db", db, "--api-url", ts.URL, "--login-id", adversary.DefaultLoginID, "--timezone", "America/New_York", "--from", "2025-01-01", "--rate", "0")
	if r.code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, strconv.Itoa(refused)+" rows could not be read and are quarantined") {
		t.Errorf("the summary does not count the %d quarantined rows:\n%s", refused, r.stdout)
	}
	r = runCLI(t, dir, nil, "status", "--db", db)
	if !strings.Contains(r.stdout, "quarantine:") || !regexp.MustCompile(`(customers|orders|purchases|transactions) \S+, \S+: `).MatchString(r.stdout) {
		t.Errorf("status does not list the quarantine:\n%s", r.stdout)
	}
	for _, format := range []string{"table", "json"} {
		r = runCLI(t, dir, nil, "report", "summary", "--db", db, "--from", "2025-01-01", "--to", "2025-11-20", "--format", format)
		out := r.stdout
		if format == "json" {
			out = r.stderr
		}
		if r.code != 0 || !strings.Contains(out, "could not be read and are not in these figures; see konduit status") {
			t.Errorf("report --format %s: exit %d, no quarantine line:\n%s%s", format, r.code, r.stdout, r.stderr)
		}
	}
}
