package sync

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	gosync "sync"
	"sync/atomic"
	"time"
)

// RetryMessage is the log message the Konnektive client writes before each
// retry.
const RetryMessage = "konnektive retry"

// RetryCounter is a slog.Handler that counts the client's retry records and
// passes every record on to the next handler when that one wants it.
type RetryCounter struct {
	next slog.Handler
	n    *atomic.Int64
}

// NewRetryCounter wraps next.
func NewRetryCounter(next slog.Handler) *RetryCounter {
	return &RetryCounter{next: next, n: new(atomic.Int64)}
}

// Count is the number of retries seen so far.
func (c *RetryCounter) Count() int64 { return c.n.Load() }

// Enabled is true at every level, so retry records reach Handle.
func (c *RetryCounter) Enabled(context.Context, slog.Level) bool { return true }

// Handle counts retry records and forwards what next wants.
func (c *RetryCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == RetryMessage {
		c.n.Add(1)
	}
	if c.next.Enabled(ctx, r.Level) {
		return c.next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs keeps counting into the same counter.
func (c *RetryCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return &RetryCounter{next: c.next.WithAttrs(as), n: c.n}
}

// WithGroup keeps counting into the same counter.
func (c *RetryCounter) WithGroup(name string) slog.Handler {
	return &RetryCounter{next: c.next.WithGroup(name), n: c.n}
}

// Meter is an http.RoundTripper that measures the time requests spend on
// the network: from sending a request until its body is read to the end.
type Meter struct {
	Next http.RoundTripper // http.DefaultTransport when nil

	mu       gosync.Mutex
	requests int64
	bytes    int64
	network  time.Duration
}

// RoundTrip sends the request and times it.
func (m *Meter) RoundTrip(req *http.Request) (*http.Response, error) {
	next := m.Next
	if next == nil {
		next = http.DefaultTransport
	}
	start := time.Now()
	resp, err := next.RoundTrip(req)
	if err != nil {
		m.add(time.Since(start), 0)
		return nil, err
	}
	resp.Body = &meteredBody{ReadCloser: resp.Body, m: m, start: start}
	return resp, nil
}

func (m *Meter) add(d time.Duration, n int64) {
	m.mu.Lock()
	m.requests++
	m.network += d
	m.bytes += n
	m.mu.Unlock()
}

// Stats reports requests sent, response bytes and network time so far.
func (m *Meter) Stats() (requests, bytes int64, network time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests, m.bytes, m.network
}

type meteredBody struct {
	io.ReadCloser
	m     *Meter
	start time.Time
	n     int64
	done  bool
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && !b.done {
		b.done = true
		b.m.add(time.Since(b.start), b.n)
	}
	return n, err
}

func (b *meteredBody) Close() error {
	if !b.done {
		b.done = true
		b.m.add(time.Since(b.start), b.n)
	}
	return b.ReadCloser.Close()
}
