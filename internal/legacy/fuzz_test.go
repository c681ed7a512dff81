package legacy

import (
	"bytes"
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

// FuzzParseRecord: the one-pass parser gives exactly what SplitRecord and
// ParseFields give, record by record.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("\"a\",\"b\"\"c\",d\r\n\"e\nf\",,\n"), false)
	f.Add([]byte("a,b\"c\nd,e"), false)
	f.Add([]byte("\"a\"x,b\n\"open"), false)
	f.Add([]byte("x\ry,\"z\"\r"), true)
	f.Add([]byte(",,,\n\n,"), false)
	f.Fuzz(func(t *testing.T, data []byte, cr bool) {
		term := byte('\n')
		if cr {
			term = '\r'
		}
		for pos := 0; pos < len(data); {
			fast, _, next, fe, ferr := ParseRecord(data, pos, term, nil, nil, 8)
			rec, snext, _ := SplitRecord(data, pos, term)
			slow, _, se, serr := ParseFields(rec, nil, nil, 8)
			if next != snext || ferr != serr || (serr != nil && fe != se) {
				t.Fatalf("at %d: fast next %d err %v@%d, slow next %d err %v@%d", pos, next, ferr, fe, snext, serr, se)
			}
			if serr == nil {
				if len(fast) != len(slow) {
					t.Fatalf("at %d: %q vs %q", pos, fast, slow)
				}
				for i := range fast {
					if !bytes.Equal(fast[i], slow[i]) {
						t.Fatalf("at %d field %d: %q vs %q", pos, i, fast[i], slow[i])
					}
				}
			}
			pos = next
		}
	})
}
