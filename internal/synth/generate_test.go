package synth

import (
	"context"
	"errors"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

func collect(t *testing.T, opts Options) []*Customer {
	t.Helper()
	var cs []*Customer
	if err := Generate(context.Background(), opts, func(c *Customer) error {
		cs = append(cs, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestDomainInvariants checks what the fake API serves: IDs, parent links,
// cycles, purchases, chargebacks and wall-clock times.
func TestDomainInvariants(t *testing.T) {
	opts := testOptions(t, 4000)
	asOf := opts.AsOf.String()
	txnIDs := map[string]bool{}
	orderIDs := map[string]bool{}
	purchaseIDs := map[string]bool{}
	leads := 0
	for _, c := range collect(t, opts) {
		if c.Lead {
			leads++
			if len(c.Transactions) != 0 || len(c.Orders) != 1 || c.Orders[0].Status != "PARTIAL" {
				t.Errorf("lead %s: %d transactions, orders %v", c.ID, len(c.Transactions), c.Orders)
			}
			if c.LegacyNotes() != nil || c.LegacyDetails() != nil || len(c.LegacyTransactionRows()) != 0 {
				t.Errorf("lead %s has legacy rows", c.ID)
			}
			continue
		}
		orders := map[string]*Order{}
		for i := range c.Orders {
			o := &c.Orders[i]
			if orderIDs[o.ID] {
				t.Errorf("order %s repeated", o.ID)
			}
			orderIDs[o.ID] = true
			orders[o.ID] = o
		}
		sums := map[string]crm.Money{}
		byID := map[string]*Transaction{}
		cycles := map[string][]int{} // purchase -> approved sales' cycles in order
		// purchase -> last approved attempt's cycle, counting an
		// authorization not captured by as-of
		lastCycle := map[string]int{}
		for i := range c.Transactions {
			tx := &c.Transactions[i]
			if _, err := strconv.Atoi(tx.ID); err != nil || txnIDs[tx.ID] {
				t.Errorf("transaction ID %q not a fresh integer", tx.ID)
			}
			txnIDs[tx.ID] = true
			if i > 0 && tx.Created.UTC.Before(c.Transactions[i-1].Created.UTC) && tx.Created.Adjust == crm.Exact && c.Transactions[i-1].Created.Adjust == crm.Exact {
				t.Errorf("customer %s: transactions out of order", c.ID)
			}
			for _, w := range []crm.WallTime{tx.Created, tx.Updated} {
				back, err := crm.ParseWall(w.Raw, opts.TimeZone)
				if err != nil || back != w {
					t.Errorf("wall time %+v does not round-trip: %+v %v", w, back, err)
				}
				if w.Raw[:10] > asOf {
					t.Errorf("%s dated after as-of", w.Raw)
				}
			}
			if tx.ParentMerchantTxnID != "" {
				p, ok := byID[tx.ParentMerchantTxnID]
				if !ok || p.ID != tx.ParentID {
					t.Errorf("transaction %s: parent %s not earlier or ParentID %q wrong", tx.ID, tx.ParentMerchantTxnID, tx.ParentID)
				}
			}
			byID[tx.MerchantTxnID] = tx
			if _, ok := orders[tx.OrderID]; !ok {
				t.Errorf("transaction %s: order %s unknown", tx.ID, tx.OrderID)
			}
			switch tx.ResponseType {
			case crm.RespSuccess:
				if tx.AuthCode == "" {
					t.Errorf("transaction %s: approved without an auth code", tx.ID)
				}
			case crm.RespSoftDecline, crm.RespHardDecline:
				if tx.TxnType != crm.TxnSale && tx.TxnType != crm.TxnAuthorize || !tx.IsDecline() {
					t.Errorf("transaction %s: a declined %s", tx.ID, tx.TxnType)
				}
			default:
				t.Errorf("transaction %s: response %q", tx.ID, tx.ResponseType)
			}
			if tx.ResponseType == crm.RespSuccess && tx.PurchaseID != "" && tx.TxnType != crm.TxnRefund {
				lastCycle[tx.PurchaseID] = tx.BillingCycle
			}
			if tx.IsSale() {
				sums[tx.OrderID] += tx.Amount
				if tx.PurchaseID != "" {
					cycles[tx.PurchaseID] = append(cycles[tx.PurchaseID], tx.BillingCycle)
				} else if tx.BillingCycle != 1 {
					t.Errorf("one-time sale %s in cycle %d", tx.ID, tx.BillingCycle)
				}
			}
			if tx.Chargedback {
				if !tx.Updated.UTC.After(tx.Created.UTC) || tx.Updated.Raw[:10] != tx.ChargebackDay.String() {
					t.Errorf("chargeback %s: updated %s, chargeback day %s, created %s", tx.ID, tx.Updated.Raw, tx.ChargebackDay, tx.Created.Raw)
				}
			} else if tx.Updated != tx.Created {
				t.Errorf("transaction %s updated without a chargeback", tx.ID)
			}
		}
		for id, o := range orders {
			if o.Total != sums[id] {
				t.Errorf("order %s: total %s, sales %s", id, o.Total, sums[id])
			}
		}
		for _, p := range c.Purchases {
			if purchaseIDs[p.ID] {
				t.Errorf("purchase %s repeated", p.ID)
			}
			purchaseIDs[p.ID] = true
			cs := cycles[p.ID]
			for i, n := range cs {
				if n != i+1 {
					t.Errorf("purchase %s: approved cycles %v, want 1, 2, ...", p.ID, cs)
					break
				}
			}
			if p.BillingCycle != lastCycle[p.ID] {
				t.Errorf("purchase %s: billing cycle %d, last approved %d", p.ID, p.BillingCycle, lastCycle[p.ID])
			}
			switch p.Status {
			case "ACTIVE":
				if !opts.AsOf.Before(p.NextBillDate) {
					t.Errorf("active purchase %s bills %s, not after as-of", p.ID, p.NextBillDate)
				}
				if pm := c.Payment; pm.Source == legacy.ValueCreditCard && fmt.Sprintf("%04d-%02d-31", pm.ExpiryYear, pm.ExpiryMonth) < p.NextBillDate.String() {
					t.Errorf("purchase %s: card expires before the next bill date", p.ID)
				}
			case "CANCELLED":
				if !p.NextBillDate.IsZero() {
					t.Errorf("cancelled purchase %s has a next bill date", p.ID)
				}
			default:
				t.Errorf("purchase %s: status %q", p.ID, p.Status)
			}
		}
	}
	if leads == 0 {
		t.Error("no leads")
	}
}

func TestMaxRowsStopsNearTheTarget(t *testing.T) {
	opts := Options{MaxRows: 5000, Seed: 7}
	rows, customers := 0, 0
	err := Generate(context.Background(), opts, func(c *Customer) error {
		if rows >= opts.MaxRows {
			t.Fatal("generated past MaxRows")
		}
		rows += len(c.Transactions)
		customers++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows < 5000 || rows > 5100 {
		t.Errorf("%d rows for MaxRows 5000", rows)
	}
	t.Logf("%d customers, %d rows", customers, rows)
}

func TestOptionsAreChecked(t *testing.T) {
	for _, o := range []Options{{Customers: -1}, {MaxRows: -5}, {Months: 121}} {
		if err := Generate(context.Background(), o, func(*Customer) error { return nil }); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := Generate(context.Background(), Options{Customers: 10}, func(*Customer) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: %v after %d customers", err, n)
	}
}

// TestTimeZone: wall-clock times are the account zone's, and the fall-back
// night's repeated hour and the spring-forward night both carry events.
func TestTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Customers: 6000, Seed: 3, AsOf: crm.Date{Year: 2026, Month: time.June, Day: 1}, TimeZone: berlin}
	ambiguous, spring := 0, 0
	for _, c := range collect(t, opts) {
		for _, tx := range c.Transactions {
			w := tx.Created
			if w.Adjust == crm.Exact && w.UTC.In(berlin).Format(crm.WallLayout) != w.Raw {
				t.Fatalf("%s is not the Berlin time of %s", w.Raw, w.UTC)
			}
			if w.Adjust == crm.Ambiguous {
				ambiguous++
			}
			// Europe/Berlin springs forward on 2026-03-29 at 02:00.
			if strings.HasPrefix(w.Raw, "2026-03-29 0") && w.Raw < "2026-03-29 04" {
				spring++
				if w.Raw >= "2026-03-29 02" && w.Raw < "2026-03-29 03" {
					t.Errorf("%s does not exist in Berlin", w.Raw)
				}
			}
		}
	}
	if ambiguous == 0 || spring == 0 {
		t.Errorf("%d events in the repeated hour, %d on the spring-forward night", ambiguous, spring)
	}
}

func TestSensitiveValuesAreMasked(t *testing.T) {
	for _, c := range collect(t, testOptions(t, 300)) {
		out := fmt.Sprintf("%v %+v %#v %s", c, c, c.Payment, c.Details)
		for _, secret := range []string{c.Payment.CardNumber, c.Payment.AccountNumber, c.Payment.RoutingNumber, c.Payment.ExternalToken} {
			if secret != "" && strings.Contains(out, secret) {
				t.Fatalf("customer %s printed a payment secret", c.ID)
			}
		}
		if c.Details != nil && strings.Contains(out, c.Details.Password) {
			t.Fatalf("customer %s printed a password", c.ID)
		}
	}
}

func TestLuhnAndABA(t *testing.T) {
	tests := []struct {
		in        string
		luhn, aba bool
	}{
		{"79927398713", true, false}, // the classic Luhn example
		{"79927398710", false, false},
		{"123456780", false, true}, // 3(1+4+7)+7(2+5+8)+(3+6+0) = 150
		{"123456789", false, false},
		{"12345678a", false, false},
		{"", false, false},
		{"0", true, false},
	}
	for _, tt := range tests {
		if got := cardnum.Luhn(tt.in); got != tt.luhn {
			t.Errorf("cardnum.Luhn(%q) = %v", tt.in, got)
		}
		if got := cardnum.ABA(tt.in); got != tt.aba {
			t.Errorf("cardnum.ABA(%q) = %v", tt.in, got)
		}
	}
	// Every generated number passes, and changing any one digit breaks it.
	for _, c := range collect(t, testOptions(t, 500)) {
		p := c.Payment
		for _, chk := range []struct {
			v  string
			ok func(string) bool
		}{{p.CardNumber, cardnum.Luhn[string]}, {p.RoutingNumber, cardnum.ABA[string]}} {
			if chk.v == "" {
				continue
			}
			if !chk.ok(chk.v) {
				t.Fatalf("customer %s: generated number fails its checksum", c.ID)
			}
			b := []byte(chk.v)
			b[3] = '0' + (b[3]-'0'+1)%10
			if chk.ok(string(b)) {
				t.Fatalf("customer %s: checksum misses a changed digit", c.ID)
			}
		}
	}
}

// TestWriteLegacyLeavesNothingOnCancel: an interrupted run leaves no file
// and no temporary behind, and earlier files untouched.
func TestWriteLegacyLeavesNothingOnCancel(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, legacy.Transactions.FileName())
	if err := os.WriteFile(old, []byte("previous run\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := WriteLegacy(ctx, Options{MaxRows: 50_000_000}, dir)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	if b, _ := os.ReadFile(old); string(b) != "previous run\n" {
		t.Errorf("earlier file changed: %q", b)
	}
}

// TestMemoryDoesNotGrow: the live heap after many customers stays small.
func TestMemoryDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,000 rows")
	}
	var st Stats
	var heap uint64
	err := Generate(context.Background(), Options{MaxRows: 100_000, Seed: 9}, func(c *Customer) error {
		st.Add(c)
		if st.Transactions >= 100_000 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = ms.HeapAlloc
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if heap == 0 || heap > 16<<20 {
		t.Errorf("live heap %d bytes after %d rows", heap, st.Transactions)
	}
}

// BenchmarkWriteLegacy300k measures generating and rendering 300,000
// transaction rows (about 140 MB of CSV) with the notes and details.
func BenchmarkWriteLegacy300k(b *testing.B) {
	opts := Options{MaxRows: 300_000, Seed: 1}
	for b.Loop() {
		var st Stats
		cw := &countWriter{}
		if err := writeLegacy(context.Background(), opts, cw, io.Discard, io.Discard, &st); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(cw.n)
		b.ReportMetric(float64(st.Transactions), "rows/op")
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func TestPermuteIsOneToOne(t *testing.T) {
	for _, half := range []uint64{7, 36, 100} {
		seen := make(map[uint64]bool)
		for x := range half * half {
			y := permute(x, half, 42)
			if y >= half*half || seen[y] {
				t.Fatalf("half %d: permute(%d) = %d repeats or is out of range", half, x, y)
			}
			seen[y] = true
		}
	}
}

// TestPeopleAreDistinct: no two generated customers share an email address
// (case-folded) or any phone number, so a clean file never reads as one
// person under two customer ids.
func TestPeopleAreDistinct(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 4000
	}
	emails, phones := map[string]string{}, map[string]string{}
	for _, c := range collect(t, Options{Customers: n, Seed: 3}) {
		e := strings.ToLower(c.Email)
		if other, ok := emails[e]; ok {
			t.Fatalf("customers %s and %s share the email %s", other, c.ID, e)
		}
		emails[e] = c.ID
		mine := map[string]bool{}
		for _, p := range []string{c.Phone, c.HomePhone, c.CellPhone, c.WorkPhone} {
			if p == "" || mine[p] {
				continue
			}
			mine[p] = true
			if other, ok := phones[p]; ok {
				t.Fatalf("customers %s and %s share the phone %s", other, c.ID, p)
			}
			phones[p] = c.ID
		}
	}
}

// TestPhoneSlotsAreDistinct: the subscriber digits are a bijection of the
// slot, so numbers of different slots differ whatever the area.
func TestPhoneSlotsAreDistinct(t *testing.T) {
	const n = 1_000_003 // not a square
	seen := make([]bool, n)
	for x := range uint64(n) {
		y := permuteBelow(x, n, 7)
		if y >= n || seen[y] {
			t.Fatalf("permuteBelow(%d) = %d repeats or is out of range", x, y)
		}
		seen[y] = true
	}
	if phoneSlot(0, 1) == phoneSlot(1, 0) || phoneSlot(3_999_999, 1) != phoneSubscribers-1 {
		t.Fatal("phoneSlot")
	}
}
