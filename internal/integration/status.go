package integration

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// Status is what `konduit status` and the dashboard show of an integration
// beside its settings: its last run, when the next is due, how far behind
// its data is, whether it is paused or syncing now.
type Status struct {
	store.Integration
	Paused  bool
	LastRun *store.Run // nil: never synced
	LastOK  time.Time  // when the last successful run ended; zero: never
	// Next is when the scheduler runs it next (zero: not scheduled: no
	// frequency, paused, or not a Konnektive account); in the past when due.
	Next time.Time
	// Lag is how old its data is: the time since the last successful run
	// ended (0 when it never ran).
	Lag          time.Duration
	SyncingSince time.Time // zero when no sync holds its lock
	SyncingOwner string
}

// Scheduled reports whether the scheduler syncs in on its own.
func Scheduled(in *store.Integration, paused bool) bool {
	return in.Kind == store.KindKonnektive && in.SyncEvery > 0 && !paused && len(in.PasswordSealed) > 0
}

// NextRun is the one rule for when a scheduled integration is synced next:
// its frequency after its last run started, or now when it never ran.
func NextRun(every time.Duration, lastStart, now time.Time) time.Time {
	if lastStart.IsZero() {
		return now
	}
	return lastStart.Add(every)
}

// StatusOf is the status of one integration at now.
func StatusOf(ctx context.Context, s *store.Store, in *store.Integration, now time.Time) (Status, error) {
	st := Status{Integration: *in}
	var err error
	if st.Paused, err = Paused(ctx, s, in.ID); err != nil {
		return st, err
	}
	runs, err := s.Runs(ctx, in.ID, 1)
	if err != nil {
		return st, err
	}
	var lastStart time.Time
	if len(runs) > 0 {
		st.LastRun = &runs[0]
		lastStart = runs[0].Started
	}
	var ok sql.NullInt64
	if err := s.DB().QueryRowContext(ctx, s.Rebind(`SELECT MAX(finished_at) FROM sync_runs WHERE integration_id = ? AND status = ?`), in.ID, store.RunOK).Scan(&ok); err != nil {
		return st, fmt.Errorf("read the last successful run: %w", err)
	}
	if ok.Valid {
		st.LastOK = time.Unix(ok.Int64, 0).UTC()
		st.Lag = now.Sub(st.LastOK)
	}
	if Scheduled(in, st.Paused) {
		st.Next = NextRun(in.SyncEvery, lastStart, now)
	}
	var owner string
	var since int64
	err = s.DB().QueryRowContext(ctx, s.Rebind(`SELECT owner, since_ms FROM sync_locks WHERE integration_id = ? AND heartbeat_ms >= ?`), in.ID, now.Add(-DefaultLockTTL).UnixMilli()).Scan(&owner, &since)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return st, fmt.Errorf("read the sync lock: %w", err)
	default:
		st.SyncingOwner, st.SyncingSince = owner, time.UnixMilli(since)
	}
	return st, nil
}

// Statuses lists every integration's status, by name.
func Statuses(ctx context.Context, s *store.Store, now time.Time) ([]Status, error) {
	all, err := s.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(all))
	for i := range all {
		st, err := StatusOf(ctx, s, &all[i], now)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
