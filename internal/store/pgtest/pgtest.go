// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb in
// a temporary directory, postgres on 127.0.0.1 at a free port, stopped and
// removed when the test (or the package's TestMain) ends.
//
// When PostgreSQL is not installed the tests that need it are skipped
// locally and FAIL when the CI environment variable is set.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir   string // holds data/ and the socket
	port  int
	bin   string
	runAs []string // command prefix to run as the postgres user, or nil
	seq   atomic.Int64
}

// ErrNoPostgres says the PostgreSQL server binaries were not found.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found; install the postgresql package")

// findBin finds the directory holding initdb and pg_ctl: PATH first, then
// Debian's /usr/lib/postgresql/*/bin, newest first.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start initialises and starts a cluster. initdb refuses to run as root, so
// as root the server runs as the postgres user (runuser), in a directory
// handed to that user. Call Stop when done.
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	dir, err := os.MkdirTemp("", "konduit-pgtest-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs runuser: %w", err)
		}
		c.runAs = []string{runuser, "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.cmd(ctx, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	// A port can be taken between freePort and the server's bind; retry.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.port = port
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100", port, dir)
		out, err := c.cmd(ctx, "pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 3 {
			logb, _ := os.ReadFile(filepath.Join(dir, "log"))
			c.Stop()
			return nil, fmt.Errorf("pg_ctl start: %w: %s %s", err, out, logb)
		}
	}
	return c, nil
}

func (c *Cluster) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, c.runAs...), append([]string{filepath.Join(c.bin, name)}, args...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	return cmd
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() {
	if c.port != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c.cmd(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop").Run()
		cancel()
	}
	os.RemoveAll(c.dir)
}

// DSN is the URL of a database on the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// NewDatabase creates an empty database and returns its DSN.
func (c *Cluster) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.seq.Add(1))
	db, err := sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.DSN(name), nil
}

// Port is the TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Shared starts one cluster for the whole test binary on first use. Stop it
// from TestMain with StopShared.
func Shared() (*Cluster, error) {
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx)
	})
	return shared, sharedErr
}

// StopShared stops the shared cluster if one was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Database gives a test a fresh database on the shared cluster. Without
// PostgreSQL it skips the test, or fails it when CI is set.
func Database(t testing.TB) string {
	t.Helper()
	c, err := Shared()
	if err != nil {
		if errors.Is(err, ErrNoPostgres) && os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL tests skipped: %v", err)
		}
		t.Fatalf("start PostgreSQL: %v", err)
	}
	dsn, err := c.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Main runs a package's tests and stops the shared cluster afterwards; call
// it from TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	StopShared()
	return code
}
