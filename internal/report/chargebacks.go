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
	"github.com/konduit/konduit/internal/store"
)

// Thresholds flag a merchant account's month: a ratio at or above Ratio
// with at least Count chargebacks.
type Thresholds struct {
	Ratio decimal.Decimal // 0.009 is 0.9%
	Count int64
}

// Default thresholds (metrics.md): 0.9% and 100 Visa-style, 1.5% and 100
// Mastercard-style, and the early-warning level 0.65% whatever the count.
var (
	DefaultVisa       = Thresholds{Ratio: decimal.RequireFromString("0.009"), Count: 100}
	DefaultMastercard = Thresholds{Ratio: decimal.RequireFromString("0.015"), Count: 100}
	DefaultEarly      = Thresholds{Ratio: decimal.RequireFromString("0.0065"), Count: 0}
)

func (t Thresholds) over(r Rate, n int64) bool {
	if r.Den == 0 || n < t.Count {
		return false
	}
	// Exact: num/den >= ratio  <=>  num >= ratio*den.
	return decimal.NewFromInt(r.Num).GreaterThanOrEqual(t.Ratio.Mul(decimal.NewFromInt(r.Den)))
}

// String is "0.9% and 100 chargebacks", or "0.65%" without a count.
func (t Thresholds) String() string {
	p := t.Ratio.Mul(decimal.NewFromInt(100)).String() + "%"
	if t.Count == 0 {
		return p
	}
	return fmt.Sprintf("%s and %d chargebacks", p, t.Count)
}

// percent shows a rate as a percentage with two decimals ("1.23%").
func percent(r Rate) string {
	if r.Den == 0 {
		return "-"
	}
	return decimal.NewFromInt(r.Num).Mul(decimal.NewFromInt(100)).DivRound(decimal.NewFromInt(r.Den), 2).StringFixed(2) + "%"
}

// Brand rows: the card networks that run a monitoring program, and the
// label of the row over every card.
const (
	BrandVisa       = "Visa"
	BrandMastercard = "Mastercard"
	AllCards        = "all cards"
)

// MIDMonth is one merchant account's month for one card brand (cardnum's
// names; "" for sales whose brand is unknown), or for all cards (Brand
// AllCards). Each brand's ratios count its own cards only.
type MIDMonth struct {
	Merchant         string  `json:"merchant"`
	MerchantName     *string `json:"merchant_name,omitempty"`
	Brand            string  `json:"brand"`
	Month            string  `json:"month"` // YYYY-MM in the display time zone
	Chargebacks      int64   `json:"chargebacks"`
	ChargebackAmount Money   `json:"chargeback_amount"`
	Currency         string  `json:"currency,omitempty"` // of the amount
	Sales            int64   `json:"sales"`
	SalesPrevMonth   int64   `json:"sales_prev_month"`
	VisaRatio        Rate    `json:"visa_ratio"`       // chargebacks received in M ÷ sales in M
	MastercardRatio  Rate    `json:"mastercard_ratio"` // chargebacks received in M ÷ sales in M−1
	// Flags: a Visa row is held to the Visa-style threshold, a Mastercard
	// row to the Mastercard-style one, both to the early-warning level;
	// other brands and the all-cards row are shown, not flagged. Rules
	// says, for each flag, the rule that raised it.
	VisaFlag       bool     `json:"visa_flag"`
	MastercardFlag bool     `json:"mastercard_flag"`
	EarlyWarning   bool     `json:"early_warning"`
	Rules          []string `json:"rules,omitempty"`
}

// ChargebacksResult is the chargeback monitoring report.
type ChargebacksResult struct {
	TimeZone   string     `json:"time_zone"`
	Visa       string     `json:"visa_threshold"`
	Mastercard string     `json:"mastercard_threshold"`
	Early      string     `json:"early_warning_threshold"`
	Months     []MIDMonth `json:"months"`
	names      names
}

