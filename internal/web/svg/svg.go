// Package svg renders the dashboard's charts (a heat map, a line chart, a
// bar chart) as inline SVG on the server, so the browser fetches nothing
// and runs no script to draw them. Each chart is one HTML figure: its title
// (and legend) as HTML that wraps on a narrow screen, and the SVG. Line and
// bar charts are fluid (FluidWidth units wide, sized by the page so their
// text stays at least 10 px on a phone); the heat map keeps its drawn size
// and scrolls.
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
	Link    string  // optional: the cell is a link (to the rows behind it)
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
	hmCellW = 78
	hmCellH = 24
	hmLeft  = 124
	hmTop   = 26
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

// Render draws the heat map: a figure with the title as its caption, the
// grid (drawn at its natural size: cells keep their 12 px text and scroll
// sideways on a narrow screen, the row labels stay in view) and a legend.
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
	// screen, and the cells with the column labels.
	w := hmCellW*len(h.Cols) + 8
	ht := hmTop + hmCellH*len(h.Rows) + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart-fig heatmap-fig"><figcaption class="chart-title">%s</figcaption><div class="heatmap-box">`, esc(h.Title))
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap-labels" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" aria-hidden="true">`, hmLeft, ht, hmLeft, ht)
	for i, r := range h.Rows {
		y := hmTop + hmCellH*i
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, hmLeft-6, y+hmCellH/2+4, esc(r))
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" role="img" aria-label="%s">`, w, ht, w, ht, esc(h.Title))
	b.WriteString(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2" stroke-opacity="0.6"/></pattern></defs>`)
	for j, c := range h.Cols {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="middle">%s</text>`, hmCellW*j+hmCellW/2, hmTop-9, esc(c))
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
				fmt.Fprintf(&b, `<rect class="cell empty" data-row="%d" x="%d" y="%d" width="%d" height="%d" fill="#f7f7f7" stroke="#ffffff"/>`, i, x, y, hmCellW, hmCellH)
				continue
			}
			cls := "cell"
			if c.Partial {
				cls += " partial"
			}
			if c.Link != "" {
				fmt.Fprintf(&b, `<a href="%s">`, esc(c.Link))
			}
			fmt.Fprintf(&b, `<g class="%s" data-row="%d"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#ffffff"/>`, cls, i, esc(title), x, y, hmCellW, hmCellH, shade(c.Value, lo, hi))
			label := c.Label
			if c.Partial {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="url(#hatch)"/>`, x, y, hmCellW, hmCellH)
				label += "*"
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s">%s</text></g>`, x+hmCellW/2, y+hmCellH/2+4, ink(c.Value, lo, hi), esc(label))
			if c.Link != "" {
				b.WriteString(`</a>`)
			}
		}
	}
	b.WriteString(`</svg></div>`)
	b.WriteString(`<p class="chart-legend"><svg xmlns="http://www.w3.org/2000/svg" class="swatch" viewBox="0 0 14 12" width="14" height="12" aria-hidden="true"><rect width="14" height="12" fill="#7fa3cf"/><rect width="14" height="12" fill="url(#hatch)"/></svg> * partial: not every customer of the cohort has reached this day</p>`)
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

// Series is one line of a line chart. A NaN point is a gap.
type Series struct {
	Name   string
	Points []float64
}

// The fluid charts (line and bar) are drawn in a viewBox FluidWidth units
// wide with 12-unit text, and the page sizes them between the phone's
// column (about 344 px at 390 px: text 10.3 px) and 1.2 times that width
// (text 14.4 px); see style.css (svg.chart.fluid). Their titles and
// legends are HTML around the SVG, so they wrap instead of shrinking.
const (
	FluidWidth = 400
	fontSize   = 12
)

