// Command workers-bench measures scheduled syncs spread over worker
// processes: N small fake merchants (served in this process) saved as
// integrations in one throwaway PostgreSQL database, then `konduit worker
// --workers 1` started 1, 2 and 4 times, until every integration's first
// sync (its backfill) has succeeded. Rounds alternate the worker counts so
// the ratios are paired on a loaded machine. It prints, per round: wall
// time from the workers' start to the last successful run, rows and rows/s,
// page requests and requests/s (from sync_runs), and the same per worker.
//
// Usage: go run ./bench/workers -konduit PATH [-merchants 50] [-customers 100] [-rate 0] [-rounds 2] [-workers 1,2,4]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
	"github.com/konduit/konduit/internal/synth"
)

const (
	login    = "bench_api"
	password = "bench-synthetic-pw"
	zone     = "America/New_York"
)

func main() {
	bin := flag.String("konduit", "bench/out/konduit", "the konduit binary")
	merchants := flag.Int("merchants", 50, "fake merchants (integrations)")
	customers := flag.Int("customers", 100, "customers per merchant")
	months := flag.Int("months", 2, "months of history per merchant")
	rate := flag.Float64("rate", 0, "requests per second per sync (konduit worker --rate); 0 for no limit")
	rounds := flag.Int("rounds", 2, "rounds over the worker counts")
	counts := flag.String("workers", "1,2,4", "worker process counts")
	flag.Parse()
	var ws []int
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "workers-bench: bad -workers")
			os.Exit(2)
		}
		ws = append(ws, n)
	}
	if err := run(*bin, *merchants, *customers, *months, *rate, *rounds, ws); err != nil {
		fmt.Fprintln(os.Stderr, "workers-bench:", err)
		os.Exit(1)
	}
}

func run(bin string, merchants, customers, months int, rate float64, rounds int, workers []int) error {
	ctx := context.Background()
	cfg, err := os.MkdirTemp("", "workers-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cfg)
	os.Setenv("XDG_CONFIG_HOME", cfg) // the key sealing the fakes' password, for this process and the workers
	os.Setenv(store.SecretKeyEnv, "")
	loc, _ := time.LoadLocation(zone)
	asOf := crm.DateOf(time.Now().In(loc))
	var urls []string
	var fakes []*fake.Server
	fakeRows := func() int {
		n := 0
		for _, f := range fakes {
			c, o, p, t := f.Counts()
			n += c + o + p + t
		}
		return n
	}
	for i := range merchants {
		// a stopped clock: the fakes' rows do not grow during a round
		srv, err := fake.New(fake.Options{LoginID: login, Password: password, Location: loc, Clock: fake.NewClock(time.Now()).Now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		if err := fake.Generate(ctx, srv, synth.Options{Customers: customers, Seed: uint64(1000 + i), AsOf: asOf, Months: months, TimeZone: loc}); err != nil {
			return err
		}
		fakes = append(fakes, srv)
		hs := httptest.NewServer(srv)
		defer hs.Close()
		urls = append(urls, hs.URL)
	}
	cl, err := pgtest.Start(ctx)
	if err != nil {
		return err
	}
	defer cl.Stop()
	fmt.Printf("workers-bench: %d merchants x %d customers (%d rows in all), rate %g/s per sync, %s, GOMAXPROCS of the machine: %d cores\n",
		merchants, customers, fakeRows(), rate, time.Now().UTC().Format(time.RFC3339), numCPU())
	fmt.Printf("%-6s %-8s %10s %10s %10s %10s %10s %12s\n", "round", "workers", "seconds", "rows", "rows/s", "requests", "req/s", "rows/s/wkr")
	for r := 1; r <= rounds; r++ {
		for _, w := range workers {
			res, err := round(ctx, bin, cl, urls, from(loc, months), rate, w)
			if err != nil {
				return fmt.Errorf("round %d, %d workers: %w", r, w, err)
			}
			if n := fakeRows(); res.rows != int64(n) {
				return fmt.Errorf("round %d, %d workers: %d rows stored, the fakes hold %d", r, w, res.rows, n)
			}
			secs := res.took.Seconds()
			fmt.Printf("%-6d %-8d %10.2f %10d %10.0f %10d %10.1f %12.0f\n", r, w, secs, res.rows, float64(res.rows)/secs, res.requests, float64(res.requests)/secs, float64(res.rows)/secs/float64(w))
		}
	}
	return nil
}

func from(loc *time.Location, months int) crm.Date {
	return crm.DateOf(time.Now().In(loc).AddDate(0, -months, -1))
}

type result struct {
	took     time.Duration
	rows     int64
	requests int64
}

// round syncs every merchant once into a fresh database with w workers.
func round(ctx context.Context, bin string, cl *pgtest.Cluster, urls []string, from crm.Date, rate float64, w int) (result, error) {
	dsn, err := cl.NewDatabase(ctx)
	if err != nil {
		return result{}, err
	}
	s, _, err := integration.Open(ctx, dsn)
	if err != nil {
		return result{}, err
	}
	defer s.Close()
	for i, u := range urls {
		in := &store.Integration{Kind: store.KindKonnektive, Name: fmt.Sprintf("m%02d", i), BaseURL: u, LoginID: login, TimeZone: zone, ImportFrom: from, SyncEvery: 24 * time.Hour}
		if _, err := integration.Save(ctx, s, dsn, in, password); err != nil {
			return result{}, err
		}
	}
	start := time.Now()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	for range w {
		p := exec.Command(bin, "worker", "--db", dsn, "--workers", "1", "--rate", fmt.Sprint(rate), "-q")
		p.Stderr = os.Stderr
		if err := p.Start(); err != nil {
			return result{}, err
		}
		procs = append(procs, p)
	}
	for {
		var ok int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(DISTINCT integration_id) FROM sync_runs WHERE status = 'ok'`).Scan(&ok); err != nil {
			return result{}, err
		}
		if ok == len(urls) {
			break
		}
		if time.Since(start) > 30*time.Minute {
			return result{}, fmt.Errorf("only %d of %d synced after 30 minutes", ok, len(urls))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var last sql.NullInt64
	var res result
	err = s.DB().QueryRowContext(ctx, `SELECT MAX(finished_at), COALESCE(SUM(requests), 0) FROM sync_runs`).Scan(&last, &res.requests)
	if err != nil {
		return result{}, err
	}
	res.took = time.Since(start) // the poll's resolution (0.1 s); finished_at has whole seconds
	for _, t := range []string{"customers", "orders", "purchases", "transactions"} {
		var n int64
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return result{}, err
		}
		res.rows += n
	}
	return res, nil
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
