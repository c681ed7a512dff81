// Package sync copies a Konnektive account into the store: a backfill of the
// import range by dateCreated, then incremental passes by dateUpdated over a
// lookback, so late refunds and chargebacks (which restate their original
// transaction and bump its dateUpdated) are read again. The four endpoints
// are walked at once, under the client's one request budget.
//
// # Windows
//
// A pass is cut into windows of whole days sized by the data, not the
// calendar: a pass starts as one window; when the first page of a window
// counts more than Options.MaxWindowRows rows, the window is split (in
// proportion to its count) before any of it is stored, so a window holds
// few enough pages that rows rarely shift while it is read. Empty stretches
// cost one request, whatever their length.
//
// # The walk, and the invariant
//
// A window's walk reads pages 1, 2, ... until a page holds fewer rows than
// the page size (an empty page included); totalResults never ends a walk.
// Every page is one store transaction: its rows, the checkpoint (the window
// and the next page to read) and the run's counters commit together.
// When the walk ends, its rows are checked against the counts the pages
// gave: a walk that saw fewer distinct rows than the last count said, or a
// count that fell between pages, may have missed rows that shifted, and the
// window is walked again from page 1. A walk is accepted when its count is
// met, or when it found no row the walks before it had not (a count that
// overstates a stable window). After Options.MaxWalks walks the window is
// split in two and each half walked the same way; a single day that still
// fails is recorded as a failed window with its dates, the entity's
// checkpoint stays on it, and the run fails: the next run starts there.
// Only then, after the walk was accepted, does the checkpoint move past the
// window. So:
//
//	every row the server holds in a window is stored exactly once when the
//	window is passed, or the window is recorded as failed and is where the
//	next run begins; no window is ever passed unread.
//
// A sync killed at any point resumes at the page after the last one
// committed (rows are upserted by id, so a page read twice changes
// nothing); the rows of the pages before it are already stored, and the
// resumed walk's check counts only what it read.
//
// A row read again whose bytes are the bytes its stored version was decoded
// from (its keyed digest, konnektive.Known, is the one stored beside it in
// sync_digests) is neither decoded nor written: decoding it would change
// nothing. It still counts as a row of its page and of the window's checks,
// and as read unchanged. A row this run read earlier and the writer has not
// committed yet is always decoded, so the version read last is the one
// stored. While a page is decoded and committed, the walk's next page is
// already requested (one ahead, after this page's answer was read), so the
// server still answers a walk's pages in order.
//
// Rows that cannot be read (a date or amount konduit will not guess at, no
// dateCreated) are quarantined with their reason instead of stopping the
// sync; they count as rows of their page for the walk, and a later clean
// read of the same row takes it out of quarantine.
//
// Per entity a run:
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
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
)

// DefaultLookback is how many days an incremental pass re-reads before the
// watermark.
const DefaultLookback = 60

// DefaultMaxWindowRows is the most rows a window of several days may hold
// before it is split: 50 pages of 200, few enough that rows rarely shift
// while the window is read, few enough that a walk repeated costs little.
const DefaultMaxWindowRows = 10000

// analyzeAfter is how many rows a run must write before it refreshes the
// planner's statistics.
const analyzeAfter = 2000

// DefaultMaxWalks is how many times a window is walked before it is split
// (or, a single day, recorded as failed).
const DefaultMaxWalks = 3

// Options configure a Run.
type Options struct {
	Store         *store.Store
	API           konnektive.API
	Integration   *store.Integration // ID, TimeZone, ImportFrom, ImportTo
	Lookback      int                // days; DefaultLookback when 0, none when negative
	MaxWindowRows int                // DefaultMaxWindowRows when 0
	MaxWalks      int                // DefaultMaxWalks when 0
	Now           func() time.Time   // time.Now when nil
	Logger        *slog.Logger       // slog.Default() when nil
	// Progress, when set, is told of every committed page.
	Progress func(Progress)
	// Retries, when set, reports the client's retries so far (see
	// RetryCounter); the summary and the run record the difference.
	Retries func() int64
	// NoRollup leaves the rollup refresh at the end of a run to the caller
	// (the scheduler runs it as its own job).
	NoRollup bool

	hook func(point string) // tests: called at "fetched", "written" (before commit) and "committed"
}

