package legacy

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestOpen: one call gives a file's kind, header, columns and data rows,
// whatever the file's byte-order mark, delimiter, line endings or blank
// lines; rows keep their spreadsheet numbers.
func TestOpen(t *testing.T) {
	const hdr = "customerId,dateCreated,noteText,agentName"
	for _, tc := range []struct {
		name, in    string
		kind        Kind
		delim       byte
		bom, cr     bool
		headerRow   int
		rows        []int // data rows' numbers
		texts       []string
		blankBefore int
	}{
		{"plain", hdr + "\nC1,2024-01-02 03:04:05,hello,Ann\nC2,2024-01-02 03:04:05,\"a, b\",Bo\n", Notes, 0, false, false, 1, []int{2, 3}, []string{"hello", "a, b"}, 0},
		{"bom crlf", "\xEF\xBB\xBF" + strings.ReplaceAll(hdr+"\nC1,2024-01-02 03:04:05,hi,Ann\n", "\n", "\r\n"), Notes, 0, true, false, 1, []int{2}, []string{"hi"}, 0},
		{"semicolons", "\xEF\xBB\xBF" + strings.ReplaceAll(hdr, ",", ";") + "\nC1;2024-01-02 03:04:05;\"x;y\";Ann\nC2;2024-01-02 03:04:05;a,b;Bo\n", Notes, ';', true, false, 1, []int{2, 3}, []string{"x;y", "a,b"}, 0},
		{"tabs, CR only", strings.ReplaceAll(strings.ReplaceAll(hdr, ",", "\t")+"\nC1\t2024-01-02 03:04:05\tt\tAnn\n", "\n", "\r"), Notes, '\t', false, true, 1, []int{2}, []string{"t"}, 0},
		{"blank lines", "\n\n" + hdr + "\n\nC1,2024-01-02 03:04:05,\"two\nlines\",Ann\nC2,2024-01-02 03:04:05,z,Bo\n", Notes, 0, false, false, 3, []int{5, 6}, []string{"two\nlines", "z"}, 2},
		{"unknown", "a,b,c\n1,2,3\n", 0, 0, false, false, 1, []int{2}, []string{""}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFile(context.Background(), "f.csv", iotest.OneByteReader(strings.NewReader(tc.in)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != tc.kind || f.Delim != tc.delim || f.BOM != tc.bom || f.CROnly != tc.cr || f.HeaderRow != tc.headerRow || len(f.BlankRows()) != tc.blankBefore {
				t.Fatalf("kind %v delim %q bom %v cr %v header row %d blank %v", f.Kind, f.Delim, f.BOM, f.CROnly, f.HeaderRow, f.BlankRows())
			}
			if tc.kind != 0 && (f.Header[0] != FCustomerID || f.Columns[FNoteText] != 2) {
				t.Fatalf("header %q columns %v", f.Header, f.Columns)
			}
			var rows []int
			var texts []string
			for {
				rec, err := f.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, rec.Row)
				texts = append(texts, f.Columns.Get(rec.Fields, FNoteText))
			}
			if strings.Join(texts, "|") != strings.Join(tc.texts, "|") || len(rows) != len(tc.rows) {
				t.Fatalf("rows %v texts %q", rows, texts)
			}
			for i := range rows {
				if rows[i] != tc.rows[i] {
					t.Fatalf("rows %v, want %v", rows, tc.rows)
				}
			}
		})
	}
}

func TestOpenEmptyAndErrors(t *testing.T) {
	f, err := NewFile(context.Background(), "e.csv", strings.NewReader("\xEF\xBB\xBF"), 0)
	if err != nil || !f.Empty || !f.BOM {
		t.Fatalf("empty: %+v %v", f, err)
	}
	var de *DataError
	if err := f.CheckHeader(0); !errors.As(err, &de) || de.Row != 1 || !strings.Contains(err.Error(), "e.csv row 1: the file is empty") {
		t.Fatalf("empty: %v", err)
	}
	f, _ = NewFile(context.Background(), "u.csv", strings.NewReader("a,b\n"), 0)
	if err := f.CheckHeader(0); !errors.As(err, &de) || de.Row != 1 {
		t.Fatalf("unknown: %v", err)
	}
	f, _ = NewFile(context.Background(), "n.csv", strings.NewReader("customerId,dateCreated,noteText,agentName\nC1,x,\"bad\"x,y\n"), 0)
	if err := f.CheckHeader(Transactions); !errors.As(err, &de) || !strings.Contains(err.Error(), "not a transactions file") {
		t.Fatalf("other kind: %v", err)
	}
	_, err = f.Read()
	if err = f.DataErrorOf(err); !errors.As(err, &de) || de.Row != 2 {
		t.Fatalf("syntax error: %v", err)
	}
	if _, err := Open(context.Background(), Input{Name: "missing.csv", Open: func() (io.ReadCloser, error) { return nil, errors.New("no such file") }}); err == nil || !strings.HasPrefix(err.Error(), "open missing.csv: ") {
		t.Fatalf("open: %v", err)
	}
}
