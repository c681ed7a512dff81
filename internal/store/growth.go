package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// sqliteAnalysisLimit bounds the rows SQLite's ANALYZE reads per index. The
// planner takes the sample for the whole table: with 2,000 rows it believed
// an integration held 2,001 transactions and chose to walk a covering index
// of the whole integration over 500 primary-key lookups (measured: the
// switch happens near 4,000 rows for 500 keys). 50,000 keeps a large
// margin and still bounds the cost.
const sqliteAnalysisLimit = "PRAGMA analysis_limit = 50000"

// minAnalyzeRows is how many rows a table must have grown by before the
// write path refreshes its statistics (see analyzeGrown).
const minAnalyzeRows = 2000

// growth counts the rows written to each table since its statistics were
// last refreshed by this process. Guarded by Store.wmu.
type growth struct {
	base  map[string]int64 // rows the table held at its last ANALYZE
	since map[string]int64 // rows written since
}

// grew records n rows written to table in the transaction.
func (tx *Tx) grew(table string, n int) {
	if tx.grown == nil {
		tx.grown = map[string]int64{}
	}
	tx.grown[table] += int64(n)
}

// analyzeGrown runs after a commit. A table that has grown by as many rows
// as it held at its last ANALYZE (and by minAnalyzeRows at least) is
// analyzed again, so its statistics follow a table that a backfill or a
// load is filling: a new database otherwise keeps planning for the empty
// table it started as, and the write path's own lookups by key (row_hash,
// the rollup dirty marks) scan the whole integration per batch, a cost
// that grows with the table. Measured: on PostgreSQL 227 ms per batch of
// 500 keys at 18,000 rows (a sequential scan); on SQLite the dirty-mark
// lookup walked a covering index of the whole integration instead of the
// primary key, which made a load quadratic. Autovacuum would get there on
// PostgreSQL too, but a minute late and by chance. The doubling keeps the
// number of ANALYZEs logarithmic in the rows written; SQLite samples at
// most sqliteAnalysisLimit rows an index. An ANALYZE also makes the statements prepared
// on the connection plan again. Callers hold wmu.
func (s *Store) analyzeGrown(ctx context.Context, grown map[string]int64) error {
	if len(grown) == 0 {
		return nil
	}
	if s.growth.base == nil {
		s.growth = growth{base: map[string]int64{}, since: map[string]int64{}}
	}
	for table, n := range grown {
		if n == 0 {
			continue
		}
		base, ok := s.growth.base[table]
		if !ok {
			var err error
			if base, err = s.analyzedRows(ctx, table); err != nil {
				return fmt.Errorf("statistics of %s: %w", table, err)
			}
			s.growth.base[table] = base
		}
		s.growth.since[table] += n
		since := s.growth.since[table]
		if since < max(minAnalyzeRows, base) {
			continue
		}
		start := time.Now()
		if s.backend == SQLite {
			if _, err := s.wconn.ExecContext(ctx, sqliteAnalysisLimit); err != nil {
				return fmt.Errorf("analyze %s: %w", table, err)
			}
		}
		if _, err := s.wconn.ExecContext(ctx, "ANALYZE "+table); err != nil {
			return fmt.Errorf("analyze %s: %w", table, err)
		}
		s.growth.base[table], s.growth.since[table] = base+since, 0
		slog.Debug("statistics refreshed", "table", table, "rows", base+since, "took", time.Since(start))
	}
	return nil
}

// analyzedRows is how many rows table held at its last ANALYZE, as the
// engine recorded it; 0 when it never was.
func (s *Store) analyzedRows(ctx context.Context, table string) (int64, error) {
	var n sql.NullInt64
	if s.backend == Postgres {
		err := s.wconn.QueryRowContext(ctx, `SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass($1)`, table).Scan(&n)
		return n.Int64, err
	}
	var stat1 int
	if err := s.wconn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'`).Scan(&stat1); err != nil || stat1 == 0 {
		return 0, err
	}
	// Each row's stat starts with the rows of the table.
	err := s.wconn.QueryRowContext(ctx, `SELECT MAX(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = ?`, table).Scan(&n)
	return n.Int64, err
}
