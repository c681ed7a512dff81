package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/web/svg"
)

func (s *Server) ltv(ctx context.Context, p *reportParams) (*report.LTVResult, error) {
	return cached(s, ctx, p, "ltv", func() (*report.LTVResult, error) {
		return report.LTV(ctx, p.rq(s.st), report.LTVOptions{Cohort: p.Cohort, AsOf: p.AsOf})
	})
}

func (s *Server) fillLTV(ctx context.Context, p *reportParams, v *reportView) error {
	res, err := s.ltv(ctx, p)
	if err != nil {
		return err
	}
	v.LTV = res
	v.Table = showTable(res.Table().Marked(), p.Cur())
	v.Table.Links = drillLinks(p, res) // each drillable cell to the rows behind it
	if len(res.Cohorts) == 0 {
		return nil
	}
	for _, c := range res.Cohorts {
		if c.GroupName != nil && *c.GroupName != "" && !contains(v.Groups, *c.GroupName) {
			v.Groups = append(v.Groups, *c.GroupName)
		}
		if c.Group != nil && !contains(v.Groups, *c.Group) {
			v.Groups = append(v.Groups, *c.Group)
		}
	}
	measure := titleCase(p.Metric) + " LTV"
	pick := func(cell report.Cell) report.PerHead {
		if p.Metric == "gross" {
			return cell.GrossLTV
		}
		return cell.NetLTV
	}
	hm := svg.Heatmap{Title: fmt.Sprintf("%s per customer, by %s cohort (as of %s, %s)", measure, p.Cohort, res.AsOf, res.TimeZone)}
	for _, c := range res.Cohorts[0].Cells {
		hm.Cols = append(hm.Cols, cellName(c))
	}
	shown := res.Cohorts
	if len(shown) > maxHeatmapRows {
		shown = shown[len(shown)-maxHeatmapRows:]
		hm.Title += fmt.Sprintf(", the latest %d of %d cohorts (all are in the table)", maxHeatmapRows, len(res.Cohorts))
	}
	for _, c := range shown {
		hm.Rows = append(hm.Rows, fmt.Sprintf("%s (%s)", cohortLabel(c), formatInt(c.Customers)))
		var row []svg.Cell
		for _, cell := range c.Cells {
			ph := pick(cell)
			title := fmt.Sprintf("%s, %s: gross %s, net %s per customer (%s customers)", cohortLabel(c), cellName(cell), money(cell.GrossLTV.String(), p.Cur()), money(cell.NetLTV.String(), p.Cur()), formatInt(c.Customers))
			if cell.Partial {
				title += "; partial: some customers have not reached this day"
			}
			sc := svg.Cell{Value: perHead(ph), Label: money(ph.String(), p.Cur()), Title: title, Partial: cell.Partial, Empty: ph.N == 0}
			if !sc.Empty {
				sc.Link = ltvCellLink(p, res.Period, c, cell, p.Metric) // the cohort's customers behind the cell
			}
			row = append(row, sc)
		}
		hm.Cells = append(hm.Cells, row)
	}
	v.Charts = append(v.Charts, hm.Render())
	v.Charts = append(v.Charts, ltvCurves(res, p, measure, pick).Render())
	return nil
}

// maxCurves bounds the cohorts drawn as curves (each needs its own colour).
const maxCurves = 12

// ltvCurves draws the chosen measure of the latest cohorts on a time axis
// (days or months since the first sale, spaced by time), each curve ending
// at its cohort's last complete cell: a partial cell is not drawn, so a
// young cohort is never shown flat to day 365.
func ltvCurves(res *report.LTVResult, p *reportParams, measure string, pick func(report.Cell) report.PerHead) svg.LineChart {
	cells := res.Cohorts[0].Cells
	unit := "days"
	if len(cells) > 0 && cells[0].Month != nil {
		unit = "months"
	}
	lc := svg.LineChart{
		Title:  fmt.Sprintf("%s per customer by %s since the first sale, the latest cohorts; each curve ends at its last complete %s", measure, unit, strings.TrimSuffix(unit, "s")),
		XTitle: unit + " since the first sale",
		YLabel: func(f float64) string { return axisMoney(f, p.Cur()) },
		Note:   "Cells some customers have not reached yet (partial) are in the heat map and the table, not on the curves.",
	}
	for _, c := range cells {
		lc.X = append(lc.X, cellName(c))
		lc.XAt = append(lc.XAt, float64(cellAt(c)))
	}
	var shown []report.Cohort
	for i := len(res.Cohorts) - 1; i >= 0 && len(shown) < maxCurves; i-- {
		c := res.Cohorts[i]
		if len(c.Cells) > 0 && !c.Cells[0].Partial && pick(c.Cells[0]).N > 0 {
			shown = append(shown, c)
		}
	}
	slices.Reverse(shown)
	for _, c := range shown {
		ser := svg.Series{Name: fmt.Sprintf("%s (%s)", cohortLabel(c), formatInt(c.Customers))}
		for _, cell := range c.Cells {
			if cell.Partial {
				break // the curve stops at the last complete cell
			}
			ser.Points = append(ser.Points, perHead(pick(cell)))
		}
		lc.Series = append(lc.Series, ser)
	}
	return lc
}

// cellAt is a cell's place on the time axis: its day or month number.
func cellAt(c report.Cell) int {
	if c.Month != nil {
		return *c.Month
	}
	if c.Day != nil {
		return *c.Day
	}
	return 0
}

// WithMetric is the page's query with the LTV measure set to m (the
// measure links of the LTV tab).
func (p *reportParams) WithMetric(m string) template.URL {
	q := *p
	q.Metric = m
	return template.URL(q.query()) // url.Values.Encode output: already escaped
}

// perHead is the float that places an LTV mark (never shown).
func perHead(p report.PerHead) float64 {
	if p.N == 0 {
		return math.NaN()
	}
	return float64(p.Cents) / float64(p.N) / 100
}

func cellName(c report.Cell) string {
	if c.Month != nil {
		return fmt.Sprintf("month %d", *c.Month)
	}
	if c.Day != nil {
		return fmt.Sprintf("day %d", *c.Day)
	}
	return "?"
}

func cohortLabel(c report.Cohort) string {
	if c.Group != nil {
		return groupLabel(*c.Group) + " " + c.Cohort
	}
	return c.Cohort
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
