// Package rollup keeps the report figures pre-aggregated, so that the
// reports of internal/report read thousands of rows instead of every
// transaction:
//
//   - period sums (sales, declines, refunds, chargebacks by sale date,
//     orders) per 15-minute UTC bucket, so any time zone's days are whole
//     buckets; new customers per bucket of their first sale;
//   - chargebacks per day received;
//   - sales per bucket and chargebacks per day received by merchant
//     account, card brand and currency (chargeback monitoring per brand);
//   - lifetime value per (first-sale day, event day) in the account time
//     zone, and customers per first-sale day;
//   - retention cycles (subscriptions approved, declines);
//   - retention with maturity: approvals and declines per (product,
//     cycle-1 day, cycle, event day), and each product's gaps between
//     consecutive approved cycles counted from the day they are known, so
//     a report sums what happened up to its as-of date (contrib.go);
//
// each for no breakdown and for every breakdown of Dims. The tables are
// derived from the transactions only (store migration 0002).
//
// Writes mark what they change (store.Tx.UpsertTransactions records the
// customers, buckets and chargeback days of the old and new version of
// every row that changed); Refresh recomputes exactly those, or everything
// when nothing was built yet, the time zone changed, or most customers
// changed.
//
// # Per-customer contributions
//
// The customer-level tables (cohorts, lifetime value, retention cycles,
// retention cells and gaps, order spans) are sums over customers: each customer adds its own entries
// (contribute), and nothing in one customer's entries depends on another
// customer. Each customer's entries are kept, encoded, in its
// rollup_customers row (contrib). A refresh takes a dirty customer's stored
// entries out of the tables (sign -1), computes the customer again from its
// transactions and adds the new entries (sign +1), so its cost follows the
// dirty customers and their transactions, not the cohort days they sit in.
// Every customer-level row counts the customers contributing to it, and a
// row whose count falls to zero is deleted. The invariants, which the tests
// check table by table against a rebuild over random writes on both
// engines:
//
//   - every customer with a dated transaction has one rollup_customers row,
//     whose contrib is what contribute gives for its transactions now;
//   - every customer-level row is the sum of the contributions of the
//     customers rows hold, and exists exactly when at least one customer
//     contributes to it (its customers column);
//   - rollup_period and rollup_cb rows are those of their transactions;
//   - hence after any sequence of writes and refreshes the tables equal a
//     full rebuild's, row for row.
//
// A customer's contribution counts its own orders and subscriptions: an
// order whose sales fall in several buckets, and the distinct
// subscriptions approved in a cycle, are counted per customer, which
// equals the reports' count as long as an order and a subscription belong
// to one customer, as they do in the CRM.
//
// A full rebuild makes two passes: customers in id order (first sale,
// shard, contribution), then the stored contributions in shard order (the
// account-zone day of the first sale), summed and written shard by shard,
// so every row is written once; then it refreshes the planner's statistics
// of the rollup tables.
//
// Refresh expects no other writer on the integration while it runs; load
// and sync call it when their writes are done.
package rollup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// Result says what a refresh did.
type Result struct {
	Full      bool // everything was rebuilt
	Customers int  // customers recomputed (all, on a full rebuild)
	Shards    int  // shards recomputed
	Buckets   int  // dirty buckets recomputed
	Days      int  // dirty chargeback days recomputed
	Took      time.Duration
}

// figures are the rollup tables a rebuild writes; tables adds the marks.
var (
	figures = []string{"rollup_customers", "rollup_period", "rollup_order_spans", "rollup_new", "rollup_cb", "rollup_cohorts", "rollup_ltv", "rollup_cycles", "rollup_brand_sales", "rollup_brand_cb", "rollup_retention", "rollup_gaps"}
	tables  = append(figures[:len(figures):len(figures)], "rollup_dirty_customers", "rollup_dirty_buckets", "rollup_dirty_days")
)

