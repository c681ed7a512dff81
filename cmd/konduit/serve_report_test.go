package main

import (
	"encoding/json"
	"testing"
)

// reportCSV is what `konduit report KIND --format csv` prints for the
// browser test's integration.
func reportCSV(t *testing.T, dsn, kind string, args ...string) string {
	t.Helper()
	return runReport(t, dsn, kind, "csv", args...)
}

// reportJSON is `konduit report ltv --format json`, the part the test reads.
func reportJSON(t *testing.T, dsn, kind string, args ...string) ltvDoc {
	t.Helper()
	var doc ltvDoc
	out := runReport(t, dsn, kind, "json", append(args, "--as-of", "2026-06-30")...)
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("konduit report %s json: %v\n%s", kind, err, out)
	}
	return doc
}

func runReport(t *testing.T, dsn, kind, format string, args ...string) string {
	t.Helper()
	full := append([]string{"report", kind, "--db", dsn, "--integration", "acme", "--tz", "America/New_York", "--format", format}, args...)
	r := runCLI(t, "", nil, full...)
	if r.code != 0 {
		t.Fatalf("konduit %v: exit %d\n%s", full, r.code, r.stderr)
	}
	return r.stdout
}
