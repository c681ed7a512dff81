package sync

// Property tests against internal/konnektive/adversary, a test server written
// from the API spec alone (it shares no code with the client or the project's
// fake): its own paging and sort order, drift between pages, duplicated rows,
// counts that lie, bad rows and transport faults. The invariant of the
// package doc is checked after every sync:
//
//	every row the server holds is stored exactly once (or quarantined, if
//	konduit refuses to read it), or the sync failed naming a window.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/konnektive/adversary"
	"github.com/konduit/konduit/internal/store"
)

var advNow = time.Date(2025, 11, 2, 20, 0, 0, 0, mustNY()) // a busy, 25-hour day

func mustNY() *time.Location {
	loc, err := time.LoadLocation(testZone)
	if err != nil {
		panic(err)
	}
	return loc
}

var advEntities = map[adversary.Entity]string{
	adversary.Customers:    store.Customers,
	adversary.Orders:       store.Orders,
	adversary.Purchases:    store.Purchases,
	adversary.Transactions: store.Transactions,
}

// refused are the bad-row reasons konduit quarantines; the others (an ISO
// T, the US date form, a negative refund) it reads.
var refused = []string{adversary.BadDateTimeOnly, adversary.BadNoDateCreated, adversary.BadAmountComma, adversary.BadAmountMills}

type advFixture struct {
	srv *adversary.Server
	url string
}

func startAdversary(t testing.TB, cfg adversary.Config) *advFixture {
	t.Helper()
	if cfg.Now.IsZero() {
		cfg.Now = advNow
	}
	if cfg.Location == nil {
		cfg.Location = mustNY()
	}
	if cfg.SlowDelay == 0 {
		cfg.SlowDelay = 20 * time.Millisecond
	}
	srv, err := adversary.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &advFixture{srv: srv, url: ts.URL}
}

