package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/konduit/konduit/internal/crm"
)

// TestDigests: digests saved with their rows read back by id, the last of
// equal ids wins, a later save replaces; a digest whose row is not stored
// (never written, a legacy row of the same id, deleted behind the sync's
// back) is not returned, so it can never stand for a row.
func TestDigests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "America/New_York")
		loc := mustLoc(t, "America/New_York")
		_, _, a, _ := sample(t, loc, "1")
		_, _, b, _ := sample(t, loc, "2")
		legacy := b
		legacy.ID, legacy.Source = "T3", crm.SourceLegacy
		err := s.Update(ctx, func(tx *Tx) error {
			if err := tx.UpsertTransactions(ctx, in.ID, []crm.Transaction{a, b, legacy}); err != nil {
				return err
			}
			return tx.SaveDigests(ctx, in.ID, Transactions, []RowDigest{
				{ID: "T1", Digest: "old"}, {ID: "T1", Digest: "aa", Ambiguous: 1}, {ID: "T2", Digest: "bb", Gap: 2},
				{ID: "T3", Digest: "cc"}, {ID: "T9", Digest: "dd"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.StoredDigests(ctx, in.ID, Transactions, []string{"T1", "T2", "T3", "T9", "T404"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]RowDigest{"T1": {ID: "T1", Digest: "aa", Ambiguous: 1}, "T2": {ID: "T2", Digest: "bb", Gap: 2}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("digests %v, want %v", got, want)
		}
		// Other entities do not see them.
		if got, err := s.StoredDigests(ctx, in.ID, Orders, []string{"T1"}); err != nil || len(got) != 0 {
			t.Errorf("orders: %v, %v", got, err)
		}
		// A later save replaces; a row deleted is no longer vouched for.
		err = s.Update(ctx, func(tx *Tx) error {
			if err := tx.SaveDigests(ctx, in.ID, Transactions, []RowDigest{{ID: "T1", Digest: "a2"}}); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM transactions WHERE integration_id = ? AND id = 'T2'`, in.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = s.StoredDigests(ctx, in.ID, Transactions, []string{"T1", "T2"})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]RowDigest{"T1": {ID: "T1", Digest: "a2"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("after a save and a delete: %v, want %v", got, want)
		}
		if _, err := s.StoredDigests(ctx, in.ID, "sync_runs", []string{"1"}); err == nil {
			t.Error("a table that is not an entity was read")
		}
	})
}
