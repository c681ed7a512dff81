package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/rollup"
)

// Thresholds flag a merchant account's month: a ratio at or above Ratio
// with at least Count chargebacks.
type Thresholds struct {
	Ratio decimal.Decimal // 0.009 is 0.9%
	Count int64
}

// Default thresholds (metrics.md): 0.9% and 100 Visa-style, 1.5% and 100
// Mastercard-style.
var (
	DefaultVisa       = Thresholds{Ratio: decimal.RequireFromString("0.009"), Count: 100}
	DefaultMastercard = Thresholds{Ratio: decimal.RequireFromString("0.015"), Count: 100}
)

func (t Thresholds) over(r Rate, n int64) bool {
	if r.Den == 0 || n < t.Count {
		return false
	}
	// Exact: num/den >= ratio  <=>  num >= ratio*den.
	return decimal.NewFromInt(r.Num).GreaterThanOrEqual(t.Ratio.Mul(decimal.NewFromInt(r.Den)))
}

// MIDMonth is one merchant account's month.
type MIDMonth struct {
	Merchant         string `json:"merchant"`
	Month            string `json:"month"` // YYYY-MM in the display time zone
	Chargebacks      int64  `json:"chargebacks"`
	ChargebackAmount Money  `json:"chargeback_amount"`
	Sales            int64  `json:"sales"`
	SalesPrevMonth   int64  `json:"sales_prev_month"`
	VisaRatio        Rate   `json:"visa_ratio"`       // chargebacks received in M ÷ sales in M
	MastercardRatio  Rate   `json:"mastercard_ratio"` // chargebacks received in M ÷ sales in M−1
	VisaFlag         bool   `json:"visa_flag"`
	MastercardFlag   bool   `json:"mastercard_flag"`
}

// ChargebacksResult is the chargeback monitoring report.
type ChargebacksResult struct {
	TimeZone   string     `json:"time_zone"`
	Visa       string     `json:"visa_threshold"`
	Mastercard string     `json:"mastercard_threshold"`
	Months     []MIDMonth `json:"months"`
}

// Table has one row per merchant account and month.
func (r *ChargebacksResult) Table() Table {
	t := Table{Header: []string{"merchant", "month", "chargebacks", "chargeback_amount", "sales", "sales_prev_month", "visa_ratio", "mastercard_ratio", "flags"}}
	for _, m := range r.Months {
		var flags []string
		if m.VisaFlag {
			flags = append(flags, "VISA")
		}
		if m.MastercardFlag {
			flags = append(flags, "MC")
		}
		t.Rows = append(t.Rows, []string{m.Merchant, m.Month, fmt.Sprint(m.Chargebacks), m.ChargebackAmount.String(), fmt.Sprint(m.Sales), fmt.Sprint(m.SalesPrevMonth),
			m.VisaRatio.String(), m.MastercardRatio.String(), strings.Join(flags, " ")})
	}
	return t
}

type monthKey struct {
	mid   string
	month string
}

