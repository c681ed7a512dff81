package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv("KONDUIT_LOCK_HELPER") != "" {
		os.Exit(lockHelper())
	}
	os.Exit(pgtest.Main(m))
}

var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
}

func forEachBackend(t *testing.T, body func(t *testing.T, dsn string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { body(t, b.dsn(t)) })
	}
}

func open(t *testing.T, dsn string) *store.Store {
	t.Helper()
	t.Setenv(store.SecretKeyEnv, "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the key of a PostgreSQL DSN, never in the user's config
	s, _, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func kon(name string) *store.Integration {
	return &store.Integration{Kind: store.KindKonnektive, Name: name, BaseURL: "http://127.0.0.1:1", LoginID: "api",
		TimeZone: "America/New_York", ImportFrom: crm.DateOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), SyncEvery: time.Hour}
}

func TestDefaultDSN(t *testing.T) {
	t.Setenv(EnvDB, "")
	t.Setenv("XDG_DATA_HOME", "/data")
	if d, _ := DefaultDSN(); d != "sqlite:/data/konduit/konduit.db" {
		t.Fatalf("default = %q", d)
	}
	t.Setenv(EnvDB, "postgres://x@h/db")
	if d, _ := DefaultDSN(); d != "postgres://x@h/db" {
		t.Fatalf("with $KONDUIT_DB = %q", d)
	}
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	s := open(t, dsn)
	if _, err := Find(ctx, s, "", ""); !errors.Is(err, ErrNone) || exitcode.HintOf(err) == "" {
		t.Fatalf("empty database: %v", err)
	}
	if _, err := Save(ctx, s, dsn, kon("a"), "pw-synthetic"); err != nil {
		t.Fatal(err)
	}
	if in, err := Find(ctx, s, "", store.KindKonnektive); err != nil || in.Name != "a" {
		t.Fatalf("the only one: %v %v", in, err)
	}
	legacy := &store.Integration{Kind: store.KindLegacy, Name: "files", TimeZone: "UTC"}
	if _, err := Save(ctx, s, dsn, legacy, ""); err != nil {
		t.Fatal(err)
	}
	if in, err := Find(ctx, s, "", store.KindKonnektive); err != nil || in.Name != "a" {
		t.Fatalf("the only Konnektive one: %v %v", in, err)
	}
	_, err := Find(ctx, s, "", "")
	var ce *ChooseError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "choose one of a, files") || exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("two: %v", err)
	}
	if _, err := Find(ctx, s, "nope", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := Find(ctx, s, "files", store.KindKonnektive); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("wrong kind: %v", err)
	}
}

func TestSaveRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		in := kon("m")
		ch, err := Save(ctx, s, dsn, in, "pw-synthetic")
		if err != nil || !ch.Created {
			t.Fatalf("create: %+v %v", ch, err)
		}
		if pw, err := Password(ctx, dsn, in); err != nil || pw != "pw-synthetic" {
			t.Fatalf("unseal: %q %v", pw, err)
		}
		cp := store.Checkpoint{Entity: store.Orders, Phase: store.PhaseIdle}
		if err := s.Update(ctx, func(tx *store.Tx) error { return tx.SaveCheckpoint(ctx, in.ID, cp) }); err != nil {
			t.Fatal(err)
		}
		// the same settings: nothing reset
		same := kon("m")
		if ch, err = Save(ctx, s, dsn, same, ""); err != nil || ch.Created || ch.RangeChanged || ch.Retimed {
			t.Fatalf("same: %+v %v", ch, err)
		}
		if pw, err := Password(ctx, dsn, same); err != nil || pw != "pw-synthetic" {
			t.Fatalf("an empty password keeps the saved one: %q %v", pw, err)
		}
		if _, ok, _ := s.Checkpoint(ctx, in.ID, store.Orders); !ok {
			t.Fatal("a save without changes reset the checkpoints")
		}
		// a new range resets the checkpoints
		moved := kon("m")
		moved.ImportFrom = crm.DateOf(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
		if ch, err = Save(ctx, s, dsn, moved, ""); err != nil || !ch.RangeChanged || ch.Retimed {
			t.Fatalf("range: %+v %v", ch, err)
		}
		if _, ok, _ := s.Checkpoint(ctx, in.ID, store.Orders); ok {
			t.Fatal("a new range kept the checkpoints")
		}
		// a new zone retimes
		zoned := kon("m")
		zoned.ImportFrom = moved.ImportFrom
		zoned.TimeZone = "Europe/Berlin"
		if ch, err = Save(ctx, s, dsn, zoned, ""); err != nil || !ch.Retimed || ch.OldZone != "America/New_York" || ch.RangeChanged {
			t.Fatalf("zone: %+v %v", ch, err)
		}
		got, _ := s.Integration(ctx, "m")
		if got.TimeZone != "Europe/Berlin" {
			t.Fatalf("zone saved as %q", got.TimeZone)
		}
		// another kind under the name is refused
		if _, err := Save(ctx, s, dsn, &store.Integration{Kind: store.KindLegacy, Name: "m", TimeZone: "UTC"}, ""); exitcode.Of(err) != exitcode.Usage {
			t.Fatalf("kind: %v", err)
		}
	})
}