// LineChart draws series over a shared x axis: evenly spaced categories
// (X), or a time axis when XAt gives each point's position (days since a
// first sale: points are spaced by time, not by column).
type LineChart struct {
	Title  string
	X      []string  // one per point: its name (axis labels on a category axis, tooltips always)
	XAt    []float64 // optional: each point's x value; the axis then runs from 0 to the last point drawn, with round ticks
	XTitle string    // optional: what the x axis measures ("days since the first sale")
	XLabel func(v float64) string
	Series []Series                 // at most len(palette) are told apart by colour
	YLabel func(v float64) string   // axis tick text; "%.2f" when nil
	Height int                      // viewBox height, default 240
	Marks  func(series, i int) bool // optional: points drawn hollow (e.g. partial)
	// Note is a line under the legend (what the marks mean).
	Note string
	// Width is ignored: every fluid chart is FluidWidth units wide (kept so
	// callers that set it still compile).
	Width int
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

// tickStep is the smallest 1, 2 or 5 times a power of ten that cuts
// 0..hi into at most n steps.
func tickStep(hi float64, n int) float64 {
	if hi <= 0 || math.IsNaN(hi) || math.IsInf(hi, 0) || n < 1 {
		return 1
	}
	raw := hi / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// legend is the HTML list of series names beside their colours.
func legend(b *strings.Builder, names []string, note string) {
	if len(names) == 0 && note == "" {
		return
	}
	b.WriteString(`<ul class="chart-legend">`)
	for i, n := range names {
		fmt.Fprintf(b, `<li><svg xmlns="http://www.w3.org/2000/svg" class="swatch" viewBox="0 0 10 10" width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="%s"/></svg> %s</li>`, Palette(i), esc(n))
	}
	b.WriteString(`</ul>`)
	if note != "" {
		fmt.Fprintf(b, `<p class="chart-note">%s</p>`, esc(note))
	}
}

// Render draws the chart: a figure with the title, the SVG and the legend.
func (c LineChart) Render() template.HTML {
	w, h := FluidWidth, c.Height
	if h == 0 {
		h = 240
	}
	yl := c.YLabel
	if yl == nil {
		yl = func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	}
	const left, right, top = 62, 14, 10
	bottom := 24
	if c.XTitle != "" {
		bottom = 40
	}
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	n := len(c.X)
	if c.XAt != nil {
		n = min(n, len(c.XAt))
		if c.X == nil {
			n = len(c.XAt)
		}
	}
	top0 := 0.0
	for _, s := range c.Series {
		for i, p := range s.Points {
			if i < n && !math.IsNaN(p) && !math.IsInf(p, 0) {
				top0 = math.Max(top0, p)
			}
		}
	}
	// at most four steps up the y axis, at round values
	ystep := tickStep(top0, 4)
	ymax := ystep * math.Max(1, math.Ceil(top0/ystep*(1-1e-12)))
	// a time axis runs to the last point drawn (curves that stop early
	// are not squeezed against an empty right end)
	xmax := 0.0
	for _, s := range c.Series {
		for i, p := range s.Points {
			if i < n && c.XAt != nil && !math.IsNaN(p) && !math.IsInf(p, 0) && !math.IsNaN(c.XAt[i]) && !math.IsInf(c.XAt[i], 0) {
				xmax = math.Max(xmax, c.XAt[i])
			}
		}
	}
	if xmax == 0 {
		xmax = 1
	}
	xOf := func(i int) float64 {
		if c.XAt != nil {
			return left + pw*math.Max(0, c.XAt[i])/xmax
		}
		if n <= 1 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(n-1)
	}
	name := func(i int) string {
		if i < len(c.X) {
			return c.X[i]
		}
		if c.XLabel != nil {
			return c.XLabel(c.XAt[i])
		}
		return strconv.FormatFloat(c.XAt[i], 'f', -1, 64)
	}
	yOf := func(v float64) float64 { return top + ph - ph*math.Max(0, v)/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart-fig"><figcaption class="chart-title">%s</figcaption>`, esc(c.Title))
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart line fluid" viewBox="0 0 %d %d" width="%d" height="%d" font-size="%d" role="img" aria-label="%s">`, w, h, w, h, fontSize, esc(c.Title))
	for k := 0; float64(k)*ystep <= ymax*(1+1e-9); k++ {
		v := float64(k) * ystep
		y := yOf(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%s" x2="%s" y2="%s" stroke="#e3e7ec"/>`, left, num(y), num(left+pw), num(y))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%s" text-anchor="end">%s</text>`, left-6, num(y+4), esc(yl(v)))
	}
	xlabel := func(x float64, text string) {
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%d" text-anchor="middle">%s</text>`, num(x), h-bottom+16, esc(text))
	}
	if c.XAt != nil {
		// at most six ticks on a time axis, at round values
		step := tickStep(xmax, 5)
		for v := 0.0; v <= xmax*(1+1e-9); v += step {
			t := strconv.FormatFloat(v, 'f', -1, 64)
			if c.XLabel != nil {
				t = c.XLabel(v)
			}
			xlabel(left+pw*v/xmax, t)
		}
	} else {
		step := 1 // at most six labels, so they never crowd
		if n > 6 {
			step = (n + 5) / 6
		}
		for i := 0; i < n; i += step {
			xlabel(xOf(i), c.X[i])
		}
	}
	if c.XTitle != "" {
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%d" text-anchor="middle">%s</text>`, num(left+pw/2), h-6, esc(c.XTitle))
	}
	var names []string
	for si, s := range c.Series {
		col := Palette(si)
		names = append(names, s.Name)
		d := pathOf(s.Points, n, xOf, yOf)
		fmt.Fprintf(&b, `<g class="series"><title>%s</title>`, esc(s.Name))
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, d.String(), col)
		}
		for i, p := range s.Points {
			if i >= n || math.IsNaN(p) || math.IsInf(p, 0) {
				continue
			}
			fill := col
			if c.Marks != nil && c.Marks(si, i) {
				fill = "#ffffff"
			}
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s" stroke="%s"><title>%s, %s: %s</title></circle>`, num(xOf(i)), num(yOf(p)), fill, col, esc(s.Name), esc(name(i)), esc(yl(p)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	legend(&b, names, c.Note)
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label      string
	Value      float64 // places the bar
	ValueLabel string  // shown beside it
	Flag       bool    // drawn in the alert colour (over a threshold)
}

// BarChart draws horizontal bars, each under its label (so long labels
// never squeeze the bars on a phone), optionally with a threshold line.
type BarChart struct {
	Title          string
	Bars           []Bar
	Threshold      float64 // drawn when > 0
	ThresholdLabel string
	// Width is ignored: every fluid chart is FluidWidth units wide.
	Width int
}

// Render draws the chart: a figure with the title and the SVG.
func (c BarChart) Render() template.HTML {
	w := FluidWidth
	const right, top, labelH, barH, gap = 118, 4, 16, 14, 8
	row := labelH + barH + gap
	h := top + row*len(c.Bars) + 22
	maxV := c.Threshold
	for _, b := range c.Bars {
		if !math.IsNaN(b.Value) && !math.IsInf(b.Value, 0) {
			maxV = math.Max(maxV, b.Value)
		}
	}
	xmax := niceMax(maxV)
	pw := float64(w - right)
	xOf := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		return pw * math.Max(0, v) / xmax
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart-fig"><figcaption class="chart-title">%s</figcaption>`, esc(c.Title))
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart bar fluid" viewBox="0 0 %d %d" width="%d" height="%d" font-size="%d" role="img" aria-label="%s">`, w, h, w, h, fontSize, esc(c.Title))
	for i, bar := range c.Bars {
		y := top + row*i
		fill := "#1f5fa8"
		cls := "bar"
		if bar.Flag {
			fill, cls = "#b03a48", "bar flagged"
		}
		fmt.Fprintf(&b, `<text class="axis" x="0" y="%d">%s</text>`, y+labelH-4, esc(bar.Label))
		fmt.Fprintf(&b, `<rect class="%s" x="0" y="%d" width="%s" height="%d" fill="%s"><title>%s: %s</title></rect>`, cls, y+labelH, num(xOf(bar.Value)), barH, fill, esc(bar.Label), esc(bar.ValueLabel))
		fmt.Fprintf(&b, `<text class="value" x="%s" y="%d">%s</text>`, num(xOf(bar.Value)+4), y+labelH+barH-3, esc(bar.ValueLabel))
	}
	if c.Threshold > 0 {
		x := xOf(c.Threshold)
		fmt.Fprintf(&b, `<line class="threshold" x1="%s" y1="%d" x2="%s" y2="%d" stroke="#b03a48" stroke-dasharray="4 3"/>`, num(x), top, num(x), h-18)
		anchor := "middle"
		if x > pw-40 {
			anchor = "end"
		} else if x < 40 {
			anchor = "start"
		}
		fmt.Fprintf(&b, `<text class="legend" x="%s" y="%d" text-anchor="%s">%s</text>`, num(x), h-4, anchor, esc(c.ThresholdLabel))
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// pathOf is an SVG path through the first n values, broken where a value is
// not a number.
func pathOf(vals []float64, n int, x func(int) float64, y func(float64) float64) *strings.Builder {
	var d strings.Builder
	pen := false
	for i := 0; i < n && i < len(vals); i++ {
		v := vals[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
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
		fmt.Fprintf(&d, "%s %s", num(x(i)), num(y(v)))
		pen = true
	}
	return &d
}
