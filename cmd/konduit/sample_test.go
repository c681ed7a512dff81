package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

func TestSampleCLI(t *testing.T) {
	dir := generated(t, 200)
	var in []string
	for _, k := range legacy.Kinds {
		in = append(in, filepath.Join(dir, k.FileName()))
	}
	args := append([]string{"sample", "--customers", "8", "--seed", "3", "-o", "s"}, in...)
	r := runCLI(t, dir, nil, args...)
	if r.code != exitOK || !strings.Contains(r.stdout, "sampled ") || !strings.Contains(r.stdout, "refund") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var out []string
	for _, k := range legacy.Kinds {
		out = append(out, filepath.Join(dir, "s", k.FileName()))
	}
	v := runCLI(t, dir, nil, append([]string{"validate", "--as-of", "2025-06-30"}, out...)...)
	if v.code != exitOK {
		t.Fatalf("the sample does not validate: %s", v.stdout)
	}
	if r := runCLI(t, dir, nil, "sample", "--customers", "0", "-o", "x", in[0]); r.code != exitUsage {
		t.Fatalf("--customers 0: exit %d", r.code)
	}
	if r := runCLI(t, dir, nil, "sample", "--customers", "3", "-o", dir, in[0]); r.code != exitUsage {
		t.Fatalf("over the input: exit %d", r.code)
	}
}
