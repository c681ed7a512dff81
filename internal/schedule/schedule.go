// Package schedule runs the syncs of every integration as jobs on River
// (github.com/riverqueue/river), on PostgreSQL (riverpgxv5) or on the
// embedded SQLite database (riversqlite), with one design for both:
//
//   - A periodic tick job (TickArgs), inserted by River's elected leader
//     only, asks integration.NextRun which integrations are due (frequency
//     set, not paused, a saved password) and inserts a sync job for each.
//   - A sync job (SyncArgs) syncs one integration with integration.Sync
//     (its cross-process lock, password, client). Sync jobs are unique per
//     integration while available, scheduled, running or retryable: a tick,
//     a "sync now" and a retry never make two. A failed sync is retried
//     with a capped exponential backoff (NextRetry); after MaxAttempts River
//     discards it and the next tick schedules the integration again, so an
//     outage never ends its schedule. A sync that finds the integration's
//     lock held (a CLI sync, or a killed worker whose lock has not expired)
//     snoozes and tries again. A refusal (login, allow-list, permission)
//     or a bad setting ends the job at once (retrying cannot cure it); the
//     next run is the next tick's. An attempt is bounded (JobTimeout): a longer
//     sync goes on from its last committed page as a new attempt.
//   - A rollup job (RollupArgs) refreshes the integration's rollups after a
//     sync, as its own job (unique per integration likewise). Reports stay
//     right meanwhile: they read the transactions while dirty marks remain.
//
// Jobs live in the database, so they survive restarts; any number of
// processes (konduit worker on several machines sharing one PostgreSQL,
// or serve) work them. A worker killed mid-sync leaves its job running:
// River's rescuer makes it retryable once RescueAfter has passed since the
// attempt began (River never rescues a job before its timeout, which is why
// attempts are bounded), and another worker resumes the sync from its last
// committed page once the dead worker's sync lock has expired.
//
// River's tables are created by River's own migrator (rivermigrate) when a
// Scheduler opens, under an advisory lock on PostgreSQL, beside the store's
// migrations (which River's tables do not touch).
package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/store"
	ksync "github.com/konduit/konduit/internal/sync"
)

// Queue is the River queue konduit's jobs run in.
const Queue = "konduit"

// TickQueue runs the tick alone, so a busy worker never delays it.
const TickQueue = "konduit_tick"

// Defaults of Options.
const (
	DefaultTick        = 15 * time.Second
	DefaultJobTimeout  = 10 * time.Minute
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultMaxAttempts = 12
	DefaultWorkers     = 2
)

// uniqueStates are the states in which a job of one integration blocks
// another: not completed, so the next tick can schedule it again.
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// SyncArgs is the job that syncs one integration.
type SyncArgs struct {
	IntegrationID int64 `json:"integration_id"`
}

// Kind names the job in River's tables.
func (SyncArgs) Kind() string { return "konduit_sync" }

// InsertOpts make sync jobs unique per integration.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// RollupArgs is the job that refreshes one integration's rollups.
type RollupArgs struct {
	IntegrationID int64 `json:"integration_id"`
}

// Kind names the job in River's tables.
func (RollupArgs) Kind() string { return "konduit_rollup" }

// InsertOpts make rollup jobs unique per integration.
func (RollupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// TickArgs is the periodic job that schedules the integrations due (in
// TickQueue).
type TickArgs struct{}

// Kind names the job in River's tables.
func (TickArgs) Kind() string { return "konduit_tick" }

// InsertOpts put the tick in konduit's queue.
func (TickArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: TickQueue} }

// Options configure a Scheduler.
type Options struct {
	Store *store.Store
	DSN   string // the store's DSN: River's connection, and the key of saved passwords
	// Workers is how many jobs this process runs at once (DefaultWorkers
	// when 0); negative: none, the scheduler only inserts jobs.
	Workers int
	// Tick is how often the leader looks for due integrations (DefaultTick
	// when 0); negative: never, the caller calls Due (a test's own clock).
	Tick time.Duration
	// JobTimeout bounds one attempt of a job (DefaultJobTimeout): a longer
	// sync (a big backfill) is cut there and goes on at once from its last
	// committed page, as a new attempt that does not count as a failure.
	JobTimeout time.Duration
	// RescueAfter is how long after it started a job whose worker died is
	// given to another (JobTimeout + 1 minute when 0; River checks every 30
	// s). It must exceed JobTimeout: River never takes a job from a worker
	// that may still be running it.
	RescueAfter time.Duration
	MaxBackoff  time.Duration // the longest wait between retries of a failed sync (DefaultMaxBackoff)
	MaxAttempts int           // attempts before River discards a sync (DefaultMaxAttempts); the next tick schedules it again
	LockTTL     time.Duration // the sync lock's time to live (integration.DefaultLockTTL)
	Client      integration.ClientOptions
	Lookback    int
	Logger      *slog.Logger
	// Progress, Started and Finished, when set, are told of the syncs
	// this process runs (the dashboard shows them).
	Progress func(in *store.Integration, p ksync.Progress)
	Started  func(in *store.Integration)
	Finished func(in *store.Integration, res integration.SyncResult, err error)
	// Now is the clock of the tick (time.Now when nil).
	Now func() time.Time
}

