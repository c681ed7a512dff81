package web

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/web/svg"
)

// summary is the summary table: by the breakdown when one is chosen.
func (s *Server) summary(ctx context.Context, p *reportParams) (*report.SummaryResult, error) {
	return cached(s, ctx, p, "summary", func() (*report.SummaryResult, error) {
		return report.Summary(ctx, p.rq(s.st), p.From, p.To)
	})
}

// summaryTotal is the filtered figures without a breakdown: the KPIs.
func (s *Server) summaryTotal(ctx context.Context, p *reportParams) (*report.SummaryResult, error) {
	return cached(s, ctx, p, "summary-total", func() (*report.SummaryResult, error) {
		q := p.rq(s.st)
		q.By = ""
		return report.Summary(ctx, q, p.From, p.To)
	})
}

func (s *Server) trend(ctx context.Context, p *reportParams) (*report.TrendResult, error) {
	return cached(s, ctx, p, "trend", func() (*report.TrendResult, error) {
		q := p.rq(s.st)
		q.By = ""
		return report.Trend(ctx, q, p.From, p.To, p.Grain)
	})
}

func (s *Server) reconcile(ctx context.Context, p *reportParams) (*report.ReconcileResult, error) {
	return cached(s, ctx, p, "reconcile", func() (*report.ReconcileResult, error) {
		q := p.rq(s.st)
		q.By = ""
		return report.Reconcile(ctx, q, p.From, p.To)
	})
}

// kpiCmp is a KPI beside its value in the previous period.
type kpiCmp struct {
	ID     string
	Prev   string // the previous period's value, shown
	Delta  string // the change, signed: "+$1,204.00", "-3", "+1.25 pp"
	Change string // the change in percent of the previous value ("" when it was zero or the KPI is a rate)
	Class  string // good, bad or "" (no change): a fall is good where lower is better
	Arrow  string
}

// kpiDef says how to compare one KPI.
type kpiDef struct {
	id    string
	lower bool // lower is better (refunds, chargebacks)
	kind  string
}

var kpiDefs = []kpiDef{
	{"gross_revenue", false, "money"}, {"refunds", true, "money"}, {"refunds_konnektive_view", true, "money"}, {"net_revenue", false, "money"},
	{"orders", false, "count"}, {"new_customers", false, "count"}, {"aov", false, "perhead"},
	{"approval_rate", false, "rate"}, {"refund_rate", true, "rate"}, {"chargeback_rate", true, "rate"},
}

// compare sets each KPI of cur beside prev. Differences are exact: money
// in cents, AOV and rates as exact fractions rounded only when shown.
func compare(cur, prev *report.SummaryRow, currency string) map[string]kpiCmp {
	out := map[string]kpiCmp{}
	for _, d := range kpiDefs {
		var c kpiCmp
		c.ID = d.id
		var sign int
		switch d.kind {
		case "money", "count":
			a, b := moneyOf(cur, d.id), moneyOf(prev, d.id)
			sign = cmpInt(a, b)
			if d.kind == "money" {
				c.Prev = money(report.Money(b).String(), currency)
				c.Delta = signed(money(report.Money(a-b).String(), currency), sign)
			} else {
				c.Prev = formatInt(b)
				c.Delta = signed(formatInt(a-b), sign)
			}
			if b != 0 {
				c.Change = signed(pct(report.Rate{Num: a - b, Den: abs(b)}.String()), sign)
			}
		case "perhead":
			a, b := cur.AOV, prev.AOV
			c.Prev = money(b.String(), currency)
			if a.N == 0 || b.N == 0 {
				c.Delta = "–"
				break
			}
			// a/an − b/bn = (a·bn − b·an) / (an·bn)
			num, den := a.Cents*b.N-b.Cents*a.N, a.N*b.N
			sign = cmpInt(num, 0)
			c.Delta = signed(money(report.PerHead{Cents: num, N: den}.String(), currency), sign)
			if b.Cents != 0 {
				c.Change = signed(pct(report.Rate{Num: num, Den: abs(b.Cents * a.N)}.String()), sign)
			}
		case "rate":
			a, b := rateOf(cur, d.id), rateOf(prev, d.id)
			c.Prev = pct(b.String())
			if a.Den == 0 || b.Den == 0 {
				c.Delta = "–"
				break
			}
			num, den := a.Num*b.Den-b.Num*a.Den, a.Den*b.Den
			sign = cmpInt(num, 0)
			c.Delta = signed(strings.TrimSuffix(pct(report.Rate{Num: num, Den: den}.String()), "%"), sign) + " pp"
		}
		switch {
		case sign == 0:
		case (sign > 0) != d.lower:
			c.Class, c.Arrow = "good", arrow(sign)
		default:
			c.Class, c.Arrow = "bad", arrow(sign)
		}
		out[d.id] = c
	}
	return out
}

