package store

import (
	"context"
	"slices"
	"testing"

	"github.com/konduit/konduit/internal/crm"
)

// indexNames lists the secondary indexes of the bulk tables.
func indexNames(t *testing.T, s *Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('transactions', 'customers', 'purchases', 'orders', 'customer_notes', 'customer_details') ORDER BY name`
	if s.Backend() == Postgres {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('transactions', 'customers', 'purchases', 'orders', 'customer_notes', 'customer_details') AND indexname NOT LIKE '%_pkey' ORDER BY indexname`
	}
	rows, err := s.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestDeferIndexes: the secondary indexes are dropped only while every
// bulk table is empty, and built again, the same, by RestoreIndexes (also
// from another Store, as a load after a killed one does).
func TestDeferIndexes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, dsn string) {
		ctx := context.Background()
		before := indexNames(t, s)
		if !slices.Contains(before, "transactions_customer") || !slices.Contains(before, "report_txn_range") {
			t.Fatalf("indexes before: %v", before)
		}
		ok, err := s.DeferIndexes(ctx)
		if err != nil || !ok {
			t.Fatalf("defer on empty tables: %v, %v", ok, err)
		}
		if got := indexNames(t, s); len(got) != 0 {
			t.Errorf("indexes left: %v", got)
		}
		in := newIntegration(t, s, "a", "UTC")
		_, _, txn, _ := sample(t, mustLoc(t, "America/New_York"), "1")
		if err := s.Update(ctx, func(tx *Tx) error { return tx.LoadTransactions(ctx, in.ID, []crm.Transaction{txn}) }); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		n, err := s2.RestoreIndexes(ctx)
		if err != nil || n != len(before) {
			t.Fatalf("restored %d of %d: %v", n, len(before), err)
		}
		if got := indexNames(t, s); !slices.Equal(got, before) {
			t.Errorf("indexes after: %v, want %v", got, before)
		}
		if n, err := s.RestoreIndexes(ctx); err != nil || n != 0 {
			t.Errorf("restore again: %d, %v", n, err)
		}
		// A table holds a row: nothing is dropped.
		if ok, err := s.DeferIndexes(ctx); err != nil || ok {
			t.Errorf("defer with rows: %v, %v", ok, err)
		}
		if got := indexNames(t, s); !slices.Equal(got, before) {
			t.Errorf("indexes: %v, want %v", got, before)
		}
		var marks int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM rollup_dirty_customers`).Scan(&marks); err != nil || marks != 0 {
			t.Errorf("LoadTransactions marked %d customers dirty (%v)", marks, err)
		}
	})
}
