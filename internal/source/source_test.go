package source

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func memTable(name string, b []byte) Table {
	return Table{File: name, open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

func readAll(t *testing.T, tb Table, opts Options) (*Reader, []Record, []error) {
	t.Helper()
	r, err := NewReader(context.Background(), tb, opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	var recs []Record
	var errs []error
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, err)
			var re *RowError
			if !errors.As(err, &re) {
				break
			}
			continue
		}
		recs = append(recs, rec)
	}
	return r, recs, errs
}

func mustEncode(t *testing.T, enc interface{ Bytes([]byte) ([]byte, error) }, s string) []byte {
	t.Helper()
	b, err := enc.Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodingsAndDelimiters(t *testing.T) {
	text := "Name;Stadt;Betrag\nJosé Müller;Köln;1.234,50 €\n"
	tests := []struct {
		name  string
		bytes []byte
		enc   string
		delim rune
	}{
		{"utf8", []byte(text), UTF8, ';'},
		{"utf8 bom", append([]byte{0xEF, 0xBB, 0xBF}, text...), UTF8BOM, ';'},
		{"utf16le bom", mustEncode(t, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder(), text), UTF16LE, ';'},
		{"utf16be bom", mustEncode(t, unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder(), text), UTF16BE, ';'},
		{"utf16le no bom", mustEncode(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder(), text), UTF16LE, ';'},
		{"windows-1252", mustEncode(t, charmap.Windows1252.NewEncoder(), text), Windows1252, ';'},
		{"tab", []byte(strings.ReplaceAll(text, ";", "\t")), UTF8, '\t'},
		{"comma quoted", []byte("Name,Stadt,Betrag\r\n\"José Müller\",Köln,\"1.234,50 €\"\r\n"), UTF8, ','},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, recs, errs := readAll(t, memTable("x.csv", tc.bytes), Options{})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if r.Encoding() != tc.enc || r.Delimiter() != tc.delim {
				t.Errorf("encoding %s delimiter %q, want %s %q", r.Encoding(), r.Delimiter(), tc.enc, tc.delim)
			}
			if got := strings.Join(r.Header(), "|"); got != "Name|Stadt|Betrag" {
				t.Errorf("header %q", got)
			}
			if len(recs) != 1 || strings.Join(recs[0].Fields, "|") != "José Müller|Köln|1.234,50 €" {
				t.Errorf("records %v", recs)
			}
		})
	}
}