// Progress is where a sync stands after a page, over all entities.
type Progress struct {
	Entity   string   // the entity of the page
	Phase    string   // its pass
	Day      crm.Date // the first day of its window
	Rows     int64    // rows committed in this run, all entities
	Expected int64    // rows the passes in progress hold by the API's counts, all entities (an estimate; 0 until known)
	Requests int64    // page requests so far, retries not included
}

// Left estimates the time the run needs to read the rows still expected,
// at the pace of the elapsed time so far; ok is false until there is a
// pace and a count to go by.
func (p Progress) Left(elapsed time.Duration) (left time.Duration, ok bool) {
	expected := max(p.Expected, p.Rows)
	if p.Rows <= 0 || expected <= 0 || elapsed <= 0 {
		return 0, false
	}
	return time.Duration(float64(elapsed) * float64(expected-p.Rows) / float64(p.Rows)), true
}

// Summary is what a run did.
type Summary struct {
	RunID int64
	store.RunDelta
	Backfilled []string      // entities whose backfill completed in this run
	Elapsed    time.Duration // the whole run
	StoreTime  time.Duration // inside store transactions (overlaps fetching: pages are committed while the next ones are fetched)
	StoreWait  time.Duration // fetching stood still because the store was behind: the store's cost to the run
	Windows    int           // windows accepted
	Splits     int           // windows split: for size, or after MaxWalks walks
	Rewalks    int           // walks repeated because rows may have shifted or a count disagreed
	Failed     []store.SyncError
	Written    map[string]store.Written // per entity: rows new, changed, read again unchanged
	Same       int64                    // of the unchanged, rows whose bytes matched their stored digest: neither decoded nor written
}

// entity ties a store table to its endpoint.
type entity struct {
	name string
	ep   konnektive.Endpoint
}

// Entities are walked at once; this order is the order of reports.
var entities = []entity{
	{store.Customers, konnektive.Customers},
	{store.Orders, konnektive.Orders},
	{store.Purchases, konnektive.Purchases},
	{store.Transactions, konnektive.Transactions},
}

// WindowError is a window that could not be read completely after
// Options.MaxWalks walks of a single day: the next run starts there.
type WindowError struct {
	Entity   string
	From, To crm.Date
	Walks    int
	Why      string
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("sync %s %s..%s: %s after %d walks; the next sync starts at this window", e.Entity, e.From, e.To, e.Why, e.Walks)
}

// ExitCode is 3: the remote service did not give a consistent answer.
func (e *WindowError) ExitCode() int { return exitcode.Remote }