func arrow(sign int) string {
	if sign > 0 {
		return "▲"
	}
	return "▼"
}

// signed puts a "+" before a positive change (a negative one has its "-").
func signed(s string, sign int) string {
	if sign > 0 && !strings.HasPrefix(s, "+") {
		return "+" + s
	}
	return s
}

func cmpInt(a, b int64) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// moneyOf is a money (cents) or count KPI of a row.
func moneyOf(r *report.SummaryRow, id string) int64 {
	switch id {
	case "gross_revenue":
		return int64(r.GrossRevenue)
	case "refunds":
		return int64(r.Refunds)
	case "refunds_konnektive_view":
		return int64(r.RefundsKonnektiveView)
	case "net_revenue":
		return int64(r.NetRevenue)
	case "orders":
		return r.Orders
	case "new_customers":
		return r.NewCustomers
	}
	return 0
}

func rateOf(r *report.SummaryRow, id string) report.Rate {
	switch id {
	case "approval_rate":
		return r.ApprovalRate
	case "refund_rate":
		return r.RefundRate
	case "chargeback_rate":
		return r.ChargebackRate
	}
	return report.Rate{}
}

// trendRow is one point of the trend as the page lists it.
type trendRow struct {
	Label, From, To                  string
	Gross, Refunds, Net              string
	Orders, NewCustomers, Sales      string
	ApprovalRate, RefundRate, CBRate string
}

