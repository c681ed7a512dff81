package rollup

import (
	"context"
	"database/sql"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// customer is a rollup_customers row.
type customer struct {
	source, id string
	shard      int64
	hasSale    bool
	firstAt    int64 // the first sale
	firstID    string
	groups     [7]string // the first sale's breakdown values
	contrib    []byte    // the encoded contribution
}

func (c *customer) args(integrationID int64) []any {
	var first any
	if c.hasSale {
		first = c.firstAt
	}
	return []any{integrationID, c.source, c.id, c.shard, first, c.firstID,
		c.groups[1], c.groups[2], c.groups[3], c.groups[4], c.groups[5], c.groups[6], c.contrib}
}

var customerCols = []string{"integration_id", "source", "customer_id", "shard", "first_sale_utc", "first_sale_id",
	"campaign_id", "product_id", "aff_id", "sub_aff_id", "merchant_id", "country", "contrib"}

// scanCustomer reads the customerCols after integration_id.
func scanCustomer(rows *sql.Rows) (customer, error) {
	var c customer
	var first sql.NullInt64
	if err := rows.Scan(&c.source, &c.id, &c.shard, &first, &c.firstID, &c.groups[1], &c.groups[2], &c.groups[3], &c.groups[4], &c.groups[5], &c.groups[6], &c.contrib); err != nil {
		return c, err
	}
	c.hasSale, c.firstAt = first.Valid, first.Int64
	return c, nil
}

// summarize finds a customer's first sale and shard from their events,
// sorted by sortEvents. ok is false when there are none. The shard is the
// first sale's day in the account time zone (loc), which is the customer's
// lifetime value cohort day, so that each cohort day's rows sit in one
// shard; without a sale, the UTC day of the first transaction.
func summarize(evs []event, loc *time.Location) (c customer, ok bool) {
	if len(evs) == 0 {
		return c, false
	}
	c = customer{source: evs[0].source, id: evs[0].customer, shard: shardOf(evs[0].at)}
	for i := range evs {
		if evs[i].sale() {
			c.hasSale, c.firstAt, c.firstID, c.groups = true, evs[i].at, evs[i].id, evs[i].groups
			c.shard = int64(localDayNum(c.firstAt, loc))
			break
		}
	}
	return c, true
}

type cohortKey struct {
	dim   int
	shard int64
	grp   string
	day   int
}

type ltvKey struct {
	cohortKey
	event int
}

type cycleKey struct {
	dim   int
	shard int64
	grp   string
	cycle int64
}

type newKey struct {
	dim    int
	bucket int64
	grp    string
}

type spanKey struct {
	dim        int
	grp, order string
	bucket     int64
}

// acc adds up customers' contributions (taken back with sign -1) to the
// customer-level rollup tables and writes them in batches, adding to what
// the tables hold, so memory stays bounded however many customers pass
// through. Every row counts its customers, so a row whose last customer
// left is found and dropped (dropEmpty).
type acc struct {
	integrationID int64
	loc           *time.Location // the account time zone: LTV days
	cohorts       map[cohortKey]int64
	ltv           map[ltvKey][3]int64   // gross, net, customers
	cycles        map[cycleKey][3]int64 // approvals, declines, customers
	newc          map[newKey]int64
	spans         map[spanKey]int64
	ret           map[retKey][3]int64 // approvals, declines, customers
	gaps          map[gapKey][2]int64 // n, customers
}

type retKey struct {
	dim                        int
	grp, product               string
	cohortDay, cycle, eventDay int64
}

type gapKey struct {
	product      string
	fromDay, gap int64
}

func newAcc(integrationID int64, loc *time.Location) *acc {
	return &acc{integrationID: integrationID, loc: loc,
		cohorts: map[cohortKey]int64{}, ltv: map[ltvKey][3]int64{}, cycles: map[cycleKey][3]int64{}, newc: map[newKey]int64{},
		spans: map[spanKey]int64{}, ret: map[retKey][3]int64{}, gaps: map[gapKey][2]int64{}}
}

// flushAt is how many pending entries trigger a write.
const flushAt = 200_000

func (a *acc) pending() int {
	return len(a.cohorts) + len(a.ltv) + len(a.cycles) + len(a.newc) + len(a.spans) + len(a.ret) + len(a.gaps)
}

// addNew counts a customer as new at their first sale (sign -1 takes an
// earlier count back).
func (a *acc) addNew(c *customer, sign int64) {
	if !c.hasSale {
		return
	}
	b := store.Bucket(c.firstAt)
	for d := range Dims {
		a.newc[newKey{d, b, c.groups[d]}] += sign
	}
}

// apply adds a customer's contribution k (sign 1) or takes it back (-1):
// the cohort count, lifetime value cells, cycles and order spans.
func (a *acc) apply(c *customer, k *contribution, sign int64) {
	shard := c.shard
	if c.hasSale {
		d0 := localDayNum(c.firstAt, a.loc)
		for d := range Dims {
			a.cohorts[cohortKey{d, shard, c.groups[d], d0}] += sign
		}
		for _, cell := range k.ltv {
			for d := range Dims {
				key := ltvKey{cohortKey{d, shard, c.groups[d], d0}, cell.day}
				v := a.ltv[key]
				a.ltv[key] = [3]int64{v[0] + sign*cell.gross, v[1] + sign*cell.net, v[2] + sign}
			}
		}
	}
	for _, cell := range k.cycles {
		key := cycleKey{cell.dim, shard, cell.grp, cell.cycle}
		v := a.cycles[key]
		a.cycles[key] = [3]int64{v[0] + sign*cell.approvals, v[1] + sign*cell.declines, v[2] + sign}
	}
	for _, cell := range k.spans {
		a.spans[spanKey(cell)] += sign
	}
	for _, c := range k.ret {
		key := retKey{c.dim, c.grp, c.product, c.cohortDay, c.cycle, c.eventDay}
		v := a.ret[key]
		a.ret[key] = [3]int64{v[0] + sign*c.approvals, v[1] + sign*c.declines, v[2] + sign}
	}
	for _, c := range k.gaps {
		key := gapKey{c.product, c.fromDay, c.gap}
		v := a.gaps[key]
		a.gaps[key] = [2]int64{v[0] + sign*c.n, v[1] + sign}
	}
}

// flush adds the pending entries to the tables. An entry that adds
// nothing (a customer taken out and put back unchanged) writes nothing.
func (a *acc) flush(ctx context.Context, tx *store.Tx) error {
	id := a.integrationID
	var rows [][]any
	for k, n := range a.cohorts {
		if n != 0 {
			rows = append(rows, []any{id, k.dim, k.shard, k.grp, k.day, n})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_cohorts", []string{"integration_id", "dim", "shard", "grp", "cohort_day", "customers"},
		"ON CONFLICT (integration_id, dim, shard, grp, cohort_day) DO UPDATE SET customers = rollup_cohorts.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range a.ltv {
		if v != [3]int64{} {
			rows = append(rows, []any{id, k.dim, k.shard, k.grp, k.day, k.event, v[0], v[1], v[2]})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_ltv", []string{"integration_id", "dim", "shard", "grp", "cohort_day", "event_day", "gross", "net", "customers"},
		"ON CONFLICT (integration_id, dim, shard, grp, cohort_day, event_day) DO UPDATE SET gross = rollup_ltv.gross + excluded.gross, net = rollup_ltv.net + excluded.net, customers = rollup_ltv.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range a.cycles {
		if v != [3]int64{} {
			rows = append(rows, []any{id, k.dim, k.shard, k.grp, k.cycle, v[0], v[1], v[2]})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_cycles", []string{"integration_id", "dim", "shard", "grp", "cycle", "approvals", "declines", "customers"},
		"ON CONFLICT (integration_id, dim, shard, grp, cycle) DO UPDATE SET approvals = rollup_cycles.approvals + excluded.approvals, declines = rollup_cycles.declines + excluded.declines, customers = rollup_cycles.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, n := range a.newc {
		if n != 0 {
			rows = append(rows, []any{id, k.dim, k.bucket, k.grp, n})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_new", []string{"integration_id", "dim", "bucket", "grp", "customers"},
		"ON CONFLICT (integration_id, dim, bucket, grp) DO UPDATE SET customers = rollup_new.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, n := range a.spans {
		if n != 0 {
			rows = append(rows, []any{id, k.dim, k.grp, k.order, k.bucket, n})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_order_spans", []string{"integration_id", "dim", "grp", "order_id", "bucket", "customers"},
		"ON CONFLICT (integration_id, dim, grp, order_id, bucket) DO UPDATE SET customers = rollup_order_spans.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range a.ret {
		if v != [3]int64{} {
			rows = append(rows, []any{id, k.dim, k.grp, k.product, k.cohortDay, k.cycle, k.eventDay, v[0], v[1], v[2]})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_retention", []string{"integration_id", "dim", "grp", "product_id", "cohort_day", "cycle", "event_day", "approvals", "declines", "customers"},
		"ON CONFLICT (integration_id, dim, grp, product_id, cohort_day, cycle, event_day) DO UPDATE SET approvals = rollup_retention.approvals + excluded.approvals, declines = rollup_retention.declines + excluded.declines, customers = rollup_retention.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range a.gaps {
		if v != [2]int64{} {
			rows = append(rows, []any{id, k.product, k.fromDay, k.gap, v[0], v[1]})
		}
	}
	if err := tx.InsertRows(ctx, "rollup_gaps", []string{"integration_id", "product_id", "from_day", "gap", "n", "customers"},
		"ON CONFLICT (integration_id, product_id, from_day, gap) DO UPDATE SET n = rollup_gaps.n + excluded.n, customers = rollup_gaps.customers + excluded.customers", rows); err != nil {
		return err
	}
	clear(a.ret)
	clear(a.gaps)
	clear(a.cohorts)
	clear(a.ltv)
	clear(a.cycles)
	clear(a.newc)
	clear(a.spans)
	return nil
}

// dropEmpty deletes the customer-level rows no customer contributes to any
// more (partial indexes find them: migration 0007).
func dropEmpty(ctx context.Context, tx *store.Tx, integrationID int64) error {
	for _, t := range []string{"rollup_cohorts", "rollup_ltv", "rollup_cycles", "rollup_new", "rollup_order_spans", "rollup_retention", "rollup_gaps"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE integration_id = ? AND customers = 0`, integrationID); err != nil {
			return err
		}
	}
	return nil
}
