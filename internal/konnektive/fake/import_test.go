package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

func importFixture(t *testing.T, faults bool) (*Server, *ImportResult, synth.Stats) {
	t.Helper()
	loc, _ := time.LoadLocation("America/New_York")
	dir := t.TempDir()
	st, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: 200, Seed: 4, TimeZone: loc}, dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{LoginID: "api", Password: "pw-1", Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	var in []ImportInput
	for _, k := range legacy.Kinds {
		b, err := os.ReadFile(filepath.Join(dir, k.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, ImportInput{Name: k.FileName(), R: bytes.NewReader(b)})
	}
	res, err := ImportLegacy(context.Background(), s, in, ImportOptions{Faults: faults, ImportedAt: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return s, res, st
}

func TestImportServesTheFile(t *testing.T) {
	s, res, st := importFixture(t, false)
	if res.Customers != st.Customers-st.Leads || res.Transactions != st.Transactions || res.Purchases != st.ActiveSubscriptions {
		t.Fatalf("imported %+v, generated %+v", res, st)
	}
	if len(res.Skipped) != 2 || len(res.Faults) != 0 {
		t.Fatalf("skipped %v faults %v", res.Skipped, res.Faults)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := konnektive.New(konnektive.Config{BaseURL: srv.URL, LoginID: "api", Password: "pw-1", Location: s.loc})
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]int{}
	chargebacks, refundsWithParent, withClient := 0, 0, 0
	q := konnektive.Query{StartDate: crm.Date{Year: 2025, Month: 1, Day: 1}, EndDate: crm.Date{Year: 2026, Month: 12, Day: 31}}
	err = c.Walk(context.Background(), konnektive.Transactions, q, func(p konnektive.Page) error {
		for i, tx := range p.Transactions {
			resp[tx.ResponseType]++
			if tx.Chargedback && tx.ChargebackAmt > 0 && !tx.ChargebackDay.IsZero() {
				chargebacks++
			}
			if tx.TxnType == crm.TxnRefund && tx.ParentID != "" {
				refundsWithParent++
			}
			if strings.Contains(string(p.Raw[i]), `"clientOrderId":"`) && !strings.Contains(string(p.Raw[i]), `"clientOrderId":""`) {
				withClient++
			}
			if !strings.HasPrefix(tx.ID, "50") || !strings.HasPrefix(tx.CustomerID, "70") {
				return fmt.Errorf("ids not Konnektive's: %s %s", tx.ID, tx.CustomerID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp[crm.RespDecline] != 0 || resp[crm.RespHardDecline] == 0 || resp[crm.RespSoftDecline] == 0 {
		t.Errorf("responses %v: DECLINE must become HARD_ and SOFT_DECLINE", resp)
	}
	if chargebacks != st.Chargebacks || refundsWithParent == 0 || withClient != st.Transactions {
		t.Errorf("chargebacks %d (want %d), refunds with parent %d, clientOrderId on %d of %d", chargebacks, st.Chargebacks, refundsWithParent, withClient, st.Transactions)
	}
}

func TestImportFaultsAreDeterministic(t *testing.T) {
	_, a, _ := importFixture(t, true)
	_, b, _ := importFixture(t, true)
	if !reflect.DeepEqual(a.Faults, b.Faults) {
		t.Fatalf("faults differ:\n%v\n%v", a.Faults, b.Faults)
	}
	kinds := map[string]string{}
	for _, f := range a.Faults {
		if prev, ok := kinds[f.Kind]; ok && prev != f.CustomerID {
			t.Errorf("fault %s on two customers", f.Kind)
		}
		kinds[f.Kind] = f.CustomerID
	}
	seen := map[string]string{}
	for k, c := range kinds {
		if other, ok := seen[c]; ok {
			t.Errorf("faults %s and %s share customer %s", k, other, c)
		}
		seen[c] = k
	}
	if len(kinds) != 5 {
		t.Fatalf("fault kinds %v", kinds)
	}
	_, clean, _ := importFixture(t, false)
	if a.Customers != clean.Customers-1 || a.Transactions <= 0 {
		t.Errorf("missing customer: %d customers, clean %d", a.Customers, clean.Customers)
	}
}

// TestNumericOrNullLeadingZero: an id with a leading zero is still valid JSON.
func TestNumericOrNullLeadingZero(t *testing.T) {
	var w jw
	w.open()
	numericOrNull(&w, "actualOrderId", "0576490590")
	w.close()
	var v map[string]any
	if err := json.Unmarshal(w.b, &v); err != nil || v["actualOrderId"] != float64(576490590) {
		t.Fatalf("%s: %v %v", w.b, err, v)
	}
}
