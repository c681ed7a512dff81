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
