package svg

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// TrendChart draws a period figure over time: one bar per point (e.g.
// gross revenue) and, optionally, a line over the same points (e.g. net
// revenue), which may be negative.
//
// It scales to the width of its box, so its text is sized for the width it
// is shown at: it renders twice, a wide drawing (every few labels, 13-unit
// text at most 720 px wide) and a narrow one for phones (fewer ticks,
// 12-unit text at most 360 px wide), and the page's style sheet shows one
// (.trend-wide above 700 px, .trend-narrow below). Drawn at the narrowest
// box each is shown in (about 615 and 314 px), text stays at least 10 px.
type TrendChart struct {
	Title     string
	X         []string // one label per point
	BarName   string
	Bars      []float64 // place the bars (NaN: none)
	BarLabels []string  // the exact values, in tooltips
	LineName  string    // "" draws no line
	Line      []float64
	LineLabel []string
	YLabel    func(v float64) string // axis tick text
}

// trendLayout is one drawing's size.
type trendLayout struct {
	class      string
	w, h       int
	font       int
	left       int
	maxXLabels int
	yTicks     int
}

var (
	trendWide   = trendLayout{"trend-wide", 720, 300, 13, 78, 10, 5}
	trendNarrow = trendLayout{"trend-narrow", 360, 240, 12, 62, 4, 3}
)

// Render draws both sizes in a box.
func (c TrendChart) Render() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="trend-box">`)
	c.draw(&b, trendWide)
	c.draw(&b, trendNarrow)
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

func (c TrendChart) draw(b *strings.Builder, l trendLayout) {
	yl := c.YLabel
	if yl == nil {
		yl = func(v float64) string { return num(v) }
	}
	n := len(c.X)
	lo, hi := 0.0, 0.0
	for _, s := range [][]float64{c.Bars, c.Line} {
		for _, v := range s {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	// ticks: a nice step covering lo..hi in about yTicks intervals
	step := niceMax((hi - lo) / float64(l.yTicks))
	if hi == lo {
		step = 1
	}
	ylo := math.Floor(lo/step) * step
	yhi := math.Ceil(hi/step) * step
	if yhi <= ylo {
		yhi = ylo + step
	}
	top, bottom, right := l.font+16, l.font+14, 8
	legend := 0
	if c.LineName != "" || c.BarName != "" {
		legend = l.font + 8
	}
	pw := float64(l.w - l.left - right)
	ph := float64(l.h - top - bottom - legend)
	yOf := func(v float64) float64 { return float64(top) + ph - ph*(v-ylo)/(yhi-ylo) }
	slot := pw / math.Max(1, float64(n))
	xOf := func(i int) float64 { return float64(l.left) + slot*(float64(i)+0.5) }
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart trend %s" viewBox="0 0 %d %d" font-size="%d" role="img" aria-label="%s" preserveAspectRatio="xMinYMin meet">`,
		l.class, l.w, l.h, l.font, esc(c.Title))
	fmt.Fprintf(b, `<text class="title" x="0" y="%d" font-size="%d">%s</text>`, l.font+2, l.font+1, esc(c.Title))
	for k, v := 0, ylo; k <= 2*l.yTicks+2 && v <= yhi+step/2; k, v = k+1, v+step {
		y := yOf(v)
		stroke := "#e3e7ec"
		if math.Abs(v) < step/2 {
			stroke = "#9aa5b1" // the zero line
		}
		fmt.Fprintf(b, `<line class="grid" x1="%d" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, l.left, num(y), num(float64(l.left)+pw), num(y), stroke)
		fmt.Fprintf(b, `<text class="axis" x="%d" y="%s" text-anchor="end">%s</text>`, l.left-4, num(y+float64(l.font)/3), esc(yl(v)))
	}
	every := 1
	if n > l.maxXLabels {
		every = (n + l.maxXLabels - 1) / l.maxXLabels
	}
	for i := 0; i < n; i += every {
		fmt.Fprintf(b, `<text class="axis" x="%s" y="%d" text-anchor="middle">%s</text>`, num(xOf(i)), top+int(ph)+l.font+4, esc(c.X[i]))
	}
	bw := math.Max(1, slot*0.7)
	zero := yOf(math.Max(ylo, math.Min(0, yhi)))
	for i := 0; i < n && i < len(c.Bars); i++ {
		v := c.Bars[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		y := yOf(v)
		y0, y1 := math.Min(y, zero), math.Max(y, zero)
		label := ""
		if i < len(c.BarLabels) {
			label = c.BarLabels[i]
		}
		fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="#9bbbe0"><title>%s, %s: %s</title></rect>`,
			num(xOf(i)-bw/2), num(y0), num(bw), num(math.Max(y1-y0, 0.5)), esc(c.X[i]), esc(c.BarName), esc(label))
	}
	if c.LineName != "" {
		d := pathOf(c.Line, n, xOf, yOf)
		if d.Len() > 0 {
			fmt.Fprintf(b, `<path class="line" d="%s" fill="none" stroke="#1f5fa8" stroke-width="2"/>`, d.String())
		}
		if n <= 62 {
			for i := 0; i < n && i < len(c.Line); i++ {
				v := c.Line[i]
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				label := ""
				if i < len(c.LineLabel) {
					label = c.LineLabel[i]
				}
				fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="2.5" fill="#1f5fa8"><title>%s, %s: %s</title></circle>`, num(xOf(i)), num(yOf(v)), esc(c.X[i]), esc(c.LineName), esc(label))
			}
		}
	}
	ly := l.h - 4
	x := l.left
	if c.BarName != "" {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="#9bbbe0"/><text class="legend" x="%d" y="%d">%s</text>`, x, ly-9, x+14, ly, esc(c.BarName))
		x += 14 + (len([]rune(c.BarName))+3)*l.font*6/10
	}
	if c.LineName != "" {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="3" fill="#1f5fa8"/><text class="legend" x="%d" y="%d">%s</text>`, x, ly-5, x+14, ly, esc(c.LineName))
	}
	b.WriteString(`</svg>`)
}