// Hint says what to do.
func (e *WindowError) Hint() string {
	return "run the sync again later; if the same window keeps failing, Konnektive's counts for it disagree with its rows (see konduit status)"
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
	if opts.MaxWindowRows <= 0 {
		opts.MaxWindowRows = DefaultMaxWindowRows
	}
	if opts.MaxWalks <= 0 {
		opts.MaxWalks = DefaultMaxWalks
	}
	loc, err := opts.Integration.Location()
	if err != nil {
		return Summary{}, err
	}
	if opts.Integration.ImportFrom.IsZero() {
		return Summary{}, fmt.Errorf("sync %s: the integration has no import start date", opts.Integration.Name)
	}
	held, err := opts.Store.QuarantineCounts(ctx, opts.Integration.ID)
	if err != nil {
		return Summary{}, err
	}
	start := time.Now()
	runID, err := opts.Store.StartRun(ctx, opts.Integration.ID)
	if err != nil {
		return Summary{}, err
	}
	r := &runner{opts: opts, loc: loc, runID: runID, sum: Summary{RunID: runID}, expected: map[string]int64{}}
	if opts.Retries != nil {
		r.retries0 = opts.Retries()
		r.retriesStart = r.retries0
	}
	r.w = startWriter(ctx, r, held.Total() > 0)

	// The entities are walked at once; a refusal (login, allow-list) stops
	// them all, any other failure only its own entity.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runs := make([]*entityRun, len(entities))
	errs := make([]error, len(entities))
	var wg gosync.WaitGroup
	for i, e := range entities {
		runs[i] = &entityRun{r: r, e: e}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runs[i].run(wctx)
			var ae *konnektive.AuthError
			if errors.As(errs[i], &ae) {
				cancel(errs[i])
			}
		}()
	}
	wg.Wait()
	if cause := context.Cause(wctx); cause != nil && ctx.Err() == nil && !errors.Is(cause, context.Canceled) {
		err = cause // the refusal, not the cancellations it caused
	} else {
		err = errors.Join(errs...)
	}
	if werr := r.w.stop(); err == nil {
		err = werr
	}
	r.sum.RunDelta, r.sum.StoreTime, r.sum.StoreWait = r.w.committed, r.w.storeTime, time.Duration(r.w.waited.Load())
	r.sum.Written, r.sum.Same = r.w.written, r.w.same
	r.sum.Elapsed = time.Since(start)
	// The run's record is written even when ctx is done.
	fin := context.WithoutCancel(ctx)
	if ferr := r.flushRetries(fin); err == nil {
		err = ferr
	}
	r.sum.Retries = r.retries0 - r.retriesStart
	r.sum.Requests = r.requests.Load()
	r.sum.Quarantined = r.w.committed.Quarantined
	if err != nil {
		status := store.RunFailed
		if ctx.Err() != nil {
			status = store.RunInterrupted
		}
		for i, x := range runs {
			if errs[i] == nil {
				continue
			}
			se := store.SyncError{IntegrationID: opts.Integration.ID, RunID: runID, Entity: x.e.name, Day: x.cp.Day, DayTo: x.windowTo(), Page: x.cp.Page, Message: errs[i].Error()}
			var we *WindowError
			if errors.As(errs[i], &we) {
				se.Day, se.DayTo, se.Page = we.From, we.To, 1
				r.sum.Failed = append(r.sum.Failed, se)
			}
			_ = opts.Store.RecordError(fin, se)
		}
		_ = opts.Store.FinishRun(fin, runID, status, err.Error())
		return r.sum, err
	}
	if err := opts.Store.FinishRun(fin, runID, store.RunOK, ""); err != nil {
		return r.sum, err
	}
	// After a bulk write the planner's statistics are refreshed first, so
	// the rollup refresh and the reports plan for the rows now stored.
	var wrote int64
	for _, n := range r.sum.Written {
		wrote += n.New + n.Changed
	}
	if wrote >= analyzeAfter {
		if err := opts.Store.Analyze(ctx); err != nil {
			return r.sum, err
		}
	}
	// Names the rows did not carry, from the campaign and product queries.
	r.fillNames(ctx)
	// The reports' rollups follow what this run wrote.
	if opts.NoRollup {
		return r.sum, nil
	}
	if _, err := rollup.Refresh(ctx, opts.Store, opts.Integration); err != nil {
		return r.sum, err
	}
	return r.sum, nil
}

// runner is one run's shared state: the writer, counters and the summary.
type runner struct {
	opts  Options
	loc   *time.Location
	runID int64
	w     *writer

	requests atomic.Int64

	mu           gosync.Mutex // guards what follows
	sum          Summary
	retries0     int64 // the client's retry count already recorded
	requests0    int64 // the request count already recorded
	retriesStart int64
	expected     map[string]int64 // per entity: rows its pass in progress holds, by the API's counts

	unnamed unnamed // ids the rows did not name (names.go)

	pendingMu gosync.Mutex
	pending   map[string]map[string]int // per entity: rows read, sent to the writer and not committed yet (see entityRun.held)
}

// addPending counts ids of entity as sent to the writer (d 1) or as
// committed or dropped (d -1).
func (r *runner) addPending(entity string, ids []string, d int) {
	if len(ids) == 0 {
		return
	}
	r.pendingMu.Lock()
	defer r.pendingMu.Unlock()
	if r.pending == nil {
		r.pending = map[string]map[string]int{}
	}
	m := r.pending[entity]
	if m == nil {
		m = map[string]int{}
		r.pending[entity] = m
	}
	for _, id := range ids {
		if m[id] += d; m[id] <= 0 {
			delete(m, id)
		}
	}
}

func (r *runner) today() crm.Date { return crm.DateOf(r.opts.Now().In(r.loc)) }

func (r *runner) count(f func(s *Summary)) {
	r.mu.Lock()
	f(&r.sum)
	r.mu.Unlock()
}

// unrecorded takes the requests and the client's retries not yet recorded
// in the run.
func (r *runner) unrecorded() (requests, retries int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.requests.Load()
	requests, r.requests0 = n-r.requests0, n
	if r.opts.Retries != nil {
		now := r.opts.Retries()
		retries, r.retries0 = now-r.retries0, now
	}
	return requests, retries
}

