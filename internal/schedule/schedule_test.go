package schedule

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
	"github.com/konduit/konduit/internal/synth"
)

func TestMain(m *testing.M) {
	if os.Getenv("KONDUIT_SCHEDULE_WORKER") != "" {
		os.Exit(workerMain())
	}
	os.Exit(pgtest.Main(m))
}

const (
	testLogin    = "api_user"
	testPassword = "synthetic-Passw0rd"
	testZone     = "America/New_York"
)

// merchant is one fake Konnektive account behind a switch that takes it
// down (every request answered by a load balancer's 502 page).
type merchant struct {
	name  string
	clock *fake.Clock // the fake's now: stopped, so its rows do not grow while a test compares
	srv   *fake.Server
	down  *atomic.Bool
	url   string
}

// fleet is n fake merchants, each saved as an integration synced every
// `every`.
func fleet(t *testing.T, dsn string, n, customers int, every time.Duration) []*merchant {
	t.Helper()
	ctx := context.Background()
	loc, _ := time.LoadLocation(testZone)
	s, _, err := integration.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []*merchant
	asOf := crm.DateOf(time.Now().In(loc))
	for i := range n {
		clock := fake.NewClock(time.Now())
		srv, err := fake.New(fake.Options{LoginID: testLogin, Password: testPassword, Location: loc, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := fake.Generate(ctx, srv, synth.Options{Customers: customers, Seed: uint64(100 + i), AsOf: asOf, Months: 1, TimeZone: loc}); err != nil {
			t.Fatal(err)
		}
		m := &merchant{name: fmt.Sprintf("m%02d", i), clock: clock, srv: srv, down: new(atomic.Bool)}
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m.down.Load() {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
				return
			}
			srv.ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		m.url = hs.URL
		in := &store.Integration{Kind: store.KindKonnektive, Name: m.name, BaseURL: hs.URL, LoginID: testLogin, TimeZone: testZone,
			ImportFrom: crm.DateOf(time.Now().In(loc).AddDate(0, -2, 0)), SyncEvery: every}
		if _, err := integration.Save(ctx, s, dsn, in, testPassword); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// setDown takes every fake down, or brings it back with its clock moved to
// now (what happened meanwhile appears: the catch-up reads it).
func setDown(ms []*merchant, down bool) {
	for _, m := range ms {
		if !down {
			m.clock.Set(time.Now())
		}
		m.down.Store(down)
	}
}

// checkFigures holds every integration's rows to its fake's.
func checkFigures(t *testing.T, s *store.Store, ms []*merchant) {
	t.Helper()
	ctx := context.Background()
	for _, m := range ms {
		in, err := s.Integration(ctx, m.name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Counts(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		cu, or, pu, tr := m.srv.Counts()
		if c[store.Customers] != int64(cu) || c[store.Orders] != int64(or) || c[store.Purchases] != int64(pu) || c[store.Transactions] != int64(tr) {
			t.Errorf("%s: stored %v, the fake holds %d customers, %d orders, %d purchases, %d transactions", m.name, c, cu, or, pu, tr)
		}
	}
}

// runsOf lists an integration's runs, oldest first.
func runsOf(t *testing.T, s *store.Store, name string) []store.Run {
	t.Helper()
	ctx := context.Background()
	in, err := s.Integration(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Runs(ctx, in.ID, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

// checkNoOverlap holds that no two runs of one integration overlapped:
// each began once the one before had ended (sync_runs, whole seconds).
func checkNoOverlap(t *testing.T, s *store.Store, ms []*merchant) (runs int) {
	t.Helper()
	for _, m := range ms {
		rs := runsOf(t, s, m.name)
		runs += len(rs)
		for i := 1; i < len(rs); i++ {
			prev, cur := rs[i-1], rs[i]
			if prev.Finished.IsZero() || cur.Started.Before(prev.Finished) {
				t.Errorf("%s: run %d (%s..%s, %s) overlaps run %d started %s", m.name, prev.ID, prev.Started, prev.Finished, prev.Status, cur.ID, cur.Started)
			}
		}
	}
	return runs
}

// okAfter reports whether every integration has a successful run that
// began after t0.
func okAfter(t *testing.T, s *store.Store, ms []*merchant, t0 time.Time) bool {
	for _, m := range ms {
		ok := false
		for _, r := range runsOf(t, s, m.name) {
			if r.Status == store.RunOK && !r.Started.Before(t0.Truncate(time.Second)) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// dump, when set, logs the state a failed wait leaves.
var dump func()

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			if dump != nil {
				dump()
			}
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestScheduleSQLiteInProcess: the embedded default, one process, River
// on riversqlite: every integration is synced at its frequency, runs never
// overlap, an outage of every fake does not end the schedules, and they
// catch up once the fakes are back.
func TestScheduleSQLiteInProcess(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	t.Setenv(store.SecretKeyEnv, "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the key of a PostgreSQL DSN, never in the user's config
	ms := fleet(t, dsn, 6, 25, 3*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, _, err := integration.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc, err := New(ctx, Options{Store: s, DSN: dsn, Workers: 2, Tick: time.Second, MaxBackoff: 2 * time.Second, LockTTL: 3 * time.Second,
		JobTimeout: 10 * time.Second, RescueAfter: 20 * time.Second, Logger: slog.New(slog.DiscardHandler), Client: integration.ClientOptions{MaxRetries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	start := time.Now()
	waitFor(t, 60*time.Second, "every integration synced once", func() bool { return okAfter(t, s, ms, start) })
	time.Sleep(4 * time.Second) // a few scheduled runs more
	setDown(ms, true)
	time.Sleep(8 * time.Second)
	up := time.Now()
	setDown(ms, false)
	waitFor(t, 60*time.Second, "every integration caught up after the outage", func() bool { return okAfter(t, s, ms, up.Add(time.Second)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sc.Close()
	checkFigures(t, s, ms)
	runs := checkNoOverlap(t, s, ms)
	failed := 0
	for _, m := range ms {
		for _, r := range runsOf(t, s, m.name) {
			if r.Status == store.RunFailed {
				failed++
			}
		}
	}
	t.Logf("%d runs over %s, %d failed during the outage", runs, time.Since(start).Round(time.Second), failed)
	if runs < 3*len(ms) || failed == 0 {
		t.Fatalf("%d runs, %d failed: the schedule or the outage did not happen", runs, failed)
	}
}

// workerMain is a worker process for the PostgreSQL tests:
// KONDUIT_SCHEDULE_WORKER holds the DSN; it works until SIGTERM.
func workerMain() int {
	dsn := os.Getenv("KONDUIT_SCHEDULE_WORKER")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer s.Close()
	workers, _ := strconv.Atoi(os.Getenv("KONDUIT_SCHEDULE_WORKERS"))
	sc, err := New(ctx, Options{Store: s, DSN: dsn, Workers: workers, Tick: time.Second, MaxBackoff: 2 * time.Second, LockTTL: 3 * time.Second,
		JobTimeout: 5 * time.Second, RescueAfter: 6 * time.Second, Client: integration.ClientOptions{MaxRetries: 1}, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer sc.Close()
	fmt.Println("working")
	if err := sc.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startWorker(t *testing.T, dsn, failpoint string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KONDUIT_SCHEDULE_WORKER="+dsn, "KONDUIT_SCHEDULE_WORKERS=2", "KONDUIT_FAILPOINT="+failpoint)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := out.Read(buf); string(buf[:n]) != "working\n" {
		cmd.Process.Kill()
		t.Fatalf("worker said %q", buf[:n])
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestSchedulePostgresTwoWorkers: many integrations on one PostgreSQL
// database, two worker processes. One worker is killed with SIGKILL at a
// committed page mid-sync (internal/failpoint); the other picks its job up
// and the database ends equal to the fakes. Every fake goes down for a
// while: the schedules continue and catch up. No two runs of one
// integration overlap.
func TestSchedulePostgresTwoWorkers(t *testing.T) {
	n := 20
	if testing.Short() {
		n = 6
	}
	twoWorkers(t, pgtest.Database(t), n)
}

// TestScheduleSQLiteKill9: the same on the SQLite default, with two worker
// processes sharing the file: riversqlite's state survives a kill -9 and
// the job is picked up.
func TestScheduleSQLiteKill9(t *testing.T) {
	twoWorkers(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"), 6)
}

func twoWorkers(t *testing.T, dsn string, n int) {
	t.Setenv(store.SecretKeyEnv, "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the key of a PostgreSQL DSN, never in the user's config
	// CI runs a short schedule; the run (every 20 s for two
	// minutes, the fakes down for 60 s) is KONDUIT_SCHEDULE_EVERY=20s
	// KONDUIT_SCHEDULE_FOR=2m
	every, soak := 5*time.Second, time.Duration(0)
	if v, err := time.ParseDuration(os.Getenv("KONDUIT_SCHEDULE_EVERY")); err == nil && v > 0 {
		every = v
	}
	if v, err := time.ParseDuration(os.Getenv("KONDUIT_SCHEDULE_FOR")); err == nil {
		soak = v
	}
	ms := fleet(t, dsn, n, 40, every)
	// store.LoadKey kept the key beside... PostgreSQL: in the user config
	// dir; the workers find it the same way.
	ctx := context.Background()
	s, _, err := integration.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dump = func() {
		for _, m := range ms {
			for _, r := range runsOf(t, s, m.name) {
				t.Logf("%s run %d %s..%s %s rows %d %s", m.name, r.ID, r.Started.Format(time.TimeOnly), r.Finished.Format(time.TimeOnly), r.Status, r.Rows.Total(), r.Error)
			}
		}
		q := `SELECT id, kind, state, attempt, args::text, COALESCE(errors[array_length(errors,1)]::text, '') FROM river_job ORDER BY id`
		if s.Backend() == store.SQLite {
			q = `SELECT id, kind, state, attempt, CAST(args AS TEXT), '' FROM river_job ORDER BY id`
		}
		rows, _ := s.DB().Query(q)
		for rows != nil && rows.Next() {
			var id, att int64
			var kind, state, args, e string
			rows.Scan(&id, &kind, &state, &att, &args, &e)
			t.Logf("job %d %s %s attempt %d %s %.200s", id, kind, state, att, args, e)
		}
	}
	defer func() { dump = nil }()
	start := time.Now()
	a := startWorker(t, dsn, "sync.committed:7") // dies at its 7th committed page
	b := startWorker(t, dsn, "")
	killed := make(chan error, 1)
	go func() { killed <- a.Wait() }()
	select {
	case err := <-killed:
		ws, ok := a.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("worker a ended without SIGKILL: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("worker a never reached its failpoint")
	}
	killedAt := time.Now()
	t.Logf("worker a killed -9 at a committed page after %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, 120*time.Second, "every integration synced by the surviving worker", func() bool { return okAfter(t, s, ms, killedAt.Add(time.Second)) })
	t.Logf("every integration synced again %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	// the run the kill cut short is recorded interrupted, and a later run
	// of that integration succeeded
	interrupted := ""
	for _, m := range ms {
		rs := runsOf(t, s, m.name)
		for i, r := range rs {
			if r.Status == store.RunInterrupted && i+1 < len(rs) {
				interrupted = m.name
			}
		}
	}
	if interrupted == "" {
		t.Fatal("no run is recorded interrupted: the kill did not cut a sync short")
	}
	setDown(ms, true)
	time.Sleep(3 * every) // the issue: 60 s at a 20 s frequency
	up := time.Now()
	setDown(ms, false)
	waitFor(t, 120*time.Second+every, "every integration caught up after the outage", func() bool { return okAfter(t, s, ms, up.Add(time.Second)) })
	if rest := soak - time.Since(start); rest > 0 {
		time.Sleep(rest) // the schedule keeps running
	}
	b.Process.Signal(syscall.SIGTERM)
	b.Wait()
	checkFigures(t, s, ms)
	runs := checkNoOverlap(t, s, ms)
	// the integration whose sync was killed holds what one uninterrupted
	// sync of its fake writes, row for row
	for _, m := range ms {
		if m.name == interrupted {
			checkEqualsUninterrupted(t, s, m)
		}
	}
	t.Logf("%d integrations, %d runs over %s; %s's killed run was resumed by the other worker", n, runs, time.Since(start).Round(time.Second), interrupted)
}

// rowDigests is every row of an integration: table, id and row_hash (the
// digest of every column the sync writes).
func rowDigests(t *testing.T, s *store.Store, id int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range []string{"customers", "orders", "transactions", "purchases"} {
		rows, err := s.DB().Query(s.Rebind(`SELECT id, row_hash FROM `+tb+` WHERE integration_id = ?`), id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k, h string
			if err := rows.Scan(&k, &h); err != nil {
				t.Fatal(err)
			}
			out[tb+"/"+k] = h
		}
		rows.Close()
	}
	return out
}

// checkEqualsUninterrupted syncs m's fake once, uninterrupted, into a new
// SQLite database and holds the two databases' rows equal.
func checkEqualsUninterrupted(t *testing.T, s *store.Store, m *merchant) {
	t.Helper()
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "ref.db")
	ref, _, err := integration.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	got, err := s.Integration(ctx, m.name)
	if err != nil {
		t.Fatal(err)
	}
	in := &store.Integration{Kind: store.KindKonnektive, Name: m.name, BaseURL: m.url, LoginID: testLogin, TimeZone: testZone, ImportFrom: got.ImportFrom}
	if _, err := integration.Save(ctx, ref, dsn, in, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := integration.Sync(ctx, integration.SyncOptions{Store: ref, DSN: dsn, Integration: in}); err != nil {
		t.Fatal(err)
	}
	a, b := rowDigests(t, s, got.ID), rowDigests(t, ref, in.ID)
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%s: %d rows after the kill and resume, %d in an uninterrupted sync", m.name, len(a), len(b))
	}
	for k, h := range b {
		if a[k] != h {
			t.Fatalf("%s: %s differs from an uninterrupted sync (%q, want %q)", m.name, k, a[k], h)
		}
	}
}
