package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// AnalyzeTables refreshes the planner's statistics of the named tables
// only (Analyze does every table): what a rollup rebuild calls after
// rewriting its tables, so that a sync that already analyzed the
// transactions does not pay for them twice. Like Analyze, SQLite samples at
// most 2,000 rows an index. Tables are names from the schema, never input.
func (s *Store) AnalyzeTables(ctx context.Context, tables ...string) error {
	start := time.Now()
	if s.backend == SQLite {
		if _, err := s.wconn.ExecContext(ctx, "PRAGMA analysis_limit = 2000"); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	for _, t := range tables {
		if _, err := s.wconn.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	slog.Debug("statistics refreshed", "tables", tables, "took", time.Since(start))
	return nil
}
