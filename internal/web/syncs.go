package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/schedule"
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

// syncer wires the dashboard to the scheduler (internal/schedule): "Sync
// Data" queues a sync job, this process works jobs like any konduit
// worker, and the syncs it runs report their progress here.
type syncer struct {
	s      *Server
	sched  *schedule.Scheduler
	mu     sync.Mutex
	states map[string]*syncState
	jobs   []int64 // queued from here, for wait
	base   context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

func newSyncer(s *Server) (*syncer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	y := &syncer{s: s, states: map[string]*syncState{}, base: ctx, stop: cancel}
	sched, err := schedule.New(ctx, schedule.Options{Store: s.st, DSN: s.opts.DSN, Logger: s.log, Now: s.opts.Now, Tick: s.opts.SyncTick,
		Client: integration.ClientOptions{Rate: s.opts.SyncRate}, Started: y.started, Progress: y.progress, Finished: y.finished})
	if err != nil {
		cancel()
		return nil, err
	}
	y.sched = sched
	if err := sched.Start(); err != nil {
		sched.Close()
		cancel()
		return nil, err
	}
	return y, nil
}

func (y *syncer) state(name string) syncState {
	y.mu.Lock()
	defer y.mu.Unlock()
	if st, ok := y.states[name]; ok {
		return *st
	}
	return syncState{}
}

func (y *syncer) started(in *store.Integration) {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.states[in.Name] = &syncState{Running: true, Started: y.s.opts.Now(), Left: -1}
}

func (y *syncer) progress(in *store.Integration, p ksync.Progress) {
	y.mu.Lock()
	defer y.mu.Unlock()
	st, ok := y.states[in.Name]
	if !ok {
		return
	}
	st.Entity, st.Phase, st.Rows, st.Expected, st.Requests, st.Left = p.Entity, p.Phase, p.Rows, p.Expected, p.Requests, -1
	if left, ok := p.Left(y.s.opts.Now().Sub(st.Started)); ok {
		st.Left = int64(left.Round(time.Second) / time.Second)
	}
	st.Day = p.Day.String()
}

func (y *syncer) finished(in *store.Integration, res integration.SyncResult, err error) {
	y.mu.Lock()
	st, ok := y.states[in.Name]
	if !ok {
		st = &syncState{}
		y.states[in.Name] = st
	}
	st.Running, st.Finished, st.Counts, st.Error = false, y.s.opts.Now(), res.Rows, ""
	if err != nil {
		st.Error = err.Error()
	}
	y.mu.Unlock()
	if err != nil {
		y.s.log.Error("dashboard: sync failed", "integration", in.Name, "err", err)
		return
	}
	y.s.log.Info("dashboard: synced", "integration", in.Name, "rows", res.Rows.Total(), "took", res.Elapsed.Round(time.Millisecond))
	y.wg.Add(1)
	goSafely(y.s.log, "warm reports", func() {
		defer y.wg.Done()
		y.s.warmReports(y.base, in.Name)
	})
}

// start queues a sync of the named integration; ErrSyncRunning when one is
// already queued or running.
func (y *syncer) start(ctx context.Context, name string) error {
	in, err := y.s.st.Integration(ctx, name)
	if err != nil {
		return err
	}
	if in.Kind != store.KindKonnektive {
		return fmt.Errorf("integration %s holds %s data, not a Konnektive account", name, in.Kind)
	}
	id, queued, err := y.sched.SyncNow(ctx, in)
	if err != nil {
		return err
	}
	y.mu.Lock()
	y.jobs = append(y.jobs, id)
	if st, ok := y.states[name]; !ok || !st.Running {
		y.states[name] = &syncState{Running: true, Started: y.s.opts.Now(), Left: -1}
	}
	y.mu.Unlock()
	if !queued {
		return ErrSyncRunning
	}
	return nil
}

// due queues the integrations due now (the scheduler's tick does this on
// its own; tests call it with their clock).
func (y *syncer) due(ctx context.Context) {
	ids, err := y.sched.Due(ctx)
	if err != nil {
		y.s.log.Error("dashboard: scheduler", "err", err)
	}
	y.mu.Lock()
	y.jobs = append(y.jobs, ids...)
	y.mu.Unlock()
}

// wait blocks until the syncs queued from here have ended (or failed once)
// and their reports are warm.
func (y *syncer) wait() {
	y.mu.Lock()
	jobs := y.jobs
	y.jobs = nil
	y.mu.Unlock()
	for _, id := range jobs {
		if _, err := y.sched.Wait(y.base, id); err != nil && y.base.Err() == nil {
			y.s.log.Error("dashboard: wait for a sync", "job", id, "err", err)
		}
	}
	y.wg.Wait()
}

// schedule works jobs until ctx is done, then stops: running syncs are
// cancelled (their committed pages stay; the job is retried).
func (y *syncer) schedule(ctx context.Context) {
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
	<-ctx.Done()
	y.close()
}

// close stops the scheduler and waits for what it started.
func (y *syncer) close() {
	y.once.Do(func() {
		if err := y.sched.Stop(); err != nil {
			y.s.log.Error("dashboard: stop the scheduler", "err", err)
		}
		y.stop()
		y.wg.Wait()
		y.sched.Close()
	})
}
