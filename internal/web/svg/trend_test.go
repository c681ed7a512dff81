package svg

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// trendSVGs checks a trend chart is one box of two well-formed drawings
// (wide, narrow) and returns each drawing's elements.
func trendSVGs(t *testing.T, out string) [2][]xml.StartElement {
	t.Helper()
	if !strings.HasPrefix(out, `<div class="trend-box"><svg `) || !strings.HasSuffix(out, "</svg></div>") {
		t.Fatalf("not a trend box of two drawings: %.300q", out)
	}
	var got [2][]xml.StartElement
	d := xml.NewDecoder(strings.NewReader(out))
	i, depth := -1, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			for _, a := range x.Attr {
				if a.Name.Local != "aria-label" && (strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf")) {
					t.Fatalf("%s %s=%q", x.Name.Local, a.Name.Local, a.Value)
				}
			}
			if x.Name.Local == "svg" {
				i++
			}
			if i >= 0 && i < 2 {
				got[i] = append(got[i], x)
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if i != 1 || depth != 0 {
		t.Fatalf("%d drawings", i+1)
	}
	return got
}

func TestTrendChart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		value     func(i int) float64
		wideTicks int // x labels drawn, wide and narrow
		narrow    int
	}{
		{"30 days", 30, func(i int) float64 { return float64(i * 100) }, 10, 4},
		{"one point", 1, func(int) float64 { return 5 }, 1, 1},
		{"negative net", 7, func(i int) float64 { return float64(3 - i) }, 7, 4},
		{"all zero", 5, func(int) float64 { return 0 }, 5, 3},
		{"gaps", 4, func(i int) float64 { return []float64{1, math.NaN(), math.Inf(1), 2}[i] }, 4, 4},
		{"400 points", 400, func(i int) float64 { return float64(i % 17) }, 10, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := TrendChart{Title: "Gross & <net>", BarName: "gross", LineName: "net"}
			for i := range tc.n {
				c.X = append(c.X, "p"+string(rune('a'+i%26)))
				c.Bars = append(c.Bars, tc.value(i))
				c.BarLabels = append(c.BarLabels, "$1")
				c.Line = append(c.Line, tc.value(i)-2)
				c.LineLabel = append(c.LineLabel, "$-1")
			}
			svgs := trendSVGs(t, string(c.Render()))
			for k, want := range []struct {
				class        string
				width, font  string
				xLabelsAtMax int
			}{{"trend-wide", "720", "13", tc.wideTicks}, {"trend-narrow", "360", "12", tc.narrow}} {
				root := svgs[k][0]
				if !strings.Contains(attr(root, "class"), want.class) || !strings.HasPrefix(attr(root, "viewBox"), "0 0 "+want.width+" ") || attr(root, "font-size") != want.font {
					t.Errorf("drawing %d: %v", k, root.Attr)
				}
				if attr(root, "width") != "" || attr(root, "style") != "" {
					t.Errorf("drawing %d has a fixed width or a style attribute: it must scale, under a strict CSP", k)
				}
				bars, xlabels := 0, 0
				for _, e := range svgs[k] {
					if e.Name.Local == "rect" && attr(e, "class") == "bar" {
						bars++
						if h := attr(e, "height"); strings.HasPrefix(h, "-") {
							t.Errorf("negative bar height %s", h)
						}
					}
					if e.Name.Local == "text" && attr(e, "text-anchor") == "middle" {
						xlabels++
					}
				}
				finite := 0
				for _, v := range c.Bars {
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						finite++
					}
				}
				if bars != finite {
					t.Errorf("drawing %d: %d bars for %d finite values", k, bars, finite)
				}
				if xlabels > want.xLabelsAtMax || xlabels == 0 {
					t.Errorf("drawing %d: %d x labels, at most %d", k, xlabels, want.xLabelsAtMax)
				}
			}
		})
	}
}

// FuzzTrendChart: whatever the labels and values, the chart is two
// well-formed drawings without NaN.
func FuzzTrendChart(f *testing.F) {
	f.Add("2026-W01", "<b>&", 1.5, -3.0, 3)
	f.Add("", "\xff\x00", math.NaN(), math.Inf(-1), 1)
	f.Add("x", "y", 1e308, -1e308, 400)
	f.Add("x", "y", 5e-324, 0.0, 0)
	f.Fuzz(func(t *testing.T, label, name string, a, b float64, n int) {
		n = max(0, min(n, 500))
		c := TrendChart{Title: name, BarName: name, LineName: label, YLabel: func(v float64) string { return label }}
		for i := range n {
			c.X = append(c.X, label)
			c.Bars = append(c.Bars, a*float64(i%3))
			c.BarLabels = append(c.BarLabels, name)
			c.Line = append(c.Line, b)
			c.LineLabel = append(c.LineLabel, label)
		}
		trendSVGs(t, string(c.Render()))
	})
}
