package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/web"
)

// envAdminPassword, when set and no admin password is saved yet, becomes the
// dashboard's admin password.
const envAdminPassword = "KONDUIT_ADMIN_PASSWORD"

// envViewerPassword is the password --add-viewer gives the viewer (else it
// is read from the first line of standard input).
const envViewerPassword = "KONDUIT_VIEWER_PASSWORD"

type serveOptions struct {
	addViewer    string
	removeViewer string
	listViewers  bool

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
the user config directory for PostgreSQL.

Read-only viewers (a colleague, an accountant) log in with their own name and
password; they see every page and download but cannot connect, sync, upload
or fix. The admin manages them from the command line, then serve exits:
  konduit serve --add-viewer NAME      password from $KONDUIT_VIEWER_PASSWORD,
                                       else the first line of standard input
  konduit serve --remove-viewer NAME   (their sessions end at once)
  konduit serve --list-viewers`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.addViewer != "" || o.removeViewer != "" || o.listViewers {
				return manageViewers(cmd.Context(), g, o, cmd.InOrStdin())
			}
			return runServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --addr (put TLS in front of it)")
	f.Int64Var(&o.maxUploadMB, "max-upload-mb", 256, "largest legacy import upload, in MiB")
	f.Float64Var(&o.syncRate, "sync-rate", 5, "requests per second a sync sends Konnektive; 0 for no limit")
	f.StringVar(&o.addViewer, "add-viewer", "", "add a read-only viewer NAME (or set their password) and exit; password from $"+envViewerPassword+" or stdin")
	f.StringVar(&o.removeViewer, "remove-viewer", "", "remove the viewer NAME and exit")
	f.BoolVar(&o.listViewers, "list-viewers", false, "list the viewers and exit")
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

// manageViewers adds, removes or lists the dashboard's read-only viewers.
func manageViewers(ctx context.Context, g *globalOptions, o serveOptions, stdin io.Reader) error {
	n := 0
	for _, b := range []bool{o.addViewer != "", o.removeViewer != "", o.listViewers} {
		if b {
			n++
		}
	}
	if n > 1 {
		return usageErrorf("give one of --add-viewer, --remove-viewer, --list-viewers")
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
	path := web.ViewersFilePath(adminFile)
	switch {
	case o.listViewers:
		names, err := web.Viewers(path)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(g.stdout, n)
		}
		return nil
	case o.removeViewer != "":
		if err := web.RemoveViewer(ctx, path, o.removeViewer); err != nil {
			return usageErrorf("%v", err)
		}
		fmt.Fprintf(g.stdout, "removed viewer %s\n", o.removeViewer)
		return nil
	}
	pw := os.Getenv(envViewerPassword)
	if pw == "" {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the viewer's password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return usageErrorf("--add-viewer: give the password in $%s or on standard input (never on a flag)", envViewerPassword)
	}
	if err := web.SetViewer(ctx, path, o.addViewer, pw); err != nil {
		return usageErrorf("%v", err)
	}
	fmt.Fprintf(g.stdout, "viewer %s can log in (read-only)\n", o.addViewer)
	return nil
}
