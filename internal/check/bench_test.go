package check

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

// benchFile generates a 20,000-row transactions file once per benchmark run.
func benchFile(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{MaxRows: 20000, Seed: 1, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, dir); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, legacy.Transactions.FileName())
}

// BenchmarkEncodingCSV is the baseline: the standard library merely parsing.
func BenchmarkEncodingCSV(b *testing.B) {
	path := benchFile(b)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		f, _ := os.Open(path)
		r := csv.NewReader(f)
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// BenchmarkValidate is the full rule set on the same file.
func BenchmarkValidate(b *testing.B) {
	path := benchFile(b)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		rep, err := Validate(context.Background(), legacy.FileInputs([]string{path}), Options{AsOf: "2025-06-30", MaxFindings: 10})
		if err != nil || rep.Errors() != 0 {
			b.Fatal(err, rep.Errors())
		}
	}
}
