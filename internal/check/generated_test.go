package check

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
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
	rep, err := Validate(context.Background(), legacy.FileInputs(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors() != 0 || rep.Files[0].Rows < rows {
		t.Fatalf("clean file: %d errors, %d rows: %v", rep.Errors(), rep.Files[0].Rows, firstErrors(rep))
	}
	// A clean file raises no card warning (the spec), also with the long
	// digit tracking numbers carriers really assign, one in ten of which
	// pass the Luhn check.
	if n := count(rep, RuleCardNumberElsewhere); n != 0 {
		t.Fatalf("clean file: %d card-number-elsewhere warnings: %v", n, rep.Findings)
	}
	// Its people are distinct: no two customers share an email or a phone,
	// so no one would be billed twice.
	if n := count(rep, RuleDoubleBilling); n != 0 {
		t.Fatalf("clean file: %d double-billing warnings: %v", n, rep.Findings)
	}
	t.Logf("clean file, %d rows: %v", rep.Files[0].Rows, rep.Counts)
	flagged, total := carrierTracking(t, paths[0], 3)
	rep, err = Validate(context.Background(), legacy.FileInputs(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(rep, RuleCardNumberElsewhere); n != 0 || rep.Errors() != 0 {
		t.Fatalf("carrier tracking numbers: %d card-number-elsewhere warnings, %d errors", n, rep.Errors())
	}
	t.Logf("%d rows, %d carrier tracking numbers: %d of them Luhn-valid 13-19 digit runs (what a scan of the whole column flags), 0 card warnings", rep.Files[0].Rows, total, flagged)

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
		{pick: always, from: 10 * n, field: legacy.FCampaignID, value: constant("1.23E+11"), rule: RuleSpreadsheetNumber, column: "D"},
		{pick: always, from: 11 * n, field: legacy.FFirstName, value: constant(""), rule: RuleRequired, column: "Z"},
	}
	inject(t, paths[0], defects)
	rep, err = Validate(context.Background(), legacy.FileInputs(paths), opts)
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

// count is the exact number of findings of a rule.
func count(r *Report, rule string) int {
	n := 0
	for _, c := range r.Counts {
		if c.Rule == rule {
			n += c.Count
		}
	}
	return n
}

// carrierTracking gives every row with a trackingNumber one in the shapes
// carriers assign: 12-digit and 15-digit FedEx, 16-digit and 20-digit USPS
// (the 16-digit ones a spreadsheet turns into 9.4001112114934E+015). It
// returns how many are Luhn-valid 13-19 digit runs, and how many it wrote.
func carrierTracking(t *testing.T, path string, seed uint64) (luhn, total int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	digits := func(prefix string, n int) string {
		b := []byte(prefix)
		for len(b) < n {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		return string(b)
	}
	rewriteRows(t, path, func(col map[string]int, rec []string) {
		i := col[legacy.FTrackingNumber]
		if rec[i] == "" {
			return
		}
		v := [...]string{digits("7", 12), digits("96", 15), digits("9400", 16), digits("9405", 20)}[rng.IntN(4)]
		rec[i] = v
		total++
		if cardRun([]byte(v)) {
			luhn++
		}
	})
	return luhn, total
}

// rewriteRows rewrites a file with fn applied to every data row (col: the
// header's positions by name).
func rewriteRows(t *testing.T, path string, fn func(col map[string]int, rec []string)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := legacy.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	lw := legacy.NewWriter(&out)
	var col map[string]int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if col == nil {
			col = map[string]int{}
			for i, h := range rec.Fields {
				col[h] = i
			}
		} else {
			fn(col, rec.Fields)
		}
		lw.Write(rec.Fields)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
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

// TestGeneratedDefectsAndDelimiters: a generated file with a twin customer
// (one by email, one by phone), active refunds, declines and an authorize,
// a second active row of a subscription, tracking numbers in scientific
// notation and a phone ending in .0 gives exactly the clean file's findings
// and those; so does its ';' version and its tab version, with csv-delimiter.
func TestGeneratedDefectsAndDelimiters(t *testing.T) {
	dir := t.TempDir()
	asOfDate := crm.Date{Year: 2025, Month: 6, Day: 30}
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{MaxRows: 20000, Seed: 5, AsOf: asOfDate}, dir); err != nil {
		t.Fatal(err)
	}
	paths := []string{
		filepath.Join(dir, legacy.Transactions.FileName()),
		filepath.Join(dir, legacy.Notes.FileName()),
		filepath.Join(dir, legacy.Details.FileName()),
	}
	opts := Options{AsOf: asOfDate.String(), MaxFindings: -1}
	fileKeys := func(paths ...string) []string {
		t.Helper()
		rep, err := Validate(context.Background(), legacy.FileInputs(paths), opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range rep.Findings {
			out = append(out, fmt.Sprintf("%s %s %s:%d %s", f.Severity, f.Rule, filepath.Base(f.File), f.Row, f.Column))
		}
		sort.Strings(out)
		if len(out) != rep.Errors()+rep.Warnings() {
			t.Fatalf("%d findings kept, %d counted", len(out), rep.Errors()+rep.Warnings())
		}
		return out
	}
	base := fileKeys(paths...)
	for _, k := range base {
		if f := strings.Fields(k); f[0] == "error" || f[1] == RuleDoubleBilling || f[1] == RuleCardNumberElsewhere {
			t.Fatalf("clean file: %s", k)
		}
	}

	// The file as rows, and its customers in file order.
	type cust struct {
		id           string
		rows, active []int // indexes into rows
		email        string
		phone        uint64
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	all := readRows(t, data)
	header, rows := all[0], all[1:]
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	get := func(r int, f string) string { return rows[r][col[f]] }
	var custs []*cust
	byID := map[string]*cust{}
	emails, phones := map[string]int{}, map[uint64]int{}
	for r := range rows {
		c := byID[get(r, legacy.FCustomerID)]
		if c == nil {
			c = &cust{id: get(r, legacy.FCustomerID), email: NormalEmail(get(r, legacy.FEmailAddress))}
			c.phone, _ = BillingPhone(get(r, legacy.FPhoneNumber))
			byID[c.id] = c
			custs = append(custs, c)
			emails[c.email]++
			phones[c.phone]++
		}
		c.rows = append(c.rows, r)
		if get(r, legacy.FIsActiveRecurring) == "1" {
			c.active = append(c.active, r)
		}
	}
	used := map[*cust]bool{}
	// pick returns the first unused customer after row `after` (by first
	// active row) with a unique email and phone that ok accepts.
	pick := func(after int, ok func(*cust) bool) *cust {
		for _, c := range custs {
			if !used[c] && len(c.active) > 0 && c.active[0] > after && emails[c.email] == 1 && c.phone != 0 && phones[c.phone] == 1 && ok(c) {
				used[c] = true
				return c
			}
		}
		t.Fatal("no customer to pick")
		return nil
	}
	any := func(*cust) bool { return true }
	set := func(r int, f, v string) { rows[r][col[f]] = v }
	var want []string
	expect := func(sev, rule string, r int, field string) {
		want = append(want, fmt.Sprintf("%s %s %s:%d %s", sev, rule, legacy.Transactions.FileName(), r+2, legacy.SpecFor(legacy.Transactions).Columns[legacy.SpecFor(legacy.Transactions).Index(field)].Letter))
	}

	// Twins: y has x's email (in capitals), z has x's phone number.
	x := pick(-1, any)
	y := pick(x.active[0], any)
	z := pick(x.active[0], any)
	for _, r := range y.rows {
		set(r, legacy.FEmailAddress, strings.ToUpper(get(x.rows[0], legacy.FEmailAddress)))
	}
	for _, r := range y.active {
		expect("warning", RuleDoubleBilling, r, legacy.FEmailAddress)
	}
	for _, r := range z.rows {
		set(r, legacy.FPhoneNumber, get(x.rows[0], legacy.FPhoneNumber))
	}
	for _, r := range z.active {
		expect("warning", RuleDoubleBilling, r, legacy.FPhoneNumber)
	}

	// isActiveRecurring=1 on refunds, declines and an authorize of other
	// customers, with a nextBillDate the card is good for.
	cardGood := func(r int) bool {
		return get(r, legacy.FPaySource) != legacy.ValueCreditCard || get(r, legacy.FCardExpiryYear)+"-"+get(r, legacy.FCardExpiryMonth) >= "2025-07"
	}
	quota := map[string]int{"REFUND/SUCCESS": 3, "SALE/DECLINE": 3, "AUTHORIZE/DECLINE": 1, "AUTHORIZE/SUCCESS": 1}
	for r := range rows {
		k := get(r, legacy.FTxnType) + "/" + get(r, legacy.FResponseType)
		if c := byID[get(r, legacy.FCustomerID)]; quota[k] > 0 && !used[c] && get(r, legacy.FIsActiveRecurring) == "0" && cardGood(r) {
			quota[k]--
			set(r, legacy.FIsActiveRecurring, "1")
			set(r, legacy.FNextBillDate, "2025-07-15")
			expect("error", RuleActiveNotCharge, r, legacy.FIsActiveRecurring)
		}
	}
	for k, n := range quota {
		if n > 0 {
			t.Fatalf("no row for %s", k)
		}
	}

	// A second active row of a subscription: an earlier successful charge
	// of the product its active row is for.
	pick(-1, func(c *cust) bool {
		a := c.active[0]
		if get(a, legacy.FNextBillDate) <= asOfDate.String() {
			return false
		}
		for _, r := range c.rows {
			if r != a && get(r, legacy.FProductID) == get(a, legacy.FProductID) && get(r, legacy.FResponseType) == "SUCCESS" &&
				(get(r, legacy.FTxnType) == "SALE" || get(r, legacy.FTxnType) == "CAPTURE") && get(r, legacy.FDateCreated) < get(a, legacy.FDateCreated) {
				set(r, legacy.FIsActiveRecurring, "1")
				set(r, legacy.FNextBillDate, get(a, legacy.FNextBillDate))
				expect("warning", RuleActiveDuplicate, r, legacy.FIsActiveRecurring)
				return true
			}
		}
		return false
	})

	// A spreadsheet's work: 16-digit tracking numbers in scientific
	// notation (20 characters: they fit the column), a phone ending in .0
	// on a row without a subscription.
	sci := 0
	for r := range rows {
		if sci < 5 && get(r, legacy.FTrackingNumber) != "" && !used[byID[get(r, legacy.FCustomerID)]] {
			set(r, legacy.FTrackingNumber, fmt.Sprintf("9.4%012dE+015", 1000003*(sci+1)))
			expect("error", RuleSpreadsheetNumber, r, legacy.FTrackingNumber)
			sci++
		}
	}
	for r := range rows {
		if c := byID[get(r, legacy.FCustomerID)]; !used[c] && get(r, legacy.FIsActiveRecurring) == "0" {
			used[c] = true
			set(r, legacy.FPhoneNumber, get(r, legacy.FPhoneNumber)+".0")
			expect("error", RuleSpreadsheetNumber, r, legacy.FPhoneNumber)
			break
		}
	}

	var b bytes.Buffer
	lw := legacy.NewWriter(&b)
	lw.Write(header)
	for _, r := range rows {
		lw.Write(r)
	}
	lw.Flush()
	check := func(name string, content []byte, extra ...string) {
		t.Helper()
		if err := os.WriteFile(paths[0], content, 0o600); err != nil {
			t.Fatal(err)
		}
		exp := append(append(append([]string(nil), base...), want...), extra...)
		sort.Strings(exp)
		got := fileKeys(paths...)
		if strings.Join(got, "\n") != strings.Join(exp, "\n") {
			t.Fatalf("%s: findings differ:\n%s", name, diffLists(got, exp))
		}
	}
	check("comma", b.Bytes())
	delimFinding := "error " + RuleCSVDelimiter + " " + legacy.Transactions.FileName() + ":1 "
	check("semicolon", []byte(redelimit(t, b.String(), ';', false)), delimFinding)
	check("tab", []byte(redelimit(t, b.String(), '\t', true)), delimFinding)
	byRule := map[string]int{}
	for _, k := range base {
		byRule[strings.Fields(k)[1]]++
	}
	t.Logf("%d rows; findings in the clean file by rule %v; %d injected", len(rows), byRule, len(want))
}

func readRows(t *testing.T, data []byte) [][]string {
	t.Helper()
	r := legacy.NewReader(bytes.NewReader(data))
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Fields)
	}
}

// diffLists shows what got has that want lacks, and the reverse.
func diffLists(got, want []string) string {
	in := func(l []string) map[string]int {
		m := map[string]int{}
		for _, s := range l {
			m[s]++
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for s, n := range g {
		if n > w[s] {
			out = append(out, "+ "+s)
		}
	}
	for s, n := range w {
		if n > g[s] {
			out = append(out, "- "+s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
