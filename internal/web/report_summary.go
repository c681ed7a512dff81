package web

import (
	"context"
	"sort"

	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/web/svg"
)

func (s *Server) summary(ctx context.Context, p *reportParams) (*report.SummaryResult, error) {
	return cached(s, ctx, p, "summary", func() (*report.SummaryResult, error) {
		// The report keeps the chosen group (by id or name).
		return report.Summary(ctx, p.rq(s.st), p.From, p.To)
	})
}

func (s *Server) reconcile(ctx context.Context, p *reportParams) (*report.ReconcileResult, error) {
	return cached(s, ctx, p, "reconcile", func() (*report.ReconcileResult, error) {
		q := p.rq(s.st)
		q.Only = ""
		return report.Reconcile(ctx, q, p.From, p.To)
	})
}

func (s *Server) fillSummary(ctx context.Context, p *reportParams, v *reportView) error {
	res, err := s.summary(ctx, p)
	if err != nil {
		return err
	}
	if p.Dim == "" {
		row := res.Total.Row(false)
		v.Summary = &row
	} else {
		for i := range res.Groups {
			v.SumRows = append(v.SumRows, res.Groups[i].Row(true))
			v.Groups = append(v.Groups, res.Groups[i].Group)
			if n := res.Groups[i].Name; n != nil && *n != "" {
				v.Groups = append(v.Groups, *n) // the filter takes either
			}
		}
		if p.Value != "" && len(v.SumRows) == 1 {
			v.Summary = &v.SumRows[0]
		}
		if p.Value != "" && len(v.SumRows) == 0 {
			v.Summary = &report.SummaryRow{}
		}
		if p.Value == "" {
			// gross revenue by group, largest first, at most 15 bars
			bars := make([]svg.Bar, 0, len(res.Groups))
			for _, g := range res.Groups {
				bars = append(bars, svg.Bar{Label: groupLabel(g.Group), Value: float64(g.Gross) / 100, ValueLabel: money(report.Money(g.Gross).String(), p.Cur())})
			}
			sort.SliceStable(bars, func(i, j int) bool { return bars[i].Value > bars[j].Value })
			if len(bars) > 15 {
				bars = bars[:15]
			}
			v.Charts = append(v.Charts, svg.BarChart{Title: "Gross revenue by " + p.Dim, Bars: bars}.Render())
		}
	}
	v.Table = showTable(res.Table().Marked(), p.Cur())
	if p.Value != "" {
		return nil // the reconciliation covers the whole account
	}
	rec, err := s.reconcile(ctx, p)
	if err != nil {
		return err
	}
	v.Reconcile = rec
	v.RecLines = rec.Lines
	if len(v.RecLines) > 100 {
		v.RecMore = len(v.RecLines) - 100
		v.RecLines = v.RecLines[:100]
	}
	return nil
}
