package rollup

import (
	"context"
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
}

func (c *customer) args(integrationID int64) []any {
	var first any
	if c.hasSale {
		first = c.firstAt
	}
	return []any{integrationID, c.source, c.id, c.shard, first, c.firstID,
		c.groups[1], c.groups[2], c.groups[3], c.groups[4], c.groups[5], c.groups[6]}
}

var customerCols = []string{"integration_id", "source", "customer_id", "shard", "first_sale_utc", "first_sale_id",
	"campaign_id", "product_id", "aff_id", "sub_aff_id", "merchant_id", "country"}

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
	dim   int
	grp   string
	order string
}

// acc adds up customers' contributions to the additive rollup tables and
// writes them in batches (adding to what the tables hold), so memory stays
// bounded however many customers pass through.
type acc struct {
	integrationID int64
	loc           *time.Location // the account time zone: LTV days
	cohorts       map[cohortKey]int64
	ltv           map[ltvKey][2]int64
	cycles        map[cycleKey][2]int64
	newc          map[newKey]int64
	spans         [][]any
	// per-customer scratch
	subs     map[cycleKey]map[string]bool
	orderBkt map[spanKey]map[int64]bool
}

func newAcc(integrationID int64, loc *time.Location) *acc {
	return &acc{integrationID: integrationID, loc: loc,
		cohorts: map[cohortKey]int64{}, ltv: map[ltvKey][2]int64{}, cycles: map[cycleKey][2]int64{}, newc: map[newKey]int64{},
		subs: map[cycleKey]map[string]bool{}, orderBkt: map[spanKey]map[int64]bool{}}
}

// flushAt is how many pending entries trigger a write.
const flushAt = 200_000

func (a *acc) pending() int {
	return len(a.cohorts) + len(a.ltv) + len(a.cycles) + len(a.newc) + len(a.spans)
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

// addShard adds what one customer (c, from summarize) puts in the
// shard tables: cohort and lifetime value cells, cycles, order spans.
func (a *acc) addShard(c *customer, evs []event) {
	shard := c.shard
	// Lifetime value (metrics.md): from the first sale on, sales add to
	// gross and net, refunds and chargebacks (on chargebackDate) take from
	// net; nothing before the first sale's day counts.
	if c.hasSale {
		d0 := localDayNum(c.firstAt, a.loc)
		for d := range Dims {
			a.cohorts[cohortKey{d, shard, c.groups[d], d0}]++
		}
		add := func(day int, gross, net int64) {
			if day < d0 {
				return
			}
			for d := range Dims {
				k := ltvKey{cohortKey{d, shard, c.groups[d], d0}, day}
				v := a.ltv[k]
				a.ltv[k] = [2]int64{v[0] + gross, v[1] + net}
			}
		}
		started := false
		for i := range evs {
			e := &evs[i]
			switch {
			case e.sale():
				started = true
				add(localDayNum(e.at, a.loc), e.amount, e.amount)
				if e.chargedback && e.cbDay != "" {
					if cd, ok := dateDayNum(e.cbDay); ok {
						add(cd, 0, -e.cbCents)
					}
				}
			case started && e.refund():
				add(localDayNum(e.at, a.loc), 0, -e.amount)
			}
		}
	}
	// Retention: approvals are distinct subscriptions per cycle.
	clear(a.subs)
	clear(a.orderBkt)
	for i := range evs {
		e := &evs[i]
		if e.cycle > 0 {
			sale, decl := e.sale(), e.decline()
			for d := range Dims {
				k := cycleKey{d, shard, e.groups[d], e.cycle}
				if decl {
					v := a.cycles[k]
					a.cycles[k] = [2]int64{v[0], v[1] + 1}
				} else if _, ok := a.cycles[k]; !ok {
					a.cycles[k] = [2]int64{}
				}
				if sale {
					if a.subs[k] == nil {
						a.subs[k] = map[string]bool{}
					}
					a.subs[k][e.subscription()] = true
				}
			}
		}
		if e.sale() && e.order != "" {
			b := store.Bucket(e.at)
			for d := range Dims {
				k := spanKey{d, e.groups[d], e.order}
				if a.orderBkt[k] == nil {
					a.orderBkt[k] = map[int64]bool{}
				}
				a.orderBkt[k][b] = true
			}
		}
	}
	for k, subs := range a.subs {
		v := a.cycles[k]
		a.cycles[k] = [2]int64{v[0] + int64(len(subs)), v[1]}
	}
	for k, bs := range a.orderBkt {
		if len(bs) < 2 {
			continue
		}
		for b := range bs {
			a.spans = append(a.spans, []any{a.integrationID, k.dim, k.grp, k.order, b, shard})
		}
	}
}

// flush adds the pending entries to the tables.
func (a *acc) flush(ctx context.Context, tx *store.Tx) error {
	id := a.integrationID
	var rows [][]any
	for k, n := range a.cohorts {
		rows = append(rows, []any{id, k.dim, k.shard, k.grp, k.day, n})
	}
	if err := tx.InsertRows(ctx, "rollup_cohorts", []string{"integration_id", "dim", "shard", "grp", "cohort_day", "customers"},
		"ON CONFLICT (integration_id, dim, shard, grp, cohort_day) DO UPDATE SET customers = rollup_cohorts.customers + excluded.customers", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range a.ltv {
		rows = append(rows, []any{id, k.dim, k.shard, k.grp, k.day, k.event, v[0], v[1]})
	}
	if err := tx.InsertRows(ctx, "rollup_ltv", []string{"integration_id", "dim", "shard", "grp", "cohort_day", "event_day", "gross", "net"},
		"ON CONFLICT (integration_id, dim, shard, grp, cohort_day, event_day) DO UPDATE SET gross = rollup_ltv.gross + excluded.gross, net = rollup_ltv.net + excluded.net", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for k, v := range a.cycles {
		rows = append(rows, []any{id, k.dim, k.shard, k.grp, k.cycle, v[0], v[1]})
	}
	if err := tx.InsertRows(ctx, "rollup_cycles", []string{"integration_id", "dim", "shard", "grp", "cycle", "approvals", "declines"},
		"ON CONFLICT (integration_id, dim, shard, grp, cycle) DO UPDATE SET approvals = rollup_cycles.approvals + excluded.approvals, declines = rollup_cycles.declines + excluded.declines", rows); err != nil {
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
	if err := tx.InsertRows(ctx, "rollup_order_spans", []string{"integration_id", "dim", "grp", "order_id", "bucket", "shard"},
		"ON CONFLICT DO NOTHING", a.spans); err != nil {
		return err
	}
	clear(a.cohorts)
	clear(a.ltv)
	clear(a.cycles)
	clear(a.newc)
	a.spans = a.spans[:0]
	return nil
}
