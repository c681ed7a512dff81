package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthWritesReproducibleFiles(t *testing.T) {
	dir := t.TempDir()
	args := []string{"synth", "-o", "a", "--customers", "200", "--seed", "5", "--as-of", "2026-03-15", "--timezone", "Europe/Berlin"}
	r := runCLI(t, dir, nil, args...)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"legacy_transactions.csv", "customers        200", "as-of 2026-03-15", "sale success", "chargebacks"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	args[2] = "b"
	if r := runCLI(t, dir, nil, args...); r.code != exitOK {
		t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
	}
	for _, name := range []string{"legacy_transactions.csv", "legacy_customer_notes.csv", "legacy_customer_details.csv"} {
		a, err := os.ReadFile(filepath.Join(dir, "a", name))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "b", name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: %d bytes, runs differ: %v", name, len(a), !bytes.Equal(a, b))
		}
		if fi, _ := os.Stat(filepath.Join(dir, "a", name)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", name, fi.Mode())
		}
	}
}

func TestSynthRows(t *testing.T) {
	r := runCLI(t, "", nil, "synth", "-o", "out", "--rows", "3000", "--as-of", "2026-01-31")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "legacy_transactions.csv (30") {
		t.Errorf("want about 3000 rows:\n%s", r.stdout)
	}
}

func TestSynthUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"synth"},
		{"synth", "-o", "x", "--as-of", "2026-02-30"},
		{"synth", "-o", "x", "--timezone", "Mars/Olympus"},
		{"synth", "-o", "x", "--customers", "-3"},
		{"synth", "-o", "x", "extra"},
	} {
		dir := t.TempDir()
		r := runCLI(t, dir, nil, args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, r.code, exitUsage, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "x", "legacy_transactions.csv")); err == nil {
			t.Errorf("%v wrote a file", args)
		}
	}
}