// Ready says whether the integration's rollups are built and current (no
// write since the last refresh), and the time zone of their local days.
func Ready(ctx context.Context, st *store.Store, integrationID int64) (zone string, ok bool, err error) {
	err = st.DB().QueryRowContext(ctx, st.Rebind(`SELECT timezone FROM rollup_state WHERE integration_id = ?`), integrationID).Scan(&zone)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read rollup state: %w", err)
	}
	for _, t := range []string{"rollup_dirty_customers", "rollup_dirty_buckets", "rollup_dirty_days"} {
		var n int
		err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM `+t+` WHERE integration_id = ? LIMIT 1) x`), integrationID).Scan(&n)
		if err != nil {
			return "", false, fmt.Errorf("read rollup state: %w", err)
		}
		if n > 0 {
			return zone, false, nil
		}
	}
	return zone, true, nil
}

// Refresh brings the integration's rollups up to date with its
// transactions.
func Refresh(ctx context.Context, st *store.Store, in *store.Integration) (*Result, error) {
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("refresh rollups: time zone %q: %w", in.TimeZone, err)
	}
	start := time.Now()
	res := &Result{}
	full := false
	err = st.Update(ctx, func(tx *store.Tx) error {
		*res = Result{}
		var zone string
		built := true
		rows, err := tx.Query(ctx, `SELECT timezone FROM rollup_state WHERE integration_id = ?`, in.ID)
		if err != nil {
			return err
		}
		if rows.Next() {
			err = rows.Scan(&zone)
		} else {
			built = false
		}
		rows.Close()
		if err != nil {
			return err
		}
		full = !built || zone != in.TimeZone
		if full {
			// Rebuilt below: the marks (every customer, after a first
			// load) are not read, only deleted.
			return nil
		}
		d, err := readDirty(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		if len(d.customers)+len(d.buckets)+len(d.days) == 0 {
			return nil // current: nothing to write
		}
		if len(d.customers) > 10_000 {
			var n int
			if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT COUNT(*) FROM rollup_customers WHERE integration_id = ?`), in.ID).Scan(&n); err != nil {
				return err
			}
			full = len(d.customers) > n/4
		}
		if full {
			return nil // rebuilt below, in transactions of its own
		}
		if err := update(ctx, st, tx, in.ID, loc, d, res); err != nil {
			return err
		}
		return finish(ctx, tx, in)
	})
	if err == nil && full {
		err = rebuild(ctx, st, in, loc, res)
		if err == nil {
			// The tables were rewritten whole: the planner's statistics
			// follow (the reports' plans depend on them).
			err = st.AnalyzeTables(ctx, figures...)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("refresh rollups: %w", err)
	}
	res.Took = time.Since(start)
	slog.Debug("rollups refreshed", "full", res.Full, "customers", res.Customers, "shards", res.Shards, "buckets", res.Buckets, "days", res.Days, "took", res.Took)
	return res, nil
}

// dirty is what writes marked since the last refresh.
type dirty struct {
	customers [][2]string // source, customer_id
	buckets   []int64
	days      []string
}

func readDirty(ctx context.Context, tx *store.Tx, id int64) (*dirty, error) {
	d := &dirty{}
	rows, err := tx.Query(ctx, `SELECT source, customer_id FROM rollup_dirty_customers WHERE integration_id = ?`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return nil, err
		}
		d.customers = append(d.customers, k)
	}
	rows.Close()
	if rows, err = tx.Query(ctx, `SELECT bucket FROM rollup_dirty_buckets WHERE integration_id = ?`, id); err != nil {
		return nil, err
	}
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return nil, err
		}
		d.buckets = append(d.buckets, b)
	}
	rows.Close()
	if rows, err = tx.Query(ctx, `SELECT day FROM rollup_dirty_days WHERE integration_id = ?`, id); err != nil {
		return nil, err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		d.days = append(d.days, s)
	}
	rows.Close()
	return d, rows.Err()
}

// finish drops emptied counts and records the rollups as current.
func finish(ctx context.Context, tx *store.Tx, in *store.Integration) error {
	if err := dropEmpty(ctx, tx, in.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM rollup_state WHERE integration_id = ?`, in.ID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO rollup_state (integration_id, timezone, built_at) VALUES (?, ?, ?)`, in.ID, in.TimeZone, time.Now().Unix())
	return err
}