// riverClient is what the scheduler uses of a *river.Client[TTx], for
// either driver.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Scheduler runs konduit's jobs in this process.
type Scheduler struct {
	opts   Options
	client riverClient
	close  func()
}

// New opens River on the store's database, applies River's migrations, and
// builds the client. Run starts working; Close releases the connection.
func New(ctx context.Context, o Options) (*Scheduler, error) {
	if o.Store == nil || o.DSN == "" {
		return nil, errors.New("new scheduler: a store and its DSN are required")
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Tick == 0 {
		o.Tick = DefaultTick
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.RescueAfter <= o.JobTimeout {
		o.RescueAfter = o.JobTimeout + time.Minute
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Scheduler{opts: o}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{s: s})
	river.AddWorker(workers, &rollupWorker{s: s})
	river.AddWorker(workers, &tickWorker{s: s})
	cfg := &river.Config{
		Workers:              workers,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		MaxAttempts:          o.MaxAttempts,
		Logger:               riverLogger(o.Logger),
		FetchPollInterval:    time.Second,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.Tick),
			func() (river.JobArgs, *river.InsertOpts) { return TickArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true, ID: "konduit_tick"})},
	}
	if o.Workers < 0 || o.Tick < 0 {
		cfg.PeriodicJobs = nil // an insert-only client, or one whose caller calls Due, runs no tick
	}
	if o.Workers >= 0 {
		cfg.Queues = map[string]river.QueueConfig{Queue: {MaxWorkers: o.Workers}, TickQueue: {MaxWorkers: 1}}
	}
	var err error
	switch o.Store.Backend() {
	case store.Postgres:
		err = s.openPostgres(ctx, cfg)
	default:
		err = s.openSQLite(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Scheduler) openPostgres(ctx context.Context, cfg *river.Config) error {
	pool, err := pgxpool.New(ctx, s.opts.DSN)
	if err != nil {
		return fmt.Errorf("open the job queue: %w", err)
	}
	driver := riverpgxv5.New(pool)
	// River's migrator (a transaction per version: PostgreSQL cannot use a
	// new enum value in the transaction that adds it), under a session
	// advisory lock: workers starting together migrate once.
	err = func() error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7046813)`); err != nil {
			return err
		}
		defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7046813)`)
		return migrate(ctx, driver)
	}()
	if err != nil {
		pool.Close()
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		pool.Close()
		return fmt.Errorf("new job client: %w", err)
	}
	s.client, s.close = c, pool.Close
	return nil
}

func (s *Scheduler) openSQLite(ctx context.Context, cfg *river.Config) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+s.opts.Store.Path()+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open the job queue: %w", err)
	}
	// riversqlite's advice: one connection, so River's own operations never
	// meet SQLITE_BUSY among themselves (the store's writer waits on the
	// busy timeout).
	db.SetMaxOpenConns(1)
	driver := riversqlite.New(db)
	// River's migrator, a transaction per version; two processes opening a
	// new file together: the one that loses the race finds the versions
	// applied when it tries again
	for try := 0; ; try++ {
		if err = migrate(ctx, driver); err == nil || try == 3 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Duration(try+1) * 300 * time.Millisecond):
			continue
		}
		break
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		db.Close()
		return fmt.Errorf("new job client: %w", err)
	}
	s.client, s.close = c, func() { db.Close() }
	return nil
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// riverLogger passes River's warnings and errors on.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Run works jobs until ctx is done, then stops: running syncs are
// cancelled (their committed pages stay; the job is retried).
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Stop()
}

// Start starts working jobs in the background; Stop stops.
func (s *Scheduler) Start() error {
	if err := s.client.Start(context.Background()); err != nil {
		return fmt.Errorf("start the job client: %w", err)
	}
	return nil
}

// Stop stops working jobs: running syncs are cancelled (their committed
// pages stay; the job is retried).
func (s *Scheduler) Stop() error {
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if sc, ok := s.client.(interface{ StopAndCancel(context.Context) error }); ok {
		return sc.StopAndCancel(stop)
	}
	return s.client.Stop(stop)
}

// Close releases River's connection; call it after Run returned.
func (s *Scheduler) Close() { s.close() }

// SyncNow asks for a sync of in as soon as a worker is free ("sync now"):
// it returns the job's id, and false when a sync of in is already queued or
// running (that job's id).
func (s *Scheduler) SyncNow(ctx context.Context, in *store.Integration) (int64, bool, error) {
	if in.Kind != store.KindKonnektive {
		return 0, false, fmt.Errorf("integration %s holds %s data, not a Konnektive account", in.Name, in.Kind)
	}
	res, err := s.client.Insert(ctx, SyncArgs{IntegrationID: in.ID}, nil)
	if err != nil {
		return 0, false, fmt.Errorf("queue a sync of %s: %w", in.Name, err)
	}
	return res.Job.ID, !res.UniqueSkippedAsDuplicate, nil
}

