package convert

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/legacy"
)

// validate runs the project's validator over the written files and fails
// the test on any error finding, printing each with its source row.
func validate(t *testing.T, res *Result) *check.Report {
	t.Helper()
	var paths []string
	for _, k := range legacy.Kinds {
		if p, ok := res.Paths[k]; ok {
			paths = append(paths, p)
		}
	}
	rep, err := check.Validate(context.Background(), legacy.FileInputs(paths), check.Options{MaxFindings: -1})
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, f := range rep.Findings {
		if f.Severity.String() != "error" {
			continue
		}
		k := kindOfPath(res, f.File)
		o, _ := res.Provenance.Lookup(k, f.Row, f.Field)
		t.Errorf("%s row %d %s: %s [%s] (source %s row %d)", filepath.Base(f.File), f.Row, f.Field, f.Message, f.Rule, o.Table, o.Row)
	}
	return rep
}

func kindOfPath(res *Result, p string) legacy.Kind {
	for k, kp := range res.Paths {
		if kp == p {
			return k
		}
	}
	return 0
}

func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func column(rows [][]string, name string) []string {
	i := -1
	for j, h := range rows[0] {
		if h == name {
			i = j
		}
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[i])
	}
	return out
}

// TestCustomFormatFromDocs: a format unlike any preset, with the mapping in
// testdata written from docs/mapping.md, converts into files that validate
// without errors.
func TestCustomFormatFromDocs(t *testing.T) {
	dir := t.TempDir()
	srcs, cards := customFixture(t, dir, 60, 7)
	m, err := LoadFile("testdata/custom/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: out})
	if err != nil {
		for _, g := range res.Report.Problems {
			for _, p := range g.Examples {
				t.Log(p)
			}
		}
		t.Fatalf("convert: %v", err)
	}
	validate(t, res)
	tx := readCSV(t, res.Paths[legacy.Transactions])
	if got, want := tx[0], legacy.SpecFor(legacy.Transactions).Header(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("header not canonical: %v", got)
	}
	// Spot checks of what each format did.
	first := map[string]string{}
	for i, h := range tx[0] {
		first[h] = tx[1][i]
	}
	checks := map[string]string{
		"customerId": "K00001", "dateCreated": "2025-03-29 21:30:00", // 02:30 Berlin does not exist: 03:30 CEST = 21:30 EDT the day before
		"campaignId": "12", "productId": "101", "cardNumber": cards[0], "cardExpiryMonth": "01", "cardExpiryYear": "2031",
		"merchantId": "8", "txnType": "SALE", "firstName": "Anna", "lastName": "Schmidt", "address1": "Hauptstraße 1",
		"country": "DE", "phoneNumber": "49301234567", "emailAddress": "kunde.1@example.com", "isActiveRecurring": "1", "nextBillDate": "2027-01-15",
	}
	for col, want := range checks {
		if first[col] != want {
			if col == "cardNumber" {
				t.Errorf("cardNumber = %s, want %s", legacy.Mask(first[col]), legacy.Mask(want))
				continue
			}
			t.Errorf("%s = %q, want %q", col, first[col], want)
		}
	}
	if res.Report.Adjusted != 1 {
		t.Errorf("DST adjustments = %d, want 1", res.Report.Adjusted)
	}
	for _, v := range column(tx, "orderId") {
		if v == "B999999" {
			t.Error("the TEST order was not skipped")
		}
	}
	// Invented values are counted: the constants and the dummy phones.
	inv := map[string]int{}
	for _, iv := range res.Report.Invented {
		inv[iv.Kind.String()+"."+iv.Column+"/"+iv.How] = iv.Count
	}
	if inv["transactions.paySource/constant"] != len(tx)-1 {
		t.Errorf("paySource constants = %d, want %d", inv["transactions.paySource/constant"], len(tx)-1)
	}
	dummies := 0
	for _, p := range column(tx, "phoneNumber") {
		if p == "1111111111" {
			dummies++
		}
	}
	if dummies == 0 || inv["transactions.phoneNumber/dummy"] != dummies {
		t.Errorf("phone dummies counted %d, found %d", inv["transactions.phoneNumber/dummy"], dummies)
	}
	if inv["transactions.isActiveRecurring/default"] == 0 {
		t.Error("the conditional default for refunds was never used")
	}
	// The CVC column was dropped and counted; no CVC value reached output.
	var dropped []string
	for _, ti := range res.Report.Tables {
		dropped = append(dropped, ti.Dropped...)
	}
	if strings.Join(dropped, ",") != "CVC" || res.Report.DroppedValues != 60 {
		t.Errorf("dropped %v, %d values; want [CVC], 60", dropped, res.Report.DroppedValues)
	}
	det := readCSV(t, res.Paths[legacy.Details])
	if len(det) != 61 {
		t.Errorf("details rows = %d, want 60 customers", len(det)-1)
	}
	notes := readCSV(t, res.Paths[legacy.Notes])
	if len(notes) < 2 || !strings.Contains(notes[1][3], "Rückruf") {
		t.Errorf("notes: %v", notes[:min(2, len(notes))])
	}
	// Provenance: row 2 of the transactions file is row 2 of the orders
	// file; its card number came from the customer file.
	o, ok := res.Provenance.Lookup(legacy.Transactions, 2, "cardNumber")
	if !ok || !strings.HasSuffix(o.Table, "kunden.txt") || o.Row != 2 {
		t.Errorf("provenance of cardNumber = %+v", o)
	}
	o, _ = res.Provenance.Lookup(legacy.Transactions, 2, "orderId")
	if !strings.HasSuffix(o.Table, "bestellungen_2025.csv") || o.Row != 2 {
		t.Errorf("provenance of orderId = %+v", o)
	}
}

// TestAllProblemsInOneRun: an unmapped required column, a value missing from
// a value map and a column the source lacks are all reported, with their
// source positions, and nothing is written.
func TestAllProblemsInOneRun(t *testing.T) {
	dir := t.TempDir()
	srcs, _ := customFixture(t, dir, 12, 3)
	b, err := os.ReadFile("testdata/custom/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	text = strings.Replace(text, `    merchantTxnId: Referenz`+"\n", "", 1)                  // unmapped required
	text = strings.Replace(text, `    paypal: "8"`+"\n", "", 1)                              // value missing from a map
	text = strings.Replace(text, `authCode: Genehmigung`, `authCode: Genehmigungsnummer`, 1) // no such column
	text = strings.Replace(text, `kunden.Ort`, `kunden.Stadt`, 1)                            // no such column, joined side
	m, err := Load("broken.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: out, Examples: 5})
	var ce *ConversionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConversionError", err)
	}
	rules := map[string]Problem{}
	for _, g := range res.Report.Problems {
		rules[g.Examples[0].Rule+"/"+g.Examples[0].Column+g.Examples[0].Output] = g.Examples[0]
	}
	want := map[string]string{
		RuleUnmapped + "/merchantTxnId":              "",
		RuleNotInMap + "/ZahlungswegmerchantId":      "bestellungen_2025.csv",
		RuleNoColumn + "/GenehmigungsnummerauthCode": "bestellungen_2025.csv",
		RuleNoColumn + "/Stadtcity":                  "kunden.txt",
	}
	for key, table := range want {
		p, ok := rules[key]
		if !ok {
			t.Errorf("no %s problem; got %v", key, keys(rules))
			continue
		}
		if !strings.HasSuffix(p.Table, table) {
			t.Errorf("%s: table %q, want …%s", key, p.Table, table)
		}
		if p.Rule == RuleNotInMap && (p.Row < 2 || !strings.Contains(p.Message, `"paypal"`)) {
			t.Errorf("%s: %s", key, p)
		}
		if p.Rule == RuleNoColumn && p.Row != 1 {
			t.Errorf("%s: row %d, want the header row 1", key, p.Row)
		}
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 0 {
		t.Errorf("files left in the output directory: %v", ents)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMappingErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown column", "sources: {a: {}}\ntransactions: {from: a, columns: {emailAdress: x}}\n", `did you mean "emailAddress"`},
		{"unknown field", "sources: {a: {}}\ntransactions: {from: a, columns: {orderId: {colum: x}}}\n", "colum"},
		{"no timezone", "sources: {a: {}}\ntransactions: {from: a, columns: {dateCreated: {column: d, format: datetime, layouts: [YYYY-MM-DD HH:mm]}}}\n", "timezone: is required"},
		{"bad layout", "timezone: UTC\nsources: {a: {}}\ntransactions: {from: a, columns: {dateCreated: {column: d, format: datetime, layouts: [QQ]}}}\n", "not a layout token"},
		{"unknown source", "sources: {a: {}}\ntransactions: {from: b, columns: {}}\n", `"b" is not under sources`},
		{"unknown map", "sources: {a: {}}\ntransactions: {from: a, columns: {txnType: {column: t, map: kinds}}}\n", `map "kinds"`},
		{"unknown preset", "preset: nope\n", "unknown preset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load("m.yaml", []byte(tc.yaml))
			if err == nil {
				_, err = Run(context.Background(), m, Options{OutDir: t.TempDir()})
			}
			var me *MappingError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a MappingError containing %q", err, tc.want)
			}
		})
	}
}

func TestInterruptedLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	srcs, _ := customFixture(t, dir, 20, 1)
	m, err := LoadFile("testdata/custom/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	if _, err := Run(ctx, m, Options{Sources: srcs, OutDir: out}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("files left behind: %v", ents)
	}
}

// TestMissingJoinKeyReportedOnce: a join key the joined file lacks is one
// problem, not one per driving row.
func TestMissingJoinKeyReportedOnce(t *testing.T) {
	srcs, _ := customFixture(t, t.TempDir(), 10, 2)
	b, err := os.ReadFile("testdata/custom/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "{source: kunden, key: Kundennr,", "{source: kunden, key: KundenNummer,", 1)
	m, err := Load("m.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: t.TempDir()})
	var ce *ConversionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if ce.Count != 1 || res.Report.Problems[0].Examples[0].Rule != RuleNoColumn || res.Report.Problems[0].Examples[0].Column != "KundenNummer" {
		for _, g := range res.Report.Problems {
			t.Log(g.Count, g.Examples[0])
		}
		t.Fatalf("%d problems, want the one missing key", ce.Count)
	}
}
