package verify

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

var ny, _ = time.LoadLocation("America/New_York")

// legacyFiles writes a generated merchant's legacy files and returns their
// paths (transactions first).
func legacyFiles(t testing.TB, customers int, seed uint64) []string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: customers, Seed: seed, TimeZone: ny}, dir); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, k := range legacy.Kinds {
		paths = append(paths, filepath.Join(dir, k.FileName()))
	}
	return paths
}

// importServer serves an import of paths; it returns the client, the
// server and the injected faults.
func importServer(t testing.TB, paths []string, faults bool) (*konnektive.Client, *fake.Server, *fake.ImportResult) {
	t.Helper()
	s, err := fake.New(fake.Options{LoginID: "api", Password: "pw-verify", Location: ny})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []fake.ImportInput
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		inputs = append(inputs, fake.ImportInput{Name: p, R: f})
	}
	res, err := fake.ImportLegacy(context.Background(), s, inputs, fake.ImportOptions{Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := konnektive.New(konnektive.Config{BaseURL: srv.URL, LoginID: "api", Password: "pw-verify", Location: ny})
	if err != nil {
		t.Fatal(err)
	}
	return c, s, res
}

func TestCorrectImportVerifies(t *testing.T) {
	paths := legacyFiles(t, 300, 11)
	for _, strategy := range []string{ByRange, ByCustomer} {
		t.Run(strategy, func(t *testing.T) {
			c, s, res := importServer(t, paths, false)
			if len(res.Faults) != 0 {
				t.Fatalf("faults without --import-faults: %v", res.Faults)
			}
			rep, err := Run(context.Background(), legacy.FileInputs(paths), Options{API: c, Location: ny, Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK {
				var b bytes.Buffer
				WriteText(&b, rep)
				t.Fatalf("differences in a correct import:\n%.4000s", b.String())
			}
			if rep.File.Customers != res.Customers || rep.Matched != res.Customers || rep.File.Transactions != res.Transactions {
				t.Fatalf("counts: file %+v matched %d; imported %+v", rep.File, rep.Matched, res)
			}
			if rep.File.Subscriptions == 0 || rep.File.Subscriptions != res.Purchases {
				t.Fatalf("subscriptions: file %d, imported purchases %d", rep.File.Subscriptions, res.Purchases)
			}
			want := fmt.Sprintf("verified: %d customers, %d transactions, no differences", res.Customers, res.Transactions)
			if rep.Verdict != want {
				t.Fatalf("verdict %q, want %q", rep.Verdict, want)
			}
			if len(rep.Skipped) != 2 {
				t.Fatalf("skipped %v, want the notes and details files", rep.Skipped)
			}
			t.Logf("%s: %d requests, %d pages", strategy, s.Requests(), rep.Pages)
		})
	}
}

// key names a difference as a fault names it.
func key(customer, field, mtid, product string) string {
	return customer + " " + field + " " + mtid + " " + product
}

func TestBrokenImportReportsEveryFault(t *testing.T) {
	paths := legacyFiles(t, 300, 11)
	for _, strategy := range []string{ByRange, ByCustomer} {
		t.Run(strategy, func(t *testing.T) {
			c, _, res := importServer(t, paths, true)
			kinds := map[string]int{}
			want := map[string]bool{}
			for _, f := range res.Faults {
				kinds[f.Kind]++
				want[key(f.CustomerID, f.Field, f.MerchantTxnID, f.ProductID)] = true
			}
			for _, k := range []string{fake.FaultMissingCustomer, fake.FaultTimeZone, fake.FaultLostNextBillDate, fake.FaultOrphanRefund, fake.FaultDuplicateTxn} {
				if kinds[k] == 0 {
					t.Fatalf("fault %s not injected: %v", k, res.Faults)
				}
			}
			rep, err := Run(context.Background(), legacy.FileInputs(paths), Options{API: c, Location: ny, Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || !strings.HasPrefix(rep.Verdict, "DIFFERENCES: ") {
				t.Fatalf("verdict %q", rep.Verdict)
			}
			got := map[string]bool{}
			for _, cr := range rep.Customers {
				for _, d := range cr.Differences {
					got[key(cr.CustomerID, d.Field, d.MerchantTxnID, d.ProductID)] = true
				}
			}
			for k := range want {
				if !got[k] {
					t.Errorf("fault not reported: %s", k)
				}
			}
			for k := range got {
				if !want[k] {
					t.Errorf("reported but not injected: %s", k)
				}
			}
			if t.Failed() {
				var b bytes.Buffer
				WriteText(&b, rep)
				t.Logf("report:\n%.6000s", b.String())
			}
		})
	}
}