// Table has one row per merchant account, month and brand (all cards
// first); the rules that raised a flag are printed beside it.
func (r *ChargebacksResult) Table() Table {
	t := Table{Header: append(groupHeader("merchant", r.names), "month", "brand", "chargebacks", "chargeback_amount", "currency", "sales", "sales_prev_month",
		"visa_ratio", "mastercard_ratio", "flags", "rule")}
	for _, m := range r.Months {
		var flags []string
		if m.VisaFlag {
			flags = append(flags, "VISA")
		}
		if m.MastercardFlag {
			flags = append(flags, "MC")
		}
		if m.EarlyWarning {
			flags = append(flags, "EARLY")
		}
		t.Rows = append(t.Rows, append(groupCells(m.Merchant, r.names), m.Month, m.Brand, fmt.Sprint(m.Chargebacks), m.ChargebackAmount.String(), m.Currency,
			fmt.Sprint(m.Sales), fmt.Sprint(m.SalesPrevMonth), m.VisaRatio.String(), m.MastercardRatio.String(), strings.Join(flags, " "), strings.Join(m.Rules, "; ")))
	}
	return t
}

type monthKey struct {
	mid, brand, month string
}

// Chargebacks computes the per-MID monthly ratios, per card brand (the
// brand of each sale: its BIN, else its card type) and over all cards.
// Months are calendar months of the display time zone: sales by their
// local day, chargebacks by chargebackDate. It reads the rollups when they
// are current (rollup_brand_sales, rollup_brand_cb), else the transactions.
func Chargebacks(ctx context.Context, q Query, visa, mc, early Thresholds) (*ChargebacksResult, error) {
	// Only names a merchant account; the report is always by merchant.
	q.By = "merchant"
	q, err := q.prepare(ctx, false)
	if err != nil {
		return nil, err
	}
	q.By = ""
	res := &ChargebacksResult{TimeZone: q.Loc.String(), Months: []MIDMonth{}, Visa: visa.String(), Mastercard: mc.String(), Early: early.String()}
	if res.names, err = namesOf(ctx, q, "merchant_id"); err != nil {
		return nil, err
	}
	// A merchant or brand filter (and the currency) reads the rollups, which
	// keep those; any other reads the transactions.
	var keep func(mid, brand string) bool
	rollups := !q.NoRollup
	for _, f := range q.filt {
		switch f.column {
		case "merchant_id", "card_brand":
		default:
			rollups = false
		}
	}
	if len(q.filt) > 0 {
		keep = func(mid, brand string) bool {
			for _, f := range q.filt {
				if (f.column == "merchant_id" && !f.set[mid]) || (f.column == "card_brand" && !f.set[brand]) {
					return false
				}
			}
			return true
		}
	}
	cells := map[monthKey]*MIDMonth{}
	cell := func(k monthKey) *MIDMonth {
		c, ok := cells[k]
		if !ok {
			c = &MIDMonth{Merchant: k.mid, Brand: k.brand, Month: k.month}
			cells[k] = c
		}
		return c
	}
	sales := map[monthKey]int64{}
	currencies := map[string]map[string]bool{} // merchant → currencies of its sales
	addCurrency := func(mid, cur string) {
		if currencies[mid] == nil {
			currencies[mid] = map[string]bool{}
		}
		currencies[mid][cur] = true
	}
	addSales := func(month, mid, brand, cur string, n int64) {
		if keep != nil && !keep(mid, brand) {
			return
		}
		addCurrency(mid, cur)
		for _, b := range []string{brand, AllCards} {
			mk := monthKey{mid, b, month}
			sales[mk] += n
			cell(mk).Sales += n
		}
	}
	addChargebacks := func(month, mid, brand, cur string, n, cents int64) {
		if keep != nil && !keep(mid, brand) {
			return
		}
		addCurrency(mid, cur)
		for _, b := range []string{brand, AllCards} {
			c := cell(monthKey{mid, b, month})
			c.Chargebacks += n
			c.ChargebackAmount += Money(cents)
		}
	}
	fromRollups := false
	if rollups {
		_, ok, err := rollup.Ready(ctx, q.Store, q.Integration)
		if err != nil {
			return nil, err
		}
		if ok {
			if fromRollups, err = chargebacksFromRollups(ctx, q, addSales, addChargebacks); err != nil {
				return nil, err
			}
			if !fromRollups {
				// A zone whose months do not start on a bucket: what was
				// read is dropped and the transactions say.
				clear(cells)
				clear(sales)
				clear(currencies)
			}
		}
	}
	if !fromRollups {
		if err := chargebacksFromTransactions(ctx, q, addSales, addChargebacks); err != nil {
			return nil, err
		}
	}
	// A merchant account's amounts are in its currency; one that took two
	// would add them together.
	for mid, cs := range currencies {
		if len(cs) > 1 {
			var list []string
			for c := range cs {
				list = append(list, c)
			}
			sort.Strings(list)
			return nil, fmt.Errorf("merchant account %s: %w", mid, &MixedCurrencies{Currencies: list})
		}
	}
	for k, c := range cells {
		for cur := range currencies[k.mid] {
			c.Currency = cur
		}
		c.MerchantName = res.names.ptr(k.mid)
		c.SalesPrevMonth = sales[monthKey{k.mid, k.brand, prevMonth(k.month)}]
		c.VisaRatio = Rate{c.Chargebacks, c.Sales}
		c.MastercardRatio = Rate{c.Chargebacks, c.SalesPrevMonth}
		switch k.brand {
		case BrandVisa:
			if c.VisaFlag = visa.over(c.VisaRatio, c.Chargebacks); c.VisaFlag {
				c.Rules = append(c.Rules, fmt.Sprintf("VISA: Visa-style %s of Visa cards >= %s (%d chargebacks)", percent(c.VisaRatio), visa, c.Chargebacks))
			}
			if c.EarlyWarning = early.over(c.VisaRatio, c.Chargebacks); c.EarlyWarning {
				c.Rules = append(c.Rules, fmt.Sprintf("EARLY: Visa-style %s of Visa cards >= %s", percent(c.VisaRatio), early))
			}
		case BrandMastercard:
			if c.MastercardFlag = mc.over(c.MastercardRatio, c.Chargebacks); c.MastercardFlag {
				c.Rules = append(c.Rules, fmt.Sprintf("MC: Mastercard-style %s of Mastercard cards >= %s (%d chargebacks)", percent(c.MastercardRatio), mc, c.Chargebacks))
			}
			if c.EarlyWarning = early.over(c.MastercardRatio, c.Chargebacks); c.EarlyWarning {
				c.Rules = append(c.Rules, fmt.Sprintf("EARLY: Mastercard-style %s of Mastercard cards >= %s", percent(c.MastercardRatio), early))
			}
		}
		res.Months = append(res.Months, *c)
	}
	sort.Slice(res.Months, func(i, j int) bool {
		a, b := res.Months[i], res.Months[j]
		if a.Merchant != b.Merchant {
			return a.Merchant < b.Merchant
		}
		if a.Month != b.Month {
			return a.Month < b.Month
		}
		if (a.Brand == AllCards) != (b.Brand == AllCards) {
			return a.Brand == AllCards
		}
		return a.Brand < b.Brand
	})
	return res, nil
}

