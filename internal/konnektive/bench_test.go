package konnektive

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/synth"
)

var (
	benchOnce sync.Once
	benchURL  string
	benchRows int
	benchErr  error
)

// benchFake starts, once, a fake with a 10,000-customer merchant and no
// rate limit or faults.
func benchFake(b *testing.B) (string, int) {
	benchOnce.Do(func() {
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			benchErr = err
			return
		}
		fs, err := fake.New(fake.Options{LoginID: testLogin, Password: testPass, Location: loc, Clock: fake.NewClock(afterData).Now})
		if err != nil {
			benchErr = err
			return
		}
		start := time.Now()
		if benchErr = fake.Generate(context.Background(), fs, synth.Options{Customers: 10000, Seed: 1, TimeZone: loc}); benchErr != nil {
			return
		}
		_, _, _, benchRows = fs.Counts()
		b.Logf("generated %d transactions in %v", benchRows, time.Since(start))
		benchURL = httptest.NewServer(fs).URL // lives as long as the test binary
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchURL, benchRows
}

// BenchmarkWalkTransactions walks every transaction of a 10,000-customer
// fake merchant over real HTTP, 200 rows a page, decoding every row into
// crm.Transaction with its sanitized raw JSON.
func BenchmarkWalkTransactions(b *testing.B) {
	url, want := benchFake(b)
	loc, _ := time.LoadLocation("America/New_York")
	c, err := New(Config{BaseURL: url, LoginID: testLogin, Password: testPass, Location: loc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		n := 0
		err := c.Walk(context.Background(), Transactions, allTime, func(p Page) error {
			n += len(p.Transactions)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("walked %d rows, want %d", n, want)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// Client and fake share the process: rows per CPU-second of both (GC
	// included) is the figure that does not depend on other load on the
	// machine.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