// advSync runs one sync of the adversary's account into dsn.
func advSync(ctx context.Context, dsn, url string, now time.Time, maxWindowRows int) (Summary, error) {
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return Summary{}, err
	}
	defer s.Close()
	in, err := s.Integration(ctx, "adv")
	if err != nil {
		in = &store.Integration{Kind: store.KindKonnektive, Name: "adv", BaseURL: url, LoginID: adversary.DefaultLoginID, TimeZone: testZone, ImportFrom: crm.Date{Year: 2019, Month: 1, Day: 1}}
		if err := s.SaveIntegration(ctx, in); err != nil {
			return Summary{}, err
		}
	}
	counter := NewRetryCounter(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	client, err := konnektive.New(konnektive.Config{BaseURL: url, LoginID: adversary.DefaultLoginID, Password: adversary.DefaultPassword, Location: mustNY(),
		PageSize: 25, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond, MaxRetries: 12,
		RequestTimeout: 5 * time.Second, Logger: slog.New(counter)})
	if err != nil {
		return Summary{}, err
	}
	return Run(ctx, Options{Store: s, API: client, Integration: in, Now: func() time.Time { return now }, Retries: counter.Count, MaxWindowRows: maxWindowRows,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
}

// heldIDs is every row id the server holds, by entity.
func heldIDs(srv *adversary.Server) map[adversary.Entity]map[string]bool {
	out := map[adversary.Entity]map[string]bool{}
	for _, e := range adversary.Entities {
		out[e] = map[string]bool{}
		for id := range srv.Holds(e) {
			out[e][id] = true
		}
	}
	return out
}

// checkHolds checks the invariant: every row the server held when the sync
// began (before, all rows when nil) is stored once, or quarantined for a
// reason konduit refuses; nothing the server does not hold is stored.
// Transactions also keep their amount (refunds positive). Rows the server
// created while the sync ran may be read by the next sync.
func checkHolds(t *testing.T, dsn string, srv *adversary.Server, before map[adversary.Entity]map[string]bool) {
	t.Helper()
	ctx := context.Background()
	s, in := openIntegration(t, dsn, "adv")
	defer s.Close()
	quarantined := map[string]map[string]bool{}
	qs, err := s.Quarantined(ctx, in.ID, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if quarantined[q.Entity] == nil {
			quarantined[q.Entity] = map[string]bool{}
		}
		quarantined[q.Entity][q.RowID] = true
	}
	stored := map[string]map[string]int{}
	for _, name := range advEntities {
		stored[name] = map[string]int{}
	}
	s.EachCustomer(ctx, in.ID, func(c *crm.Customer) error { stored[store.Customers][c.ID]++; return nil })
	s.EachOrder(ctx, in.ID, func(o *crm.Order) error { stored[store.Orders][o.ID]++; return nil })
	s.EachPurchase(ctx, in.ID, func(p *crm.Purchase) error { stored[store.Purchases][p.ID]++; return nil })
	amounts := map[string]crm.Money{}
	raws := map[string]string{}
	s.EachTransaction(ctx, in.ID, func(x *crm.Transaction) error {
		stored[store.Transactions][x.ID]++
		amounts[x.ID] = x.Amount
		raws[x.ID] = string(x.Raw)
		return nil
	})
	for ae, name := range advEntities {
		held := srv.Holds(ae)
		missing, wrong := 0, 0
		for id, row := range held {
			if before != nil && !before[ae][id] {
				continue
			}
			refuse := slices.Contains(refused, row.Bad)
			switch {
			case refuse && !quarantined[name][id]:
				t.Errorf("%s %s (bad: %s) is not quarantined", name, id, row.Bad)
			case refuse && stored[name][id] > 0:
				t.Errorf("%s %s (bad: %s) is stored", name, id, row.Bad)
			case !refuse && stored[name][id] != 1:
				missing++
				if missing <= 5 {
					t.Errorf("%s %s (created %s, updated %s) stored %d times", name, id, row.Created.Format(crm.WallLayout), row.Updated.Format(crm.WallLayout), stored[name][id])
				}
			case !refuse && name == store.Transactions && amounts[id] != crm.Money(row.Cents):
				wrong++
				if wrong <= 5 {
					t.Errorf("transaction %s stored with %v, the server holds %d cents\nstored %s\nserved %s", id, amounts[id], row.Cents, raws[id], row.JSON)
				}
			}
		}
		for id := range stored[name] {
			if _, ok := held[id]; !ok {
				t.Errorf("%s %s is stored but the server does not hold it", name, id)
			}
		}
		if missing > 0 {
			t.Errorf("%s: %d of %d rows the server holds are not stored once", name, missing, len(held))
		}
	}
}

// TestAdversaryInvariant: under drift, duplicated rows, counts that lie
// (over, under, jittering), bad rows and windows split for size, a backfill
// and the incremental syncs after it end with the invariant holding.
func TestAdversaryInvariant(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
				ctx := context.Background()
				f := startAdversary(t, adversary.Config{Seed: seed, Customers: 250, BadRowRate: 0.02,
					DriftRate: 0.25, DuplicateRate: 0.1, CountLieRate: 0.15, StringTotalRate: 0.2, BOMRate: 0.05})
				dsn := newDSN()
				now := advNow
				for round := 0; round < 3; round++ {
					before := heldIDs(f.srv)
					sum, err := advSync(ctx, dsn, f.url, now, 120)
					if err != nil {
						// A failed window is allowed by the invariant, but
						// it must say so and the next run must finish it.
						t.Logf("round %d: %v", round, err)
						if sum, err = advSync(ctx, dsn, f.url, now, 120); err != nil {
							t.Fatalf("round %d, second run: %v", round, err)
						}
					}
					checkHolds(t, dsn, f.srv, before)
					if round > 0 && sum.Same == 0 {
						// The lookback re-reads rows stored by the rounds before.
						t.Errorf("round %d: no row read again was found held", round)
					}
					t.Logf("round %d: %d rows read (%d held), %d quarantined, %d requests, %d windows, %d split, %d walked again", round, sum.Rows.Total(), sum.Same, sum.Quarantined, sum.Requests, sum.Windows, sum.Splits, sum.Rewalks)
					f.srv.Advance(48 * time.Hour)
					now = f.srv.Now()
				}
			})
		}
	})
}

// TestAdversaryCountsAlwaysLie: every page overstates (or understates) its
// count. A walk never ends on the count; an overstated count is accepted
// once a second walk finds nothing new; an understated one costs nothing.
func TestAdversaryCountsAlwaysLie(t *testing.T) {
	for _, kind := range []adversary.Kind{adversary.QuirkCountOver, adversary.QuirkCountUnder} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			f := startAdversary(t, adversary.Config{Seed: 9, Customers: 150, CountLieRate: 1, CountLieKinds: []adversary.Kind{kind}})
			dsn := "sqlite:" + t.TempDir() + "/k.db"
			sum, err := advSync(ctx, dsn, f.url, advNow, 0)
			if err != nil {
				t.Fatal(err)
			}
			checkHolds(t, dsn, f.srv, nil)
			if kind == adversary.QuirkCountUnder && sum.Rewalks != 0 {
				t.Errorf("an understated count made %d walks again", sum.Rewalks)
			}
		})
	}
}

