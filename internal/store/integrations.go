package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Integration kinds.
const (
	KindKonnektive = "konnektive" // a Konnektive / CheckoutChamp account synced over the API
	KindLegacy     = "legacy"     // legacy import files loaded for analysis
)

// Integration is a saved connection (or a legacy data set): where its data
// comes from and the account time zone its wall-clock strings are in.
type Integration struct {
	ID              int64
	Kind            string
	Name            string
	BaseURL         string
	LoginID         string // the API username
	AccountName     string
	AccountUsername string
	TimeZone        string // IANA name
	ImportFrom      crm.Date
	ImportTo        crm.Date // zero: up to today
	SyncEvery       time.Duration
	PasswordSealed  []byte // Key.Seal output; nil when no password is saved
	Created         time.Time
	Updated         time.Time
	// LoadPending is when a load into the integration began that has not
	// finished (interrupted, killed, failed); zero when none. LoadExpected
	// is the rows its files hold.
	LoadPending  time.Time
	LoadExpected int64
}

// Location loads the integration's time zone.
func (in *Integration) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("integration %s: time zone %q: %w", in.Name, in.TimeZone, err)
	}
	return loc, nil
}

const integrationCols = "id, kind, name, base_url, login_id, account_name, account_username, timezone, import_from, import_to, sync_every_s, password_sealed, created_at, updated_at, load_pending_at, load_expected"

// SaveIntegration inserts the integration, or updates the one with its name,
// and sets in.ID. Changing TimeZone here does not re-derive instants: use
// Retime for that.
func (s *Store) SaveIntegration(ctx context.Context, in *Integration) error {
	if in.Name == "" || in.Kind == "" || in.TimeZone == "" {
		return fmt.Errorf("save integration: name, kind and time zone are required")
	}
	now := time.Now().UTC().Truncate(time.Second)
	return s.Update(ctx, func(tx *Tx) error {
		var id int64
		err := tx.c.QueryRowContext(ctx, s.Rebind(`SELECT id FROM integrations WHERE name = ?`), in.Name).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.c.QueryRowContext(ctx, s.Rebind(`INSERT INTO integrations (kind, name, base_url, login_id, account_name, account_username, timezone, import_from, import_to, sync_every_s, password_sealed, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				in.Kind, in.Name, in.BaseURL, in.LoginID, in.AccountName, in.AccountUsername, in.TimeZone, dateArg(in.ImportFrom), dateArg(in.ImportTo),
				int64(in.SyncEvery/time.Second), in.PasswordSealed, now.Unix(), now.Unix()).Scan(&in.ID)
			if err != nil {
				return fmt.Errorf("save integration %s: %w", in.Name, err)
			}
			in.Created = now
		case err != nil:
			return fmt.Errorf("save integration %s: %w", in.Name, err)
		default:
			in.ID = id
			_, err = tx.exec(ctx, `UPDATE integrations SET kind = ?, base_url = ?, login_id = ?, account_name = ?, account_username = ?, timezone = ?, import_from = ?, import_to = ?, sync_every_s = ?, password_sealed = ?, updated_at = ? WHERE id = ?`,
				in.Kind, in.BaseURL, in.LoginID, in.AccountName, in.AccountUsername, in.TimeZone, dateArg(in.ImportFrom), dateArg(in.ImportTo),
				int64(in.SyncEvery/time.Second), in.PasswordSealed, now.Unix(), id)
			if err != nil {
				return fmt.Errorf("save integration %s: %w", in.Name, err)
			}
		}
		in.Updated = now
		return nil
	})
}

type rowScanner interface{ Scan(...any) error }

func scanIntegration(r rowScanner) (*Integration, error) {
	var in Integration
	var from, to sql.NullString
	var every, created, updated, pending int64
	if err := r.Scan(&in.ID, &in.Kind, &in.Name, &in.BaseURL, &in.LoginID, &in.AccountName, &in.AccountUsername, &in.TimeZone, &from, &to, &every, &in.PasswordSealed, &created, &updated, &pending, &in.LoadExpected); err != nil {
		return nil, err
	}
	var err error
	if in.ImportFrom, err = dateValue(from); err != nil {
		return nil, err
	}
	if in.ImportTo, err = dateValue(to); err != nil {
		return nil, err
	}
	in.SyncEvery = time.Duration(every) * time.Second
	in.Created, in.Updated = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	if pending > 0 {
		in.LoadPending = time.Unix(pending, 0).UTC()
	}
	return &in, nil
}

// MarkLoadPending records that a load of expected rows into the integration
// begins; LoadFinished clears it. A load that never finishes leaves it.
func (s *Store) MarkLoadPending(ctx context.Context, integrationID, expected int64) error {
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE integrations SET load_pending_at = ?, load_expected = ? WHERE id = ?`, time.Now().Unix(), expected, integrationID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark the load as under way: %w", err)
	}
	return nil
}

// LoadFinished clears the mark of MarkLoadPending.
func (s *Store) LoadFinished(ctx context.Context, integrationID int64) error {
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE integrations SET load_pending_at = 0, load_expected = 0 WHERE id = ?`, integrationID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark the load as finished: %w", err)
	}
	return nil
}

// PartialNote says, when a load into the integration did not finish, that
// its figures are partial and what to do; "" otherwise.
func (in *Integration) PartialNote() string {
	if in.LoadPending.IsZero() {
		return ""
	}
	return fmt.Sprintf("a load into %s that began %s did not finish (its files hold %d rows): the figures are partial; run the same konduit load again to finish it",
		in.Name, in.LoadPending.Local().Format(time.DateTime), in.LoadExpected)
}

// Integration finds an integration by name; ErrNotFound when there is none.
func (s *Store) Integration(ctx context.Context, name string) (*Integration, error) {
	in, err := scanIntegration(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+integrationCols+` FROM integrations WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("integration %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read integration %q: %w", name, err)
	}
	return in, nil
}

// IntegrationByID finds an integration by id.
func (s *Store) IntegrationByID(ctx context.Context, id int64) (*Integration, error) {
	in, err := scanIntegration(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+integrationCols+` FROM integrations WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("integration #%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read integration #%d: %w", id, err)
	}
	return in, nil
}

// Integrations lists every integration by name.
func (s *Store) Integrations(ctx context.Context) ([]Integration, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+integrationCols+` FROM integrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	defer rows.Close()
	var out []Integration
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			return nil, fmt.Errorf("list integrations: %w", err)
		}
		out = append(out, *in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	return out, nil
}