// Chargebacks computes the per-MID monthly ratios. Months are calendar
// months of the display time zone: sales by their local day, chargebacks by
// chargebackDate.
func Chargebacks(ctx context.Context, q Query, visa, mc Thresholds) (*ChargebacksResult, error) {
	db := q.Store.DB()
	res := &ChargebacksResult{TimeZone: q.Loc.String(), Months: []MIDMonth{},
		Visa:       fmt.Sprintf("%s%% and %d", visa.Ratio.Mul(decimal.NewFromInt(100)).String(), visa.Count),
		Mastercard: fmt.Sprintf("%s%% and %d", mc.Ratio.Mul(decimal.NewFromInt(100)).String(), mc.Count)}
	cells := map[monthKey]*MIDMonth{}
	cell := func(k monthKey) *MIDMonth {
		c, ok := cells[k]
		if !ok {
			c = &MIDMonth{Merchant: k.mid, Month: k.month}
			cells[k] = c
		}
		return c
	}
	sales := map[monthKey]int64{}
	done, err := chargebacksRollup(ctx, q, sales, cell)
	if err != nil {
		return nil, err
	}
	if !done {
		var lo, hi int64
		if err := db.QueryRowContext(ctx, q.Store.Rebind("SELECT "+
			"CAST(COALESCE(MIN(created_utc), 0) AS BIGINT), CAST(COALESCE(MAX(created_utc), 0) AS BIGINT) FROM transactions WHERE integration_id = ? AND "+saleCond("")),
			q.Integration).Scan(ints(&lo, &hi)...); err != nil {
			return nil, fmt.Errorf("chargebacks: %w", err)
		}
		if hi > 0 || lo != 0 {
			// The UTC bounds of each local month holding a sale.
			first := time.Unix(lo, 0).In(q.Loc)
			last := time.Unix(hi, 0).In(q.Loc)
			var names []string
			var args []any
			var vals []string
			for y, m := first.Year(), first.Month(); y < last.Year() || (y == last.Year() && m <= last.Month()); {
				// The first instant of the month's first day (crm's DST rules:
				// a midnight that does not exist starts the day at the gap's end).
				start := crm.Date{Year: y, Month: m, Day: 1}.In(q.Loc)
				end := crm.DateOf(time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)).In(q.Loc)
				vals = append(vals, "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))")
				args = append(args, len(names), start.Unix(), end.Unix())
				names = append(names, fmt.Sprintf("%04d-%02d", y, int(m)))
				if m == time.December {
					y, m = y+1, time.January
				} else {
					m++
				}
			}
			args = append(args, q.Integration)
			stmt := "WITH m(k, lo, hi) AS (VALUES " + strings.Join(vals, ", ") + ")" +
				" SELECT m.k, t.merchant_id, COUNT(*) FROM m JOIN transactions t ON t.integration_id = ? AND t.created_utc >= m.lo AND t.created_utc < m.hi" +
				" WHERE " + saleCond("t.") + " GROUP BY m.k, t.merchant_id"
			rows, err := db.QueryContext(ctx, q.Store.Rebind(stmt), args...)
			if err != nil {
				return nil, fmt.Errorf("chargebacks sales: %w", err)
			}
			for rows.Next() {
				var k, n int64
				var mid string
				if err := rows.Scan(&k, &mid, &n); err != nil {
					rows.Close()
					return nil, fmt.Errorf("chargebacks sales: %w", err)
				}
				mk := monthKey{mid, names[k]}
				sales[mk] = n
				cell(mk).Sales = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("chargebacks sales: %w", err)
			}
		}
		stmt := "SELECT merchant_id, SUBSTR(chargeback_date, 1, 7), COUNT(*), CAST(COALESCE(SUM(chargeback_cents), 0) AS BIGINT) FROM transactions" +
			" WHERE integration_id = ? AND chargedback = 1 AND chargeback_date IS NOT NULL AND " + saleCond("") +
			" GROUP BY merchant_id, SUBSTR(chargeback_date, 1, 7)"
		rows, err := db.QueryContext(ctx, q.Store.Rebind(stmt), q.Integration)
		if err != nil {
			return nil, fmt.Errorf("chargebacks: %w", err)
		}
		for rows.Next() {
			var mid, month string
			var n, cents int64
			if err := rows.Scan(append([]any{&mid, &month}, ints(&n, &cents)...)...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("chargebacks: %w", err)
			}
			c := cell(monthKey{mid, month})
			c.Chargebacks, c.ChargebackAmount = n, Money(cents)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("chargebacks: %w", err)
		}
	}
	for k, c := range cells {
		c.SalesPrevMonth = sales[monthKey{k.mid, prevMonth(k.month)}]
		c.VisaRatio = Rate{c.Chargebacks, c.Sales}
		c.MastercardRatio = Rate{c.Chargebacks, c.SalesPrevMonth}
		c.VisaFlag = visa.over(c.VisaRatio, c.Chargebacks)
		c.MastercardFlag = mc.over(c.MastercardRatio, c.Chargebacks)
		res.Months = append(res.Months, *c)
	}
	sort.Slice(res.Months, func(i, j int) bool {
		a, b := res.Months[i], res.Months[j]
		if a.Merchant != b.Merchant {
			return a.Merchant < b.Merchant
		}
		return a.Month < b.Month
	})
	return res, nil
}

// chargebacksRollup reads sales per merchant and local month, and
// chargebacks per merchant and month received, from the rollups; done is
// false when they are not current (or a month of the display zone does not
// start on a bucket boundary).
func chargebacksRollup(ctx context.Context, q Query, sales map[monthKey]int64, cell func(monthKey) *MIDMonth) (done bool, err error) {
	_, _, ok, err := q.rollups(ctx)
	if err != nil || !ok {
		return false, err
	}
	merchant, err := rollup.Dim("merchant_id")
	if err != nil {
		return false, err
	}
	// Buckets come in order: keep the current local month's UTC bounds
	// (crm's DST rules, as the transactions road) and move on when passed.
	var name string
	var lo, hi int64 = 1, 0 // empty until the first bucket
	aligned := true
	err = rollup.Sales(ctx, q.Store, q.Integration, merchant, func(b int64, mid string, n int64) {
		if b < lo || b >= hi {
			t := time.Unix(b, 0).In(q.Loc)
			y, m := t.Year(), t.Month()
			lo = crm.Date{Year: y, Month: m, Day: 1}.In(q.Loc).Unix()
			hi = crm.DateOf(time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)).In(q.Loc).Unix()
			name = fmt.Sprintf("%04d-%02d", y, int(m))
			aligned = aligned && rollup.Aligned(lo) && rollup.Aligned(hi)
		}
		sales[monthKey{mid, name}] += n
	})
	if err != nil {
		return false, fmt.Errorf("chargebacks sales: %w", err)
	}
	if !aligned {
		clear(sales)
		return false, nil
	}
	for k, n := range sales {
		cell(k).Sales = n
	}
	err = rollup.Received(ctx, q.Store, q.Integration, merchant, "", "", func(day, mid string, n, cents int64) {
		c := cell(monthKey{mid, day[:min(7, len(day))]})
		c.Chargebacks += n
		c.ChargebackAmount += Money(cents)
	})
	if err != nil {
		return false, fmt.Errorf("chargebacks: %w", err)
	}
	return true, nil
}

// prevMonth of "YYYY-MM".
func prevMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return ""
	}
	return t.AddDate(0, -1, 0).Format("2006-01")
}
