// Command sync-bench measures a full "konduit sync" of a generated merchant
// served by "konduit fake-konnektive" (rate limit off) into SQLite and into
// a throwaway PostgreSQL cluster. Each piece runs as its own process, as a
// user would run them. It prints, per backend: wall time, rows, rows/s,
// peak RSS, and konduit's own split of the time between the network
// (request sent until the body is read), the store (inside transactions)
// and the rest (decoding, the client, the sync loop).
//
// Usage: go run ./bench/sync -konduit PATH [-customers N] [-backends sqlite,postgres]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/konduit/konduit/internal/store/pgtest"
)

const (
	login    = "bench_api"
	password = "bench-synthetic-pw"
	zone     = "America/New_York"
)

func main() {
	bin := flag.String("konduit", "bench/out/konduit", "the konduit binary")
	customers := flag.Int("customers", 100000, "customers of the generated merchant")
	months := flag.Int("months", 12, "months of history")
	backends := flag.String("backends", "sqlite,postgres", "comma-separated: sqlite, postgres")
	out := flag.String("out", "bench/out", "directory for the SQLite file")
	flag.Parse()
	if err := run(*bin, *customers, *months, strings.Split(*backends, ","), *out); err != nil {
		fmt.Fprintln(os.Stderr, "sync-bench:", err)
		os.Exit(1)
	}
}

func run(bin string, customers, months int, backends []string, out string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	today := time.Now().In(loc)
	from := today.AddDate(0, -months, -1).Format("2006-01-02")

	// The fake API, in its own process.
	genStart := time.Now()
	fake := exec.CommandContext(ctx, bin, "fake-konnektive", "--addr", "127.0.0.1:0", "--customers", fmt.Sprint(customers),
		"--months", fmt.Sprint(months), "--login-id", login, "--seed", "1", "-q")
	fake.Env = append(os.Environ(), "KONNEKTIVE_PASSWORD="+password)
	fake.Stderr = os.Stderr
	stdout, err := fake.StdoutPipe()
	if err != nil {
		return err
	}
	if err := fake.Start(); err != nil {
		return err
	}
	defer func() { fake.Process.Signal(os.Interrupt); fake.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the fake's address: %w", err)
	}
	go io.Copy(io.Discard, stdout)
	i := strings.Index(line, "http://")
	if i < 0 {
		return fmt.Errorf("unexpected fake output %q", line)
	}
	url := strings.Fields(line[i:])[0]
	fmt.Printf("fake merchant: %d customers, %d months, generated in %s, at %s\n", customers, months, time.Since(genStart).Round(time.Millisecond), url)
	fmt.Printf("machine: %d cores (nproc), %s\n", numCPU(), time.Now().UTC().Format("2006-01-02"))

	for _, b := range backends {
		var dsn string
		switch b {
		case "sqlite":
			path := filepath.Join(out, fmt.Sprintf("sync-bench-%d.db", customers))
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
			dsn = "sqlite:" + path
		case "postgres":
			c, err := pgtest.Start(ctx)
			if err != nil {
				return err
			}
			defer c.Stop()
			if dsn, err = c.NewDatabase(ctx); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown backend %q", b)
		}
		cmd := exec.CommandContext(ctx, bin, "sync", "--db", dsn, "--api-url", url, "--login-id", login, "--timezone", zone,
			"--from", from, "--rate", "0", "-q")
		cmd.Env = append(os.Environ(), "KONNEKTIVE_PASSWORD="+password)
		var sum strings.Builder
		cmd.Stdout, cmd.Stderr = &sum, os.Stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s sync: %w\n%s", b, err, sum.String())
		}
		rss := int64(0)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss / 1024
		}
		user, sys := cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
		fmt.Printf("\n== %s: wall %s, konduit CPU user %s sys %s, peak RSS %d MiB\n", b, wall.Round(time.Millisecond), user.Round(time.Millisecond), sys.Round(time.Millisecond), rss)
		fmt.Print(sum.String())
	}
	return nil
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
