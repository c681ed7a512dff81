package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

func TestFixCLIRepairsAndLogs(t *testing.T) {
	dir := generated(t, 40)
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	notes := filepath.Join(dir, legacy.Notes.FileName())
	editCell(t, tx, 2, legacy.FResponseType, "success")
	editCell(t, tx, 3, legacy.FSubTotal, "$1,000.00") // fixed, but the total no longer adds up
	editCell(t, tx, 4, legacy.FPhoneNumber, "")
	out := filepath.Join(dir, "fixed")
	r := runCLI(t, dir, nil, "fix", "--as-of", "2025-06-30", "--fill", "phoneNumber=1111111111", "--log", "changes.json", tx, notes, "-o", out)
	if r.code != exitDataErrors {
		t.Fatalf("exit %d, want 1 (total-mismatch remains); stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "total-mismatch") || strings.Contains(r.stdout, "invalid-enum") || strings.Contains(r.stdout, "invalid-decimal") {
		t.Fatalf("report:\n%s", r.stdout)
	}
	for _, want := range []string{"invalid-enum", "invalid-decimal", "required", "change log: changes.json"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("summary lacks %q:\n%s", want, r.stderr)
		}
	}
	var log []map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "changes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log) != 3 {
		t.Fatalf("change log (%v): %s", err, b)
	}
	if log[2]["field"] != "phoneNumber" || log[2]["after"] != "1111111111" || log[2]["row"] != float64(4) {
		t.Fatalf("fill not logged: %v", log[2])
	}
	// Fixing the output again changes nothing.
	out2 := filepath.Join(dir, "fixed2")
	r = runCLI(t, dir, nil, "fix", "--as-of", "2025-06-30", "--log", "again.csv", filepath.Join(out, legacy.Transactions.FileName()), "-o", out2)
	again, _ := os.ReadFile(filepath.Join(dir, "again.csv"))
	if strings.Count(string(again), "\n") != 1 {
		t.Fatalf("second fix changed:\n%s", again)
	}
	a, _ := os.ReadFile(filepath.Join(out, legacy.Transactions.FileName()))
	c, _ := os.ReadFile(filepath.Join(out2, legacy.Transactions.FileName()))
	if string(a) != string(c) {
		t.Fatal("fix(fix(f)) != fix(f)")
	}
}

func TestFixCLICleanAndErrors(t *testing.T) {
	dir := generated(t, 10)
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	if r := runCLI(t, dir, nil, "fix", "--as-of", "2025-06-30", tx, "-o", "out"); r.code != exitOK {
		t.Fatalf("clean file: exit %d: %s", r.code, r.stderr)
	}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no -o", []string{"fix", tx}, exitUsage},
		{"over the input", []string{"fix", tx, "-o", dir}, exitUsage},
		{"bad fill", []string{"fix", "--fill", "nope=1", tx, "-o", "o2"}, exitUsage},
		{"bad date order", []string{"fix", "--date-order", "ymd", tx, "-o", "o3"}, exitUsage},
		{"bad log format", []string{"fix", "--log", "x.txt", tx, "-o", "o4"}, exitUsage},
	}
	for _, tc := range cases {
		if r := runCLI(t, dir, nil, tc.args...); r.code != tc.code {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, r.code, tc.code, r.stderr)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("customerId,dateCreated,noteText,mood\nC1,2025-01-01 00:00:00,x,y\n"), 0o600)
	r := runCLI(t, dir, nil, "fix", "--as-of", "2025-06-30", tx, bad, "-o", "o5")
	if r.code != exitDataErrors || !strings.Contains(r.stderr, "not written") || !strings.Contains(r.stdout, "header-unknown") {
		t.Fatalf("blocked file: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "o5", "bad.csv")); !os.IsNotExist(err) {
		t.Fatal("a blocked file was written")
	}
}

// TestSemicolonFileCLI: validate names the delimiter of a file separated by
// semicolons (and still checks its rows); fix writes it comma-separated.
func TestSemicolonFileCLI(t *testing.T) {
	dir := generated(t, 20)
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	editCell(t, tx, 3, legacy.FResponseType, "success")
	f, err := os.Open(tx)
	if err != nil {
		t.Fatal(err)
	}
	r := legacy.NewReader(f)
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Comma = ';'
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		w.Write(rec.Fields)
	}
	f.Close()
	w.Flush()
	semi := filepath.Join(dir, "semicolons.csv")
	os.WriteFile(semi, []byte(b.String()), 0o600)

	res := runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "semicolons.csv")
	if res.code != exitDataErrors || !strings.Contains(res.stdout, "csv-delimiter") || !strings.Contains(res.stdout, `";" (semicolon)`) ||
		!strings.Contains(res.stdout, "invalid-enum") || strings.Contains(res.stdout, "does not look like") {
		t.Fatalf("validate: exit %d\n%s", res.code, res.stdout)
	}
	res = runCLI(t, dir, nil, "fix", "--as-of", "2025-06-30", "semicolons.csv", "-o", "out")
	if res.code != exitOK || !strings.Contains(res.stderr, "csv-delimiter") {
		t.Fatalf("fix: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	fixed, _ := os.ReadFile(filepath.Join(dir, "out", "semicolons.csv"))
	if !strings.HasPrefix(string(fixed), `"customerId","orderId",`) {
		t.Fatalf("not comma-separated: %.80s", fixed)
	}
}
