package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backend is one engine the conformance suite runs on.
type backend struct {
	name string
	dsn  func(t *testing.T) string
}

// Backends are SQLite and a throwaway PostgreSQL cluster.
var backends = []backend{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
}

// forEachBackend runs the test body on every backend with a fresh store.
func forEachBackend(t *testing.T, body func(t *testing.T, s *Store, dsn string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s, err := Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			body(t, s, dsn)
		})
	}
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func wall(t testing.TB, raw string, loc *time.Location) crm.WallTime {
	t.Helper()
	w, err := crm.ParseWall(raw, loc)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newIntegration(t *testing.T, s *Store, name, tz string) *Integration {
	t.Helper()
	in := &Integration{Kind: KindKonnektive, Name: name, TimeZone: tz, BaseURL: "http://127.0.0.1:1", LoginID: "api"}
	if err := s.SaveIntegration(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return in
}

// sample builds one of each entity with every field set, including wall
// times at both DST edges of America/New_York.
func sample(t *testing.T, loc *time.Location, id string) (crm.Customer, crm.Order, crm.Transaction, crm.Purchase) {
	raw := json.RawMessage(fmt.Sprintf(`{"id":%q,"3DTxnResult":"","items":{"1":{"productId":7}}}`, id))
	cust := crm.Customer{Source: crm.SourceAPI, ID: id, FirstName: "Ann", LastName: "Lee", Email: "a" + id + "@example.test", Phone: "5550100",
		Country: "US", State: "NY", PostalCode: "10001", Created: wall(t, "2025-03-09 02:30:00", loc), Updated: wall(t, "2025-11-02 01:30:00", loc), Raw: raw}
	ord := crm.Order{Source: crm.SourceAPI, ID: "O" + id, CustomerID: id, CampaignID: "3", Status: "COMPLETE", Type: "NEW_SALE", AffID: "aff", SubAffID: "sub",
		Country: "US", Total: 4297, Created: wall(t, "2025-01-15 12:00:00", loc), Updated: wall(t, "2025-07-15 12:00:00", loc), Raw: raw}
	txn := crm.Transaction{Source: crm.SourceAPI, ID: "T" + id, ParentID: "P1", MerchantTxnID: "M" + id, CustomerID: id, OrderID: "O" + id, PurchaseID: "U" + id,
		CampaignID: "3", ProductID: "7", MerchantID: "12", AffID: "aff", SubAffID: "sub", Country: "US", TxnType: crm.TxnSale, ResponseType: crm.RespSuccess,
		PaySource: "CREDITCARD", CardType: "VISA", CardLast4: "0004", SubTotal: 3999, ShipTotal: 298, SalesTax: 0, Amount: 4297, BillingCycle: 2,
		Created: wall(t, "2025-03-09 02:30:00", loc), Updated: wall(t, "2025-04-23 09:00:00", loc), Chargedback: true, ChargebackAmt: -4297,
		ChargebackDay: crm.Date{Year: 2025, Month: 4, Day: 23}, ChargebackWhy: "10.4", Raw: raw}
	pur := crm.Purchase{Source: crm.SourceAPI, ID: "U" + id, OrderID: "O" + id, CustomerID: id, CampaignID: "3", ProductID: "7", MerchantID: "12",
		Status: "ACTIVE", BillingCycle: 2, NextBillDate: crm.Date{Year: 2025, Month: 5, Day: 1}, Price: 3999,
		Created: wall(t, "2025-11-02 01:30:00", loc), Updated: wall(t, "2025-11-02 03:00:00", loc), Raw: raw}
	return cust, ord, txn, pur
}

type snapshot struct {
	Customers    []crm.Customer
	Orders       []crm.Order
	Transactions []crm.Transaction
	Purchases    []crm.Purchase
}

func readAll(t *testing.T, s *Store, id int64) snapshot {
	t.Helper()
	ctx := context.Background()
	var snap snapshot
	if err := s.EachCustomer(ctx, id, func(c *crm.Customer) error { snap.Customers = append(snap.Customers, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.EachOrder(ctx, id, func(c *crm.Order) error { snap.Orders = append(snap.Orders, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.EachTransaction(ctx, id, func(c *crm.Transaction) error { snap.Transactions = append(snap.Transactions, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.EachPurchase(ctx, id, func(c *crm.Purchase) error { snap.Purchases = append(snap.Purchases, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		ny := mustLoc(t, "America/New_York")
		in := newIntegration(t, s, "acme", "America/New_York")
		c, o, x, p := sample(t, ny, "1")
		// A second, sparse row: zero times, dates, money and raw stay unset.
		c2 := crm.Customer{Source: crm.SourceLegacy, ID: "1"}
		x2 := crm.Transaction{Source: crm.SourceLegacy, ID: "T2", TxnType: crm.TxnRefund, Amount: -1}
		err := s.Update(ctx, func(tx *Tx) error {
			if err := tx.UpsertCustomers(ctx, in.ID, []crm.Customer{c, c2}); err != nil {
				return err
			}
			if err := tx.UpsertOrders(ctx, in.ID, []crm.Order{o}); err != nil {
				return err
			}
			if err := tx.UpsertTransactions(ctx, in.ID, []crm.Transaction{x, x2}); err != nil {
				return err
			}
			return tx.UpsertPurchases(ctx, in.ID, []crm.Purchase{p})
		})
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, s, in.ID)
		want := snapshot{Customers: []crm.Customer{c, c2}, Orders: []crm.Order{o}, Transactions: []crm.Transaction{x, x2}, Purchases: []crm.Purchase{p}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read back differs:\n got %+v\nwant %+v", got, want)
		}
		if got.Transactions[0].Created.Adjust != crm.Gap || got.Customers[0].Updated.Adjust != crm.Ambiguous {
			t.Errorf("DST adjustments lost: %v %v", got.Transactions[0].Created.Adjust, got.Customers[0].Updated.Adjust)
		}
		counts, err := s.Counts(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Counts{Customers: 2, Orders: 1, Transactions: 2, Purchases: 1}); !reflect.DeepEqual(counts, want) {
			t.Errorf("counts %v, want %v", counts, want)
		}
	})
}

func TestUpsertReplacesAndDeduplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		ny := mustLoc(t, "America/New_York")
		in := newIntegration(t, s, "acme", "America/New_York")
		other := newIntegration(t, s, "other", "UTC")
		// 1,203 transactions: more than one multi-row statement, with a
		// repeated id inside the batch whose last value must win.
		var rows []crm.Transaction
		for i := 0; i < 1203; i++ {
			_, _, x, _ := sample(t, ny, fmt.Sprint(i))
			x.Chargedback, x.ChargebackAmt, x.ChargebackDay = false, 0, crm.Date{}
			rows = append(rows, x)
		}
		dup := rows[5]
		dup.Amount = 1
		rows = append(rows, dup)
		for round := 0; round < 2; round++ { // the second round is a no-op
			if err := s.Update(ctx, func(tx *Tx) error { return tx.UpsertTransactions(ctx, in.ID, rows) }); err != nil {
				t.Fatal(err)
			}
		}
		// The same ids in another integration are other rows.
		if err := s.Update(ctx, func(tx *Tx) error { return tx.UpsertTransactions(ctx, other.ID, rows[:10]) }); err != nil {
			t.Fatal(err)
		}
		// A chargeback restates one sale in place.
		cb := rows[7]
		cb.Chargedback, cb.ChargebackAmt, cb.ChargebackDay = true, -cb.Amount, crm.Date{Year: 2025, Month: 4, Day: 23}
		cb.Updated = wall(t, "2025-04-23 10:00:00", ny)
		if err := s.Update(ctx, func(tx *Tx) error { return tx.UpsertTransactions(ctx, in.ID, []crm.Transaction{cb}) }); err != nil {
			t.Fatal(err)
		}
		byID := map[string]crm.Transaction{}
		if err := s.EachTransaction(ctx, in.ID, func(x *crm.Transaction) error { byID[x.ID] = *x; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(byID) != 1203 {
			t.Fatalf("%d rows, want 1203", len(byID))
		}
		if byID[dup.ID].Amount != 1 {
			t.Errorf("repeated id kept amount %v, want the last value 0.01", byID[dup.ID].Amount)
		}
		if got := byID[cb.ID]; !reflect.DeepEqual(got, cb) {
			t.Errorf("restated row\n got %+v\nwant %+v", got, cb)
		}
		n, _ := s.Counts(ctx, other.ID)
		if n[Transactions] != 10 {
			t.Errorf("other integration has %d transactions, want 10", n[Transactions])
		}
	})
}

func TestUpdateRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx *Tx) error {
			if err := tx.UpsertCustomers(ctx, in.ID, []crm.Customer{{ID: "1"}}); err != nil {
				return err
			}
			if err := tx.SaveCheckpoint(ctx, in.ID, Checkpoint{Entity: Customers, Phase: PhaseBackfill, Page: 2}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		n, _ := s.Counts(ctx, in.ID)
		if n.Total() != 0 {
			t.Errorf("rolled-back rows kept: %v", n)
		}
		if _, ok, err := s.Checkpoint(ctx, in.ID, Customers); ok || err != nil {
			t.Errorf("rolled-back checkpoint kept (ok=%v, err=%v)", ok, err)
		}
		// A row without an id is refused, not stored under "".
		err = s.Update(ctx, func(tx *Tx) error { return tx.UpsertOrders(ctx, in.ID, []crm.Order{{CustomerID: "1"}}) })
		if err == nil {
			t.Error("row without id accepted")
		}
	})
}

func TestCheckpointsRunsErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		d := func(s string) crm.Date { v, _ := crm.ParseDate(s); return v }
		cp := Checkpoint{Entity: Orders, Phase: PhaseIncremental, PassFrom: d("2025-01-01"), PassTo: d("2025-03-01"), PassStarted: d("2025-03-01"),
			Day: d("2025-02-11"), WindowTo: d("2025-02-20"), Page: 7, BackfillFrom: d("2024-01-01"), BackfillTo: d("2025-01-01"), Watermark: d("2024-12-30")}
		for i := 0; i < 2; i++ {
			if err := s.Update(ctx, func(tx *Tx) error { return tx.SaveCheckpoint(ctx, in.ID, cp) }); err != nil {
				t.Fatal(err)
			}
			cp.Page++
		}
		cp.Page--
		got, ok, err := s.Checkpoint(ctx, in.ID, Orders)
		if err != nil || !ok || !reflect.DeepEqual(got, cp) {
			t.Fatalf("checkpoint = %+v %v %v; want %+v", got, ok, err, cp)
		}
		if err := s.ResetCheckpoints(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Checkpoint(ctx, in.ID, Orders); ok {
			t.Error("checkpoint survived reset")
		}

		r1, err := s.StartRun(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		delta := RunDelta{Rows: Counts{Orders: 200, Transactions: 3}, Pages: 2, Retries: 1, DSTAmbiguous: 4, DSTGap: 5}
		for i := 0; i < 2; i++ {
			if err := s.Update(ctx, func(tx *Tx) error { return tx.AddToRun(ctx, r1, delta) }); err != nil {
				t.Fatal(err)
			}
		}
		r2, err := s.StartRun(ctx, in.ID) // r1 never finished: a crash
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, r2, RunOK, ""); err != nil {
			t.Fatal(err)
		}
		runs, err := s.Runs(ctx, in.ID, 10)
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs = %+v, %v", runs, err)
		}
		if runs[0].ID != r2 || runs[0].Status != RunOK || runs[0].Finished.IsZero() {
			t.Errorf("latest run %+v", runs[0])
		}
		if runs[1].Status != RunInterrupted || runs[1].Rows[Orders] != 400 || runs[1].Pages != 4 || runs[1].Retries != 2 || runs[1].DSTAmbiguous != 8 || runs[1].DSTGap != 10 {
			t.Errorf("crashed run %+v", runs[1])
		}
		if err := s.RecordError(ctx, SyncError{IntegrationID: in.ID, RunID: r2, Entity: Orders, Day: d("2025-02-11"), Page: 3, Message: "transient"}); err != nil {
			t.Fatal(err)
		}
		errs, err := s.Errors(ctx, in.ID, 5)
		if err != nil || len(errs) != 1 || errs[0].Message != "transient" || errs[0].Day != d("2025-02-11") || errs[0].Page != 3 || errs[0].RunID != r2 {
			t.Errorf("errors = %+v, %v", errs, err)
		}
	})
}

func TestRetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		utc := time.UTC
		in := newIntegration(t, s, "acme", "UTC")
		// Synced with the wrong zone (UTC): every instant is off.
		var txns []crm.Transaction
		raws := []string{"2025-03-09 02:30:00", "2025-11-02 01:30:00", "2025-01-15 12:00:00", "2025-07-15 12:00:00"}
		for i := 0; i < 2500; i++ {
			raw := raws[i%len(raws)]
			txns = append(txns, crm.Transaction{ID: fmt.Sprint(i), Created: wall(t, raw, utc), Updated: wall(t, raw, utc)})
		}
		txns[3].Updated = crm.WallTime{} // a missing time stays missing
		c, o, _, p := sample(t, utc, "c")
		err := s.Update(ctx, func(tx *Tx) error {
			if err := tx.UpsertTransactions(ctx, in.ID, txns); err != nil {
				return err
			}
			if err := tx.UpsertCustomers(ctx, in.ID, []crm.Customer{c}); err != nil {
				return err
			}
			if err := tx.UpsertOrders(ctx, in.ID, []crm.Order{o}); err != nil {
				return err
			}
			return tx.UpsertPurchases(ctx, in.ID, []crm.Purchase{p})
		})
		if err != nil {
			t.Fatal(err)
		}
		ny := mustLoc(t, "America/New_York")
		res, err := s.Retime(ctx, in.ID, ny)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 2503 {
			t.Errorf("retimed %d rows, want 2503", res.Rows)
		}
		// Per 4 transactions: created+updated give 2 gaps, 2 ambiguous; minus
		// the one cleared time (index 3 is a July time: exact). Customer: 1
		// gap + 1 ambiguous; purchase: 1 ambiguous; order: none.
		if res.Gap != 1250+1 || res.Ambiguous != 1250+2 {
			t.Errorf("retime counted gap %d ambiguous %d", res.Gap, res.Ambiguous)
		}
		got := readAll(t, s, in.ID)
		for _, x := range got.Transactions {
			want := wall(t, x.Created.Raw, ny)
			if x.Created != want {
				t.Fatalf("txn %s created %+v, want %+v", x.ID, x.Created, want)
			}
			if x.ID == "3" && !x.Updated.IsZero() {
				t.Fatalf("cleared time came back: %+v", x.Updated)
			}
		}
		c2, o2, _, p2 := sample(t, ny, "c")
		if !reflect.DeepEqual(got.Customers[0], c2) || !reflect.DeepEqual(got.Orders[0], o2) || !reflect.DeepEqual(got.Purchases[0], p2) {
			t.Errorf("retimed rows differ from rows placed in the new zone:\n%+v\n%+v", got.Customers[0], c2)
		}
		in2, err := s.IntegrationByID(ctx, in.ID)
		if err != nil || in2.TimeZone != "America/New_York" {
			t.Errorf("integration zone %q, %v", in2.TimeZone, err)
		}
		if _, err := s.Retime(ctx, 999, ny); !errors.Is(err, ErrNotFound) {
			t.Errorf("retime of a missing integration: %v", err)
		}
	})
}

func TestIntegrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, dsn string) {
		ctx := context.Background()
		t.Setenv(SecretKeyEnv, "")
		key, err := LoadKey(ctx, dsn, true)
		if err != nil {
			t.Fatal(err)
		}
		in := &Integration{Kind: KindKonnektive, Name: "acme", BaseURL: "https://api.konnektive.com", LoginID: "api_user", AccountName: "Acme",
			AccountUsername: "owner", TimeZone: "America/Chicago", ImportFrom: crm.Date{Year: 2024, Month: 1, Day: 1}, SyncEvery: 6 * time.Hour,
			PasswordSealed: key.Seal([]byte("s3cret!"), "acme")}
		if err := s.SaveIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.Integration(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != in.ID || got.LoginID != "api_user" || got.ImportFrom != in.ImportFrom || !got.ImportTo.IsZero() || got.SyncEvery != 6*time.Hour || got.AccountUsername != "owner" {
			t.Errorf("integration %+v", got)
		}
		pw, err := key.Open(got.PasswordSealed, "acme")
		if err != nil || string(pw) != "s3cret!" {
			t.Errorf("password did not round-trip: %v", err)
		}
		if _, err := key.Open(got.PasswordSealed, "other"); !errors.Is(err, ErrSecret) {
			t.Errorf("sealed password opened for another integration: %v", err)
		}
		// Saving again by name updates in place.
		got.TimeZone = "UTC"
		if err := s.SaveIntegration(ctx, got); err != nil || got.ID != in.ID {
			t.Fatalf("update: %v (id %d)", err, got.ID)
		}
		all, err := s.Integrations(ctx)
		if err != nil || len(all) != 1 || all[0].TimeZone != "UTC" {
			t.Errorf("integrations %+v, %v", all, err)
		}
		if _, err := s.Integration(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing integration: %v", err)
		}
		// Reopening applies no migration twice.
		s2, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s2.SchemaVersion(ctx)
		s2.Close()
		if err != nil || v != 13 {
			t.Errorf("schema version %d, %v", v, err)
		}
	})
}

func TestLoadKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "k.db")
	t.Setenv(SecretKeyEnv, "")
	if _, err := LoadKey(ctx, dsn, false); err == nil {
		t.Fatal("a missing key file was not reported")
	}
	k1, err := LoadKey(ctx, dsn, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "k.db.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	k2, err := LoadKey(ctx, dsn, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(k1.Seal([]byte("x"), "a"), "a"); err != nil {
		t.Errorf("second load made another key: %v", err)
	}
	os.Chmod(filepath.Join(dir, "k.db.key"), 0o644)
	if _, err := LoadKey(ctx, dsn, false); err == nil {
		t.Error("a world-readable key file was accepted")
	}
	t.Setenv(SecretKeyEnv, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	k3, err := LoadKey(ctx, dsn, false)
	if err != nil || k3.Source != SecretKeyEnv {
		t.Fatalf("env key: %v", err)
	}
	t.Setenv(SecretKeyEnv, "short")
	if _, err := LoadKey(ctx, dsn, false); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		backend Backend
		src     string
		ok      bool
	}{
		{"sqlite:konduit.db", SQLite, "konduit.db", true},
		{"sqlite:///var/lib/k.db", SQLite, "/var/lib/k.db", true},
		{"postgres://u@127.0.0.1/k", Postgres, "postgres://u@127.0.0.1/k", true},
		{"postgresql://u@h/k", Postgres, "postgresql://u@h/k", true},
		{"sqlite:", "", "", false},
		{"mysql://x", "", "", false},
		{"konduit.db", "", "", false},
	}
	for _, tt := range tests {
		b, src, err := ParseDSN(tt.dsn)
		if (err == nil) != tt.ok || b != tt.backend || src != tt.src {
			t.Errorf("ParseDSN(%q) = %q %q %v", tt.dsn, b, src, err)
		}
	}
	if _, _, err := ParseDSN("mysql://user:hunter2@h/db"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func FuzzParseDSN(f *testing.F) {
	f.Add("sqlite:k.db")
	f.Add("postgres://u:p@127.0.0.1:5432/db?sslmode=disable")
	f.Add("mysql://u:secret@h/db")
	f.Fuzz(func(t *testing.T, dsn string) {
		b, src, err := ParseDSN(dsn)
		if err != nil {
			return
		}
		if (b != SQLite && b != Postgres) || src == "" {
			t.Fatalf("ParseDSN(%q) = %q %q", dsn, b, src)
		}
	})
}

func TestRebind(t *testing.T) {
	if got := rebind(Postgres, "a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Errorf("rebind = %q", got)
	}
	if got := rebind(SQLite, "a = ?"); got != "a = ?" {
		t.Errorf("rebind = %q", got)
	}
}

func FuzzDecodeKey(f *testing.F) {
	f.Add("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	f.Add("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	f.Add("short")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeKey(s)
		if err == nil && len(b) != 32 {
			t.Fatalf("decodeKey(%q) gave %d bytes", s, len(b))
		}
	})
}

func TestUpdateAfterCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		in := newIntegration(t, s, "acme", "UTC")
		ctx, cancel := context.WithCancel(context.Background())
		err := s.Update(ctx, func(tx *Tx) error {
			if err := tx.UpsertCustomers(ctx, in.ID, []crm.Customer{{ID: "1"}}); err != nil {
				return err
			}
			cancel() // Ctrl-C in the middle of a transaction
			return tx.UpsertCustomers(ctx, in.ID, []crm.Customer{{ID: "2"}})
		})
		if err == nil {
			t.Fatal("a cancelled transaction committed")
		}
		// The store stays usable, and nothing of the cancelled transaction is kept.
		bg := context.Background()
		if err := s.Update(bg, func(tx *Tx) error { return tx.UpsertCustomers(bg, in.ID, []crm.Customer{{ID: "3"}}) }); err != nil {
			t.Fatalf("after a cancel: %v", err)
		}
		n, err := s.Counts(bg, in.ID)
		if err != nil || n[Customers] != 1 {
			t.Errorf("counts %v, %v; want only the row written after the cancel", n, err)
		}
	})
}

// TestStaleRunIsInterrupted: a run recorded running whose process is gone
// reads as interrupted; a live one stays running; a run on another machine
// is judged by its last sign of life.
func TestStaleRunIsInterrupted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		id, err := s.StartRun(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		status := func() string {
			runs, err := s.Runs(ctx, in.ID, 1)
			if err != nil || len(runs) != 1 {
				t.Fatalf("runs %v %v", runs, err)
			}
			return runs[0].Status
		}
		if st := status(); st != RunRunning {
			t.Fatalf("this process's run reads %s", st)
		}
		dead := exec.Command("true")
		if err := dead.Run(); err != nil {
			t.Fatal(err)
		}
		set := func(q string, args ...any) {
			if _, err := s.DB().ExecContext(ctx, s.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		set(`UPDATE sync_runs SET pid = ? WHERE id = ?`, dead.Process.Pid, id)
		if st := status(); st != RunInterrupted {
			t.Errorf("a run whose process is gone reads %s", st)
		}
		set(`UPDATE sync_runs SET host = ?, alive_at = ? WHERE id = ?`, "another-machine", time.Now().Unix(), id)
		if st := status(); st != RunRunning {
			t.Errorf("a run elsewhere, alive a moment ago, reads %s", st)
		}
		set(`UPDATE sync_runs SET alive_at = ? WHERE id = ?`, time.Now().Add(-StaleAfter-time.Minute).Unix(), id)
		if st := status(); st != RunInterrupted {
			t.Errorf("a run elsewhere, silent for longer than StaleAfter, reads %s", st)
		}
	})
}

