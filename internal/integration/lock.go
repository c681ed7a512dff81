package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/exitcode"
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
func (e *BusyError) ExitCode() int { return exitcode.OK }

// Lock is a held sync lock: one row of sync_locks, renewed by a heartbeat
// until Release. Lost is closed when the lock was taken over (this process
// could not renew it for a whole TTL and another on another machine judged
// it gone): the holder must stop writing.
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
// A free lock is taken with one INSERT ... ON CONFLICT DO NOTHING, so of
// two processes racing for it exactly one wins, on SQLite and PostgreSQL
// alike. A held lock is taken over (compare and swap on its owner) only
// when its holder is gone: it ran on this machine and its process is dead
// (kill -9: at once), or it ran elsewhere and its heartbeat is older than
// ttl (DefaultLockTTL when 0). A holder alive on this machine keeps it,
// however late its heartbeat (a long rollup transaction on SQLite).
func Acquire(ctx context.Context, s *store.Store, in *store.Integration, ttl time.Duration) (*Lock, error) {
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	owner := Owner() + ":" + newNonce()
	for {
		now := time.Now().UnixMilli()
		took, err := execOne(ctx, s, `INSERT INTO sync_locks (integration_id, owner, since_ms, heartbeat_ms) VALUES (?, ?, ?, ?) ON CONFLICT (integration_id) DO NOTHING`,
			in.ID, owner, now, now)
		if err != nil {
			return nil, fmt.Errorf("take the sync lock of %s: %w", in.Name, err)
		}
		if !took {
			var holder string
			var since, beat int64
			err := s.DB().QueryRowContext(ctx, s.Rebind(`SELECT owner, since_ms, heartbeat_ms FROM sync_locks WHERE integration_id = ?`), in.ID).Scan(&holder, &since, &beat)
			if errors.Is(err, sql.ErrNoRows) {
				continue // released meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("read the sync lock of %s: %w", in.Name, err)
			}
			here, dead := holderHere(holder)
			if !dead && (here || beat >= now-ttl.Milliseconds()) {
				return nil, &BusyError{Integration: in.Name, Owner: holder, Since: time.UnixMilli(since)}
			}
			took, err = execOne(ctx, s, `UPDATE sync_locks SET owner = ?, since_ms = ?, heartbeat_ms = ? WHERE integration_id = ? AND owner = ?`, owner, now, now, in.ID, holder)
			if err != nil {
				return nil, fmt.Errorf("take over the sync lock of %s: %w", in.Name, err)
			}
			if !took {
				continue // another took it over first: look again
			}
		}
		l := &Lock{s: s, id: in.ID, owner: owner, stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
		go l.heartbeat(ttl)
		return l, nil
	}
}

// execOne runs a write on the store's pool (not its write connection, so a
// heartbeat never waits behind a sync's transaction on PostgreSQL) and
// reports whether it changed one row.
func execOne(ctx context.Context, s *store.Store, query string, args ...any) (bool, error) {
	r, err := s.DB().ExecContext(ctx, s.Rebind(query), args...)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
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

// holderHere reports whether a lock's owner (host:pid:nonce:nonce) ran on
// this machine, and if so whether its process is gone.
func holderHere(owner string) (here, dead bool) {
	parts := strings.Split(owner, ":")
	if len(parts) < 4 {
		return false, false
	}
	h, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[len(parts)-3])
	host := strings.Join(parts[:len(parts)-3], ":")
	if err != nil || host != h || pid <= 0 {
		return false, false
	}
	return true, pid != os.Getpid() && !processAlive(pid)
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
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), ttl/3)
		ok, err := execOne(ctx, l.s, `UPDATE sync_locks SET heartbeat_ms = ? WHERE integration_id = ? AND owner = ?`, time.Now().UnixMilli(), l.id, l.owner)
		cancel()
		if err == nil && !ok {
			// taken over: another process judged this one gone
			l.once.Do(func() { close(l.lost) })
			return
		}
		// an error (the database busy or away) is tried again next beat
	}
}

// Lost is closed when the lock was lost.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Release frees the lock (if it is still this holder's).
func (l *Lock) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	if _, err := execOne(context.WithoutCancel(ctx), l.s, `DELETE FROM sync_locks WHERE integration_id = ? AND owner = ?`, l.id, l.owner); err != nil {
		return fmt.Errorf("release the sync lock: %w", err)
	}
	return nil
}