func TestDeleteAndPause(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		a, b := kon("a"), kon("b")
		for _, in := range []*store.Integration{a, b} {
			if _, err := Save(ctx, s, dsn, in, "pw-synthetic"); err != nil {
				t.Fatal(err)
			}
			if err := s.Update(ctx, func(tx *store.Tx) error {
				return tx.UpsertCustomers(ctx, in.ID, []crm.Customer{{ID: "c1", Source: crm.SourceAPI}})
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.StartRun(ctx, in.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := SetPaused(ctx, s, "a", true); err != nil {
			t.Fatal(err)
		}
		st, err := StatusOf(ctx, s, a, time.Now())
		if err != nil || !st.Paused || !st.Next.IsZero() {
			t.Fatalf("paused: %+v %v", st, err)
		}
		if st, err := StatusOf(ctx, s, b, time.Now()); err != nil || st.Paused || st.LastRun == nil || !st.Next.Equal(st.LastRun.Started.Add(b.SyncEvery)) {
			t.Fatalf("b: next run %v, want its last start + its frequency (%v)", st.Next, err)
		}
		if err := Delete(ctx, s, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Integration(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a still there: %v", err)
		}
		tables, err := integrationTables(ctx, s)
		if err != nil || len(tables) < 10 {
			t.Fatalf("tables %v %v", tables, err)
		}
		for _, tb := range tables {
			var n int
			if err := s.DB().QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM `+tb+` WHERE integration_id = ?`), a.ID).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s keeps %d rows of the deleted integration (%v)", tb, n, err)
			}
		}
		if c, _ := s.Counts(ctx, b.ID); c.Total() != 1 {
			t.Fatalf("b lost its rows: %v", c)
		}
	})
}

func TestLockExclusive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		in := kon("m")
		if _, err := Save(ctx, s, dsn, in, "pw-synthetic"); err != nil {
			t.Fatal(err)
		}
		// many racers, one winner
		var mu sync.Mutex
		var won []*Lock
		var busy int
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := Acquire(ctx, s, in, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				var be *BusyError
				switch {
				case err == nil:
					won = append(won, l)
				case errors.As(err, &be):
					busy++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 || busy != 7 {
			t.Fatalf("%d took the lock, %d were told busy", len(won), busy)
		}
		_, err := Acquire(ctx, s, in, time.Minute)
		var be *BusyError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), "already syncing since") || exitcode.Of(err) != 0 {
			t.Fatalf("second: %v", err)
		}
		if err := won[0].Release(ctx); err != nil {
			t.Fatal(err)
		}
		l, err := Acquire(ctx, s, in, time.Minute)
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		// a waiter gets it when the holder lets go
		got := make(chan error, 1)
		go func() {
			l2, err := AcquireWait(ctx, s, in, time.Minute, 50*time.Millisecond)
			if err == nil {
				err = l2.Release(ctx)
			}
			got <- err
		}()
		time.Sleep(200 * time.Millisecond)
		select {
		case err := <-got:
			t.Fatalf("the waiter did not wait: %v", err)
		default:
		}
		l.Release(ctx)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})
}

// TestLockKill9 takes the lock in a subprocess that keeps it past its TTL
// by its heartbeat, kills it with SIGKILL, and holds that the lock is taken
// over at once (its holder ran on this machine and is gone); a holder on
// another machine that went silent loses it once its heartbeat is older
// than the TTL.
func TestLockKill9(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		in := kon("m")
		if _, err := Save(ctx, s, dsn, in, "pw-synthetic"); err != nil {
			t.Fatal(err)
		}
		const ttl = 2 * time.Second
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "KONDUIT_LOCK_HELPER="+dsn)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := out.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "locked") {
			cmd.Process.Kill()
			t.Fatalf("helper said %q", buf[:n])
		}
		// held across processes, and kept alive by the heartbeat past its TTL
		time.Sleep(ttl + ttl/2)
		if _, err := Acquire(ctx, s, in, ttl); !isBusy(err) {
			t.Fatalf("while the helper lives: %v", err)
		}
		st, err := StatusOf(ctx, s, in, time.Now())
		if err != nil || st.SyncingSince.IsZero() {
			t.Fatalf("status does not show the sync: %+v %v", st, err)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		// its holder ran here and is gone: taken over at once
		l, err := Acquire(ctx, s, in, ttl)
		if err != nil {
			t.Fatalf("right after kill -9 of a holder on this machine: %v", err)
		}
		l.Release(ctx)
		// a holder on another machine that stopped renewing: taken over once
		// its heartbeat is older than the TTL
		if err := s.Update(ctx, func(tx *store.Tx) error {
			now := time.Now().UnixMilli()
			_, err := tx.Exec(ctx, `INSERT INTO sync_locks (integration_id, owner, since_ms, heartbeat_ms) VALUES (?, 'elsewhere:4242:aa:bb', ?, ?)`, in.ID, now, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		silent := time.Now()
		if _, err := Acquire(ctx, s, in, ttl); !isBusy(err) {
			t.Fatalf("a fresh lock of another machine: %v", err)
		}
		l, err = AcquireWait(ctx, s, in, ttl, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(silent); took < ttl || took > 2*ttl {
			t.Fatalf("a silent holder's lock was taken over after %s (ttl %s)", took, ttl)
		}
		l.Release(ctx)
	})
}

// TestLockLiveHolderKeepsIt: a holder alive on this machine keeps its lock
// however old its heartbeat (a long transaction can delay it).
func TestLockLiveHolderKeepsIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		in := kon("m")
		if _, err := Save(ctx, s, dsn, in, "pw-synthetic"); err != nil {
			t.Fatal(err)
		}
		h, _ := os.Hostname()
		owner := fmt.Sprintf("%s:%d:aa:bb", h, os.Getppid()) // the go tool running this test: alive
		if err := s.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO sync_locks (integration_id, owner, since_ms, heartbeat_ms) VALUES (?, ?, 1, 1)`, in.ID, owner)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := Acquire(ctx, s, in, time.Second); !isBusy(err) {
			t.Fatalf("a live local holder with a stale heartbeat lost its lock: %v", err)
		}
	})
}

func isBusy(err error) bool {
	var be *BusyError
	return errors.As(err, &be)
}

func lockHelper() int {
	ctx := context.Background()
	s, err := store.Open(ctx, os.Getenv("KONDUIT_LOCK_HELPER"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	in, err := s.Integration(ctx, "m")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := Acquire(ctx, s, in, 2*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("locked")
	select {}
}
