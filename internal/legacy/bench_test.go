package legacy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

func benchData(b *testing.B) []byte {
	dir := b.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{MaxRows: 20000, Seed: 1, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, dir); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, legacy.Transactions.FileName()))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkSplitParse is the validator's parser alone over a generated file.
func BenchmarkSplitParse(b *testing.B) {
	data := benchData(b)
	b.SetBytes(int64(len(data)))
	var fields [][]byte
	var scratch []byte
	for b.Loop() {
		for pos := 0; pos < len(data); {
			rec, next, _ := legacy.SplitRecord(data, pos, '\n')
			pos = next
			fields, scratch, _, _ = legacy.ParseFields(rec, fields, scratch, 0)
		}
	}
	_ = bytes.MinRead
}
