package rollup

import (
	"context"
	"fmt"

	"github.com/konduit/konduit/internal/store"
)

// Aligned says whether a Unix instant starts a bucket: day and month bounds
// in every real time zone do, and the period figures need them to.
func Aligned(utc int64) bool { return store.Bucket(utc) == utc }

// Period adds up the period figures of the buckets in [lo, hi) by group of
// a breakdown (Dims index). An order whose sales fall in several buckets of
// the range counts once.
func Period(ctx context.Context, st *store.Store, integrationID int64, dim int, lo, hi int64) (map[string]*Sums, error) {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, CAST(SUM(sales) AS BIGINT), CAST(SUM(gross) AS BIGINT), CAST(SUM(declines) AS BIGINT), CAST(SUM(sales_initial) AS BIGINT), CAST(SUM(declines_initial) AS BIGINT),
 CAST(SUM(refunds) AS BIGINT), CAST(SUM(refund_cents) AS BIGINT), CAST(SUM(kcb) AS BIGINT), CAST(SUM(kcb_cents) AS BIGINT), CAST(SUM(orders) AS BIGINT)
 FROM rollup_period WHERE integration_id = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY grp`), integrationID, dim, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read period rollup: %w", err)
	}
	defer rows.Close()
	out := map[string]*Sums{}
	for rows.Next() {
		var g string
		var s Sums
		if err := rows.Scan(&g, &s.Sales, &s.Gross, &s.Declines, &s.SalesInitial, &s.DeclinesInitial, &s.Refunds, &s.RefundCents, &s.KCB, &s.KCBCents, &s.Orders); err != nil {
			return nil, fmt.Errorf("read period rollup: %w", err)
		}
		out[g] = &s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read period rollup: %w", err)
	}
	rows.Close()
	// Orders counted in k > 1 buckets of the range were counted k times.
	spans, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, COUNT(*) FROM rollup_order_spans
 WHERE integration_id = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY grp, order_id HAVING COUNT(*) > 1`), integrationID, dim, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read order spans: %w", err)
	}
	defer spans.Close()
	for spans.Next() {
		var g string
		var k int64
		if err := spans.Scan(&g, &k); err != nil {
			return nil, fmt.Errorf("read order spans: %w", err)
		}
		if s := out[g]; s != nil {
			s.Orders -= k - 1
		}
	}
	return out, spans.Err()
}

// NewCustomers counts the customers whose first sale is in [lo, hi), by
// the first sale's group.
func NewCustomers(ctx context.Context, st *store.Store, integrationID int64, dim int, lo, hi int64) (map[string]int64, error) {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, CAST(SUM(customers) AS BIGINT) FROM rollup_new
 WHERE integration_id = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY grp`), integrationID, dim, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read new customers rollup: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var g string
		var n int64
		if err := rows.Scan(&g, &n); err != nil {
			return nil, fmt.Errorf("read new customers rollup: %w", err)
		}
		if n != 0 {
			out[g] = n
		}
	}
	return out, rows.Err()
}

// Received calls fn for each day (YYYY-MM-DD, from..to inclusive; "" for
// no bound) and group with chargebacks received that day.
func Received(ctx context.Context, st *store.Store, integrationID int64, dim int, from, to string, fn func(day, grp string, n, cents int64)) error {
	q := `SELECT day, grp, chargebacks, cents FROM rollup_cb WHERE integration_id = ? AND dim = ?`
	args := []any{integrationID, dim}
	if from != "" {
		q += ` AND day >= ?`
		args = append(args, from)
	}
	if to != "" {
		q += ` AND day <= ?`
		args = append(args, to)
	}
	rows, err := st.DB().QueryContext(ctx, st.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("read chargebacks rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day, g string
		var n, c int64
		if err := rows.Scan(&day, &g, &n, &c); err != nil {
			return fmt.Errorf("read chargebacks rollup: %w", err)
		}
		fn(day, g, n, c)
	}
	return rows.Err()
}

// Sales calls fn for each bucket and group with sales, in bucket order.
func Sales(ctx context.Context, st *store.Store, integrationID int64, dim int, fn func(bucket int64, grp string, sales int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT bucket, grp, sales FROM rollup_period
 WHERE integration_id = ? AND dim = ? AND sales > 0 ORDER BY bucket`), integrationID, dim)
	if err != nil {
		return fmt.Errorf("read period rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, n int64
		var g string
		if err := rows.Scan(&b, &g, &n); err != nil {
			return fmt.Errorf("read period rollup: %w", err)
		}
		fn(b, g, n)
	}
	return rows.Err()
}