// prevMonth of "YYYY-MM".
func prevMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return ""
	}
	return t.AddDate(0, -1, 0).Format("2006-01")
}

type (
	salesFunc       func(month, mid, brand, cur string, n int64)
	chargebacksFunc func(month, mid, brand, cur string, n, cents int64)
)

// chargebacksFromTransactions reads the sales by local month and the
// chargebacks by month received, per merchant account, brand and currency.
func chargebacksFromTransactions(ctx context.Context, q Query, addSales salesFunc, addChargebacks chargebacksFunc) error {
	fcond, fargs := q.filterSQL("")
	tcond, _ := q.filterSQL("t.")
	var lo, hi int64
	if err := q.Store.DB().QueryRowContext(ctx, q.Store.Rebind("SELECT "+
		"CAST(COALESCE(MIN(created_utc), 0) AS BIGINT), CAST(COALESCE(MAX(created_utc), 0) AS BIGINT) FROM transactions WHERE "+q.scope("")+" AND "+saleCond("")+fcond),
		append(q.scopeArgs(), fargs...)...).Scan(ints(&lo, &hi)...); err != nil {
		return fmt.Errorf("chargebacks: %w", err)
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
		args = append(append(args, q.scopeArgs()...), fargs...)
		stmt := "WITH m(k, lo, hi) AS (VALUES " + strings.Join(vals, ", ") + ")" +
			" SELECT m.k, t.merchant_id, t.card_brand, t.currency, COUNT(*) FROM m JOIN transactions t ON " + q.scope("t.") + " AND t.created_utc >= m.lo AND t.created_utc < m.hi" +
			" WHERE " + saleCond("t.") + tcond + " GROUP BY m.k, t.merchant_id, t.card_brand, t.currency"
		rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), args...)
		if err != nil {
			return fmt.Errorf("chargebacks sales: %w", err)
		}
		for rows.Next() {
			var k, n int64
			var mid, brand, cur string
			if err := rows.Scan(&k, &mid, &brand, &cur, &n); err != nil {
				rows.Close()
				return fmt.Errorf("chargebacks sales: %w", err)
			}
			addSales(names[k], mid, brand, cur, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("chargebacks sales: %w", err)
		}
	}
	stmt := "SELECT merchant_id, card_brand, currency, SUBSTR(chargeback_date, 1, 7), COUNT(*), CAST(COALESCE(SUM(chargeback_cents), 0) AS BIGINT) FROM transactions" +
		" WHERE " + q.scope("") + " AND chargedback = 1 AND chargeback_date IS NOT NULL AND " + saleCond("") + fcond +
		" GROUP BY merchant_id, card_brand, currency, SUBSTR(chargeback_date, 1, 7)"
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), append(q.scopeArgs(), fargs...)...)
	if err != nil {
		return fmt.Errorf("chargebacks: %w", err)
	}
	for rows.Next() {
		var mid, brand, cur, month string
		var n, cents int64
		if err := rows.Scan(append([]any{&mid, &brand, &cur, &month}, ints(&n, &cents)...)...); err != nil {
			rows.Close()
			return fmt.Errorf("chargebacks: %w", err)
		}
		addChargebacks(month, mid, brand, cur, n, cents)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("chargebacks: %w", err)
	}
	return nil
}