// TestQuarantineAndRelease: quarantined rows are counted and listed, a
// row quarantined again replaces its entry, and a release takes it out.
func TestQuarantineAndRelease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		q := []QuarantinedRow{
			{Entity: Transactions, RowID: "1", Field: "totalAmount", Reason: "three decimals", Raw: `{"a":1}`},
			{Entity: Transactions, RowID: "1", Field: "totalAmount", Reason: "again", Raw: `{"a":1}`},
			{Entity: Orders, Field: "(row)", Reason: "no id", Raw: `{"b":2}`},
		}
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Quarantine(ctx, in.ID, q) }); err != nil {
			t.Fatal(err)
		}
		c, err := s.QuarantineCounts(ctx, in.ID)
		if err != nil || c[Transactions] != 1 || c[Orders] != 1 || c.Phrase() != "1 order, 1 transaction" {
			t.Fatalf("counts %v (%q) %v", c, c.Phrase(), err)
		}
		rows, _ := s.Quarantined(ctx, in.ID, 10)
		if len(rows) != 2 {
			t.Fatalf("rows %+v", rows)
		}
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Release(ctx, in.ID, Transactions, []string{"1"}) }); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.QuarantineCounts(ctx, in.ID); c.Total() != 1 {
			t.Errorf("after release: %v", c)
		}
	})
}

