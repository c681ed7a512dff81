package report

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// indexes are covering indexes for the reports' scans: each report reads
// one index in order instead of visiting the table row by row. They are
// created by this package (the store's migrations are the store's), with
// IF NOT EXISTS, the same on SQLite and PostgreSQL.
var indexes = []string{
	// summary, reconcile and chargebacks: events by date, with every
	// breakdown column.
	`CREATE INDEX IF NOT EXISTS report_txn_range ON transactions
  (integration_id, created_utc, txn_type, response_type, amount_cents, billing_cycle, chargedback, chargeback_cents, order_id,
   merchant_id, campaign_id, product_id, aff_id, sub_aff_id, country)`,
	// new customers, ltv: a customer's events in order.
	`CREATE INDEX IF NOT EXISTS report_txn_customer ON transactions
  (integration_id, source, customer_id, created_utc, id, txn_type, response_type, amount_cents, chargedback, chargeback_cents, chargeback_date)`,
}

// Analyze refreshes the planner's statistics (ANALYZE, on both engines), so
// that it picks these indexes; run it after loading many rows.
func Analyze(ctx context.Context, st *store.Store) error {
	start := time.Now()
	if _, err := st.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	slog.Debug("statistics refreshed", "took", time.Since(start))
	return nil
}

// Prepare creates the reports' indexes when they are missing. The first
// call on a large database takes a while (a sort of the transactions);
// later calls return at once. `konduit load` calls it after loading.
func Prepare(ctx context.Context, st *store.Store) error {
	start := time.Now()
	for _, q := range indexes {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create report index: %w", err)
		}
	}
	slog.Debug("report indexes ready", "took", time.Since(start))
	return nil
}
