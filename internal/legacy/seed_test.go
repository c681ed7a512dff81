package legacy

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecMatchesSeed reads the column tables of the seed document itself and
// checks every column's letter, name, type text and required mark against
// the spec in this package, so that a typo here cannot drift from the seed.
func TestSpecMatchesSeed(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "seeds", "konnektive-legacy-import-file-spec.md")
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the seed must be beside the repo in CI: %v", err)
		}
		t.Skipf("seed not found: %v", err)
	}
	defer f.Close()
	var tables [][][]string
	var cur [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Col |") && !strings.HasPrefix(line, "---") && strings.Count(line, "|") >= 5 {
			cells := strings.Split(line, "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			cur = append(cur, cells)
			continue
		}
		if strings.HasPrefix(line, "Col |") && cur != nil {
			tables = append(tables, cur)
			cur = nil
		}
	}
	tables = append(tables, cur)
	if len(tables) != 3 {
		t.Fatalf("found %d tables in the seed, want 3", len(tables))
	}
	for k, kind := range Kinds {
		spec := SpecFor(kind)
		rows := tables[k]
		if len(rows) != len(spec.Columns) {
			t.Fatalf("%s: seed has %d columns, spec %d", kind, len(rows), len(spec.Columns))
		}
		for i, cells := range rows {
			c := spec.Columns[i]
			letter, name, typ, req := cells[0], cells[1], cells[2], cells[3]
			if letter != c.Letter || name != c.Name || typ != c.SeedType {
				t.Errorf("%s %s: seed says %s %s %q, spec %s %s %q", kind, c.Name, letter, name, typ, c.Letter, c.Name, c.SeedType)
			}
			seedRequired := strings.HasPrefix(req, "Y")
			seedConditional := strings.Contains(strings.ToLower(req), "if")
			switch {
			case seedConditional && len(c.Required.When) == 0:
				t.Errorf("%s %s: seed is conditional (%s), spec is %s", kind, c.Name, req, c.Required)
			case seedRequired && !seedConditional && !c.Required.Always:
				t.Errorf("%s %s: seed requires it, spec says %s", kind, c.Name, c.Required)
			case !seedRequired && !c.Required.Optional():
				t.Errorf("%s %s: seed says optional, spec %s", kind, c.Name, c.Required)
			}
		}
	}
}
