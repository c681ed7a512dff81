package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
)

// TestDefaultDatabaseEveryCommand: connect, sync, status, report and
// rollup all use the same default database; none needs --db.
func TestDefaultDatabaseEveryCommand(t *testing.T) {
	url, _ := startCLIFake(t, 40, fake.Options{})
	dir := t.TempDir()
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword, "KONDUIT_DB="}
	steps := [][]string{
		{"connect", "konnektive", "--name", "shop", "--api-url", url, "--login-id", cliLogin, "--timezone", cliZone, "--from", fromDay(), "--every", "1h"},
		{"sync", "--rate", "0"},
		{"status", "--brief"},
		{"report", "summary", "--by", "currency", "--from", fromDay(), "--to", time.Now().Format("2006-01-02")},
		{"rollup"},
	}
	for _, args := range steps {
		r := runCLI(t, dir, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if args[0] == "status" && (!strings.Contains(r.stdout, "shop") || !strings.Contains(r.stdout, " ok ")) {
			t.Fatalf("status:\n%s", r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".data", "konduit", "konduit.db")); err != nil {
		t.Fatalf("the default database: %v", err)
	}
}

// TestSyncAlreadySyncing: a sync of an integration another process is
// syncing says so and exits 0; with --wait it waits and then syncs.
func TestSyncAlreadySyncing(t *testing.T) {
	url, _ := startCLIFake(t, 20, fake.Options{})
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "k.db")
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword}
	if r := runCLI(t, dir, env, "connect", "konnektive", "--db", dsn, "--api-url", url, "--login-id", cliLogin, "--timezone", cliZone, "--from", fromDay()); r.code != 0 {
		t.Fatalf("connect: %s", r.stderr)
	}
	ctx := context.Background()
	s, _, err := integration.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := integration.Find(ctx, s, "", "")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := integration.Acquire(ctx, s, in, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, env, "sync", "--db", dsn, "--rate", "0")
	if r.code != 0 || !strings.Contains(r.stdout, "already syncing since") {
		t.Fatalf("second sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if runs, _ := s.Runs(ctx, in.ID, 10); len(runs) != 0 {
		t.Fatalf("the refused sync recorded a run: %+v", runs)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		lock.Release(ctx)
	}()
	start := time.Now()
	r = runCLI(t, dir, env, "sync", "--db", dsn, "--rate", "0", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "synced konnektive") || time.Since(start) < time.Second {
		t.Fatalf("--wait: exit %d after %s\n%s%s", r.code, time.Since(start), r.stdout, r.stderr)
	}
}

// TestWorkerCommand runs the real `konduit worker` on the SQLite default: it
// syncs a saved integration with a frequency, and stops on SIGTERM with
// exit 0.
func TestWorkerCommand(t *testing.T) {
	url, srv := startCLIFake(t, 30, fake.Options{})
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "k.db")
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword}
	if r := runCLI(t, dir, env, "connect", "konnektive", "--db", dsn, "--name", "w", "--api-url", url, "--login-id", cliLogin, "--timezone", cliZone, "--from", fromDay(), "--every", "1h"); r.code != 0 {
		t.Fatalf("connect: %s", r.stderr)
	}
	cmd := exec.Command(konduitBin, "worker", "--db", dsn, "--rate", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, ".data"), "KONNEKTIVE_PASSWORD=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	var log []string
wait:
	for {
		select {
		case l := <-lines:
			log = append(log, l)
			if strings.Contains(l, "synced") && strings.Contains(l, "integration=w") {
				break wait
			}
		case <-deadline:
			t.Fatalf("the worker did not sync:\n%s", strings.Join(log, "\n"))
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("worker after SIGTERM: %v", err)
	}
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, _ := s.Integration(context.Background(), "w")
	c, _ := s.Counts(context.Background(), in.ID)
	cu, or, pu, tr := srv.Counts()
	if c[store.Customers] != int64(cu) || c[store.Orders] != int64(or) || c[store.Purchases] != int64(pu) || c[store.Transactions] != int64(tr) {
		t.Fatalf("stored %v, fake %d %d %d %d", c, cu, or, pu, tr)
	}
}
