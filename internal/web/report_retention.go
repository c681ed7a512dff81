package web

import (
	"context"
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

func (s *Server) fillRetention(ctx context.Context, p *reportParams, v *reportView) error {
	res, err := s.retention(ctx, p)
	if err != nil {
		return err
	}
	v.Retention = res
	v.Table = showTable(res.Table().Marked(), p.Cur())
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
	maxCycle = min(maxCycle, 24)
	lc := svg.LineChart{Title: "Retention by billing cycle (cycle 1 = the initial sale)", Width: 760, YLabel: func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" }}
	for c := 1; c <= maxCycle; c++ {
		lc.X = append(lc.X, strconv.Itoa(c))
	}
	groups := res.Groups
	if len(groups) > 12 {
		groups = groups[:12]
	}
	for _, g := range groups {
		pts := make([]float64, maxCycle)
		for i := range pts {
			pts[i] = math.NaN()
		}
		for _, c := range g.Cycles {
			if c.Cycle >= 1 && c.Cycle <= maxCycle {
				pts[c.Cycle-1] = rateF(c.Retention)
			}
		}
		lc.Series = append(lc.Series, svg.Series{Name: p.byLabel() + " " + groupLabel(g.Group), Points: pts})
	}
	v.Charts = append(v.Charts, lc.Render())
	return nil
}

func (p *reportParams) byLabel() string {
	if p.Dim == "" {
		return "product"
	}
	return p.Dim
}
