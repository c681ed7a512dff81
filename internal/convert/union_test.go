package convert

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

const unionMapping = `
timezone: UTC
sources:
  orders: {file: "orders-*.csv"}     # the shop's export, split in two files
  processor: {file: "processor.csv"} # the processor's refunds
  cards: {file: "cards.csv"}
  customers: {file: "customers.csv"}
  disputes: {file: "disputes.csv"}
transactions:
  from: orders
  join:
    - {source: customers, key: id, on: customer}
    - {source: cards, key: email, on: customers.email, ignore_case: true}   # a lookup of a lookup
    - {source: disputes, key: order, on: order}                             # one row: optional
  columns:
    customerId: customer
    orderId: order
    dateCreated: {column: placed, format: datetime, layouts: ["YYYY-MM-DD HH:mm:ss"]}
    campaignId: {const: "1"}
    productId: {const: "2"}
    isActiveRecurring: {const: "0"}
    paySource: {const: CREDITCARD}
    cardNumber: {column: cards.pan, format: card}
    cardExpiryMonth: {column: cards.exp, format: expiry_month, patch: [{pattern: '\d{3}', with: '0$0'}, {value: "x", with: "0129"}]}
    cardExpiryYear: {column: cards.exp, format: expiry_year, patch: [{pattern: '\d{3}', with: '0$0'}, {value: "x", with: "0129"}]}
    merchantId: {const: "3"}
    merchantTxnId: order
    txnType: {const: SALE}
    subTotal: {column: total, format: amount}
    shipTotal: {const: "0.00"}
    salesTax: {const: "0.00"}
    totalAmount: {column: total, format: amount}
    responseType: {const: SUCCESS}
    responseText: {const: SUCCESS}
    firstName: customers.first
    lastName: customers.last
    address1: {const: "1 Main St"}
    city: {const: "Austin"}
    state: {const: "TX"}
    country: {const: "US"}
    postalCode: {const: "78701"}
    phoneNumber: {dummy: "1111111111"}
    emailAddress: customers.email
    billShipSame: {const: "1"}
    affId: disputes.reason
  union:
    - from: processor
      join:
        - {source: customers, key: id, on: cust}
        - {source: cards, key: email, on: customers.email, ignore_case: true}
      columns:
        customerId: cust
        orderId: order
        dateCreated: {column: when, format: datetime, layouts: ["YYYY-MM-DD HH:mm:ss"]}
        merchantTxnId: {column: order, suffix: "-R"}
        txnType: {const: REFUND}
        parentTxnId: order
        subTotal: {column: amount, format: amount}
        totalAmount: {column: amount, format: amount}
        affId: null
`

