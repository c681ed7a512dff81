// Package store keeps what the two roads in produce (the Konnektive sync and
// `konduit load`) in one schema on SQLite or PostgreSQL: customers, orders,
// transactions and purchases with typed columns and each row's raw JSON,
// saved integrations with their sealed passwords, and the sync's state.
//
// A DSN chooses the backend: "sqlite:PATH" or "postgres://...". Times are
// kept twice: the raw account wall-clock string and the UTC instant derived
// from it (crm.WallTime), so Retime can re-derive every instant when an
// account's time zone changes. Money is integer cents. docs/schema.md
// describes every table for report writers.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Backend names a database engine.
type Backend string

// Backends.
const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// ErrNotFound is returned when a named thing is not in the store.
var ErrNotFound = errors.New("not found")

// ErrDSN is wrapped by every DSN the store cannot use.
var ErrDSN = errors.New("unsupported database DSN")

// Store is an open database with the current schema.
type Store struct {
	db      *sql.DB
	backend Backend
	dsn     string
	path    string   // the SQLite file; "" for PostgreSQL
	stmts   sync.Map // prepared upserts on wconn, see stmt
	reads   sync.Map // prepared reads on the pool, see StoredDigests

	// Every write goes through one connection, one transaction at a time:
	// the process is a single writer, and prepared upserts stay prepared.
	wmu    sync.Mutex
	wconn  *sql.Conn
	growth growth // rows written since each table's last ANALYZE
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// ParseDSN splits a DSN into its backend and the driver's own data source:
// "sqlite:PATH" (PATH may be relative) or "postgres://..." /
// "postgresql://...".
func ParseDSN(dsn string) (Backend, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(dsn, "sqlite:")
		p = strings.TrimPrefix(p, "//")
		if p == "" {
			return "", "", fmt.Errorf("%w: %q has no file path (sqlite:PATH)", ErrDSN, dsn)
		}
		return SQLite, p, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	}
	return "", "", fmt.Errorf("%w: %q (want sqlite:PATH or postgres://...)", ErrDSN, redactDSN(dsn))
}

