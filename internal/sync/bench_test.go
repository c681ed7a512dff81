package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/synth"
)

// BenchmarkSync syncs a generated 2,000-customer merchant (one year) from an
// in-process fake into a fresh SQLite file, 200 rows a page.
func BenchmarkSync(b *testing.B) {
	loc := nyLoc(b)
	asOf := day("2026-06-30")
	srv, err := fake.New(fake.Options{LoginID: testLogin, Password: testPassword, Location: loc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := fake.Generate(context.Background(), srv, synth.Options{Customers: 2000, Seed: 3, AsOf: asOf, Months: 12, TimeZone: loc}); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	now := asOf.In(loc).Add(36 * time.Hour)
	from := crm.DateOf(now.In(loc).AddDate(-1, 0, -1))
	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		s, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), fmt.Sprintf("b%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		in := &store.Integration{Kind: store.KindKonnektive, Name: "acme", TimeZone: testZone, ImportFrom: from}
		if err := s.SaveIntegration(ctx, in); err != nil {
			b.Fatal(err)
		}
		client, err := konnektive.New(konnektive.Config{BaseURL: hs.URL, LoginID: testLogin, Password: testPassword, Location: loc,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Run(ctx, Options{Store: s, API: client, Integration: in, Now: func() time.Time { return now }})
		s.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sum.Rows.Total())/sum.Elapsed.Seconds(), "rows/s")
		b.ReportMetric(sum.StoreTime.Seconds()/sum.Elapsed.Seconds(), "store-busy")
		b.ReportMetric(sum.StoreWait.Seconds()/sum.Elapsed.Seconds(), "store-wait")
	}
}