// Wait blocks until the job ended (completed, discarded or cancelled) or
// failed once (retryable), or ctx is done.
func (s *Scheduler) Wait(ctx context.Context, jobID int64) (*rivertype.JobRow, error) {
	for {
		j, err := s.client.JobGet(ctx, jobID)
		if err != nil {
			return nil, err
		}
		switch j.State {
		case rivertype.JobStateCompleted, rivertype.JobStateDiscarded, rivertype.JobStateCancelled, rivertype.JobStateRetryable:
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Due queues a sync of every integration due at now and returns the ids
// of their jobs (a job already queued or running for one is its id).
func (s *Scheduler) Due(ctx context.Context) ([]int64, error) {
	now := s.opts.Now()
	sts, err := integration.Statuses(ctx, s.opts.Store, now)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, st := range sts {
		if st.Next.IsZero() || st.Next.After(now) {
			continue
		}
		res, err := s.client.Insert(ctx, SyncArgs{IntegrationID: st.ID}, nil)
		if err != nil {
			return ids, fmt.Errorf("schedule %s: %w", st.Name, err)
		}
		ids = append(ids, res.Job.ID)
	}
	return ids, nil
}

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	s *Scheduler
}

func (w *tickWorker) Work(ctx context.Context, job *river.Job[TickArgs]) error {
	ids, err := w.s.Due(ctx)
	if len(ids) > 0 {
		w.s.opts.Logger.Debug("scheduler: syncs due", "count", len(ids))
	}
	return err
}

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	s *Scheduler
}

// NextRetry backs off exponentially from 2 s, capped at MaxBackoff.
func (w *syncWorker) NextRetry(job *river.Job[SyncArgs]) time.Time {
	d := 2 * time.Second << min(job.Attempt, 20)
	return time.Now().Add(min(d, w.s.opts.MaxBackoff))
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	o := w.s.opts
	in, err := o.Store.IntegrationByID(ctx, job.Args.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err) // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if o.Started != nil {
		o.Started(in)
	}
	so := integration.SyncOptions{Store: o.Store, DSN: o.DSN, Integration: in, Client: o.Client, Lookback: o.Lookback,
		LockTTL: o.LockTTL, NoRollup: true, Logger: o.Logger}
	if o.Progress != nil {
		so.Progress = func(p ksync.Progress) { o.Progress(in, p) }
	}
	res, err := integration.Sync(ctx, so)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && res.RunID != 0 {
		// the attempt reached JobTimeout: what it read is committed; go on
		// from there as a new attempt, not a failure
		if o.Finished != nil {
			o.Finished(in, res, err)
		}
		if _, ierr := w.s.client.Insert(context.WithoutCancel(ctx), RollupArgs{IntegrationID: in.ID}, nil); ierr != nil {
			o.Logger.Warn("queue a rollup", "integration", in.Name, "err", ierr)
		}
		return river.JobSnooze(0)
	}
	var busy *integration.BusyError
	if errors.As(err, &busy) {
		// another process holds the lock: a live sync, or a dead worker's
		// lock until it expires; try again then
		if o.Finished != nil {
			o.Finished(in, res, err)
		}
		ttl := o.LockTTL
		if ttl <= 0 {
			ttl = integration.DefaultLockTTL
		}
		return river.JobSnooze(ttl / 2)
	}
	if o.Finished != nil {
		o.Finished(in, res, err)
	}
	if res.RunID != 0 {
		// what the run committed is worth a rollup, even when it failed
		if _, ierr := w.s.client.Insert(ctx, RollupArgs{IntegrationID: in.ID}, nil); ierr != nil && err == nil {
			err = ierr
		}
	}
	if err != nil && final(err) {
		// retrying cannot help (a refusal: login, IP allow-list,
		// permission; a setting): the job ends, the next tick tries again
		o.Logger.Warn("scheduled sync refused; not retried until its next run", "integration", in.Name, "err", err)
		return river.JobCancel(err)
	}
	if err != nil {
		o.Logger.Warn("scheduled sync failed; it will be retried", "integration", in.Name, "attempt", job.Attempt, "err", err)
	}
	return err
}

// final reports whether a sync error is one a retry cannot cure.
func final(err error) bool {
	var ue *exitcode.UsageError
	var ae *konnektive.AuthError
	return errors.As(err, &ue) || errors.As(err, &ae)
}

type rollupWorker struct {
	river.WorkerDefaults[RollupArgs]
	s *Scheduler
}

func (w *rollupWorker) Work(ctx context.Context, job *river.Job[RollupArgs]) error {
	in, err := w.s.opts.Store.IntegrationByID(ctx, job.Args.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	_, err = integration.Refresh(ctx, w.s.opts.Store, in)
	return err
}

// Timeout bounds one attempt of a sync.
func (w *syncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return w.s.opts.JobTimeout }
