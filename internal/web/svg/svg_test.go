package svg

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// wellFormed parses s as XML and returns every element name with its
// attributes, in document order.
func wellFormed(t *testing.T, s string) []xml.StartElement {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out []xml.StartElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
		if se, ok := tok.(xml.StartElement); ok {
			out = append(out, se.Copy())
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; rerun with -update if intended\ngot:\n%s", name, got)
	}
}

func TestHeatmap(t *testing.T) {
	h := Heatmap{
		Title: "Net LTV <by cohort>",
		Rows:  []string{"2026-01", "2026-02"},
		Cols:  []string{"day 0", "day 30"},
		Cells: [][]Cell{
			{{Value: 10, Label: "$10.00"}, {Value: 30, Label: "$30.00"}},
			{{Value: 12, Label: "$12.00"}, {Value: 20, Label: "$20.00", Partial: true}},
		},
	}
	out := string(h.Render())
	els := wellFormed(t, out)
	var partial, cells int
	fills := map[string]bool{}
	for i, e := range els {
		if e.Name.Local == "g" && strings.HasPrefix(attr(e, "class"), "cell") {
			cells++
			if strings.Contains(attr(e, "class"), "partial") {
				partial++
			}
			// the cell's rect follows its title
			for _, r := range els[i+1:] {
				if r.Name.Local == "rect" {
					fills[attr(r, "fill")] = true
					break
				}
			}
		}
	}
	if cells != 4 || partial != 1 {
		t.Fatalf("cells %d partial %d, want 4 and 1", cells, partial)
	}
	if !fills["#eef4fb"] || !fills["#1f5fa8"] {
		t.Errorf("lowest and highest values should take the ends of the ramp, fills %v", fills)
	}
	if !strings.Contains(out, "$20.00*") {
		t.Error("partial cell's label is not marked with *")
	}
	if strings.Contains(out, "<by cohort>") || !strings.Contains(out, "&lt;by cohort&gt;") {
		t.Error("title not escaped")
	}
	golden(t, "heatmap.svg", out)
}

// TestHeatmapLinks: a cell with a link is wrapped in an SVG link, its
// URL escaped; a cell without one is not.
func TestHeatmapLinks(t *testing.T) {
	h := Heatmap{Rows: []string{"a"}, Cols: []string{"x", "y"}, Cells: [][]Cell{{{Value: 1, Label: "1", Link: "/reports/drill?a=1&b=\"2\""}, {Value: 2, Label: "2"}}}}
	out := string(h.Render())
	els := wellFormed(t, out)
	var links []string
	for _, e := range els {
		if e.Name.Local == "a" {
			links = append(links, attr(e, "href"))
		}
	}
	if len(links) != 1 || links[0] != `/reports/drill?a=1&b="2"` {
		t.Errorf("links %q", links)
	}
}

func TestHeatmapRaggedAndEmpty(t *testing.T) {
	h := Heatmap{Rows: []string{"a", "b"}, Cols: []string{"x", "y"}, Cells: [][]Cell{{{Value: 1, Label: "1"}}}}
	out := string(h.Render())
	wellFormed(t, out)
	if n := strings.Count(out, `class="cell empty"`); n != 3 {
		t.Errorf("missing cells drawn as empty: %d, want 3", n)
	}
	// one value only: no division by zero, no NaN in the output
	if strings.Contains(out, "NaN") {
		t.Error("NaN in output")
	}
}

func TestLineChart(t *testing.T) {
	c := LineChart{
		Title:  "Gross LTV",
		X:      []string{"0", "7", "30"},
		Series: []Series{{Name: "Jan & Feb", Points: []float64{10, 20, 40}}, {Name: "Mar", Points: []float64{5, math.NaN(), 15}}},
		YLabel: func(v float64) string { return "$" + strings.TrimSuffix(strings.TrimSuffix(num(v), ".0"), ".") },
		Marks:  func(s, i int) bool { return s == 1 && i == 2 },
	}
	out := string(c.Render())
	els := wellFormed(t, out)
	var paths []string
	var hollow int
	for _, e := range els {
		if e.Name.Local == "path" {
			paths = append(paths, attr(e, "d"))
		}
		if e.Name.Local == "circle" && attr(e, "fill") == "#ffffff" {
			hollow++
		}
	}
	if len(paths) != 2 {
		t.Fatalf("paths %v, want 2", paths)
	}
	// y ticks every 10 up to 40; plot 10..216: 40 sits at the top, 10 at 216-206/4 = 164.5
	if !strings.HasSuffix(paths[0], " 10") || !strings.HasPrefix(paths[0], "M62 164.5") {
		t.Errorf("series 1 path %q should run from y 164.5 to 10", paths[0])
	}
	// a NaN point breaks the line into two moves
	if strings.Count(paths[1], "M") != 2 {
		t.Errorf("gap not drawn as a break: %q", paths[1])
	}
	if hollow != 1 {
		t.Errorf("hollow marks %d, want 1", hollow)
	}
	if !strings.Contains(out, "Jan &amp; Feb") {
		t.Error("series name not escaped")
	}
	golden(t, "line.svg", out)
}

