package main

// Canary card numbers (issue 12, shared/spec/legacy-import.md "What a
// finding carries"): Luhn-valid numbers made at run time are planted in
// every column of every legacy file kind, in notes and in merchant exports;
// every command that reads them runs, and nothing it prints or writes (its
// reports, logs, change logs, the database, the temporary directory) may
// hold one whole. Files that hold card or customer data must be mode 0600.
//
// Hooks for other suites (tokenize, the dashboard upload): newCanaries makes
// canaries, writtenAs writes one as people do, and assertNoCanary searches
// printed text and files for them.

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"

	_ "modernc.org/sqlite" // the "sqlite" driver, to name the columns holding canaries
)

// canaryShapes vary brand and length: every length from 13 to 19 digits.
var canaryShapes = []struct {
	prefix string
	n      int
}{{"4", 16}, {"51", 16}, {"37", 15}, {"6011", 16}, {"4", 13}, {"35", 19}, {"62", 17}, {"4", 18}, {"22", 14}}

// newCanaries returns n distinct Luhn-valid numbers of 13 to 19 digits.
func newCanaries(t testing.TB, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		s := canaryShapes[len(out)%len(canaryShapes)]
		c := luhnNumber(t, s.prefix, s.n)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// writtenAs writes a canary as people do: form 0 whole, 1 in groups of
// four joined by spaces, 2 by dashes.
func writtenAs(c string, form int) string {
	if form%3 == 0 {
		return c
	}
	sep := []string{" ", "-"}[form%3-1]
	var parts []string
	for len(c) > 4 {
		parts = append(parts, c[:4])
		c = c[4:]
	}
	return strings.Join(append(parts, c), sep)
}

// haystack is something assertNoCanary searches: printed text or files.
type haystack interface {
	each(fn func(where string, b []byte))
}

// printed is what a command wrote to stdout or stderr.
type printed struct{ where, text string }

func (p printed) each(fn func(string, []byte)) { fn(p.where, []byte(p.text)) }

// written is a file, or a directory whose regular files are all searched.
type written string

func (w written) each(fn func(string, []byte)) {
	filepath.WalkDir(string(w), func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			fn(path, b)
		}
		return nil
	})
}

// joinDigits drops every single space or dash between two digits, so a
// canary written in groups is found like a whole one.
func joinDigits(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i, c := range b {
		if (c == ' ' || c == '-') && i > 0 && i+1 < len(b) && isASCIIDigit(b[i-1]) && isASCIIDigit(b[i+1]) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// assertNoCanary fails the test for every haystack that holds one of the
// canaries whole (its digits in order, with or without single spaces or
// dashes between them). Messages name the canary by its last four only.
func assertNoCanary(t testing.TB, canaries []string, haystacks ...haystack) {
	t.Helper()
	for _, h := range haystacks {
		h.each(func(where string, b []byte) {
			flat := joinDigits(b)
			var found []string
			for _, c := range canaries {
				if bytes.Contains(flat, []byte(c)) {
					found = append(found, "…"+c[len(c)-4:])
				}
			}
			if len(found) > 0 {
				sort.Strings(found)
				t.Errorf("%s holds %d canary card numbers whole (%s)", where, len(found), strings.Join(found[:min(len(found), 5)], ", "))
			}
		})
	}
}

// assertNoCardNumber fails the test for printed text that holds any card
// number (cardnum.MaskText's rule), canary or not.
func assertNoCardNumber(t testing.TB, out ...printed) {
	t.Helper()
	for _, p := range out {
		if cardnum.HasCard(p.text) {
			t.Errorf("%s holds a card number: %s", p.where, cardnum.MaskText(firstCardLine(p.text)))
		}
	}
}

// firstCardLine is the first line of s holding a card number (to be masked
// before it is shown).
func firstCardLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if cardnum.HasCard(l) {
			return l
		}
	}
	return ""
}

