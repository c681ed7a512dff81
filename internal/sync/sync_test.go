package sync

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv("KONDUIT_SYNC_HELPER") != "" {
		os.Exit(helperMain())
	}
	if os.Getenv("KONDUIT_SYNC_ADV_HELPER") != "" {
		os.Exit(advHelperMain())
	}
	os.Exit(pgtest.Main(m))
}

const (
	testLogin    = "api_user"
	testPassword = "synthetic-Passw0rd"
	testZone     = "America/New_York"
	testPageSize = 7
)

var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
}

func forEachBackend(t *testing.T, body func(t *testing.T, newDSN func() string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { body(t, func() string { return b.dsn(t) }) })
	}
}

func nyLoc(t testing.TB) *time.Location {
	loc, err := time.LoadLocation(testZone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(s string) crm.Date {
	d, err := crm.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// at is a wall-clock time d days and secs seconds after midnight of start.
func at(loc *time.Location, start crm.Date, d int, secs int) crm.WallTime {
	t := time.Date(start.Year, start.Month, start.Day+d, 0, 0, secs, 0, time.UTC)
	w, err := crm.ParseWall(t.Format(crm.WallLayout), loc)
	if err != nil {
		panic(err)
	}
	return w
}

func wallAt(loc *time.Location, raw string) crm.WallTime {
	w, err := crm.ParseWall(raw, loc)
	if err != nil {
		panic(err)
	}
	return w
}

// merchant generates n customers created over days days from start: a sale
// each, rebills, refunds, and chargebacks posted 45 days after their sale,
// with some rows at the DST edges of America/New_York.
func merchant(loc *time.Location, n int, start crm.Date, days int) []fake.Bundle {
	var out []fake.Bundle
	for i := 0; i < n; i++ {
		d := i * days / n
		created := at(loc, start, d, 3600*9+i*37%30000)
		switch i % 41 {
		case 5: // the spring-forward gap: 02:30 does not exist on 2025-03-09
			created = wallAt(loc, fmt.Sprintf("2025-03-09 02:%02d:%02d", 30+i%20, i%60))
		case 9: // the autumn overlap: 01:30 occurs twice on 2025-11-02
			created = wallAt(loc, fmt.Sprintf("2025-11-02 01:%02d:00", i%60))
		}
		cd, _ := crm.ParseDate(created.Raw[:10])
		cust := crm.Customer{Source: crm.SourceAPI, ID: strconv.Itoa(1000 + i), FirstName: "Cust", LastName: fmt.Sprint(i),
			Email: fmt.Sprintf("c%d@example.test", i), Country: "US", State: "NY", PostalCode: "10001", Created: created, Updated: created}
		oid := fmt.Sprintf("%X", 0xA000+i)
		pid := fmt.Sprintf("P%d", 7000+i)
		b := fake.Bundle{Customer: cust}
		b.Orders = append(b.Orders, crm.Order{Source: crm.SourceAPI, ID: oid, CustomerID: cust.ID, CampaignID: "1", Status: "COMPLETE", Type: "NEW_SALE",
			AffID: "aff" + strconv.Itoa(i%3), Country: "US", Total: crm.Money(2999 + i), Created: created, Updated: created})
		b.Purchases = append(b.Purchases, crm.Purchase{Source: crm.SourceAPI, ID: pid, OrderID: oid, CustomerID: cust.ID, CampaignID: "1", ProductID: "11",
			MerchantID: "3", Status: "ACTIVE", BillingCycle: 1, NextBillDate: crm.DateOf(cd.In(time.UTC).AddDate(0, 0, 30)), Price: 2999, Created: created, Updated: created})
		sale := crm.Transaction{Source: crm.SourceAPI, ID: strconv.Itoa(50000 + i*10), CustomerID: cust.ID, OrderID: oid, PurchaseID: pid, CampaignID: "1",
			ProductID: "11", MerchantID: "3", Country: "US", TxnType: crm.TxnSale, ResponseType: crm.RespSuccess, PaySource: "CREDITCARD", CardType: "VISA",
			SubTotal: crm.Money(2999 + i), Amount: crm.Money(2999 + i), BillingCycle: 1, Created: created, Updated: created}
		if i%7 == 3 {
			// A chargeback posted 45 days after the sale restates it in place.
			cb := at(loc, cd, 45, 3600*14)
			sale.Chargedback, sale.ChargebackAmt, sale.ChargebackDay, sale.ChargebackWhy = true, sale.Amount, crm.DateOf(cd.In(time.UTC).AddDate(0, 0, 45)), "10.4"
			sale.Updated = cb
		}
		b.Transactions = append(b.Transactions, sale)
		if i%3 == 0 {
			re := at(loc, cd, 30, 3600*6+i%3600)
			b.Transactions = append(b.Transactions, crm.Transaction{Source: crm.SourceAPI, ID: strconv.Itoa(50000 + i*10 + 1), CustomerID: cust.ID, OrderID: oid,
				PurchaseID: pid, CampaignID: "1", ProductID: "11", MerchantID: "3", Country: "US", TxnType: crm.TxnSale, ResponseType: crm.RespSuccess,
				PaySource: "CREDITCARD", Amount: 2999, BillingCycle: 2, Created: re, Updated: re})
		}
		if i%5 == 1 {
			rf := at(loc, cd, 3, 3600*12)
			b.Transactions = append(b.Transactions, crm.Transaction{Source: crm.SourceAPI, ID: strconv.Itoa(50000 + i*10 + 2), ParentID: sale.ID, CustomerID: cust.ID,
				OrderID: oid, CampaignID: "1", ProductID: "11", MerchantID: "3", Country: "US", TxnType: crm.TxnRefund, ResponseType: crm.RespSuccess,
				PaySource: "CREDITCARD", Amount: sale.Amount, Created: rf, Updated: rf})
		}
		out = append(out, b)
	}
	return out
}

// fakeAPI is a running fake Konnektive.
type fakeAPI struct {
	srv   *fake.Server
	url   string
	clock *fake.Clock
	loc   *time.Location
}

func startFake(t *testing.T, bundles []fake.Bundle, now time.Time, faults fake.Faults) *fakeAPI {
	t.Helper()
	loc := nyLoc(t)
	clock := fake.NewClock(now)
	srv, err := fake.New(fake.Options{LoginID: testLogin, Password: testPassword, Location: loc, Clock: clock.Now, Faults: faults,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundles {
		if err := srv.Add(b); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fakeAPI{srv: srv, url: hs.URL, clock: clock, loc: loc}
}

func newClient(url string, loc *time.Location, counter *RetryCounter) (*konnektive.Client, error) {
	return konnektive.New(konnektive.Config{BaseURL: url, LoginID: testLogin, Password: testPassword, Location: loc, PageSize: testPageSize,
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond, MaxRetries: 10, RequestTimeout: 5 * time.Second,
		Logger: slog.New(counter)})
}

// syncOnce opens dsn, saves the integration if needed and runs one sync.
func syncOnce(ctx context.Context, dsn, url string, from crm.Date, now time.Time, hook func(string)) (Summary, error) {
	loc, err := time.LoadLocation(testZone)
	if err != nil {
		return Summary{}, err
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return Summary{}, err
	}
	defer s.Close()
	in, err := s.Integration(ctx, "acme")
	if err != nil {
		in = &store.Integration{Kind: store.KindKonnektive, Name: "acme", BaseURL: url, LoginID: testLogin, TimeZone: testZone, ImportFrom: from}
		if err := s.SaveIntegration(ctx, in); err != nil {
			return Summary{}, err
		}
	}
	counter := NewRetryCounter(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	client, err := newClient(url, loc, counter)
	if err != nil {
		return Summary{}, err
	}
	return Run(ctx, Options{Store: s, API: client, Integration: in, Now: func() time.Time { return now }, Retries: counter.Count, hook: hook})
}

type snapshot struct {
	Customers    []crm.Customer
	Orders       []crm.Order
	Transactions []crm.Transaction
	Purchases    []crm.Purchase
}

// openIntegration opens the store at dsn and finds the named integration;
// the caller closes the store.
func openIntegration(t *testing.T, dsn, name string) (*store.Store, *store.Integration) {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Integration(context.Background(), name)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, in
}

func readSnapshot(t *testing.T, dsn string) snapshot {
	t.Helper()
	ctx := context.Background()
	s, in := openIntegration(t, dsn, "acme")
	defer s.Close()
	var snap snapshot
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.EachCustomer(ctx, in.ID, func(c *crm.Customer) error { snap.Customers = append(snap.Customers, *c); return nil }))
	must(s.EachOrder(ctx, in.ID, func(c *crm.Order) error { snap.Orders = append(snap.Orders, *c); return nil }))
	must(s.EachTransaction(ctx, in.ID, func(c *crm.Transaction) error { snap.Transactions = append(snap.Transactions, *c); return nil }))
	must(s.EachPurchase(ctx, in.ID, func(c *crm.Purchase) error { snap.Purchases = append(snap.Purchases, *c); return nil }))
	return snap
}

func (s snapshot) counts() [4]int {
	return [4]int{len(s.Customers), len(s.Orders), len(s.Purchases), len(s.Transactions)}
}

// diff names the first difference between two snapshots.
func diff(a, b snapshot) string {
	if a.counts() != b.counts() {
		return fmt.Sprintf("row counts %v vs %v", a.counts(), b.counts())
	}
	for i := range a.Customers {
		if !reflect.DeepEqual(a.Customers[i], b.Customers[i]) {
			return fmt.Sprintf("customer %+v vs %+v", a.Customers[i], b.Customers[i])
		}
	}
	for i := range a.Orders {
		if !reflect.DeepEqual(a.Orders[i], b.Orders[i]) {
			return fmt.Sprintf("order %+v vs %+v", a.Orders[i], b.Orders[i])
		}
	}
	for i := range a.Purchases {
		if !reflect.DeepEqual(a.Purchases[i], b.Purchases[i]) {
			return fmt.Sprintf("purchase %+v vs %+v", a.Purchases[i], b.Purchases[i])
		}
	}
	for i := range a.Transactions {
		if !reflect.DeepEqual(a.Transactions[i], b.Transactions[i]) {
			return fmt.Sprintf("transaction %+v vs %+v", a.Transactions[i], b.Transactions[i])
		}
	}
	return ""
}

var (
	dataStart = day("2025-02-01")
	syncNow   = time.Date(2025, 5, 1, 16, 0, 0, 0, time.UTC) // noon in New York
	// A shorter history for the tests that sync many times.
	compactStart = day("2025-04-01")
	compactNow   = time.Date(2025, 4, 24, 16, 0, 0, 0, time.UTC)
)

func fakeCounts(f *fakeAPI) [4]int {
	c, o, p, x := f.srv.Counts()
	return [4]int{c, o, p, x}
}

func TestSyncCopiesEverythingAndIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		f := startFake(t, merchant(nyLoc(t), 150, dataStart, 70), syncNow, fake.Faults{})
		dsn := newDSN()
		sum, err := syncOnce(ctx, dsn, f.url, dataStart, syncNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		snap := readSnapshot(t, dsn)
		if got, want := snap.counts(), fakeCounts(f); got != want {
			t.Fatalf("stored %v rows, the fake has %v", got, want)
		}
		if len(sum.Backfilled) != 4 || sum.Pages == 0 {
			t.Errorf("summary %+v", sum)
		}
		// Rows in the spring-forward gap were shifted forward by the gap,
		// and counted.
		var gaps int64
		for _, c := range snap.Customers {
			if c.Created.Raw >= "2025-03-09 02:00:00" && c.Created.Raw < "2025-03-09 03:00:00" {
				want := wallAt(nyLoc(t), c.Created.Raw)
				if c.Created.Adjust != crm.Gap || !c.Created.UTC.Equal(want.UTC) || c.Created.UTC.Format("15") != "07" {
					t.Errorf("gap row %s placed at %v (%v)", c.ID, c.Created.UTC, c.Created.Adjust)
				}
				gaps++
			}
		}
		if gaps == 0 || sum.DSTGap < gaps*2 {
			t.Errorf("gap rows %d, summary counted %d gap times", gaps, sum.DSTGap)
		}
		// A second sync the same day changes nothing.
		if _, err := syncOnce(ctx, dsn, f.url, dataStart, syncNow, nil); err != nil {
			t.Fatal(err)
		}
		if d := diff(snap, readSnapshot(t, dsn)); d != "" {
			t.Fatalf("second sync changed the data: %s", d)
		}
	})
}

func TestLateChargebackIsPickedUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		loc := nyLoc(t)
		// One sale on 2025-03-10; its chargeback is posted on 2025-04-24.
		sale := wallAt(loc, "2025-03-10 10:00:00")
		cbAt := wallAt(loc, "2025-04-24 14:00:00")
		b := fake.Bundle{Customer: crm.Customer{Source: crm.SourceAPI, ID: "1", Created: sale, Updated: sale}}
		b.Orders = []crm.Order{{Source: crm.SourceAPI, ID: "A1", CustomerID: "1", Status: "COMPLETE", Total: 4999, Created: sale, Updated: sale}}
		b.Transactions = []crm.Transaction{{Source: crm.SourceAPI, ID: "900", CustomerID: "1", OrderID: "A1", TxnType: crm.TxnSale, ResponseType: crm.RespSuccess,
			Amount: 4999, BillingCycle: 1, Created: sale, Updated: cbAt, Chargedback: true, ChargebackAmt: 4999, ChargebackDay: day("2025-04-24")}}
		first := time.Date(2025, 3, 11, 16, 0, 0, 0, time.UTC)
		f := startFake(t, []fake.Bundle{b}, first, fake.Faults{})
		dsn := newDSN()
		if _, err := syncOnce(ctx, dsn, f.url, day("2025-03-01"), first, nil); err != nil {
			t.Fatal(err)
		}
		if x := readSnapshot(t, dsn).Transactions; len(x) != 1 || x[0].Chargedback {
			t.Fatalf("before the chargeback: %+v", x)
		}
		// 45 days later, the next (incremental) sync.
		later := time.Date(2025, 4, 25, 16, 0, 0, 0, time.UTC)
		f.clock.Set(later)
		sum, err := syncOnce(ctx, dsn, f.url, day("2025-03-01"), later, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := readSnapshot(t, dsn).Transactions
		if len(x) != 1 || !x[0].Chargedback || x[0].ChargebackAmt != 4999 || x[0].ChargebackDay != day("2025-04-24") || x[0].Updated.Raw != "2025-04-24 14:00:00" {
			t.Fatalf("after the chargeback: %+v", x)
		}
		if len(sum.Backfilled) != 0 {
			t.Errorf("the second sync backfilled again: %v", sum.Backfilled)
		}
	})
}

func TestDSTEdgesAndRetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		loc := nyLoc(t)
		tests := []struct {
			raw  string
			utc  string
			adj  crm.Adjustment
			name string
		}{
			{"2025-03-09 01:59:59", "2025-03-09T06:59:59Z", crm.Exact, "before the gap"},
			{"2025-03-09 02:00:00", "2025-03-09T07:00:00Z", crm.Gap, "gap start"},
			{"2025-03-09 02:30:00", "2025-03-09T07:30:00Z", crm.Gap, "in the gap: shifted forward by the gap"},
			{"2025-03-09 03:00:00", "2025-03-09T07:00:00Z", crm.Exact, "after the gap"},
			{"2025-11-02 00:59:59", "2025-11-02T04:59:59Z", crm.Exact, "before the overlap"},
			{"2025-11-02 01:00:00", "2025-11-02T05:00:00Z", crm.Ambiguous, "overlap start: the earlier instant"},
			{"2025-11-02 01:30:00", "2025-11-02T05:30:00Z", crm.Ambiguous, "in the overlap: the earlier instant"},
			{"2025-11-02 02:00:00", "2025-11-02T07:00:00Z", crm.Exact, "after the overlap"},
		}
		var bundles []fake.Bundle
		for i, tt := range tests {
			w := wallAt(loc, tt.raw)
			id := strconv.Itoa(100 + i)
			bundles = append(bundles, fake.Bundle{Customer: crm.Customer{Source: crm.SourceAPI, ID: id, Created: w, Updated: w},
				Transactions: []crm.Transaction{{Source: crm.SourceAPI, ID: id, CustomerID: id, TxnType: crm.TxnSale, ResponseType: crm.RespSuccess, Amount: 100, Created: w, Updated: w}}})
		}
		now := time.Date(2025, 11, 3, 16, 0, 0, 0, time.UTC)
		f := startFake(t, bundles, now, fake.Faults{})
		dsn := newDSN()
		sum, err := syncOnce(ctx, dsn, f.url, day("2025-03-01"), now, nil)
		if err != nil {
			t.Fatal(err)
		}
		snap := readSnapshot(t, dsn)
		if len(snap.Transactions) != len(tests) {
			t.Fatalf("%d transactions", len(snap.Transactions))
		}
		gaps, amb := 0, 0
		for i, tt := range tests {
			x := snap.Transactions[i] // ids sort in test order
			if x.Created.Raw != tt.raw || x.Created.UTC.Format(time.RFC3339) != tt.utc || x.Created.Adjust != tt.adj {
				t.Errorf("%s: %s -> %s %v; want %s %v", tt.name, x.Created.Raw, x.Created.UTC.Format(time.RFC3339), x.Created.Adjust, tt.utc, tt.adj)
			}
			switch tt.adj {
			case crm.Gap:
				gaps++
			case crm.Ambiguous:
				amb++
			}
		}
		// Each row has two such times (created, updated) in two tables.
		if sum.DSTGap != int64(gaps*4) || sum.DSTAmbiguous != int64(amb*4) {
			t.Errorf("summary counted gap %d ambiguous %d; want %d %d", sum.DSTGap, sum.DSTAmbiguous, gaps*4, amb*4)
		}
		// The account was really on Chicago time: re-derive, no re-sync.
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		in, _ := s.Integration(ctx, "acme")
		chi, _ := time.LoadLocation("America/Chicago")
		if _, err := s.Retime(ctx, in.ID, chi); err != nil {
			t.Fatal(err)
		}
		s.Close()
		after := readSnapshot(t, dsn)
		for i, x := range after.Transactions {
			want := wallAt(chi, tests[i].raw)
			if x.Created != want || x.Created.Raw != snap.Transactions[i].Created.Raw {
				t.Errorf("retimed %s = %+v, want %+v", tests[i].raw, x.Created, want)
			}
		}
	})
}

