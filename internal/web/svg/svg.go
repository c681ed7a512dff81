// Package svg renders the dashboard's charts (a heat map, a line chart, a
// bar chart) as inline SVG on the server, so the browser fetches nothing
// and runs no script to draw them.
//
// Values arrive twice: a float64 that only places a mark (a pixel position
// or a colour, never shown) and the exact label the caller computed (money
// to the cent, a rate to four places), which is what the reader sees. Every
// label is escaped. Output uses presentation attributes and classes only,
// never style attributes, so a strict Content-Security-Policy allows it.
package svg

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// esc escapes text for SVG (XML) content and attribute values; characters
// XML forbids (controls, invalid UTF-8) become U+FFFD.
func esc(s string) string {
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return template.HTMLEscapeString(s)
}

// num formats a coordinate with at most one decimal.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// Cell is one heat map cell.
type Cell struct {
	Value   float64 // places the colour
	Label   string  // shown in the cell
	Title   string  // tooltip; Label when empty
	Empty   bool    // no value: drawn blank
	Partial bool    // right-censored: hatched and marked with "*"
}

// Heatmap is a grid of cells, one row per cohort.
type Heatmap struct {
	Title string
	Rows  []string // row labels
	Cols  []string // column labels
	Cells [][]Cell // [row][col]
}

// Layout constants of the heat map.
const (
	hmCellW  = 78
	hmCellH  = 24
	hmLeft   = 124
	hmTop    = 44
	hmLegend = 28
)

// shade is the fill of a value in [lo, hi]: a light-to-dark blue ramp.
func shade(v, lo, hi float64) string {
	t := 0.0
	if hi > lo {
		t = (v - lo) / (hi - lo)
	}
	t = math.Max(0, math.Min(1, t))
	// #eef4fb -> #1f5fa8
	r := 0xee + t*(0x1f-0xee)
	g := 0xf4 + t*(0x5f-0xf4)
	b := 0xfb + t*(0xa8-0xfb)
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(r)), int(math.Round(g)), int(math.Round(b)))
}

// ink is a readable text colour on a shade.
func ink(v, lo, hi float64) string {
	if hi > lo && (v-lo)/(hi-lo) > 0.55 {
		return "#ffffff"
	}
	return "#1b2430"
}

// Render draws the heat map.
func (h Heatmap) Render() template.HTML {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range h.Cells {
		for _, c := range row {
			if c.Empty || math.IsNaN(c.Value) {
				continue
			}
			lo, hi = math.Min(lo, c.Value), math.Max(hi, c.Value)
		}
	}
	// Two SVGs side by side: the row labels, which the page keeps in view
	// (sticky) while the cells beside them scroll sideways on a narrow
	// screen, and the cells with the title, column labels and legend.
	w := max(hmCellW*len(h.Cols)+8, 560-hmLeft)
	ht := hmTop + hmCellH*len(h.Rows) + hmLegend + 8
	var b strings.Builder
	b.WriteString(`<div class="heatmap-box">`)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap-labels" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" aria-hidden="true">`, hmLeft, ht, hmLeft, ht)
	for i, r := range h.Rows {
		y := hmTop + hmCellH*i
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, hmLeft-6, y+hmCellH/2+4, esc(r))
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" role="img" aria-label="%s">`, w, ht, w, ht, esc(h.Title))
	b.WriteString(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2" stroke-opacity="0.6"/></pattern></defs>`)
	fmt.Fprintf(&b, `<text class="title" x="0" y="16">%s</text>`, esc(h.Title))
	for j, c := range h.Cols {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="middle">%s</text>`, hmCellW*j+hmCellW/2, hmTop-8, esc(c))
	}
	for i := range h.Rows {
		y := hmTop + hmCellH*i
		for j := range h.Cols {
			var c Cell
			if i < len(h.Cells) && j < len(h.Cells[i]) {
				c = h.Cells[i][j]
			} else {
				c.Empty = true
			}
			x := hmCellW * j
			title := c.Title
			if title == "" {
				title = c.Label
			}
			if c.Empty {
				fmt.Fprintf(&b, `<rect class="cell empty" x="%d" y="%d" width="%d" height="%d" fill="#f7f7f7" stroke="#ffffff"/>`, x, y, hmCellW, hmCellH)
				continue
			}
			cls := "cell"
			if c.Partial {
				cls += " partial"
			}
			fmt.Fprintf(&b, `<g class="%s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#ffffff"/>`, cls, esc(title), x, y, hmCellW, hmCellH, shade(c.Value, lo, hi))
			label := c.Label
			if c.Partial {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="url(#hatch)"/>`, x, y, hmCellW, hmCellH)
				label += "*"
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s">%s</text></g>`, x+hmCellW/2, y+hmCellH/2+4, ink(c.Value, lo, hi), esc(label))
		}
	}
	ly := hmTop + hmCellH*len(h.Rows) + 18
	fmt.Fprintf(&b, `<rect x="0" y="%d" width="14" height="12" fill="#7fa3cf"/><rect x="0" y="%d" width="14" height="12" fill="url(#hatch)"/>`, ly-10, ly-10)
	fmt.Fprintf(&b, `<text class="legend" x="20" y="%d">* partial: not every customer of the cohort has reached this day</text>`, ly)
	b.WriteString(`</svg></div>`)
	return template.HTML(b.String())
}

// Series is one line of a line chart. A NaN point is a gap.
type Series struct {
	Name   string
	Points []float64
}