// flushRetries records requests and retries made after the last committed
// page.
func (r *runner) flushRetries(ctx context.Context) error {
	var d store.RunDelta
	d.Requests, d.Retries = r.unrecorded()
	if d.Requests == 0 && d.Retries == 0 {
		return nil
	}
	return r.opts.Store.Update(ctx, func(tx *store.Tx) error { return tx.AddToRun(ctx, r.runID, d) })
}

// expect records the rows entity's pass in progress holds, by the API's
// counts.
func (r *runner) expect(entity string, rows int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expected[entity] = rows
}

func (r *runner) expectedRows() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, v := range r.expected {
		n += v
	}
	return n
}

func (r *runner) call(point string) {
	failpoint.Hit("sync." + point)
	if r.opts.hook != nil {
		r.opts.hook(point)
	}
}

// entityRun is one entity's walk in a run.
type entityRun struct {
	r        *runner
	e        entity
	cp       store.Checkpoint // as of the last page sent to the writer
	passRows int64            // rows of the pass in progress read in this run
}

// windowTo is the last day of the window in progress.
func (x *entityRun) windowTo() crm.Date {
	if x.cp.WindowTo.IsZero() {
		return x.cp.PassTo
	}
	return x.cp.WindowTo
}

// send queues cp (and the page's rows, if any) for the writer: rows and
// checkpoint commit together.
func (x *entityRun) send(ctx context.Context, p konnektive.Page, cp store.Checkpoint, delta store.RunDelta) error {
	return x.sendRows(ctx, p, nil, cp, delta)
}

// sendRows is send with the digests of the page's rows read. Until the
// writer commits them, those rows are pending: never taken as held.
func (x *entityRun) sendRows(ctx context.Context, p konnektive.Page, digests []store.RowDigest, cp store.Checkpoint, delta store.RunDelta) error {
	x.cp = cp
	x.r.addPending(x.e.name, p.ReadIDs(), 1)
	err := x.r.w.send(ctx, job{entity: x.e, page: p, digests: digests, next: cp, delta: delta})
	if err != nil {
		x.r.addPending(x.e.name, p.ReadIDs(), -1)
	}
	return err
}

func (x *entityRun) run(ctx context.Context) error {
	r, e, in := x.r, x.e, x.r.opts.Integration
	cp, ok, err := r.opts.Store.Checkpoint(ctx, in.ID, e.name)
	if err != nil {
		return err
	}
	x.cp = cp
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
			if err := x.send(ctx, konnektive.Page{}, cp, store.RunDelta{}); err != nil {
				return err
			}
		}
		if err := x.pass(ctx, konnektive.DateCreated); err != nil {
			return err
		}
		cp = x.cp
		cp.BackfillFrom, cp.BackfillTo = cp.PassFrom, cp.PassTo
		cp.Watermark = cp.PassStarted
		cp.Phase, cp.PassFrom, cp.PassTo, cp.PassStarted, cp.Day, cp.WindowTo, cp.Page = store.PhaseIdle, crm.Date{}, crm.Date{}, crm.Date{}, crm.Date{}, crm.Date{}, 1
		if err := x.send(ctx, konnektive.Page{}, cp, store.RunDelta{}); err != nil {
			return err
		}
		r.count(func(s *Summary) { s.Backfilled = append(s.Backfilled, e.name) })
		caughtUp = true
	}

	// 2. An incremental pass a crash interrupted.
	if x.cp.Phase == store.PhaseIncremental {
		if err := x.pass(ctx, konnektive.DateUpdated); err != nil {
			return err
		}
		if err := x.finishIncremental(ctx); err != nil {
			return err
		}
		caughtUp = true
	}

	// 3. A new incremental pass, from the watermark (less the lookback)
	// through today: one window, sized by its rows like any other.
	from := x.cp.Watermark
	if from.IsZero() {
		from = in.ImportFrom
	}
	if !caughtUp {
		from = crm.DateOf(from.In(time.UTC).AddDate(0, 0, -r.opts.Lookback))
	}
	if from.Before(in.ImportFrom) {
		from = in.ImportFrom
	}
	cp = x.cp
	cp.Phase, cp.PassFrom, cp.PassTo, cp.PassStarted, cp.Day, cp.WindowTo, cp.Page = store.PhaseIncremental, from, today, today, from, crm.Date{}, 1
	if err := x.send(ctx, konnektive.Page{}, cp, store.RunDelta{}); err != nil {
		return err
	}
	if err := x.pass(ctx, konnektive.DateUpdated); err != nil {
		return err
	}
	return x.finishIncremental(ctx)
}

