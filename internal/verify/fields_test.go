package verify

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/legacy"
)

// rewrite copies the transactions file at src to a new file, letting edit
// change (or drop, returning false) each data row.
func rewrite(t *testing.T, src string, edit func(row []string, col map[string]int) bool) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(t.TempDir(), "edited.csv")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	rd, w := legacy.NewReader(in), legacy.NewWriter(out)
	var col map[string]int
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if col == nil {
			col = map[string]int{}
			for i, h := range rec.Fields {
				col[h] = i
			}
		} else if !edit(rec.Fields, col) {
			continue
		}
		if err := w.Write(rec.Fields); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestEachFieldDifference verifies edited copies of the imported file: each
// edit must be reported at its customer and field, and nothing else.
func TestEachFieldDifference(t *testing.T) {
	paths := legacyFiles(t, 120, 7)
	c, _, _ := importServer(t, paths[:1], false)
	// The customer edited: the first with a successful sale, an active
	// subscription and at least two rows.
	var target string
	{
		counts, active, sale := map[string]int{}, map[string]bool{}, map[string]bool{}
		rewrite(t, paths[0], func(r []string, col map[string]int) bool {
			id := r[col[legacy.FCustomerID]]
			counts[id]++
			if r[col[legacy.FIsActiveRecurring]] == "1" {
				active[id] = true
			}
			if r[col[legacy.FTxnType]] == "SALE" && r[col[legacy.FResponseType]] == "SUCCESS" && r[col[legacy.FIsChargedback]] != "1" {
				sale[id] = true
			}
			if target == "" && counts[id] >= 2 && active[id] && sale[id] {
				target = id
			}
			return true
		})
	}
	if target == "" {
		t.Fatal("no customer fits")
	}
	// once edits the target's first successful, not charged back sale.
	once := func(f func(r []string, col map[string]int)) func([]string, map[string]int) bool {
		done := false
		return func(r []string, col map[string]int) bool {
			if !done && r[col[legacy.FCustomerID]] == target && r[col[legacy.FTxnType]] == "SALE" && r[col[legacy.FResponseType]] == "SUCCESS" && r[col[legacy.FIsChargedback]] != "1" {
				done = true
				f(r, col)
			}
			return true
		}
	}
	all := func(f func(r []string, col map[string]int)) func([]string, map[string]int) bool {
		return func(r []string, col map[string]int) bool {
			if r[col[legacy.FCustomerID]] == target {
				f(r, col)
			}
			return true
		}
	}
	set := func(name, v string) func(r []string, col map[string]int) {
		return func(r []string, col map[string]int) { r[col[name]] = v }
	}
	tests := []struct {
		name   string
		edit   func([]string, map[string]int) bool
		fields []string
	}{
		{"first name", all(set(legacy.FFirstName, "Zelda")), []string{"firstName"}},
		{"email", all(set(legacy.FEmailAddress, "someone.else@example.com")), []string{"emailAddress"}},
		{"phone", all(set(legacy.FPhoneNumber, "5550001111")), []string{"phoneNumber"}},
		{"address", all(set(legacy.FAddress1, "1 Elsewhere Rd")), []string{"address1", "shipAddress1"}},
		{"postal code", all(set(legacy.FPostalCode, "00001")), []string{"postalCode", "shipPostalCode"}},
		{"amount", once(set(legacy.FTotalAmount, "1234.56")), []string{"totalAmount"}},
		{"txn type", once(set(legacy.FTxnType, "AUTHORIZE")), []string{"txnType"}},
		{"response", once(set(legacy.FResponseType, "DECLINE")), []string{"responseType"}},
		{"time", once(func(r []string, col map[string]int) {
			tm, _ := time.Parse("2006-01-02 15:04:05", r[col[legacy.FDateCreated]])
			r[col[legacy.FDateCreated]] = tm.Add(time.Hour).Format("2006-01-02 15:04:05")
		}), []string{"dateCreated"}},
		{"chargeback", once(func(r []string, col map[string]int) {
			r[col[legacy.FIsChargedback]] = "1"
			r[col[legacy.FChargebackTotal]] = r[col[legacy.FTotalAmount]]
			r[col[legacy.FChargebackDate]] = "2026-01-02"
			r[col[legacy.FChargebackReason]] = "10.4"
		}), []string{"isChargedback"}},
		{"order id", once(set(legacy.FOrderID, "NEWORDER1")), []string{"order", "orderId"}},
		{"merchantTxnId", once(set(legacy.FMerchantTxnID, "not-imported-1")), []string{"transaction"}},
		{"next bill date", all(func(r []string, col map[string]int) {
			if r[col[legacy.FIsActiveRecurring]] == "1" {
				r[col[legacy.FNextBillDate]] = "2030-01-01"
			}
		}), []string{"nextBillDate"}},
		{"row not in file", once(func(r []string, col map[string]int) { r[col[legacy.FCustomerID]] = "drop" }), []string{"order", "transaction"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edit := tc.edit
			if tc.name == "row not in file" {
				edit = func(r []string, col map[string]int) bool {
					tc.edit(r, col)
					return r[col[legacy.FCustomerID]] != "drop"
				}
			}
			file := rewrite(t, paths[0], edit)
			rep, err := Run(context.Background(), legacy.FileInputs([]string{file}), Options{API: c, Location: ny})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cr := range rep.Customers {
				if cr.CustomerID != target {
					t.Errorf("difference at customer %s, edited %s: %+v", cr.CustomerID, target, cr.Differences)
					continue
				}
				seen := map[string]bool{}
				for _, d := range cr.Differences {
					if !seen[d.Field] {
						seen[d.Field] = true
						got = append(got, d.Field)
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields %v, want %v; customers %+v", got, tc.fields, rep.Customers)
			}
			if rep.OK {
				t.Fatal("verdict OK with a difference")
			}
		})
	}
}