// TestUnchangedRowsAreNotWritten: a row read again unchanged is neither
// written nor marked dirty for the rollups; a changed one is both.
func TestUnchangedRowsAreNotWritten(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		in := newIntegration(t, s, "acme", "UTC")
		wall, _ := crm.ParseWall("2025-01-02 10:00:00", time.UTC)
		txns := []crm.Transaction{
			{ID: "1", CustomerID: "c1", TxnType: "SALE", ResponseType: "SUCCESS", Amount: 1000, Created: wall, Raw: json.RawMessage(`{"transactionId":1}`)},
			{ID: "2", CustomerID: "c2", TxnType: "SALE", ResponseType: "SUCCESS", Amount: 2000, Created: wall, Raw: json.RawMessage(`{"transactionId":2}`)},
		}
		write := func() map[string]Written {
			var w map[string]Written
			if err := s.Update(ctx, func(tx *Tx) error {
				if err := tx.UpsertTransactions(ctx, in.ID, txns); err != nil {
					return err
				}
				w = tx.Written()
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return w
		}
		dirty := func() int {
			var n int
			s.DB().QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM rollup_dirty_customers WHERE integration_id = ?`), in.ID).Scan(&n)
			s.DB().ExecContext(ctx, s.Rebind(`DELETE FROM rollup_dirty_customers WHERE integration_id = ?`), in.ID)
			return n
		}
		if w := write()[Transactions]; w != (Written{New: 2}) || dirty() != 2 {
			t.Fatalf("first write: %+v", w)
		}
		if w := write()[Transactions]; w != (Written{Unchanged: 2}) || dirty() != 0 {
			t.Fatalf("the same rows again: %+v, dirty marks left", w)
		}
		txns[1].Amount = 2500 // a typed column alone changes: still a change
		if w := write()[Transactions]; w != (Written{Changed: 1, Unchanged: 1}) || dirty() != 1 {
			t.Fatalf("one row changed: %+v", w)
		}
		var amount int64
		s.DB().QueryRowContext(ctx, s.Rebind(`SELECT amount_cents FROM transactions WHERE integration_id = ? AND id = '2'`), in.ID).Scan(&amount)
		if amount != 2500 {
			t.Fatalf("the change was not written: %d", amount)
		}
	})
}
