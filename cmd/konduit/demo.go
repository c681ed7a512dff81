package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/synth"
	"github.com/konduit/konduit/internal/web"
)

type demoOptions struct {
	addr      string
	dir       string
	customers int
	seed      uint64
	months    int
	timezone  string
}

func init() { register(newDemoCmd) }

func newDemoCmd(g *globalOptions) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo [--addr 127.0.0.1:8080]",
		Short: "Try konduit: a fake Konnektive merchant, synced into SQLite, in the dashboard",
		Long: `demo runs everything in one process, with nothing to install: a fake
Konnektive API with a generated merchant (as "konduit fake-konnektive" serves
it), an integration connected to it, a first sync into a SQLite file, and
the dashboard. It prints the dashboard's address and the demo login.

The data lives in --dir (default: a temporary directory removed when demo
stops). Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "dashboard address (loopback; another free port is taken when it is busy)")
	f.StringVar(&o.dir, "dir", "", "keep the demo database here (default: a temporary directory, removed at exit)")
	f.IntVar(&o.customers, "customers", 2000, "customers of the generated merchant")
	f.Uint64Var(&o.seed, "seed", 1, "random seed of the merchant")
	f.IntVar(&o.months, "months", 12, "months of history")
	f.StringVar(&o.timezone, "timezone", synth.DefaultTimeZone, "the fake account's time zone (IANA name)")
	return cmd
}

// demoLogin is the fake API user's name.
const demoLogin = "demo-api"

func runDemo(ctx context.Context, g *globalOptions, o demoOptions) error {
	if !web.IsLoopback(o.addr) {
		return usageErrorf("--addr %q: the demo listens on a loopback address only (127.0.0.1)", o.addr)
	}
	if o.customers <= 0 || o.months <= 0 || o.months > 120 {
		return usageErrorf("--customers must be positive and --months between 1 and 120")
	}
	loc, err := time.LoadLocation(o.timezone)
	if err != nil || o.timezone == "Local" {
		return usageErrorf("--timezone %q is not an IANA time zone name", o.timezone)
	}
	// The data directory is 0700 and its files 0600, whatever the umask
	// (a --dir that exists keeps its mode).
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "konduit-demo-"); err != nil {
			return fmt.Errorf("demo: make data directory: %w", err)
		}
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("demo: make data directory: %w", err)
		}
	} else if err := mkdirAllPrivate(dir); err != nil {
		return fmt.Errorf("demo: make data directory: %w", err)
	}

	// The fake Konnektive, in process, on a free loopback port.
	apiPassword, err := web.NewToken()
	if err != nil {
		return err
	}
	asOf := crm.DateOf(time.Now().In(loc))
	api, err := fake.New(fake.Options{LoginID: demoLogin, Password: apiPassword, Location: loc})
	if err != nil {
		return err
	}
	began := time.Now()
	if err := fake.Generate(ctx, api, synth.Options{Customers: o.customers, Seed: o.seed, AsOf: asOf, Months: o.months, TimeZone: loc}); err != nil {
		return err
	}
	cust, orders, purchases, txns := api.Counts()
	slog.Info("demo: merchant generated", "customers", cust, "orders", orders, "purchases", purchases, "transactions", txns, "took", time.Since(began).Round(time.Millisecond))
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen: %w", err)
	}
	apiSrv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go apiSrv.Serve(apiLn)
	defer apiSrv.Close()

	// The database and the integration, as "Connect with Konnektive" saves it.
	dsn := "sqlite:" + filepath.Join(dir, "demo.db") // store.Open creates it 0600
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	from := crm.DateOf(asOf.In(loc).AddDate(0, -o.months-1, 0))
	in := &store.Integration{Kind: store.KindKonnektive, Name: "demo", BaseURL: "http://" + apiLn.Addr().String(), LoginID: demoLogin,
		AccountName: "Demo Merchant", AccountUsername: "demo", TimeZone: loc.String(), ImportFrom: from}
	// a new fake (a new port or day) is read again: integration.Save's rules
	if _, err := integration.Save(ctx, st, dsn, in, apiPassword); err != nil {
		return err
	}

	// The dashboard's admin: a fresh password each run.
	adminFile, err := web.AdminFilePath(dsn)
	if err != nil {
		return err
	}
	adminPassword, err := web.NewToken()
	if err != nil {
		return err
	}
	adminPassword = adminPassword[:20]
	if err := web.SetAdminPassword(ctx, adminFile, adminPassword); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(o.addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return fmt.Errorf("demo: listen: %w", err)
	}
	ready := func(srv *web.Server) error {
		fmt.Fprintf(g.stdout, "syncing the fake merchant (%d customers, %d transactions) into %s ...\n", cust, txns, strings.TrimPrefix(dsn, "sqlite:"))
		t0 := time.Now()
		if err := srv.SyncNow(ctx, in.Name); err != nil {
			return err
		}
		srv.WaitSyncs()
		if err := ctx.Err(); err != nil {
			return err
		}
		counts, err := st.Counts(ctx, in.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "synced %d rows in %s\n\n", counts.Total(), time.Since(t0).Round(time.Millisecond))
		fmt.Fprintf(g.stdout, "Konduit demo dashboard: http://%s\n", ln.Addr())
		fmt.Fprintf(g.stdout, "  log in with the admin password: %s\n", adminPassword)
		fmt.Fprintf(g.stdout, "  fake Konnektive API: http://%s (API username %s; its password is saved, encrypted, in the integration)\n", apiLn.Addr(), demoLogin)
		fmt.Fprintln(g.stdout, "Stop with Ctrl-C.")
		return nil
	}
	return serveDashboard(ctx, g, ln, web.Options{Store: st, DSN: dsn, AdminFile: adminFile, TempDir: dir, SyncRate: -1}, ready)
}

// mkdirAllPrivate makes dir and its missing parents with mode 0700,
// whatever the umask; existing directories keep their mode.
func mkdirAllPrivate(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAllPrivate(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return os.Chmod(dir, 0o700)
}
