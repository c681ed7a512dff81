package web

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/web/svg"
)

func (s *Server) chargebacks(ctx context.Context, p *reportParams) (*report.ChargebacksResult, error) {
	return cached(s, ctx, p, "chargebacks", func() (*report.ChargebacksResult, error) {
		q := p.rq(s.st)
		q.By = ""
		if p.Dim != "merchant" {
			q.Only = ""
		}
		return report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
	})
}

func (s *Server) fillChargebacks(ctx context.Context, p *reportParams, v *reportView) error {
	res, err := s.chargebacks(ctx, p)
	if err != nil {
		return err
	}
	v.CB = res
	v.Table = showTable(res.Table().Marked(), p.Cur())
	v.Table.Links = drillLinks(p, res) // each drillable cell to the rows behind it
	seen := map[string]bool{}
	for _, m := range res.Months {
		if !seen[m.Month] {
			seen[m.Month] = true
			v.CBMonths = append(v.CBMonths, m.Month)
		}
		if !contains(v.Groups, m.Merchant) {
			v.Groups = append(v.Groups, m.Merchant)
			if m.MerchantName != nil && *m.MerchantName != "" {
				v.Groups = append(v.Groups, *m.MerchantName)
			}
		}
	}
	sort.Strings(v.CBMonths)
	if len(v.CBMonths) == 0 {
		return nil
	}
	month := p.Month
	if !seen[month] {
		// the latest whole month: the as-of date's own month has only
		// begun (its ratios would read as zero), unless it is the only one
		month = v.CBMonths[len(v.CBMonths)-1]
		if cur := fmt.Sprintf("%04d-%02d", p.AsOf.Year, int(p.AsOf.Month)); month == cur && len(v.CBMonths) > 1 {
			month = v.CBMonths[len(v.CBMonths)-2]
		}
		p.Month = month
	}
	visa := svg.BarChart{Title: "Visa-style ratio, " + month + " (chargebacks received ÷ sales that month)", Threshold: pctF(report.DefaultVisa.Ratio), ThresholdLabel: "threshold " + res.Visa}
	mc := svg.BarChart{Title: "Mastercard-style ratio, " + month + " (chargebacks received ÷ sales the month before)", Threshold: pctF(report.DefaultMastercard.Ratio), ThresholdLabel: "threshold " + res.Mastercard}
	// Each network's ratio over its own cards (metrics.md).
	visa.Title = "Visa-style ratio of Visa cards, " + month + " (chargebacks received ÷ sales that month)"
	mc.Title = "Mastercard-style ratio of Mastercard cards, " + month + " (chargebacks received ÷ sales the month before)"
	for _, m := range res.Months {
		if m.Month != month {
			continue
		}
		label := "MID " + groupLabel(m.Merchant)
		if m.MerchantName != nil && *m.MerchantName != "" {
			label += " " + *m.MerchantName
		}
		switch m.Brand {
		case report.BrandVisa:
			visa.Bars = append(visa.Bars, svg.Bar{Label: label, Value: rateF(m.VisaRatio) * 100, ValueLabel: pct(m.VisaRatio.String()) + " (" + formatInt(m.Chargebacks) + ")", Flag: m.VisaFlag || m.EarlyWarning})
		case report.BrandMastercard:
			mc.Bars = append(mc.Bars, svg.Bar{Label: label, Value: rateF(m.MastercardRatio) * 100, ValueLabel: pct(m.MastercardRatio.String()) + " (" + formatInt(m.Chargebacks) + ")", Flag: m.MastercardFlag || m.EarlyWarning})
		}
	}
	for _, bars := range [][]svg.Bar{visa.Bars, mc.Bars} {
		for i := range bars {
			if math.IsNaN(bars[i].Value) {
				bars[i].Value = 0
			}
		}
	}
	v.Charts = append(v.Charts, visa.Render(), mc.Render())
	return nil
}

// CBMonthTable is the chargebacks table of the month the bars show (the
// page's first table; every month is in the full table below it and the
// CSV).
func (v *reportView) CBMonthTable() *shownTable {
	if v.CB == nil || v.P.Month == "" {
		return nil
	}
	t := v.CB.Table()
	col := slices.Index(t.Header, "month")
	if col < 0 {
		return nil
	}
	// the month's rows, each with its drill links (the full table's)
	var rows [][]string
	var links [][]string
	for i, row := range t.Rows {
		if col < len(row) && row[col] == v.P.Month {
			rows = append(rows, slices.Delete(row, col, col+1)) // the month is in the heading
			var l []string
			if i < len(v.Table.Links) && col < len(v.Table.Links[i]) {
				l = slices.Delete(slices.Clone(v.Table.Links[i]), col, col+1)
			}
			links = append(links, l)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	t.Header = slices.Delete(t.Header, col, col+1)
	t.Rows = rows
	st := showTable(t.Marked(), v.P.Cur())
	st.Links = links
	return &st
}

// cbMonth is a month of the chargebacks report as a link.
type cbMonth struct {
	Month, URL string
	On         bool // the month shown
}

// CBMonthList is every month of the report, as links to its page (the
// page shows one month's table; the CSV has every month).
func (v *reportView) CBMonthList() []cbMonth {
	var out []cbMonth
	for _, m := range v.CBMonths {
		q := *v.P
		q.Month = m
		out = append(out, cbMonth{Month: m, URL: "/reports/chargebacks?" + q.query(), On: m == v.P.Month})
	}
	return out
}

// CBMonthLinks are the months before and after the one shown, as links
// ("" when there is none).
func (v *reportView) CBMonthLinks() (links struct{ Prev, Next, PrevURL, NextURL string }) {
	i := slices.Index(v.CBMonths, v.P.Month)
	if i < 0 {
		return links
	}
	at := func(m string) string {
		q := *v.P
		q.Month = m
		return "/reports/chargebacks?" + q.query()
	}
	if i > 0 {
		links.Prev = v.CBMonths[i-1]
		links.PrevURL = at(links.Prev)
	}
	if i+1 < len(v.CBMonths) {
		links.Next = v.CBMonths[i+1]
		links.NextURL = at(links.Next)
	}
	return links
}

func pctF(d decimal.Decimal) float64 {
	f, _ := d.Mul(decimal.NewFromInt(100)).Float64()
	return f
}
