package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/konduit/konduit/internal/crm"
)

// BucketSeconds is the width of a rollup bucket: 15 minutes, so that every
// time zone's midnight (offsets are whole quarter hours) starts a bucket.
const BucketSeconds = 900

// Bucket is the start of the 15-minute UTC bucket holding a Unix instant.
func Bucket(utc int64) int64 {
	b := utc / BucketSeconds * BucketSeconds
	if b > utc {
		b -= BucketSeconds
	}
	return b
}

// Exec runs a statement written with ? placeholders in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.exec(ctx, query, args...)
}

// Query runs a query written with ? placeholders in the transaction. On
// PostgreSQL the rows must be closed before the next statement.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.c.QueryContext(ctx, rebind(tx.backend, query), args...)
}

// Backend is the engine the transaction runs on.
func (tx *Tx) Backend() Backend { return tx.backend }

// InsertRows writes rows into table in multi-row INSERT statements of up
// to 512 rows (cut into powers of two, so few shapes are ever parsed; each
// is prepared once per connection); suffix follows each statement, e.g. an
// ON CONFLICT clause.
func (tx *Tx) InsertRows(ctx context.Context, table string, cols []string, suffix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if tx.backend == Postgres && len(rows) >= 64 {
		return tx.copyRows(ctx, table, cols, suffix, rows)
	}
	const most = 512
	per := most
	for per*len(cols) > 30000 {
		per /= 2
	}
	args := make([]any, 0, per*len(cols))
	for start := 0; start < len(rows); {
		chunk := per
		for chunk > len(rows)-start {
			chunk /= 2
		}
		args = args[:0]
		for _, r := range rows[start : start+chunk] {
			if len(r) != len(cols) {
				return fmt.Errorf("insert into %s: %d values for %d columns", table, len(r), len(cols))
			}
			args = append(args, r...)
		}
		st, err := tx.insertStmt(ctx, table, cols, suffix, chunk)
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		start += chunk
	}
	return nil
}

// copyRows is PostgreSQL's bulk insert: COPY into a temporary staging
// table, then one INSERT ... SELECT with the suffix.
func (tx *Tx) copyRows(ctx context.Context, table string, cols []string, suffix string, rows [][]any) error {
	stage := "stage_" + table
	if _, err := tx.c.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+stage+" (LIKE "+table+" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"); err != nil {
		return fmt.Errorf("insert into %s: staging table: %w", table, err)
	}
	err := tx.c.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{stage}, cols, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("insert into %s: copy: %w", table, err)
	}
	list := strings.Join(cols, ", ")
	if _, err := tx.c.ExecContext(ctx, "INSERT INTO "+table+" ("+list+") SELECT "+list+" FROM "+stage+" "+suffix); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	if _, err := tx.c.ExecContext(ctx, "DELETE FROM "+stage); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// insertStmt is the prepared statement inserting n rows.
func (tx *Tx) insertStmt(ctx context.Context, table string, cols []string, suffix string, n int) (*sql.Stmt, error) {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + " " + suffix
	key := "insert/" + strconv.Itoa(n) + "/" + table + "/" + strings.Join(cols, ",") + "/" + suffix
	if st, ok := tx.s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := tx.c.PrepareContext(ctx, rebind(tx.backend, q))
	if err != nil {
		return nil, err
	}
	tx.s.stmts.Store(key, st)
	return st, nil
}

// markRollupDirty records, before rows are written, what the write changes
// for the rollups: the customer, the bucket of dateCreated and the
// chargeback day, of both the stored version of each row and the new one.
// internal/rollup's refresh recomputes exactly those.
func (tx *Tx) markRollupDirty(ctx context.Context, integrationID int64, rows []crm.Transaction) error {
	if len(rows) == 0 {
		return nil
	}
	customers := map[[2]string]bool{}
	buckets := map[int64]bool{}
	days := map[string]bool{}
	bySource := map[string][]any{}
	for i := range rows {
		r := &rows[i]
		src := sourceArg(r.Source)
		bySource[src] = append(bySource[src], r.ID)
		customers[[2]string{src, r.CustomerID}] = true
		if !r.Created.IsZero() {
			buckets[Bucket(r.Created.UTC.Unix())] = true
		}
		if r.Chargedback && !r.ChargebackDay.IsZero() {
			days[r.ChargebackDay.String()] = true
		}
	}
	const chunk = 500
	for src, ids := range bySource {
		for start := 0; start < len(ids); start += chunk {
			part := ids[start:min(start+chunk, len(ids))]
			q := `SELECT customer_id, created_utc, chargedback, chargeback_date FROM transactions WHERE integration_id = ? AND source = ? AND id IN (` +
				strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ") + `)`
			args := append([]any{integrationID, src}, part...)
			if tx.backend == Postgres {
				// One plan for every batch: the ids as one array.
				q = `SELECT customer_id, created_utc, chargedback, chargeback_date FROM transactions WHERE integration_id = ? AND source = ? AND id = ANY(?)`
				ids := make([]string, len(part))
				for i, v := range part {
					ids[i] = v.(string)
				}
				args = []any{integrationID, src, ids}
			}
			rs, err := tx.Query(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("read rows before writing: %w", err)
			}
			for rs.Next() {
				var cust string
				var created sql.NullInt64
				var cb int64
				var day sql.NullString
				if err := rs.Scan(&cust, &created, &cb, &day); err != nil {
					rs.Close()
					return fmt.Errorf("read rows before writing: %w", err)
				}
				customers[[2]string{src, cust}] = true
				if created.Valid {
					buckets[Bucket(created.Int64)] = true
				}
				if cb != 0 && day.Valid {
					days[day.String] = true
				}
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return fmt.Errorf("read rows before writing: %w", err)
			}
		}
	}
	var crows, brows, drows [][]any
	for k := range customers {
		crows = append(crows, []any{integrationID, k[0], k[1]})
	}
	for b := range buckets {
		brows = append(brows, []any{integrationID, b})
	}
	for d := range days {
		drows = append(drows, []any{integrationID, d})
	}
	// Sorted, so that concurrent writers take row locks in one order.
	sort.Slice(crows, func(i, j int) bool {
		a, b := crows[i], crows[j]
		return a[1].(string) < b[1].(string) || a[1] == b[1] && a[2].(string) < b[2].(string)
	})
	sort.Slice(brows, func(i, j int) bool { return brows[i][1].(int64) < brows[j][1].(int64) })
	sort.Slice(drows, func(i, j int) bool { return drows[i][1].(string) < drows[j][1].(string) })
	const skip = "ON CONFLICT DO NOTHING"
	if err := tx.InsertRows(ctx, "rollup_dirty_customers", []string{"integration_id", "source", "customer_id"}, skip, crows); err != nil {
		return err
	}
	if err := tx.InsertRows(ctx, "rollup_dirty_buckets", []string{"integration_id", "bucket"}, skip, brows); err != nil {
		return err
	}
	return tx.InsertRows(ctx, "rollup_dirty_days", []string{"integration_id", "day"}, skip, drows)
}

// InvalidateRollups drops an integration's rollup state: the reports read
// the transactions until the rollups are rebuilt.
func (tx *Tx) InvalidateRollups(ctx context.Context, integrationID int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM rollup_state WHERE integration_id = ?`, integrationID); err != nil {
		return fmt.Errorf("invalidate rollups: %w", err)
	}
	return nil
}
