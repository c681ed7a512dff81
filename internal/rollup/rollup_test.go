package rollup_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
	"github.com/konduit/konduit/internal/synth"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const account = "America/New_York"

var asOf = crm.Date{Year: 2025, Month: time.November, Day: 10}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
}

// world is a store holding a generated merchant, written as the sync
// writes (UpsertTransactions), and every transaction for later edits.
type world struct {
	st   *store.Store
	in   *store.Integration
	loc  *time.Location
	txns []crm.Transaction
}

func newWorld(t *testing.T, dsn string, customers int) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, loc: mustLoc(t, account)}
	w.in = &store.Integration{Kind: store.KindKonnektive, Name: "api", TimeZone: account}
	if err := st.SaveIntegration(ctx, w.in); err != nil {
		t.Fatal(err)
	}
	opts := synth.Options{Customers: customers, Seed: 11, AsOf: asOf, Months: 14, TimeZone: w.loc}
	var batch []crm.Transaction
	flush := func() error {
		err := st.Update(ctx, func(tx *store.Tx) error { return tx.UpsertTransactions(ctx, w.in.ID, batch) })
		batch = batch[:0]
		return err
	}
	err = synth.Generate(ctx, opts, func(c *synth.Customer) error {
		for _, x := range c.Transactions {
			// One currency: the rollups keep none, and a report over two
			// refuses (internal/report tests the currencies).
			x.Currency = ""
			batch = append(batch, x.Transaction)
			w.txns = append(w.txns, x.Transaction)
		}
		if len(batch) > 500 {
			return flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) write(t *testing.T, rows []crm.Transaction) {
	t.Helper()
	ctx := context.Background()
	if err := w.st.Update(ctx, func(tx *store.Tx) error { return tx.UpsertTransactions(ctx, w.in.ID, rows) }); err != nil {
		t.Fatal(err)
	}
}

func (w *world) wall(t *testing.T, at time.Time) crm.WallTime {
	t.Helper()
	wt, err := crm.ParseWall(at.In(w.loc).Format(crm.WallLayout), w.loc)
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

// dump is every rollup row of the integration, as sorted text.
func dump(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	var out []string
	for _, table := range []string{"rollup_customers", "rollup_period", "rollup_order_spans", "rollup_new", "rollup_cb", "rollup_cohorts", "rollup_ltv", "rollup_cycles", "rollup_brand_sales", "rollup_brand_cb", "rollup_retention", "rollup_gaps"} {
		rows, err := st.DB().Query(st.Rebind(`SELECT * FROM `+table+` WHERE integration_id = ?`), id)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			line := table
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				line += fmt.Sprintf("|%v", v)
			}
			out = append(out, line)
		}
		rows.Close()
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// reports renders every report, from the rollups or the transactions.
func reports(t *testing.T, st *store.Store, id int64, noRollup bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	add := func(name string, r report.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b bytes.Buffer
		if err := report.Write(&b, "json", r); err != nil {
			t.Fatal(err)
		}
		out[name] = b.String()
	}
	ranges := [][2]crm.Date{
		{{Year: 2024, Month: time.September, Day: 1}, {Year: 2025, Month: time.November, Day: 10}},
		{{Year: 2025, Month: time.March, Day: 9}, {Year: 2025, Month: time.March, Day: 9}},
		{{Year: 2025, Month: time.June, Day: 1}, {Year: 2025, Month: time.June, Day: 30}},
	}
	for _, zone := range []string{account, "Asia/Kathmandu"} {
		q := report.Query{Store: st, Integration: id, Loc: mustLoc(t, zone), NoRollup: noRollup}
		for _, by := range append([]string{""}, report.ByValues...) {
			q.By = by
			for _, r := range ranges {
				s, err := report.Summary(ctx, q, r[0], r[1])
				add(fmt.Sprint(zone, " summary ", by, r), s, err)
			}
			l, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "week", Days: report.DefaultDays, AsOf: asOf})
			add(zone+" ltv "+by, l, err)
			m, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", Months: []int{0, 1, 2, 6}, AsOf: asOf})
			add(zone+" ltv months "+by, m, err)
			r, err := report.Retention(ctx, q, report.RetentionOptions{AsOf: asOf})
			add(zone+" retention "+by, r, err)
			// Earlier as-of dates and a cycle-1 range: maturity, the
			// median gaps and what happened after the date, at read time.
			for _, o := range []report.RetentionOptions{
				{AsOf: crm.Date{Year: 2025, Month: time.March, Day: 20}},
				{AsOf: crm.Date{Year: 2025, Month: time.August, Day: 3}, From: crm.Date{Year: 2025, Month: time.February, Day: 1}, To: crm.Date{Year: 2025, Month: time.June, Day: 30}},
			} {
				r, err := report.Retention(ctx, q, o)
				add(fmt.Sprint(zone, " retention ", by, o), r, err)
			}
		}
		q.By = ""
		c, err := report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
		add(zone+" chargebacks", c, err)
	}
	return out
}

func sameReports(t *testing.T, st *store.Store, id int64) {
	t.Helper()
	fast, slow := reports(t, st, id, false), reports(t, st, id, true)
	n := 0
	for k, v := range slow {
		if fast[k] != v {
			if n++; n <= 5 {
				t.Errorf("%s: the rollups say\n%s\nthe transactions say\n%s", k, fast[k], v)
			}
		}
	}
}

func ready(t *testing.T, st *store.Store, id int64) bool {
	t.Helper()
	_, ok, err := rollup.Ready(context.Background(), st, id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// edits changes the merchant the way later syncs do: new rebills, late
// chargebacks, a refund, rows that move in time or to another customer,
// new customers, and an order whose sales fall in two buckets.
func (w *world) edits(t *testing.T, rng *rand.Rand) []crm.Transaction {
	t.Helper()
	var out []crm.Transaction
	pick := func() crm.Transaction { return w.txns[rng.IntN(len(w.txns))] }
	isSale := func(x crm.Transaction) bool {
		return (x.TxnType == "SALE" || x.TxnType == "CAPTURE") && x.ResponseType == "SUCCESS"
	}
	for i := 0; i < 40; i++ {
		x := pick()
		switch i % 5 {
		case 0: // a rebill a month later
			x.ID += "-rebill"
			x.BillingCycle++
			x.Created = w.wall(t, x.Created.UTC.AddDate(0, 1, 0))
			x.TxnType, x.ResponseType = "SALE", "SUCCESS"
			x.Chargedback, x.ChargebackAmt, x.ChargebackDay = false, 0, crm.Date{}
		case 1: // a late chargeback
			if !isSale(x) || x.Chargedback {
				continue
			}
			x.Chargedback, x.ChargebackAmt = true, x.Amount
			x.ChargebackDay = crm.DateOf(x.Created.UTC.In(w.loc).AddDate(0, 0, 20+rng.IntN(40)))
		case 2: // the time was wrong: it moves by hours
			x.Created = w.wall(t, x.Created.UTC.Add(time.Duration(rng.IntN(72)-36)*time.Hour))
		case 3: // the row belongs to another customer
			x.CustomerID = pick().CustomerID
		case 4: // a refund of a sale
			if !isSale(x) {
				continue
			}
			x.ParentID, x.ID = x.ID, x.ID+"-refund"
			x.TxnType, x.Chargedback, x.ChargebackDay = "REFUND", false, crm.Date{}
			x.Created = w.wall(t, x.Created.UTC.Add(72*time.Hour))
		}
		out = append(out, x)
	}
	// New customers, one with a refund dated before their first sale and
	// an order sold in two parts a day apart.
	first := w.wall(t, time.Date(2025, time.March, 9, 6, 59, 0, 0, time.UTC)) // the spring-forward night in New York
	base := crm.Transaction{Source: crm.SourceAPI, CustomerID: "new-1", OrderID: "order-split", CampaignID: "c-new", ProductID: "p-new",
		MerchantID: "mid-new", Country: "US", TxnType: "SALE", ResponseType: "SUCCESS", Amount: 4999, BillingCycle: 1, Created: first}
	a, b, r := base, base, base
	a.ID = "split-a"
	b.ID, b.TxnType, b.Created = "split-b", "CAPTURE", w.wall(t, first.UTC.Add(24*time.Hour))
	r.ID, r.OrderID, r.TxnType, r.Amount, r.Created = "early-refund", "", "REFUND", 1000, w.wall(t, first.UTC.Add(-time.Hour))
	c := base
	c.ID, c.CustomerID, c.OrderID = "new-2-sale", "new-2", "order-new-2"
	c.Created = w.wall(t, time.Date(2025, time.November, 2, 5, 30, 0, 0, time.UTC)) // the fall-back night
	return append(out, a, b, r, c)
}

func TestIncrementalRefreshMatchesRebuild(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, b.dsn(t), 300)
			if ready(t, w.st, w.in.ID) {
				t.Fatal("ready before the first refresh")
			}
			res, err := rollup.Refresh(ctx, w.st, w.in)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Full || res.Customers == 0 {
				t.Fatalf("first refresh: %+v, want a full rebuild", res)
			}
			if !ready(t, w.st, w.in.ID) {
				t.Fatal("not ready after a refresh")
			}
			sameReports(t, w.st, w.in.ID)

			rng := rand.New(rand.NewPCG(1, 2))
			for round := 0; round < 2; round++ {
				w.write(t, w.edits(t, rng))
				if ready(t, w.st, w.in.ID) {
					t.Fatal("ready after a write")
				}
				res, err := rollup.Refresh(ctx, w.st, w.in)
				if err != nil {
					t.Fatal(err)
				}
				if res.Full || res.Customers == 0 || res.Shards == 0 || res.Buckets == 0 {
					t.Fatalf("round %d: %+v, want an incremental refresh", round, res)
				}
				got := dump(t, w.st, w.in.ID)
				// Rebuild from scratch and compare table by table.
				if err := w.st.Update(ctx, func(tx *store.Tx) error { return tx.InvalidateRollups(ctx, w.in.ID) }); err != nil {
					t.Fatal(err)
				}
				if res, err := rollup.Refresh(ctx, w.st, w.in); err != nil || !res.Full {
					t.Fatalf("rebuild: %+v, %v", res, err)
				}
				if want := dump(t, w.st, w.in.ID); got != want {
					t.Fatalf("round %d: the incremental refresh left\n%s\n\na rebuild gives\n%s", round, firstDiff(got, want), firstDiff(want, got))
				}
				sameReports(t, w.st, w.in.ID)
			}
			// The split order counts once in a range holding both parts.
			s, err := report.Summary(ctx, report.Query{Store: w.st, Integration: w.in.ID, Loc: w.loc, By: "campaign"},
				crm.Date{Year: 2025, Month: time.March, Day: 8}, crm.Date{Year: 2025, Month: time.March, Day: 10})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, g := range s.Groups {
				if g.Group == "c-new" {
					found = true
					if g.Orders != 1 || g.Sales != 2 || g.NewCustomers != 1 || g.RefundCount != 1 {
						t.Errorf("split order: %+v, want 2 sales of 1 order, 1 new customer, 1 refund", g)
					}
				}
			}
			if !found {
				t.Error("no c-new group in the summary")
			}
		})
	}
}

