package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Sync phases of an entity.
const (
	PhaseBackfill    = "backfill"    // walking the import range by dateCreated
	PhaseIncremental = "incremental" // walking recent days by dateUpdated
	PhaseIdle        = "idle"        // between passes
)

// Checkpoint is where one entity's sync stands. Day, WindowTo and Page name
// the next page to fetch: the window Day..WindowTo of the pass in progress
// (WindowTo zero: the rest of the pass, not yet sized) and its page.
type Checkpoint struct {
	Entity       string
	Phase        string
	PassFrom     crm.Date // first day of the pass in progress
	PassTo       crm.Date // last day of the pass in progress
	PassStarted  crm.Date // account day the pass began
	Day          crm.Date // first day of the window being walked
	WindowTo     crm.Date // last day of that window; zero: PassTo, to be sized
	Page         int      // next page of the window (1-based)
	BackfillFrom crm.Date // the import range a finished backfill covered
	BackfillTo   crm.Date
	Watermark    crm.Date // rows updated on or after this day are still to read
}

// Checkpoint reads an entity's checkpoint; ok is false when it has none.
func (s *Store) Checkpoint(ctx context.Context, integrationID int64, entity string) (cp Checkpoint, ok bool, err error) {
	var phase string
	var from, to, started, day, winTo, bfFrom, bfTo, wm sql.NullString
	var page int64
	err = s.db.QueryRowContext(ctx, s.Rebind(`SELECT phase, pass_from, pass_to, pass_started, day, window_to, page, backfill_from, backfill_to, watermark
		FROM sync_checkpoints WHERE integration_id = ? AND entity = ?`), integrationID, entity).
		Scan(&phase, &from, &to, &started, &day, &winTo, &page, &bfFrom, &bfTo, &wm)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{Entity: entity}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("read checkpoint %s: %w", entity, err)
	}
	cp = Checkpoint{Entity: entity, Phase: phase, Page: int(page)}
	for _, f := range []struct {
		dst *crm.Date
		src sql.NullString
	}{{&cp.PassFrom, from}, {&cp.PassTo, to}, {&cp.PassStarted, started}, {&cp.Day, day}, {&cp.WindowTo, winTo}, {&cp.BackfillFrom, bfFrom}, {&cp.BackfillTo, bfTo}, {&cp.Watermark, wm}} {
		if *f.dst, err = dateValue(f.src); err != nil {
			return Checkpoint{}, false, fmt.Errorf("read checkpoint %s: %w", entity, err)
		}
	}
	return cp, true, nil
}

// SaveCheckpoint writes an entity's checkpoint in the transaction, so it
// commits with the page's rows or not at all.
func (tx *Tx) SaveCheckpoint(ctx context.Context, integrationID int64, cp Checkpoint) error {
	_, err := tx.exec(ctx, `INSERT INTO sync_checkpoints (integration_id, entity, phase, pass_from, pass_to, pass_started, day, window_to, page, backfill_from, backfill_to, watermark, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (integration_id, entity) DO UPDATE SET phase = excluded.phase, pass_from = excluded.pass_from, pass_to = excluded.pass_to,
		pass_started = excluded.pass_started, day = excluded.day, window_to = excluded.window_to, page = excluded.page, backfill_from = excluded.backfill_from,
		backfill_to = excluded.backfill_to, watermark = excluded.watermark, updated_at = excluded.updated_at`,
		integrationID, cp.Entity, cp.Phase, dateArg(cp.PassFrom), dateArg(cp.PassTo), dateArg(cp.PassStarted), dateArg(cp.Day), dateArg(cp.WindowTo), int64(cp.Page),
		dateArg(cp.BackfillFrom), dateArg(cp.BackfillTo), dateArg(cp.Watermark), time.Now().Unix())
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", cp.Entity, err)
	}
	return nil
}

