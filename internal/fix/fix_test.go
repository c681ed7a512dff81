package fix

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

var asOf = crm.Date{Year: 2026, Month: 11, Day: 21}

// generate writes a synthetic merchant into a new directory and returns the
// three files' contents by kind.
func generate(t testing.TB, customers int, seed uint64) map[legacy.Kind][]byte {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: customers, Seed: seed, AsOf: asOf}, dir); err != nil {
		t.Fatal(err)
	}
	out := map[legacy.Kind][]byte{}
	for _, k := range legacy.Kinds {
		b, err := os.ReadFile(filepath.Join(dir, k.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		out[k] = b
	}
	return out
}

func readAll(t testing.TB, data []byte) [][]string {
	t.Helper()
	r := legacy.NewReader(bytes.NewReader(data))
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rec.Fields)
	}
}

func input(name string, data []byte) legacy.Input {
	return legacy.Input{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// fixBytes runs File over data and returns the output and the result.
func fixBytes(t testing.TB, name string, data []byte, opts Options, log ChangeLog) ([]byte, *FileResult) {
	t.Helper()
	var out bytes.Buffer
	res, err := File(context.Background(), input(name, data), &out, opts, log)
	if err != nil {
		t.Fatalf("fix %s: %v", name, err)
	}
	return out.Bytes(), res
}

var stateNames = map[string]string{"CA": "California", "NY": "New York", "TX": "Texas", "FL": "Florida", "WA": "Washington", "IL": "Illinois", "ON": "Ontario", "BC": "British Columbia", "QC": "Québec"}

var countryNames = map[string][]string{"US": {"United States", "usa", "us"}, "CA": {"Canada", "ca"}, "GB": {"United Kingdom", "UK"}, "DE": {"Germany", "de"}, "AU": {"Australia"}}

// mangle injects reversible, fixable defects into a canonical row: each
// applies with probability p. Dates are written month-first.
func mangle(spec *legacy.Spec, row []string, rng *rand.Rand, p float64) {
	hit := func() bool { return rng.Float64() < p }
	country := ""
	if i := spec.Index(legacy.FCountry); i >= 0 {
		country = row[i]
	}
	for i, c := range spec.Columns {
		v := row[i]
		if v == "" || !hit() {
			continue
		}
		switch {
		case c.Type == legacy.Country:
			if names := countryNames[v]; names != nil {
				row[i] = names[rng.IntN(len(names))]
			}
		case c.Type == legacy.Decimal || c.Type == legacy.Money2:
			if !strings.HasPrefix(v, "-") {
				row[i] = "$" + v
			}
		case c.Type == legacy.Bit:
			row[i] = map[string][]string{"1": {"TRUE", "yes", "Y"}, "0": {"false", "No", "n"}}[v][rng.IntN(3)]
		case c.Type == legacy.Datetime:
			var y, mo, d, h, mi, s int
			fmt.Sscanf(v, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s)
			switch rng.IntN(3) {
			case 0:
				row[i] = strings.Replace(v, " ", "T", 1) + "Z"
			case 1:
				ampm, h12 := "AM", h%12
				if h >= 12 {
					ampm = "PM"
				}
				if h12 == 0 {
					h12 = 12
				}
				row[i] = fmt.Sprintf("%d/%d/%d %d:%02d:%02d %s", mo, d, y, h12, mi, s, ampm)
			case 2:
				row[i] = fmt.Sprintf("%02d/%02d/%d %02d:%02d:%02d", mo, d, y, h, mi, s)
			}
		case c.Type == legacy.Date:
			var y, mo, d int
			fmt.Sscanf(v, "%d-%d-%d", &y, &mo, &d)
			row[i] = fmt.Sprintf("%d/%d/%d", mo, d, y)
		case c.Type == legacy.Enum:
			row[i] = strings.ToLower(v)
		case c.Type == legacy.Phone:
			if len(v) == 10 {
				if country == "US" || country == "CA" {
					row[i] = "+1 (" + v[:3] + ") " + v[3:6] + "-" + v[6:]
				} else {
					row[i] = v[:3] + "-" + v[3:6] + " " + v[6:]
				}
			}
		case c.Name == legacy.FCardExpiryMonth:
			row[i] = strings.TrimPrefix(v, "0")
		case c.Name == legacy.FCardExpiryYear:
			row[i] = strings.TrimPrefix(v, "20")
		case c.Name == legacy.FState || c.Name == legacy.FShipState:
			if name, ok := stateNames[v]; ok {
				row[i] = name
			}
		case c.Name == legacy.FPostalCode:
			if country == "US" && len(v) == 5 && v[0] == '0' {
				row[i] = v[1:]
			}
		}
	}
}

// messUp rewrites a canonical file with defects: values mangled, columns in
// reverse order with one optional column dropped, a BOM, CR-only lines,
// blank lines, for one seed in three semicolons between the cells (as a
// European spreadsheet exports), and (optionally) Windows-1252 bytes. It returns the messy
// file and the canonical file fix must give back (the dropped column
// empty).
func messUp(t testing.TB, kind legacy.Kind, data []byte, seed uint64, cp1252 bool) (messy, want []byte) {
	t.Helper()
	spec := legacy.SpecFor(kind)
	rows := readAll(t, data)
	rng := rand.New(rand.NewPCG(seed, 7))
	drop := -1
	for i := len(spec.Columns) - 1; i >= 0; i-- {
		if spec.Columns[i].Required.Optional() {
			drop = i
			break
		}
	}
	var wantBuf bytes.Buffer
	ww := legacy.NewWriter(&wantBuf)
	var b bytes.Buffer
	b.WriteString("\xEF\xBB\xBF")
	delim, special := ",", "\",\r\n"
	if seed%3 == 2 {
		delim, special = ";", "\";\r\n" // a comma needs no quotes
	}
	write := func(fields []string) {
		var cells []string
		for i := len(fields) - 1; i >= 0; i-- {
			if i == drop {
				continue
			}
			f := fields[i]
			if cp1252 {
				s, err := charmap.Windows1252.NewEncoder().String(f)
				if err == nil {
					f = s
				}
			}
			if strings.ContainsAny(f, special) || rng.IntN(2) == 0 {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			cells = append(cells, f)
		}
		b.WriteString(strings.Join(cells, delim))
		b.WriteString("\r")
	}
	for n, r := range rows {
		if n > 0 {
			if drop >= 0 {
				r[drop] = ""
			}
			if err := ww.Write(r); err != nil {
				t.Fatal(err)
			}
			m := append([]string(nil), r...)
			mangle(spec, m, rng, 0.3)
			write(m)
			if n%17 == 0 {
				b.WriteString("\r")
			}
			continue
		}
		if err := ww.Write(r); err != nil {
			t.Fatal(err)
		}
		write(r)
	}
	ww.Flush()
	return b.Bytes(), wantBuf.Bytes()
}

// TestRestoresGeneratedFiles: generated files with every kind of fixable
// defect come back byte for byte as the canonical files, and validate with
// no finding of a rule fix handles.
func TestRestoresGeneratedFiles(t *testing.T) {
	files := generate(t, 200, 11)
	for _, cp := range []bool{false, true} {
		for _, k := range legacy.Kinds {
			t.Run(fmt.Sprintf("%s/cp1252=%v", k, cp), func(t *testing.T) {
				messy, want := messUp(t, k, files[k], 5, cp)
				// Without --date-order, only columns whose slashed dates
				// are all ambiguous may be left; with it, everything is fixed.
				_, res := fixBytes(t, k.FileName(), messy, Options{}, nil)
				for _, u := range res.Unresolved {
					if !strings.Contains(u.Reason, "ambiguous") {
						t.Errorf("unresolved %+v", u)
					}
				}
				got, res := fixBytes(t, k.FileName(), messy, Options{DateOrder: MDY}, nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("fixed file differs from the canonical one:\n%s", firstDiff(got, want))
				}
				if len(res.Unresolved) > 0 {
					t.Fatalf("unresolved: %+v", res.Unresolved)
				}
				for _, r := range []string{check.RuleBOM, check.RuleCSVLineEndings, check.RuleBlankLine, check.RuleHeaderOrder, check.RuleHeaderMissingOpt} {
					if res.Changes[r] == 0 {
						t.Errorf("no %s change recorded: %v", r, res.Changes)
					}
				}
				if cp && k == legacy.Transactions && res.Changes[check.RuleEncoding] == 0 {
					t.Errorf("no encoding change recorded: %v", res.Changes)
				}
				if res.Changes[check.RuleCSVDelimiter] != 1 { // seed 5: semicolons
					t.Errorf("no delimiter change recorded: %v", res.Changes)
				}
			})
		}
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < min(len(al), len(bl)); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, cardnum.MaskText(al[i]), cardnum.MaskText(bl[i]))
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(al), len(bl))
}

// validateSet validates the three fixed files together.
func validateSet(t testing.TB, files map[legacy.Kind][]byte) *check.Report {
	t.Helper()
	var in []legacy.Input
	for _, k := range legacy.Kinds {
		in = append(in, input(k.FileName(), files[k]))
	}
	rep, err := check.Validate(context.Background(), in, check.Options{AsOf: asOf.String(), MaxFindings: -1})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestPropertyFixValidatesAndIsIdempotent: over many seeds, the fixed
// files have no finding of a fixable rule, no error at all, and fixing the
// fixed files changes nothing, byte for byte.
func TestPropertyFixValidatesAndIsIdempotent(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 5
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		files := generate(t, 25, seed)
		fixed := map[legacy.Kind][]byte{}
		for _, k := range legacy.Kinds {
			messy, _ := messUp(t, k, files[k], seed*31, seed%3 == 0)
			// A small file may hold too few slashed dates to prove their order.
			out, _ := fixBytes(t, k.FileName(), messy, Options{DateOrder: MDY}, nil)
			again, res := fixBytes(t, k.FileName(), out, Options{DateOrder: MDY}, nil)
			if !bytes.Equal(out, again) {
				t.Fatalf("seed %d %s: fix(fix(f)) != fix(f):\n%s", seed, k, firstDiff(again, out))
			}
			if len(res.Changes) != 0 {
				t.Fatalf("seed %d %s: second fix changed %v", seed, k, res.Changes)
			}
			fixed[k] = out
		}
		rep := validateSet(t, fixed)
		for _, f := range rep.Findings {
			if r, _ := check.RuleByID(f.Rule); r.Fixable || f.Severity == check.Error {
				t.Fatalf("seed %d: %s row %d %s: %s: %s", seed, f.File, f.Row, f.Field, f.Rule, f.Message)
			}
		}
	}
}

func TestDateOrderDecidedPerColumn(t *testing.T) {
	hdr := "customerId,dateCreated,noteText\n"
	cases := []struct {
		name  string
		rows  string
		order Order
		want  []string // dateCreated values after the fix
		unres int
	}{
		{"month-first proven", "C1,1/13/2025 9:00,a\nC2,2/3/2025 14:05,b\n", OrderUnknown, []string{"2025-01-13 09:00:00", "2025-02-03 14:05:00"}, 0},
		{"day-first proven", "C1,13/1/2025 9:00,a\nC2,2/3/2025 14:05,b\n", OrderUnknown, []string{"2025-01-13 09:00:00", "2025-03-02 14:05:00"}, 0},
		{"ambiguous left", "C1,1/2/2025 9:00,a\nC2,2/3/2025 14:05,b\n", OrderUnknown, []string{"1/2/2025 9:00", "2/3/2025 14:05"}, 1},
		{"ambiguous with --date-order dmy", "C1,1/2/2025 9:00,a\nC2,2/3/2025 14:05,b\n", DMY, []string{"2025-02-01 09:00:00", "2025-03-02 14:05:00"}, 0},
		{"inconsistent left", "C1,13/1/2025 9:00,a\nC2,1/13/2025 14:05,b\n", OrderUnknown, []string{"13/1/2025 9:00", "1/13/2025 14:05"}, 1},
		{"proof beats a contrary --date-order", "C1,13/1/2025 9:00,a\n", MDY, []string{"13/1/2025 9:00"}, 1},
		{"ISO needs no order", "C1,2025-01-02T03:04:05Z,a\nC2,2025-1-2 3:04,b\n", OrderUnknown, []string{"2025-01-02 03:04:05", "2025-01-02 03:04:00"}, 0},
		{"12-hour clock", "C1,1/13/2025 12:30 AM,a\nC2,1/13/2025 12:30 PM,b\n", OrderUnknown, []string{"2025-01-13 00:30:00", "2025-01-13 12:30:00"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, res := fixBytes(t, "notes.csv", []byte(hdr+tc.rows), Options{DateOrder: tc.order}, nil)
			rows := readAll(t, out)
			for i, w := range tc.want {
				if got := rows[i+1][1]; got != w {
					t.Errorf("row %d: %q, want %q", i+2, got, w)
				}
			}
			if len(res.Unresolved) != tc.unres {
				t.Errorf("unresolved %+v, want %d", res.Unresolved, tc.unres)
			}
		})
	}
}

func TestFillRequiredOnly(t *testing.T) {
	files := generate(t, 5, 2)
	rows := readAll(t, files[legacy.Transactions])
	spec := legacy.SpecFor(legacy.Transactions)
	phone, home := spec.Index(legacy.FPhoneNumber), spec.Index(legacy.FHomePhone)
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	for i, r := range rows {
		if i > 0 {
			r[phone], r[home] = "", ""
		}
		w.Write(r)
	}
	w.Flush()
	opts := Options{Fill: map[string]string{legacy.FPhoneNumber: "1111111111", legacy.FHomePhone: "2222222222"}}
	out, res := fixBytes(t, "t.csv", b.Bytes(), opts, nil)
	for i, r := range readAll(t, out)[1:] {
		if r[phone] != "1111111111" || r[home] != "" {
			t.Fatalf("row %d: phoneNumber %q homePhone %q: want the required one filled, the optional one left", i+2, r[phone], r[home])
		}
	}
	if res.Changes[check.RuleRequired] != len(rows)-1 {
		t.Fatalf("changes %v, want %d required", res.Changes, len(rows)-1)
	}
}

func TestBlocked(t *testing.T) {
	cases := []struct{ name, data, rule string }{
		{"syntax", "customerId,dateCreated,noteText\nC1,2025-01-01 00:00:00,\"open\n", check.RuleCSVSyntax},
		{"field count", "customerId,dateCreated,noteText\nC1,2025-01-01 00:00:00\n", check.RuleCSVFieldCount},
		{"unknown column", "customerId,dateCreated,noteText,mood\nC1,2025-01-01 00:00:00,x,y\n", check.RuleHeaderUnknown},
		{"duplicate column", "customerId,dateCreated,noteText,noteText\nC1,2025-01-01 00:00:00,x,y\n", check.RuleHeaderDuplicate},
		{"no header", "a,b,c\n1,2,3\n", check.RuleFileKindUnknown},
		{"empty", "", check.RuleFileEmpty},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := File(context.Background(), input("x.csv", []byte(tc.data)), &out, Options{}, nil)
			be, ok := err.(*BlockedError)
			if !ok || be.Rule != tc.rule {
				t.Fatalf("err %v, want a blocked %s", err, tc.rule)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote %d bytes for a blocked file", out.Len())
			}
		})
	}
}

