package web

import (
	"container/list"
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Login limiting: each client address has a token bucket of password
// attempts (loginBurst at once, one more every loginEvery). An attempt is
// taken from the bucket, under the lock, before the password is checked, so
// concurrent requests cannot all slip through; a correct password empties
// nothing and refills its own address's bucket. Buckets are per address, so
// a guesser never locks the admin out from another one. At most
// loginAddrs addresses are tracked; beyond that the least recently seen is
// forgotten. Separately, at most GOMAXPROCS bcrypt checks run at once: more
// wait their turn (never refused), which bounds the CPU guessing can take.
const (
	loginBurst = 5
	loginEvery = 20 * time.Second
	loginAddrs = 10000
)

type loginLimiter struct {
	now   func() time.Time
	burst float64
	every time.Duration
	cap   int

	mu     sync.Mutex
	byAddr map[string]*list.Element // of *bucket
	lru    list.List                // front: least recently seen

	checks  chan struct{} // bcrypt checks under way
	checked atomic.Int64  // bcrypt checks run (tests)
}

type bucket struct {
	addr   string
	tokens float64
	at     time.Time // when tokens was computed
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, burst: loginBurst, every: loginEvery, cap: loginAddrs,
		byAddr: map[string]*list.Element{}, checks: make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))}
}

// reserve takes one attempt from addr's bucket. When it is empty, it takes
// nothing and says how long until an attempt is available.
func (l *loginLimiter) reserve(addr string) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e, found := l.byAddr[addr]
	var b *bucket
	if found {
		b = e.Value.(*bucket)
		l.lru.MoveToBack(e)
		if d := now.Sub(b.at); d > 0 {
			b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
		}
		b.at = now
	} else {
		for len(l.byAddr) >= l.cap {
			old := l.lru.Front()
			l.lru.Remove(old)
			delete(l.byAddr, old.Value.(*bucket).addr)
		}
		b = &bucket{addr: addr, tokens: l.burst, at: now}
		l.byAddr[addr] = l.lru.PushBack(b)
	}
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(l.every)), false
	}
	b.tokens--
	return 0, true
}

// succeeded forgets addr: the admin is behind it.
func (l *loginLimiter) succeeded(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byAddr[addr]; ok {
		l.lru.Remove(e)
		delete(l.byAddr, addr)
	}
}

// tracked is the number of addresses with a bucket.
func (l *loginLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byAddr)
}

// check runs f (a bcrypt comparison) once a slot is free.
func (l *loginLimiter) check(ctx context.Context, f func() (bool, error)) (bool, error) {
	select {
	case l.checks <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-l.checks }()
	l.checked.Add(1)
	return f()
}

// clientKey is the address a request's attempts are counted against: the
// peer's IP (an IPv4-mapped IPv6 address as IPv4), an IPv6 address outside
// loopback by its /64 (one host usually holds the whole prefix). Behind a
// reverse proxy every client has the proxy's address.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return remoteAddr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() && !ip.IsLoopback() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
