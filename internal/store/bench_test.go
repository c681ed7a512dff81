package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/store/pgtest"
)

// BenchmarkUpsertPage writes pages of 200 new transactions, each page in its
// own transaction with its checkpoint, as the sync does.
func BenchmarkUpsertPage(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			dsn := benchDSN(b, be.name)
			ctx := context.Background()
			s, err := Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			in := &Integration{Kind: KindKonnektive, Name: "bench", TimeZone: "America/New_York"}
			if err := s.SaveIntegration(ctx, in); err != nil {
				b.Fatal(err)
			}
			ny, _ := time.LoadLocation("America/New_York")
			page := make([]crm.Transaction, 200)
			// A transaction row as Konnektive sends it is about 1.4 KB.
			raw := []byte(`{"transactionId":1,"totalAmount":"29.99","items":{"1":{"productId":2}},"pad":"` + strings.Repeat("x", 1300) + `"}`)
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range page {
					w, _ := crm.ParseWall(fmt.Sprintf("2025-%02d-%02d 10:%02d:%02d", 1+i%12, 1+i%28, j%60, i%60), ny)
					page[j] = crm.Transaction{ID: fmt.Sprint(i*200 + j), CustomerID: fmt.Sprint(j), OrderID: fmt.Sprint(i), TxnType: crm.TxnSale, ResponseType: crm.RespSuccess,
						CampaignID: "1", ProductID: "2", MerchantID: "3", AffID: "a", Amount: 2999, Created: w, Updated: w, Raw: raw}
				}
				err := s.Update(ctx, func(tx *Tx) error {
					if err := tx.UpsertTransactions(ctx, in.ID, page); err != nil {
						return err
					}
					return tx.SaveCheckpoint(ctx, in.ID, Checkpoint{Entity: Transactions, Phase: PhaseBackfill, Page: i})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(page))/b.Elapsed().Seconds(), "rows/s")
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime)-syscall.TimevalToNsec(ru0.Utime)) + time.Duration(syscall.TimevalToNsec(ru1.Stime)-syscall.TimevalToNsec(ru0.Stime))
			b.ReportMetric(float64(b.N*len(page))/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(ru1.Maxrss)/1024, "maxrss-MiB")
		})
	}
}

func benchDSN(b *testing.B, name string) string {
	if name == "sqlite" {
		return "sqlite:" + b.TempDir() + "/b.db"
	}
	c, err := pgtest.Shared()
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	dsn, err := c.NewDatabase(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return dsn
}
