package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// QuarantinedRow is a row the API sent that could not be read. Raw and
// Reason must already be free of secrets (sensitive keys removed, card
// numbers masked).
type QuarantinedRow struct {
	Entity string
	RowID  string // the row's id, when it could be read
	Field  string
	Reason string
	Raw    string
	RunID  int64
	Seen   time.Time
}

func (q QuarantinedRow) key() string {
	if q.RowID != "" {
		return q.RowID
	}
	sum := sha256.Sum256([]byte(q.Raw))
	return "sha256:" + hex.EncodeToString(sum[:12])
}

// Quarantine keeps rows that could not be read, replacing an earlier
// quarantine of the same row.
func (tx *Tx) Quarantine(ctx context.Context, integrationID int64, rows []QuarantinedRow) error {
	for _, q := range rows {
		seen := q.Seen
		if seen.IsZero() {
			seen = time.Now()
		}
		_, err := tx.exec(ctx, `INSERT INTO sync_quarantine (integration_id, entity, row_key, row_id, field, reason, raw, run_id, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (integration_id, entity, row_key) DO UPDATE SET field = excluded.field, reason = excluded.reason, raw = excluded.raw, run_id = excluded.run_id, seen_at = excluded.seen_at`,
			integrationID, q.Entity, q.key(), q.RowID, q.Field, q.Reason, q.Raw, q.RunID, seen.Unix())
		if err != nil {
			return fmt.Errorf("quarantine a %s row: %w", q.Entity, err)
		}
	}
	return nil
}

// Release takes rows out of quarantine: they have just been read.
func (tx *Tx) Release(ctx context.Context, integrationID int64, entity string, ids []string) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `DELETE FROM sync_quarantine WHERE integration_id = ? AND entity = ? AND row_key = ?`, integrationID, entity, id); err != nil {
			return fmt.Errorf("release a %s row from quarantine: %w", entity, err)
		}
	}
	return nil
}

// QuarantineCounts counts an integration's quarantined rows by entity.
func (s *Store) QuarantineCounts(ctx context.Context, integrationID int64) (Counts, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT entity, COUNT(*) FROM sync_quarantine WHERE integration_id = ? GROUP BY entity`), integrationID)
	if err != nil {
		return nil, fmt.Errorf("count quarantined rows: %w", err)
	}
	defer rows.Close()
	c := Counts{}
	for rows.Next() {
		var e string
		var n int64
		if err := rows.Scan(&e, &n); err != nil {
			return nil, fmt.Errorf("count quarantined rows: %w", err)
		}
		c[e] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count quarantined rows: %w", err)
	}
	return c, nil
}

// Quarantined lists an integration's quarantined rows, latest first.
func (s *Store) Quarantined(ctx context.Context, integrationID int64, limit int) ([]QuarantinedRow, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT entity, row_id, field, reason, raw, COALESCE(run_id, 0), seen_at FROM sync_quarantine WHERE integration_id = ?
		ORDER BY seen_at DESC, entity, row_key LIMIT ?`), integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list quarantined rows: %w", err)
	}
	defer rows.Close()
	var out []QuarantinedRow
	for rows.Next() {
		var q QuarantinedRow
		var seen int64
		if err := rows.Scan(&q.Entity, &q.RowID, &q.Field, &q.Reason, &q.Raw, &q.RunID, &seen); err != nil {
			return nil, fmt.Errorf("list quarantined rows: %w", err)
		}
		q.Seen = time.Unix(seen, 0).UTC()
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list quarantined rows: %w", err)
	}
	return out, nil
}

// Phrase says the counts in words, in the order of Entities, skipping
// zeros: "3 orders, 1 transaction".
func (c Counts) Phrase() string {
	var parts []string
	for _, e := range Entities {
		switch n := c[e]; {
		case n == 1:
			parts = append(parts, "1 "+strings.TrimSuffix(e, "s"))
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, e))
		}
	}
	return strings.Join(parts, ", ")
}