// Cohorts calls fn with the customers per group and first-sale day (day
// numbers in the account time zone) up to asOf.
func Cohorts(ctx context.Context, st *store.Store, integrationID int64, dim, asOf int, fn func(grp string, day int, customers int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, cohort_day, CAST(SUM(customers) AS BIGINT) FROM rollup_cohorts
 WHERE integration_id = ? AND dim = ? AND cohort_day <= ? GROUP BY grp, cohort_day`), integrationID, dim, asOf)
	if err != nil {
		return fmt.Errorf("read cohorts rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var d int
		var n int64
		if err := rows.Scan(&g, &d, &n); err != nil {
			return fmt.Errorf("read cohorts rollup: %w", err)
		}
		fn(g, d, n)
	}
	return rows.Err()
}

// Values calls fn with the money per group, first-sale day and event day,
// both up to asOf: gross (sales) and net (sales less refunds and
// chargebacks), in cents.
func Values(ctx context.Context, st *store.Store, integrationID int64, dim, asOf int, fn func(grp string, cohortDay, eventDay int, gross, net int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, cohort_day, event_day, gross, net FROM rollup_ltv
 WHERE integration_id = ? AND dim = ? AND cohort_day <= ? AND event_day <= ?`), integrationID, dim, asOf, asOf)
	if err != nil {
		return fmt.Errorf("read lifetime value rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var c, e int
		var gross, net int64
		if err := rows.Scan(&g, &c, &e, &gross, &net); err != nil {
			return fmt.Errorf("read lifetime value rollup: %w", err)
		}
		fn(g, c, e, gross, net)
	}
	return rows.Err()
}

// Cycles calls fn with the approvals (subscriptions) and declines per
// group and billing cycle.
func Cycles(ctx context.Context, st *store.Store, integrationID int64, dim int, fn func(grp string, cycle int, approvals, declines int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, cycle, CAST(SUM(approvals) AS BIGINT), CAST(SUM(declines) AS BIGINT) FROM rollup_cycles
 WHERE integration_id = ? AND dim = ? GROUP BY grp, cycle`), integrationID, dim)
	if err != nil {
		return fmt.Errorf("read cycles rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var c int
		var a, d int64
		if err := rows.Scan(&g, &c, &a, &d); err != nil {
			return fmt.Errorf("read cycles rollup: %w", err)
		}
		fn(g, c, a, d)
	}
	return rows.Err()
}

// BrandSales calls fn for each bucket, merchant account, card brand and
// currency with sales, in bucket order.
func BrandSales(ctx context.Context, st *store.Store, integrationID int64, fn func(bucket int64, merchant, brand, currency string, sales int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT bucket, merchant_id, card_brand, currency, sales FROM rollup_brand_sales
 WHERE integration_id = ? ORDER BY bucket`), integrationID)
	if err != nil {
		return fmt.Errorf("read brand sales rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, n int64
		var m, br, c string
		if err := rows.Scan(&b, &m, &br, &c, &n); err != nil {
			return fmt.Errorf("read brand sales rollup: %w", err)
		}
		fn(b, m, br, c, n)
	}
	return rows.Err()
}

// BrandChargebacks calls fn for each day received (YYYY-MM-DD), merchant
// account, card brand and currency with chargebacks: their count and
// amount in cents.
func BrandChargebacks(ctx context.Context, st *store.Store, integrationID int64, fn func(day, merchant, brand, currency string, n, cents int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT day, merchant_id, card_brand, currency, chargebacks, cents FROM rollup_brand_cb
 WHERE integration_id = ?`), integrationID)
	if err != nil {
		return fmt.Errorf("read brand chargebacks rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, m, br, c string
		var n, cents int64
		if err := rows.Scan(&d, &m, &br, &c, &n, &cents); err != nil {
			return fmt.Errorf("read brand chargebacks rollup: %w", err)
		}
		fn(d, m, br, c, n, cents)
	}
	return rows.Err()
}

// RetentionCells calls fn with the approvals (subscriptions) and declines
// per group, product, cycle-1 day and cycle, of the subscriptions whose
// cycle-1 day is in [lo, hi] and as of the day asOf (day numbers in the
// account time zone): only what happened up to asOf counts.
func RetentionCells(ctx context.Context, st *store.Store, integrationID int64, dim, lo, hi, asOf int, fn func(grp, product string, cohortDay, cycle int, approvals, declines int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT grp, product_id, cohort_day, cycle, CAST(SUM(approvals) AS BIGINT), CAST(SUM(declines) AS BIGINT) FROM rollup_retention
 WHERE integration_id = ? AND dim = ? AND cohort_day >= ? AND cohort_day <= ? AND cohort_day <= ? AND event_day <= ?
 GROUP BY grp, product_id, cohort_day, cycle`), integrationID, dim, lo, hi, asOf, asOf)
	if err != nil {
		return fmt.Errorf("read retention rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, p string
		var d, c int
		var a, n int64
		if err := rows.Scan(&g, &p, &d, &c, &a, &n); err != nil {
			return fmt.Errorf("read retention rollup: %w", err)
		}
		fn(g, p, d, c, a, n)
	}
	return rows.Err()
}

// Gaps calls fn with how many times each product's consecutive approved
// cycles were gap days apart, as of the day asOf (account time zone);
// counts of zero are left out.
func Gaps(ctx context.Context, st *store.Store, integrationID int64, asOf int, fn func(product string, gap int, n int64)) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT product_id, gap, CAST(SUM(n) AS BIGINT) FROM rollup_gaps
 WHERE integration_id = ? AND from_day <= ? GROUP BY product_id, gap`), integrationID, asOf)
	if err != nil {
		return fmt.Errorf("read gaps rollup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var g int
		var n int64
		if err := rows.Scan(&p, &g, &n); err != nil {
			return fmt.Errorf("read gaps rollup: %w", err)
		}
		if n != 0 {
			fn(p, g, n)
		}
	}
	return rows.Err()
}