func TestFaultsLoseNothing(t *testing.T) {
	faults := []struct {
		name    string
		f       fake.Faults
		retries bool
	}{
		{"html502", fake.Faults{HTML502Every: 5}, true},
		{"transient", fake.Faults{TransientEvery: 6}, true},
		{"429", fake.Faults{RateLimitEvery: 7}, true},
		{"drop", fake.Faults{DropEvery: 9}, true},
		{"slow", fake.Faults{SlowEvery: 11, Slow: 20 * time.Millisecond}, false},
	}
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		bundles := merchant(nyLoc(t), 80, compactStart, 20)
		ref := startFake(t, bundles, compactNow, fake.Faults{})
		refDSN := newDSN()
		if _, err := syncOnce(ctx, refDSN, ref.url, compactStart, compactNow, nil); err != nil {
			t.Fatal(err)
		}
		want := readSnapshot(t, refDSN)
		for _, fc := range faults {
			t.Run(fc.name, func(t *testing.T) {
				f := startFake(t, bundles, compactNow, fc.f)
				dsn := newDSN()
				sum, err := syncOnce(ctx, dsn, f.url, compactStart, compactNow, nil)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(want, readSnapshot(t, dsn)); d != "" {
					t.Fatalf("with %s faults: %s", fc.name, d)
				}
				if fc.retries && sum.Retries == 0 {
					t.Errorf("no retries counted under %s faults", fc.name)
				}
			})
		}
		t.Run("drift", func(t *testing.T) {
			// Rows shift between pages of dateUpdated walks: the sync after
			// the backfill re-reads 60 days by dateUpdated.
			// Many rows a day, so a day takes several pages.
			dense := merchant(nyLoc(t), 120, day("2025-04-14"), 8)
			later := compactNow.Add(24 * time.Hour)
			// The reference has the same history of syncs, without drift.
			ref := startFake(t, dense, compactNow, fake.Faults{})
			refDSN := newDSN()
			for _, now := range []time.Time{compactNow, later} {
				ref.clock.Set(now)
				if _, err := syncOnce(ctx, refDSN, ref.url, compactStart, now, nil); err != nil {
					t.Fatal(err)
				}
			}
			f := startFake(t, dense, compactNow, fake.Faults{DriftEvery: 4})
			dsn := newDSN()
			if _, err := syncOnce(ctx, dsn, f.url, compactStart, compactNow, nil); err != nil {
				t.Fatal(err)
			}
			f.clock.Set(later)
			sum, err := syncOnce(ctx, dsn, f.url, compactStart, later, nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.srv.Drifts() == 0 {
				t.Fatal("the drift fault never fired")
			}
			got, want := readSnapshot(t, dsn), readSnapshot(t, refDSN)
			if got.counts() != want.counts() {
				t.Fatalf("stored %v rows, a sync without drift %v", got.counts(), want.counts())
			}
			// Drift only bumps dateUpdated: every other field equals the
			// fault-free sync.
			strip := func(s snapshot) snapshot {
				for i := range s.Customers {
					s.Customers[i].Updated, s.Customers[i].Raw = crm.WallTime{}, nil
				}
				for i := range s.Orders {
					s.Orders[i].Updated, s.Orders[i].Raw = crm.WallTime{}, nil
				}
				for i := range s.Purchases {
					s.Purchases[i].Updated, s.Purchases[i].Raw = crm.WallTime{}, nil
				}
				for i := range s.Transactions {
					s.Transactions[i].Updated, s.Transactions[i].Raw = crm.WallTime{}, nil
				}
				return s
			}
			if d := diff(strip(want), strip(got)); d != "" {
				t.Fatalf("with drift: %s", d)
			}
			t.Logf("drifted rows %d, rewalked pages %d", f.srv.Drifts(), sum.Rewalks)
		})
	})
}

