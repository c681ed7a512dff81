package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// txnPage is n transactions with ids from first on, for integration tests
// of the write path.
func txnPage(first, n int) []crm.Transaction {
	w, _ := crm.ParseWall("2025-01-02 10:00:00", time.UTC)
	out := make([]crm.Transaction, n)
	for i := range out {
		id := first + i
		out[i] = crm.Transaction{ID: fmt.Sprint(id), CustomerID: fmt.Sprintf("c%d", id/3), TxnType: crm.TxnSale, ResponseType: crm.RespSuccess,
			Amount: crm.Money(id), Created: w}
	}
	return out
}

// TestStatisticsFollowGrowth: a table filled in batches has its statistics
// refreshed on the way, so that the write path's lookup of stored rows by
// key uses the primary key (on SQLite, without statistics or with a small
// sample, the planner walks a covering index of the whole integration
// instead, and a load becomes quadratic).
func TestStatisticsFollowGrowth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		const batch, batches = 1000, 8
		for b := range batches {
			if err := s.Update(ctx, func(tx *Tx) error { return tx.UpsertTransactions(ctx, in.ID, txnPage(b*batch, batch)) }); err != nil {
				t.Fatal(err)
			}
		}
		var rows int64
		switch s.Backend() {
		case Postgres:
			if err := s.DB().QueryRowContext(ctx, `SELECT reltuples::bigint FROM pg_class WHERE oid = 'transactions'::regclass`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
		case SQLite:
			if err := s.DB().QueryRowContext(ctx, `SELECT MAX(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = 'transactions'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
		}
		// Analyzed at 2,000 and 4,000 rows written; the next is due at 8,000.
		if rows < 4000 {
			t.Fatalf("statistics say transactions holds %d rows, want at least 4000 (analyzed as it grew)", rows)
		}
		if s.Backend() != SQLite {
			return
		}
		ids := make([]string, 500)
		for i := range ids {
			ids[i] = fmt.Sprintf("'%d'", i*7)
		}
		// The dirty-mark lookup's shape (rollup.go): columns a report index covers.
		q := `EXPLAIN QUERY PLAN SELECT customer_id, created_utc, chargedback, chargeback_date FROM transactions WHERE integration_id = ? AND source = 'api' AND id IN (` + strings.Join(ids, ", ") + `)`
		r, err := s.DB().QueryContext(ctx, q, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var plan strings.Builder
		for r.Next() {
			var id, parent, unused int
			var detail string
			if err := r.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		if !strings.Contains(plan.String(), "sqlite_autoindex_transactions_1") {
			t.Fatalf("the lookup by key does not use the primary key:\n%s", plan.String())
		}
	})
}

// TestConcurrentWritersOfNewRows: two processes writing the same new rows
// of one integration at once both succeed and store each row once (on
// PostgreSQL rows found new are COPied in without ON CONFLICT, under an
// advisory lock that makes the second writer wait and see the first one's
// rows).
func TestConcurrentWritersOfNewRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, dsn string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		other, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w, st := range []*Store{s, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range 10 {
					page := txnPage(b*100, 300) // pages overlap each other and the other writer's
					if err := st.Update(ctx, func(tx *Tx) error { return tx.UpsertTransactions(ctx, in.ID, page) }); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := s.DB().QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM transactions WHERE integration_id = ?`), in.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1200 {
			t.Fatalf("%d rows stored, want 1200", n)
		}
	})
}
