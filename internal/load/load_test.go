package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/store/pgtest"
	"github.com/konduit/konduit/internal/synth"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var backends = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "k.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.Database(t) }},
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func genOpts(t testing.TB, n int) synth.Options {
	return synth.Options{Customers: n, Seed: 11, AsOf: crm.Date{Year: 2025, Month: time.November, Day: 10}, Months: 14, TimeZone: mustLoc(t, "Australia/Sydney")}
}

func files(dir string) []string {
	var out []string
	for _, k := range legacy.Kinds {
		out = append(out, filepath.Join(dir, k.FileName()))
	}
	return out
}

func openStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var checkOpts = check.Options{AsOf: "2025-11-10"}

// TestLoadMatchesGenerator loads generated legacy files and compares every
// stored transaction and subscription with the generator's own values:
// identifiers, amounts, instants, chargebacks, and the billing cycles the
// load derives from row order.
func TestLoadMatchesGenerator(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			opts := genOpts(t, 400)
			dir := t.TempDir()
			if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
				t.Fatal(err)
			}
			st := openStore(t, b.dsn(t))
			res, err := Load(ctx, st, files(dir), Options{Name: "old", TimeZone: opts.TimeZone, Check: checkOpts, Batch: 333})
			if err != nil {
				t.Fatal(err)
			}
			type want struct {
				t    synth.Transaction
				card string
			}
			wants := map[string]want{}
			active := map[string]crm.Purchase{}
			orders := map[string]bool{}
			customers := 0
			err = synth.Generate(ctx, opts, func(c *synth.Customer) error {
				if len(c.Transactions) > 0 {
					customers++
				}
				for _, tx := range c.Transactions {
					card := ""
					if c.Payment.Source == legacy.ValueCreditCard {
						card = c.Payment.CardNumber
					}
					wants[tx.MerchantTxnID] = want{tx, card}
					orders[tx.OrderID] = true
				}
				for _, p := range c.Purchases {
					if c.LegacySubscription(p.ID) { // ACTIVE, with a successful charge to carry isActiveRecurring=1
						active[PurchaseID(c.ID, p.ProductID)] = p
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Transactions != int64(len(wants)) || res.Customers != int64(customers) || res.Orders != int64(len(orders)) || res.Purchases != int64(len(active)) {
				t.Fatalf("loaded %+v; want %d transactions, %d customers, %d orders, %d purchases", res, len(wants), customers, len(orders), len(active))
			}
			if res.Notes == 0 || res.Details == 0 || res.Skipped != 0 {
				t.Errorf("notes %d details %d skipped %d", res.Notes, res.Details, res.Skipped)
			}
			checkNotesAndDetails(t, st, res.Integration.ID, dir)
			deep := 0
			err = st.EachTransaction(ctx, res.Integration.ID, func(got *crm.Transaction) error {
				w, ok := wants[got.ID]
				if !ok {
					t.Errorf("unexpected transaction %s", got.ID)
					return nil
				}
				x := w.t
				resp := x.ResponseType
				if resp != crm.RespSuccess {
					resp = crm.RespDecline
				}
				if got.Source != crm.SourceLegacy || got.ParentID != x.ParentMerchantTxnID || got.CustomerID != x.CustomerID || got.OrderID != x.OrderID ||
					got.ProductID != x.ProductID || got.CampaignID != x.CampaignID || got.MerchantID != x.MerchantID || got.AffID != x.AffID ||
					got.SubAffID != x.SubAffID || got.Country != x.Country || got.TxnType != x.TxnType || got.ResponseType != resp ||
					got.Amount != x.Amount || got.SubTotal != x.SubTotal || got.ShipTotal != x.ShipTotal || got.SalesTax != x.SalesTax ||
					got.Created.Raw != x.Created.Raw || !got.Created.UTC.Equal(x.Created.UTC) || got.Created.Adjust != x.Created.Adjust ||
					got.Chargedback != x.Chargedback || got.ChargebackAmt != x.ChargebackAmt || got.ChargebackDay != x.ChargebackDay || got.ChargebackWhy != x.ChargebackWhy {
					t.Errorf("transaction %s:\n got %+v\nwant %+v", got.ID, *got, x.Transaction)
				}
				if got.BillingCycle != x.BillingCycle {
					t.Errorf("transaction %s (%s %s of product %s): cycle %d, want %d", got.ID, x.TxnType, x.ResponseType, x.ProductID, got.BillingCycle, x.BillingCycle)
				}
				if x.BillingCycle >= 3 {
					deep++
				}
				wantLast4 := ""
				if w.card != "" {
					wantLast4 = w.card[len(w.card)-4:]
				}
				if got.CardLast4 != wantLast4 {
					t.Errorf("transaction %s: card last four %q, want %q", got.ID, got.CardLast4, wantLast4)
				}
				if w.card != "" && strings.Contains(string(got.Raw), w.card) {
					t.Errorf("transaction %s: the card number is stored", got.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if deep == 0 {
				t.Error("no transaction reached cycle 3: the cycle derivation is not exercised")
			}
			err = st.EachPurchase(ctx, res.Integration.ID, func(p *crm.Purchase) error {
				w, ok := active[p.ID]
				if !ok {
					t.Errorf("unexpected purchase %s", p.ID)
					return nil
				}
				if p.Status != "ACTIVE" || p.NextBillDate != w.NextBillDate || p.BillingCycle != w.BillingCycle || p.ProductID != w.ProductID {
					t.Errorf("purchase %s: got %+v, want %+v", p.ID, *p, w)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Loading again changes nothing.
			again, err := Load(ctx, st, files(dir), Options{Name: "old", TimeZone: opts.TimeZone, Check: checkOpts})
			if err != nil {
				t.Fatal(err)
			}
			if again.Customers != res.Customers || again.Orders != res.Orders || again.Purchases != res.Purchases {
				t.Errorf("second load: %+v, first %+v", again, res)
			}
			c, err := st.Counts(ctx, res.Integration.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c[store.Transactions] != res.Transactions {
				t.Errorf("after two loads: %d transactions, want %d", c[store.Transactions], res.Transactions)
			}
		})
	}
}

// corrupt rewrites one data row's totalAmount of a transactions file.
func corrupt(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := legacy.NewReader(strings.NewReader(string(b)))
	var out strings.Builder
	w := legacy.NewWriter(&out)
	spec := legacy.SpecFor(legacy.Transactions)
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if i == 3 {
			rec.Fields[spec.Index(legacy.FTotalAmount)] = "12.3.4"
		}
		if err := w.Write(rec.Fields); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRefusesFilesWithErrors(t *testing.T) {
	ctx := context.Background()
	opts := genOpts(t, 60)
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
		t.Fatal(err)
	}
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	corrupt(t, tx)
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	res, err := Load(ctx, st, []string{tx}, Options{TimeZone: opts.TimeZone, Check: checkOpts})
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Errors == 0 || refused.ExitCode() != 1 || res.Report.Errors() == 0 {
		t.Fatalf("load of a broken file: %v", err)
	}
	if ins, err := st.Integrations(ctx); err != nil || len(ins) != 0 {
		t.Fatalf("a refused load left integrations %v (%v)", ins, err)
	}
	res, err = Load(ctx, st, []string{tx}, Options{TimeZone: opts.TimeZone, Check: checkOpts, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 || res.Transactions == 0 {
		t.Fatalf("forced load: %+v", res)
	}
	// The integration keeps its zone: loading in another one is refused.
	if _, err := Load(ctx, st, []string{tx}, Options{TimeZone: time.UTC, Check: checkOpts, Force: true}); err == nil || !strings.Contains(err.Error(), "time zone") {
		t.Fatalf("load in another zone: %v", err)
	}
}

func TestLoadNeedsTimeZone(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	if _, err := Load(context.Background(), st, nil, Options{}); err == nil {
		t.Fatal("no time zone accepted")
	}
}

// countRows counts a legacy file's rows, the header not included.
func countRows(ctx context.Context, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	r := legacy.NewReader(f)
	var n int64 = -1 // the header
	for {
		if n%10000 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		_, err := r.Read()
		if err == io.EOF {
			return max(n, 0), nil
		}
		var pe *legacy.ParseError
		if err != nil && !errors.As(err, &pe) {
			return 0, fmt.Errorf("read %s: %w", path, err)
		}
		n++
	}
}

// checkNotesAndDetails compares the stored notes and details with the
// files, and makes sure no third-party password was stored.
func checkNotesAndDetails(t *testing.T, st *store.Store, id int64, dir string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct{ file, table string }{{"legacy_customer_notes.csv", store.Notes}, {"legacy_customer_details.csv", store.Details}} {
		want, err := countRows(ctx, filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		if err := st.DB().QueryRow(st.Rebind(`SELECT COUNT(*) FROM `+c.table+` WHERE integration_id = ?`), id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want || got == 0 {
			t.Errorf("%s: %d rows stored, the file has %d", c.table, got, want)
		}
	}
	f, err := os.Open(filepath.Join(dir, "legacy_customer_details.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := legacy.NewReader(f)
	hdr, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	cols := newColumns(hdr.Fields)
	passwords := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pw := cols.get(rec.Fields, legacy.FPassword)
		if pw == "" {
			continue
		}
		passwords++
		var hits, has int
		cust := cols.get(rec.Fields, legacy.FCustomerID)
		err = st.DB().QueryRow(st.Rebind(`SELECT COUNT(*), MAX(has_password) FROM customer_details WHERE integration_id = ? AND id = ?`), id, cust).Scan(&hits, &has)
		if err != nil {
			t.Fatal(err)
		}
		if hits != 1 || has != 1 {
			t.Errorf("customer %s: %d details rows, has_password %d; want 1 and 1", cust, hits, has)
		}
		var leaks int
		if err := st.DB().QueryRow(st.Rebind(`SELECT COUNT(*) FROM customer_details WHERE login_id = ? OR custom1 = ? OR custom2 = ? OR custom3 = ? OR custom4 = ? OR custom5 = ?`),
			pw, pw, pw, pw, pw, pw).Scan(&leaks); err != nil {
			t.Fatal(err)
		}
		if leaks > 0 {
			t.Errorf("customer %s: the third-party password was stored", cust)
		}
	}
	if passwords == 0 {
		t.Error("the generated details hold no password: the check proves nothing")
	}
}

// TestCycleGuessMatchesDerive: for a file that lists each customer's rows
// together in time order (konduit synth writes them so), the cycle given
// to each row as it is read is the one the derive step computes, so the
// derive rewrites no transaction.
func TestCycleGuessMatchesDerive(t *testing.T) {
	ctx := context.Background()
	opts := genOpts(t, 300)
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	if _, err := Load(ctx, st, files(dir)[:1], Options{TimeZone: opts.TimeZone, Check: checkOpts}); err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	rows, err := st.DB().QueryContext(ctx, `SELECT id, billing_cycle FROM transactions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		stored[id] = c
	}
	rows.Close()
	f, err := openFile(ctx, files(dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := f
	cols := columns{f.Columns}
	var g cycleGuess
	n, later := 0, 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tx, _, _, err := mapRow(cols, rec, "f", opts.TimeZone)
		if err != nil {
			continue
		}
		g.next(&tx)
		n++
		if tx.BillingCycle > 1 {
			later++
		}
		if c, ok := stored[tx.ID]; !ok || c != tx.BillingCycle {
			t.Fatalf("row %d (%s %s): guessed cycle %d, derived %d", rec.Row, tx.TxnType, tx.ResponseType, tx.BillingCycle, c)
		}
	}
	if n < 1000 || later == 0 {
		t.Fatalf("%d rows compared, %d beyond cycle 1: the test proves little", n, later)
	}
}

// TestDeriveCorrectsGuesses: a transactions file in reverse order defeats
// cycleGuess (each customer's rows come newest first), so the cycles stored
// are the derive step's corrections; they must be the generator's.
func TestDeriveCorrectsGuesses(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			opts := genOpts(t, 120)
			dir := t.TempDir()
			if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
				t.Fatal(err)
			}
			path := files(dir)[0]
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
			for i, line := range lines {
				if !strings.HasSuffix(line, "\n") {
					lines[i] = line + "\n"
				}
			}
			slices.Reverse(lines[1:])
			if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{}
			if err := synth.Generate(ctx, opts, func(c *synth.Customer) error {
				for _, tx := range c.Transactions {
					want[tx.MerchantTxnID] = tx.BillingCycle
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			st := openStore(t, b.dsn(t))
			res, err := Load(ctx, st, []string{path}, Options{TimeZone: opts.TimeZone, Check: checkOpts, Batch: 97})
			if err != nil {
				t.Fatal(err)
			}
			n, deep := 0, 0
			err = st.EachTransaction(ctx, res.Integration.ID, func(got *crm.Transaction) error {
				n++
				if got.BillingCycle >= 3 {
					deep++
				}
				if w, ok := want[got.ID]; !ok || got.BillingCycle != w {
					t.Errorf("transaction %s (%s %s): cycle %d, want %d", got.ID, got.TxnType, got.ResponseType, got.BillingCycle, w)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) || deep == 0 {
				t.Fatalf("%d transactions (want %d), %d beyond cycle 2", n, len(want), deep)
			}
		})
	}
}
