package source

import (
	"context"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes through the encoding and delimiter
// sniffers and the reader: no panic, every record as wide as the header,
// and no CVV-like column ever in the header.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("\xef\xbb\xbfname;cvv\nx;123\n"))
	f.Add([]byte("\xff\xfea\x00\t\x00b\x00\n\x001\x00\t\x002\x00\n\x00"))
	f.Add([]byte("\"un\nbalanced,1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(context.Background(), memTable("f.csv", b), Options{})
		if err != nil {
			return
		}
		defer r.Close()
		for _, h := range r.Header() {
			if IsCVVName(h) {
				t.Fatalf("CVV-like column %q kept", h)
			}
		}
		for i := 0; i < 1000; i++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *RowError
			if errors.As(err, &re) {
				continue
			}
			if err != nil {
				return
			}
			if len(rec.Fields) != len(r.Header()) {
				t.Fatalf("record of %d fields under a header of %d", len(rec.Fields), len(r.Header()))
			}
		}
	})
}