func TestSniffDelimiter(t *testing.T) {
	tests := []struct {
		in   string
		want rune
	}{
		{"a,b,c\n1,2,3\n", ','},
		{"a;b;c\n1;2,5;3\n", ';'},
		{"a\tb\n1\t2\n", '\t'},
		{"\"a;x\",b,c\n\"1;2\",2,3\n", ','},
		{"single\nvalue\n", ','},
		{"a;b\n\"multi\nline\";2\n", ';'},
	}
	for _, tc := range tests {
		if got := SniffDelimiter([]byte(tc.in)); got != tc.want {
			t.Errorf("SniffDelimiter(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCVVColumnsDropped(t *testing.T) {
	names := map[string]bool{
		"cvv": true, "CVV2": true, "Card CVC": true, "cc_cvv": true, "card.cvc2": true, "CID": true, "csc": true,
		"Track 1": true, "track2": true, "PIN": true, "Security Code": true, "card_security_code": true,
		"Card CVC Status": false, "pinterest": false, "customer id": false, "tracking": false, "description": false, "spin": false,
	}
	for n, want := range names {
		if got := IsCVVName(n); got != want {
			t.Errorf("IsCVVName(%q) = %v, want %v", n, got, want)
		}
	}
	src := "id,card,CVV2,exp\n1,4111,907,12/30\n2,5500,318,01/31\n3,5500, ,01/31\n4,5500,,01/31\n"
	r, recs, errs := readAll(t, memTable("cards.csv", []byte(src)), Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if r.DroppedValues() != 2 {
		t.Errorf("DroppedValues = %d, want 2 (empty cells discard nothing)", r.DroppedValues())
	}
	if strings.Join(r.Header(), ",") != "id,card,exp" || strings.Join(r.Dropped(), ",") != "CVV2" {
		t.Fatalf("header %v dropped %v", r.Header(), r.Dropped())
	}
	for _, rec := range recs {
		for _, f := range rec.Fields {
			if f == "907" || f == "318" {
				t.Fatal("a CVV value was kept")
			}
		}
	}
}

func TestRowsAndErrors(t *testing.T) {
	src := "a,b\n1,\"two\nlines\"\n\n3\n4,5\n6,\"bad\"quote\n7,8\n"
	_, recs, errs := readAll(t, memTable("f.csv", []byte(src)), Options{})
	var rows []int
	for _, r := range recs {
		rows = append(rows, r.Row)
	}
	// The quoted field spans two lines and counts as one row; the blank
	// line is skipped; the short record and the stray quote are errors.
	if len(recs) != 3 || rows[0] != 2 || recs[1].Fields[0] != "4" || rows[1] != 4 || recs[2].Fields[0] != "7" {
		t.Errorf("records %v rows %v", recs, rows)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "f.csv row 3 (line 5): 1 fields, the header has 2") {
		t.Errorf("errors %v", errs)
	}
}

func TestMixedEncodingIsAnError(t *testing.T) {
	// Valid UTF-8 in the sniffed head, a Windows-1252 byte much later.
	var b bytes.Buffer
	b.WriteString("name\n")
	for b.Len() < sniffSize+100 {
		b.WriteString("plain ascii row\n")
	}
	b.WriteString("caf\xe9\n")
	_, _, errs := readAll(t, memTable("m.csv", b.Bytes()), Options{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "not valid UTF-8") {
		t.Fatalf("errors %v", errs)
	}
}

func writeZip(t *testing.T, path string, entries map[string][]byte, method uint16) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	csvPath := filepath.Join(dir, "a.csv")
	os.WriteFile(csvPath, []byte("x,y\n1,2\n"), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("x;y\n1;2\n"))
	zw.Close()
	gzPath := filepath.Join(dir, "b.csv.gz")
	os.WriteFile(gzPath, gz.Bytes(), 0o644)
	zipPath := filepath.Join(dir, "c.zip")
	writeZip(t, zipPath, map[string][]byte{"export/orders.csv": []byte("x\ty\n1\t2\n"), "readme.pdf": []byte("%PDF"), "__MACOSX/._orders.csv": []byte("junk")}, zip.Deflate)
	for _, p := range []string{csvPath, gzPath, zipPath} {
		a, err := Open(ctx, p, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(a.Tables) != 1 {
			t.Fatalf("%s: tables %v", p, a.Tables)
		}
		_, recs, errs := readAll(t, a.Tables[0], Options{})
		if len(errs) > 0 || len(recs) != 1 || strings.Join(recs[0].Fields, ",") != "1,2" {
			t.Errorf("%s: %v %v", p, recs, errs)
		}
		a.Close()
	}
	if _, err := Open(ctx, filepath.Join(dir, "x.xlsx"), DefaultLimits); err == nil {
		t.Error("an .xlsx opened")
	}
}

func TestZipLimits(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	big := bytes.Repeat([]byte("a,b,c\n"), 1<<20) // 6 MiB that compresses ~1000:1
	tests := []struct {
		name    string
		entries map[string][]byte
		lim     Limits
		want    string
	}{
		{"escaping path", map[string][]byte{"../evil.csv": []byte("a\n")}, DefaultLimits, "escapes"},
		{"absolute path", map[string][]byte{"/etc/x.csv": []byte("a\n")}, DefaultLimits, "escapes"},
		{"backslash path", map[string][]byte{`..\evil.csv`: []byte("a\n")}, DefaultLimits, "escapes"},
		{"too many entries", map[string][]byte{"a.csv": {}, "b.csv": {}, "c.csv": {}}, Limits{MaxEntries: 2}, "entries"},
		{"entry too big", map[string][]byte{"a.csv": big}, Limits{MaxEntrySize: 1 << 20}, "bytes"},
		{"ratio", map[string][]byte{"a.csv": big}, Limits{MaxRatio: 100}, "compresses"},
		{"no csv", map[string][]byte{"a.pdf": []byte("x")}, DefaultLimits, "no .csv entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".zip")
			writeZip(t, p, tc.entries, zip.Deflate)
			_, err := Open(ctx, p, tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A gzip bomb is stopped while streaming.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("a,b,c\n"))
	zw.Write(big)
	zw.Close()
	p := filepath.Join(dir, "bomb.csv.gz")
	os.WriteFile(p, gz.Bytes(), 0o644)
	a, err := Open(ctx, p, Limits{MaxRatio: 100})
	if err != nil {
		t.Fatal(err)
	}
	_, _, errs := readAll(t, a.Tables[0], Options{})
	if len(errs) == 0 || !errors.Is(errs[len(errs)-1], ErrLimit) {
		t.Fatalf("gzip bomb read: %v", errs)
	}
}

func TestEmptyFile(t *testing.T) {
	_, err := NewReader(context.Background(), memTable("e.csv", nil), Options{})
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestRecordTooLong(t *testing.T) {
	src := "a,b\n1,2\n3,\"never closed\n" + strings.Repeat("x,y\n", 2000)
	_, recs, errs := readAll(t, memTable("q.csv", []byte(src)), Options{MaxRecordBytes: 1000})
	if len(recs) != 1 || len(errs) == 0 || !errors.Is(errs[len(errs)-1], ErrRecordTooLong) {
		t.Fatalf("records %v errors %v", recs, errs)
	}
	// Long quoted multi-line fields under the cap are fine.
	ok := "a,b\n\"" + strings.Repeat("line\n", 100) + "\",2\n"
	if _, recs, errs := readAll(t, memTable("ok.csv", []byte(ok)), Options{MaxRecordBytes: 1000}); len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("records %d errors %v", len(recs), errs)
	}
}