// rebuild recomputes every rollup of the integration in two transactions
// (the reports read the transactions meanwhile: there is no state row).
// The first finds every customer's shard and first sale, in customer
// order; the second walks the customers shard by shard, so each shard's
// rows are complete when written, each written once.
func rebuild(ctx context.Context, st *store.Store, in *store.Integration, loc *time.Location, res *Result) error {
	res.Full = true
	id := in.ID
	t0 := time.Now()
	err := st.Update(ctx, func(tx *store.Tx) error {
		res.Customers = 0
		for _, t := range append([]string{"rollup_state"}, tables...) {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE integration_id = ?`, id); err != nil {
				return err
			}
		}
		var custRows [][]any
		err := eachCustomer(ctx, st, "SELECT "+eventCols+" FROM transactions WHERE integration_id = ? ORDER BY source, customer_id", []any{id}, func(evs []event) error {
			c, ok := summarize(evs, loc)
			if !ok {
				return nil
			}
			res.Customers++
			k := contribute(&c, evs, loc)
			c.contrib = k.encode()
			custRows = append(custRows, c.args(id))
			if len(custRows) >= 20_000 {
				if err := tx.InsertRows(ctx, "rollup_customers", customerCols, "", custRows); err != nil {
					return err
				}
				custRows = custRows[:0]
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.InsertRows(ctx, "rollup_customers", customerCols, "", custRows); err != nil {
			return err
		}
		// New customers by the bucket of their first sale (floored, also
		// before 1970).
		for d, col := range Dims {
			// store.Bucket in SQL: the width is the store's (BucketSeconds).
			bucket := fmt.Sprintf("first_sale_utc - ((first_sale_utc %% %[1]d) + %[1]d) %% %[1]d", store.BucketSeconds)
			grp, by := "''", ""
			if col != "" {
				grp, by = col, ", "+col
			}
			_, err := tx.Exec(ctx, `INSERT INTO rollup_new (integration_id, dim, bucket, grp, customers)
SELECT integration_id, ?, `+bucket+`, `+grp+`, COUNT(*) FROM rollup_customers
WHERE integration_id = ? AND first_sale_utc IS NOT NULL GROUP BY integration_id, `+bucket+by, d, id)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slog.Debug("rollups: customers", "customers", res.Customers, "took", time.Since(t0))
	return st.Update(ctx, func(tx *store.Tx) error {
		t0 := time.Now()
		a := newAcc(id, loc)
		shard, started := int64(0), false
		rows, err := st.DB().QueryContext(ctx, st.Rebind("SELECT "+strings.Join(customerCols[1:], ", ")+" FROM rollup_customers WHERE integration_id = ? ORDER BY shard"), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			if n++; n%100_000 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			c, err := scanCustomer(rows)
			if err != nil {
				return err
			}
			k, err := decodeContribution(c.contrib)
			if err != nil {
				return fmt.Errorf("customer %s: %w", c.id, err)
			}
			// Flushed between shards: every row but a shared order's
			// span is written once.
			if started && c.shard != shard && a.pending() >= flushAt {
				if err := a.flush(ctx, tx); err != nil {
					return err
				}
			}
			shard, started = c.shard, true
			a.apply(&c, &k, 1)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if err := a.flush(ctx, tx); err != nil {
			return err
		}
		slog.Debug("rollups: shards", "took", time.Since(t0))
		t0 = time.Now()
		if err := buildPeriod(ctx, st, tx, id, true, nil); err != nil {
			return err
		}
		slog.Debug("rollups: periods", "took", time.Since(t0))
		t0 = time.Now()
		if err := buildReceived(ctx, st, tx, id, true, nil); err != nil {
			return err
		}
		slog.Debug("rollups: chargebacks received", "took", time.Since(t0))
		return finish(ctx, tx, in)
	})
}

// eachCustomer runs a query of eventCols ordered by source and customer
// (on the store's readers: it sees what was committed) and calls fn with
// each customer's events, sorted.
func eachCustomer(ctx context.Context, st *store.Store, query string, args []any, fn func([]event) error) error {
	rows, err := st.DB().QueryContext(ctx, st.Rebind(query), args...)
	if err != nil {
		return fmt.Errorf("read transactions: %w", err)
	}
	defer rows.Close()
	var evs []event
	var e event
	n := 0
	for rows.Next() {
		if n++; n%100_000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ok, err := e.scan(rows)
		if err != nil {
			return fmt.Errorf("read transactions: %w", err)
		}
		if !ok {
			continue
		}
		if len(evs) > 0 && (evs[0].source != e.source || evs[0].customer != e.customer) {
			sortEvents(evs)
			if err := fn(evs); err != nil {
				return err
			}
			evs = evs[:0]
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read transactions: %w", err)
	}
	if len(evs) > 0 {
		sortEvents(evs)
		return fn(evs)
	}
	return nil
}

// update recomputes what the dirty marks name: each dirty customer's
// stored contribution is taken out of the customer-level tables and the
// one their transactions now give is added; the dirty buckets and
// chargeback days are recomputed from the transactions in them.
func update(ctx context.Context, st *store.Store, tx *store.Tx, id int64, loc *time.Location, d *dirty, res *Result) error {
	t0 := time.Now()
	a := newAcc(id, loc)
	bySource := map[string][]string{}
	for _, k := range d.customers {
		bySource[k[0]] = append(bySource[k[0]], k[1])
	}
	shards := map[int64]bool{}
	var newRows [][]any
	srcs := make([]string, 0, len(bySource))
	for src := range bySource {
		srcs = append(srcs, src)
	}
	sort.Strings(srcs)
	for _, src := range srcs {
		ids := bySource[src]
		sort.Strings(ids)
		err := chunks(ids, func(part []any) error {
			in := inList(len(part))
			args := append([]any{id, src}, part...)
			// The customers as the rollups hold them: take them out.
			rows, err := tx.Query(ctx, `SELECT `+strings.Join(customerCols[1:], ", ")+` FROM rollup_customers WHERE integration_id = ? AND source = ? AND customer_id`+in, args...)
			if err != nil {
				return err
			}
			var olds []customer
			for rows.Next() {
				c, err := scanCustomer(rows)
				if err != nil {
					rows.Close()
					return err
				}
				olds = append(olds, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i := range olds {
				k, err := decodeContribution(olds[i].contrib)
				if err != nil {
					return fmt.Errorf("customer %s: %w", olds[i].id, err)
				}
				shards[olds[i].shard] = true
				a.addNew(&olds[i], -1)
				a.apply(&olds[i], &k, -1)
			}
			if len(olds) > 0 {
				if _, err := tx.Exec(ctx, `DELETE FROM rollup_customers WHERE integration_id = ? AND source = ? AND customer_id`+in, args...); err != nil {
					return err
				}
			}
			// The customers as their transactions now say: put them back.
			err = eachCustomer(ctx, st, "SELECT "+eventCols+" FROM transactions WHERE integration_id = ? AND source = ? AND customer_id"+in+" ORDER BY source, customer_id", args, func(evs []event) error {
				c, ok := summarize(evs, loc)
				if !ok {
					return nil
				}
				k := contribute(&c, evs, loc)
				c.contrib = k.encode()
				shards[c.shard] = true
				a.addNew(&c, 1)
				a.apply(&c, &k, 1)
				newRows = append(newRows, c.args(id))
				return nil
			})
			if err != nil {
				return err
			}
			if a.pending() >= flushAt {
				return a.flush(ctx, tx)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	slog.Debug("rollups: customers recomputed", "customers", len(d.customers), "took", time.Since(t0))
	t0 = time.Now()
	if err := tx.InsertRows(ctx, "rollup_customers", customerCols, "", newRows); err != nil {
		return err
	}
	if err := a.flush(ctx, tx); err != nil {
		return err
	}
	res.Customers, res.Shards = len(d.customers), len(shards)
	slog.Debug("rollups: contributions written", "took", time.Since(t0))
	t0 = time.Now()
	// Buckets and chargeback days.
	res.Buckets, res.Days = len(d.buckets), len(d.days)
	rs := ranges(d.buckets)
	for start := 0; start < len(rs); start += 100 {
		if err := buildPeriod(ctx, st, tx, id, false, rs[start:min(start+100, len(rs))]); err != nil {
			return err
		}
	}
	if err := buildReceived(ctx, st, tx, id, false, d.days); err != nil {
		return err
	}
	slog.Debug("rollups: buckets and chargeback days recomputed", "took", time.Since(t0))
	// The marks read are done (a writer that ran meanwhile left its own).
	for src, ids := range bySource {
		err := chunks(ids, func(part []any) error {
			_, err := tx.Exec(ctx, `DELETE FROM rollup_dirty_customers WHERE integration_id = ? AND source = ? AND customer_id`+inList(len(part)), append([]any{id, src}, part...)...)
			return err
		})
		if err != nil {
			return err
		}
	}
	bs := make([]any, len(d.buckets))
	for i, b := range d.buckets {
		bs[i] = b
	}
	if err := chunks(bs, func(part []any) error {
		_, err := tx.Exec(ctx, `DELETE FROM rollup_dirty_buckets WHERE integration_id = ? AND bucket`+inList(len(part)), append([]any{id}, part...)...)
		return err
	}); err != nil {
		return err
	}
	ds := make([]any, len(d.days))
	for i, s := range d.days {
		ds[i] = s
	}
	return chunks(ds, func(part []any) error {
		_, err := tx.Exec(ctx, `DELETE FROM rollup_dirty_days WHERE integration_id = ? AND day`+inList(len(part)), append([]any{id}, part...)...)
		return err
	})
}

// chunks calls fn with the values in slices of at most 500.
func chunks[T any](vals []T, fn func([]any) error) error {
	const n = 500
	for start := 0; start < len(vals); start += n {
		part := vals[start:min(start+n, len(vals))]
		args := make([]any, len(part))
		for i, v := range part {
			args[i] = v
		}
		if err := fn(args); err != nil {
			return err
		}
	}
	return nil
}

// inList is " IN (?, ?, ...)" for n values.
func inList(n int) string {
	return " IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}
