package verify

import (
	"context"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

// BenchmarkVerify10k verifies 10,000 generated customers against the fake's
// import of their files, by both strategies; it reports requests per run.
//
//	go test -run '^$' -bench Verify10k -benchtime 1x ./internal/verify
func BenchmarkVerify10k(b *testing.B) {
	paths := legacyFiles(b, 10000, 1)
	for _, strategy := range []string{ByRange, ByCustomer} {
		b.Run(strategy, func(b *testing.B) {
			c, s, _ := importServer(b, paths[:1], false)
			b.ResetTimer()
			for range b.N {
				before := s.Requests()
				rep, err := Run(context.Background(), legacy.FileInputs(paths[:1]), Options{API: c, Location: ny, Strategy: strategy})
				if err != nil {
					b.Fatal(err)
				}
				if !rep.OK {
					b.Fatalf("differences: %s", rep.Verdict)
				}
				b.ReportMetric(float64(s.Requests()-before), "requests/op")
				b.ReportMetric(float64(rep.File.Customers), "customers")
			}
		})
	}
}
