package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/schedule"
	"github.com/konduit/konduit/internal/store"
)

type workerOptions struct {
	db         string
	workers    int
	rate       float64
	jobTimeout time.Duration
}

func init() { register(newWorkerCmd) }

func newWorkerCmd(g *globalOptions) *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker [--db postgres://...] [--workers N]",
		Short: "Run scheduled syncs: every integration at its frequency, on any number of machines sharing the database",
		Long: `worker runs the sync jobs of every integration saved in the database
(internal/schedule, on River): each integration is synced at its frequency
("konduit connect --every", the dashboard's Sync frequency), one sync of an
integration at a time across every worker, a failed sync retried with
backoff (an outage never ends a schedule), the reports' rollups refreshed
after each sync. Run it on as many machines as you like against one
PostgreSQL database: they share the jobs, and a worker that dies (kill -9,
a lost machine) has its sync taken over by another after --job-timeout and
a minute. On the SQLite default, one worker process (or "konduit serve",
which runs the same jobs) is the way. Stop it with Ctrl-C or SIGTERM: running
syncs stop at a committed page and are resumed by the next worker.

docs/service.md has systemd units and what to monitor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: postgres://... or sqlite:PATH (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.IntVar(&o.workers, "workers", schedule.DefaultWorkers, "syncs this process runs at once")
	f.Float64Var(&o.rate, "rate", 5, "requests per second each sync sends Konnektive; 0 for no limit")
	f.DurationVar(&o.jobTimeout, "job-timeout", schedule.DefaultJobTimeout, "longest attempt of one sync; a longer one goes on from its last committed page")
	return cmd
}

func runWorker(ctx context.Context, g *globalOptions, o workerOptions) error {
	if o.workers < 1 {
		return usageErrorf("--workers must be 1 or more")
	}
	if o.rate < 0 {
		return usageErrorf("--rate must be 0 or more")
	}
	if o.jobTimeout < time.Second {
		return usageErrorf("--job-timeout must be at least 1s")
	}
	s, dsn, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	return runScheduler(ctx, g, s, dsn, schedule.Options{Workers: o.workers, JobTimeout: o.jobTimeout, Client: integration.ClientOptions{Rate: o.rate}})
}

// runScheduler works the scheduler's jobs in this process until ctx is
// done (worker, sync --watch), logging each sync's end; a stop by signal
// returns nil.
func runScheduler(ctx context.Context, g *globalOptions, s *store.Store, dsn string, so schedule.Options) error {
	so.Store, so.DSN, so.Logger = s, dsn, slog.Default()
	so.Finished = func(in *store.Integration, res integration.SyncResult, err error) {
		switch {
		case err == nil:
			slog.Info("synced", "integration", in.Name, "run", res.RunID, "rows", res.Rows.Total(), "requests", res.Requests, "took", res.Elapsed.Round(time.Millisecond))
		default:
			slog.Warn("sync stopped", "integration", in.Name, "run", res.RunID, "rows", res.Rows.Total(), "err", err)
		}
	}
	sc, err := schedule.New(ctx, so)
	if err != nil {
		return err
	}
	defer sc.Close()
	fmt.Fprintf(g.stderr, "worker: working scheduled syncs in %s (%d at once); stop with Ctrl-C\n", redactedDSN(s), max(so.Workers, 1))
	if err := sc.Run(ctx); err != nil {
		return err
	}
	// stopped by a signal: a service's normal end (exit 0)
	fmt.Fprintln(g.stderr, "worker: stopped; running syncs stopped at a committed page and will be resumed")
	return nil
}