// TestGoldenChangeLog: a small hand-written file with one defect of each
// kind gives the committed output and change log (CSV and JSON).
func TestGoldenChangeLog(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "messy_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var csvLog, jsonLog bytes.Buffer
	cl, jl := NewCSVLog(&csvLog), NewJSONLog(&jsonLog)
	out, _ := fixBytes(t, "messy_transactions.csv", in, Options{Fill: map[string]string{legacy.FPhoneNumber: "1111111111"}}, both{cl, jl})
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := jl.Close(); err != nil {
		t.Fatal(err)
	}
	golden(t, "messy_transactions.fixed.csv", out)
	golden(t, "messy_transactions.changes.csv", csvLog.Bytes())
	golden(t, "messy_transactions.changes.json", jsonLog.Bytes())
	if strings.Contains(csvLog.String(), "tok_golden_secret") {
		t.Fatal("the change log shows an externalToken whole")
	}
}

type both [2]ChangeLog

func (b both) Add(c Change) error {
	if err := b[0].Add(c); err != nil {
		return err
	}
	return b[1].Add(c)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (UPDATE_GOLDEN=1 to accept):\n%s", name, firstDiff(got, want))
	}
}

func TestFilesNeverOverwritesInputAndSkipsBlocked(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "notes.csv")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(good, []byte("customerId,dateCreated,noteText\nC1,2025-01-02T03:04:05Z,x\n"), 0o600)
	os.WriteFile(bad, []byte("a,b\n1,2\n"), 0o600)
	if _, err := Files(context.Background(), []string{good}, dir, Options{}, nil); err == nil {
		t.Fatal("fixing into the input's directory overwrote the input")
	}
	out := filepath.Join(dir, "out")
	res, err := Files(context.Background(), []string{good, bad}, out, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || len(res.Blocked) != 1 {
		t.Fatalf("files %d blocked %d", len(res.Files), len(res.Blocked))
	}
	if _, err := os.Stat(filepath.Join(out, "bad.csv")); !os.IsNotExist(err) {
		t.Fatalf("a blocked file was written: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "notes.csv"))
	if !strings.Contains(string(b), `"2025-01-02 03:04:05"`) {
		t.Fatalf("output %q", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Files(ctx, []string{good}, filepath.Join(dir, "cancelled"), Options{}, nil); err == nil {
		t.Fatal("a cancelled fix succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "cancelled", "notes.csv")); !os.IsNotExist(err) {
		t.Fatal("a cancelled fix left a file")
	}
}

type memLog []Change

func (m *memLog) Add(c Change) error { *m = append(*m, c); return nil }

func TestMixedEncodingAndMaskedLog(t *testing.T) {
	data := "customerId,loginId,password,custom1\nC1,Zo\u00eb,s\xe9cretpassword,Ren\xe9\n"
	var log memLog
	out, _ := fixBytes(t, "details.csv", []byte(data), Options{}, &log)
	rows := readAll(t, out)
	if got := rows[1]; got[1] != "Zo\u00eb" || got[2] != "s\u00e9cretpassword" || got[3] != "Ren\u00e9" {
		t.Fatalf("row %q", got)
	}
	for _, c := range log {
		if strings.Contains(c.Before+c.After, "cret") && c.Field == legacy.FPassword {
			t.Fatalf("password shown in the change log: %+v", c)
		}
	}
	enc := 0
	for _, c := range log {
		if c.Rule == check.RuleEncoding {
			enc++
		}
	}
	if enc != 3 { // the file, password, custom1; loginId was UTF-8 already
		t.Fatalf("log %+v", log)
	}
}

// redelimit rewrites a comma-separated text separated by delim, as a
// spreadsheet exports it (cells quoted only where they must be).
func redelimit(t testing.TB, data []byte, delim rune, crlf bool) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = delim, crlf
	for _, r := range readAll(t, data) {
		w.Write(r)
	}
	w.Flush()
	return b.Bytes()
}

// TestDelimitedFiles: a file separated by ';' or a tab is written
// comma-separated, exactly as its comma-separated version would be, with
// the change logged; fixing it again changes nothing.
func TestDelimitedFiles(t *testing.T) {
	files := generate(t, 60, 3)
	for _, k := range legacy.Kinds {
		messy, _ := messUp(t, k, files[k], 9, false)
		for _, tc := range []struct {
			name  string
			delim rune
			crlf  bool
			bom   bool
		}{{"semicolon", ';', false, false}, {"tab", '\t', true, false}, {"semicolon with BOM", ';', true, true}} {
			t.Run(k.String()+"/"+tc.name, func(t *testing.T) {
				for _, src := range [][]byte{files[k], messy} {
					// The same cells separated by commas (a writer using
					// CRLF also writes line breaks inside cells as CRLF).
					want, _ := fixBytes(t, k.FileName(), redelimit(t, src, ',', tc.crlf), Options{DateOrder: MDY}, nil)
					in := redelimit(t, src, tc.delim, tc.crlf)
					if tc.bom {
						in = append([]byte("\xEF\xBB\xBF"), in...)
					}
					var log memLog
					got, res := fixBytes(t, k.FileName(), in, Options{DateOrder: MDY}, &log)
					if !bytes.Equal(got, want) {
						t.Fatalf("differs from the fixed comma-separated file:\n%s", firstDiff(got, want))
					}
					if res.Changes[check.RuleCSVDelimiter] != 1 || log[0].Rule != check.RuleCSVDelimiter || log[0].Row != 1 || !strings.Contains(log[0].Before, legacy.DelimiterName(byte(tc.delim))) {
						t.Fatalf("changes %v, log %+v", res.Changes, log[0])
					}
					if _, res := fixBytes(t, k.FileName(), got, Options{DateOrder: MDY}, nil); len(res.Changes) != 0 {
						t.Fatalf("fixing again changed %v", res.Changes)
					}
				}
			})
		}
	}
}

// TestSpreadsheetNumbersLeftAlone: values a spreadsheet rewrote are not
// "repaired" into other numbers (a phone ending .0 is not 11 digits); they
// stay, and validate reports them.
func TestSpreadsheetNumbersLeftAlone(t *testing.T) {
	files := generate(t, 5, 2)
	rows := readAll(t, files[legacy.Transactions])
	spec := legacy.SpecFor(legacy.Transactions)
	set := map[string]string{
		legacy.FPhoneNumber:    rows[1][spec.Index(legacy.FPhoneNumber)] + ".0",
		legacy.FTrackingNumber: "9.4001112114934E+015",
		legacy.FShipTotal:      "5.99E+00",
		legacy.FPostalCode:     "2134.0",
	}
	for f, v := range set {
		rows[1][spec.Index(f)] = v
	}
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	for _, r := range rows {
		w.Write(r)
	}
	w.Flush()
	var log memLog
	out, _ := fixBytes(t, "t.csv", b.Bytes(), Options{}, &log)
	got := readAll(t, out)[1]
	for f, v := range set {
		if got[spec.Index(f)] != v {
			t.Errorf("%s: %q became %q", f, v, got[spec.Index(f)])
		}
	}
	for _, c := range log {
		if c.Row == 2 {
			t.Errorf("changed %+v", c)
		}
	}
	rep, err := check.Validate(context.Background(), []legacy.Input{input("t.csv", out)}, check.Options{AsOf: asOf.String(), MaxFindings: -1})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Rule == check.RuleSpreadsheetNumber {
			n++
		}
	}
	if n != len(set) {
		t.Fatalf("%d spreadsheet-number findings, want %d: %v", n, len(set), rep.Findings)
	}
}
