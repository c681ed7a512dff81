package web

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/web/svg"
)

func (s *Server) retention(ctx context.Context, p *reportParams) (*report.RetentionResult, error) {
	return cached(s, ctx, p, "retention", func() (*report.RetentionResult, error) {
		// Every subscription, judged mature or not at the as-of date.
		return report.Retention(ctx, p.rq(s.st), report.RetentionOptions{AsOf: p.AsOf})
	})
}

// maxChartCycles bounds the cycles the chart and the pivot show (the CSV
// and the full table have every one).
const maxChartCycles = 24

func (s *Server) fillRetention(ctx context.Context, p *reportParams, v *reportView) error {
	res, err := s.retention(ctx, p)
	if err != nil {
		return err
	}
	v.Retention = res
	v.Table = showTable(res.Table().Marked(), p.Cur())
	v.Table.Links = drillLinks(p, res) // each drillable cell to the rows behind it
	maxCycle := 0
	for _, g := range res.Groups {
		v.Groups = append(v.Groups, g.Group)
		if g.GroupName != nil && *g.GroupName != "" {
			v.Groups = append(v.Groups, *g.GroupName)
		}
		for _, c := range g.Cycles {
			maxCycle = max(maxCycle, c.Cycle)
		}
	}
	if maxCycle == 0 {
		return nil
	}
	maxCycle = min(maxCycle, maxChartCycles)
	lc := svg.LineChart{Title: "Retention by billing cycle (cycle 1 = the initial sale)", XTitle: "billing cycle",
		YLabel: func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
		Note:   "Hollow points are partial: some subscriptions are not old enough for that cycle yet."}
	for c := 1; c <= maxCycle; c++ {
		lc.X = append(lc.X, strconv.Itoa(c))
	}
	groups := res.Groups
	if len(groups) > 12 {
		groups = groups[:12]
	}
	partial := map[[2]int]bool{}
	for si, g := range groups {
		pts := make([]float64, maxCycle)
		for i := range pts {
			pts[i] = math.NaN()
		}
		for _, c := range g.Cycles {
			if c.Cycle >= 1 && c.Cycle <= maxCycle {
				pts[c.Cycle-1] = rateF(c.Retention)
				partial[[2]int{si, c.Cycle - 1}] = c.Partial
			}
		}
		lc.Series = append(lc.Series, svg.Series{Name: p.byLabel() + " " + groupName(g), Points: pts})
	}
	lc.Marks = func(si, i int) bool { return partial[[2]int{si, i}] }
	v.Charts = append(v.Charts, lc.Render())
	return nil
}

func (p *reportParams) byLabel() string {
	if p.Dim == "" {
		return "product"
	}
	return p.Dim
}

// groupName is a group's id, with its name when the report has one.
func groupName(g report.RetentionGroup) string {
	s := groupLabel(g.Group)
	if g.GroupName != nil && *g.GroupName != "" && *g.GroupName != g.Group {
		s += " " + *g.GroupName
	}
	return s
}

// pivot is the retention table turned: one row per group (product, or the
// chosen breakdown), one column per billing cycle.
type pivot struct {
	Corner string // the rows' heading
	Cols   []string
	Rows   []pivotRow
}

type pivotRow struct {
	Head          string
	Subscriptions string
	Cells         []pivotCell
}

type pivotCell struct {
	Text    string // "" when the group never reached the cycle
	Title   string // what the figure is made of
	Partial bool
	Link    string // optional: the rows behind the figure
}

// RetentionPivot is the page's retention as cycles across: each cell the
// cycle's retention among the eligible subscriptions (a partial one marked
// "*"), its tooltip the counts and the rebill rate.
func (v *reportView) RetentionPivot() *pivot {
	res := v.Retention
	if res == nil || len(res.Groups) == 0 {
		return nil
	}
	maxCycle := 0
	for _, g := range res.Groups {
		for _, c := range g.Cycles {
			maxCycle = max(maxCycle, c.Cycle)
		}
	}
	maxCycle = min(maxCycle, maxChartCycles)
	if maxCycle < 1 {
		return nil
	}
	pv := &pivot{Corner: v.P.byLabel()}
	for c := 1; c <= maxCycle; c++ {
		pv.Cols = append(pv.Cols, "cycle "+strconv.Itoa(c))
	}
	for _, g := range res.Groups {
		row := pivotRow{Head: groupName(g), Subscriptions: formatInt(g.Subscriptions), Cells: make([]pivotCell, maxCycle)}
		for _, c := range g.Cycles {
			if c.Cycle < 1 || c.Cycle > maxCycle {
				continue
			}
			cell := pivotCell{Text: pct(c.Retention.String()), Partial: c.Partial,
				Link: retentionCellLink(v.P, g.Group, c.Cycle, "eligible_approvals")} // the subscriptions retained
			cell.Title = fmt.Sprintf("cycle %d: %s of %s eligible subscriptions approved; rebill rate %s; %s approvals, %s declines; retention ignoring maturity %s",
				c.Cycle, formatInt(c.EligibleApprovals), formatInt(c.Eligible), pct(c.RebillRate.String()), formatInt(c.Approvals), formatInt(c.Declines), pct(c.RetentionAll.String()))
			if c.Partial {
				cell.Text += "*"
				cell.Title += "; partial: some subscriptions are not old enough for this cycle yet"
			}
			row.Cells[c.Cycle-1] = cell
		}
		pv.Rows = append(pv.Rows, row)
	}
	return pv
}
