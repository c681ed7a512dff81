package verify

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestReportGolden pins the text and JSON reports of a broken import.
func TestReportGolden(t *testing.T) {
	paths := legacyFiles(t, 60, 21)
	c, _, _ := importServer(t, paths, true)
	rep, err := Run(context.Background(), legacy.FileInputs(paths), Options{API: c, Location: ny, Today: day("2026-07-31")})
	if err != nil {
		t.Fatal(err)
	}
	// What varies between runs: temporary paths and the time taken.
	for i := range rep.Files {
		rep.Files[i] = filepath.Base(rep.Files[i])
	}
	for i := range rep.Skipped {
		rep.Skipped[i] = filepath.Base(rep.Skipped[i])
	}
	rep.ElapsedText = "1s"
	for _, g := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"broken.txt", func(b *bytes.Buffer) error { return WriteText(b, rep) }},
		{"broken.json", func(b *bytes.Buffer) error { return WriteJSON(b, rep) }},
	} {
		var b bytes.Buffer
		if err := g.write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", g.name)
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from the golden file:\n%s", g.name, b.String())
		}
	}
}
