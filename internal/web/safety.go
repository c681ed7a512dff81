package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// A panic anywhere in the dashboard's own goroutines (a request, a
// validation or fix of an upload, a sync, a report computation, the
// scheduler) becomes an error for that request or job: the server stays up.
// What is logged is a generic message, the panic value's type and the stack
// frames of konduit's code, never the value's text: a panic can carry input
// (a cell, a card number). See docs/dashboard.md#robustness.

// errInternal is what a request or job that panicked ends with.
var errInternal = errors.New("internal error (details are in the server log)")

// modulePrefix marks konduit's own functions in a stack.
const modulePrefix = "github.com/konduit/konduit/"

// logPanic logs a recovered panic v without its value's text. A runtime
// error's text (an index out of range, a nil map) is kept with its digit
// runs masked: the runtime writes only indexes and types there, and the mask
// keeps a number from slipping through all the same.
func logPanic(log *slog.Logger, what string, v any) {
	if log == nil {
		log = slog.Default()
	}
	attrs := []any{"what", what, "type", fmt.Sprintf("%T", v)}
	if re, ok := v.(runtime.Error); ok {
		attrs = append(attrs, "detail", maskDigits(re.Error()))
	}
	attrs = append(attrs, "stack", ourStack())
	log.Error("dashboard: recovered from a panic", attrs...)
}

// ourStack is the calling goroutine's stack, konduit's frames only: the
// function and file:line, no arguments (a Go traceback prints argument
// words, which can be pieces of input).
func ourStack() string {
	pc := make([]uintptr, 64)
	n := runtime.Callers(3, pc)
	frames := runtime.CallersFrames(pc[:n])
	var parts []string
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, modulePrefix) {
			file := f.File
			if i := strings.LastIndex(file, "/internal/"); i >= 0 {
				file = file[i+1:]
			} else if i := strings.LastIndex(file, "/cmd/"); i >= 0 {
				file = file[i+1:]
			} else {
				file = file[strings.LastIndex(file, "/")+1:]
			}
			parts = append(parts, fmt.Sprintf("%s (%s:%d)", strings.TrimPrefix(f.Function, modulePrefix), file, f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(parts, " < ")
}

// maskDigits replaces every run of 7 or more digits with x's.
func maskDigits(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i >= 7 {
			for k := i; k < j; k++ {
				b[k] = 'x'
			}
		}
		i = j
	}
	return string(b)
}

// safely runs f, turning a panic into errInternal (logged as logPanic
// does).
func safely(log *slog.Logger, what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			logPanic(log, what, v)
			err = errInternal
		}
	}()
	return f()
}

// goSafely runs f in a new goroutine that survives f's panic.
func goSafely(log *slog.Logger, what string, f func()) {
	go safely(log, what, func() error { f(); return nil })
}

// startedWriter notes whether the answer has begun.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(code int) {
	if code >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics answers 500 to a request whose handler panicked, and logs
// it as logPanic does. net/http would recover too, but it drops the
// connection and logs the value. When the answer had begun, the connection
// is cut (http.ErrAbortHandler) so a truncated page or file never looks
// whole.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &startedWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logPanic(s.log, r.Method+" "+r.URL.Path, v)
			if sw.started {
				panic(http.ErrAbortHandler)
			}
			w.Header().Del("Content-Disposition")
			http.Error(w, "internal error: the server logged it", http.StatusInternalServerError)
		}()
		h.ServeHTTP(sw, r)
	})
}

// Defaults of the HTTP server's limits (Options).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultLongTimeout       = time.Hour
	DefaultMaxBody           = 64 << 10
)

// HTTPServer is the http.Server to serve the dashboard with: its handler
// and timeouts (Options). Serve it on a listener; Shutdown it, then Close
// the dashboard.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// routeKind sorts requests by the limits they get.
type routeKind int

const (
	routePlain    routeKind = iota
	routeUpload             // POST /import: the large body cap; reading and validating get LongTimeout
	routeLong               // a fix, saving an integration (a new time zone re-derives every instant): LongTimeout to answer
	routeDownload           // a CSV or zip: LongTimeout to start, then WriteTimeout per write
	routeReport             // a report page: WriteTimeout plus ReportWait
)

func kindOf(r *http.Request) routeKind {
	p := r.URL.Path
	switch r.Method {
	case http.MethodPost:
		switch {
		case p == "/import":
			return routeUpload
		case p == "/integrations", strings.HasPrefix(p, "/import/") && strings.HasSuffix(p, "/fix"):
			return routeLong
		}
	case http.MethodGet, http.MethodHead:
		switch {
		case strings.HasSuffix(p, ".csv"), strings.HasSuffix(p, ".zip"):
			return routeDownload
		case strings.HasPrefix(p, "/reports"):
			return routeReport
		}
	}
	return routePlain
}

// limits caps every request body (MaxBody; an upload MaxUpload) and sets
// the deadlines of the routes that need more than the server's timeouts. A
// form body is read here, so a body over the cap is a 413 and one that does
// not arrive in time a 408, before any handler (the login's password check)
// runs. It gets the connection's own ResponseWriter, which MaxBytesReader
// needs to close the connection after an oversized body.
func (s *Server) limits(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := kindOf(r)
		limit := s.opts.MaxBody
		if kind == routeUpload {
			limit = s.opts.MaxUpload
		}
		if r.ContentLength > limit {
			// refuse without reading: net/http would otherwise read up to
			// 256 KiB of the body before answering
			w.Header().Set("Connection", "close")
			if kind == routeUpload {
				s.uploadTooLarge(w, r)
			} else {
				http.Error(w, fmt.Sprintf("the request body is larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			}
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		rc := http.NewResponseController(w)
		now := time.Now()
		switch kind {
		case routeUpload:
			rc.SetReadDeadline(now.Add(s.opts.LongTimeout))
			rc.SetWriteDeadline(now.Add(s.opts.LongTimeout))
		case routeLong:
			rc.SetWriteDeadline(now.Add(s.opts.LongTimeout))
		case routeDownload:
			rc.SetWriteDeadline(now.Add(s.opts.LongTimeout))
			w = &extendingWriter{ResponseWriter: w, rc: rc, d: s.opts.WriteTimeout}
		case routeReport:
			rc.SetWriteDeadline(now.Add(s.opts.WriteTimeout + max(s.opts.ReportWait, 0)))
		}
		if kind != routeUpload && r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				var mbe *http.MaxBytesError
				switch {
				case errors.As(err, &mbe):
					http.Error(w, fmt.Sprintf("the request body is larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
				case errors.Is(err, os.ErrDeadlineExceeded):
					http.Error(w, "the request body did not arrive in time", http.StatusRequestTimeout)
				default:
					http.Error(w, "bad request body", http.StatusBadRequest)
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// extendingWriter pushes the write deadline d past every write: a download
// may take as long as it keeps moving, a client that stops reading is cut
// off after d.
type extendingWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (e *extendingWriter) Write(b []byte) (int, error) {
	e.rc.SetWriteDeadline(time.Now().Add(e.d))
	return e.ResponseWriter.Write(b)
}

func (e *extendingWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
