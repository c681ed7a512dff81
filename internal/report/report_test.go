package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/load"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
	"github.com/konduit/konduit/internal/synth"
	"github.com/shopspring/decimal"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// world is a generated merchant loaded into a store, and the same
// merchant in memory for the independent computation.
type world struct {
	st        *store.Store
	legacyID  int64             // loaded from the legacy files
	apiID     int64             // the synth crm values upserted as the sync would, less names and currencies (legacy files have neither)
	fxID      int64             // the same with them: names, USD and EUR
	fxCur     map[string]string // transaction id → currency, for fxID
	customers []*synth.Customer
	asOf      crm.Date
	noRollup  bool // read the transactions, not the rollups
}

// query is the report query the checks run.
func (w *world) query(id int64, loc *time.Location, by string) report.Query {
	return report.Query{Store: w.st, Integration: id, Loc: loc, By: by, NoRollup: w.noRollup}
}

var (
	account = "America/New_York"
	genAsOf = crm.Date{Year: 2025, Month: time.November, Day: 10} // a week after the fall-back night
)

func newWorld(t *testing.T, dsn string, customers int) *world {
	t.Helper()
	ctx := context.Background()
	loc := mustLoc(t, account)
	opts := synth.Options{Customers: customers, Seed: 7, AsOf: genAsOf, Months: 14, TimeZone: loc}
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var files []string
	for _, n := range []string{"legacy_transactions.csv", "legacy_customer_notes.csv", "legacy_customer_details.csv"} {
		files = append(files, filepath.Join(dir, n))
	}
	res, err := load.Load(ctx, st, files, load.Options{Name: "old-crm", TimeZone: loc, Check: check.Options{AsOf: "2025-11-10"}})
	if err != nil {
		if res != nil && res.Report != nil {
			var b bytes.Buffer
			check.WriteText(&b, res.Report, false)
			t.Log(b.String())
		}
		t.Fatal(err)
	}
	if err := st.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, legacyID: res.Integration.ID, asOf: genAsOf}
	api := &store.Integration{Kind: store.KindKonnektive, Name: "api", TimeZone: account}
	if err := st.SaveIntegration(ctx, api); err != nil {
		t.Fatal(err)
	}
	w.apiID = api.ID
	fx := &store.Integration{Kind: store.KindKonnektive, Name: "fx", TimeZone: account}
	if err := st.SaveIntegration(ctx, fx); err != nil {
		t.Fatal(err)
	}
	w.fxID, w.fxCur = fx.ID, map[string]string{}
	err = synth.Generate(ctx, opts, func(c *synth.Customer) error {
		w.customers = append(w.customers, c)
		var full []crm.Transaction
		for i := range c.Transactions {
			x := &c.Transactions[i].Transaction
			full = append(full, *x)
			w.fxCur[x.ID] = x.Currency
			x.Currency, x.Names = "", crm.Names{}
		}
		err := st.Update(ctx, func(tx *store.Tx) error {
			if err := tx.UpsertCustomers(ctx, fx.ID, []crm.Customer{c.Customer}); err != nil {
				return err
			}
			return tx.UpsertTransactions(ctx, fx.ID, full)
		})
		if err != nil {
			return err
		}
		return st.Update(ctx, func(tx *store.Tx) error {
			if err := tx.UpsertCustomers(ctx, api.ID, []crm.Customer{c.Customer}); err != nil {
				return err
			}
			var os []crm.Order
			for _, o := range c.Orders {
				os = append(os, o.Order)
			}
			var ts []crm.Transaction
			for _, x := range c.Transactions {
				ts = append(ts, x.Transaction)
			}
			if err := tx.UpsertOrders(ctx, api.ID, os); err != nil {
				return err
			}
			if err := tx.UpsertTransactions(ctx, api.ID, ts); err != nil {
				return err
			}
			return tx.UpsertPurchases(ctx, api.ID, c.Purchases)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Transactions == 0 || res.DSTAmbiguous == 0 {
		t.Fatalf("the generated data should cross a fall-back night: %+v", res)
	}
	for _, in := range []*store.Integration{res.Integration, api, fx} {
		if _, err := rollup.Refresh(ctx, st, in); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// --- the independent computation, straight from synth's customers ---

// round is a/b rounded half away from zero to places, written with exactly
// that many decimals; "" when b is 0. It uses math/big, not shopspring.
func round(a, b int64, places int) string {
	if b == 0 {
		return ""
	}
	r := new(big.Rat).SetFrac64(a, b)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	neg := r.Sign() < 0
	r.Abs(r)
	// floor(r + 1/2)
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	s := q.String()
	for len(s) <= places {
		s = "0" + s
	}
	s = s[:len(s)-places] + "." + s[len(s)-places:]
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

func cents(c int64) string { return round(c, 100, 2) }

func day(t time.Time, loc *time.Location) crm.Date { return crm.DateOf(t.In(loc)) }

func between(d, from, to crm.Date) bool { return !d.Before(from) && !to.Before(d) }

func firstSale(c *synth.Customer) *synth.Transaction {
	var f *synth.Transaction
	for i := range c.Transactions {
		t := &c.Transactions[i]
		if !t.IsSale() {
			continue
		}
		if f == nil || t.Created.UTC.Before(f.Created.UTC) || (t.Created.UTC.Equal(f.Created.UTC) && t.MerchantTxnID < f.MerchantTxnID) {
			f = t
		}
	}
	return f
}

func groupOf(by string, t *crm.Transaction) string {
	switch by {
	case "campaign":
		return t.CampaignID
	case "product":
		return t.ProductID
	case "affiliate":
		return t.AffID
	case "subaffiliate":
		return t.SubAffID
	case "merchant":
		return t.MerchantID
	case "country":
		return t.Country
	case "currency":
		return t.Currency
	case "brand":
		return t.CardBrand
	}
	return ""
}

func expectSummary(w *world, loc *time.Location, by string, from, to crm.Date) map[string]report.Figures {
	return expectSummaryOf(w, loc, func(t *crm.Transaction) string { return groupOf(by, t) }, nil, from, to)
}

// expectSummaryOf is expectSummary with any grouping, over the
// transactions keep accepts (nil: all).
func expectSummaryOf(w *world, loc *time.Location, groupOf func(*crm.Transaction) string, keep func(*crm.Transaction) bool, from, to crm.Date) map[string]report.Figures {
	out := map[string]report.Figures{}
	orders := map[string]map[string]bool{}
	get := func(g string) report.Figures { f := out[g]; f.Group = g; return f }
	for _, c := range w.customers {
		var first *synth.Transaction
		for i := range c.Transactions {
			t := &c.Transactions[i].Transaction
			if keep != nil && !keep(t) {
				continue
			}
			if t.IsSale() && (first == nil || t.Created.UTC.Before(first.Created.UTC) || (t.Created.UTC.Equal(first.Created.UTC) && t.MerchantTxnID < first.MerchantTxnID)) {
				first = &c.Transactions[i]
			}
			g := groupOf(t)
			f := get(g)
			in := between(day(t.Created.UTC, loc), from, to)
			switch {
			case t.IsSale() && in:
				f.Sales++
				f.Gross += int64(t.Amount)
				if t.BillingCycle <= 1 {
					f.SalesInitial++
				}
				if t.Chargedback {
					f.KCBCount++
					f.KCBCents += int64(t.ChargebackAmt)
				}
				if orders[g] == nil {
					orders[g] = map[string]bool{}
				}
				orders[g][t.OrderID] = true
			case t.IsDecline() && in:
				f.Declines++
				if t.BillingCycle <= 1 {
					f.DeclinesInitial++
				}
			case t.IsRefund() && in:
				f.RefundCount++
				f.RefundCents += int64(t.Amount)
			}
			if t.IsSale() && t.Chargedback && between(t.ChargebackDay, from, to) {
				f.CBCount++
				f.CBCents += int64(t.ChargebackAmt)
			}
			if f != (report.Figures{Group: g}) {
				out[g] = f
			}
		}
		if fs := first; fs != nil && between(day(fs.Created.UTC, loc), from, to) {
			g := groupOf(&fs.Transaction)
			f := get(g)
			f.NewCustomers++
			out[g] = f
		}
	}
	for g, os := range orders {
		f := out[g]
		f.Orders = int64(len(os))
		out[g] = f
	}
	return out
}

type ltvKey struct{ group, cohort string }

type ltvCell struct {
	gross, net string
	partial    bool
}

type ltvCohort struct {
	customers int64
	cells     []ltvCell
}

// monthEnd is the first day after month m since d0 (independent of the
// package's MonthStart: time.AddDate, stepping back on overflow).
func monthEnd(d0 crm.Date, m int) crm.Date {
	t := time.Date(d0.Year, d0.Month, d0.Day, 0, 0, 0, 0, time.UTC).AddDate(0, m+1, 0)
	if t.Day() != d0.Day {
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return crm.DateOf(t)
}

func expectLTV(w *world, loc *time.Location, by, period string, cols []int, months bool, asOf crm.Date) map[ltvKey]ltvCohort {
	return expectLTVOf(w, loc, func(t *crm.Transaction) string { return groupOf(by, t) }, period, cols, months, asOf)
}

// expectLTVOf is expectLTV with any grouping of the first sale.
func expectLTVOf(w *world, loc *time.Location, groupOf func(*crm.Transaction) string, period string, cols []int, months bool, asOf crm.Date) map[ltvKey]ltvCohort {
	type acc struct {
		n          int64
		gross, net []int64
		partial    []bool
	}
	accs := map[ltvKey]*acc{}
	for _, c := range w.customers {
		fs := firstSale(c)
		if fs == nil {
			continue
		}
		d0 := day(fs.Created.UTC, loc)
		if asOf.Before(d0) {
			continue
		}
		t0 := time.Date(d0.Year, d0.Month, d0.Day, 0, 0, 0, 0, time.UTC)
		var name string
		switch period {
		case "day":
			name = d0.String()
		case "week":
			y, wk := t0.ISOWeek()
			name = fmt.Sprintf("%d-W%02d", y, wk)
		default:
			name = t0.Format("2006-01")
		}
		k := ltvKey{groupOf(&fs.Transaction), name}
		a := accs[k]
		if a == nil {
			a = &acc{gross: make([]int64, len(cols)), net: make([]int64, len(cols)), partial: make([]bool, len(cols))}
			accs[k] = a
		}
		a.n++
		for i, n := range cols {
			end := crm.DateOf(t0.AddDate(0, 0, n+1)) // first day after the window
			if months {
				end = monthEnd(d0, n)
			}
			last := crm.DateOf(time.Date(end.Year, end.Month, end.Day-1, 0, 0, 0, 0, time.UTC))
			if asOf.Before(last) {
				a.partial[i] = true
			}
			in := func(d crm.Date) bool { return !d.Before(d0) && d.Before(end) && !asOf.Before(d) }
			for j := range c.Transactions {
				t := &c.Transactions[j]
				d := day(t.Created.UTC, loc)
				switch {
				case t.IsSale():
					if in(d) {
						a.gross[i] += int64(t.Amount)
						a.net[i] += int64(t.Amount)
					}
					if t.Chargedback && in(t.ChargebackDay) {
						a.net[i] -= int64(t.ChargebackAmt)
					}
				case t.IsRefund():
					if in(d) {
						a.net[i] -= int64(t.Amount)
					}
				}
			}
		}
	}
	out := map[ltvKey]ltvCohort{}
	for k, a := range accs {
		co := ltvCohort{customers: a.n}
		for i := range cols {
			co.cells = append(co.cells, ltvCell{round(a.gross[i], a.n*100, 2), round(a.net[i], a.n*100, 2), a.partial[i]})
		}
		out[k] = co
	}
	return out
}

// --- the checks ---

// America/Santiago moves its clocks at midnight: some days start at 01:00.
var displayZones = []string{"America/New_York", "Australia/Sydney", "America/Santiago", "UTC"}

func checkSummary(t *testing.T, w *world, id int64, loc *time.Location, by string, from, to crm.Date) {
	t.Helper()
	ctx := context.Background()
	got, err := report.Summary(ctx, w.query(id, loc, by), from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := expectSummary(w, loc, by, from, to)
	gotMap := map[string]report.Figures{}
	if by == "" {
		gotMap[""] = got.Total
	} else {
		for _, f := range got.Groups {
			gotMap[f.Group] = f
		}
	}
	if by == "" {
		if _, ok := want[""]; !ok {
			want[""] = report.Figures{}
		}
	}
	if len(gotMap) != len(want) {
		t.Errorf("summary by %q %s..%s in %s: %d groups, want %d", by, from, to, loc, len(gotMap), len(want))
	}
	for g, wf := range want {
		gf := gotMap[g]
		gf.Name = nil // names are checked on their own (checkNames)
		if gf != wf {
			t.Errorf("summary by %q group %q %s..%s in %s:\n got %+v\nwant %+v", by, g, from, to, loc, gf, wf)
			continue
		}
		// The shown values, rounded independently.
		row := gf.Row(by != "")
		b, _ := json.Marshal(row)
		var m map[string]any
		json.Unmarshal(b, &m)
		str := func(v string) any {
			if v == "" {
				return nil
			}
			return v
		}
		checks := map[string]any{
			"gross_revenue":           cents(wf.Gross),
			"refunds":                 cents(wf.RefundCents + wf.CBCents),
			"refunds_konnektive_view": cents(wf.RefundCents + wf.KCBCents),
			"net_revenue":             cents(wf.Gross - wf.RefundCents - wf.CBCents),
			"approval_rate":           str(round(wf.Sales, wf.Sales+wf.Declines, 4)),
			"refund_rate":             str(round(wf.RefundCount, wf.Sales, 4)),
			"chargeback_rate":         str(round(wf.CBCount, wf.Sales, 4)),
			"refund_rate_amount":      str(round(wf.RefundCents, wf.Gross, 4)),
			"chargeback_rate_amount":  str(round(wf.CBCents, wf.Gross, 4)),
			"aov":                     str(round(wf.Gross, wf.Orders*100, 2)),
			"approval_rate_initial":   str(round(wf.SalesInitial, wf.SalesInitial+wf.DeclinesInitial, 4)),
			"approval_rate_rebill":    str(round(wf.Sales-wf.SalesInitial, wf.Sales-wf.SalesInitial+wf.Declines-wf.DeclinesInitial, 4)),
			"orders":                  float64(wf.Orders),
			"new_customers":           float64(wf.NewCustomers),
			"sales":                   float64(wf.Sales),
			"declines":                float64(wf.Declines),
		}
		for k, v := range checks {
			if m[k] != v {
				t.Errorf("summary %q group %q: %s = %v, want %v", by, g, k, m[k], v)
			}
		}
	}
}

func checkLTV(t *testing.T, w *world, id int64, loc *time.Location, by, period string, cols []int, months bool) {
	t.Helper()
	o := report.LTVOptions{Cohort: period, AsOf: w.asOf}
	if months {
		o.Months = cols
	} else {
		o.Days = cols
	}
	got, err := report.LTV(context.Background(), w.query(id, loc, by), o)
	if err != nil {
		t.Fatal(err)
	}
	want := expectLTV(w, loc, by, period, cols, months, w.asOf)
	if len(got.Cohorts) != len(want) {
		t.Errorf("ltv %s by %q in %s: %d cohorts, want %d", period, by, loc, len(got.Cohorts), len(want))
	}
	var partial, complete int
	for _, c := range got.Cohorts {
		g := ""
		if c.Group != nil {
			g = *c.Group
		}
		wc, ok := want[ltvKey{g, c.Cohort}]
		if !ok {
			t.Errorf("ltv: unexpected cohort %q/%q", g, c.Cohort)
			continue
		}
		if c.Customers != wc.customers {
			t.Errorf("ltv cohort %q/%q: %d customers, want %d", g, c.Cohort, c.Customers, wc.customers)
		}
		for i, cell := range c.Cells {
			gc := ltvCell{cell.GrossLTV.String(), cell.NetLTV.String(), cell.Partial}
			if gc != wc.cells[i] {
				t.Errorf("ltv %s months=%v in %s cohort %q/%q cell %d: got %+v, want %+v", period, months, loc, g, c.Cohort, cols[i], gc, wc.cells[i])
			}
			if cell.Partial {
				partial++
			} else {
				complete++
			}
		}
	}
	if partial == 0 || complete == 0 {
		t.Errorf("ltv %s: %d partial and %d complete cells; the test data should have both", period, partial, complete)
	}
}

func checkRetention(t *testing.T, w *world, id int64, by string, loc *time.Location, from, to crm.Date) {
	t.Helper()
	checkRetentionOf(t, w, id, by, nil, nil, loc, from, to)
}

// checkRetentionOf is checkRetention under filters: match is the same
// filter as a test of a transaction (nil: none).
func checkRetentionOf(t *testing.T, w *world, id int64, by string, filters []report.Filter, match func(*crm.Transaction) bool, loc *time.Location, from, to crm.Date) {
	t.Helper()
	q := w.query(id, loc, by)
	q.Filters = filters
	got, err := report.Retention(context.Background(), q, report.RetentionOptions{From: from, To: to, AsOf: w.asOf})
	// A subscription's group, marked when its row fails the filters.
	groupOf := func(by string, tx *crm.Transaction) string {
		if match != nil && !match(tx) {
			return "\x00out"
		}
		return groupOf(by, tx)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Independently: each subscription (a customer's product) with the day
	// of its first approved sale of each cycle and its declines, up to
	// as-of; the products' median gap between consecutive cycles.
	type sub struct {
		group, product string
		first          map[int]int
		declines       map[int]int64
	}
	dn := func(d crm.Date) int {
		return int(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	asOf := dn(w.asOf)
	var subs []*sub
	for _, c := range w.customers {
		mine := map[string]*sub{}
		// in dateCreated order, as the report streams them
		txs := make([]*crm.Transaction, 0, len(c.Transactions))
		for i := range c.Transactions {
			txs = append(txs, &c.Transactions[i].Transaction)
		}
		sort.SliceStable(txs, func(i, j int) bool { return txs[i].Created.UTC.Before(txs[j].Created.UTC) })
		for _, tx := range txs {
			if tx.BillingCycle < 1 || !(tx.IsSale() || tx.IsDecline()) {
				continue
			}
			d := dn(day(tx.Created.UTC, loc))
			if d > asOf {
				continue
			}
			s := mine[tx.ProductID]
			if s == nil {
				s = &sub{product: tx.ProductID, group: groupOf(by, tx), first: map[int]int{}, declines: map[int]int64{}}
				mine[tx.ProductID] = s
				subs = append(subs, s)
			}
			if tx.IsDecline() {
				s.declines[tx.BillingCycle]++
			} else if _, ok := s.first[tx.BillingCycle]; !ok {
				s.first[tx.BillingCycle] = d
				if tx.BillingCycle == 1 {
					s.group = groupOf(by, tx)
				}
			}
		}
	}
	gaps := map[string][]int{}
	for _, s := range subs {
		for c, d := range s.first {
			if n, ok := s.first[c+1]; ok {
				gaps[s.product] = append(gaps[s.product], n-d)
			}
		}
	}
	interval := map[string]int{}
	for p, g := range gaps {
		sort.Ints(g)
		interval[p] = g[(len(g)-1)/2] // the lower middle
	}
	type key struct {
		g     string
		cycle int
	}
	cohort := map[string]int64{}
	approvals, declines, eligible, eligibleAp, prevEligible := map[key]int64{}, map[key]int64{}, map[key]int64{}, map[key]int64{}, map[key]int64{}
	top := map[string]int{}
	for _, s := range subs {
		d1, ok := s.first[1]
		if !ok || (!from.IsZero() && d1 < dn(from)) || (!to.IsZero() && d1 > dn(to)) || s.group == "\x00out" {
			continue
		}
		cohort[s.group]++
		for c := range s.first {
			top[s.group] = max(top[s.group], c)
		}
		for c := range s.declines {
			top[s.group] = max(top[s.group], c)
		}
	}
	for _, s := range subs {
		d1, ok := s.first[1]
		if !ok || (!from.IsZero() && d1 < dn(from)) || (!to.IsZero() && d1 > dn(to)) || s.group == "\x00out" {
			continue
		}
		for c := 1; c <= top[s.group]; c++ {
			k := key{s.group, c}
			_, ap := s.first[c]
			if ap {
				approvals[k]++
			}
			declines[k] += s.declines[c]
			iv, known := interval[s.product]
			if c > 1 && (!known || asOf-d1 < (c-1)*iv+3) {
				continue
			}
			eligible[k]++
			if ap {
				eligibleAp[k]++
			}
			if _, p := s.first[c-1]; p && c > 1 {
				prevEligible[k]++
			}
		}
	}
	for p, iv := range interval {
		if got.IntervalDays[p] != iv {
			t.Errorf("retention: interval of product %s %d days, want %d", p, got.IntervalDays[p], iv)
		}
	}
	if len(got.Groups) != len(cohort) {
		t.Errorf("retention by %s %s..%s: %d groups, want %d", by, from, to, len(got.Groups), len(cohort))
	}
	var partial, complete, deep int
	for _, g := range got.Groups {
		if g.Subscriptions != cohort[g.Group] || len(g.Cycles) != top[g.Group] {
			t.Errorf("retention %s: %d subscriptions %d cycles, want %d and %d", g.Group, g.Subscriptions, len(g.Cycles), cohort[g.Group], top[g.Group])
			continue
		}
		for _, c := range g.Cycles {
			k := key{g.Group, c.Cycle}
			if c.Approvals != approvals[k] || c.Declines != declines[k] || c.Eligible != eligible[k] || c.EligibleApprovals != eligibleAp[k] {
				t.Errorf("retention %s cycle %d: %d approvals %d declines %d eligible (%d approved), want %d %d %d (%d)", g.Group, c.Cycle,
					c.Approvals, c.Declines, c.Eligible, c.EligibleApprovals, approvals[k], declines[k], eligible[k], eligibleAp[k])
			}
			if c.Retention.String() != round(eligibleAp[k], eligible[k], 4) || c.RetentionAll.String() != round(approvals[k], approvals[key{g.Group, 1}], 4) {
				t.Errorf("retention %s cycle %d: retention %s all %s", g.Group, c.Cycle, c.Retention, c.RetentionAll)
			}
			if c.Cycle > 1 && c.RebillRate.String() != round(eligibleAp[k], prevEligible[k], 4) {
				t.Errorf("retention %s cycle %d: rebill rate %s, want %s", g.Group, c.Cycle, c.RebillRate, round(eligibleAp[k], prevEligible[k], 4))
			}
			if c.Partial != (eligible[k] < cohort[g.Group]) {
				t.Errorf("retention %s cycle %d: partial %v", g.Group, c.Cycle, c.Partial)
			}
			if c.Partial {
				partial++
			} else {
				complete++
			}
			if c.Cycle >= 4 && c.EligibleApprovals > 0 {
				deep++
			}
		}
	}
	if from.IsZero() && match == nil && (partial == 0 || complete == 0 || deep == 0) {
		t.Errorf("retention: %d partial, %d complete cycles, %d mature past cycle 3; the data should have each", partial, complete, deep)
	}
}

func checkChargebacks(t *testing.T, w *world, id int64, loc *time.Location) {
	t.Helper()
	checkChargebacksOf(t, w, id, loc, nil, nil)
}

// checkChargebacksOf is checkChargebacks under filters (match: the same
// filter as a test of a transaction, nil for none).
func checkChargebacksOf(t *testing.T, w *world, id int64, loc *time.Location, filters []report.Filter, match func(*crm.Transaction) bool) {
	t.Helper()
	th := report.Thresholds{Ratio: decimal.RequireFromString("0.01"), Count: 1}
	early := report.Thresholds{Ratio: decimal.RequireFromString("0.005")}
	q := w.query(id, loc, "")
	q.Filters = filters
	got, err := report.Chargebacks(context.Background(), q, th, th, early)
	if err != nil {
		t.Fatal(err)
	}
	// Independently, per merchant, brand (from the card number synth drew,
	// by cardnum's IIN list) and month, and over all cards.
	type key struct{ mid, brand, month string }
	sales := map[key]int64{}
	cbs := map[key]int64{}
	cbc := map[key]int64{}
	for _, c := range w.customers {
		brand := ""
		if c.Payment.CardNumber != "" {
			brand = cardnum.Brand(c.Payment.CardNumber)
		}
		for i := range c.Transactions {
			tx := &c.Transactions[i].Transaction
			if !tx.IsSale() || (match != nil && !match(tx)) {
				continue
			}
			for _, b := range []string{brand, report.AllCards} {
				sales[key{tx.MerchantID, b, day(tx.Created.UTC, loc).String()[:7]}]++
				if tx.Chargedback {
					k := key{tx.MerchantID, b, tx.ChargebackDay.String()[:7]}
					cbs[k]++
					cbc[k] += int64(tx.ChargebackAmt)
				}
			}
		}
	}
	keys := map[key]bool{}
	for k := range sales {
		keys[k] = true
	}
	for k := range cbs {
		keys[k] = true
	}
	if len(got.Months) != len(keys) {
		t.Errorf("chargebacks in %s: %d rows, want %d", loc, len(got.Months), len(keys))
	}
	flags := map[string]int{}
	brands := map[string]bool{}
	over := func(n, d, pct, per int64, count int64) bool { return d > 0 && n >= count && n*per >= d*pct } // n/d >= pct/per
	for _, m := range got.Months {
		k := key{m.Merchant, m.Brand, m.Month}
		brands[m.Brand] = true
		pt, _ := time.Parse("2006-01", m.Month)
		prev := key{m.Merchant, m.Brand, pt.AddDate(0, -1, 0).Format("2006-01")}
		if m.Sales != sales[k] || m.Chargebacks != cbs[k] || int64(m.ChargebackAmount) != cbc[k] || m.SalesPrevMonth != sales[prev] {
			t.Errorf("chargebacks %v: got %+v; want sales %d prev %d chargebacks %d (%d cents)", k, m, sales[k], sales[prev], cbs[k], cbc[k])
		}
		if m.VisaRatio.String() != round(cbs[k], sales[k], 4) || m.MastercardRatio.String() != round(cbs[k], sales[prev], 4) {
			t.Errorf("chargebacks %v: ratios %s %s", k, m.VisaRatio, m.MastercardRatio)
		}
		visa := m.Brand == "Visa" && over(cbs[k], sales[k], 1, 100, 1)
		mc := m.Brand == "Mastercard" && over(cbs[k], sales[prev], 1, 100, 1)
		ew := (m.Brand == "Visa" && over(cbs[k], sales[k], 5, 1000, 0)) || (m.Brand == "Mastercard" && over(cbs[k], sales[prev], 5, 1000, 0))
		if m.VisaFlag != visa || m.MastercardFlag != mc || m.EarlyWarning != ew {
			t.Errorf("chargebacks %v: flags %v %v %v, want %v %v %v", k, m.VisaFlag, m.MastercardFlag, m.EarlyWarning, visa, mc, ew)
		}
		nflags := 0
		for _, f := range []bool{m.VisaFlag, m.MastercardFlag, m.EarlyWarning} {
			if f {
				nflags++
			}
		}
		if len(m.Rules) != nflags {
			t.Errorf("chargebacks %v: %d flags, rules %q", k, nflags, m.Rules)
		}
		if m.VisaFlag {
			flags["visa"]++
		}
		if m.MastercardFlag {
			flags["mc"]++
		}
		if m.EarlyWarning {
			flags["early"]++
		}
	}
	if match != nil {
		if len(got.Months) == 0 {
			t.Errorf("chargebacks under %v: no rows", filters)
		}
		return
	}
	if flags["visa"] == 0 || flags["mc"] == 0 || flags["early"] == 0 {
		t.Errorf("chargebacks: flags %v; the thresholds should catch some of each", flags)
	}
	if !brands["Visa"] || !brands["Mastercard"] || !brands["American Express"] || !brands[report.AllCards] {
		t.Errorf("chargebacks: brands %v", brands)
	}
}

func checkReconcile(t *testing.T, w *world, id int64, loc *time.Location, from, to crm.Date) {
	t.Helper()
	checkReconcileOf(t, w, id, loc, from, to, nil, nil)
}

// checkReconcileOf is checkReconcile under filters.
func checkReconcileOf(t *testing.T, w *world, id int64, loc *time.Location, from, to crm.Date, filters []report.Filter, match func(*crm.Transaction) bool) {
	t.Helper()
	q := w.query(id, loc, "")
	q.Filters = filters
	got, err := report.Reconcile(context.Background(), q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var onlyD, onlyK, both int64
	var n int
	for _, c := range w.customers {
		for i := range c.Transactions {
			tx := &c.Transactions[i].Transaction
			if !tx.IsSale() || !tx.Chargedback || (match != nil && !match(tx)) {
				continue
			}
			rec := between(tx.ChargebackDay, from, to)
			sold := between(day(tx.Created.UTC, loc), from, to)
			switch {
			case rec && sold:
				both += int64(tx.ChargebackAmt)
			case rec:
				onlyD += int64(tx.ChargebackAmt)
			case sold:
				onlyK += int64(tx.ChargebackAmt)
			default:
				continue
			}
			n++
		}
	}
	if int64(got.OnlyDefault) != onlyD || int64(got.OnlyKonnektive) != onlyK || int64(got.Both) != both || len(got.Lines) != n {
		t.Errorf("reconcile: got default %s konnektive %s both %s (%d lines); want %d %d %d (%d)", got.OnlyDefault, got.OnlyKonnektive, got.Both, len(got.Lines), onlyD, onlyK, both, n)
	}
	if int64(got.Difference) != onlyD-onlyK || int64(got.Refunds)-int64(got.RefundsKView) != onlyD-onlyK {
		t.Errorf("reconcile: difference %s, refunds %s − %s; want %d", got.Difference, got.Refunds, got.RefundsKView, onlyD-onlyK)
	}
	if match == nil && (onlyD == 0 || onlyK == 0) {
		t.Errorf("reconcile %s..%s: the range should move chargebacks both ways (default %d, konnektive %d)", from, to, onlyD, onlyK)
	}
}

var ranges = [][2]crm.Date{
	{{Year: 2025, Month: time.March, Day: 1}, {Year: 2025, Month: time.March, Day: 31}},        // spring forward (US 9th, AU ends April)
	{{Year: 2025, Month: time.October, Day: 5}, {Year: 2025, Month: time.November, Day: 2}},    // both AU start and US end
	{{Year: 2025, Month: time.November, Day: 2}, {Year: 2025, Month: time.November, Day: 2}},   // the 25-hour day
	{{Year: 2024, Month: time.January, Day: 1}, {Year: 2026, Month: time.January, Day: 1}},     // everything
	{{Year: 2025, Month: time.June, Day: 1}, {Year: 2025, Month: time.June, Day: 30}},          // chargebacks move both ways
	{{Year: 2025, Month: time.September, Day: 7}, {Year: 2025, Month: time.September, Day: 7}}, // Santiago: the day that starts at 01:00
}

func runAll(t *testing.T, w *world, id int64) {
	for _, zone := range displayZones {
		loc := mustLoc(t, zone)
		t.Run(strings.ReplaceAll(zone, "/", "_"), func(t *testing.T) {
			for _, r := range ranges {
				checkSummary(t, w, id, loc, "", r[0], r[1])
			}
			for _, by := range report.ByValues {
				checkSummary(t, w, id, loc, by, ranges[1][0], ranges[1][1])
			}
			checkLTV(t, w, id, loc, "", "month", []int{0, 7, 30, 60, 90, 180, 365}, false)
			checkLTV(t, w, id, loc, "", "week", []int{0, 1, 14, 30}, false)
			checkLTV(t, w, id, loc, "campaign", "day", []int{0, 3, 30}, false)
			checkLTV(t, w, id, loc, "", "month", []int{0, 1, 2, 3, 6, 12}, true)
			checkChargebacks(t, w, id, loc)
			checkReconcile(t, w, id, loc, ranges[4][0], ranges[4][1])
		})
	}
	// Combined filters and the trend, in the account zone (the rollups'
	// days) and one other.
	for _, zone := range []string{account, "Australia/Sydney"} {
		loc := mustLoc(t, zone)
		checkFiltered(t, w, id, loc)
		checkTrend(t, w, id, loc, nil)
		checkTrend(t, w, id, loc, combos(w)[0].filters)
	}
	// One filter, which the rollups serve: the same as the breakdown's group.
	checkTrend(t, w, id, mustLoc(t, account), combos(w)[0].filters[:1])
	for _, r := range [][2]crm.Date{{}, {{Year: 2025, Month: time.March, Day: 1}, {Year: 2025, Month: time.June, Day: 30}}, {{Year: 2025, Month: time.September, Day: 1}, {}}} {
		checkRetention(t, w, id, "product", time.UTC, r[0], r[1])
		checkRetention(t, w, id, "campaign", mustLoc(t, account), r[0], r[1])
	}
}

// outputs renders every report as JSON, for comparing backends and roads.
func outputs(t *testing.T, st *store.Store, id int64, withIDs, noRollup bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	add := func(name string, r report.Result, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b bytes.Buffer
		for _, f := range report.Formats {
			if err := report.Write(&b, f, r); err != nil {
				t.Fatal(err)
			}
		}
		out[name] = b.String()
	}
	curs, err := report.Currencies(ctx, report.Query{Store: st, Integration: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(curs) < 2 {
		curs = []string{""}
	}
	for _, cur := range curs {
		for _, zone := range []string{"America/New_York", "Australia/Sydney", "Asia/Kathmandu"} {
			q := report.Query{Store: st, Integration: id, Loc: mustLoc(t, zone), NoRollup: noRollup, Currency: cur}
			zone := cur + zone
			for _, by := range append([]string{""}, report.ByValues...) {
				q.By = by
				s, err := report.Summary(ctx, q, ranges[1][0], ranges[1][1])
				add(zone+" summary "+by, s, err)
				l, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", Days: report.DefaultDays, AsOf: genAsOf})
				add(zone+" ltv "+by, l, err)
			}
			q.By = ""
			c, err := report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
			add(zone+" chargebacks", c, err)
			if withIDs {
				r, err := report.Reconcile(ctx, q, ranges[1][0], ranges[1][1])
				add(zone+" reconcile", r, err)
			}
		}
		for _, by := range []string{"product", "campaign"} {
			r, err := report.Retention(ctx, report.Query{Store: st, Integration: id, Loc: time.UTC, By: by, NoRollup: noRollup, Currency: cur},
				report.RetentionOptions{AsOf: genAsOf, From: crm.Date{Year: 2025, Month: time.February, Day: 1}})
			add(cur+"retention "+by, r, err)
		}
		// Filters, combined (the transactions) and on one dimension (the
		// rollups when they are current), and the trend.
		for _, fs := range outputFilters {
			for _, zone := range []string{account, "Asia/Kathmandu"} {
				q := report.Query{Store: st, Integration: id, Loc: mustLoc(t, zone), NoRollup: noRollup, Currency: cur, Filters: fs}
				name := fmt.Sprint(cur, zone, fs, " ")
				for _, by := range []string{"", "product"} {
					q.By = by
					s, err := report.Summary(ctx, q, ranges[1][0], ranges[1][1])
					add(name+"summary "+by, s, err)
				}
				q.By = ""
				l, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "week", Days: []int{0, 7, 30}, AsOf: genAsOf})
				add(name+"ltv", l, err)
				c, err := report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
				add(name+"chargebacks", c, err)
				if withIDs {
					r, err := report.Reconcile(ctx, q, ranges[4][0], ranges[4][1])
					add(name+"reconcile", r, err)
				}
				for _, g := range []string{report.GrainDay, report.GrainWeek} {
					tr, err := report.Trend(ctx, q, ranges[1][0], ranges[1][1], g)
					add(name+"trend "+g, tr, err)
				}
				q.By = "product"
				r, err := report.Retention(ctx, q, report.RetentionOptions{AsOf: genAsOf})
				add(name+"retention", r, err)
				// by the filter's own dimension: the rollups, in the account zone
				if q.By, err = report.FilterBy(fs[0].By); err != nil {
					t.Fatal(err)
				}
				r, err = report.Retention(ctx, q, report.RetentionOptions{AsOf: genAsOf})
				add(name+"retention by "+q.By, r, err)
			}
		}
		// In the account zone (the rollups' days), as of several dates:
		// maturity and the median gaps are applied at read time.
		for _, by := range append([]string{""}, report.ByValues...) {
			for _, o := range []report.RetentionOptions{
				{AsOf: genAsOf},
				{AsOf: crm.Date{Year: 2025, Month: time.June, Day: 15}, From: crm.Date{Year: 2025, Month: time.January, Day: 1}},
				{AsOf: crm.Date{Year: 2025, Month: time.September, Day: 2}, From: crm.Date{Year: 2025, Month: time.March, Day: 1}, To: crm.Date{Year: 2025, Month: time.May, Day: 31}},
			} {
				r, err := report.Retention(ctx, report.Query{Store: st, Integration: id, Loc: mustLoc(t, account), By: by, NoRollup: noRollup, Currency: cur}, o)
				add(fmt.Sprint(cur, "retention ", account, " ", by, " ", o.AsOf, o.From, o.To), r, err)
			}
		}
	}
	return out
}

// outputFilters are the filters outputs runs the reports under: set from
// the generated data (combos), the same on every backend.
var outputFilters [][]report.Filter

func TestReportsAgainstIndependentComputation(t *testing.T) {
	var first map[string]string
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.dsn(t), 700)
			cs := combos(w)
			outputFilters = [][]report.Filter{cs[0].filters, cs[1].filters, cs[0].filters[:1], cs[0].filters[1:]}
			// Every figure, from the rollups and from the transactions.
			for _, raw := range []bool{false, true} {
				w.noRollup = raw
				t.Run(fmt.Sprintf("legacy/no-rollup=%v", raw), func(t *testing.T) { runAll(t, w, w.legacyID) })
				t.Run(fmt.Sprintf("api/no-rollup=%v", raw), func(t *testing.T) { runAll(t, w, w.apiID) })
				t.Run(fmt.Sprintf("fx/no-rollup=%v", raw), func(t *testing.T) {
					for _, zone := range []string{account, "Australia/Sydney"} {
						checkFX(t, w, mustLoc(t, zone))
					}
					checkChargebacks(t, w, w.fxID, mustLoc(t, account))
					checkFilterNames(t, w)
					checkRetention(t, w, w.fxID, "product", time.UTC, crm.Date{}, crm.Date{})
				})
			}
			// The rollups give byte-identical reports, in more zones.
			for _, id := range []int64{w.legacyID, w.apiID, w.fxID} {
				fast, slow := outputs(t, w.st, id, true, false), outputs(t, w.st, id, true, true)
				for k, v := range slow {
					if fast[k] != v {
						t.Errorf("%s differs between the rollups and the transactions:\nrollups      %s\ntransactions %s", k, fast[k], v)
					}
				}
			}
			// Both roads give the same reports (reconcile names transaction
			// ids, which differ by road).
			legacyOut, apiOut := outputs(t, w.st, w.legacyID, false, false), outputs(t, w.st, w.apiID, false, false)
			for k, v := range legacyOut {
				if apiOut[k] != v {
					t.Errorf("%s differs between the legacy and API roads:\nlegacy %s\napi    %s", k, v, apiOut[k])
				}
			}
			out := outputs(t, w.st, w.legacyID, true, false)
			for k, v := range outputs(t, w.st, w.fxID, true, false) {
				out["fx "+k] = v
			}
			if first == nil {
				first = out
				return
			}
			keys := make([]string, 0, len(out))
			for k := range out {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if first[k] != out[k] {
					t.Errorf("%s differs between SQLite and PostgreSQL:\nsqlite   %s\npostgres %s", k, first[k], out[k])
				}
			}
		})
	}
}

// checkFX holds the account with names and two currencies to metrics.md's
// money rule: never two currencies added together; per-currency figures
// computed here from the generated data.
func checkFX(t *testing.T, w *world, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	from, to := ranges[3][0], ranges[3][1] // everything
	q := w.query(w.fxID, loc, "")
	if _, err := report.Summary(ctx, q, from, to); !report.IsMixedCurrencies(err) || !strings.Contains(err.Error(), "--by currency") {
		t.Errorf("summary over EUR and USD: %v, want a refusal naming --currency and --by currency", err)
	}
	if _, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", AsOf: w.asOf}); !report.IsMixedCurrencies(err) {
		t.Errorf("ltv over EUR and USD: %v, want a refusal", err)
	}
	cur := func(t *crm.Transaction) string { return w.fxCur[t.ID] }
	compare := func(name string, got *report.SummaryResult, want map[string]report.Figures) {
		t.Helper()
		gotMap := map[string]report.Figures{}
		if got.By == "" {
			gotMap[""] = got.Total
		}
		for _, f := range got.Groups {
			f.Name = nil
			gotMap[f.Group] = f
		}
		if len(gotMap) != len(want) {
			t.Errorf("%s: %d groups, want %d", name, len(gotMap), len(want))
		}
		for g, wf := range want {
			if gotMap[g] != wf {
				t.Errorf("%s group %q:\n got %+v\nwant %+v", name, g, gotMap[g], wf)
			}
		}
	}
	q.By = "currency"
	got, err := report.Summary(ctx, q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := expectSummaryOf(w, loc, cur, nil, from, to)
	if len(want) != 2 || want["EUR"].Gross == 0 || want["USD"].Gross == 0 {
		t.Fatalf("the generated data should sell in EUR and USD: %v", want)
	}
	compare("summary by currency", got, want)
	for _, c := range []string{"EUR", "USD"} {
		for _, by := range []string{"", "product", "brand"} {
			q := w.query(w.fxID, loc, by)
			q.Currency = c
			got, err := report.Summary(ctx, q, ranges[1][0], ranges[1][1])
			if err != nil {
				t.Fatal(err)
			}
			want := expectSummaryOf(w, loc, func(t *crm.Transaction) string { return groupOf(by, t) },
				func(t *crm.Transaction) bool { return cur(t) == c }, ranges[1][0], ranges[1][1])
			if by == "" && len(want) == 0 {
				want[""] = report.Figures{}
			}
			compare("summary in "+c+" by "+by, got, want)
		}
	}
	// Names beside ids: the campaigns' and merchant accounts' names as the
	// catalog has them; a filter takes the id or the name.
	cat := synth.DefaultCatalog()
	q = w.query(w.fxID, loc, "merchant")
	q.Currency = "USD"
	got, err = report.Summary(ctx, q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got.Groups {
		id := 0
		fmt.Sscan(g.Group, &id)
		m, ok := cat.Merchant(id)
		if !ok || g.Name == nil || *g.Name != m.Name {
			t.Errorf("merchant %s named %v, want %v", g.Group, g.Name, m)
		}
	}
	q.Currency, q.Only = "EUR", " checkout.com eu "
	got, err = report.Summary(ctx, q, from, to)
	if err != nil || len(got.Groups) != 1 || got.Groups[0].Group != "15" || *got.Groups[0].Name != "Checkout.com EU" {
		t.Errorf("summary of merchant %q: %+v, %v", q.Only, got, err)
	}
	q.Only = "No Such MID"
	if _, err := report.Summary(ctx, q, from, to); err == nil || !strings.Contains(err.Error(), "Checkout.com EU") {
		t.Errorf("an unknown merchant: %v, want an error listing the known ones", err)
	}
	// LTV by currency is each currency's LTV (synth's customers pay in one).
	byCur, err := report.LTV(ctx, w.query(w.fxID, loc, "currency"), report.LTVOptions{Cohort: "month", AsOf: w.asOf})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"EUR", "USD"} {
		q := w.query(w.fxID, loc, "")
		q.Currency = c
		one, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", AsOf: w.asOf})
		if err != nil {
			t.Fatal(err)
		}
		var mine []report.Cohort
		for _, co := range byCur.Cohorts {
			if *co.Group == c {
				co.Group = nil
				mine = append(mine, co)
			}
		}
		a, _ := json.Marshal(mine)
		b, _ := json.Marshal(one.Cohorts)
		if string(a) != string(b) || len(mine) == 0 {
			t.Errorf("ltv in %s:\nby currency %s\n--currency  %s", c, a, b)
		}
	}
	var tb bytes.Buffer
	q = w.query(w.fxID, loc, "campaign")
	q.Currency = "USD"
	l, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", AsOf: w.asOf})
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Write(&tb, "csv", l); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tb.String(), "campaign,campaign_name,cohort,customers,gross_day_0,net_day_0,partial_day_0,") ||
		!strings.Contains(tb.String(), "Lumiere Skin Trial") || strings.Contains(tb.String(), "*") {
		t.Errorf("ltv csv: names beside ids, partial cells in their own column:\n%.400s", tb.String())
	}
}
