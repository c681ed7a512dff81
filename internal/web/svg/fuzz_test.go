package svg

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// FuzzLabels: whatever the labels and values, every chart is well-formed
// XML (labels cannot break out of their element) and has no NaN.
func FuzzLabels(f *testing.F) {
	f.Add("2026-01", "day 0", "12.34", 1.5, false)
	f.Add("<script>alert(1)</script>", "a&b", "\"'", math.NaN(), true)
	f.Add("", "", "", math.Inf(1), false)
	f.Fuzz(func(t *testing.T, row, col, label string, v float64, partial bool) {
		charts := []string{
			string(Heatmap{Title: label, Rows: []string{row}, Cols: []string{col}, Cells: [][]Cell{{{Value: v, Label: label, Partial: partial, Link: col}}}}.Render()),
			string(LineChart{Title: label, X: []string{col}, Series: []Series{{Name: row, Points: []float64{v}}}}.Render()),
			string(LineChart{Title: label, XAt: []float64{v, 1}, Series: []Series{{Name: row, Points: []float64{v, v}}}, Note: col}.Render()),
			string(BarChart{Title: label, Bars: []Bar{{Label: row, Value: v, ValueLabel: label, Flag: partial}}, Threshold: v, ThresholdLabel: col}.Render()),
		}
		for _, c := range charts {
			// every chart is one figure: its caption, the svg(s), a legend
			open, end := `<figure class="chart-fig`, "</figure>"
			if !strings.HasPrefix(c, open) || !strings.HasSuffix(c, end) {
				t.Fatalf("not one chart element: %q", c)
			}
			if strings.Contains(c, "NaN") {
				t.Fatalf("NaN in output: %q", c)
			}
			d := xml.NewDecoder(strings.NewReader(c))
			depth, roots := 0, 0
			for {
				tok, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v\n%s", err, c)
				}
				switch tok.(type) {
				case xml.StartElement:
					if depth == 0 {
						roots++
					}
					depth++
				case xml.EndElement:
					depth--
				}
			}
			if roots != 1 {
				t.Fatalf("%d root elements", roots)
			}
		}
	})
}
