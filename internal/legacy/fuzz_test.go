package legacy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// FuzzReader: any input reads to the end without panicking, rows only grow,
// and no record exceeds the limit.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("\"a\"\"b\",\"c\nd\"\r\n,\n"))
	f.Add([]byte("\xEF\xBB\xBFx\ry\r"))
	f.Add([]byte("a,\"b\n"))
	f.Add([]byte("a\"b,c\x00d\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.chunker.maxRecord = 64
		last := 0
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return
			}
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("fatal error on in-memory input: %v", err)
			}
			row := 0
			if rec != nil {
				row = rec.Row
				n := 0
				for _, f := range rec.Fields {
					n += len(f)
				}
				if n > len(data) {
					t.Fatalf("fields hold %d bytes of a %d-byte input", n, len(data))
				}
			} else {
				row = pe.Row
			}
			if row <= last {
				t.Fatalf("row %d after row %d", row, last)
			}
			last = row
		}
	})
}

// FuzzOpen: any input opens without panicking (a read error only for a
// failing reader, never for in-memory data); data rows come after the
// header's row and only grow; a ';' or tab file is recognised only with a
// header of a known kind.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("customerId,dateCreated,noteText,agentName\nC1,2024-01-02 03:04:05,x,y\n"))
	f.Add([]byte("\xEF\xBB\xBFcustomerId;dateCreated;noteText;agentName\r\n\"C;1\";x;\"a\"\"b\";c\r\n"))
	f.Add([]byte("\n\ncustomerId\tdateCreated\tnoteText\tagentName\r\"x\ny\"\tb\r"))
	f.Add([]byte("\"customerId;dateCreated\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := NewFile(context.Background(), "f.csv", bytes.NewReader(data), 64)
		if err != nil {
			t.Fatalf("in-memory input: %v", err)
		}
		if lf.Delim != 0 && lf.Kind == 0 {
			t.Fatalf("delimiter %q with no kind", lf.Delim)
		}
		if lf.Empty != (len(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))) == 0) {
			t.Fatalf("empty %v for %d bytes", lf.Empty, len(data))
		}
		last := lf.HeaderRow
		for {
			rec, err := lf.ReadRaw()
			if err == io.EOF {
				return
			}
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("fatal error on in-memory input: %v", err)
			}
			row := 0
			if rec != nil {
				row = rec.Row
			} else {
				row = pe.Row
			}
			if row <= last {
				t.Fatalf("row %d after row %d", row, last)
			}
			last = row
		}
	})
}