func (x *entityRun) finishIncremental(ctx context.Context) error {
	cp := x.cp
	cp.Watermark = cp.PassStarted
	cp.Phase, cp.PassFrom, cp.PassTo, cp.PassStarted, cp.Day, cp.WindowTo, cp.Page = store.PhaseIdle, crm.Date{}, crm.Date{}, crm.Date{}, crm.Date{}, crm.Date{}, 1
	return x.send(ctx, konnektive.Page{}, cp, store.RunDelta{})
}

func addDays(d crm.Date, n int) crm.Date { return crm.DateOf(d.In(time.UTC).AddDate(0, 0, n)) }

func daysBetween(a, b crm.Date) int {
	return int(b.In(time.UTC).Sub(a.In(time.UTC)).Hours()/24 + 0.5)
}

// window is a run of whole days, both included.
type window struct{ from, to crm.Date }

func (w window) days() int { return daysBetween(w.from, w.to) + 1 }

// split cuts w into n windows of (nearly) equal days, in order.
func (w window) split(n int) []window {
	days := w.days()
	n = max(1, min(n, days))
	out := make([]window, 0, n)
	from := w.from
	for i := 0; i < n; i++ {
		d := days / n
		if i < days%n {
			d++
		}
		to := addDays(from, d-1)
		out = append(out, window{from, to})
		from = addDays(to, 1)
	}
	return out
}

// pass walks the checkpoint's pass, window by window, from its window and
// page to its last day.
func (x *entityRun) pass(ctx context.Context, rangeType string) error {
	var planned []window // windows already sized that follow the one in progress, in order
	for !x.cp.PassTo.Before(x.cp.Day) {
		w := window{x.cp.Day, x.windowTo()}
		parts, err := x.walkWindow(ctx, w, x.cp.Page, rangeType)
		if err != nil {
			return err
		}
		cp := x.cp
		if parts != nil {
			// Walk the parts instead, first to last.
			planned = append(parts[1:len(parts):len(parts)], planned...)
			cp.Day, cp.WindowTo, cp.Page = parts[0].from, parts[0].to, 1
		} else {
			// The window is read: only now does the checkpoint pass it.
			x.r.count(func(s *Summary) { s.Windows++ })
			cp.Day, cp.WindowTo, cp.Page = addDays(w.to, 1), crm.Date{}, 1
			if len(planned) > 0 {
				cp.WindowTo = planned[0].to
				planned = planned[1:]
			}
		}
		if err := x.send(ctx, konnektive.Page{}, cp, store.RunDelta{}); err != nil {
			return err
		}
	}
	return nil
}

// walkResult is what one walk of a window saw.
type walkResult struct {
	seen      map[string]struct{} // distinct row ids
	anonymous int                 // rows without a readable id
	want      int                 // rows the last count says the walk should have seen
	fell      bool                // the count fell between pages: rows left pages already read
	tooBig    int                 // > 0: the window's count, over the cap; nothing was stored
}