// ResetCheckpoints forgets where every entity's sync stands, so the next sync
// backfills the import range again (rows are kept and upserted).
func (s *Store) ResetCheckpoints(ctx context.Context, integrationID int64) error {
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM sync_checkpoints WHERE integration_id = ?`, integrationID)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset checkpoints: %w", err)
	}
	return nil
}

// Run statuses.
const (
	RunRunning     = "running"
	RunOK          = "ok"
	RunFailed      = "failed"
	RunInterrupted = "interrupted" // the process stopped (Ctrl-C, a crash) before the run ended
)

// RunDelta is what a page (or a run) added.
type RunDelta struct {
	Rows         Counts // rows upserted per entity
	Pages        int64
	Requests     int64 // page requests, retries not included
	Retries      int64
	Quarantined  int64 // rows set aside because they could not be read
	DSTAmbiguous int64
	DSTGap       int64
}

// Add adds d into r.
func (r *RunDelta) Add(d RunDelta) {
	if r.Rows == nil {
		r.Rows = Counts{}
	}
	for k, v := range d.Rows {
		r.Rows[k] += v
	}
	r.Pages += d.Pages
	r.Requests += d.Requests
	r.Retries += d.Retries
	r.Quarantined += d.Quarantined
	r.DSTAmbiguous += d.DSTAmbiguous
	r.DSTGap += d.DSTGap
}

// Run is one sync run of an integration.
type Run struct {
	ID            int64
	IntegrationID int64
	Started       time.Time
	Finished      time.Time // zero while running
	Status        string    // RunInterrupted for a run recorded running whose process is gone (see Stale)
	RunDelta
	Error string
	Host  string    // the machine that ran it
	PID   int       // its process there
	Alive time.Time // its last sign of life (its start, or its last committed page)
}

// StaleAfter is how long a run recorded running on another machine may go
// without a committed page before it is shown as interrupted. On this
// machine a run is interrupted as soon as its process is gone.
const StaleAfter = 15 * time.Minute

// stale reports whether a run recorded running has no process left: on this
// machine its pid is gone (or is another program's), elsewhere it has been
// silent for StaleAfter.
func (r *Run) stale(now time.Time) bool {
	if r.Status != RunRunning {
		return false
	}
	if r.Host == hostname() && r.PID > 0 {
		return !processAlive(r.PID)
	}
	return now.Sub(r.Alive) > StaleAfter
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// StartRun records a new running run. Runs of the integration still marked
// running were cut short (kill -9, power loss) and become interrupted.
func (s *Store) StartRun(ctx context.Context, integrationID int64) (int64, error) {
	var id int64
	err := s.Update(ctx, func(tx *Tx) error {
		now := time.Now().Unix()
		if _, err := tx.exec(ctx, `UPDATE sync_runs SET status = ?, finished_at = ? WHERE integration_id = ? AND status = ?`, RunInterrupted, now, integrationID, RunRunning); err != nil {
			return err
		}
		return tx.c.QueryRowContext(ctx, rebind(tx.backend, `INSERT INTO sync_runs (integration_id, started_at, status, host, pid, alive_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			integrationID, now, RunRunning, hostname(), int64(os.Getpid()), now).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("start sync run: %w", err)
	}
	return id, nil
}

// AddToRun adds a page's counts to the run in the page's transaction.
func (tx *Tx) AddToRun(ctx context.Context, runID int64, d RunDelta) error {
	_, err := tx.exec(ctx, `UPDATE sync_runs SET customers = customers + ?, orders = orders + ?, transactions = transactions + ?, purchases = purchases + ?,
		pages = pages + ?, requests = requests + ?, retries = retries + ?, quarantined = quarantined + ?, dst_ambiguous = dst_ambiguous + ?, dst_gap = dst_gap + ?, alive_at = ? WHERE id = ?`,
		d.Rows[Customers], d.Rows[Orders], d.Rows[Transactions], d.Rows[Purchases], d.Pages, d.Requests, d.Retries, d.Quarantined, d.DSTAmbiguous, d.DSTGap, time.Now().Unix(), runID)
	if err != nil {
		return fmt.Errorf("update sync run: %w", err)
	}
	return nil
}

