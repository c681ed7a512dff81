package web

import (
	"context"
	"fmt"
	"math"
	"strconv"
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
	hm := svg.Heatmap{Title: fmt.Sprintf("%s LTV per customer, by %s cohort (as of %s, %s)", titleCase(p.Metric), p.Cohort, res.AsOf, res.TimeZone)}
	for _, c := range res.Cohorts[0].Cells {
		hm.Cols = append(hm.Cols, cellName(c))
	}
	shown := res.Cohorts
	if len(shown) > maxHeatmapRows {
		shown = shown[len(shown)-maxHeatmapRows:]
		hm.Title += fmt.Sprintf(", the latest %d of %d cohorts (all are in the table)", maxHeatmapRows, len(res.Cohorts))
	}
	for _, c := range shown {
		hm.Rows = append(hm.Rows, fmt.Sprintf("%s (%d)", cohortLabel(c), c.Customers))
		var row []svg.Cell
		for _, cell := range c.Cells {
			ph := cell.NetLTV
			if p.Metric == "gross" {
				ph = cell.GrossLTV
			}
			title := fmt.Sprintf("%s, %s: gross %s, net %s per customer (%d customers)", cohortLabel(c), cellName(cell), money(cell.GrossLTV.String(), p.Cur()), money(cell.NetLTV.String(), p.Cur()), c.Customers)
			if cell.Partial {
				title += "; partial: some customers have not reached this day"
			}
			row = append(row, svg.Cell{Value: perHead(ph), Label: money(ph.String(), p.Cur()), Title: title, Partial: cell.Partial, Empty: ph.N == 0})
		}
		hm.Cells = append(hm.Cells, row)
	}
	v.Charts = append(v.Charts, hm.Render())
	// curves: gross LTV over the cells, the latest 12 cohorts
	lc := svg.LineChart{Title: "Gross LTV curves (hollow points are partial)", Width: 760, YLabel: func(f float64) string { return money(strconv.FormatFloat(f, 'f', 2, 64), p.Cur()) }}
	for _, c := range res.Cohorts[0].Cells {
		lc.X = append(lc.X, cellName(c))
	}
	cohorts := res.Cohorts
	if len(cohorts) > 12 {
		cohorts = cohorts[len(cohorts)-12:]
	}
	partial := map[[2]int]bool{}
	for si, c := range cohorts {
		ser := svg.Series{Name: cohortLabel(c)}
		for i, cell := range c.Cells {
			ser.Points = append(ser.Points, perHead(cell.GrossLTV))
			partial[[2]int{si, i}] = cell.Partial
		}
		lc.Series = append(lc.Series, ser)
	}
	lc.Marks = func(si, i int) bool { return partial[[2]int{si, i}] }
	v.Charts = append(v.Charts, lc.Render())
	return nil
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
