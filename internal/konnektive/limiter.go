package konnektive

import (
	"context"
	"sync"
	"time"
)

// limiter is a token bucket: rate tokens a second, at most burst saved up.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if burst < 1 {
		burst = 1
	}
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// reserve takes a token and says how long to wait before using it.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// cancel gives back a token reserved but not used.
func (l *limiter) cancel() {
	l.mu.Lock()
	l.tokens = min(l.burst, l.tokens+1)
	l.mu.Unlock()
}

// wait blocks until a request may go, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	d := l.reserve()
	if d == 0 {
		return nil
	}
	if err := sleepCtx(ctx, d); err != nil {
		l.cancel()
		return err
	}
	return nil
}