// chargebacksFromRollups reads the same from the rollups: sales per
// bucket, each bucket in the local month of its start, and chargebacks per
// day received. ok is false, and the caller reads the transactions, when a
// month of the display zone does not start on a bucket bound (none in real
// zones since 1970).
func chargebacksFromRollups(ctx context.Context, q Query, addSales salesFunc, addChargebacks chargebacksFunc) (ok bool, err error) {
	aligned := true
	err = rollup.BrandSales(ctx, q.Store, q.Integration, func(bucket int64, mid, brand, cur string, n int64) {
		if q.restrict && cur != q.Currency {
			return
		}
		t := time.Unix(bucket, 0).In(q.Loc)
		if e := time.Unix(bucket+store.BucketSeconds-1, 0).In(q.Loc); e.Month() != t.Month() || e.Year() != t.Year() {
			aligned = false // the bucket holds the ends of two months
		}
		addSales(t.Format("2006-01"), mid, brand, cur, n)
	})
	if err != nil {
		return false, fmt.Errorf("chargebacks: %w", err)
	}
	if !aligned {
		return false, nil
	}
	err = rollup.BrandChargebacks(ctx, q.Store, q.Integration, func(day, mid, brand, cur string, n, cents int64) {
		if q.restrict && cur != q.Currency {
			return
		}
		addChargebacks(day[:min(7, len(day))], mid, brand, cur, n, cents)
	})
	if err != nil {
		return false, fmt.Errorf("chargebacks: %w", err)
	}
	return true, nil
}
