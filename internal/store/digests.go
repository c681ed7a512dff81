package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
)

// RowDigest is what the sync keeps of a row it stored from the API (table
// sync_digests): the digest of the bytes the row was decoded from
// (konnektive.Digest in hex) and the DST adjustments of its wall-clock
// times, so a run that finds the same bytes again can skip decoding and
// writing them and still count what it read.
type RowDigest struct {
	ID        string
	Digest    string
	Ambiguous int // wall times placed in a repeated hour
	Gap       int // wall times in a skipped hour
}

// StoredDigests reads the digests of an entity's API rows ids that are
// stored: a digest whose row is no longer in the entity table is not
// returned, so only a stored row is ever taken as read.
func (s *Store) StoredDigests(ctx context.Context, integrationID int64, entity string, ids []string) (map[string]RowDigest, error) {
	if !slices.Contains(Entities, entity) {
		return nil, fmt.Errorf("read digests: %q is not an entity table", entity)
	}
	out := make(map[string]RowDigest, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var list any = ids
	if s.backend == SQLite {
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, fmt.Errorf("read digests: %w", err)
		}
		list = string(b)
	}
	st, err := s.digestQuery(ctx, entity)
	if err != nil {
		return nil, fmt.Errorf("read digests of %s: %w", entity, err)
	}
	rows, err := st.QueryContext(ctx, integrationID, entity, list)
	if err != nil {
		return nil, fmt.Errorf("read digests of %s: %w", entity, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d RowDigest
		if err := rows.Scan(&d.ID, &d.Digest, &d.Ambiguous, &d.Gap); err != nil {
			return nil, fmt.Errorf("read digests of %s: %w", entity, err)
		}
		out[d.ID] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read digests of %s: %w", entity, err)
	}
	return out, nil
}

// digestQuery is StoredDigests' statement for entity, prepared once.
func (s *Store) digestQuery(ctx context.Context, entity string) (*sql.Stmt, error) {
	key := "digests/" + entity
	if st, ok := s.reads.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	in := `d.id IN (SELECT value FROM json_each(?))` // ids as a JSON array: one statement for any number
	if s.backend == Postgres {
		in = `d.id = ANY(?)`
	}
	st, err := s.db.PrepareContext(ctx, s.Rebind(`SELECT d.id, d.digest, d.ambiguous, d.gap FROM sync_digests d
WHERE d.integration_id = ? AND d.entity = ? AND `+in+`
  AND EXISTS (SELECT 1 FROM `+entity+` t WHERE t.integration_id = d.integration_id AND t.source = 'api' AND t.id = d.id)`))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.reads.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// SaveDigests records, in the transaction that writes them, the digests of
// an entity's API rows (the last of equal ids wins).
func (tx *Tx) SaveDigests(ctx context.Context, integrationID int64, entity string, rows []RowDigest) error {
	if len(rows) == 0 {
		return nil
	}
	if !slices.Contains(Entities, entity) {
		return fmt.Errorf("save digests: %q is not an entity table", entity)
	}
	// One row per id: a statement may not touch a row twice.
	last := make(map[string]int, len(rows))
	for i, r := range rows {
		last[r.ID] = i
	}
	const set = ` ON CONFLICT (integration_id, entity, id) DO UPDATE SET digest = excluded.digest, ambiguous = excluded.ambiguous, gap = excluded.gap`
	var err error
	if tx.backend == Postgres {
		ids, digests := make([]string, 0, len(last)), make([]string, 0, len(last))
		amb, gap := make([]int32, 0, len(last)), make([]int32, 0, len(last))
		for i, r := range rows {
			if last[r.ID] == i {
				ids, digests, amb, gap = append(ids, r.ID), append(digests, r.Digest), append(amb, int32(r.Ambiguous)), append(gap, int32(r.Gap))
			}
		}
		_, err = tx.exec(ctx, `INSERT INTO sync_digests (integration_id, entity, id, digest, ambiguous, gap)
SELECT ?, ?, u.id, u.digest, u.ambiguous, u.gap FROM unnest(?::text[], ?::text[], ?::int[], ?::int[]) AS u(id, digest, ambiguous, gap)`+set,
			integrationID, entity, ids, digests, amb, gap)
	} else {
		list := make([][4]any, 0, len(last))
		for i, r := range rows {
			if last[r.ID] == i {
				list = append(list, [4]any{r.ID, r.Digest, r.Ambiguous, r.Gap})
			}
		}
		b, jerr := json.Marshal(list)
		if jerr != nil {
			return fmt.Errorf("save digests of %s: %w", entity, jerr)
		}
		_, err = tx.exec(ctx, `INSERT INTO sync_digests (integration_id, entity, id, digest, ambiguous, gap)
SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true`+set,
			integrationID, entity, string(b))
	}
	if err != nil {
		return fmt.Errorf("save digests of %s: %w", entity, err)
	}
	tx.grew("sync_digests", len(last))
	return nil
}
