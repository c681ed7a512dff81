package load

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/synth"
)

// BenchmarkLoad loads a generated merchant (KONDUIT_BENCH_LOAD_ROWS
// transactions, default 20,000) into a new database on each engine, then
// analyzes and builds the rollups as konduit load does; with
// -cpuprofile or -memprofile it shows where a load spends its time and
// memory. bench/load measures the konduit binary itself.
func BenchmarkLoad(b *testing.B) {
	rows := 20000
	if v := os.Getenv("KONDUIT_BENCH_LOAD_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	ctx := context.Background()
	opts := genOpts(b, 0)
	opts.Customers, opts.MaxRows = 0, rows
	dir := b.TempDir()
	if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
		b.Fatal(err)
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				st := openStore(b, be.dsn(b))
				b.StartTimer()
				res, err := Load(ctx, st, files(dir), Options{TimeZone: opts.TimeZone, Check: checkOpts})
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Analyze(ctx); err != nil {
					b.Fatal(err)
				}
				if _, err := rollup.Refresh(ctx, st, res.Integration); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Transactions)/b.Elapsed().Seconds()*float64(b.N), "rows/s")
			}
		})
	}
}
