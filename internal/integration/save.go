package integration

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
)

// Change is what Save did beyond writing the settings.
type Change struct {
	Created      bool               // a new integration
	RangeChanged bool               // the import range (or the account: API URL, login) changed: checkpoints were reset, the next sync backfills again
	Retimed      bool               // the time zone changed: every stored time was re-derived, the rollups refreshed
	OldZone      string             // the zone before, when Retimed
	Retime       store.RetimeResult // what the retime re-derived
}

// Save writes in, by name, with the rules a change implies: a new
// integration is created; for a saved one, a new import range resets its
// checkpoints (the next sync backfills the range again; stored rows are
// kept), as does a new API URL or login (another account, or a new
// address of it), and a new time zone re-derives every stored time from its
// wall-clock string and refreshes the rollups (no re-sync). password, when
// not empty, is sealed with the key beside dsn (created on first use);
// empty keeps the saved password. A name that holds another kind of data is
// refused. in.ID is set.
func Save(ctx context.Context, s *store.Store, dsn string, in *store.Integration, password string) (Change, error) {
	var ch Change
	loc, err := in.Location()
	if err != nil {
		return ch, exitcode.Usagef("%v", err)
	}
	old, err := s.Integration(ctx, in.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		old, ch.Created = nil, true
	case err != nil:
		return ch, err
	case old.Kind != in.Kind:
		return ch, exitcode.Usagef("integration %s holds %s data; choose another name", in.Name, old.Kind)
	}
	if password != "" {
		key, err := store.LoadKey(ctx, dsn, true)
		if err != nil {
			return ch, err
		}
		in.PasswordSealed = key.Seal([]byte(password), in.Name)
	} else if old != nil && len(in.PasswordSealed) == 0 {
		in.PasswordSealed = old.PasswordSealed
	}
	zone := in.TimeZone
	if old != nil {
		in.ID = old.ID
		in.TimeZone = old.TimeZone // a new zone is set by the retime below, with the times it moves
		in.LoadPending, in.LoadExpected = old.LoadPending, old.LoadExpected
	}
	if err := s.SaveIntegration(ctx, in); err != nil {
		return ch, err
	}
	if old == nil {
		return ch, nil
	}
	if old.ImportFrom != in.ImportFrom || old.ImportTo != in.ImportTo || old.BaseURL != in.BaseURL || old.LoginID != in.LoginID {
		if err := s.ResetCheckpoints(ctx, in.ID); err != nil {
			return ch, err
		}
		ch.RangeChanged = true
	}
	if zone != old.TimeZone {
		res, err := Retime(ctx, s, in, loc)
		if err != nil {
			return ch, err
		}
		ch.Retimed, ch.OldZone, ch.Retime = true, old.TimeZone, res
	}
	return ch, nil
}

// Retime sets in's time zone to loc, re-derives every stored time from its
// wall-clock string and refreshes the rollups: no re-sync. in.TimeZone is
// loc afterwards.
func Retime(ctx context.Context, s *store.Store, in *store.Integration, loc *time.Location) (store.RetimeResult, error) {
	res, err := s.Retime(ctx, in.ID, loc)
	if err != nil {
		return res, err
	}
	in.TimeZone = loc.String()
	if _, err := rollup.Refresh(ctx, s, in); err != nil {
		return res, fmt.Errorf("refresh the rollups after the retime: %w", err)
	}
	return res, nil
}

// Delete removes the named integration and every row that belongs to it,
// in every table that has an integration_id column, in one transaction.
func Delete(ctx context.Context, s *store.Store, name string) error {
	in, err := s.Integration(ctx, name)
	if err != nil {
		return err
	}
	tables, err := integrationTables(ctx, s)
	if err != nil {
		return err
	}
	err = s.Update(ctx, func(tx *store.Tx) error {
		for _, t := range tables {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE integration_id = ?`, in.ID); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM integrations WHERE id = ?`, in.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete integration %s: %w", name, err)
	}
	return nil
}

// integrationTables lists the tables with an integration_id column.
func integrationTables(ctx context.Context, s *store.Store) ([]string, error) {
	q := `SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'integration_id' ORDER BY m.name`
	if s.Backend() == store.Postgres {
		q = `SELECT table_name FROM information_schema.columns WHERE column_name = 'integration_id' AND table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := s.DB().QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list the integration's tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetPaused pauses (or resumes) the named integration's scheduled syncs. A
// paused integration can still be synced by hand.
func SetPaused(ctx context.Context, s *store.Store, name string, paused bool) error {
	in, err := s.Integration(ctx, name)
	if err != nil {
		return err
	}
	p := 0
	if paused {
		p = 1
	}
	err = s.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO schedules (integration_id, paused) VALUES (?, ?) ON CONFLICT (integration_id) DO UPDATE SET paused = excluded.paused`, in.ID, p)
		return err
	})
	if err != nil {
		return fmt.Errorf("pause integration %s: %w", name, err)
	}
	return nil
}

// Paused reports whether the integration's scheduled syncs are paused.
func Paused(ctx context.Context, s *store.Store, id int64) (bool, error) {
	var p int
	err := s.DB().QueryRowContext(ctx, s.Rebind(`SELECT COALESCE(MAX(paused), 0) FROM schedules WHERE integration_id = ?`), id).Scan(&p)
	if err != nil {
		return false, fmt.Errorf("read the schedule: %w", err)
	}
	return p != 0, nil
}
