package rollup

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/store"
)

// Sums are a group's period figures over some buckets (metrics.md "Period
// figures"): what summary reads.
type Sums struct {
	Sales, Gross, Declines, SalesInitial, DeclinesInitial int64
	Refunds, RefundCents, KCB, KCBCents, Orders           int64
}

var periodCols = []string{"integration_id", "dim", "bucket", "grp", "sales", "gross", "declines", "sales_initial", "declines_initial",
	"refunds", "refund_cents", "kcb", "kcb_cents", "orders"}

const periodSelect = "created_utc, txn_type, response_type, amount_cents, billing_cycle, chargedback, chargeback_cents, order_id, campaign_id, product_id, aff_id, sub_aff_id, merchant_id, country, card_brand, currency"

// brandKey is a merchant account's sales or chargebacks of one card brand
// in one currency (rollup_brand_sales, rollup_brand_cb).
type brandKey struct {
	merchant, brand, currency string
}

var brandSalesCols = []string{"integration_id", "bucket", "merchant_id", "card_brand", "currency", "sales"}

type dimGroup struct {
	dim int
	grp string
}

// buildPeriod recomputes rollup_period and rollup_brand_sales for the
// buckets in the [lo, hi) ranges rs (all buckets when all is set) from the
// transactions, one bucket at a time: one statement per table deletes the
// ranges' rows and one query reads their transactions.
func buildPeriod(ctx context.Context, st *store.Store, tx *store.Tx, integrationID int64, all bool, rs [][2]int64) error {
	where := ""
	args := []any{integrationID}
	if !all {
		if len(rs) == 0 {
			return nil
		}
		var created, bucket []string
		for _, r := range rs {
			created = append(created, "(created_utc >= ? AND created_utc < ?)")
			bucket = append(bucket, "(bucket >= ? AND bucket < ?)")
			args = append(args, r[0], r[1])
		}
		where = " AND (" + strings.Join(created, " OR ") + ")"
		if _, err := tx.Exec(ctx, `DELETE FROM rollup_period WHERE integration_id = ?`+dimIn()+` AND (`+strings.Join(bucket, " OR ")+`)`, args...); err != nil {
			return fmt.Errorf("rollup periods: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rollup_brand_sales WHERE integration_id = ? AND (`+strings.Join(bucket, " OR ")+`)`, args...); err != nil {
			return fmt.Errorf("rollup brand sales: %w", err)
		}
	}
	rows, err := st.DB().QueryContext(ctx, st.Rebind("SELECT "+periodSelect+" FROM transactions WHERE integration_id = ? AND created_utc IS NOT NULL"+where+" ORDER BY created_utc"), args...)
	if err != nil {
		return fmt.Errorf("rollup periods: %w", err)
	}
	defer rows.Close()
	cur := int64(0)
	started := false
	sums := map[dimGroup]*Sums{}
	orders := map[dimGroup]map[string]bool{}
	brands := map[brandKey]int64{}
	var out, brandOut [][]any
	emit := func() error {
		for k, n := range brands {
			brandOut = append(brandOut, []any{integrationID, cur, k.merchant, k.brand, k.currency, n})
		}
		clear(brands)
		for k, s := range sums {
			s.Orders = int64(len(orders[k]))
			out = append(out, []any{integrationID, k.dim, cur, k.grp, s.Sales, s.Gross, s.Declines, s.SalesInitial, s.DeclinesInitial,
				s.Refunds, s.RefundCents, s.KCB, s.KCBCents, s.Orders})
		}
		clear(sums)
		clear(orders)
		if len(out) >= 20_000 {
			if err := tx.InsertRows(ctx, "rollup_period", periodCols, "", out); err != nil {
				return err
			}
			out = out[:0]
		}
		if len(brandOut) >= 20_000 {
			if err := tx.InsertRows(ctx, "rollup_brand_sales", brandSalesCols, "", brandOut); err != nil {
				return err
			}
			brandOut = brandOut[:0]
		}
		return nil
	}
	var e event
	var brand, currency string
	var cb int64
	n := 0
	for rows.Next() {
		if n++; n%100_000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rows.Scan(&e.at, &e.typ, &e.resp, &e.amount, &e.cycle, &cb, &e.cbCents, &e.order,
			&e.groups[1], &e.groups[2], &e.groups[3], &e.groups[4], &e.groups[5], &e.groups[6], &brand, &currency); err != nil {
			return fmt.Errorf("rollup periods: %w", err)
		}
		b := store.Bucket(e.at)
		if started && b != cur {
			if err := emit(); err != nil {
				return err
			}
		}
		cur, started = b, true
		sale, decl, ref := e.sale(), e.decline(), e.refund()
		initial := e.cycle <= 1
		if sale {
			brands[brandKey{e.groups[merchantDim], brand, currency}]++
		}
		for d := range Dims {
			k := dimGroup{d, e.groups[d]}
			s := sums[k]
			if s == nil {
				s = &Sums{}
				sums[k] = s
			}
			switch {
			case sale:
				s.Sales++
				s.Gross += e.amount
				if initial {
					s.SalesInitial++
				}
				if cb != 0 {
					s.KCB++
					s.KCBCents += e.cbCents
				}
				if e.order != "" {
					if orders[k] == nil {
						orders[k] = map[string]bool{}
					}
					orders[k][e.order] = true
				}
			case decl:
				s.Declines++
				if initial {
					s.DeclinesInitial++
				}
			case ref:
				s.Refunds++
				s.RefundCents += e.amount
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rollup periods: %w", err)
	}
	if started {
		if err := emit(); err != nil {
			return err
		}
	}
	if err := tx.InsertRows(ctx, "rollup_period", periodCols, "", out); err != nil {
		return err
	}
	return tx.InsertRows(ctx, "rollup_brand_sales", brandSalesCols, "", brandOut)
}

// buildReceived recomputes rollup_cb and rollup_brand_cb for the given
// chargeback days (all days when all is set).
func buildReceived(ctx context.Context, st *store.Store, tx *store.Tx, integrationID int64, all bool, days []string) error {
	if !all && len(days) == 0 {
		return nil
	}
	type key struct {
		dim      int
		day, grp string
	}
	sums := map[key][2]int64{}
	type bkey struct {
		day string
		brandKey
	}
	brands := map[bkey][2]int64{}
	read := func(where string, args []any) error {
		rows, err := st.DB().QueryContext(ctx, st.Rebind("SELECT chargeback_date, chargeback_cents, campaign_id, product_id, aff_id, sub_aff_id, merchant_id, country, card_brand, currency"+
			" FROM transactions WHERE integration_id = ? AND chargedback = 1 AND chargeback_date IS NOT NULL"+
			" AND "+crm.SaleSQL("")+where), args...)
		if err != nil {
			return fmt.Errorf("rollup chargebacks: %w", err)
		}
		defer rows.Close()
		var day string
		var cents int64
		var g [7]string
		var brand, currency string
		for rows.Next() {
			if err := rows.Scan(&day, &cents, &g[1], &g[2], &g[3], &g[4], &g[5], &g[6], &brand, &currency); err != nil {
				return fmt.Errorf("rollup chargebacks: %w", err)
			}
			bk := bkey{day, brandKey{g[merchantDim], brand, currency}}
			v := brands[bk]
			brands[bk] = [2]int64{v[0] + 1, v[1] + cents}
			for d := range Dims {
				k := key{d, day, g[d]}
				v := sums[k]
				sums[k] = [2]int64{v[0] + 1, v[1] + cents}
			}
		}
		return rows.Err()
	}
	if all {
		if err := read("", []any{integrationID}); err != nil {
			return err
		}
	}
	const chunk = 500
	for start := 0; !all && start < len(days); start += chunk {
		part := days[start:min(start+chunk, len(days))]
		args := []any{integrationID}
		for _, d := range part {
			args = append(args, d)
		}
		in := " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ") + ")"
		if _, err := tx.Exec(ctx, "DELETE FROM rollup_cb WHERE integration_id = ?"+dimIn()+" AND day"+in, args...); err != nil {
			return fmt.Errorf("rollup chargebacks: %w", err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM rollup_brand_cb WHERE integration_id = ? AND day"+in, args...); err != nil {
			return fmt.Errorf("rollup brand chargebacks: %w", err)
		}
		if err := read(" AND chargeback_date"+in, args); err != nil {
			return err
		}
	}
	rows := make([][]any, 0, len(sums))
	for k, v := range sums {
		rows = append(rows, []any{integrationID, k.dim, k.day, k.grp, v[0], v[1]})
	}
	if err := tx.InsertRows(ctx, "rollup_cb", []string{"integration_id", "dim", "day", "grp", "chargebacks", "cents"}, "", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range brands {
		rows = append(rows, []any{integrationID, k.day, k.merchant, k.brand, k.currency, v[0], v[1]})
	}
	return tx.InsertRows(ctx, "rollup_brand_cb", []string{"integration_id", "day", "merchant_id", "card_brand", "currency", "chargebacks", "cents"}, "", rows)
}

// dimIn is " AND dim IN (0, 1, ...)", every breakdown: with it a delete
// by bucket or day seeks the primary key (integration, dim, bucket or day,
// group) once a breakdown instead of scanning the integration's rows.
func dimIn() string {
	var b strings.Builder
	b.WriteString(" AND dim IN (")
	for d := range Dims {
		if d > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteString(")")
	return b.String()
}

// ranges turns sorted buckets into [lo, hi) ranges of adjacent buckets.
func ranges(buckets []int64) [][2]int64 {
	sort.Slice(buckets, func(i, j int) bool { return buckets[i] < buckets[j] })
	var out [][2]int64
	for _, b := range buckets {
		if n := len(out); n > 0 && out[n-1][1] == b {
			out[n-1][1] = b + store.BucketSeconds
			continue
		}
		out = append(out, [2]int64{b, b + store.BucketSeconds})
	}
	return out
}