// assertPrivateFiles fails the test for each regular file under the paths
// whose mode is not 0600: every file listed holds card or customer data.
func assertPrivateFiles(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if st, err := os.Stat(path); err == nil && st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %o, want 600: it holds card or customer data", path, st.Mode().Perm())
			}
			return nil
		})
	}
}

// assertNoCanaryInDB fails the test for every column of the SQLite
// database at path that holds a canary whole, naming table and column.
func assertNoCanaryInDB(t testing.TB, canaries []string, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		rs, err := db.Query(`SELECT * FROM "` + tbl + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		hits := make([]int, len(cols))
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			rs.Scan(ptrs...)
			for i, v := range vals {
				var b []byte
				switch x := v.(type) {
				case string:
					b = []byte(x)
				case []byte:
					b = x
				default:
					b = []byte(fmt.Sprint(x))
				}
				flat := joinDigits(b)
				for _, c := range canaries {
					if bytes.Contains(flat, []byte(c)) {
						hits[i]++
						break
					}
				}
			}
		}
		rs.Close()
		for i, n := range hits {
			if n > 0 {
				t.Errorf("database column %s.%s holds a canary card number whole in %d rows", tbl, cols[i], n)
			}
		}
	}
}

// canaryRun runs konduit in a work directory whose TMPDIR is its own, and
// keeps everything printed for the scan.
type canaryRun struct {
	t   *testing.T
	dir string
	env []string
	out []printed
}

func newCanaryRun(t *testing.T, env ...string) *canaryRun {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	return &canaryRun{t: t, dir: dir, env: append([]string{"TMPDIR=" + tmp}, env...)}
}

// run runs konduit and checks its exit status is one of want; a panic or
// a crash is never wanted.
func (c *canaryRun) run(want []int, args ...string) cliResult {
	c.t.Helper()
	r := runCLI(c.t, c.dir, c.env, args...)
	name := strings.Join(args[:min(len(args), 3)], " ")
	c.out = append(c.out, printed{name + " (stdout)", r.stdout}, printed{name + " (stderr)", r.stderr})
	ok := false
	for _, w := range want {
		ok = ok || r.code == w
	}
	if !ok || strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		c.t.Errorf("konduit %s: exit %d, want %v\n%s", name, r.code, want, cardnum.MaskText(r.stderr))
	}
	return r
}

func (c *canaryRun) path(p ...string) string { return filepath.Join(append([]string{c.dir}, p...)...) }

// scan checks everything printed and the files under the named paths of
// the work directory (and its TMPDIR) for canaries.
func (c *canaryRun) scan(canaries []string, paths ...string) {
	c.t.Helper()
	hs := []haystack{written(c.path("tmp"))}
	for _, p := range c.out {
		hs = append(hs, p)
	}
	for _, p := range paths {
		hs = append(hs, written(c.path(p)))
	}
	assertNoCanary(c.t, canaries, hs...)
	assertNoCardNumber(c.t, c.out...)
}

// legacyTable is one legacy file in memory.
type legacyTable struct {
	kind   legacy.Kind
	header []string
	rows   [][]string
}

func (lt *legacyTable) col(name string) int {
	for i, h := range lt.header {
		if h == name {
			return i
		}
	}
	return -1
}

func readLegacyTable(t *testing.T, path string, kind legacy.Kind) *legacyTable {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lt := &legacyTable{kind: kind}
	rd := legacy.NewReader(f)
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return lt
		}
		if err != nil {
			t.Fatal(err)
		}
		if lt.header == nil {
			lt.header = append([]string(nil), rec.Fields...)
			continue
		}
		lt.rows = append(lt.rows, append([]string(nil), rec.Fields...))
	}
}