// walkWindow reads window w from page fromPage until a walk is accepted.
// It returns the parts to walk instead when w must be split (for its size,
// or after MaxWalks walks), or a *WindowError for a single day that stays
// inconsistent.
func (x *entityRun) walkWindow(ctx context.Context, w window, fromPage int, rangeType string) ([]window, error) {
	r, log := x.r, x.r.opts.Logger
	q := konnektive.Query{StartDate: w.from, EndDate: w.to, DateRangeType: rangeType}
	union := map[string]struct{}{}
	for walk := 1; ; walk++ {
		from := 1
		if walk == 1 {
			from = fromPage
		}
		res, err := x.walkOnce(ctx, w, q, from, walk == 1 && from == 1)
		if err != nil {
			return nil, err
		}
		if res.tooBig > 0 {
			n := (res.tooBig*5 + r.opts.MaxWindowRows*4 - 1) / (r.opts.MaxWindowRows * 4) // parts of about 80% of the cap
			r.count(func(s *Summary) { s.Splits++ })
			log.DebugContext(ctx, "konnektive window split for its size", "entity", x.e.name, "from", w.from.String(), "to", w.to.String(), "rows", res.tooBig, "parts", n)
			return w.split(n), nil
		}
		found := 0
		for id := range res.seen {
			if _, ok := union[id]; !ok {
				union[id] = struct{}{}
				found++
			}
		}
		got := len(res.seen) + res.anonymous
		if !res.fell && got >= res.want {
			return nil, nil // the count is met (or understated: every page up to a short one was read)
		}
		if walk > 1 && found == 0 {
			// Nothing this walk saw was new: the window is stable and its
			// count overstates it.
			log.WarnContext(ctx, "konnektive count disagrees with the rows of a stable window; keeping the rows", "entity", x.e.name, "from", w.from.String(), "to", w.to.String(), "count", res.want, "rows", got)
			return nil, nil
		}
		why := "rows shifted between pages"
		if !res.fell {
			why = fmt.Sprintf("%d rows seen where the count says %d", got, res.want)
		}
		if walk >= r.opts.MaxWalks {
			if w.days() > 1 {
				r.count(func(s *Summary) { s.Splits++ })
				log.InfoContext(ctx, "konnektive window still inconsistent; walking it in halves", "entity", x.e.name, "from", w.from.String(), "to", w.to.String(), "walks", walk, "why", why)
				return w.split(2), nil
			}
			return nil, &WindowError{Entity: x.e.name, From: w.from, To: w.to, Walks: walk, Why: why}
		}
		r.count(func(s *Summary) { s.Rewalks++ })
		log.InfoContext(ctx, "konnektive window walked again", "entity", x.e.name, "from", w.from.String(), "to", w.to.String(), "walk", walk+1, "why", why)
	}
}

// walkOnce reads the pages of w from page from until a page shorter than
// the page size, committing each. When sizing, a first page counting more
// rows than the cap in a window of several days stops the walk before
// anything is stored.
//
// While a full page is decoded and handed to the writer, the next page is
// already being fetched (one request ahead, never more): its request goes
// out only after this page's answer was read in full, so the server still
// answers the pages of a walk one after the other, in order, as the
// walk's checks assume. A page that ends the walk (short, or too big when
// sizing) starts no request.
func (x *entityRun) walkOnce(ctx context.Context, w window, q konnektive.Query, from int, sizing bool) (walkResult, error) {
	r := x.r
	res := walkResult{seen: map[string]struct{}{}}
	lastTotal, perPage := -1, 0
	ahead := &prefetch{api: r.opts.API, ep: x.e.ep, q: q, requests: &r.requests}
	defer ahead.stop()
	for n := from; ; n++ {
		b, err := ahead.get(ctx, n)
		if err != nil {
			return res, fmt.Errorf("sync %s %s..%s page %d: %w", x.e.name, w.from, w.to, n, err)
		}
		r.call("fetched")
		if n == from && sizing && b.TotalResults > r.opts.MaxWindowRows && w.days() > 1 {
			res.tooBig = b.TotalResults
			return res, nil
		}
		if !b.Last() {
			ahead.start(ctx, n+1)
		}
		var same sameRows
		p, err := r.opts.API.Decode(ctx, b, func(ctx context.Context, ids []string, digests []konnektive.Digest) ([]bool, error) {
			return x.held(ctx, ids, digests, &same)
		})
		if err != nil {
			return res, fmt.Errorf("sync %s %s..%s page %d: %w", x.e.name, w.from, w.to, n, err)
		}
		if n == from && w.to == x.cp.PassTo {
			// A count of the rest of the pass: the progress estimate.
			x.r.expect(x.e.name, x.passRows+int64(max(p.TotalResults, p.Len())))
		}
		if p.Len() > 0 && lastTotal >= 0 && p.TotalResults < lastTotal {
			res.fell = true
		}
		if p.Len() > 0 || lastTotal < 0 {
			lastTotal = p.TotalResults
		}
		perPage = p.PerPage
		for _, id := range p.IDs() {
			res.seen[id] = struct{}{}
		}
		for _, b := range p.Bad {
			if b.ID == "" {
				res.anonymous++
			}
		}
		last := p.Len() < p.PerPage
		if p.Len() > 0 {
			cp := x.cp
			cp.Day, cp.WindowTo, cp.Page = w.from, w.to, n+1
			delta, digests := x.delta(p)
			delta.DSTAmbiguous += same.ambiguous
			delta.DSTGap += same.gap
			if err := x.sendRows(ctx, p, digests, cp, delta); err != nil {
				return res, err
			}
			x.passRows += int64(p.Len())
		}
		if last {
			break
		}
	}
	res.want = lastTotal - (from-1)*perPage
	return res, nil
}

