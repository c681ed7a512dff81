package preview

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

var asOf = crm.Date{Year: 2026, Month: 11, Day: 21}

// expected computes the preview from synth's in-memory customers, not from
// the CSV files the preview reads. It writes those files too, into dir,
// after spoiling some customers' payment data: every 7th card expires in
// January 2026, every 11th is masked without a token.
func expected(t *testing.T, opts synth.Options, dir string) *Report {
	t.Helper()
	want := &Report{AsOf: asOf.String()}
	files := map[legacy.Kind]*bytes.Buffer{}
	writers := map[legacy.Kind]*legacy.Writer{}
	for _, k := range legacy.Kinds {
		files[k] = &bytes.Buffer{}
		writers[k] = legacy.NewWriter(files[k])
		writers[k].Write(legacy.SpecFor(k).Header())
	}
	orders := map[string]bool{}
	types := map[[2]string]*TypeCount{}
	week, product, merchant := map[string]int{}, map[string]int{}, map[string]int{}
	asOfT := time.Date(asOf.Year, asOf.Month, asOf.Day, 0, 0, 0, 0, time.UTC)
	err := synth.Generate(context.Background(), opts, func(c *synth.Customer) error {
		if len(c.Transactions) == 0 {
			return nil // leads are not in the files
		}
		if p := &c.Payment; p.Source == legacy.ValueCreditCard {
			switch {
			case c.Index%7 == 0:
				p.ExpiryMonth, p.ExpiryYear = 1, 2026
			case c.Index%11 == 0:
				p.CardNumber, p.ExternalToken = "xxxxxxxxxxxx"+p.Last4(), ""
			}
		}
		for _, r := range c.LegacyTransactionRows() {
			writers[legacy.Transactions].Write(r)
		}
		for _, r := range c.LegacyNotes() {
			writers[legacy.Notes].Write(r)
		}
		if r := c.LegacyDetails(); r != nil {
			writers[legacy.Details].Write(r)
		}
		want.Customers++
		want.Notes += len(c.Notes)
		if c.Details != nil {
			want.Details++
		}
		for i := range c.Transactions {
			tr := &c.Transactions[i]
			want.Transactions++
			orders[tr.OrderID] = true
			resp := legacy.ValueDecline
			if tr.ResponseType == crm.RespSuccess {
				resp = legacy.ValueSuccess
			}
			k := [2]string{tr.TxnType, resp}
			if types[k] == nil {
				types[k] = &TypeCount{TxnType: k[0], Response: k[1]}
			}
			types[k].Count++
			types[k].Amount += tr.Amount
			switch {
			case tr.IsSale():
				want.Totals.Sales += tr.Amount
			case tr.IsRefund():
				want.Totals.Refunds += tr.Amount
			case tr.IsDecline():
				want.Totals.Declined += tr.Amount
			}
			if tr.Chargedback {
				want.Totals.Chargebacks += tr.ChargebackAmt
			}
		}
		for _, pu := range c.Purchases {
			if !c.LegacySubscription(pu.ID) { // ACTIVE, with a successful charge to carry it
				continue
			}
			want.ActiveSubscriptions++
			next := pu.NextBillDate.In(time.UTC)
			week[next.AddDate(0, 0, -((int(next.Weekday())+6)%7)).Format("2006-01-02")]++
			product[pu.ProductID]++
			merchant[pu.MerchantID]++
			s := Subscription{CustomerID: c.ID, CampaignID: pu.CampaignID, ProductID: pu.ProductID, NextBillDate: pu.NextBillDate.String()}
			p := c.Payment
			maskedNoToken := strings.HasPrefix(p.CardNumber, "x") && p.ExternalToken == ""
			if p.Source == legacy.ValueCreditCard && (maskedNoToken || p.ExpiryYear < pu.NextBillDate.Year || p.ExpiryYear == pu.NextBillDate.Year && p.ExpiryMonth < int(pu.NextBillDate.Month)) {
				want.WontRebill = append(want.WontRebill, s)
			}
			if next.Sub(asOfT) <= 72*time.Hour {
				want.DueSoon = append(want.DueSoon, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range legacy.Kinds {
		writers[k].Flush()
		if err := os.WriteFile(filepath.Join(dir, k.FileName()), files[k].Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want.Orders = len(orders)
	for _, tc := range types {
		tc.Total = tc.Amount.String()
		want.ByType = append(want.ByType, *tc)
	}
	want.ByWeek, want.ByProduct, want.ByMerchant = buckets(week), buckets(product), buckets(merchant)
	return want
}

func TestPreviewMatchesGenerator(t *testing.T) {
	for _, seed := range []uint64{1, 2, 7} {
		opts := synth.Options{Customers: 600, Seed: seed, AsOf: asOf}
		dir := t.TempDir()
		want := expected(t, opts, dir)
		var paths []string
		for _, k := range legacy.Kinds {
			paths = append(paths, filepath.Join(dir, k.FileName()))
		}
		got, err := Preview(context.Background(), legacy.FileInputs(paths), Options{AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		eq := func(what string, a, b any) {
			if !reflect.DeepEqual(a, b) {
				t.Errorf("seed %d %s:\n got %+v\nwant %+v", seed, what, a, b)
			}
		}
		eq("customers", got.Customers, want.Customers)
		eq("orders", got.Orders, want.Orders)
		eq("transactions", got.Transactions, want.Transactions)
		eq("notes", got.Notes, want.Notes)
		eq("details", got.Details, want.Details)
		sortTypes(want.ByType)
		eq("by type", got.ByType, want.ByType)
		eq("totals", got.Totals, want.Totals)
		eq("active", got.ActiveSubscriptions, want.ActiveSubscriptions)
		eq("by week", got.ByWeek, want.ByWeek)
		eq("by product", got.ByProduct, want.ByProduct)
		eq("by merchant", got.ByMerchant, want.ByMerchant)
		eq("won't rebill", customers(got.WontRebill), customers(sorted(want.WontRebill)))
		eq("due soon", customers(got.DueSoon), customers(sorted(want.DueSoon)))
		t.Logf("seed %d: %d active, %d won't rebill, %d due, %d chargebacks", seed, got.ActiveSubscriptions, len(got.WontRebill), len(got.DueSoon), got.Totals.Chargebacks)
		if got.ActiveSubscriptions == 0 || got.Totals.Sales == 0 || len(got.DueSoon) == 0 || len(got.WontRebill) == 0 {
			t.Fatalf("seed %d: nothing to compare: %+v", seed, got)
		}
	}
}

func sortTypes(l []TypeCount) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && (l[j].TxnType < l[j-1].TxnType || l[j].TxnType == l[j-1].TxnType && l[j].Response < l[j-1].Response); j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func sorted(l []Subscription) []Subscription {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].CustomerID+"/"+l[j].ProductID < l[j-1].CustomerID+"/"+l[j-1].ProductID; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
	return l
}

func customers(l []Subscription) []string {
	out := []string{}
	for _, s := range l {
		out = append(out, s.CustomerID+"/"+s.CampaignID+"/"+s.ProductID+"@"+s.NextBillDate)
	}
	return out
}

// TestRebillReadiness: each reason a subscription cannot rebill, and the
// 72-hour window, on hand-made rows.
func TestRebillReadiness(t *testing.T) {
	spec := legacy.SpecFor(legacy.Transactions)
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	w.Write(spec.Header())
	add := func(cust, pay, card, token, month, year, next, created string) {
		r := make([]string, len(spec.Columns))
		set := func(f, v string) { r[spec.Index(f)] = v }
		set(legacy.FCustomerID, cust)
		set(legacy.FOrderID, "O"+cust)
		set(legacy.FCampaignID, "1")
		set(legacy.FProductID, "2")
		set(legacy.FMerchantID, "3")
		set(legacy.FTxnType, legacy.ValueSale)
		set(legacy.FResponseType, legacy.ValueSuccess)
		set(legacy.FTotalAmount, "10.00")
		set(legacy.FIsActiveRecurring, "1")
		set(legacy.FPaySource, pay)
		set(legacy.FCardNumber, card)
		set(legacy.FExternalToken, token)
		set(legacy.FCardExpiryMonth, month)
		set(legacy.FCardExpiryYear, year)
		set(legacy.FNextBillDate, next)
		set(legacy.FDateCreated, created)
		w.Write(r)
	}
	full := strings.Repeat("4", 15) + "1" // shape only; the preview never checks Luhn
	add("A-ok", legacy.ValueCreditCard, full, "", "12", "2030", "2026-12-20", "2026-11-01 00:00:00")
	add("B-expired", legacy.ValueCreditCard, full, "", "11", "2026", "2026-12-20", "2026-11-01 00:00:00")
	add("C-masked", legacy.ValueCreditCard, "xxxxxxxxxxxx1111", "", "12", "2030", "2026-12-20", "2026-11-01 00:00:00")
	add("D-token", legacy.ValueCreditCard, "xxxxxxxxxxxx1111", "tok_1", "12", "2030", "2026-12-20", "2026-11-01 00:00:00")
	add("E-nothing", legacy.ValueCreditCard, "", "", "", "", "2026-12-20", "2026-11-01 00:00:00")
	add("F-due", legacy.ValueCreditCard, full, "", "12", "2030", "2026-11-24", "2026-11-01 00:00:00")
	add("G-later", legacy.ValueCreditCard, full, "", "12", "2030", "2026-11-25", "2026-11-01 00:00:00")
	add("H-overdue", legacy.ValueCreditCard, full, "", "12", "2030", "2026-11-20", "2026-11-01 00:00:00")
	// Two rows of one subscription: the later row's card counts.
	add("I-renewed", legacy.ValueCreditCard, full, "", "01", "2026", "2026-12-20", "2026-10-01 00:00:00")
	add("I-renewed", legacy.ValueCreditCard, full, "", "01", "2029", "2026-12-20", "2026-11-01 00:00:00")
	w.Flush()
	in := []Input{{Name: "t.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil }}}
	rep, err := Preview(context.Background(), in, Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	var wont, due []string
	for _, s := range rep.WontRebill {
		wont = append(wont, s.CustomerID)
	}
	for _, s := range rep.DueSoon {
		due = append(due, s.CustomerID)
	}
	if !reflect.DeepEqual(wont, []string{"B-expired", "C-masked", "E-nothing"}) {
		t.Errorf("won't rebill %v", wont)
	}
	if !reflect.DeepEqual(due, []string{"F-due", "H-overdue"}) {
		t.Errorf("due %v", due)
	}
	if rep.ActiveSubscriptions != 9 || rep.Transactions != 10 || rep.Totals.Sales != 10000 {
		t.Errorf("counts %+v", rep)
	}
	var text, js bytes.Buffer
	WriteText(&text, rep, -1)
	WriteJSON(&js, rep)
	for _, out := range []string{text.String(), js.String()} {
		if strings.Contains(out, full) || strings.Contains(out, "tok_1") {
			t.Fatal("the preview prints a card number or token")
		}
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["totals"].(map[string]any)["sales"] != "100.00" {
		t.Fatalf("json (%v): %s", err, js.String())
	}
}

// TestBilledTwice: customers whose active subscriptions share an email
// address (in any case) or a phone number with an earlier customer's are
// listed with both customer ids, in text and JSON; inactive rows, declines
// and placeholder phone numbers are not.
func TestBilledTwice(t *testing.T) {
	spec := legacy.SpecFor(legacy.Transactions)
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	w.Write(spec.Header())
	n := 0
	add := func(cust, email, phone, active, typ, resp string) {
		n++
		r := make([]string, len(spec.Columns))
		set := func(f, v string) { r[spec.Index(f)] = v }
		set(legacy.FCustomerID, cust)
		set(legacy.FOrderID, "O"+cust)
		set(legacy.FMerchantTxnID, fmt.Sprint("T", n))
		set(legacy.FCampaignID, "1")
		set(legacy.FProductID, "2")
		set(legacy.FMerchantID, "3")
		set(legacy.FTxnType, typ)
		set(legacy.FResponseType, resp)
		set(legacy.FTotalAmount, "10.00")
		set(legacy.FIsActiveRecurring, active)
		set(legacy.FPaySource, legacy.ValuePrepaid)
		set(legacy.FNextBillDate, "2026-12-20")
		set(legacy.FDateCreated, "2026-11-01 00:00:00")
		set(legacy.FEmailAddress, email)
		set(legacy.FPhoneNumber, phone)
		w.Write(r)
	}
	ok := legacy.ValueSuccess
	add("A", "ann@example.com", "5125550101", "1", legacy.ValueSale, ok)
	add("B", "ANN@Example.com", "5125550102", "1", legacy.ValueSale, ok)                  // same email
	add("C", "cy@example.com", "5125550101", "1", legacy.ValueCapture, ok)                // same phone
	add("D", "ann@example.com", "5125550101", "1", legacy.ValueSale, ok)                  // both
	add("E", "ann@example.com", "5125550101", "0", legacy.ValueSale, ok)                  // no subscription
	add("F", "ann@example.com", "5125550101", "1", legacy.ValueSale, legacy.ValueDecline) // not a charge
	add("G", "g@example.com", "1111111111", "1", legacy.ValueSale, ok)
	add("H", "h@example.com", "1111111111", "1", legacy.ValueSale, ok) // a placeholder
	add("A", "ann@example.com", "5125550101", "1", legacy.ValueSale, ok)
	w.Flush()
	in := []Input{{Name: "t.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil }}}
	rep, err := Preview(context.Background(), in, Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	want := []Twin{{"B", "A", "email"}, {"C", "A", "phone"}, {"D", "A", "email and phone"}}
	if !reflect.DeepEqual(rep.BilledTwice, want) {
		t.Fatalf("billed twice %+v, want %+v", rep.BilledTwice, want)
	}
	var text, js bytes.Buffer
	WriteText(&text, rep, -1)
	WriteJSON(&js, rep)
	if !strings.Contains(text.String(), "billed twice") || !regexp.MustCompile(`customer B +and customer A +same email`).MatchString(text.String()) {
		t.Errorf("text:\n%s", text.String())
	}
	var back struct {
		BilledTwice []Twin `json:"billedTwice"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || !reflect.DeepEqual(back.BilledTwice, want) {
		t.Errorf("json (%v): %s", err, js.String())
	}
	if strings.Contains(text.String()+js.String(), "ann@example.com") {
		t.Error("the preview prints an email address")
	}
}
