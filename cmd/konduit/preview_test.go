package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

func TestPreviewCLI(t *testing.T) {
	dir := generated(t, 150)
	var in []string
	for _, k := range legacy.Kinds {
		in = append(in, filepath.Join(dir, k.FileName()))
	}
	r := runCLI(t, dir, nil, append([]string{"preview", "--as-of", "2025-06-30"}, in...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "active subscriptions") || !strings.Contains(r.stdout, "due within 72 hours") || !strings.Contains(r.stdout, "billed twice") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, append([]string{"preview", "--as-of", "2025-06-30", "--format", "json"}, in...)...)
	var rep struct {
		Customers int `json:"customers"`
		Totals    struct {
			Sales string `json:"sales"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Customers == 0 || rep.Totals.Sales == "" || !strings.Contains(r.stdout, `"billedTwice": [`) {
		t.Fatalf("json (%v): %s", err, r.stdout)
	}
	for _, args := range [][]string{{"preview", "--as-of", "June", in[0]}, {"preview", "--format", "xml", in[0]}, {"preview", "missing.csv"}} {
		if r := runCLI(t, dir, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d", args, r.code)
		}
	}
}
