package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// RetimeResult counts what Retime re-derived.
type RetimeResult struct {
	Rows      int64 // rows whose instants were re-derived
	Ambiguous int64 // wall-clock times that occur twice in the new zone
	Gap       int64 // wall-clock times that do not occur in the new zone
}

// retimeChunk rows are read and rewritten per statement.
const retimeChunk = 1000

// Retime sets an integration's time zone and re-derives every stored instant
// from its raw wall-clock string by metrics.md's rules, in one transaction:
// no re-sync, and a failure changes nothing.
func (s *Store) Retime(ctx context.Context, integrationID int64, loc *time.Location) (RetimeResult, error) {
	var res RetimeResult
	err := s.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE integrations SET timezone = ?, updated_at = ? WHERE id = ?`, loc.String(), time.Now().Unix(), integrationID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("integration #%d: %w", integrationID, ErrNotFound)
		}
		// Every instant and local day moves: the rollups are rebuilt.
		if err := tx.InvalidateRollups(ctx, integrationID); err != nil {
			return err
		}
		for _, t := range append(append([]string{}, Entities...), Notes) {
			if err := retimeTable(ctx, tx, t, integrationID, loc, &res); err != nil {
				return fmt.Errorf("retime %s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return RetimeResult{}, err
	}
	return res, nil
}

type retimeRow struct {
	source, id       string
	created, updated sql.NullString
}

func retimeTable(ctx context.Context, tx *Tx, table string, integrationID int64, loc *time.Location, res *RetimeResult) error {
	lastSrc, lastID := "", ""
	rowsBuf := make([]retimeRow, 0, retimeChunk)
	var upd *sql.Stmt
	for {
		rowsBuf = rowsBuf[:0]
		rows, err := tx.c.QueryContext(ctx, rebind(tx.backend, `SELECT source, id, created_raw, updated_raw FROM `+table+`
			WHERE integration_id = ? AND (source, id) > (?, ?) ORDER BY source, id LIMIT ?`),
			integrationID, lastSrc, lastID, retimeChunk)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r retimeRow
			if err := rows.Scan(&r.source, &r.id, &r.created, &r.updated); err != nil {
				rows.Close()
				return err
			}
			rowsBuf = append(rowsBuf, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(rowsBuf) == 0 {
			return nil
		}
		args := make([]any, 0, len(rowsBuf)*6+1)
		for _, r := range rowsBuf {
			args = append(args, r.source, r.id)
			for _, raw := range []sql.NullString{r.created, r.updated} {
				if !raw.Valid {
					args = append(args, nil, int64(0))
					continue
				}
				w, err := crm.ParseWall(raw.String, loc)
				if err != nil {
					return fmt.Errorf("row %s: %w", r.id, err)
				}
				switch w.Adjust {
				case crm.Ambiguous:
					res.Ambiguous++
				case crm.Gap:
					res.Gap++
				}
				args = append(args, w.UTC.Unix(), int64(w.Adjust))
			}
		}
		if tx.backend == SQLite {
			// SQLite plans UPDATE ... FROM (VALUES ...) as a scan of the
			// table per statement; a prepared update by key is linear.
			if upd == nil {
				if upd, err = tx.c.PrepareContext(ctx, `UPDATE `+table+` SET created_utc = ?, created_adjust = ?, updated_utc = ?, updated_adjust = ?`+rehash(table)+` WHERE integration_id = ? AND source = ? AND id = ?`); err != nil {
					return err
				}
				defer upd.Close()
			}
			for i := range rowsBuf {
				a := args[i*6 : i*6+6]
				if _, err := upd.ExecContext(ctx, a[2], a[3], a[4], a[5], integrationID, a[0], a[1]); err != nil {
					return err
				}
			}
		} else if err := retimeValues(ctx, tx, table, integrationID, len(rowsBuf), args); err != nil {
			return err
		}
		res.Rows += int64(len(rowsBuf))
		last := rowsBuf[len(rowsBuf)-1]
		lastSrc, lastID = last.source, last.id
		if len(rowsBuf) < retimeChunk {
			return nil
		}
	}
}

// retimeValues rewrites n rows' instants in one UPDATE ... FROM (VALUES ...)
// (PostgreSQL joins it on the primary key).
func retimeValues(ctx context.Context, tx *Tx, table string, integrationID int64, n int, args []any) error {
	args = append(args, integrationID)
	var sb strings.Builder
	sb.WriteString(`UPDATE ` + table + ` AS t SET created_utc = v.column3, created_adjust = v.column4, updated_utc = v.column5, updated_adjust = v.column6` + rehash(table) + ` FROM (VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS SMALLINT), CAST(? AS BIGINT), CAST(? AS SMALLINT))`)
	}
	sb.WriteString(`) AS v WHERE t.integration_id = ? AND t.source = v.column1 AND t.id = v.column2`)
	_, err := tx.exec(ctx, sb.String(), args...)
	return err
}

// rehash clears the digest of a retimed row of an entity table: its
// instants changed, so the next read of it is written again.
func rehash(table string) string {
	switch table {
	case Customers, Orders, Transactions, Purchases:
		return ", row_hash = ''"
	}
	return ""
}
