// Package web is the dashboard `konduit serve` and `konduit demo` run: a
// net/http server with html/template pages and every asset embedded (no
// CDN, it works offline); charts are SVG drawn on the server (package svg).
//
// Pages: Integrations (connect Konnektive, sync in the background with live
// progress, a scheduler for the chosen frequency), Reports (the numbers of
// internal/report, the same ones `konduit report` prints) and Legacy import
// (upload files, see validate's findings by rule, download the fixed files
// and the change log). The pages work from 360 px wide up; amounts and
// rates are shown by one set of formats (format.go).
//
// Security: one admin whose password (bcrypt) is set on first run, and
// read-only viewers with their own passwords (users.go: every non-GET
// request is refused to a viewer, whatever its route); sessions
// in HttpOnly SameSite=Strict cookies with random 32-byte ids and
// server-side expiry; CSRF protection by net/http's CrossOriginProtection;
// no state change on GET; a strict Content-Security-Policy; no password, API
// secret or card number is ever sent to the browser; password attempts
// limited per client address (limiter.go).
//
// Robustness: a panic fails one request or job, never the server
// (safety.go); every body is capped and every request has deadlines
// (HTTPServer, limits); uploads never outlive the server, even a killed one
// (uploaddir.go). docs/dashboard.md#robustness lists the promises and their
// tests.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server.
type Options struct {
	Store *store.Store
	// DSN is the store's DSN: it finds the key that seals saved API
	// passwords (store.LoadKey).
	DSN string
	// AdminFile holds the admin password's bcrypt hash.
	AdminFile string
	// SetupToken must accompany the first-run form that sets the admin
	// password (serve prints a URL with it). Empty: setup is refused, the
	// password must be set beforehand (SetAdminPassword).
	SetupToken string
	// TempDir holds uploads and fixed files (os.TempDir when empty), in a
	// private directory removed by Close; New removes the ones a killed
	// server left there.
	TempDir string
	// MaxUpload bounds one upload request, in bytes (256 MiB when 0).
	MaxUpload int64
	// MaxBody bounds the body of any other request (DefaultMaxBody when 0).
	MaxBody int64
	// The HTTP server's timeouts (HTTPServer; the Default... constants when
	// 0): reading a request's header, reading a whole request, writing an
	// answer, keeping an idle connection. LongTimeout replaces ReadTimeout
	// and WriteTimeout for what takes longer: an upload arriving and being
	// validated, a fix, saving an integration, a download until its first
	// byte (then each write of a download gets WriteTimeout).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	LongTimeout       time.Duration
	// SessionTTL is the idle time after which a session ends (12h when 0).
	SessionTTL time.Duration
	// SyncRate is the requests per second a sync sends Konnektive (5 when
	// 0, none when negative).
	SyncRate float64
	// SyncTick is how often the scheduler looks for due integrations
	// (schedule.DefaultTick when 0); negative: never (tests call the tick).
	SyncTick time.Duration
	// ReportWait is how long a report page waits for a report being
	// computed before it answers with a page that refreshes itself when the
	// report is ready (150ms when 0; negative: not at all).
	ReportWait time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is the dashboard.
type Server struct {
	opts     Options
	log      *slog.Logger
	st       *store.Store
	pages    map[string]*template.Template
	sessions *sessions
	limiter  *loginLimiter
	syncs    *syncer
	imports  *imports
	reports  reportCache
	jobs     jobs
	handler  http.Handler
	patterns []string // every route, as registered (routeMux)
}

// New builds the dashboard.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.AdminFile == "" {
		return nil, errors.New("new dashboard: a store and an admin password file are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = 256 << 20
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&opts.ReadTimeout, DefaultReadTimeout}, {&opts.WriteTimeout, DefaultWriteTimeout},
		{&opts.IdleTimeout, DefaultIdleTimeout}, {&opts.LongTimeout, DefaultLongTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.SyncRate == 0 {
		opts.SyncRate = 5
	}
	if opts.SyncRate < 0 {
		opts.SyncRate = 0
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		st:       opts.Store,
		pages:    pages,
		sessions: newSessions(opts.SessionTTL, opts.Now),
		limiter:  newLoginLimiter(opts.Now),
	}
	s.jobs.log = s.log
	if s.syncs, err = newSyncer(s); err != nil {
		return nil, err
	}
	s.imports, err = newImports(opts.TempDir, s.log)
	if err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// viewersFile holds the read-only viewers (ViewersFilePath).
func (s *Server) viewersFile() string { return ViewersFilePath(s.opts.AdminFile) }

// Handler is the dashboard's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Run works the scheduler's jobs (internal/schedule: every integration's
// scheduled syncs, "Sync Data", rollups) until ctx is done, then stops
// them: running syncs are cancelled, their committed pages stay.
func (s *Server) Run(ctx context.Context) {
	s.syncs.schedule(ctx)
}

// Close stops the uploads' validations and fixes, waits for them, and
// removes the uploads' directory. Call it when the HTTP server has shut
// down; later uploads are refused.
func (s *Server) Close() error {
	s.syncs.close()
	return s.imports.close()
}

// SyncNow starts a background sync of the named integration, as the "Sync
// Data" button does. It returns at once; Wait waits for it.
func (s *Server) SyncNow(ctx context.Context, name string) error {
	return s.syncs.start(ctx, name)
}

// WaitSyncs blocks until no sync is running.
func (s *Server) WaitSyncs() { s.syncs.wait() }

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.Local().Format("2006-01-02 15:04:05 MST")
		},
		"dur":            func(d time.Duration) string { return d.Round(time.Second).String() },
		"int":            formatInt,
		"base":           filepath.Base,
		"reportsEnabled": func() bool { return reportsEnabled },
		"pct":            pct,
		"money":          money,
		"list3":          func(a, b, c string) []string { return []string{a, b, c} },
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// Files named _*.html are partials (a report tab, the table), parsed
	// into every page; every other file is a page in the layout.
	partials, err := fs.Glob(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, append([]string{"templates/layout.html", n}, partials...)...)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

func (s *Server) routes() http.Handler {
	mux := &routeMux{ServeMux: http.NewServeMux()}
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /setup", s.setupPage)
	mux.HandleFunc("POST /setup", s.setup)
	mux.HandleFunc("POST /logout", s.logout)

	auth := func(h http.HandlerFunc) http.Handler { return s.requireLogin(h) }
	mux.Handle("GET /{$}", auth(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/integrations", http.StatusSeeOther)
	}))
	mux.Handle("GET /integrations", auth(s.integrationsPage))
	mux.Handle("POST /integrations", auth(s.connect))
	mux.Handle("POST /integrations/{name}/sync", auth(s.syncPost))
	mux.Handle("GET /integrations/{name}/progress", auth(s.progress))
	mux.Handle("POST /integrations/{name}/pause", auth(s.pause))
	mux.Handle("GET /integrations/{name}/delete", auth(s.deletePage))
	mux.Handle("POST /integrations/{name}/delete", auth(s.deletePost))
	mux.Handle("GET /import", auth(s.importPage))
	mux.Handle("POST /import", auth(s.upload))
	mux.Handle("GET /import/{id}", auth(s.importResult))
	mux.Handle("GET /import/{id}/findings.csv", auth(s.findingsCSV))
	mux.Handle("POST /import/{id}/fix", auth(s.fixPost))
	mux.Handle("GET /import/{id}/fixed.zip", auth(s.fixedZip))
	mux.Handle("GET /import/{id}/changes.csv", auth(s.changesCSV))
	s.reportRoutes(mux, auth)
	s.userRoutes(mux, auth)
	s.drillRoutes(mux, auth)
	s.patterns = mux.patterns

	cop := http.NewCrossOriginProtection()
	return securityHeaders(s.limits(s.recoverPanics(cop.Handler(mux))))
}

