package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/legacy"
)

// FuzzVerifyFile reads arbitrary bytes as a transactions file and verifies
// them against an empty account: Run must not panic, and every customer it
// read must be reported missing.
func FuzzVerifyFile(f *testing.F) {
	header := strings.Join(legacy.SpecFor(legacy.Transactions).Header(), ",")
	f.Add([]byte(header + "\n"))
	f.Add([]byte(header + "\nC1,O1,2026-01-02 03:04:05,1,2,1,2026-02-01,CREDITCARD,,01,2030,,,,7,m1,SALE,1.00,0,0,1.00,SUCCESS,SUCCESS,,,Ann,Lee,1 Road,,City,NY,US,10001,5551112222,,,,a@example.com,1\n"))
	f.Add([]byte("customerId,noteText\nC1,hi\n"))
	f.Add([]byte("\"unclosed"))
	// An account with no rows: the real fake, empty.
	s, err := fake.New(fake.Options{LoginID: "api", Password: "pw-fuzz", Location: ny})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	api, err := konnektive.New(konnektive.Config{BaseURL: srv.URL, LoginID: "api", Password: "pw-fuzz", Location: ny, MaxRetries: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := []Input{{Name: "fuzz.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}}
		rep, err := Run(context.Background(), in, Options{API: api, Location: ny})
		if err != nil {
			return
		}
		if len(rep.Customers) != rep.File.Customers {
			t.Fatalf("%d customers read, %d reported", rep.File.Customers, len(rep.Customers))
		}
		for _, c := range rep.Customers {
			if c.Differences[0].Field != "customer" {
				t.Fatalf("customer %q: %+v", c.CustomerID, c.Differences)
			}
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
	})
}
