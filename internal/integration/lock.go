package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// DefaultLockTTL is how long a sync lock outlives its last heartbeat: a
// process that dies holding it (kill -9, power loss) frees it this long
// after its last renewal. The holder renews it every third of that.
const DefaultLockTTL = 30 * time.Second

// BusyError says another process (or this one) is syncing the integration.
type BusyError struct {
	Integration string
	Owner       string    // host:pid:nonce of the holder
	Since       time.Time // when it took the lock
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("integration %s is already syncing since %s (%s)", e.Integration, e.Since.Local().Format(time.DateTime), e.Owner)
}

// ExitCode is 0: the sync the caller wanted is under way.
func (e *BusyError) ExitCode() int { return 0 }

// Lock is a held sync lock: one row of sync_locks, renewed by a heartbeat
// until Release. Lost is closed when the lock was lost (the database
// unreachable for a whole TTL, or the row taken over): the holder must stop
// writing.
type Lock struct {
	s     *store.Store
	id    int64
	owner string
	stop  chan struct{}
	done  chan struct{}
	lost  chan struct{}
	once  sync.Once
}

var ownerNonce = func() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

// Owner names this process's locks: host:pid:nonce.
func Owner() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", h, os.Getpid(), ownerNonce)
}

// Acquire takes in's sync lock, or returns a *BusyError naming its holder.
// A lock whose heartbeat is older than ttl (DefaultLockTTL when 0) is
// taken over. The take-over is one atomic statement (INSERT ... ON
// CONFLICT DO UPDATE ... WHERE stale), so of two processes racing for it
// exactly one wins, on SQLite and PostgreSQL alike.
func Acquire(ctx context.Context, s *store.Store, in *store.Integration, ttl time.Duration) (*Lock, error) {
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	owner := Owner() + ":" + newNonce()
	var took bool
	err := s.Update(ctx, func(tx *store.Tx) error {
		now := time.Now().UnixMilli()
		r, err := tx.Exec(ctx, `INSERT INTO sync_locks (integration_id, owner, since_ms, heartbeat_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (integration_id) DO UPDATE SET owner = excluded.owner, since_ms = excluded.since_ms, heartbeat_ms = excluded.heartbeat_ms
			WHERE sync_locks.heartbeat_ms < ?`, in.ID, owner, now, now, now-ttl.Milliseconds())
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		took = n == 1
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("take the sync lock of %s: %w", in.Name, err)
	}
	if !took {
		var holder string
		var since int64
		err := s.DB().QueryRowContext(ctx, s.Rebind(`SELECT owner, since_ms FROM sync_locks WHERE integration_id = ?`), in.ID).Scan(&holder, &since)
		if err != nil {
			return nil, fmt.Errorf("read the sync lock of %s: %w", in.Name, err)
		}
		if !deadHere(holder) {
			return nil, &BusyError{Integration: in.Name, Owner: holder, Since: time.UnixMilli(since)}
		}
		// its holder ran on this machine and is gone (kill -9): take it
		// over now rather than after the TTL, if no one else did
		err = s.Update(ctx, func(tx *store.Tx) error {
			now := time.Now().UnixMilli()
			r, err := tx.Exec(ctx, `UPDATE sync_locks SET owner = ?, since_ms = ?, heartbeat_ms = ? WHERE integration_id = ? AND owner = ?`, owner, now, now, in.ID, holder)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			took = n == 1
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("take the sync lock of %s: %w", in.Name, err)
		}
		if !took {
			return Acquire(ctx, s, in, ttl)
		}
	}
	l := &Lock{s: s, id: in.ID, owner: owner, stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
	go l.heartbeat(ttl)
	return l, nil
}

// AcquireWait takes the lock, waiting (polling every poll) while another
// holds it, until ctx is done.
func AcquireWait(ctx context.Context, s *store.Store, in *store.Integration, ttl, poll time.Duration) (*Lock, error) {
	if poll <= 0 {
		poll = time.Second
	}
	for {
		l, err := Acquire(ctx, s, in, ttl)
		var busy *BusyError
		if !errors.As(err, &busy) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// deadHere reports whether a lock's owner (host:pid:nonce:nonce) ran on
// this machine and its process is gone.
func deadHere(owner string) bool {
	parts := strings.Split(owner, ":")
	if len(parts) < 3 {
		return false
	}
	h, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[len(parts)-3])
	host := strings.Join(parts[:len(parts)-3], ":")
	if err != nil || host != h || pid <= 0 {
		return false
	}
	return pid != os.Getpid() && !processAlive(pid)
}

func newNonce() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (l *Lock) heartbeat(ttl time.Duration) {
	defer close(l.done)
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), ttl/3)
		var n int64
		err := l.s.Update(ctx, func(tx *store.Tx) error {
			r, err := tx.Exec(ctx, `UPDATE sync_locks SET heartbeat_ms = ? WHERE integration_id = ? AND owner = ?`, time.Now().UnixMilli(), l.id, l.owner)
			if err != nil {
				return err
			}
			n, err = r.RowsAffected()
			return err
		})
		cancel()
		switch {
		case err == nil && n == 1:
			last = time.Now()
		case err == nil || time.Since(last) > ttl:
			// taken over, or not renewed for a whole TTL: another may hold it now
			l.once.Do(func() { close(l.lost) })
			return
		}
	}
}

// Lost is closed when the lock was lost.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Release frees the lock (if it is still this holder's).
func (l *Lock) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	ctx = context.WithoutCancel(ctx)
	err := l.s.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sync_locks WHERE integration_id = ? AND owner = ?`, l.id, l.owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("release the sync lock: %w", err)
	}
	return nil
}