// cacheStatic lets the browser keep embedded assets for an hour.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every answer carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) requireLogin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var se session
		ok := err == nil
		if ok {
			se, ok = s.sessions.valid(c.Value)
		}
		if ok && se.role == RoleViewer && !viewerExists(s.viewersFile(), se.user) {
			s.sessions.end(c.Value) // the viewer was removed
			ok = false
		}
		if !ok {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, ".csv") && !strings.HasSuffix(r.URL.Path, "/progress") && !strings.HasSuffix(r.URL.Path, "/status") {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		if se.role != RoleAdmin && !readOnly(r) {
			s.log.Warn("dashboard: a viewer's change refused", "user", se.user, "method", r.Method, "path", r.URL.Path)
			http.Error(w, "read-only access: only the admin can change this", http.StatusForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, se)))
	})
}

// sessionKey carries a request's session in its context.
type sessionKey struct{}

// page is what every template gets.
type page struct {
	User     string // who is logged in ("" on the login and setup pages)
	ReadOnly bool   // a viewer: the page hides what they may not do
	Title    string
	Nav      string
	Flash    string
	Error    string
	Data     any
}

// render writes a page, buffering it so a template error becomes a 500
// rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if se, ok := r.Context().Value(sessionKey{}).(session); ok {
		p.User, p.ReadOnly = se.user, se.role != RoleAdmin
	}
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be drawn; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail logs err and shows a generic message: error texts can carry paths or
// server detail, never secrets (the packages keep those out), but the
// browser gets only what it needs.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error(what, "path", r.URL.Path, "err", err)
	http.Error(w, what+": "+err.Error(), http.StatusInternalServerError)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/integrations"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	set, err := AdminPasswordSet(s.opts.AdminFile)
	if err != nil {
		s.fail(w, r, "login", err)
		return
	}
	if !set {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	addr := clientKey(r.RemoteAddr)
	if d, ok := s.limiter.reserve(addr); !ok {
		s.tooManyAttempts(w, r, "login", page{Title: "Log in", Data: map[string]string{"Next": next}}, d)
		return
	}
	password := r.PostFormValue("password")
	user := strings.ToLower(strings.TrimSpace(r.PostFormValue("user")))
	if user == "" {
		user = AdminUser
	}
	role := RoleAdmin
	check := func() (bool, error) { return checkAdminPassword(s.opts.AdminFile, password) }
	if user != AdminUser {
		role = RoleViewer
		check = func() (bool, error) { return checkViewerPassword(s.viewersFile(), user, password) }
	}
	ok, err := s.limiter.check(r.Context(), check)
	if errors.Is(err, ErrNoAdmin) {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, "login", err)
		return
	}
	if !ok {
		s.log.Warn("dashboard: failed login", "remote", r.RemoteAddr)
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Log in", Error: "Wrong user or password.", Data: map[string]string{"Next": next}})
		return
	}
	s.limiter.succeeded(addr)
	s.startSession(w, r, next, user, role)
}

