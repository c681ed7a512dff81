package check

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

// defect is one injected change and the error it must cause.
type defect struct {
	pick   func(rec map[string]string) bool // the first row at or after `from` it may go on
	from   int
	field  string
	value  func(rec map[string]string) string
	rule   string
	column string
	row    int // filled in when injected
}

func always(map[string]string) bool { return true }
func fieldIs(f, v string) func(map[string]string) bool {
	return func(r map[string]string) bool { return r[f] == v }
}
func constant(v string) func(map[string]string) string {
	return func(map[string]string) string { return v }
}

// TestGeneratedFile: a clean generated file of 300,000 rows has no errors;
// the same file with injected defects reports each at its row and column
// and nothing else as an error.
func TestGeneratedFile(t *testing.T) {
	rows := 300000
	if raceEnabled || testing.Short() {
		rows = 20000
	}
	dir := t.TempDir()
	asOfDate := crm.Date{Year: 2025, Month: 6, Day: 30}
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{MaxRows: rows, Seed: 3, AsOf: asOfDate}, dir); err != nil {
		t.Fatal(err)
	}
	paths := []string{
		filepath.Join(dir, legacy.Transactions.FileName()),
		filepath.Join(dir, legacy.Notes.FileName()),
		filepath.Join(dir, legacy.Details.FileName()),
	}
	opts := Options{AsOf: asOfDate.String(), MaxFindings: -1}
	rep, err := Validate(context.Background(), FileInputs(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors() != 0 || rep.Files[0].Rows < rows {
		t.Fatalf("clean file: %d errors, %d rows: %v", rep.Errors(), rep.Files[0].Rows, firstErrors(rep))
	}

	badLuhn := func(r map[string]string) string {
		c := []byte(r[legacy.FCardNumber])
		d := (c[len(c)-1] - '0' + 5) % 10
		if d == 0 { // ending in 0 would read as a spreadsheet truncation
			d = 1
		}
		c[len(c)-1] = '0' + d
		return string(c)
	}
	n := rows / 12
	defects := []*defect{
		{pick: always, from: n, field: legacy.FDateCreated, value: constant("11/05/2024 3:04 PM"), rule: RuleInvalidDatetime, column: "C"},
		{pick: always, from: 2 * n, field: legacy.FTotalAmount, value: constant("99999.99"), rule: RuleTotalMismatch, column: "U"},
		{pick: always, from: 3 * n, field: legacy.FResponseType, value: constant("success"), rule: RuleInvalidEnum, column: "V"},
		{pick: fieldIs(legacy.FPaySource, legacy.ValueCreditCard), from: 4 * n, field: legacy.FCardNumber, value: badLuhn, rule: RuleCardLuhn, column: "I"},
		{pick: fieldIs(legacy.FCountry, "US"), from: 5 * n, field: legacy.FCountry, value: constant("USA"), rule: RuleInvalidCountry, column: "AF"},
		{pick: always, from: 6 * n, field: legacy.FPhoneNumber, value: constant("(555) 111-2222"), rule: RuleInvalidPhone, column: "AH"},
		{pick: fieldIs(legacy.FTxnType, legacy.ValueRefund), from: 7 * n, field: legacy.FParentTxnID, value: constant("NO-SUCH-TXN"), rule: RuleParentMissing, column: "Y"},
		{pick: fieldIs(legacy.FIsActiveRecurring, "1"), from: 8 * n, field: legacy.FNextBillDate, value: constant(""), rule: RuleRequiredIf, column: "G"},
		{pick: fieldIs(legacy.FPaySource, legacy.ValueCreditCard), from: 9 * n, field: legacy.FCardExpiryMonth, value: constant("7"), rule: RuleCardExpiryMonth, column: "J"},
		{pick: always, from: 10 * n, field: legacy.FCampaignID, value: constant("1.23E+11"), rule: RuleInvalidInteger, column: "D"},
		{pick: always, from: 11 * n, field: legacy.FFirstName, value: constant(""), rule: RuleRequired, column: "Z"},
	}
	inject(t, paths[0], defects)
	rep, err = Validate(context.Background(), FileInputs(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, d := range defects {
		want = append(want, fmt.Sprintf("%s %d %s", d.rule, d.row, d.column))
	}
	for _, f := range rep.Findings {
		if f.Severity == Error {
			got = append(got, fmt.Sprintf("%s %d %s", f.Rule, f.Row, f.Column))
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Errors() != len(defects) {
		t.Fatalf("%d errors counted, %d injected", rep.Errors(), len(defects))
	}
}

// inject rewrites the transactions file with each defect on the first
// suitable row at or after its from row (spreadsheet rows).
func inject(t *testing.T, path string, defects []*defect) {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r := legacy.NewReader(in)
	err = atomicfile.Write(context.Background(), path+".new", atomicfile.Options{}, func(w io.Writer) error {
		lw := legacy.NewWriter(w)
		var header []string
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if header == nil {
				header = rec.Fields
				lw.Write(header)
				continue
			}
			m := make(map[string]string, len(header))
			for i, h := range header {
				m[h] = rec.Fields[i]
			}
			for _, d := range defects {
				if d.row == 0 && rec.Row >= d.from && d.pick(m) {
					m[d.field] = d.value(m)
					d.row = rec.Row
					break
				}
			}
			out := make([]string, len(header))
			for i, h := range header {
				out[i] = m[h]
			}
			lw.Write(out)
		}
		return lw.Flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defects {
		if d.row == 0 {
			t.Fatalf("no row for defect %s", d.rule)
		}
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func firstErrors(r *Report) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == Error && len(out) < 10 {
			out = append(out, f)
		}
	}
	return out
}
