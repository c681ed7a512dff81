// Package integration owns an integration's life, for every command and the
// dashboard alike: the database they all open by default (Open), finding
// one (Find: the named one, the only one, or "choose one of ..."), saving
// it with the rules a change implies (Save: a new import range backfills
// again, a new time zone re-derives every stored time and refreshes the
// rollups), unsealing its API password and building its client, running
// one sync of it under a lock that holds across processes and machines
// (Sync, Lock), pausing and deleting it, and what `konduit status` and the
// dashboard show of it (Statuses). cmd/konduit and internal/web only parse
// input, call this package and render.
package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/store"
)

// EnvDB overrides the default database DSN.
const EnvDB = "KONDUIT_DB"

// DefaultDSN is the database every command and the dashboard use without
// --db: $KONDUIT_DB, else a SQLite file in the user's data directory
// ($XDG_DATA_HOME/konduit/konduit.db, ~/.local/share/konduit/konduit.db;
// the user config directory on macOS and Windows).
func DefaultDSN() (string, error) {
	if v := os.Getenv(EnvDB); v != "" {
		return v, nil
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		switch runtime.GOOS {
		case "darwin", "windows":
			d, err := os.UserConfigDir()
			if err != nil {
				return "", fmt.Errorf("find the user data directory: %w", err)
			}
			dir = d
		default:
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the user data directory: %w", err)
			}
			dir = filepath.Join(home, ".local", "share")
		}
	}
	return "sqlite:" + filepath.Join(dir, "konduit", "konduit.db"), nil
}

// Open opens dsn, or the default database when dsn is empty, creating a
// SQLite file's directory (0700) when needed. It returns the DSN it used:
// the key sealing API passwords is found by it (store.LoadKey).
func Open(ctx context.Context, dsn string) (*store.Store, string, error) {
	if dsn == "" {
		d, err := DefaultDSN()
		if err != nil {
			return nil, "", err
		}
		dsn = d
	}
	backend, src, err := store.ParseDSN(dsn)
	if err != nil {
		return nil, "", exitcode.WithHint(err, "use --db sqlite:PATH or --db postgres://USER@HOST/DB")
	}
	if backend == store.SQLite {
		if err := os.MkdirAll(filepath.Dir(src), 0o700); err != nil {
			return nil, "", fmt.Errorf("create database directory: %w", err)
		}
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, "", err
	}
	return s, dsn, nil
}

// ErrNone says the database holds no integration of the kind asked for.
var ErrNone = errors.New("no integration")

// ChooseError says several integrations would do: the caller must name one.
type ChooseError struct{ Names []string }

func (e *ChooseError) Error() string {
	return "several integrations are saved: choose one of " + strings.Join(e.Names, ", ")
}

// ExitCode is Usage: the command line must name one.
func (e *ChooseError) ExitCode() int { return exitcode.Usage }

// Hint says how.
func (e *ChooseError) Hint() string {
	return "name one with --integration NAME; \"konduit status\" lists them"
}

// Find is the one rule for which integration a command or page means: the
// named one; else, among those of kind (any kind when kind is ""), the only
// one; else a *ChooseError naming them, or ErrNone when there is none.
func Find(ctx context.Context, s *store.Store, name, kind string) (*store.Integration, error) {
	if name != "" {
		in, err := s.Integration(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, exitcode.WithHint(err, "run \"konduit status\" to list integrations, or \"konduit connect konnektive\" to save one")
		}
		if err == nil && kind != "" && in.Kind != kind {
			return nil, exitcode.Usagef("integration %s holds %s data, not %s", name, in.Kind, kind)
		}
		return in, err
	}
	all, err := s.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	var fit []store.Integration
	for _, in := range all {
		if kind == "" || in.Kind == kind {
			fit = append(fit, in)
		}
	}
	switch len(fit) {
	case 0:
		what := "integration"
		if kind != "" {
			what = kind + " integration"
		}
		return nil, exitcode.WithHint(fmt.Errorf("%w: no %s is saved in this database", ErrNone, what),
			"run \"konduit connect konnektive\" (then \"konduit sync\") or \"konduit load\" first")
	case 1:
		return &fit[0], nil
	}
	names := make([]string, len(fit))
	for i, in := range fit {
		names[i] = in.Name
	}
	return nil, &ChooseError{Names: names}
}