// FinishRun records how a run ended. errText must hold no secret.
func (s *Store) FinishRun(ctx context.Context, runID int64, status, errText string) error {
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE sync_runs SET status = ?, finished_at = ?, error = ? WHERE id = ?`, status, time.Now().Unix(), errText, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish sync run: %w", err)
	}
	return nil
}

// Runs lists an integration's latest runs, newest first.
func (s *Store) Runs(ctx context.Context, integrationID int64, limit int) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id, integration_id, started_at, finished_at, status, customers, orders, transactions, purchases, pages, requests, retries, quarantined, dst_ambiguous, dst_gap, error, host, pid, alive_at
		FROM sync_runs WHERE integration_id = ? ORDER BY id DESC LIMIT ?`), integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list sync runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, pid, alive int64
		var finished sql.NullInt64
		var c, o, t, p int64
		if err := rows.Scan(&r.ID, &r.IntegrationID, &started, &finished, &r.Status, &c, &o, &t, &p, &r.Pages, &r.Requests, &r.Retries, &r.Quarantined, &r.DSTAmbiguous, &r.DSTGap, &r.Error, &r.Host, &pid, &alive); err != nil {
			return nil, fmt.Errorf("list sync runs: %w", err)
		}
		r.Started, r.PID, r.Alive = time.Unix(started, 0).UTC(), int(pid), time.Unix(alive, 0).UTC()
		if r.stale(time.Now()) {
			r.Status = RunInterrupted
			if r.Error == "" {
				r.Error = "the process running this sync stopped (killed, or the machine went down) before it ended"
			}
		}
		if finished.Valid {
			r.Finished = time.Unix(finished.Int64, 0).UTC()
		}
		r.Rows = Counts{Customers: c, Orders: o, Transactions: t, Purchases: p}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sync runs: %w", err)
	}
	return out, nil
}

// SyncError is a failure the sync recorded for `konduit status`.
type SyncError struct {
	IntegrationID int64
	RunID         int64
	At            time.Time
	Entity        string
	Day           crm.Date // the window's first day
	DayTo         crm.Date // its last day (zero when the error had no window)
	Page          int
	Message       string // must hold no secret
}

// RecordError keeps a sync failure.
func (s *Store) RecordError(ctx context.Context, e SyncError) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO sync_errors (integration_id, run_id, at, entity, day, day_to, page, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			e.IntegrationID, e.RunID, e.At.Unix(), e.Entity, dateArg(e.Day), dateArg(e.DayTo), int64(e.Page), e.Message)
		return err
	})
	if err != nil {
		return fmt.Errorf("record sync error: %w", err)
	}
	return nil
}

// Errors lists an integration's latest sync errors, newest first.
func (s *Store) Errors(ctx context.Context, integrationID int64, limit int) ([]SyncError, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT integration_id, COALESCE(run_id, 0), at, entity, day, day_to, page, message FROM sync_errors WHERE integration_id = ? ORDER BY id DESC LIMIT ?`), integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list sync errors: %w", err)
	}
	defer rows.Close()
	var out []SyncError
	for rows.Next() {
		var e SyncError
		var at, page int64
		var day, dayTo sql.NullString
		if err := rows.Scan(&e.IntegrationID, &e.RunID, &at, &e.Entity, &day, &dayTo, &page, &e.Message); err != nil {
			return nil, fmt.Errorf("list sync errors: %w", err)
		}
		e.At, e.Page = time.Unix(at, 0).UTC(), int(page)
		if e.Day, err = dateValue(day); err != nil {
			return nil, fmt.Errorf("list sync errors: %w", err)
		}
		if e.DayTo, err = dateValue(dayTo); err != nil {
			return nil, fmt.Errorf("list sync errors: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sync errors: %w", err)
	}
	return out, nil
}
