package sync

// The shortcut of a scheduled sync: a row read again whose bytes match the
// digest stored with it is neither decoded nor written (Summary.Same). These
// tests hold it to the package invariant where a shortcut could break it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/konnektive/adversary"
	"github.com/konduit/konduit/internal/store"
)

// TestAdversaryHeldRows: after a backfill, the next sync finds most of its
// lookback held, yet stores what the server holds: a transaction restated
// in place (same id, same dates, another amount: same neighbours, other
// bytes), a row deleted from the store behind the sync's back (its digest
// still stored), under drift that shifts rows between pages.
func TestAdversaryHeldRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		f := startAdversary(t, adversary.Config{Seed: 11, Customers: 400, DriftRate: 0.5, DriftKinds: []adversary.Kind{adversary.DriftBump}})
		dsn := newDSN()
		if _, err := advSync(ctx, dsn, f.url, advNow, 0); err != nil {
			t.Fatal(err)
		}
		// Two sales the lookback re-reads.
		since := advNow.AddDate(0, 0, -DefaultLookback+5)
		var picks []string
		for id, r := range f.srv.Holds(adversary.Transactions) {
			if r.Bad == "" && r.TxnType == "SALE" && r.Response == "SUCCESS" && r.Updated.After(since) && !r.Chargedback {
				picks = append(picks, id)
			}
		}
		slices.Sort(picks)
		if len(picks) < 2 {
			t.Fatalf("only %d sales in the lookback", len(picks))
		}
		restated, deleted := picks[0], picks[len(picks)-1]
		if err := f.srv.RestateInPlace(restated, f.srv.Holds(adversary.Transactions)[restated].Cents+1234); err != nil {
			t.Fatal(err)
		}
		s, in := openIntegration(t, dsn, "adv")
		err := s.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM transactions WHERE integration_id = ? AND source = 'api' AND id = ?`, in.ID, deleted)
			return err
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		sum, err := advSync(ctx, dsn, f.url, advNow, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkHolds(t, dsn, f.srv, nil) // the restated amount and the deleted row included
		w := sum.Written[store.Transactions]
		if sum.Same == 0 || w.New < 1 || w.Changed < 1 {
			t.Errorf("%d rows held, transactions %+v: want rows held, the deleted one new and the restated one changed", sum.Same, w)
		}
		t.Logf("%d rows read, %d held (not decoded), %d requests, %d walked again; transactions %+v", sum.Rows.Total(), sum.Same, sum.Requests, sum.Rewalks, w)
	})
}

// flipServer serves one transaction whose bytes go B, then B' then B
// again within one sync: the first walk of the run under test gets B' and
// a count of 2 (so the window is walked again), the second gets B. Every
// other endpoint has no rows.
type flipServer struct {
	mu    gosync.Mutex
	phase int // 0: the first sync; 1: the sync under test
	reqs  int // transaction requests in phase 1
}

func (f *flipServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/transactions/query/" {
		fmt.Fprint(w, `{"result":"ERROR","message":"No rows matching those parameters could be found"}`)
		return
	}
	f.mu.Lock()
	amount, total := "10.00", 1
	if f.phase == 1 {
		if f.reqs++; f.reqs == 1 {
			amount, total = "20.00", 2
		}
	}
	f.mu.Unlock()
	fmt.Fprintf(w, `{"result":"SUCCESS","message":{"totalResults":%d,"resultsPerPage":25,"page":1,"data":[{"transactionId":"77","customerId":"5","txnType":"SALE","responseType":"SUCCESS","totalAmount":%q,"currencyCode":"USD","dateCreated":"2025-10-20 10:00:00","dateUpdated":"2025-10-30 10:00:00"}]}}`, total, amount)
}

// decodeSignal is the client with a callback after each Decode of a
// transactions page.
type decodeSignal struct {
	*konnektive.Client
	decoded func()
}

func (d decodeSignal) Decode(ctx context.Context, b *konnektive.Body, known konnektive.Known) (konnektive.Page, error) {
	p, err := d.Client.Decode(ctx, b, known)
	if b.Endpoint == konnektive.Transactions {
		d.decoded()
	}
	return p, err
}

// TestPendingRowIsNeverHeld: a row read again while its earlier read of
// the same run waits in the writer is decoded and written after it, even
// though its bytes match the digest stored before the run: taking it as
// held would leave the earlier read's version stored.
func TestPendingRowIsNeverHeld(t *testing.T) {
	ctx := context.Background()
	srv := &flipServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	dsn := "sqlite:" + t.TempDir() + "/k.db"
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := &store.Integration{Kind: store.KindKonnektive, Name: "flip", TimeZone: testZone, ImportFrom: day("2025-10-01")}
	if err := s.SaveIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	client, err := konnektive.New(konnektive.Config{BaseURL: hs.URL, LoginID: testLogin, Password: testPassword, Location: nyLoc(t), PageSize: 25,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2025, 11, 1, 12, 0, 0, 0, nyLoc(t)) }
	if _, err := Run(ctx, Options{Store: s, API: client, Integration: in, Now: now, NoRollup: true}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.phase = 1
	srv.mu.Unlock()
	// The writer stands still until the second walk's page was decoded.
	release := make(chan struct{})
	var decodes atomic.Int32
	api := decodeSignal{Client: client, decoded: func() {
		if decodes.Add(1) == 2 {
			close(release)
		}
	}}
	opts := Options{Store: s, API: api, Integration: in, Now: now, NoRollup: true, hook: func(point string) {
		if point == "written" {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
	}}
	sum, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if decodes.Load() < 2 || sum.Rewalks != 1 {
		t.Fatalf("%d transaction pages decoded, %d walks again: the scenario did not happen", decodes.Load(), sum.Rewalks)
	}
	var got []crm.Money
	s.EachTransaction(ctx, in.ID, func(x *crm.Transaction) error { got = append(got, x.Amount); return nil })
	if len(got) != 1 || got[0] != 1000 || sum.Same != 0 {
		t.Errorf("stored amounts %v with %d rows held; the server holds 10.00 (read last)", got, sum.Same)
	}
}

// pagedServer serves rows transactions (ids 1..rows, page size from the
// request) and no other rows; block, when set, holds every request for a
// page > 1 until the request is cancelled.
type pagedServer struct {
	rows    int
	block   bool
	mu      gosync.Mutex
	asked   []string // range type and page of each transactions request served
	fetched []string // the same, of each one the sync asked its client for
	held    chan struct{}
}

func (s *pagedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/transactions/query/" {
		fmt.Fprint(w, `{"result":"ERROR","message":"No rows matching those parameters could be found"}`)
		return
	}
	r.ParseForm()
	page, per := atoiOr(r.Form.Get("page"), 1), atoiOr(r.Form.Get("resultsPerPage"), 25)
	s.mu.Lock()
	s.asked = append(s.asked, r.Form.Get("dateRangeType")+":"+r.Form.Get("page"))
	s.mu.Unlock()
	if s.block && page > 1 {
		s.held <- struct{}{}
		<-r.Context().Done()
		return
	}
	var rows []string
	for id := (page-1)*per + 1; id <= min(page*per, s.rows); id++ {
		rows = append(rows, fmt.Sprintf(`{"transactionId":%d,"customerId":"5","txnType":"SALE","responseType":"SUCCESS","totalAmount":"10.00","dateCreated":"2025-10-20 10:00:00","dateUpdated":"2025-10-20 10:00:00"}`, id))
	}
	if len(rows) == 0 {
		fmt.Fprint(w, `{"result":"ERROR","message":"No transactions matching those parameters could be found"}`)
		return
	}
	fmt.Fprintf(w, `{"result":"SUCCESS","message":{"totalResults":%d,"resultsPerPage":%d,"page":%d,"data":[%s]}}`, s.rows, per, page, strings.Join(rows, ","))
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

// pagedSync sets up a store and a client of srv and returns the run.
func pagedSync(t *testing.T, srv *pagedServer) func(ctx context.Context) (Summary, error) {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	s, err := store.Open(context.Background(), "sqlite:"+t.TempDir()+"/k.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in := &store.Integration{Kind: store.KindKonnektive, Name: "paged", TimeZone: testZone, ImportFrom: day("2025-10-01")}
	if err := s.SaveIntegration(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	client, err := konnektive.New(konnektive.Config{BaseURL: hs.URL, LoginID: testLogin, Password: testPassword, Location: nyLoc(t), PageSize: 2,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2025, 11, 1, 12, 0, 0, 0, nyLoc(t)) }
	return func(ctx context.Context) (Summary, error) {
		return Run(ctx, Options{Store: s, API: fetchCounter{client, srv}, Integration: in, Now: now, NoRollup: true})
	}
}

// fetchCounter records every transactions page the sync asks its client
// for (whether or not the request reaches the server).
type fetchCounter struct {
	*konnektive.Client
	srv *pagedServer
}

func (f fetchCounter) Fetch(ctx context.Context, ep konnektive.Endpoint, q konnektive.Query, n int) (*konnektive.Body, error) {
	if ep == konnektive.Transactions {
		f.srv.mu.Lock()
		f.srv.fetched = append(f.srv.fetched, q.DateRangeType+":"+strconv.Itoa(n))
		f.srv.mu.Unlock()
	}
	return f.Client.Fetch(ctx, ep, q, n)
}

// TestFetchAheadAsksForNoExtraPage: the request kept ahead goes out only
// for a page that follows a full one: 5 rows at 2 a page are 3 requests,
// 4 rows 3 (the last one empty), as without it.
func TestFetchAheadAsksForNoExtraPage(t *testing.T) {
	for rows, want := range map[int][]string{5: {"dateCreated:1", "dateCreated:2", "dateCreated:3"}, 4: {"dateCreated:1", "dateCreated:2", "dateCreated:3"}} {
		srv := &pagedServer{rows: rows}
		sum, err := pagedSync(t, srv)(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var backfill []string
		for _, a := range srv.fetched {
			if strings.HasPrefix(a, "dateCreated:") {
				backfill = append(backfill, a)
			}
		}
		if !slices.Equal(backfill, want) || sum.Rows[store.Transactions] < int64(rows) {
			t.Errorf("%d rows: backfill requests %v, want %v; %d rows read", rows, backfill, want, sum.Rows[store.Transactions])
		}
	}
}

// TestFetchAheadIsCancelled: a run cancelled while its request ahead hangs
// returns (the request is cancelled and waited for), interrupted.
func TestFetchAheadIsCancelled(t *testing.T) {
	srv := &pagedServer{rows: 9, block: true, held: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-srv.held
		cancel()
	}()
	run := pagedSync(t, srv)
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("run ended with %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not return after its context was cancelled")
	}
}
