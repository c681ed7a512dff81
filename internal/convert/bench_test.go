package convert

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/legacy"
)

// benchCustomers sets the size of the generated source: about 2 order rows
// per customer. KONDUIT_BENCH_CUSTOMERS overrides it.
func benchCustomers() int {
	if n, err := strconv.Atoi(os.Getenv("KONDUIT_BENCH_CUSTOMERS")); err == nil && n > 0 {
		return n
	}
	return 50000
}

// BenchmarkConvert converts the German shop export (semicolon Windows-1252
// orders joined to a tab UTF-16 customer file, three outputs) and reports
// transaction rows written per second.
func BenchmarkConvert(b *testing.B) {
	dir := b.TempDir()
	srcs, _ := customFixture(b, dir, benchCustomers(), 11)
	m, err := LoadFile("testdata/custom/mapping.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rows int
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		out := b.TempDir()
		res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: out})
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Report.Outputs[0].Rows
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "txrows/s")
	b.ReportMetric(float64(rows)/(cpuTime()-cpu0).Seconds(), "txrows/cpu-s")
	b.ReportMetric(float64(rows/b.N), "txrows/op")
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// measures the work, where wall-clock time measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkValidateConverted validates the converted transactions file, for
// convert's throughput relative to validate's.
func BenchmarkValidateConverted(b *testing.B) {
	dir := b.TempDir()
	srcs, _ := customFixture(b, dir, benchCustomers(), 11)
	m, err := LoadFile("testdata/custom/mapping.yaml")
	if err != nil {
		b.Fatal(err)
	}
	res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	in := legacy.FileInputs([]string{res.Paths[legacy.Transactions]})
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := check.Validate(context.Background(), in, check.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Report.Outputs[0].Rows*b.N)/time.Since(start).Seconds(), "txrows/s")
	b.ReportMetric(float64(res.Report.Outputs[0].Rows*b.N)/(cpuTime()-cpu0).Seconds(), "txrows/cpu-s")
}
