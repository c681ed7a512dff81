// Package sync copies a Konnektive account into the store: a backfill of the
// import range by dateCreated in day windows, then incremental passes by
// dateUpdated over a lookback window, so late refunds and chargebacks (which
// restate their original transaction and bump its dateUpdated) are read
// again.
//
// Every page is one store transaction: the page's upserts, the entity's
// checkpoint (the next page to fetch) and the run's counters commit together
// or not at all. A sync killed at any point resumes at the page after the
// last one committed, and since rows are upserted by id, re-reading a page
// changes nothing: the database after a crash and a resume equals the one an
// uninterrupted sync produces.
//
// Per entity (customers, orders, purchases, transactions), a run:
//
//  1. finishes or starts the backfill of the import range (dateCreated,
//     ImportFrom..ImportTo or today), when it has not completed;
//  2. finishes an incremental pass a crash interrupted;
//  3. walks a new incremental pass (dateUpdated) from the watermark, the day
//     the last completed pass began, minus the lookback (default 60 days),
//     through today. Right after a pass completes in the same run (steps 1
//     or 2) no lookback is needed: the new pass starts at that pass's first
//     day, which covers every row updated while it walked.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
)

// DefaultLookback is how many days an incremental pass re-reads before the
// watermark.
const DefaultLookback = 60

// Options configure a Run.
type Options struct {
	Store       *store.Store
	API         konnektive.API
	Integration *store.Integration // ID, TimeZone, ImportFrom, ImportTo
	Lookback    int                // days; DefaultLookback when 0, none when negative
	Now         func() time.Time   // time.Now when nil
	Logger      *slog.Logger       // slog.Default() when nil
	// Progress, when set, is told of every committed page.
	Progress func(Progress)
	// Retries, when set, reports the client's retries so far (see
	// RetryCounter); the summary and the run record the difference.
	Retries func() int64

	hook func(point string) // tests: called at "fetched", "written" (before commit) and "committed"
}

// Progress is where a sync stands after a page.
type Progress struct {
	Entity   string
	Phase    string
	Day      crm.Date
	DaysDone int // days of the pass completed
	Days     int // days in the pass
	Rows     int64
}

// Summary is what a run did.
type Summary struct {
	RunID int64
	store.RunDelta
	Backfilled   []string      // entities whose backfill completed in this run
	Elapsed      time.Duration // the whole run
	StoreTime    time.Duration // inside store transactions (overlaps fetching: pages are committed while the next ones are fetched)
	StoreWait    time.Duration // fetching stood still because the store was behind: the store's cost to the run
	Windows      int           // day windows walked
	DriftRewalks int           // pages served again after rows shifted between pages
}

// entity ties a store table to its endpoint.
type entity struct {
	name string
	ep   konnektive.Endpoint
}

// Entities are walked in this order, parents first.
var entities = []entity{
	{store.Customers, konnektive.Customers},
	{store.Orders, konnektive.Orders},
	{store.Purchases, konnektive.Purchases},
	{store.Transactions, konnektive.Transactions},
}

