package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/store"
	ksync "github.com/konduit/konduit/internal/sync"
)

// ErrSyncRunning says a sync of the integration is already under way.
var ErrSyncRunning = errors.New("a sync of this integration is already running")

// syncState is what the progress endpoint reports. It holds no secret.
type syncState struct {
	Running  bool         `json:"running"`
	Entity   string       `json:"entity,omitempty"`
	Phase    string       `json:"phase,omitempty"`
	Day      string       `json:"day,omitempty"`
	Rows     int64        `json:"rows"`
	Expected int64        `json:"expected"` // rows the passes under way hold, by the API's counts (an estimate; 0 until known)
	Requests int64        `json:"requests"`
	Left     int64        `json:"secondsLeft"` // estimated seconds to go; -1 until known
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Error    string       `json:"error,omitempty"`
	Counts   store.Counts `json:"counts,omitempty"` // rows of the finished run
}

// syncer runs syncs in the background, one at a time per integration.
type syncer struct {
	s      *Server
	mu     sync.Mutex
	states map[string]*syncState
	wg     sync.WaitGroup
	base   context.Context // the server's lifetime; syncs stop with it
	stop   context.CancelFunc
}

func newSyncer(s *Server) *syncer {
	ctx, cancel := context.WithCancel(context.Background())
	return &syncer{s: s, states: map[string]*syncState{}, base: ctx, stop: cancel}
}

func (y *syncer) state(name string) syncState {
	y.mu.Lock()
	defer y.mu.Unlock()
	if st, ok := y.states[name]; ok {
		return *st
	}
	return syncState{}
}

// start begins a sync of the named integration in the background. A panic
// in the sync ends it with errInternal; the server stays up.
func (y *syncer) start(ctx context.Context, name string) error {
	in, err := y.s.st.Integration(ctx, name)
	if err != nil {
		return err
	}
	if in.Kind != store.KindKonnektive {
		return fmt.Errorf("integration %s holds %s data, not a Konnektive account", name, in.Kind)
	}
	y.mu.Lock()
	if st, ok := y.states[name]; ok && st.Running {
		y.mu.Unlock()
		return ErrSyncRunning
	}
	st := &syncState{Running: true, Started: y.s.opts.Now()}
	y.states[name] = st
	y.wg.Add(1)
	y.mu.Unlock()
	go func() {
		defer y.wg.Done()
		var sum ksync.Summary
		err := safely(y.s.log, "sync "+name, func() (err error) {
			sum, err = y.run(y.base, in)
			return err
		})
		y.mu.Lock()
		defer y.mu.Unlock()
		st.Running, st.Finished = false, y.s.opts.Now()
		st.Counts = sum.Rows
		if err != nil {
			st.Error = err.Error()
			y.s.log.Error("dashboard: sync failed", "integration", name, "err", err)
			return
		}
		y.s.log.Info("dashboard: synced", "integration", name, "rows", sum.Rows.Total(), "took", sum.Elapsed.Round(time.Millisecond))
		y.wg.Add(1)
		goSafely(y.s.log, "warm reports", func() {
			defer y.wg.Done()
			y.s.warmReports(y.base, name)
		})
	}()
	return nil
}

// run is one sync of in (integration.Sync: its lock, password, client).
func (y *syncer) run(ctx context.Context, in *store.Integration) (ksync.Summary, error) {
	res, err := integration.Sync(ctx, integration.SyncOptions{
		Store: y.s.st, DSN: y.s.opts.DSN, Integration: in, Logger: y.s.log,
		Client: integration.ClientOptions{Rate: y.s.opts.SyncRate},
		Progress: func(p ksync.Progress) {
			y.mu.Lock()
			defer y.mu.Unlock()
			st := y.states[in.Name]
			st.Entity, st.Phase, st.Rows, st.Expected, st.Requests, st.Left = p.Entity, p.Phase, p.Rows, p.Expected, p.Requests, -1
			if left, ok := p.Left(y.s.opts.Now().Sub(st.Started)); ok {
				st.Left = int64(left.Round(time.Second) / time.Second)
			}
			st.Day = p.Day.String()
		},
	})
	return res.Summary, err
}

// wait blocks until no sync is running.
func (y *syncer) wait() { y.wg.Wait() }

// schedule starts, every minute, the syncs whose frequency says they are
// due, until ctx is done; then it stops running syncs and waits for them.
func (y *syncer) schedule(ctx context.Context) {
	defer func() {
		y.stop()
		y.wg.Wait()
	}()
	// compute the default reports of every integration once, so the first
	// visit does not wait for a cohort table over the whole history
	y.wg.Add(1)
	goSafely(y.s.log, "warm reports", func() {
		defer y.wg.Done()
		all, err := y.s.st.Integrations(y.base)
		if err != nil {
			return
		}
		for _, in := range all {
			y.s.warmReports(y.base, in.Name)
		}
	})
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		// a panic in one round is logged; the next round runs
		safely(y.s.log, "scheduler", func() error { y.due(ctx); return nil })
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// due starts every Konnektive integration with a sync frequency whose last
// run started at least that long ago (or never ran).
func (y *syncer) due(ctx context.Context) {
	all, err := y.s.st.Integrations(ctx)
	if err != nil {
		y.s.log.Error("dashboard: scheduler", "err", err)
		return
	}
	now := y.s.opts.Now()
	for _, in := range all {
		if in.Kind != store.KindKonnektive || in.SyncEvery <= 0 || len(in.PasswordSealed) == 0 {
			continue
		}
		runs, err := y.s.st.Runs(ctx, in.ID, 1)
		if err != nil {
			y.s.log.Error("dashboard: scheduler", "integration", in.Name, "err", err)
			continue
		}
		if len(runs) > 0 && now.Sub(runs[0].Started) < in.SyncEvery {
			continue
		}
		if err := y.start(ctx, in.Name); err != nil && !errors.Is(err, ErrSyncRunning) {
			y.s.log.Error("dashboard: scheduled sync", "integration", in.Name, "err", err)
		}
	}
}