// firstDiff is the lines of a missing from b, at most ten.
func firstDiff(a, b string) string {
	in := map[string]bool{}
	for _, l := range strings.Split(b, "\n") {
		in[l] = true
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !in[l] && len(out) < 10 {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRetimeRebuilds(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, backends[0].dsn(t), 60)
	if _, err := rollup.Refresh(ctx, w.st, w.in); err != nil {
		t.Fatal(err)
	}
	sydney := mustLoc(t, "Australia/Sydney")
	if _, err := w.st.Retime(ctx, w.in.ID, sydney); err != nil {
		t.Fatal(err)
	}
	if ready(t, w.st, w.in.ID) {
		t.Fatal("ready after a retime")
	}
	in, err := w.st.Integration(ctx, w.in.Name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rollup.Refresh(ctx, w.st, in)
	if err != nil || !res.Full {
		t.Fatalf("refresh after retime: %+v, %v", res, err)
	}
	zone, ok, err := rollup.Ready(ctx, w.st, w.in.ID)
	if err != nil || !ok || zone != "Australia/Sydney" {
		t.Fatalf("after the rebuild: zone %q, ready %v, %v", zone, ok, err)
	}
	sameReports(t, w.st, w.in.ID)
}

func TestBucket(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{0, 0}, {899, 0}, {900, 900}, {1801, 1800}, {-1, -900}, {-900, -900}, {-901, -1800},
	} {
		if got := store.Bucket(c.in); got != c.want {
			t.Errorf("Bucket(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	// Every zone's midnights start a bucket (Kathmandu is UTC+5:45).
	for _, zone := range []string{"Asia/Kathmandu", "Australia/Eucla", "America/St_Johns", "Pacific/Chatham"} {
		loc := mustLoc(t, zone)
		for d := 0; d < 400; d++ {
			m := crm.DateOf(time.Date(2025, 1, 1+d, 0, 0, 0, 0, time.UTC)).In(loc).Unix()
			if !rollup.Aligned(m) {
				t.Fatalf("%s: midnight of day %d at %d is not on a bucket boundary", zone, d, m)
			}
		}
	}
}

// TestRefreshPropertyRandomWrites holds the incremental refresh to a full
// rebuild, table by table, over random sequences of writes: new customers,
// rebills, changed amounts and breakdown values, refunds, chargebacks given
// and taken back, rows moved in time (a customer's cohort day moves with
// their first sale) or to another customer, first sales that become
// declines, orders sold across buckets, and rows rewritten unchanged. An
// order's and a subscription's sales belong to one customer, as in the CRM
// (the rollups count them per customer: package doc). The store deletes no
// transactions, so no delete is generated.
func TestRefreshPropertyRandomWrites(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, b.dsn(t), 60)
			if _, err := rollup.Refresh(ctx, w.st, w.in); err != nil {
				t.Fatal(err)
			}
			cur := map[string]crm.Transaction{}
			var ids []string
			for _, x := range w.txns {
				if _, ok := cur[x.ID]; !ok {
					ids = append(ids, x.ID)
				}
				cur[x.ID] = x
			}
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 7))
			fresh := 0
			rounds := 6
			if testing.Short() {
				rounds = 3
			}
			for round := 0; round < rounds; round++ {
				var out []crm.Transaction
				put := func(x crm.Transaction) {
					if _, ok := cur[x.ID]; !ok {
						ids = append(ids, x.ID)
					}
					cur[x.ID] = x
					out = append(out, x)
				}
				pick := func() crm.Transaction { return cur[ids[rng.IntN(len(ids))]] }
				isSale := func(x crm.Transaction) bool {
					return (x.TxnType == "SALE" || x.TxnType == "CAPTURE") && x.ResponseType == "SUCCESS"
				}
				shift := func(x crm.Transaction, d time.Duration) crm.WallTime { return w.wall(t, x.Created.UTC.Add(d)) }
				for i, n := 0, 1+rng.IntN(25); i < n; i++ {
					x := pick()
					fresh++
					switch rng.IntN(11) {
					case 0: // a rebill
						x.ID = fmt.Sprintf("%s-r%d", x.ID, fresh)
						x.BillingCycle++
						x.Created = shift(x, time.Duration(20+rng.IntN(20))*24*time.Hour)
						x.TxnType, x.ResponseType = "SALE", "SUCCESS"
						x.Chargedback, x.ChargebackAmt, x.ChargebackDay = false, 0, crm.Date{}
						if rng.IntN(3) == 0 {
							x.ResponseType = "DECLINE"
						}
					case 1: // a chargeback, or one taken back
						if !isSale(x) {
							continue
						}
						if x.Chargedback {
							x.Chargedback, x.ChargebackAmt, x.ChargebackDay = false, 0, crm.Date{}
						} else {
							x.Chargedback, x.ChargebackAmt = true, x.Amount
							x.ChargebackDay = crm.DateOf(x.Created.UTC.In(w.loc).AddDate(0, 0, rng.IntN(60)-5))
						}
					case 2: // moved by hours or days (a first sale moves its cohort day)
						x.Created = shift(x, time.Duration(rng.IntN(24*20)-24*10)*time.Hour)
					case 3: // to another customer, or a new one (an order and a
						// subscription stay one customer's: the row takes its own)
						if x.OrderID != "" {
							x.OrderID = fmt.Sprintf("%s-m%d", x.OrderID, fresh)
						}
						if x.PurchaseID != "" {
							x.PurchaseID = fmt.Sprintf("%s-m%d", x.PurchaseID, fresh)
						}
						if rng.IntN(2) == 0 {
							x.CustomerID = pick().CustomerID
						} else {
							x.CustomerID = fmt.Sprintf("moved-%d", fresh)
						}
					case 4: // a refund
						if !isSale(x) {
							continue
						}
						x.ParentID, x.ID = x.ID, fmt.Sprintf("%s-f%d", x.ID, fresh)
						x.TxnType, x.Chargedback, x.ChargebackAmt, x.ChargebackDay = "REFUND", false, 0, crm.Date{}
						x.Amount = crm.Money(1 + rng.IntN(int(max(x.Amount, 1))))
						x.Created = shift(x, time.Duration(rng.IntN(24*30)-24)*time.Hour) // some before the first sale
					case 5: // a new amount, zero included
						x.Amount = crm.Money(rng.IntN(3) * rng.IntN(10000))
					case 6: // a sale declined after all (the first sale moves)
						x.ResponseType = "DECLINE"
					case 7: // another campaign, product, country, merchant account or card brand
						o := pick()
						x.CampaignID, x.ProductID, x.Country = o.CampaignID, o.ProductID, o.Country
						if rng.IntN(2) == 0 {
							x.MerchantID, x.CardBrand = o.MerchantID, o.CardBrand
						}
					case 8: // a new customer with an order sold in two buckets
						base := x
						base.CustomerID = fmt.Sprintf("new-%d", fresh)
						base.ID, base.OrderID, base.PurchaseID = fmt.Sprintf("n%d-a", fresh), fmt.Sprintf("order-%d", fresh), ""
						base.TxnType, base.ResponseType, base.BillingCycle = "SALE", "SUCCESS", 1
						base.Chargedback, base.ChargebackAmt, base.ChargebackDay = false, 0, crm.Date{}
						second := base
						second.ID, second.TxnType = fmt.Sprintf("n%d-b", fresh), "CAPTURE"
						second.Created = shift(base, time.Duration(15+rng.IntN(600))*time.Minute)
						put(base)
						x = second
					case 9: // written again unchanged
					case 10: // a cycle number corrected
						x.BillingCycle = rng.IntN(4)
					}
					put(x)
				}
				w.write(t, out)
				res, err := rollup.Refresh(ctx, w.st, w.in)
				if err != nil {
					t.Fatal(err)
				}
				if res.Full {
					t.Fatalf("round %d: %+v, want an incremental refresh", round, res)
				}
				got := dump(t, w.st, w.in.ID)
				if err := w.st.Update(ctx, func(tx *store.Tx) error { return tx.InvalidateRollups(ctx, w.in.ID) }); err != nil {
					t.Fatal(err)
				}
				if res, err := rollup.Refresh(ctx, w.st, w.in); err != nil || !res.Full {
					t.Fatalf("rebuild: %+v, %v", res, err)
				}
				if want := dump(t, w.st, w.in.ID); got != want {
					t.Fatalf("seed %d round %d: the incremental refresh left\n%s\n\na rebuild gives\n%s", seed, round, firstDiff(got, want), firstDiff(want, got))
				}
			}
			sameReports(t, w.st, w.in.ID)
		})
	}
}

// A full rebuild leaves the planner statistics of the rollup tables
// current (the reports' plans depend on them).
func TestRebuildAnalyzes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, b.dsn(t), 40)
			if res, err := rollup.Refresh(ctx, w.st, w.in); err != nil || !res.Full {
				t.Fatalf("rebuild: %+v, %v", res, err)
			}
			q := `SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'rollup_ltv'`
			if w.st.Backend() == store.Postgres {
				q = `SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'rollup_ltv' AND last_analyze IS NOT NULL`
			}
			var n int
			if err := w.st.DB().QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Error("no statistics of rollup_ltv after a rebuild")
			}
		})
	}
}

// The rollups' breakdowns are crm's, in their stored order.
func TestDimsAreCRMBreakdowns(t *testing.T) {
	want := []string{"", "campaign_id", "product_id", "aff_id", "sub_aff_id", "merchant_id", "country"}
	if !reflect.DeepEqual(rollup.Dims, want) {
		t.Errorf("Dims = %v, want %v (the dim numbers are stored in the rollup tables)", rollup.Dims, want)
	}
}
