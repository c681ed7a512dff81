package legacy

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

type readResult struct {
	Row, Line int
	Fields    []string
	Err       error
}

func readAll(t *testing.T, in string, maxRecord int) []readResult {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	r.chunker.maxRecord = maxRecord
	if maxRecord == 0 {
		r.chunker.maxRecord = DefaultMaxRecordBytes
	}
	var out []readResult
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("fatal error: %v", err)
		}
		res := readResult{Err: nil}
		if pe != nil {
			res.Row, res.Line, res.Err = pe.Row, pe.Line, pe.Err
		}
		if rec != nil {
			res.Row, res.Line, res.Fields = rec.Row, rec.Line, rec.Fields
		}
		out = append(out, res)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []readResult
	}{
		{"plain", "a,b\n1,2\n", []readResult{{1, 1, []string{"a", "b"}, nil}, {2, 2, []string{"1", "2"}, nil}}},
		{"no final newline", "a,b\n1,2", []readResult{{1, 1, []string{"a", "b"}, nil}, {2, 2, []string{"1", "2"}, nil}}},
		{"crlf", "a,b\r\n1,2\r\n", []readResult{{1, 1, []string{"a", "b"}, nil}, {2, 2, []string{"1", "2"}, nil}}},
		{"cr only", "a,b\r1,2\r", []readResult{{1, 1, []string{"a", "b"}, nil}, {2, 2, []string{"1", "2"}, nil}}},
		{"quoted", "\"a\",\"b,c\"\n\"x \"\"y\"\"\",\"\"\n", []readResult{{1, 1, []string{"a", "b,c"}, nil}, {2, 2, []string{"x \"y\"", ""}, nil}}},
		{"multiline field is one row", "h1,h2\n\"line1\nline2\",x\nnext,y\n", []readResult{
			{1, 1, []string{"h1", "h2"}, nil}, {2, 2, []string{"line1\nline2", "x"}, nil}, {3, 4, []string{"next", "y"}, nil}}},
		{"blank line keeps its row", "a\n\nb\n", []readResult{{1, 1, []string{"a"}, nil}, {3, 3, []string{"b"}, nil}}},
		{"bom stripped", "\xEF\xBB\xBFa,b\n", []readResult{{1, 1, []string{"a", "b"}, nil}}},
		{"bare quote", "a,b\"c\nd,e\n", []readResult{{1, 1, []string{"a", "b\"c\nd", "e"}, ErrBareQuote}}},
		{"text after quote", "\"a\"x,b\n", []readResult{{1, 1, []string{"a", "b"}, ErrTextAfterQuote}}},
		{"unclosed quote", "a,\"b\nc\n", []readResult{{1, 1, []string{"a", "b\nc"}, ErrQuoteNotClosed}}},
		{"quoted CR before the first newline", "\"a\rb\",c\nd,e\n", []readResult{{1, 1, []string{"a\rb", "c"}, nil}, {2, 2, []string{"d", "e"}, nil}}},
		{"quoted LF in a CR-only file", "\"a\nb\",c\rd,e\r", []readResult{{1, 1, []string{"a\nb", "c"}, nil}, {2, 2, []string{"d", "e"}, nil}}},
		{"nul byte", "a,b\x00c\n", []readResult{{1, 1, []string{"a", "b\x00c"}, ErrNUL}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, tt.in, 0)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestReaderOversizedRecord(t *testing.T) {
	big := strings.Repeat("x", 5000)
	in := "a,b\n\"" + big + "\",1\nc,d\n"
	got := readAll(t, in, 1000)
	want := []readResult{{1, 1, []string{"a", "b"}, nil}, {2, 2, nil, ErrRecordTooLarge}, {3, 3, []string{"c", "d"}, nil}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	// An unbalanced quote early in a long file is skipped in bounded memory
	// and reported where its record started.
	in = "a,b\n\"oops,1\n" + strings.Repeat("c,d\n", 1000)
	got = readAll(t, in, 1000)
	if len(got) != 2 || got[1].Err != ErrQuoteNotClosed || got[1].Row != 2 || got[1].Line != 2 {
		t.Errorf("got %#v", got)
	}
}

func TestReaderManyFields(t *testing.T) {
	in := strings.Repeat("x,", 100000) + "x\n"
	got := readAll(t, in, 0)
	if len(got) != 1 || got[0].Err != ErrTooManyFields {
		t.Fatalf("got %d records, err %v", len(got), got[0].Err)
	}
}

// TestReaderMatchesEncodingCSV: on well-formed input, records equal those of
// the standard library across chunk boundaries.
func TestReaderMatchesEncodingCSV(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 3*chunkSize; i++ {
		b.WriteString(`"id` + strings.Repeat("7", i%13) + `","multi` + "\n" + `line","quote ""q""",plain,` + "\r\n")
	}
	in := b.String()
	want, err := csv.NewReader(strings.NewReader(in)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, in, 0)
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Err != nil || !reflect.DeepEqual(got[i].Fields, want[i]) {
			t.Fatalf("record %d: got %q err %v, want %q", i, got[i].Fields, got[i].Err, want[i])
		}
		if got[i].Row != i+1 || got[i].Line != 2*i+1 {
			t.Fatalf("record %d at row %d line %d", i, got[i].Row, got[i].Line)
		}
	}
}

func TestLetterAndSpec(t *testing.T) {
	s := SpecFor(Transactions)
	if n := len(s.Columns); n != 58 {
		t.Fatalf("%d transaction columns, want 58 (A..BF)", n)
	}
	if l := s.Columns[57].Letter; l != "BF" {
		t.Errorf("last letter %s", l)
	}
	if c, _ := s.Column(FEmailAddress); c.Letter != "AL" {
		t.Errorf("emailAddress letter %s", c.Letter)
	}
	if DetectKind([]string{"customerId", "dateCreated", "agentName", "noteText"}) != Notes {
		t.Error("notes not detected")
	}
	if DetectKind([]string{"hello", "world"}) != 0 {
		t.Error("garbage detected as a kind")
	}
	if m := Mask("secret-value-4444"); m != "*************4444" {
		t.Errorf("Mask = %s", m)
	}
}

func TestColumns(t *testing.T) {
	c := NewColumns([]string{"b", "a", "b"})
	row := []string{"1", "2", "3"}
	if c.Get(row, "a") != "2" || c.Get(row, "b") != "1" || c.Get(row, "z") != "" || c.Get(row[:1], "a") != "" {
		t.Fatalf("Columns %v", c)
	}
}