// tooManyAttempts answers 429 with the page p and when to try again.
func (s *Server) tooManyAttempts(w http.ResponseWriter, r *http.Request, name string, p page, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	p.Error = fmt.Sprintf("Too many failed attempts from your address: try again in %s.", time.Duration(secs)*time.Second)
	s.render(w, r, http.StatusTooManyRequests, name, p)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, next, user string, role Role) {
	id, err := s.sessions.create(user, role)
	if err != nil {
		s.fail(w, r, "login", err)
		return
	}
	setSessionCookie(w, r, id)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	set, err := AdminPasswordSet(s.opts.AdminFile)
	if err != nil {
		s.fail(w, r, "setup", err)
		return
	}
	if set {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "setup", page{Title: "Set the admin password", Data: map[string]any{"Token": r.URL.Query().Get("token"), "Min": MinPasswordLen, "Enabled": s.opts.SetupToken != ""}})
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	set, err := AdminPasswordSet(s.opts.AdminFile)
	if err != nil {
		s.fail(w, r, "setup", err)
		return
	}
	if set {
		http.Error(w, "the admin password is already set", http.StatusConflict)
		return
	}
	data := map[string]any{"Token": r.PostFormValue("token"), "Min": MinPasswordLen, "Enabled": s.opts.SetupToken != ""}
	if d, ok := s.limiter.reserve(clientKey(r.RemoteAddr)); !ok {
		s.tooManyAttempts(w, r, "setup", page{Title: "Set the admin password", Data: data}, d)
		return
	}
	if s.opts.SetupToken == "" || !tokenEqual(r.PostFormValue("token"), s.opts.SetupToken) {
		s.render(w, r, http.StatusForbidden, "setup", page{Title: "Set the admin password", Error: "The setup token is wrong: use the link konduit serve printed.", Data: data})
		return
	}
	s.limiter.succeeded(clientKey(r.RemoteAddr))
	pw, again := r.PostFormValue("password"), r.PostFormValue("confirm")
	if pw != again {
		s.render(w, r, http.StatusBadRequest, "setup", page{Title: "Set the admin password", Error: "The two passwords differ.", Data: data})
		return
	}
	if err := SetAdminPassword(r.Context(), s.opts.AdminFile, pw); err != nil {
		s.render(w, r, http.StatusBadRequest, "setup", page{Title: "Set the admin password", Error: strings.TrimPrefix(err.Error(), "set admin password: "), Data: data})
		return
	}
	s.log.Info("dashboard: admin password set", "file", s.opts.AdminFile)
	s.startSession(w, r, "/integrations", AdminUser, RoleAdmin)
}

// IsLoopback says whether a listen address is on the loopback interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