// prefetch is the one page request a walk keeps ahead of its decoding.
type prefetch struct {
	api      konnektive.API
	ep       konnektive.Endpoint
	q        konnektive.Query
	requests *atomic.Int64

	n      int // the page asked for; 0 when none is
	done   chan struct{}
	body   *konnektive.Body
	err    error
	cancel context.CancelFunc
}

// start asks for page n in the background.
func (f *prefetch) start(ctx context.Context, n int) {
	f.stop()
	ctx, cancel := context.WithCancel(ctx)
	f.n, f.done, f.body, f.err, f.cancel = n, make(chan struct{}), nil, nil, cancel
	f.requests.Add(1)
	go func() {
		defer close(f.done)
		f.body, f.err = f.api.Fetch(ctx, f.ep, f.q, n)
	}()
}

// get is page n: the one asked for ahead, or fetched now.
func (f *prefetch) get(ctx context.Context, n int) (*konnektive.Body, error) {
	if f.n == n {
		select {
		case <-f.done:
		case <-ctx.Done():
			f.stop()
			return nil, ctx.Err()
		}
		b, err := f.body, f.err
		f.cancel()
		f.n = 0
		return b, err
	}
	f.stop()
	f.requests.Add(1)
	return f.api.Fetch(ctx, f.ep, f.q, n)
}

// stop cancels a request still ahead and waits for it to end.
func (f *prefetch) stop() {
	if f.n == 0 {
		return
	}
	f.cancel()
	<-f.done
	f.n = 0
}

// sameRows sums the DST adjustments of the rows a page held already.
type sameRows struct{ ambiguous, gap int64 }

// held is the page's konnektive.Known: the rows whose stored digest is the
// digest of the bytes just read. A row this run has sent to the writer and
// that is not committed yet is never held: the stored digest may be about
// to change (the row read differently earlier in the run), and only a
// write of what was read last leaves the last version stored.
func (x *entityRun) held(ctx context.Context, ids []string, digests []konnektive.Digest, same *sameRows) ([]bool, error) {
	out := make([]bool, len(ids))
	ask := make([]string, 0, len(ids))
	x.r.pendingMu.Lock()
	pending := x.r.pending[x.e.name]
	for _, id := range ids {
		if pending[id] == 0 {
			ask = append(ask, id)
		}
	}
	x.r.pendingMu.Unlock()
	stored, err := x.r.opts.Store.StoredDigests(ctx, x.r.opts.Integration.ID, x.e.name, ask)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if d, ok := stored[id]; ok && d.Digest == digests[i].String() {
			out[i] = true
			same.ambiguous += int64(d.Ambiguous)
			same.gap += int64(d.Gap)
		}
	}
	return out, nil
}

// delta is what page p adds to the run; digests are its rows read, with
// their digests, for the writer to store beside them.
func (x *entityRun) delta(p konnektive.Page) (delta store.RunDelta, digests []store.RowDigest) {
	delta = store.RunDelta{Rows: store.Counts{x.e.name: int64(len(p.Raw) + len(p.Same))}, Pages: 1, Quarantined: int64(len(p.Bad))}
	delta.Requests, delta.Retries = x.r.unrecorded()
	// The DST adjustments of each row read, in Raw's order (one endpoint's
	// typed rows are filled).
	adjust := make([][2]int, 0, len(p.Raw))
	countDST := func(ws ...crm.WallTime) {
		var a [2]int
		for _, w := range ws {
			switch w.Adjust {
			case crm.Ambiguous:
				a[0]++
			case crm.Gap:
				a[1]++
			}
		}
		delta.DSTAmbiguous += int64(a[0])
		delta.DSTGap += int64(a[1])
		adjust = append(adjust, a)
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
	x.r.unnamed.note(p.Transactions)
	if ds, ids := p.Digests(), p.ReadIDs(); len(ds) == len(p.Raw) && len(ids) == len(p.Raw) && len(adjust) == len(p.Raw) {
		digests = make([]store.RowDigest, len(ds))
		for i := range ds {
			digests[i] = store.RowDigest{ID: ids[i], Digest: ds[i].String(), Ambiguous: adjust[i][0], Gap: adjust[i][1]}
		}
	}
	return delta, digests
}
