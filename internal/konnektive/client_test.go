package konnektive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/synth"
)

const (
	testLogin = "konduit_api"
	testPass  = "fake-pass-123"
)

// merchant is a generated merchant as the generator made it, for comparing
// what the client reads back.
type merchant struct {
	txns      map[string]crm.Transaction
	orders    map[string]crm.Order
	customers map[string]crm.Customer
	purchases map[string]crm.Purchase
}

var (
	merchantOnce sync.Map // customers -> *merchant
)

func synthOpts(n int, loc *time.Location) synth.Options {
	return synth.Options{Customers: n, Seed: 7, TimeZone: loc}
}

func loadMerchant(t testing.TB, n int, loc *time.Location) *merchant {
	key := fmt.Sprint(n, loc)
	if m, ok := merchantOnce.Load(key); ok {
		return m.(*merchant)
	}
	m := &merchant{txns: map[string]crm.Transaction{}, orders: map[string]crm.Order{}, customers: map[string]crm.Customer{}, purchases: map[string]crm.Purchase{}}
	err := synth.Generate(context.Background(), synthOpts(n, loc), func(c *synth.Customer) error {
		b := fake.FromSynth(c)
		m.customers[b.Customer.ID] = b.Customer
		for _, o := range b.Orders {
			m.orders[o.ID] = o
		}
		for _, x := range b.Transactions {
			m.txns[x.ID] = x
		}
		for _, p := range b.Purchases {
			m.purchases[p.ID] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	merchantOnce.Store(key, m)
	return m
}

// afterData is a clock reading after everything the generator made.
var afterData = time.Date(2026, 7, 2, 12, 0, 0, 0, time.UTC)

type fixture struct {
	fake   *fake.Server
	srv    *httptest.Server
	client *Client
	loc    *time.Location
}

func newFixture(t testing.TB, customers int, opts fake.Options, cfg Config) *fixture {
	t.Helper()
	loc := ny(t)
	opts.LoginID, opts.Password, opts.Location = testLogin, testPass, loc
	if opts.Clock == nil {
		opts.Clock = fake.NewClock(afterData).Now
	}
	fs, err := fake.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if customers > 0 {
		if err := fake.Generate(context.Background(), fs, synthOpts(customers, loc)); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	if cfg.LoginID == "" {
		cfg.LoginID = testLogin
	}
	if cfg.Password == "" {
		cfg.Password = testPass
	}
	cfg.BaseURL = srv.URL
	cfg.Location = loc
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
		cfg.MaxBackoff = 20 * time.Millisecond
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fs, srv: srv, client: c, loc: loc}
}

var allTime = Query{StartDate: crm.Date{Year: 2020, Month: 1, Day: 1}, EndDate: crm.Date{Year: 2030, Month: 12, Day: 31}}

// walkIDs walks ep and returns every row id delivered, with repeats.
func walkIDs(t testing.TB, c *Client, ep Endpoint, q Query) ([]string, []Page, error) {
	var ids []string
	var pages []Page
	err := c.Walk(context.Background(), ep, q, func(p Page) error {
		pages = append(pages, p)
		ids = append(ids, p.ids...)
		return nil
	})
	return ids, pages, err
}

func distinct(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// TestRoundTrip: every row the generator made comes back through the fake's
// JSON and the client's decoding equal to the original.
func TestRoundTrip(t *testing.T) {
	const n = 150
	f := newFixture(t, n, fake.Options{}, Config{})
	m := loadMerchant(t, n, f.loc)
	ctx := context.Background()
	got := map[Endpoint]int{}
	err := func() error {
		for _, ep := range SyncEndpoints {
			err := f.client.Walk(ctx, ep, allTime, func(p Page) error {
				for i, raw := range p.Raw {
					for _, bad := range []string{"achAccountNumber", "achRoutingNumber", "eCommercePassword"} {
						if strings.Contains(string(raw), bad) {
							t.Errorf("%s row %d raw keeps %s", ep, i, bad)
						}
					}
				}
				got[ep] += p.Len()
				for _, x := range p.Transactions {
					want, ok := m.txns[x.ID]
					if !ok {
						t.Errorf("unknown transaction %s", x.ID)
						continue
					}
					if !strings.Contains(string(x.Raw), `"3DTxnResult"`) {
						t.Errorf("transaction %s raw lacks 3DTxnResult", x.ID)
					}
					x.Raw, want.Raw = nil, nil
					if !reflect.DeepEqual(x, want) {
						t.Errorf("transaction %s:\n got %+v\nwant %+v", x.ID, x, want)
					}
				}
				for _, x := range p.Orders {
					want := m.orders[x.ID]
					x.Raw, want.Raw = nil, nil
					if !reflect.DeepEqual(x, want) {
						t.Errorf("order %s:\n got %+v\nwant %+v", x.ID, x, want)
					}
				}
				for _, x := range p.Customers {
					want := m.customers[x.ID]
					x.Raw, want.Raw = nil, nil
					if !reflect.DeepEqual(x, want) {
						t.Errorf("customer %s:\n got %+v\nwant %+v", x.ID, x, want)
					}
				}
				for _, x := range p.Purchases {
					want := m.purchases[x.ID]
					x.Raw, want.Raw = nil, nil
					if !reflect.DeepEqual(x, want) {
						t.Errorf("purchase %s:\n got %+v\nwant %+v", x.ID, x, want)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		t.Fatal(err)
	}
	want := map[Endpoint]int{Transactions: len(m.txns), Orders: len(m.orders), Customers: len(m.customers), Purchases: len(m.purchases)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
	if len(m.txns) < 500 {
		t.Errorf("only %d transactions: too few to page", len(m.txns))
	}
}

func TestPagesAndEmptyWindow(t *testing.T) {
	f := newFixture(t, 150, fake.Options{}, Config{PageSize: 50})
	ids, pages, err := walkIDs(t, f.client, Transactions, allTime)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, txns := f.fake.Counts()
	if len(ids) != txns || len(distinct(ids)) != txns {
		t.Fatalf("delivered %d (%d distinct), want %d", len(ids), len(distinct(ids)), txns)
	}
	for i, p := range pages {
		if p.Number != i+1 || p.PerPage != 50 || p.TotalResults != txns || p.Pass != 1 || p.Last != (i == len(pages)-1) {
			t.Errorf("page %d: %+v", i, p)
		}
	}
	// Resuming at page 3 delivers the rest.
	q := allTime
	q.FromPage = 3
	rest, _, err := walkIDs(t, f.client, Transactions, q)
	if err != nil || len(rest) != txns-100 {
		t.Fatalf("resume: %d rows, %v", len(rest), err)
	}
	// A window without rows is one empty page, not an error.
	empty := Query{StartDate: crm.Date{Year: 2019, Month: 1, Day: 1}, EndDate: crm.Date{Year: 2019, Month: 1, Day: 2}}
	_, pages, err = walkIDs(t, f.client, Orders, empty)
	if err != nil || len(pages) != 1 || pages[0].Len() != 0 || pages[0].Number != 1 || !pages[0].Last {
		t.Fatalf("empty window: %+v %v", pages, err)
	}
}

// TestChargebackArrivesLater: a sale charged back 45 days later keeps its
// dateCreated; only a dateUpdated query after the chargeback sees it, and
// it is the same row restated.
func TestChargebackArrivesLater(t *testing.T) {
	loc := ny(t)
	wall := func(s string) crm.WallTime {
		w, err := crm.ParseWall(s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	sale := crm.Transaction{
		ID: "9001", OrderID: "ORD1", CustomerID: "501", CampaignID: "1001", ProductID: "2001", MerchantID: "11",
		TxnType: crm.TxnSale, ResponseType: crm.RespSuccess, PaySource: "CREDITCARD", CardType: "VISA", CardLast4: "0004",
		SubTotal: 8995, Amount: 8995, BillingCycle: 1, Source: crm.SourceAPI, Country: "US",
		Created: wall("2026-03-01 10:00:00"), Updated: wall("2026-04-15 09:30:00"),
		Chargedback: true, ChargebackAmt: 8995, ChargebackDay: crm.Date{Year: 2026, Month: 4, Day: 15}, ChargebackWhy: "10.4",
	}
	clock := fake.NewClock(wall("2026-03-02 12:00:00").UTC)
	f := newFixture(t, 0, fake.Options{Clock: clock.Now}, Config{})
	err := f.fake.Add(fake.Bundle{
		Customer:     crm.Customer{ID: "501", FirstName: "Ann", Created: sale.Created, Updated: sale.Created},
		Orders:       []crm.Order{{ID: "ORD1", CustomerID: "501", Status: "COMPLETE", Total: 8995, Created: sale.Created, Updated: sale.Created}},
		Transactions: []crm.Transaction{sale},
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func(q Query) []crm.Transaction {
		t.Helper()
		var out []crm.Transaction
		if err := f.client.Walk(context.Background(), Transactions, q, func(p Page) error {
			out = append(out, p.Transactions...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	d := func(m time.Month, day int) crm.Date { return crm.Date{Year: 2026, Month: m, Day: day} }
	before := read(Query{StartDate: d(3, 1), EndDate: d(3, 1)})
	if len(before) != 1 || before[0].Chargedback || before[0].Updated.Raw != "2026-03-01 10:00:00" {
		t.Fatalf("day after the sale: %+v", before)
	}
	incremental := Query{StartDate: d(4, 14), EndDate: d(4, 16), DateRangeType: DateUpdated}
	if got := read(incremental); len(got) != 0 {
		t.Fatalf("chargeback visible before it happened: %+v", got)
	}
	clock.Set(wall("2026-04-16 08:00:00").UTC) // 45 days later and a bit
	got := read(incremental)
	if len(got) != 1 || !got[0].Chargedback || got[0].ChargebackDay != d(4, 15) || got[0].ChargebackAmt != 8995 ||
		got[0].Updated.Raw != "2026-04-15 09:30:00" || got[0].Created.Raw != "2026-03-01 10:00:00" {
		t.Fatalf("after the chargeback: %+v", got)
	}
	// The sale day's dateCreated query shows the restated row too.
	if again := read(Query{StartDate: d(3, 1), EndDate: d(3, 1)}); len(again) != 1 || !again[0].Chargedback {
		t.Fatalf("sale day after the chargeback: %+v", again)
	}
}

// TestFaults: with each fault switched on, a walk delivers exactly the rows
// of a clean walk.
func TestFaults(t *testing.T) {
	const n = 120
	base := newFixture(t, n, fake.Options{}, Config{PageSize: 50})
	want, pages, err := walkIDs(t, base.client, Transactions, allTime)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		faults  fake.Faults
		min     time.Duration
		retries bool
	}{
		{"html502", fake.Faults{HTML502Every: 2}, 0, true},
		{"transient", fake.Faults{TransientEvery: 3}, 0, true},
		{"drop", fake.Faults{DropEvery: 2}, 0, true},
		{"slow", fake.Faults{SlowEvery: 2, Slow: 30 * time.Millisecond}, 30 * time.Millisecond, false},
		{"429", fake.Faults{RateLimitEvery: 6, RetryAfter: time.Second}, time.Second, true},
		{"all", fake.Faults{DropEvery: 5, HTML502Every: 7, TransientEvery: 3, SlowEvery: 11, Slow: 10 * time.Millisecond}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, n, fake.Options{Faults: tt.faults}, Config{PageSize: 50})
			start := time.Now()
			got, _, err := walkIDs(t, f.client, Transactions, allTime)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("delivered %d rows, want %d (same order)", len(got), len(want))
			}
			if el := time.Since(start); el < tt.min {
				t.Errorf("took %v, want at least %v", el, tt.min)
			}
			if tt.retries && f.fake.Requests() <= int64(len(pages)) {
				t.Errorf("only %d requests: no fault fired", f.fake.Requests())
			}
		})
	}
}

// TestDrift: rows moved by a dateUpdated mutation mid-walk are noticed and
// the window walked again; nothing is lost.
func TestDrift(t *testing.T) {
	const n = 120
	setup := func(t *testing.T, maxRewalks int) (*fixture, *fake.Clock, int) {
		clock := fake.NewClock(afterData)
		f := newFixture(t, n, fake.Options{Clock: clock.Now, Faults: fake.Faults{DriftEvery: 2, DriftLimit: 2}}, Config{PageSize: 100, MaxRewalks: maxRewalks})
		_, _, _, txns := f.fake.Counts()
		return f, clock, txns
	}
	today := crm.DateOf(afterData.In(ny(t)))

	t.Run("moved within the window", func(t *testing.T) {
		f, _, txns := setup(t, 0)
		q := Query{StartDate: allTime.StartDate, EndDate: today, DateRangeType: DateUpdated}
		ids, pages, err := walkIDs(t, f.client, Transactions, q)
		if err != nil {
			t.Fatal(err)
		}
		if f.fake.Drifts() != 2 || pages[len(pages)-1].Pass < 2 {
			t.Fatalf("drifts %d, last pass %d: the fault did not fire", f.fake.Drifts(), pages[len(pages)-1].Pass)
		}
		if got := len(distinct(ids)); got != txns {
			t.Fatalf("delivered %d distinct rows, want %d", got, txns)
		}
	})

	t.Run("without re-walks it is an error", func(t *testing.T) {
		f, _, _ := setup(t, -1)
		q := Query{StartDate: allTime.StartDate, EndDate: today, DateRangeType: DateUpdated}
		if _, _, err := walkIDs(t, f.client, Transactions, q); !errors.Is(err, ErrDrift) {
			t.Fatalf("walk: %v, want ErrDrift", err)
		}
	})

	t.Run("moved out of the window", func(t *testing.T) {
		f, clock, _ := setup(t, 0)
		clock.Advance(48 * time.Hour)
		q := Query{StartDate: allTime.StartDate, EndDate: today, DateRangeType: DateUpdated}
		ids, pages, err := walkIDs(t, f.client, Transactions, q)
		if err != nil {
			t.Fatal(err)
		}
		if f.fake.Drifts() != 2 || pages[len(pages)-1].Pass < 2 {
			t.Fatalf("drifts %d, last pass %d", f.fake.Drifts(), pages[len(pages)-1].Pass)
		}
		var stillIn []string
		err = f.client.Walk(context.Background(), Transactions, allTime, func(p Page) error {
			for _, x := range p.Transactions {
				if !today.Before(crm.DateOf(x.Updated.UTC.In(f.loc))) {
					stillIn = append(stillIn, x.ID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := distinct(ids)
		for _, id := range stillIn {
			if !got[id] {
				t.Fatalf("row %s in the window was not delivered", id)
			}
		}
	})
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name     string
		opts     fake.Options
		cfg      Config
		kind     AuthKind
		hintHas  string
		endpoint []Endpoint
	}{
		{"password", fake.Options{}, Config{Password: "wrong-pass"}, AuthLogin, "password", nil},
		{"login", fake.Options{}, Config{LoginID: "nobody"}, AuthLogin, "loginId", nil},
		{"ip", fake.Options{AllowIPs: []string{"203.0.113.9"}}, Config{}, AuthIP, "127.0.0.1", nil},
		{"permission", fake.Options{Denied: []string{"transactions/query", "/purchase/query/"}}, Config{}, AuthPermission, `"Purchase Query", "Transaction Query"`, []Endpoint{Purchases, Transactions}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 5, tt.opts, tt.cfg)
			err := f.client.Ping(context.Background())
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Kind != tt.kind {
				t.Fatalf("ping: %v", err)
			}
			if !strings.Contains(ae.Hint(), tt.hintHas) || ae.ExitCode() != 3 {
				t.Errorf("hint %q, want it to name %s", ae.Hint(), tt.hintHas)
			}
			if tt.endpoint != nil && !reflect.DeepEqual(ae.Endpoints, tt.endpoint) {
				t.Errorf("endpoints %v, want %v", ae.Endpoints, tt.endpoint)
			}
			if strings.Contains(err.Error(), testPass) || strings.Contains(ae.Hint(), testPass) {
				t.Error("the password leaked into the error")
			}
			before := f.fake.Requests()
			_, _, err = walkIDs(t, f.client, Transactions, allTime)
			if !errors.As(err, &ae) {
				t.Fatalf("walk: %v", err)
			}
			if d := f.fake.Requests() - before; d != 1 {
				t.Errorf("a refusal was sent %d times; refusals are never retried", d)
			}
		})
	}
	f := newFixture(t, 5, fake.Options{AllowIPs: []string{"127.0.0.0/8"}}, Config{})
	if err := f.client.Ping(context.Background()); err != nil {
		t.Errorf("allowed address refused: %v", err)
	}
}

func TestRetryBudget(t *testing.T) {
	f := newFixture(t, 5, fake.Options{Faults: fake.Faults{HTML502Every: 1}}, Config{MaxRetries: 3})
	_, _, err := walkIDs(t, f.client, Orders, allTime)
	var re *RemoteError
	if !errors.As(err, &re) || re.Attempts != 4 || re.ExitCode() != 3 || re.Hint() == "" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "HTML") {
		t.Errorf("error %q does not say what came back", err)
	}
	if f.fake.Requests() != 4 {
		t.Errorf("%d requests, want 4", f.fake.Requests())
	}
}

func TestCancel(t *testing.T) {
	f := newFixture(t, 5, fake.Options{Faults: fake.Faults{SlowEvery: 1, Slow: 10 * time.Second}}, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.client.Walk(ctx, Orders, allTime, func(Page) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestRequestTimeoutIsRetried(t *testing.T) {
	// The timeout leaves a loaded machine (CI, -race) ample time for a fast
	// answer; the slow one is far beyond it.
	f := newFixture(t, 5, fake.Options{Faults: fake.Faults{SlowEvery: 2, Slow: 30 * time.Second}}, Config{RequestTimeout: 1500 * time.Millisecond})
	// Request 1 is fast, request 2 times out, its retry (3) is fast.
	if _, _, err := walkIDs(t, f.client, Orders, allTime); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, 30, fake.Options{}, Config{Rate: 40, PageSize: 10})
	start := time.Now()
	_, pages, err := walkIDs(t, f.client, Orders, allTime)
	if err != nil {
		t.Fatal(err)
	}
	min := time.Duration(len(pages)-1) * time.Second / 40
	if el := time.Since(start); el < min-5*time.Millisecond {
		t.Errorf("%d pages in %v at 40/s; want at least %v", len(pages), el, min)
	}
	if len(pages) < 3 {
		t.Errorf("only %d pages", len(pages))
	}
}

func TestServerRateLimitIsHonoured(t *testing.T) {
	f := newFixture(t, 30, fake.Options{RateLimit: 20}, Config{PageSize: 10})
	if _, _, err := walkIDs(t, f.client, Orders, allTime); err != nil {
		t.Fatal(err)
	}
}

func TestSummaryMatchesTransactions(t *testing.T) {
	f := newFixture(t, 150, fake.Options{}, Config{})
	sales := map[crm.Date]int{}
	err := f.client.Walk(context.Background(), Transactions, allTime, func(p Page) error {
		for _, x := range p.Transactions {
			if x.IsSale() {
				sales[crm.DateOf(x.Created.UTC.In(f.loc))]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.client.Summary(context.Background(), allTime.StartDate, allTime.EndDate)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no summary rows")
	}
	for _, r := range rows {
		var x struct{ NewSaleCnt, RebillCnt int }
		if err := jsonUnmarshal(r.Raw, &x); err != nil {
			t.Fatal(err)
		}
		if x.NewSaleCnt+x.RebillCnt != sales[r.Date] {
			t.Errorf("%s: summary %d sales, transactions %d", r.Date, x.NewSaleCnt+x.RebillCnt, sales[r.Date])
		}
	}
	none, err := f.client.Summary(context.Background(), crm.Date{Year: 2019, Month: 1, Day: 1}, crm.Date{Year: 2019, Month: 1, Day: 1})
	if err != nil || len(none) != 0 {
		t.Errorf("empty summary: %v %v", none, err)
	}
}

func TestCatalogEndpoints(t *testing.T) {
	f := newFixture(t, 5, fake.Options{}, Config{PageSize: 5})
	cat := fake.CatalogFromSynth(synth.DefaultCatalog())
	ids, _, err := walkIDs(t, f.client, Campaigns, allTime)
	if err != nil || len(distinct(ids)) != len(cat.Campaigns) {
		t.Errorf("campaigns %v %v", ids, err)
	}
	ids, _, err = walkIDs(t, f.client, Products, Query{})
	if err != nil || len(distinct(ids)) != len(cat.Products) {
		t.Errorf("products %v %v", ids, err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// recordingTransport is the real transport, noting each request's URL and
// method.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
	meth []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.meth = append(r.meth, req.Method)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestCredentialsStayInTheBody(t *testing.T) {
	rt := &recordingTransport{}
	f := newFixture(t, 5, fake.Options{Faults: fake.Faults{HTML502Every: 2}}, Config{HTTPClient: &http.Client{Transport: rt}, MaxRetries: -1})
	if _, _, err := walkIDs(t, f.client, Customers, allTime); err != nil {
		t.Fatal(err)
	}
	err := f.client.Ping(context.Background())
	if err == nil || strings.Contains(err.Error(), testPass) {
		t.Fatalf("ping through 502s without retries: %v", err)
	}
	if len(rt.urls) == 0 {
		t.Fatal("no requests")
	}
	for i, u := range rt.urls {
		if rt.meth[i] != http.MethodPost || strings.Contains(u, "?") || strings.Contains(u, testPass) || strings.Contains(u, testLogin) {
			t.Errorf("%s %s", rt.meth[i], u)
		}
	}
}

// TestAnswersThatAreNotKonnektive: 401 and 403 come from something in front
// of Konnektive and an answer without "result" is not Konnektive's: both
// final, with the login/allow-list hint, after one request. A UTF-8 BOM
// before the JSON is harmless.
func TestAnswersThatAreNotKonnektive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		final  bool
	}{
		{"401", 401, `{"error":"unauthorized"}`, true},
		{"403", 403, `<html>Forbidden</html>`, true},
		{"no result", 200, `{"status":"ok","data":[]}`, true},
		{"bom", 200, "\xef\xbb\xbf" + `{"result":"SUCCESS","message":{"totalResults":1,"data":[{"orderId":"A","dateCreated":"2025-01-01 00:00:00"}]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := New(Config{BaseURL: srv.URL, LoginID: testLogin, Password: testPass, Location: ny(t), BaseBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.FetchPage(context.Background(), Orders, Query{StartDate: crm.Date{Year: 2025, Month: 1, Day: 1}, EndDate: crm.Date{Year: 2025, Month: 1, Day: 1}}, 1)
			var ae *AuthError
			if tc.final {
				if !errors.As(err, &ae) || ae.Kind != AuthRefused || !strings.Contains(ae.Hint(), "allow-list") || calls.Load() != 1 {
					t.Fatalf("err %v after %d requests; want a final refusal after one", err, calls.Load())
				}
				return
			}
			if err != nil || len(p.Orders) != 1 {
				t.Fatalf("err %v, page %+v", err, p)
			}
		})
	}
}
