package integration

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
	ksync "github.com/konduit/konduit/internal/sync"
)

// SyncOptions say how to run one sync.
type SyncOptions struct {
	Store       *store.Store
	DSN         string // finds the key sealing the saved password
	Integration *store.Integration
	// Password, when set, is used instead of Password(DSN, Integration).
	Password string
	Client   ClientOptions
	Lookback int // days; ksync's default when 0, none when negative
	// Wait makes a sync that finds the integration syncing wait for the
	// other to end instead of returning a *BusyError.
	Wait    bool
	LockTTL time.Duration // DefaultLockTTL when 0
	// NoRollup leaves the rollup refresh to the caller (the scheduler runs
	// it as its own job); by default Sync refreshes the rollups when the
	// run ends.
	NoRollup bool
	Progress func(ksync.Progress)
	Logger   *slog.Logger
}

// SyncResult is what one sync did and what it cost on the wire.
type SyncResult struct {
	ksync.Summary
	Elapsed time.Duration
	Network time.Duration // time spent in HTTP round trips
	Bytes   int64         // response bytes
}

// Sync runs one sync of a Konnektive integration under its sync lock: it
// unseals the password, builds the client, takes the lock (or returns a
// *BusyError, or waits with Wait), runs internal/sync, refreshes the
// rollups unless NoRollup, and frees the lock. A lock lost mid-run (the
// database unreachable for a whole TTL) stops the run: what it committed
// stays, the next run resumes.
func Sync(ctx context.Context, o SyncOptions) (SyncResult, error) {
	in := o.Integration
	if in.Kind != store.KindKonnektive {
		return SyncResult{}, exitcode.Usagef("integration %s holds %s data, not a Konnektive account", in.Name, in.Kind)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	password := o.Password
	if password == "" {
		var err error
		if password, err = Password(ctx, o.DSN, in); err != nil {
			return SyncResult{}, err
		}
	}
	counter := ksync.NewRetryCounter(o.Logger.Handler())
	meter := &ksync.Meter{Next: o.Client.Transport}
	co := o.Client
	co.Logger, co.Transport = slog.New(counter), meter
	client, err := Client(in, password, co)
	if err != nil {
		return SyncResult{}, err
	}
	var lock *Lock
	if o.Wait {
		lock, err = AcquireWait(ctx, o.Store, in, o.LockTTL, time.Second)
	} else {
		lock, err = Acquire(ctx, o.Store, in, o.LockTTL)
	}
	if err != nil {
		return SyncResult{}, err
	}
	defer lock.Release(ctx)
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-lock.Lost():
			cancel(fmt.Errorf("sync %s: lost the sync lock", in.Name))
		case <-runCtx.Done():
		}
	}()
	opts := ksync.Options{Store: o.Store, API: client, Integration: in, Lookback: o.Lookback, Retries: counter.Count,
		Logger: o.Logger, Progress: o.Progress, NoRollup: o.NoRollup}
	start := time.Now()
	sum, err := ksync.Run(runCtx, opts)
	res := SyncResult{Summary: sum, Elapsed: time.Since(start)}
	_, res.Bytes, res.Network = meter.Stats()
	if err != nil && context.Cause(runCtx) != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", context.Cause(runCtx), err)
	}
	return res, err
}

// Refresh brings in's rollups up to date (the job that follows a sync).
func Refresh(ctx context.Context, s *store.Store, in *store.Integration) (*rollup.Result, error) {
	return rollup.Refresh(ctx, s, in)
}
