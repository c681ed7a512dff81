package web

import (
	"context"
	"fmt"
	"math"
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
		month = v.CBMonths[len(v.CBMonths)-1]
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
			visa.Bars = append(visa.Bars, svg.Bar{Label: label, Value: rateF(m.VisaRatio) * 100, ValueLabel: pct(m.VisaRatio.String()) + fmt.Sprintf(" (%d)", m.Chargebacks), Flag: m.VisaFlag || m.EarlyWarning})
		case report.BrandMastercard:
			mc.Bars = append(mc.Bars, svg.Bar{Label: label, Value: rateF(m.MastercardRatio) * 100, ValueLabel: pct(m.MastercardRatio.String()) + fmt.Sprintf(" (%d)", m.Chargebacks), Flag: m.MastercardFlag || m.EarlyWarning})
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

func pctF(d decimal.Decimal) float64 {
	f, _ := d.Mul(decimal.NewFromInt(100)).Float64()
	return f
}
