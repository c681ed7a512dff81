package adversary

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
)

var clientEndpoint = map[Entity]konnektive.Endpoint{
	Customers:    konnektive.Customers,
	Orders:       konnektive.Orders,
	Purchases:    konnektive.Purchases,
	Transactions: konnektive.Transactions,
}

// clientWalk walks every endpoint over the whole span with the project's
// client and returns the decoded rows by endpoint and id.
func clientWalk(t *testing.T, s *Server, url string) map[Entity]map[string]json.RawMessage {
	t.Helper()
	id, pw := s.Credentials()
	c, err := konnektive.New(konnektive.Config{
		BaseURL: url, LoginID: id, Password: pw, Location: s.Location(),
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetries: 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	q := konnektive.Query{StartDate: crm.Date{Year: 2019, Month: 1, Day: 1}, EndDate: crm.DateOf(now)}
	out := map[Entity]map[string]json.RawMessage{}
	for e, ep := range clientEndpoint {
		got := map[string]json.RawMessage{}
		holds := s.Holds(e)
		err := c.Walk(context.Background(), ep, q, func(p konnektive.Page) error {
			for i, raw := range p.Raw {
				var id string
				var created crm.WallTime
				var amount crm.Money
				switch e {
				case Transactions:
					id, created, amount = p.Transactions[i].ID, p.Transactions[i].Created, p.Transactions[i].Amount
				case Orders:
					id, created, amount = p.Orders[i].ID, p.Orders[i].Created, p.Orders[i].Total
				case Purchases:
					id, created, amount = p.Purchases[i].ID, p.Purchases[i].Created, p.Purchases[i].Price
				case Customers:
					id, created = p.Customers[i].ID, p.Customers[i].Created
				}
				r, ok := holds[id]
				if !ok {
					t.Fatalf("%s %s: not held", e, id)
				}
				if created.Raw != r.Created.Format(wallLayout) {
					t.Fatalf("%s %s: created %q, want %s", e, id, created.Raw, r.Created.Format(wallLayout))
				}
				if e != Customers && int64(amount) != r.Cents {
					t.Fatalf("%s %s: amount %d, want %d", e, id, amount, r.Cents)
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				for _, k := range r.Sensitive {
					if _, ok := m[k]; ok {
						t.Fatalf("%s %s: %s kept", e, id, k)
					}
				}
				got[id] = raw
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", e, err)
		}
		if len(got) != len(holds) {
			t.Fatalf("%s: client read %d rows, the server holds %d", e, len(got), len(holds))
		}
		out[e] = got
	}
	return out
}

// TestClientDecodesRows checks that the rows are what the project's client
// decodes, and that it gets them all through transport faults.
func TestClientDecodesRows(t *testing.T) {
	cfg := cleanConfig()
	cfg.Customers = 300
	s, ts := start(t, cfg)
	clientWalk(t, s, ts.URL)

	cfg.FaultRate = 0.3
	cfg.SlowDelay = time.Millisecond
	cfg.StringTotalRate = 0.5
	cfg.DuplicateRate = 0.3
	s, ts = start(t, cfg)
	clientWalk(t, s, ts.URL)
	if st := s.Stats(); st.Faulted == 0 {
		t.Errorf("no faults: %+v", st)
	}
}