// LineChart draws series over shared x labels.
type LineChart struct {
	Title  string
	X      []string                 // x labels, one per point
	Series []Series                 // at most len(palette) are told apart by colour
	YLabel func(v float64) string   // axis tick text; "%.2f" when nil
	Width  int                      // default 640
	Height int                      // default 300
	Marks  func(series, i int) bool // optional: points drawn hollow (e.g. partial)
}

var palette = []string{"#1f5fa8", "#d9822b", "#2e8b57", "#b03a48", "#6b4fa1", "#4a90a4", "#8a6d3b", "#555555", "#c0399b", "#2b6f77", "#7a8b1f", "#9e5b2f"}

// Palette colour i (cycled).
func Palette(i int) string { return palette[i%len(palette)] }

// niceMax rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// Render draws the chart.
func (c LineChart) Render() template.HTML {
	w, h := c.Width, c.Height
	if w == 0 {
		w = 640
	}
	if h == 0 {
		h = 300
	}
	yl := c.YLabel
	if yl == nil {
		yl = func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	}
	const left, right, top = 64, 150, 28
	bottom := 40
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	top0 := 0.0
	n := len(c.X)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !math.IsNaN(p) {
				top0 = math.Max(top0, p)
			}
		}
	}
	ymax := niceMax(top0)
	xOf := func(i int) float64 {
		if n <= 1 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(n-1)
	}
	yOf := func(v float64) float64 { return top + ph - ph*math.Max(0, v)/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart line" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" role="img" aria-label="%s">`, w, h, w, h, esc(c.Title))
	fmt.Fprintf(&b, `<text class="title" x="0" y="16">%s</text>`, esc(c.Title))
	for k := 0; k <= 4; k++ { // five y ticks
		v := ymax * float64(k) / 4
		y := yOf(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%s" x2="%s" y2="%s" stroke="#e3e7ec"/>`, left, num(y), num(left+pw), num(y))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%s" text-anchor="end">%s</text>`, left-6, num(y+4), esc(yl(v)))
	}
	step := 1 // at most 8 x labels, so they never crowd
	if n > 8 {
		step = (n + 7) / 8
	}
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%d" text-anchor="middle">%s</text>`, num(xOf(i)), h-bottom+18, esc(c.X[i]))
	}
	for si, s := range c.Series {
		col := Palette(si)
		var d strings.Builder
		pen := false
		for i, p := range s.Points {
			if i >= n || math.IsNaN(p) {
				pen = false
				continue
			}
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteString(" ")
				}
				d.WriteString("M")
			}
			fmt.Fprintf(&d, "%s %s", num(xOf(i)), num(yOf(p)))
			pen = true
		}
		fmt.Fprintf(&b, `<g class="series"><title>%s</title>`, esc(s.Name))
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, d.String(), col)
		}
		for i, p := range s.Points {
			if i >= n || math.IsNaN(p) {
				continue
			}
			fill := col
			if c.Marks != nil && c.Marks(si, i) {
				fill = "#ffffff"
			}
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s" stroke="%s"><title>%s, %s: %s</title></circle>`, num(xOf(i)), num(yOf(p)), fill, col, esc(s.Name), esc(c.X[i]), esc(yl(p)))
		}
		b.WriteString(`</g>`)
		ly := top + 14*si
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text class="legend" x="%d" y="%d">%s</text>`, w-right+12, ly, col, w-right+26, ly+9, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label      string
	Value      float64 // places the bar
	ValueLabel string  // shown beside it
	Flag       bool    // drawn in the alert colour (over a threshold)
}

// BarChart draws horizontal bars, optionally with a threshold line.
type BarChart struct {
	Title          string
	Bars           []Bar
	Threshold      float64 // drawn when > 0
	ThresholdLabel string
	Width          int // default 640
}

// Render draws the chart.
func (c BarChart) Render() template.HTML {
	w := c.Width
	if w == 0 {
		w = 640
	}
	const left, right, top, barH, gap = 150, 90, 28, 18, 6
	h := top + (barH+gap)*len(c.Bars) + 24
	maxV := c.Threshold
	for _, b := range c.Bars {
		maxV = math.Max(maxV, b.Value)
	}
	xmax := niceMax(maxV)
	pw := float64(w - left - right)
	xOf := func(v float64) float64 { return left + pw*math.Max(0, v)/xmax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart bar" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" role="img" aria-label="%s">`, w, h, w, h, esc(c.Title))
	fmt.Fprintf(&b, `<text class="title" x="0" y="16">%s</text>`, esc(c.Title))
	for i, bar := range c.Bars {
		y := top + (barH+gap)*i
		fill := "#1f5fa8"
		cls := "bar"
		if bar.Flag {
			fill, cls = "#b03a48", "bar flagged"
		}
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+barH-5, esc(bar.Label))
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%s" height="%d" fill="%s"><title>%s: %s</title></rect>`, cls, left, y, num(xOf(bar.Value)-left), barH, fill, esc(bar.Label), esc(bar.ValueLabel))
		fmt.Fprintf(&b, `<text class="value" x="%s" y="%d">%s</text>`, num(xOf(bar.Value)+4), y+barH-5, esc(bar.ValueLabel))
	}
	if c.Threshold > 0 {
		x := num(xOf(c.Threshold))
		fmt.Fprintf(&b, `<line class="threshold" x1="%s" y1="%d" x2="%s" y2="%d" stroke="#b03a48" stroke-dasharray="4 3"/>`, x, top-6, x, h-18)
		fmt.Fprintf(&b, `<text class="legend" x="%s" y="%d" text-anchor="middle">%s</text>`, x, h-4, esc(c.ThresholdLabel))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