func (s *Server) fillSummary(ctx context.Context, p *reportParams, v *reportView) error {
	if p.Dim == "currency" && p.Currency == "" && len(p.Currencies) > 1 {
		// One row per currency: totals, the trend and the reconciliation
		// would add two currencies together.
		res, err := s.summary(ctx, p)
		if err != nil {
			return err
		}
		v.Table = showTable(res.Table().Marked(), p.Cur())
		v.Table.Links = drillLinks(p, res) // each drillable cell to the rows behind it
		v.PerCurrency = true
		return nil
	}
	// The table, the KPIs, the previous period (as many days, just before),
	// the trend and the reconciliation are independent: computed at once
	// (each cached on its own).
	v.PrevFrom, v.PrevTo = report.Previous(p.From, p.To)
	var (
		wg              sync.WaitGroup
		res, total, prv *report.SummaryResult
		tr              *report.TrendResult
		rec             *report.ReconcileResult
		errs            [5]error
	)
	run := func(i int, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	run(0, func() (err error) { res, err = s.summary(ctx, p); return })
	run(1, func() (err error) {
		if p.Dim == "" {
			return nil // the table is the total
		}
		total, err = s.summaryTotal(ctx, p)
		return
	})
	run(2, func() (err error) { prv, err = s.summaryTotal(ctx, p.with(v.PrevFrom, v.PrevTo)); return })
	run(3, func() (err error) {
		if _, err := report.TrendSpans(p.From, p.To, p.Grain); err != nil {
			return nil // decades even by month: no trend
		}
		tr, err = s.trend(ctx, p)
		return
	})
	run(4, func() (err error) { rec, err = s.reconcile(ctx, p); return })
	wg.Wait()
	for _, e := range errs {
		if e != nil && !errors.Is(e, errNotCached) {
			return e // a real failure, as it is
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	v.Table = showTable(res.Table().Marked(), p.Cur())
	v.Table.Links = drillLinks(p, res) // each drillable cell to the rows behind it
	if total == nil {
		total = res
	}
	row := total.Total.Row(false)
	v.Summary = &row
	prow := prv.Total.Row(false)
	v.Prev = &prow
	v.Cmp = compare(v.Summary, v.Prev, p.Cur())
	if tr != nil {
		v.Trend = tr
		chart := svg.TrendChart{Title: "Gross and net revenue by " + p.Grain, BarName: "gross revenue", LineName: "net revenue",
			YLabel: func(f float64) string { return axisMoney(f, p.Cur()) }}
		for _, pt := range tr.Points {
			r := pt.Figures.Row(false)
			chart.X = append(chart.X, shortLabel(p.Grain, pt.Label))
			chart.Bars = append(chart.Bars, float64(pt.Figures.Gross)/100)
			chart.BarLabels = append(chart.BarLabels, money(r.GrossRevenue.String(), p.Cur()))
			chart.Line = append(chart.Line, float64(r.NetRevenue)/100)
			chart.LineLabel = append(chart.LineLabel, money(r.NetRevenue.String(), p.Cur()))
			v.TrendRows = append(v.TrendRows, trendRow{Label: pt.Label, From: pt.From.String(), To: pt.To.String(),
				Gross: money(r.GrossRevenue.String(), p.Cur()), Refunds: money(r.Refunds.String(), p.Cur()), Net: money(r.NetRevenue.String(), p.Cur()),
				Orders: formatInt(r.Orders), NewCustomers: formatInt(r.NewCustomers), Sales: formatInt(r.Sales),
				ApprovalRate: pct(r.ApprovalRate.String()), RefundRate: pct(r.RefundRate.String()), CBRate: pct(r.ChargebackRate.String())})
		}
		v.TrendChart = chart.Render()
	}
	if p.Dim != "" {
		for i := range res.Groups {
			v.SumRows = append(v.SumRows, res.Groups[i].Row(true))
			v.Groups = append(v.Groups, res.Groups[i].Group)
			if n := res.Groups[i].Name; n != nil && *n != "" {
				v.Groups = append(v.Groups, *n) // the filter takes either
			}
		}
		if len(res.Groups) > 1 {
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
	v.Reconcile = rec
	v.RecLines = rec.Lines
	if len(v.RecLines) > 100 {
		v.RecMore = len(v.RecLines) - 100
		v.RecLines = v.RecLines[:100]
	}
	return nil
}

// shortLabel is a point's axis label: "03-14" for a day, "W11" for a
// week, "2025-03" for a month.
func shortLabel(grain, label string) string {
	switch grain {
	case report.GrainDay:
		if len(label) == 10 {
			return label[5:]
		}
	case report.GrainWeek:
		if i := strings.Index(label, "-W"); i >= 0 {
			return label[i+1:]
		}
	}
	return label
}

// axisMoney is a tick of a money axis: whole units, thousands as "k",
// millions as "M" (the ticks place marks; exact amounts are in the
// tooltips and the table).
func axisMoney(f float64, currency string) string {
	d := decimal.NewFromFloat(f)
	neg := d.IsNegative()
	d = d.Abs()
	var s string
	switch {
	case d.GreaterThanOrEqual(decimal.NewFromInt(1_000_000)):
		s = d.Div(decimal.NewFromInt(1_000_000)).Round(1).String() + "M"
	case d.GreaterThanOrEqual(decimal.NewFromInt(1_000)):
		s = d.Div(decimal.NewFromInt(1_000)).Round(1).String() + "k"
	default:
		s = strconv.FormatInt(d.Round(0).IntPart(), 10)
	}
	if sym, ok := currencySymbols[strings.ToUpper(currency)]; ok {
		s = sym + s
	}
	if neg {
		s = "-" + s
	}
	return s
}
