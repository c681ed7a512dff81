package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// The bulk-load path (konduit load). A first load fills empty tables: every
// row it writes would also go into each secondary index, in the file's
// order, which is random for most of them (created time, order, customer),
// so once an index outgrows the page cache each row costs a page read and
// write per index. Dropping them while the tables fill and building each
// once afterwards (a sort) is the engines' own advice for bulk loads, and
// the primary keys, which the upserts' lookups use, stay.

// bulkTables are the tables a load writes whose secondary indexes
// DeferIndexes may drop.
var bulkTables = []string{Transactions, Customers, Purchases, Orders, Notes, Details}

// DeferIndexes drops the secondary indexes (not the primary keys or unique
// ones) of the tables a load writes, when all of them are empty (no
// integration holds a row, so no one else's reads slow down), and records
// each index's definition, as the schema gave it, in deferred_indexes. It
// reports whether it dropped them; RestoreIndexes builds them again.
func (s *Store) DeferIndexes(ctx context.Context) (bool, error) {
	dropped := false
	err := s.Update(ctx, func(tx *Tx) error {
		dropped = false
		for _, t := range bulkTables {
			var one int
			err := tx.c.QueryRowContext(ctx, "SELECT 1 FROM "+t+" LIMIT 1").Scan(&one)
			if err == nil {
				return nil // a table holds rows: keep its indexes
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		type index struct{ name, table, def string }
		var all []index
		for _, t := range bulkTables {
			q := `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name`
			if tx.backend == Postgres {
				q = `SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = ?::regclass AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname`
			}
			rows, err := tx.Query(ctx, q, t)
			if err != nil {
				return err
			}
			for rows.Next() {
				ix := index{table: t}
				if err := rows.Scan(&ix.name, &ix.def); err != nil {
					rows.Close()
					return err
				}
				all = append(all, ix)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for _, ix := range all {
			if _, err := tx.exec(ctx, `INSERT INTO deferred_indexes (name, table_name, definition) VALUES (?, ?, ?)`, ix.name, ix.table, ix.def); err != nil {
				return err
			}
			if _, err := tx.c.ExecContext(ctx, "DROP INDEX "+ix.name); err != nil {
				return err
			}
		}
		dropped = len(all) > 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	if dropped {
		slog.Debug("secondary indexes dropped until the load's rows are in")
	}
	return dropped, nil
}

// RestoreIndexes builds the indexes DeferIndexes dropped, each in its own
// transaction, and reports how many it built. On SQLite the sorts go to
// temporary files (created 0600 and unlinked at once), not memory; on
// PostgreSQL a sort may use 512 MB of the server's memory.
func (s *Store) RestoreIndexes(ctx context.Context) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wconn == nil {
		if err := s.reconnect(ctx); err != nil {
			return 0, err
		}
	}
	type index struct{ name, def string }
	var all []index
	rows, err := s.wconn.QueryContext(ctx, `SELECT name, definition FROM deferred_indexes ORDER BY table_name, name`)
	if err != nil {
		return 0, fmt.Errorf("restore indexes: %w", err)
	}
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.def); err != nil {
			rows.Close()
			return 0, fmt.Errorf("restore indexes: %w", err)
		}
		all = append(all, ix)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("restore indexes: %w", err)
	}
	if len(all) == 0 {
		return 0, nil
	}
	set, reset := "PRAGMA temp_store = FILE", "PRAGMA temp_store = MEMORY"
	if s.backend == Postgres {
		set, reset = "SET maintenance_work_mem = '512MB'", "RESET maintenance_work_mem"
	}
	if _, err := s.wconn.ExecContext(ctx, set); err != nil {
		return 0, fmt.Errorf("restore indexes: %w", err)
	}
	defer s.wconn.ExecContext(context.WithoutCancel(ctx), reset) //nolint:errcheck // a setting of this connection only
	for i, ix := range all {
		t0 := time.Now()
		// Each index with its record, so a stop between two leaves the
		// rest recorded. The definition is the schema's, read back from
		// the catalog; IF NOT EXISTS covers an index another command
		// created meanwhile.
		def := ix.def
		if rest, ok := strings.CutPrefix(def, "CREATE INDEX "); ok && !strings.HasPrefix(rest, "IF NOT EXISTS") {
			def = "CREATE INDEX IF NOT EXISTS " + rest
		}
		err := s.inTx(ctx, func(c *sql.Conn) error {
			if _, err := c.ExecContext(ctx, def); err != nil {
				return err
			}
			_, err := c.ExecContext(ctx, s.Rebind(`DELETE FROM deferred_indexes WHERE name = ?`), ix.name)
			return err
		})
		if err != nil {
			return i, fmt.Errorf("restore index %s: %w", ix.name, err)
		}
		slog.Debug("index built", "index", ix.name, "took", time.Since(t0))
	}
	return len(all), nil
}

// inTx runs fn in a transaction on the write connection. Callers hold wmu.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Conn) error) error {
	begin := "BEGIN"
	if s.backend == SQLite {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := s.wconn.ExecContext(ctx, begin); err != nil {
		s.dropConn()
		return err
	}
	if err := fn(s.wconn); err != nil {
		s.rollback(ctx)
		return err
	}
	if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		s.rollback(ctx)
		return err
	}
	return nil
}

// HasTransactions reports whether an integration holds any transaction.
func (s *Store) HasTransactions(ctx context.Context, integrationID int64) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT 1 FROM transactions WHERE integration_id = ? LIMIT 1`), integrationID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read transactions: %w", err)
	}
	return true, nil
}

// LoadTransactions is UpsertTransactions for a load whose rollups are
// rebuilt whole once its rows are in (the caller invalidated them): the
// rows are not marked dirty, which on a first load would mark every
// customer and bucket, one lookup and three inserts a batch, for a refresh
// that rebuilds everything anyway.
func (tx *Tx) LoadTransactions(ctx context.Context, integrationID int64, rows []crm.Transaction) error {
	return tx.upsertTransactions(ctx, integrationID, rows, false)
}
