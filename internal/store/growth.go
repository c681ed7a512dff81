package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

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

// analyzeGrown runs after a commit on PostgreSQL. A table that has grown by
// as many rows as it held at its last ANALYZE (and by minAnalyzeRows at
// least) is analyzed again, so its statistics follow a table that a
// backfill or a load is filling: a new database otherwise keeps planning
// for the empty table it started as, and the write path's own lookups by
// key (row_hash, the rollup dirty marks) run as sequential scans that grow
// with the table (227 ms per page of 500 keys at 18,000 rows, measured).
// Autovacuum would get there too, but a minute late and by chance; the
// doubling keeps the number of ANALYZEs logarithmic in the rows written.
// An ANALYZE also invalidates the plans prepared on the connection.
// Callers hold wmu.
func (s *Store) analyzeGrown(ctx context.Context, grown map[string]int64) error {
	if s.backend != Postgres || len(grown) == 0 {
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
			// What the server knew at the last ANALYZE (-1: never analyzed).
			if err := s.wconn.QueryRowContext(ctx, `SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass($1)`, table).Scan(&base); err != nil {
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
		if _, err := s.wconn.ExecContext(ctx, "ANALYZE "+table); err != nil {
			return fmt.Errorf("analyze %s: %w", table, err)
		}
		s.growth.base[table], s.growth.since[table] = base+since, 0
		slog.Debug("statistics refreshed", "table", table, "rows", base+since, "took", time.Since(start))
	}
	return nil
}