// redactDSN hides a password inside a URL-shaped DSN.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Open opens the database a DSN names, creating a SQLite file if needed, and
// applies any migration it lacks.
func Open(ctx context.Context, dsn string) (*Store, error) {
	backend, src, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{backend: backend, dsn: dsn}
	switch backend {
	case SQLite:
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		s.path = abs
		if err := createPrivate(abs); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		// WAL lets readers (konduit status) run beside the one writer; the
		// busy timeout makes a second writer wait instead of failing; an
		// immediate transaction takes the write lock up front. One
		// connection: the process is the single writer.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(15000)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "wal_autocheckpoint(8192)")
		q.Add("_pragma", "journal_size_limit(268435456)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+abs+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		// One writer connection (wconn) plus readers; WAL lets them run
		// side by side.
		db.SetMaxOpenConns(4)
		s.db = db
	case Postgres:
		db, err := sql.Open("pgx", src)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(4)
		s.db = db
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store %s: %w", redactDSN(dsn), err)
	}
	wconn, err := s.db.Conn(ctx)
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.wconn = wconn
	if backend == SQLite {
		// WAL is persistent in the file: every later connection uses it.
		for _, p := range []string{"PRAGMA journal_mode = WAL"} {
			if _, err := wconn.ExecContext(ctx, p); err != nil {
				s.Close()
				return nil, fmt.Errorf("open store: %s: %w", p, err)
			}
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// createPrivate creates a missing SQLite file empty, mode 0600 whatever the
// umask, and its missing directories 0700, before SQLite opens it: SQLite
// would create it 0644 less the umask, and it gives the -wal, -shm and
// -journal files it creates beside it the database file's own mode (unix
// VFS, robust_open; modernc.org/sqlite is the same C code), so they are
// 0600 too. An existing file keeps its mode.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // a umask may have cleared the owner's bits
		f.Close()
		return err
	}
	return f.Close()
}

// Close releases the database.
func (s *Store) Close() error {
	for _, m := range []*sync.Map{&s.stmts, &s.reads} {
		m.Range(func(_, v any) bool {
			v.(*sql.Stmt).Close()
			return true
		})
	}
	if s.wconn != nil {
		s.wconn.Close()
	}
	return s.db.Close()
}

// Backend says which engine holds the data.
func (s *Store) Backend() Backend { return s.backend }

// Path is the SQLite file, or "" on PostgreSQL.
func (s *Store) Path() string { return s.path }

// DB is the underlying handle, for read queries (reports). Write through
// Update so a page and its checkpoint stay one transaction.
func (s *Store) DB() *sql.DB { return s.db }

// Rebind rewrites a query written with ? placeholders for the backend
// ($1, $2, ... on PostgreSQL). Queries must not contain a literal '?'.
func (s *Store) Rebind(query string) string { return rebind(s.backend, query) }

func rebind(b Backend, query string) string {
	if b != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var sb strings.Builder
	sb.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(query[i])
	}
	return sb.String()
}

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := filepath.Base(f)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number: %w", base, err)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// dialectSQL replaces the schema's backend tokens.
func dialectSQL(b Backend, text string) string {
	r := map[Backend]*strings.Replacer{
		SQLite:   strings.NewReplacer("{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{blob}}", "BLOB", "{{json}}", "TEXT", "{{without_rowid}}", "WITHOUT ROWID"),
		Postgres: strings.NewReplacer("{{id}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "{{blob}}", "BYTEA", "{{json}}", "JSON", "{{without_rowid}}", ""),
	}[b]
	return r.Replace(text)
}

// splitStatements cuts a migration at semicolons that end a line, dropping
// comment-only lines.
func splitStatements(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

// migrate applies the migrations the database lacks, each in its own
// transaction, serialised across processes (SQLite's write lock, a
// PostgreSQL advisory lock).
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := s.wconn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.Update(ctx, func(tx *Tx) error {
			if s.backend == Postgres {
				if _, err := tx.c.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7046812)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.c.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(dialectSQL(s.backend, m.sql)) {
				if _, err := tx.c.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			_, err := tx.c.ExecContext(ctx, s.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.version, m.name, time.Now().Unix())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// SchemaVersion is the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Tx is one write transaction on the store's write connection.
type Tx struct {
	c       *sql.Conn
	backend Backend
	s       *Store
	wrote   map[string]*Written // see Written
	grown   map[string]int64    // rows written per table, see analyzeGrown
	locked  map[int64]bool      // integrations whose rows lockKeys holds
}

// Update runs fn in one write transaction, committed when fn returns nil and
// rolled back otherwise. Transactions are begun and ended with SQL on the
// one write connection (BEGIN IMMEDIATE on SQLite), so prepared upserts and
// PostgreSQL's COPY run inside them.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wconn == nil {
		if err := s.reconnect(ctx); err != nil {
			return err
		}
	}
	begin := "BEGIN"
	if s.backend == SQLite {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := s.wconn.ExecContext(ctx, begin); err != nil {
		s.dropConn()
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{c: s.wconn, backend: s.backend, s: s}
	if err := fn(tx); err != nil {
		s.rollback(ctx)
		return err
	}
	if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		s.rollback(ctx)
		return fmt.Errorf("commit: %w", err)
	}
	// The rows are in: statistics that could not be refreshed cost speed,
	// not data, so that is a warning.
	if err := s.analyzeGrown(ctx, tx.grown); err != nil {
		if ctx.Err() != nil {
			s.dropConn()
		}
		slog.Warn("refresh statistics after a write", "err", err)
	}
	return nil
}

// rollback ends a failed transaction; a connection that cannot even roll
// back (cancelled mid-statement, broken) is replaced on the next Update.
func (s *Store) rollback(ctx context.Context) {
	if ctx.Err() != nil {
		s.dropConn()
		return
	}
	if _, err := s.wconn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		s.dropConn()
	}
}

// dropConn closes the write connection and the statements prepared on it.
// Callers hold wmu.
func (s *Store) dropConn() {
	s.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
	if s.wconn != nil {
		s.wconn.Raw(func(any) error { return driver.ErrBadConn }) // discard, never reuse
		s.wconn.Close()
		s.wconn = nil
	}
}

// reconnect takes a fresh write connection. Callers hold wmu.
func (s *Store) reconnect(ctx context.Context) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store write connection: %w", err)
	}
	s.wconn = c
	return nil
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.c.ExecContext(ctx, rebind(tx.backend, query), args...)
}

// Analyze refreshes the planner's statistics, so that plans follow the
// data after a bulk write (a backfill, a load, a rollup rebuild): on
// PostgreSQL a new database otherwise plans the rollup's joins as nested
// loops. SQLite samples at most 50,000 rows an index (sqliteAnalysisLimit),
// so the cost does not grow with the database.
func (s *Store) Analyze(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wconn == nil {
		if err := s.reconnect(ctx); err != nil {
			return err
		}
	}
	s.growth = growth{} // every table's base is read again
	start := time.Now()
	if s.backend == SQLite {
		if _, err := s.wconn.ExecContext(ctx, sqliteAnalysisLimit); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	stmt := "ANALYZE"
	if s.backend == Postgres {
		// The schema's own tables: a bare ANALYZE does the system catalogs
		// too (measured: 3 s of a 40 s sync of a new database).
		var tables []string
		rows, err := s.wconn.QueryContext(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return fmt.Errorf("analyze: %w", err)
			}
			tables = append(tables, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		stmt += " " + strings.Join(tables, ", ")
	}
	if _, err := s.wconn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	slog.Debug("statistics refreshed", "took", time.Since(start))
	return nil
}
