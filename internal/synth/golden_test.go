package synth

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestGolden pins the generated data of a few customers, so a change to the
// generator (or a stray source of non-determinism) shows up as a diff.
// Sensitive columns are masked in the golden files: no card or bank number
// is committed.
func TestGolden(t *testing.T) {
	var bufs [3]bytes.Buffer
	var ws [3]*legacy.Writer
	for i, k := range legacy.Kinds {
		ws[i] = legacy.NewWriter(&bufs[i])
		if err := ws[i].Write(legacy.SpecFor(k).Header()); err != nil {
			t.Fatal(err)
		}
	}
	mask := func(k legacy.Kind, row []string) []string {
		for i, c := range legacy.SpecFor(k).Columns {
			if c.Sensitive {
				row[i] = legacy.Mask(row[i])
			}
		}
		return row
	}
	err := Generate(context.Background(), testOptions(t, 12), func(c *Customer) error {
		for _, r := range c.LegacyTransactionRows() {
			if err := ws[0].Write(mask(legacy.Transactions, r)); err != nil {
				return err
			}
		}
		for _, r := range c.LegacyNotes() {
			if err := ws[1].Write(r); err != nil {
				return err
			}
		}
		if r := c.LegacyDetails(); r != nil {
			return ws[2].Write(mask(legacy.Details, r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range legacy.Kinds {
		if err := ws[i].Flush(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "golden", k.FileName())
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, bufs[i].Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update)", err)
		}
		if !bytes.Equal(bufs[i].Bytes(), want) {
			t.Errorf("%s differs from %s; if the change is intended, run go test -run TestGolden -update", k, path)
		}
	}
}
