// Command report-bench times "konduit load", "konduit rollup" and every
// "konduit report" on one store, SQLite or a throwaway PostgreSQL cluster,
// running the real binary as a user would. Each report runs -runs times
// from the rollups (the fastest wall time and its peak RSS are kept: other
// processes on a shared machine only ever add time) and once with
// --no-rollup, which reads every transaction. Results are markdown table
// rows on stdout.
//
// Usage:
//
//	go run ./bench/report -konduit BIN -files DIR -backend sqlite -db PATH [-skip-load]
//	go run ./bench/report -konduit BIN -files DIR -backend postgres
//
// DIR holds legacy files from "konduit synth" (only the transactions file
// is loaded). With -skip-load an existing SQLite store is reused.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/konduit/konduit/internal/store/pgtest"
)

var reports = []string{
	"summary --from 2025-01-01 --to 2025-12-31",
	"summary --from 2025-10-01 --to 2025-10-31",
	"summary --from 2025-10-01 --to 2025-10-31 --by campaign",
	"summary --from 2025-01-01 --to 2025-12-31 --by subaffiliate",
	"reconcile --from 2025-06-01 --to 2025-06-30",
	"ltv --as-of 2025-11-10",
	"ltv --as-of 2025-11-10 --cohort week --months 0,1,2,3,6,12",
	"ltv --as-of 2025-11-10 --by campaign",
	"retention",
	"retention --by campaign",
	"chargebacks",
}

func main() {
	bin := flag.String("konduit", "", "the konduit binary")
	files := flag.String("files", "", "directory of legacy files from konduit synth")
	backend := flag.String("backend", "sqlite", "sqlite or postgres")
	db := flag.String("db", "", "SQLite file (sqlite backend)")
	skipLoad := flag.Bool("skip-load", false, "reuse the SQLite store as it is")
	runs := flag.Int("runs", 3, "runs of each report from the rollups")
	slow := flag.Bool("no-rollup", true, "also time each report once with --no-rollup")
	flag.Parse()
	ctx := context.Background()
	var dsn string
	switch *backend {
	case "sqlite":
		dsn = "sqlite:" + *db
	case "postgres":
		c, err := pgtest.Start(ctx)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Stop()
		if dsn, err = c.NewDatabase(ctx); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatalf("backend %q", *backend)
	}
	run := func(args ...string) (time.Duration, int64) {
		start := time.Now()
		cmd := exec.Command(*bin, args...)
		cmd.Stdout, cmd.Stderr = nil, os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("konduit %s: %v", strings.Join(args, " "), err)
		}
		return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	}
	row := func(what string, d time.Duration, kb int64) {
		fmt.Printf("| %s | %.2f s | %d MiB |\n", what, d.Seconds(), kb/1024)
	}
	fmt.Printf("| %s: command | wall | peak RSS |\n| --- | --- | --- |\n", *backend)
	if !*skipLoad {
		d, kb := run("load", "-q", "--db", dsn, "--timezone", "America/New_York", filepath.Join(*files, "legacy_transactions.csv"))
		row("load (validate, insert, derive, indexes, rollups, ANALYZE)", d, kb)
	}
	d, kb := run("rollup", "--db", dsn)
	row("rollup (a no-op after load; a full build on a store loaded by an older konduit)", d, kb)
	for _, r := range reports {
		args := append([]string{"report", "--db", dsn, "--format", "json"}, strings.Fields(r)...)
		best, bestKB := time.Duration(1<<62), int64(0)
		for i := 0; i < *runs; i++ {
			if d, kb := run(args...); d < best {
				best, bestKB = d, kb
			}
		}
		row("report "+r, best, bestKB)
		if *slow {
			d, kb := run(append(args, "--no-rollup")...)
			row("report "+r+" --no-rollup", d, kb)
		}
	}
}
