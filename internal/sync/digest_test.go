package sync

// The shortcut of a scheduled sync: a row read again whose bytes match the
// digest stored with it is neither decoded nor written (Summary.Same). These
// tests hold it to the package invariant where a shortcut could break it.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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
