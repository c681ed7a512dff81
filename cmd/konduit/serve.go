package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/web"
)

// envAdminPassword, when set and no admin password is saved yet, becomes the
// dashboard's admin password.
const envAdminPassword = "KONDUIT_ADMIN_PASSWORD"

type serveOptions struct {
	addr        string
	db          string
	allowRemote bool
	maxUploadMB int64
	syncRate    float64
}

func init() { register(newServeCmd) }

func newServeCmd(g *globalOptions) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--db DSN]",
		Short: "Serve the web dashboard: integrations, sync, reports, legacy import checks",
		Long: `serve runs the web dashboard on --addr (loopback only unless --allow-remote):
connect Konnektive and sync it in the background (a scheduler syncs at each
integration's frequency while the server runs), see the reports with charts,
and check and fix legacy import files. Every asset is embedded: nothing is
fetched from the internet.

The dashboard has one admin. On first run, set the password by opening the
setup link serve prints, or start serve with $KONDUIT_ADMIN_PASSWORD set. The
password is kept hashed (bcrypt) beside a SQLite database (PATH.admin), or in
the user config directory for PostgreSQL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --addr (put TLS in front of it)")
	f.Int64Var(&o.maxUploadMB, "max-upload-mb", 256, "largest legacy import upload, in MiB")
	f.Float64Var(&o.syncRate, "sync-rate", 5, "requests per second a sync sends Konnektive; 0 for no limit")
	return cmd
}

// checkServeAddr refuses a non-loopback address unless allowed.
func checkServeAddr(addr string, allowRemote bool) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usageErrorf("--addr %q: want HOST:PORT", addr)
	}
	if !web.IsLoopback(addr) && !allowRemote {
		return usageErrorf("--addr %q is not a loopback address: the dashboard serves 127.0.0.1 unless you pass --allow-remote", addr)
	}
	return nil
}

func runServe(ctx context.Context, g *globalOptions, o serveOptions) error {
	if err := checkServeAddr(o.addr, o.allowRemote); err != nil {
		return err
	}
	if o.syncRate < 0 {
		return usageErrorf("--sync-rate must be 0 or more")
	}
	rate := o.syncRate
	if rate == 0 {
		rate = -1 // web.Options: negative is no limit
	}
	if o.maxUploadMB <= 0 {
		return usageErrorf("--max-upload-mb must be positive")
	}
	s, dsn, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	adminFile, err := web.AdminFilePath(dsn)
	if err != nil {
		return err
	}
	set, err := web.AdminPasswordSet(adminFile)
	if err != nil {
		return err
	}
	var setupToken string
	if !set {
		if pw := os.Getenv(envAdminPassword); pw != "" {
			if err := web.SetAdminPassword(ctx, adminFile, pw); err != nil {
				return usageErrorf("$%s: %v", envAdminPassword, err)
			}
			set = true
		} else if setupToken, err = web.NewToken(); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: listen: %w", err)
	}
	// the address is printed once the dashboard is up (a previous server's
	// leftover uploads removed)
	ready := func(*web.Server) error {
		base := "http://" + ln.Addr().String()
		fmt.Fprintf(g.stdout, "dashboard listening on %s (database %s)\n", base, redactedDSN(s))
		if !set {
			fmt.Fprintf(g.stdout, "first run: set the admin password at %s/setup?token=%s\n", base, setupToken)
		}
		return nil
	}
	return serveDashboard(ctx, g, ln, web.Options{Store: s, DSN: dsn, AdminFile: adminFile, SetupToken: setupToken, MaxUpload: o.maxUploadMB << 20, SyncRate: rate}, ready)
}

// redactedDSN names the database without a password.
func redactedDSN(s *store.Store) string {
	if p := s.Path(); p != "" {
		return "sqlite:" + p
	}
	return "postgres"
}

// serveDashboard serves the dashboard on ln until ctx is done (Ctrl-C,
// SIGTERM), then shuts down: in-flight requests get 5 seconds, then their
// connections are closed; running syncs are stopped (their committed pages
// stay; the next sync resumes); uploads being validated or fixed are
// stopped and every upload is deleted (web.Server.Close). ready, when set,
// runs once the server accepts requests.
func serveDashboard(ctx context.Context, g *globalOptions, ln net.Listener, opts web.Options, ready func(*web.Server) error) error {
	opts.Logger = slog.Default()
	srv, err := web.New(opts)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			slog.Error("dashboard: remove uploads", "err", err)
		}
	}()
	hs := srv.HTTPServer()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		srv.Run(runCtx)
	}()
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	if ready != nil {
		if err := ready(srv); err != nil {
			hs.Close()
			stopRun()
			<-scheduled
			return err
		}
	}
	select {
	case err := <-done:
		stopRun()
		<-scheduled
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil {
		hs.Close() // a long upload or download: cut it
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("serve: shut down: %w", err)
		}
	}
	stopRun()
	<-scheduled
	fmt.Fprintln(g.stderr, "dashboard stopped")
	return nil
}