// TestUnionFilesLookupsPatches: a source split in two files, a second
// driving table appended (refunds from the processor), lookups joined
// through another lookup, an optional one-row join, patched expiries, and
// one bad value in a lookup reported once against the lookup's own row.
func TestUnionFilesLookupsPatches(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 3))
	o1 := [][]string{{"order", "customer", "placed", "total"}, {"O1", "C1", "2025-01-02 10:00:00", "10.00"}, {"O2", "C2", "2025-01-03 10:00:00", "20.00"}}
	o2 := [][]string{{"Order ", "CUSTOMER", "placed", "total"}, {"O3", "C1", "2025-01-04 10:00:00", "30.00"}, {"O4", "C3", "2025-01-05 10:00:00", "40.00"}}
	proc := [][]string{{"order", "cust", "amount", "when"}, {"O2", "C2", "5.00", "2025-01-10 09:00:00"}}
	cust := [][]string{{"id", "first", "last", "email"}, {"C1", "Ana", "Lee", "ana@example.com"}, {"C2", "Bo", "Kim", "bo@example.com"}, {"C3", "Cy", "Orr", "cy@example.com"}}
	cards := [][]string{{"email", "pan", "exp"},
		{"ANA@example.com", cardNumber(rng, "4", 16), "628"},  // Excel's 06/28: patched
		{"bo@example.com", cardNumber(rng, "51", 16), "x"},    // a single value patched
		{"cy@example.com", cardNumber(rng, "4", 16), "13/40"}} // no month 13
	disputes := [][]string{{"order", "reason"}, {"O9", "4837"}}
	srcs := []string{
		writeFile(t, filepath.Join(dir, "orders-1.csv"), csvBytes(t, ',', false, o1)),
		writeFile(t, filepath.Join(dir, "orders-2.csv"), csvBytes(t, ';', false, o2)),
		writeFile(t, filepath.Join(dir, "processor.csv"), csvBytes(t, ',', false, proc)),
		writeFile(t, filepath.Join(dir, "customers.csv"), csvBytes(t, ',', false, cust)),
		writeFile(t, filepath.Join(dir, "cards.csv"), csvBytes(t, ',', false, cards)),
		writeFile(t, filepath.Join(dir, "disputes.csv"), csvBytes(t, ',', false, disputes)),
	}
	m, err := Load("union.yaml", []byte(unionMapping))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: t.TempDir()})
	var ce *ConversionError
	if !errors.As(err, &ce) {
		t.Fatalf("want the one bad expiry reported, got %v", err)
	}
	// C3's expiry is read by two columns of one driving row; the value is
	// in cards.csv row 4 and is reported there, once.
	var got []string
	for _, g := range res.Report.Problems {
		for _, p := range g.Examples {
			got = append(got, fmt.Sprintf("%s row %d %s %s", filepath.Base(p.Table), p.Row, p.Column, p.Rule))
		}
	}
	if strings.Join(got, "|") != "cards.csv row 4 exp bad-value" || res.Report.ProblemCount != 1 {
		t.Fatalf("problems %d: %v", res.Report.ProblemCount, got)
	}

	// Fix the card: everything converts and validates.
	cards[3][2] = "11/31"
	writeFile(t, srcs[4], csvBytes(t, ',', false, cards))
	res, err = Run(context.Background(), m, Options{Sources: srcs, OutDir: t.TempDir()})
	if err != nil {
		for _, g := range res.Report.Problems {
			for _, p := range g.Examples {
				t.Log(p)
			}
		}
		t.Fatal(err)
	}
	validate(t, res)
	tx := readCSV(t, res.Paths[legacy.Transactions])
	if ids := strings.Join(column(tx, "merchantTxnId"), ","); ids != "O1,O2,O3,O4,O2-R" {
		t.Errorf("rows %s", ids)
	}
	if m := strings.Join(column(tx, "cardExpiryMonth"), ","); m != "06,01,06,11,01" {
		t.Errorf("months %s", m)
	}
	if a := strings.Join(column(tx, "affId"), ","); a != ",,,," {
		t.Errorf("the optional join matched something: %s", a)
	}
	// Provenance: each row points at the file that holds it.
	for row, want := range map[int]string{2: "orders-1.csv row 2", 4: "orders-2.csv row 2", 6: "processor.csv row 2"} {
		o, ok := res.Provenance.Lookup(legacy.Transactions, row, "")
		if got := fmt.Sprintf("%s row %d", filepath.Base(o.Table), o.Row); !ok || got != want {
			t.Errorf("import row %d <- %s, want %s", row, got, want)
		}
	}
	if o, _ := res.Provenance.Lookup(legacy.Transactions, 6, "cardNumber"); filepath.Base(o.Table) != "cards.csv" || o.Row != 3 {
		t.Errorf("refund's card <- %s row %d", o.Table, o.Row)
	}
	for _, ti := range res.Report.Tables {
		if filepath.Base(ti.Name) == "orders-2.csv" && (ti.Rows != 2 || ti.Source != "orders") {
			t.Errorf("orders-2.csv: %+v", ti)
		}
	}
}
