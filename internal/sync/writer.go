package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/store"
)

// The writer commits pages while the next ones are fetched. It takes every
// page already queued (up to maxBatchPages pages or maxBatchRows rows) into
// one transaction with the newest checkpoint of each entity: the rows and
// the checkpoint that points past them still commit together, so a crash
// resumes exactly after the last committed page, and small pages (quiet
// days) do not each pay for a commit.
const (
	queuedPages   = 8
	maxBatchPages = 32
	maxBatchRows  = 4000
)

// job is one fetched page on its way to the store.
type job struct {
	entity  entity
	page    konnektive.Page
	digests []store.RowDigest // the page's rows read, with their digests
	next    store.Checkpoint  // the checkpoint once this page is stored
	delta   store.RunDelta
}

type writer struct {
	r       *runner
	ctx     context.Context
	in      chan job
	pending gosync.WaitGroup // queued, not yet committed or dropped
	exited  chan struct{}
	failed  chan struct{} // closed on the first error
	err     error         // set before failed is closed

	// Read after exited is closed (or between flushes).
	committed store.RunDelta
	storeTime time.Duration
	waited    atomic.Int64 // nanoseconds the fetchers were blocked on a full queue
	held      bool         // the integration has quarantined rows: pages read release theirs
	written   map[string]store.Written
	same      int64 // rows held already (Page.Same)
}

func startWriter(ctx context.Context, r *runner, held bool) *writer {
	w := &writer{r: r, ctx: ctx, in: make(chan job, queuedPages), exited: make(chan struct{}), failed: make(chan struct{}),
		committed: store.RunDelta{Rows: store.Counts{}}, held: held, written: map[string]store.Written{}}
	go w.loop()
	return w
}

// send queues a page, or returns the writer's error.
func (w *writer) send(ctx context.Context, j job) error {
	select {
	case <-w.failed:
		return w.err
	default:
	}
	w.pending.Add(1)
	select {
	case w.in <- j:
		return nil
	default:
	}
	// The queue is full: the store is behind the fetcher.
	start := time.Now()
	defer func() { w.waited.Add(int64(time.Since(start))) }()
	select {
	case w.in <- j:
		return nil
	case <-w.failed:
		w.pending.Done()
		return w.err
	case <-ctx.Done():
		w.pending.Done()
		return ctx.Err()
	}
}

// flush waits until every queued page is committed.
func (w *writer) flush() error {
	w.pending.Wait()
	select {
	case <-w.failed:
		return w.err
	default:
		return nil
	}
}

// stop flushes and ends the writer.
func (w *writer) stop() error {
	err := w.flush()
	close(w.in)
	<-w.exited
	return err
}

func (w *writer) loop() {
	defer close(w.exited)
	for j := range w.in {
		batch, rows := []job{j}, j.page.Len()
	more:
		for len(batch) < maxBatchPages && rows < maxBatchRows {
			select {
			case j2, ok := <-w.in:
				if !ok {
					break more
				}
				batch = append(batch, j2)
				rows += j2.page.Len()
			default:
				break more
			}
		}
		select {
		case <-w.failed: // drop: the run is failing
		default:
			if err := w.commit(batch); err != nil {
				w.err = err
				close(w.failed)
			}
		}
		for _, j := range batch {
			w.r.addPending(j.entity.name, j.page.ReadIDs(), -1)
			w.pending.Done()
		}
	}
}

func (w *writer) commit(batch []job) error {
	r := w.r
	ctx := w.ctx
	id := r.opts.Integration.ID
	var delta store.RunDelta
	var wrote map[string]store.Written
	last := map[string]store.Checkpoint{}
	var order []string
	start := time.Now()
	err := r.opts.Store.Update(ctx, func(tx *store.Tx) error {
		// Rows of one entity in the batch go in together.
		var cust []crm.Customer
		var ords []crm.Order
		var purs []crm.Purchase
		var txns []crm.Transaction
		for _, j := range batch {
			cust = append(cust, j.page.Customers...)
			ords = append(ords, j.page.Orders...)
			purs = append(purs, j.page.Purchases...)
			txns = append(txns, j.page.Transactions...)
			if _, ok := last[j.entity.name]; !ok {
				order = append(order, j.entity.name)
			}
			last[j.entity.name] = j.next
			delta.Add(j.delta)
		}
		if err := tx.UpsertCustomers(ctx, id, cust); err != nil {
			return err
		}
		if err := tx.UpsertOrders(ctx, id, ords); err != nil {
			return err
		}
		if err := tx.UpsertPurchases(ctx, id, purs); err != nil {
			return err
		}
		if err := tx.UpsertTransactions(ctx, id, txns); err != nil {
			return err
		}
		for _, j := range batch {
			if err := tx.SaveDigests(ctx, id, j.entity.name, j.digests); err != nil {
				return err
			}
		}
		if err := w.quarantine(ctx, tx, batch); err != nil {
			return err
		}
		for _, e := range order {
			if err := tx.SaveCheckpoint(ctx, id, last[e]); err != nil {
				return err
			}
		}
		if err := tx.AddToRun(ctx, r.runID, delta); err != nil {
			return err
		}
		wrote = tx.Written()
		for range batch {
			r.call("written")
		}
		return nil
	})
	w.storeTime += time.Since(start)
	if err != nil {
		j := batch[0]
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("store pages of %s from %s page %d: %w", j.entity.name, j.next.Day, j.page.Number, err)
	}
	w.committed.Add(delta)
	for table, n := range wrote {
		sum := w.written[table]
		sum.New, sum.Changed, sum.Unchanged = sum.New+n.New, sum.Changed+n.Changed, sum.Unchanged+n.Unchanged
		w.written[table] = sum
	}
	for _, j := range batch {
		if len(j.page.Same) > 0 {
			// Rows held already, byte for byte: read again unchanged.
			sum := w.written[j.entity.name]
			sum.Unchanged += int64(len(j.page.Same))
			w.written[j.entity.name] = sum
			w.same += int64(len(j.page.Same))
		}
	}
	for _, j := range batch {
		if j.page.Len() == 0 {
			continue // a checkpoint alone
		}
		r.call("committed")
		if r.opts.Progress != nil {
			r.opts.Progress(Progress{Entity: j.entity.name, Phase: j.next.Phase, Day: j.next.Day, Rows: w.committed.Rows.Total() + w.committed.Quarantined,
				Expected: r.expectedRows(), Requests: r.requests.Load()})
		}
	}
	return nil
}

// quarantine keeps the batch's unreadable rows, and releases rows read
// cleanly that an earlier run quarantined.
func (w *writer) quarantine(ctx context.Context, tx *store.Tx, batch []job) error {
	id := w.r.opts.Integration.ID
	for _, j := range batch {
		if len(j.page.Bad) > 0 {
			w.held = true
			q := make([]store.QuarantinedRow, len(j.page.Bad))
			for i, b := range j.page.Bad {
				q[i] = store.QuarantinedRow{Entity: j.entity.name, RowID: b.ID, Field: b.Field, Reason: cardnum.MaskText(b.Reason), Raw: cardnum.MaskText(string(b.Raw)), RunID: w.r.runID}
			}
			if err := tx.Quarantine(ctx, id, q); err != nil {
				return err
			}
		}
		if w.held {
			// Rows read cleanly, decoded or held already.
			read := append(j.page.ReadIDs()[:len(j.page.Raw):len(j.page.Raw)], j.page.Same...)
			if err := tx.Release(ctx, id, j.entity.name, read); err != nil {
				return err
			}
		}
	}
	return nil
}