// Run syncs one integration. A failure leaves every committed page in place
// and the run recorded as failed (or interrupted on ctx cancellation); the
// next Run resumes where this one stopped.
func Run(ctx context.Context, opts Options) (Summary, error) {
	if opts.Store == nil || opts.API == nil || opts.Integration == nil {
		return Summary{}, errors.New("sync: store, API and integration are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Lookback == 0 {
		opts.Lookback = DefaultLookback
	}
	if opts.Lookback < 0 {
		opts.Lookback = 0
	}
	loc, err := opts.Integration.Location()
	if err != nil {
		return Summary{}, err
	}
	if opts.Integration.ImportFrom.IsZero() {
		return Summary{}, fmt.Errorf("sync %s: the integration has no import start date", opts.Integration.Name)
	}
	start := time.Now()
	runID, err := opts.Store.StartRun(ctx, opts.Integration.ID)
	if err != nil {
		return Summary{}, err
	}
	r := &runner{opts: opts, loc: loc, runID: runID, sum: Summary{RunID: runID}}
	if opts.Retries != nil {
		r.retries0 = opts.Retries()
		r.retriesStart = r.retries0
	}
	r.w = startWriter(ctx, r)
	for _, e := range entities {
		if err = r.entity(ctx, e); err != nil {
			break
		}
	}
	if werr := r.w.stop(); err == nil {
		err = werr
	}
	r.sum.RunDelta, r.sum.StoreTime, r.sum.StoreWait = r.w.committed, r.w.storeTime, r.w.waited
	r.sum.Elapsed = time.Since(start)
	// The run's record is written even when ctx is done.
	fin := context.WithoutCancel(ctx)
	if err != nil {
		status := store.RunFailed
		if ctx.Err() != nil {
			status = store.RunInterrupted
		}
		_ = opts.Store.RecordError(fin, store.SyncError{IntegrationID: opts.Integration.ID, RunID: runID, Entity: r.cur.name, Day: r.cp.Day, Page: r.cp.Page, Message: err.Error()})
		_ = opts.Store.FinishRun(fin, runID, status, err.Error())
		return r.sum, err
	}
	if err := r.flushRetries(fin); err != nil {
		return r.sum, err
	}
	r.sum.Retries = r.retries0 - r.retriesStart
	if err := opts.Store.FinishRun(fin, runID, store.RunOK, ""); err != nil {
		return r.sum, err
	}
	// The reports' rollups follow what this run wrote.
	if _, err := rollup.Refresh(ctx, opts.Store, opts.Integration); err != nil {
		return r.sum, err
	}
	return r.sum, nil
}

type runner struct {
	opts     Options
	loc      *time.Location
	runID    int64
	sum      Summary
	cur      entity
	cp       store.Checkpoint
	retries0 int64 // the client's retry count already recorded
	w        *writer

	retriesStart int64
}

func (r *runner) today() crm.Date { return crm.DateOf(r.opts.Now().In(r.loc)) }

func (r *runner) save(ctx context.Context, cp store.Checkpoint) error {
	// Pages still queued carry older checkpoints: let them commit first.
	if err := r.w.flush(); err != nil {
		return err
	}
	err := r.opts.Store.Update(ctx, func(tx *store.Tx) error { return tx.SaveCheckpoint(ctx, r.opts.Integration.ID, cp) })
	if err == nil {
		r.cp = cp
	}
	return err
}

func (r *runner) entity(ctx context.Context, e entity) error {
	r.cur = e
	in := r.opts.Integration
	cp, ok, err := r.opts.Store.Checkpoint(ctx, in.ID, e.name)
	if err != nil {
		return err
	}
	r.cp = cp
	today := r.today()
	caughtUp := false

	// 1. The backfill, when it has not completed.
	if !ok || cp.BackfillTo.IsZero() {
		if !ok || cp.Phase != store.PhaseBackfill {
			to := in.ImportTo
			if to.IsZero() || today.Before(to) {
				to = today
			}
			cp = store.Checkpoint{Entity: e.name, Phase: store.PhaseBackfill, PassFrom: in.ImportFrom, PassTo: to, PassStarted: today, Day: in.ImportFrom, Page: 1}
			if err := r.save(ctx, cp); err != nil {
				return err
			}
		}
		if err := r.pass(ctx, e, konnektive.DateCreated); err != nil {
			return err
		}
		cp = r.cp
		cp.BackfillFrom, cp.BackfillTo = cp.PassFrom, cp.PassTo
		cp.Watermark = cp.PassStarted
		cp.Phase, cp.PassFrom, cp.PassTo, cp.PassStarted, cp.Day, cp.Page = store.PhaseIdle, crm.Date{}, crm.Date{}, crm.Date{}, crm.Date{}, 1
		if err := r.save(ctx, cp); err != nil {
			return err
		}
		r.sum.Backfilled = append(r.sum.Backfilled, e.name)
		caughtUp = true
	}

	// 2. An incremental pass a crash interrupted.
	if r.cp.Phase == store.PhaseIncremental {
		if err := r.pass(ctx, e, konnektive.DateUpdated); err != nil {
			return err
		}
		if err := r.finishIncremental(ctx); err != nil {
			return err
		}
		caughtUp = true
	}

	// 3. A new incremental pass.
	from := r.cp.Watermark
	if from.IsZero() {
		from = in.ImportFrom
	}
	if !caughtUp {
		from = crm.DateOf(from.In(time.UTC).AddDate(0, 0, -r.opts.Lookback))
	}
	if from.Before(in.ImportFrom) {
		from = in.ImportFrom
	}
	cp = r.cp
	cp.Phase, cp.PassFrom, cp.PassTo, cp.PassStarted, cp.Day, cp.Page = store.PhaseIncremental, from, today, today, from, 1
	if err := r.save(ctx, cp); err != nil {
		return err
	}
	if err := r.pass(ctx, e, konnektive.DateUpdated); err != nil {
		return err
	}
	return r.finishIncremental(ctx)
}

func (r *runner) finishIncremental(ctx context.Context) error {
	cp := r.cp
	cp.Watermark = cp.PassStarted
	cp.Phase, cp.PassFrom, cp.PassTo, cp.PassStarted, cp.Day, cp.Page = store.PhaseIdle, crm.Date{}, crm.Date{}, crm.Date{}, crm.Date{}, 1
	return r.save(ctx, cp)
}

func nextDay(d crm.Date) crm.Date { return crm.DateOf(d.In(time.UTC).AddDate(0, 0, 1)) }

func daysBetween(a, b crm.Date) int {
	return int(b.In(time.UTC).Sub(a.In(time.UTC)).Hours()/24 + 0.5)
}

// pass walks the checkpoint's pass from its day and page to its last day.
func (r *runner) pass(ctx context.Context, e entity, rangeType string) error {
	total := daysBetween(r.cp.PassFrom, r.cp.PassTo) + 1
	for !r.cp.PassTo.Before(r.cp.Day) {
		day := r.cp.Day
		q := konnektive.Query{StartDate: day, EndDate: day, DateRangeType: rangeType, FromPage: r.cp.Page}
		r.sum.Windows++
		lastPass := 1
		err := r.opts.API.Walk(ctx, e.ep, q, func(p konnektive.Page) error {
			if p.Pass > lastPass {
				lastPass = p.Pass
				r.sum.DriftRewalks++
			}
			return r.page(ctx, e, p, total)
		})
		if err != nil {
			if errors.Is(err, konnektive.ErrDrift) {
				// The day's rows kept moving. Start the day over next
				// time rather than resume mid-day past rows that shifted.
				cp := r.cp
				cp.Page = 1
				if serr := r.save(context.WithoutCancel(ctx), cp); serr != nil {
					return errors.Join(err, serr)
				}
			}
			return fmt.Errorf("sync %s %s: %w", e.name, day, err)
		}
		if r.cp.Day == day {
			// Walk ended without a last page (cannot happen with a
			// conforming client); do not loop on the same day.
			return fmt.Errorf("sync %s %s: the walk ended before its last page", e.name, day)
		}
	}
	return nil
}

// page commits one page: its rows, the next checkpoint and the run's
// counters, in one transaction.
func (r *runner) page(ctx context.Context, e entity, p konnektive.Page, days int) error {
	r.call("fetched")
	next := r.cp
	if p.Last {
		next.Day, next.Page = nextDay(next.Day), 1
	} else {
		next.Page = p.Number + 1
	}
	delta := store.RunDelta{Rows: store.Counts{e.name: int64(p.Len())}, Pages: 1}
	countDST := func(ws ...crm.WallTime) {
		for _, w := range ws {
			switch w.Adjust {
			case crm.Ambiguous:
				delta.DSTAmbiguous++
			case crm.Gap:
				delta.DSTGap++
			}
		}
	}
	for i := range p.Customers {
		countDST(p.Customers[i].Created, p.Customers[i].Updated)
	}
	for i := range p.Orders {
		countDST(p.Orders[i].Created, p.Orders[i].Updated)
	}
	for i := range p.Purchases {
		countDST(p.Purchases[i].Created, p.Purchases[i].Updated)
	}
	for i := range p.Transactions {
		countDST(p.Transactions[i].Created, p.Transactions[i].Updated)
	}
	if r.opts.Retries != nil {
		now := r.opts.Retries()
		delta.Retries = now - r.retries0
		r.retries0 = now
	}
	day := r.cp.Day
	r.cp = next
	return r.w.send(ctx, job{entity: e, page: p, next: next, delta: delta, day: day, days: days})
}

// flushRetries records retries made after the last committed page.
func (r *runner) flushRetries(ctx context.Context) error {
	if r.opts.Retries == nil {
		return nil
	}
	now := r.opts.Retries()
	d := store.RunDelta{Retries: now - r.retries0}
	r.retries0 = now
	if d.Retries == 0 {
		return nil
	}
	return r.opts.Store.Update(ctx, func(tx *store.Tx) error { return tx.AddToRun(ctx, r.runID, d) })
}

func (r *runner) call(point string) {
	failpoint.Hit("sync." + point)
	if r.opts.hook != nil {
		r.opts.hook(point)
	}
}