// TestAdversaryRequestBudget: a backfill and the incremental after it cost
// at most 1.05 x the pages the rows need plus one request per endpoint,
// counted at the server.
func TestAdversaryRequestBudget(t *testing.T) {
	ctx := context.Background()
	f := startAdversary(t, adversary.Config{Seed: 4, Customers: 2000})
	dsn := "sqlite:" + t.TempDir() + "/k.db"
	budget := func(rows map[adversary.Entity]int) float64 {
		pages := 0
		for _, n := range rows {
			pages += (n + 24) / 25
		}
		return 1.05*float64(pages) + float64(len(rows))
	}
	rows := map[adversary.Entity]int{}
	for _, e := range adversary.Entities {
		rows[e] = len(f.srv.Holds(e))
	}
	if _, err := advSync(ctx, dsn, f.url, advNow, 0); err != nil {
		t.Fatal(err)
	}
	backfill := f.srv.Stats().Requests
	if float64(backfill) > budget(rows) {
		t.Errorf("backfill: %d requests for %v rows; budget %.0f", backfill, rows, budget(rows))
	}
	// The incremental right after: the rows updated since the lookback.
	f.srv.ResetLog()
	updated := map[adversary.Entity]int{}
	since := advNow.AddDate(0, 0, -DefaultLookback-1)
	for _, e := range adversary.Entities {
		for _, r := range f.srv.Holds(e) {
			if !r.Updated.Before(since) {
				updated[e]++
			}
		}
	}
	if _, err := advSync(ctx, dsn, f.url, advNow, 0); err != nil {
		t.Fatal(err)
	}
	incr := f.srv.Stats().Requests
	if float64(incr) > budget(updated) {
		t.Errorf("incremental: %d requests for %v rows updated; budget %.0f", incr, updated, budget(updated))
	}
	t.Logf("backfill %d requests for %v rows; incremental %d for %v", backfill, rows, incr, updated)
	checkHolds(t, dsn, f.srv, nil)
}

// TestAdversaryFaultsAndKill: 15% transport faults (HTML 502, 429 with
// Retry-After, transient ERROR, cut bodies, slow answers) and a kill -9 in
// the middle of the backfill; the resumed sync's figures equal the server's
// own tally, and it takes at most 3x a clean run.
func TestAdversaryFaultsAndKill(t *testing.T) {
	ctx := context.Background()
	cfg := adversary.Config{Seed: 5, Customers: 600}
	clean := startAdversary(t, cfg)
	cleanDSN := "sqlite:" + t.TempDir() + "/clean.db"
	t0 := time.Now()
	if _, err := advSync(ctx, cleanDSN, clean.url, advNow, 0); err != nil {
		t.Fatal(err)
	}
	cleanTime := time.Since(t0)

	cfg.FaultRate = 0.15
	f := startAdversary(t, cfg)
	dsn := "sqlite:" + t.TempDir() + "/k.db"
	t0 = time.Now()
	out, err := advHelper(f.url, dsn, "sync.committed:40")
	var ee *exec.ExitError
	if err == nil || !errorsAs(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the sync was not killed: %v\n%s", err, out)
	}
	if _, err := advSync(ctx, dsn, f.url, advNow, 0); err != nil {
		t.Fatal(err)
	}
	faulted := time.Since(t0)
	checkHolds(t, dsn, f.srv, nil)
	tally := f.srv.Tally()
	got := storedTally(t, dsn)
	if got != (advTally{tally.Sales.Count, tally.Sales.Cents, tally.Refunds.Count, tally.Refunds.Cents, tally.Chargebacks.Count, tally.Chargebacks.Cents}) {
		t.Errorf("stored figures %+v; the server's tally %+v", got, tally)
	}
	st := f.srv.Stats()
	t.Logf("clean %v; 15%% faults and a kill -9 %v (%d requests, %d faulted)", cleanTime, faulted, st.Requests, st.Faulted)
	if faulted > 3*cleanTime+2*time.Second {
		t.Errorf("the faulted sync took %v, a clean one %v", faulted, cleanTime)
	}
}

type advTally struct {
	Sales           int
	SalesCents      int64
	Refunds         int
	RefundCents     int64
	Chargebacks     int
	ChargebackCents int64
}

// storedTally sums the stored transactions the way the server's tally does.
func storedTally(t *testing.T, dsn string) advTally {
	ctx := context.Background()
	s, in := openIntegration(t, dsn, "adv")
	defer s.Close()
	var a advTally
	s.EachTransaction(ctx, in.ID, func(x *crm.Transaction) error {
		if x.ResponseType == "SUCCESS" {
			switch x.TxnType {
			case "SALE":
				a.Sales++
				a.SalesCents += int64(x.Amount)
			case "REFUND":
				a.Refunds++
				a.RefundCents += int64(x.Amount)
			}
		}
		if x.Chargedback {
			a.Chargebacks++
			a.ChargebackCents += int64(x.ChargebackAmt)
		}
		return nil
	})
	return a
}

// advHelper runs one sync in a child process (this test binary) with a
// failpoint armed.
func advHelper(url, dsn, fp string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KONDUIT_SYNC_ADV_HELPER=1", "HELPER_URL="+url, "HELPER_DSN="+dsn, failpoint.Env+"="+fp)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func advHelperMain() int {
	if _, err := advSync(context.Background(), os.Getenv("HELPER_DSN"), os.Getenv("HELPER_URL"), advNow, 0); err != nil {
		fmt.Fprintln(os.Stderr, "helper sync:", err)
		return 1
	}
	return 0
}

var _ = strconv.Itoa