// TestKillResume kills a real process with SIGKILL at points across a sync:
// after a page was fetched, inside the page's transaction before commit, and
// right after commit. A second process resumes; the database must equal an
// uninterrupted sync's.
func TestKillResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		f := startFake(t, merchant(nyLoc(t), 60, compactStart, 20), compactNow, fake.Faults{})
		refDSN := newDSN()
		sum, err := syncOnce(ctx, refDSN, f.url, compactStart, compactNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := readSnapshot(t, refDSN)
		pages := int(sum.Pages)
		for i, point := range []string{"fetched", "written", "committed"} {
			for _, at := range []int{1 + i, pages/2 + i, pages - 1 - i} {
				t.Run(fmt.Sprintf("%s-%d", point, at), func(t *testing.T) {
					dsn := newDSN()
					out, err := helper(f.url, dsn, point, at)
					var ee *exec.ExitError
					if err == nil || !errorsAs(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
						t.Fatalf("helper was not killed: %v\n%s", err, out)
					}
					if out, err := helper(f.url, dsn, "", 0); err != nil {
						t.Fatalf("resume: %v\n%s", err, out)
					}
					if d := diff(want, readSnapshot(t, dsn)); d != "" {
						t.Fatalf("after kill -9 at %s of page %d and a resume: %s", point, at, d)
					}
					runs := lastRuns(t, dsn)
					if len(runs) != 2 || runs[0].Status != store.RunOK || runs[1].Status != store.RunInterrupted {
						t.Errorf("runs after the crash: %+v", runs)
					}
				})
			}
		}
	})
}

func lastRuns(t *testing.T, dsn string) []store.Run {
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := s.Integration(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(context.Background(), in.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// helper runs one sync in a child process (this test binary), which kills
// itself with SIGKILL at the at-th occurrence of point when point is set.
func helper(url, dsn, point string, at int) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KONDUIT_SYNC_HELPER=1", "HELPER_URL="+url, "HELPER_DSN="+dsn,
		"HELPER_POINT="+point, "HELPER_AT="+strconv.Itoa(at))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func helperMain() int {
	at, _ := strconv.Atoi(os.Getenv("HELPER_AT"))
	point := os.Getenv("HELPER_POINT")
	n := 0
	hook := func(p string) {
		if p == point {
			n++
			if n == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	if _, err := syncOnce(context.Background(), os.Getenv("HELPER_DSN"), os.Getenv("HELPER_URL"), compactStart, compactNow, hook); err != nil {
		fmt.Fprintln(os.Stderr, "helper sync:", err)
		return 1
	}
	return 0
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

var _ = strings.TrimSpace