func (lt *legacyTable) write(t *testing.T, path string) {
	t.Helper()
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	w.Write(lt.header)
	for _, r := range lt.rows {
		w.Write(r)
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// canaryFiles makes a merchant with konduit synth in dir/gen and writes its
// three legacy files into dir/in with canaries planted. everyColumn puts a
// canary into every column of every kind (one row per column, plus a row
// of canaries only): the files are full of errors. Otherwise canaries go
// only where they leave the files valid (text columns, notes, phones,
// email addresses, custom fields), so that every command runs its normal
// course. It returns the input paths and every secret: the canaries and
// the merchant's own card and bank account numbers.
func canaryFiles(t *testing.T, c *canaryRun, everyColumn bool) (files []string, secrets []string) {
	t.Helper()
	c.run([]int{0}, "synth", "-o", "gen", "--customers", "30", "--seed", "12", "--as-of", "2025-11-10", "--months", "6", "--timezone", "America/New_York")
	if err := os.MkdirAll(c.path("in"), 0o700); err != nil {
		t.Fatal(err)
	}
	var pool []string
	take := func() string {
		if len(pool) == 0 {
			pool = newCanaries(t, 64)
		}
		v := pool[0]
		pool = pool[1:]
		secrets = append(secrets, v)
		return v
	}
	for _, k := range legacy.Kinds {
		lt := readLegacyTable(t, c.path("gen", k.FileName()), k)
		for _, name := range []string{legacy.FCardNumber, legacy.FACHAccountNumber} {
			if i := lt.col(name); i >= 0 {
				for _, r := range lt.rows {
					if len(r[i]) >= 8 {
						secrets = append(secrets, r[i])
					}
				}
			}
		}
		if len(lt.rows) == 0 {
			t.Fatalf("synth wrote no %s rows", k)
		}
		if everyColumn {
			plantEverywhere(lt, take)
		} else {
			plantValid(t, lt, take)
		}
		p := c.path("in", k.FileName())
		lt.write(t, p)
		files = append(files, p)
	}
	return files, secrets
}

// plantEverywhere adds, per column, a copy of the first row with a canary
// in that column (whole, spaced or dashed in turn), and a row of canaries.
func plantEverywhere(lt *legacyTable, take func() string) {
	base := lt.rows[0]
	txn := lt.col(legacy.FMerchantTxnID)
	all := make([]string, len(lt.header))
	for j := range lt.header {
		r := append([]string(nil), base...)
		r[j] = writtenAs(take(), j)
		if txn >= 0 && j != txn {
			r[txn] = fmt.Sprintf("CANARY-%d", j)
		}
		lt.rows = append(lt.rows, r)
		all[j] = take()
	}
	lt.rows = append(lt.rows, all)
}

// plantValid puts canaries where the file stays valid (warnings only).
func plantValid(t *testing.T, lt *legacyTable, take func() string) {
	t.Helper()
	n := 0
	set := func(name string, v func(c string) string) {
		i := lt.col(name)
		if i < 0 {
			t.Fatalf("%s has no column %s", lt.kind, name)
		}
		for k := 0; k < 2; k++ {
			r := lt.rows[(n*7+k*3)%len(lt.rows)]
			r[i] = v(take())
		}
		n++
	}
	plain := func(c string) string { return c }
	switch lt.kind {
	case legacy.Transactions:
		for _, name := range []string{legacy.FAuthCode, legacy.FTrackingNumber, legacy.FShipCarrier, legacy.FShipMethod,
			legacy.FAffID, legacy.FSubAffID, legacy.FHomePhone, legacy.FCellPhone, legacy.FWorkPhone, legacy.FPostalCode, legacy.FShipPostalCode} {
			set(name, plain)
		}
		for _, name := range []string{legacy.FAddress1, legacy.FAddress2, legacy.FCity, legacy.FShipAddress1, legacy.FShipAddress2, legacy.FShipCity, legacy.FFirstName, legacy.FLastName} {
			form := n
			set(name, func(c string) string { return writtenAs(c[:min(len(c), 16)], form) })
		}
		set(legacy.FEmailAddress, func(c string) string { return c + "@example.com" })
		// The first customers' names and email on all their rows: what
		// verify quotes when Konnektive lacks a customer or differs.
		cust, first, last, email := lt.col(legacy.FCustomerID), lt.col(legacy.FFirstName), lt.col(legacy.FLastName), lt.col(legacy.FEmailAddress)
		names := map[string][3]string{}
		for _, r := range lt.rows {
			v, ok := names[r[cust]]
			if !ok {
				if len(names) == 5 {
					continue
				}
				v = [3]string{writtenAs(take(), len(names)), take(), take() + "@example.com"}
				names[r[cust]] = v
			}
			r[first], r[last], r[email] = v[0], v[1], v[2]
		}
	case legacy.Notes:
		set(legacy.FAgentName, plain)
		i := lt.col(legacy.FNoteText)
		for k, r := range lt.rows {
			if k%2 == 0 {
				r[i] += " card " + writtenAs(take(), k/2) + " exp 09/31"
			}
		}
	case legacy.Details:
		set(legacy.FLoginID, plain)
		set(legacy.FPassword, plain)
		for _, name := range []string{legacy.FCustom1, legacy.FCustom2, legacy.FCustom3, legacy.FCustom4, legacy.FCustom5} {
			form := n
			set(name, func(c string) string { return "ref " + writtenAs(c, form) })
		}
	}
}

// canaryReports runs every report of the database in every format, and
// each breakdown (whose group names come from the files) as a table and as
// JSON (csv prints the table's cells as the table does).
func canaryReports(c *canaryRun, db string) {
	c.t.Helper()
	for _, args := range [][]string{
		{"summary", "--from", "2025-05-01", "--to", "2025-11-10"},
		{"reconcile", "--from", "2025-05-01", "--to", "2025-11-10"},
		{"ltv", "--as-of", "2025-11-10", "--by", "affiliate"},
		{"retention", "--by", "campaign"},
		{"chargebacks", "--visa-ratio", "0.1%", "--visa-count", "1"},
	} {
		for _, f := range []string{"table", "csv", "json"} {
			c.run([]int{0}, append(append([]string{"report"}, args...), "--db", db, "--format", f)...)
		}
	}
	for _, by := range []string{"affiliate", "subaffiliate", "campaign", "product", "merchant", "country"} {
		for _, f := range []string{"table", "json"} {
			c.run([]int{0}, "report", "summary", "--from", "2025-05-01", "--to", "2025-11-10", "--by", by, "--db", db, "--format", f)
		}
	}
	c.run([]int{0}, "report", "retention", "--by", "product", "--db", db, "--format", "table")
}

// TestCanaryEveryColumn: a canary in every column of every kind, files full
// of errors. validate (text, json, csv), fix with both logs, sample,
// preview, load --force and every report.
func TestCanaryEveryColumn(t *testing.T) {
	t.Parallel()
	c := newCanaryRun(t)
	files, secrets := canaryFiles(t, c, true)
	// A header naming a column after a canary, in a file of its own.
	canaries := newCanaries(t, 1)
	secrets = append(secrets, canaries...)
	hdr := readLegacyTable(t, files[2], legacy.Details)
	hdr.header[len(hdr.header)-1] = "custom" + canaries[0]
	hdr.write(t, c.path("in", "header.csv"))
	withHeader := append(append([]string(nil), files...), c.path("in", "header.csv"))

	for _, f := range []string{"text", "json", "csv"} {
		r := c.run([]int{exitDataErrors}, append([]string{"validate", "--as-of", "2025-11-10", "--format", f, "--max-findings", "-1"}, withHeader...)...)
		if !strings.Contains(r.stdout, "*********") {
			t.Errorf("validate --format %s printed no masked value: the canaries were not quoted", f)
		}
	}
	c.run([]int{exitDataErrors}, append([]string{"fix", "-o", "fixed", "--log", "changes.csv", "--as-of", "2025-11-10"}, withHeader...)...)
	if b, _ := os.ReadFile(c.path("changes.csv")); !bytes.Contains(b, []byte("*********")) {
		t.Error("the change log holds no masked value: no canary was changed")
	}
	c.run([]int{exitDataErrors}, append([]string{"fix", "-o", "fixed2", "--log", "changes.json", "--format", "json", "--as-of", "2025-11-10"}, files...)...)
	c.run([]int{exitOK, exitDataErrors}, append([]string{"sample", "-o", "smp", "--customers", "5"}, files...)...)
	for _, f := range []string{"text", "json"} {
		c.run([]int{exitOK, exitDataErrors}, append([]string{"preview", "--as-of", "2025-11-10", "--max-list", "-1", "--format", f}, files...)...)
	}
	os.MkdirAll(c.path("db"), 0o700)
	db := "sqlite:" + c.path("db", "k.db")
	c.run([]int{exitOK}, append([]string{"load", "-v", "--force", "--db", db, "--timezone", "America/New_York", "--as-of", "2025-11-10"}, files...)...)
	canaryReports(c, db)

	// Import files (fix's and sample's outputs) hold card numbers by design:
	// they are checked for their mode, not their content.
	c.scan(secrets, "changes.csv", "changes.json", "db")
	assertNoCanaryInDB(t, secrets, c.path("db", "k.db"))
	assertPrivateFiles(t, c.path("fixed"), c.path("fixed2"), c.path("changes.csv"), c.path("changes.json"), c.path("smp"), c.path("db"))
}

// TestCanaryImport: canaries where the files stay valid, through the
// whole import: validate, sample, preview, load and every report, verify
// against a fake Konnektive serving a faulty import of the files, and
// package (tokenize, then detokenize + validate + encrypt).
func TestCanaryImport(t *testing.T) {
	t.Parallel()
	key := newVaultKeyForCanary(t)
	c := newCanaryRun(t, append([]string{envVaultKey + "=" + key, "KONNEKTIVE_PASSWORD=" + fakeKonnektivePW}, pgpEnv...)...)
	files, secrets := canaryFiles(t, c, false)

	for _, f := range []string{"text", "json", "csv"} {
		c.run([]int{exitOK}, append([]string{"validate", "--as-of", "2025-11-10", "--format", f, "--max-findings", "-1"}, files...)...)
	}
	c.run([]int{exitOK}, append([]string{"sample", "-o", "smp", "--customers", "6"}, files...)...)
	for _, f := range []string{"text", "json"} {
		c.run([]int{exitOK}, append([]string{"preview", "--as-of", "2025-11-10", "--max-list", "-1", "--format", f}, files...)...)
	}
	os.MkdirAll(c.path("db"), 0o700)
	db := "sqlite:" + c.path("db", "k.db")
	c.run([]int{exitOK}, append([]string{"load", "-v", "--db", db, "--timezone", "America/New_York", "--as-of", "2025-11-10"}, files...)...)
	canaryReports(c, db)

	// verify against an import with faults: the differences quote values.
	base, faults := startImportFake(t, files, "--import-faults", "--timezone", "America/New_York")
	if len(faults) == 0 {
		t.Error("the fake listed no import faults")
	}
	c.out = append(c.out, printed{"fake-konnektive faults", strings.Join(faults, "\n")})
	for _, f := range []string{"text", "json"} {
		r := c.run([]int{exitDataErrors}, append([]string{"verify", "-v", "--api-url", base, "--login-id", "demo_api", "--timezone", "America/New_York",
			"--rate", "0", "--to", "2025-11-10", "--format", f}, files...)...)
		if !strings.Contains(r.stdout, "*********") {
			t.Errorf("verify --format %s printed no masked value: no difference quotes a canary", f)
		}
	}

	// package: tokenize, then detokenize, validate and encrypt.
	pub, _, _ := cliKeygen(t, c.dir, "recv")
	c.run([]int{exitOK}, append([]string{"tokenize", "--vault", "vault.db", "-o", "tok"}, files[0])...)
	c.run([]int{exitOK}, "package", "--vault", "vault.db", "-r", pub, "-o", "ship", c.path("tok", legacy.Transactions.FileName()))

	c.scan(secrets, "db", "ship")
	assertNoCanaryInDB(t, secrets, c.path("db", "k.db"))
	// ship/ is meant to be shared (encrypted, mode 0644: card-data.md).
	assertPrivateFiles(t, c.path("smp"), c.path("db"), c.path("tok"), c.path("vault.db"))
}

// newVaultKeyForCanary makes a vault key with the CLI.
func newVaultKeyForCanary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "vault.key")
	if r := runCLI(t, dir, nil, "tokenize", "--generate-key", "--vault-key-file", keyFile); r.code != 0 {
		t.Fatalf("generate key: %d %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestCanaryConvert: merchant exports with a canary in every source column
// (and in a header), through convert --init, a convert that finds problems
// in every row, and one that writes and validates the import files.
func TestCanaryConvert(t *testing.T) {
	c := newCanaryRun(t)
	dir, cards, cvvs := convertFixture(t, 12)
	for _, name := range []string{"orders.csv", "cards.csv", "map.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.path(name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secrets := append(append([]string(nil), cards...), cvvs...)
	// The clean exports first: convert writes and validates them.
	os.MkdirAll(c.path("out"), 0o700)
	c.run([]int{exitOK}, "convert", "--map", "map.yaml", "orders.csv", "cards.csv", "-o", "out", "--provenance", "prov.csv", "--as-of", "2025-06-01")

	// Then a canary in every column of the orders, one row per column, and a
	// header naming a column after one.
	for _, name := range []string{"orders.csv", "cards.csv"} {
		b, _ := os.ReadFile(c.path(name))
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header, base := recs[0], recs[1]
		for j := range header {
			row := append([]string(nil), base...)
			cn := newCanaries(t, 1)[0]
			secrets = append(secrets, cn)
			row[j] = writtenAs(cn, j)
			recs = append(recs, row)
		}
		extra := newCanaries(t, 1)[0]
		secrets = append(secrets, extra)
		recs[0] = append(recs[0], "note"+extra)
		for i := 1; i < len(recs); i++ {
			recs[i] = append(recs[i], "x")
		}
		var out bytes.Buffer
		cw := csv.NewWriter(&out)
		cw.WriteAll(recs)
		if err := os.WriteFile(c.path("dirty-"+name), out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := os.ReadFile(c.path("map.yaml"))
	m = bytes.ReplaceAll(m, []byte(`"orders*.csv"`), []byte(`"dirty-orders*.csv"`))
	m = bytes.ReplaceAll(m, []byte(`"cards*"`), []byte(`"dirty-cards*"`))
	os.WriteFile(c.path("dirty.yaml"), m, 0o600)
	os.MkdirAll(c.path("out2"), 0o700)
	r := c.run([]int{exitDataErrors}, "convert", "--map", "dirty.yaml", "dirty-orders.csv", "dirty-cards.csv", "-o", "out2", "--examples", "1000", "--as-of", "2025-06-01")
	if !strings.Contains(r.stdout, "*********") {
		t.Error("convert printed no masked value: the canaries were not quoted")
	}
	c.run([]int{exitOK}, "convert", "--init", "dirty-orders.csv", "dirty-cards.csv", "-o", "start.yaml")
	c.run([]int{exitOK}, "convert", "--init", "dirty-orders.csv")

	c.scan(secrets, "prov.csv", "out2", "start.yaml")
	// The import files convert wrote hold card numbers by design.
	assertPrivateFiles(t, c.path("out"), c.path("prov.csv"), c.path("start.yaml"))
}

// TestCanaryLogsMasked: the log handler main configures masks card numbers
// in messages, string values and errors.
func TestCanaryLogsMasked(t *testing.T) {
	cs := newCanaries(t, 3)
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: maskLogAttr}))
	log.Error("row holds "+writtenAs(cs[0], 1), "value", cs[1], "err", fmt.Errorf("parse %s: bad", cs[2]))
	assertNoCanary(t, cs, printed{"log", b.String()})
	if !strings.Contains(b.String(), cs[1][len(cs[1])-4:]) {
		t.Errorf("the log lost the last four: %s", b.String())
	}
}