func TestBarChart(t *testing.T) {
	c := BarChart{
		Title:          "Chargeback ratio",
		Bars:           []Bar{{Label: "MID 1", Value: 0.5, ValueLabel: "0.50%"}, {Label: "MID 2", Value: 1.2, ValueLabel: "1.20%", Flag: true}},
		Threshold:      0.9,
		ThresholdLabel: "0.9%",
	}
	out := string(c.Render())
	els := wellFormed(t, out)
	var flagged, threshold int
	var widths []string
	for _, e := range els {
		if e.Name.Local == "rect" && strings.HasPrefix(attr(e, "class"), "bar") {
			widths = append(widths, attr(e, "width"))
			if attr(e, "class") == "bar flagged" {
				flagged++
			}
		}
		if e.Name.Local == "line" && attr(e, "class") == "threshold" {
			threshold++
		}
	}
	if flagged != 1 || threshold != 1 || len(widths) != 2 {
		t.Fatalf("flagged %d threshold %d bars %v", flagged, threshold, widths)
	}
	// axis max is niceMax(1.2) = 2; plot width 400-118 = 282; 0.5 -> 70.5, 1.2 -> 169.2
	if widths[0] != "70.5" || widths[1] != "169.2" {
		t.Errorf("bar widths %v, want [70.5 169.2]", widths)
	}
	golden(t, "bar.svg", out)
}

// TestLineChartTimeAxis: with XAt, points are spaced by their value (day
// 7 sits near day 0, day 365 at the end), not evenly by column; a series
// that stops early (a young cohort) draws only its points.
func TestLineChartTimeAxis(t *testing.T) {
	c := LineChart{
		Title:  "Net LTV",
		X:      []string{"day 0", "day 7", "day 30", "day 365"},
		XAt:    []float64{0, 7, 30, 365},
		XTitle: "days since the first sale",
		Series: []Series{{Name: "old", Points: []float64{10, 12, 20, 50}}, {Name: "young", Points: []float64{9, 11}}},
	}
	out := string(c.Render())
	els := wellFormed(t, out)
	var xs [][]float64
	for _, e := range els {
		if e.Name.Local != "g" || attr(e, "class") != "series" {
			continue
		}
		xs = append(xs, nil)
	}
	series := -1
	for _, e := range els {
		if e.Name.Local == "g" && attr(e, "class") == "series" {
			series++
		}
		if e.Name.Local == "circle" {
			var x float64
			fmt.Sscan(attr(e, "cx"), &x)
			xs[series] = append(xs[series], x)
		}
	}
	if len(xs) != 2 || len(xs[0]) != 4 || len(xs[1]) != 2 {
		t.Fatalf("points per series %v, want 4 and 2", xs)
	}
	// plot 62..386 (324 wide) over days 0..365
	for i, day := range []float64{0, 7, 30, 365} {
		want := 62 + 324*day/365
		if math.Abs(xs[0][i]-want) > 0.06 {
			t.Errorf("day %v at x %v, want %.1f", day, xs[0][i], want)
		}
	}
	// ticks at round days, at most five, and the axis title
	for _, tick := range []string{">0<", ">100<", ">200<", ">300<", ">days since the first sale<"} {
		if !strings.Contains(out, tick) {
			t.Errorf("axis text %s missing", tick)
		}
	}
	if strings.Contains(out, ">400<") {
		t.Error("a tick past the last day")
	}
	golden(t, "line-time.svg", out)
}

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct {
		hi   float64
		n    int
		want float64
	}{{365, 4, 100}, {12, 4, 5}, {180, 4, 50}, {1, 4, 0.5}, {0, 4, 1}, {math.NaN(), 4, 1}} {
		if got := tickStep(tc.hi, tc.n); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("tickStep(%v, %d) = %v, want %v", tc.hi, tc.n, got, tc.want)
		}
	}
}

func TestNiceMax(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {1, 1}, {1.2, 2}, {2.1, 2.5}, {3, 5}, {7, 10}, {40, 50}, {100, 100}, {0.012, 0.02}, {math.NaN(), 1},
	} {
		if got := niceMax(tc.in); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("niceMax(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestShade(t *testing.T) {
	if got := shade(0, 0, 10); got != "#eef4fb" {
		t.Errorf("low %s", got)
	}
	if got := shade(10, 0, 10); got != "#1f5fa8" {
		t.Errorf("high %s", got)
	}
	if got := shade(5, 5, 5); got != "#eef4fb" {
		t.Errorf("flat range %s", got)
	}
}
