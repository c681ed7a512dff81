package fix

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

// benchRows is the size of the benchmark file (KONDUIT_BENCH_ROWS
// overrides the default 50,000 transaction rows).
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("KONDUIT_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 50000
}

// benchFiles writes a generated transactions file and a messy copy of it
// (every fixable defect, on 30% of the cells of each kind).
func benchFiles(b *testing.B) (clean, messy string) {
	b.Helper()
	dir := b.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{MaxRows: benchRows(), Seed: 1, AsOf: asOf}, dir); err != nil {
		b.Fatal(err)
	}
	clean = filepath.Join(dir, legacy.Transactions.FileName())
	data, err := os.ReadFile(clean)
	if err != nil {
		b.Fatal(err)
	}
	m, _ := messUp(b, legacy.Transactions, data, 1, false)
	messy = filepath.Join(dir, "messy.csv")
	if err := os.WriteFile(messy, m, 0o600); err != nil {
		b.Fatal(err)
	}
	return clean, messy
}

func benchFix(b *testing.B, path string) {
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	in := legacy.FileInputs([]string{path})[0]
	cpu := cpuTime()
	for b.Loop() {
		if _, err := File(context.Background(), in, io.Discard, Options{DateOrder: MDY}, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, st.Size(), cpu)
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds MB per CPU second: the work itself, whatever else the
// machine is running.
func reportCPU(b *testing.B, size int64, since time.Duration) {
	used := (cpuTime() - since).Seconds()
	if used > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/used, "MB/cpu-s")
	}
}

func benchValidate(b *testing.B, path string) {
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	cpu := cpuTime()
	for b.Loop() {
		if _, err := check.Validate(context.Background(), legacy.FileInputs([]string{path}), check.Options{AsOf: asOf.String(), MaxFindings: 10}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, st.Size(), cpu)
}

// The four benchmarks read the same generated file: validate's throughput
// is the yardstick for fix's.
func BenchmarkFixClean(b *testing.B)      { c, _ := benchFiles(b); benchFix(b, c) }
func BenchmarkFixMessy(b *testing.B)      { _, m := benchFiles(b); benchFix(b, m) }
func BenchmarkValidateClean(b *testing.B) { c, _ := benchFiles(b); benchValidate(b, c) }
func BenchmarkValidateMessy(b *testing.B) { _, m := benchFiles(b); benchValidate(b, m) }
