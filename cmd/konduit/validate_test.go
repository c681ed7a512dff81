package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

var update = flag.Bool("update", false, "rewrite golden files")

// generated writes a small deterministic merchant's three files into a temp dir.
func generated(t *testing.T, customers int) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: customers, Seed: 11, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editCell changes one cell of a CSV file: row is the spreadsheet row.
func editCell(t *testing.T, path string, row int, field, value string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := legacy.NewReader(f)
	var out bytes.Buffer
	w := legacy.NewWriter(&out)
	var header []string
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if header == nil {
			header = rec.Fields
		} else if rec.Row == row {
			for i, h := range header {
				if h == field {
					rec.Fields[i] = value
				}
			}
		}
		w.Write(rec.Fields)
	}
	f.Close()
	w.Flush()
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestValidateCleanExitsZero(t *testing.T) {
	dir := generated(t, 200)
	r := runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", legacy.Transactions.FileName(), legacy.Notes.FileName(), legacy.Details.FileName())
	if r.code != 0 || !strings.Contains(r.stdout, "OK: 0 errors") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestValidateJSONGolden: injected defects come back at their rows and
// columns, in exactly the documented JSON shape.
func TestValidateJSONGolden(t *testing.T) {
	dir := generated(t, 40)
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	editCell(t, tx, 5, legacy.FDateCreated, "11/05/2024 3:04 PM")
	editCell(t, tx, 9, legacy.FResponseText, "Success")
	editCell(t, tx, 12, legacy.FPhoneNumber, "(555) 111-2222")
	editCell(t, filepath.Join(dir, legacy.Notes.FileName()), 3, legacy.FCustomerID, "NOBODY")
	r := runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "--format", "json", "--max-findings", "-1",
		legacy.Transactions.FileName(), legacy.Notes.FileName())
	if r.code != exitDataErrors {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	// Exactly the documented keys, at both levels.
	var doc map[string][]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, r.stdout)
	}
	if len(doc) != 2 || doc["files"] == nil || doc["findings"] == nil {
		t.Fatalf("top-level keys: %v", keysOf(doc))
	}
	wantKeys := map[string][]string{
		"files":    {"errors", "kind", "path", "rows", "warnings"},
		"findings": {"column", "field", "file", "message", "row", "rule", "severity"},
	}
	for k, want := range wantKeys {
		for _, item := range doc[k] {
			if got := keysOf(item); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s keys %v, want %v", k, got, want)
			}
		}
	}
	golden := filepath.Join("testdata", "validate_defects.golden.json")
	if *update {
		os.WriteFile(golden, []byte(r.stdout), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("output differs from %s (run go test -update):\n%s", golden, r.stdout)
	}
}

func keysOf[V any](m map[string]V) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func TestValidateUsageAndIO(t *testing.T) {
	dir := generated(t, 5)
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"missing file", []string{"validate", "nope.csv"}, exitUsage, "no such file"},
		{"bad format", []string{"validate", "--format", "xml", legacy.Transactions.FileName()}, exitUsage, "--format"},
		{"bad as-of", []string{"validate", "--as-of", "06/30/2025", legacy.Transactions.FileName()}, exitUsage, "--as-of"},
		{"no files", []string{"validate"}, exitUsage, "requires at least 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, dir, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.err) {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
		})
	}
}

func TestValidateCSVAndStrict(t *testing.T) {
	dir := generated(t, 30)
	r := runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "--format", "csv", legacy.Transactions.FileName())
	if r.code != 0 || !strings.HasPrefix(r.stdout, "file,row,column,field,rule,severity,message\n") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	// The generated data has warnings (empty address2): --strict fails them.
	r = runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "--strict", legacy.Transactions.FileName())
	if r.code != exitDataErrors {
		t.Fatalf("--strict exit %d\n%s", r.code, r.stdout)
	}
}

func TestTemplateValidates(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "template", "-o", "out")
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	var files []string
	for _, k := range legacy.Kinds {
		files = append(files, filepath.Join("out", k.FileName()))
	}
	r = runCLI(t, dir, nil, append([]string{"validate"}, files...)...)
	if r.code != 0 {
		t.Fatalf("template output does not validate: %s", r.stdout)
	}
	// Never over an existing file.
	r = runCLI(t, dir, nil, "template", "-o", "out")
	if r.code != exitUsage || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("second template: exit %d %s", r.code, r.stderr)
	}
}

// TestSpecDocIsCurrent keeps docs/import-spec.md equal to `konduit spec`.
func TestSpecDocIsCurrent(t *testing.T) {
	r := runCLI(t, "", nil, "spec")
	path := filepath.Join("..", "..", "docs", "import-spec.md")
	if *update {
		os.WriteFile(path, []byte(r.stdout), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Fatal("docs/import-spec.md is stale: run go run ./cmd/konduit spec > docs/import-spec.md")
	}
	r = runCLI(t, "", nil, "spec", "--format", "json")
	var doc struct {
		Kinds []legacy.KindDoc
		Rules []map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Kinds) != 3 || len(doc.Kinds[0].Columns) != 58 || len(doc.Rules) < 50 {
		t.Fatalf("spec json: %v", err)
	}
}

// TestValidateVaultTokens: tokenized card numbers fail the Luhn check unless
// validate is given the vault (or --card-tokens).
func TestValidateVaultTokens(t *testing.T) {
	dir := generated(t, 30)
	key := []string{"KONDUIT_VAULT_KEY=" + strings.Repeat("ab", 32)}
	tx := legacy.Transactions.FileName()
	if r := runCLI(t, dir, key, "tokenize", "--vault", "cards.vault", "-o", "tok", tx); r.code != 0 {
		t.Fatalf("tokenize: exit %d %s", r.code, r.stderr)
	}
	tokenized := filepath.Join("tok", tx)
	r := runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "--format", "json", tokenized)
	if r.code != exitDataErrors || !strings.Contains(r.stdout, `"card-luhn"`) {
		t.Fatalf("tokens without the vault: exit %d\n%.400s", r.code, r.stdout)
	}
	// The vault's tokens are accepted without its key.
	r = runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "--vault", "cards.vault", tokenized)
	if r.code != 0 {
		t.Fatalf("with --vault: exit %d\n%s", r.code, r.stdout)
	}
	r = runCLI(t, dir, nil, "validate", "--as-of", "2025-06-30", "--card-tokens", tokenized)
	if r.code != 0 {
		t.Fatalf("with --card-tokens: exit %d\n%s", r.code, r.stdout)
	}
	r = runCLI(t, dir, nil, "validate", "--vault", "missing.vault", tokenized)
	if r.code != exitUsage {
		t.Fatalf("missing vault: exit %d %s", r.code, r.stderr)
	}
}
