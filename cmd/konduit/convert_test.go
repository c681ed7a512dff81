package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// convertTestCard makes a Luhn-valid card number at run time.
func convertTestCard(rng *rand.Rand) string {
	b := []byte("4")
	for len(b) < 15 {
		b = append(b, byte('0'+rng.IntN(10)))
	}
	for c := byte('0'); c <= '9'; c++ {
		n := string(append(b, c))
		sum := 0
		for i := len(n) - 1; i >= 0; i-- {
			d := int(n[i] - '0')
			if (len(n)-1-i)%2 == 1 {
				if d *= 2; d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		if sum%10 == 0 {
			return n
		}
	}
	panic("unreachable")
}

const convertTestMapping = `timezone: America/Chicago
source_timezone: UTC
sources:
  orders: {file: "orders*.csv"}
  cards: {file: "cards*"}
maps:
  plans:
    GOLD: {campaignId: "5", productId: "51"}
    SILVER: {campaignId: "5", productId: "52"}
transactions:
  from: orders
  join:
    - {source: cards, key: cust, on: customer, required: true}
  columns:
    customerId: customer
    orderId: order
    dateCreated: {column: placed, format: datetime, layouts: ["MM/DD/YYYY hh:mm A"]}
    campaignId: {column: plan, map: plans}
    productId: {column: plan, map: plans}
    isActiveRecurring: {const: "0"}
    paySource: {const: CREDITCARD}
    cardNumber: {column: cards.pan, format: card}
    cardExpiryMonth: {column: cards.exp, format: expiry_month}
    cardExpiryYear: {column: cards.exp, format: expiry_year}
    merchantId: {const: "9"}
    merchantTxnId: txn
    txnType: {const: SALE}
    subTotal: {column: total, format: amount, minus: [tax]}
    shipTotal: {const: "0.00"}
    salesTax: {column: tax, format: amount}
    totalAmount: {column: total, format: amount}
    responseType: {column: result, map: {ok: SUCCESS, no: DECLINE}}
    responseText: {column: result, map: {ok: SUCCESS, no: DECLINE}}
    firstName: {column: full name, format: first_name}
    lastName: {column: full name, format: last_name}
    address1: street
    address2: {const: ""}
    city: city
    state: state
    country: {const: US}
    postalCode: zip
    phoneNumber: {column: phone, format: phone, dummy: "1111111111"}
    emailAddress: email
    billShipSame: {const: "1"}
`

// convertFixture writes orders.csv and cards.csv (with a CVV column) and
// returns the dir, the card numbers and the CVV values.
func convertFixture(t *testing.T, n int) (dir string, cards, cvvs []string) {
	t.Helper()
	dir = t.TempDir()
	rng := rand.New(rand.NewPCG(9, 9))
	var o, c strings.Builder
	o.WriteString("order,customer,placed,plan,total,tax,result,txn,full name,street,city,state,zip,phone,email\n")
	c.WriteString("cust,pan,exp,cvv\n")
	for i := 0; i < n; i++ {
		card := convertTestCard(rng)
		cvv := fmt.Sprintf("%04d", 7000+i)
		if i%6 == 5 {
			cvv = "" // an empty cell discards nothing
		} else {
			cvvs = append(cvvs, cvv)
		}
		cards = append(cards, card)
		fmt.Fprintf(&c, "C%d,%s,%02d/31,%s\n", i, card, 1+i%12, cvv)
		phone := "(555) 111-2222"
		if i%2 == 1 {
			phone = ""
		}
		fmt.Fprintf(&o, "O%d,C%d,03/%02d/2025 0%d:15 PM,%s,\"$1,%03d.50\",1.50,%s,T%d,Pat Smith %d,1 Main St,Austin,TX,78701,%s,pat%d@example.com\n",
			i, i, 1+i%28, 1+i%9, []string{"GOLD", "SILVER"}[i%2], i, []string{"ok", "no"}[i%3/2], i, i, phone, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "orders.csv"), []byte(o.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cards.csv"), []byte(c.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "map.yaml"), []byte(convertTestMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cards, cvvs
}

func assertNoSecrets(t *testing.T, r cliResult, cards, cvvs []string) {
	t.Helper()
	for _, s := range append(append([]string{}, cards...), cvvs...) {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Fatalf("a card number or CVV value reached the output")
		}
	}
}

func TestConvertCLIWritesAndValidates(t *testing.T) {
	dir, cards, cvvs := convertFixture(t, 30)
	// -o names a directory that does not exist yet: convert creates it.
	r := runCLI(t, dir, nil, "convert", "--map", "map.yaml", "orders.csv", "cards.csv", "-o", "out", "--provenance", "prov.csv", "--as-of", "2025-06-01")
	if r.code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"dropped CVV-like columns on read: cvv", "CVV-like values discarded: 25", "phoneNumber", "dummy",
		"wrote out/legacy_transactions.csv: 30 rows", "validated 1 file(s): 0 error(s)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoSecrets(t, r, cards, cvvs)
	out, err := os.ReadFile(filepath.Join(dir, "out", "legacy_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range cvvs {
		if strings.Contains(string(out), `"`+v+`"`) {
			t.Fatal("a CVV value reached the import file")
		}
	}
	// 03/01/2025 01:15 PM UTC is 07:15 in Chicago (CST).
	if !strings.Contains(string(out), `"2025-03-01 07:15:00"`) {
		t.Errorf("dateCreated not converted to the account zone:\n%.400s", out)
	}
	// "$1,000.50" with tax 1.50: subTotal is what remains, exactly.
	if !strings.Contains(string(out), `"999.00","0.00","1.50","1000.50"`) {
		t.Errorf("amounts not exact:\n%.600s", out)
	}
	prov, err := os.ReadFile(filepath.Join(dir, "prov.csv"))
	if err != nil || !strings.Contains(string(prov), `"legacy_transactions.csv","2","orders.csv","2"`) {
		t.Errorf("provenance file: %v\n%.200s", err, prov)
	}
}

// TestConvertCLIFindingsPointAtSource: a mapping that converts but makes
// files the validator rejects; each finding names the source row.
func TestConvertCLIFindingsPointAtSource(t *testing.T) {
	dir, cards, cvvs := convertFixture(t, 5)
	m := strings.Replace(convertTestMapping, "totalAmount: {column: total, format: amount}", `totalAmount: {const: "1.00"}`, 1)
	if err := os.WriteFile(filepath.Join(dir, "map.yaml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	r := runCLI(t, dir, nil, "convert", "--map", "map.yaml", "orders.csv", "cards.csv", "-o", "out")
	if r.code != exitDataErrors {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "(totalAmount)") || !strings.Contains(r.stdout, "<- orders.csv row 4") {
		t.Errorf("findings do not point at the source:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`transactions\s+totalAmount\s+constant\s+5\n`).MatchString(r.stdout) {
		t.Errorf("the invented totalAmount constants are not counted:\n%s", r.stdout)
	}
	assertNoSecrets(t, r, cards, cvvs)
}

func TestConvertCLIProblemsWriteNothing(t *testing.T) {
	dir, cards, cvvs := convertFixture(t, 6)
	m := strings.Replace(convertTestMapping, `    SILVER: {campaignId: "5", productId: "52"}`+"\n", "", 1)
	m = strings.Replace(m, "city: city", "city: town", 1)
	os.WriteFile(filepath.Join(dir, "map.yaml"), []byte(m), 0o644)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	r := runCLI(t, dir, nil, "convert", "--map", "map.yaml", "orders.csv", "cards.csv", "-o", "out")
	if r.code != exitDataErrors {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`orders.csv row 3 column "plan" -> transactions.campaignId: value "SILVER" is not in map plans [not-in-map]`,
		`orders.csv row 1 column "town" -> transactions.city: the mapping names column "town"`,
		"no import file was written",
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "out")); len(ents) != 0 {
		t.Errorf("files written: %v", ents)
	}
	assertNoSecrets(t, r, cards, cvvs)
}

func TestConvertCLIInit(t *testing.T) {
	dir, cards, cvvs := convertFixture(t, 20)
	r := runCLI(t, dir, nil, "convert", "--init", "orders.csv", "cards.csv", "-o", "start.yaml")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "start.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		`emailAddress: "email"   # REVIEW`, `cardNumber: {column: "cards.pan", format: card}   # REVIEW`,
		`dateCreated: {column: "placed", format: datetime, layouts: ["MM/DD/YYYY hh:mm A"]}   # REVIEW`,
		`{source: cards, key: "cust", on: "customer"`, `"GOLD": {campaignId: null, productId: null}   # REVIEW`,
		`phoneNumber: {column: "phone", format: phone, dummy: "1111111111"}`, `firstName: {column: "full name", format: first_name}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("mapping lacks %q:\n%s", want, text)
		}
	}
	for _, s := range append(append([]string{}, cards...), cvvs...) {
		if strings.Contains(text, s) {
			t.Fatal("a card number or CVV value reached the mapping")
		}
	}
	if strings.Contains(text, "example.com") {
		t.Error("an email address reached the mapping")
	}
	// Unreviewed, it must not convert.
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	r = runCLI(t, dir, nil, "convert", "--map", "start.yaml", "orders.csv", "cards.csv", "-o", "out")
	if r.code == exitOK {
		t.Fatalf("an unreviewed mapping converted:\n%s", r.stdout)
	}
	// --init refuses to overwrite.
	r = runCLI(t, dir, nil, "convert", "--init", "orders.csv", "-o", "start.yaml")
	if r.code != exitUsage || !strings.Contains(r.stderr, "exists") {
		t.Errorf("overwrite: exit %d %s", r.code, r.stderr)
	}
}

func TestConvertCLIUsage(t *testing.T) {
	dir, _, _ := convertFixture(t, 1)
	for _, args := range [][]string{
		{"convert", "orders.csv", "-o", "."},
		{"convert", "--map", "map.yaml", "orders.csv"},
		{"convert", "--map", "map.yaml", "orders.csv", "-o", "nope"},
		{"convert", "--preset", "nope", "orders.csv", "-o", "."},
	} {
		if r := runCLI(t, dir, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}

// TestConvertCLIPresetNeedsTheMerchantsPart: a preset alone names the
// columns the merchant must add; with them in a --map file it converts.
func TestConvertCLIPresetNeedsTheMerchantsPart(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 4))
	pay := "id,Description,Created (UTC),Amount,Currency,Converted Amount,Fee,Tax,Converted Currency,Customer ID\n" +
		"ch_3Mxyz00000000000000000001,Sub,2025-05-01 10:00,29.99,usd,29.99,1.17,,usd,cus_A\n"
	cards := "description,name,email,id,card.address_city,card.address_country,card.address_line1,card.address_line2,card.address_state,card.address_zip,card.exp_month,card.exp_year,card.id,card.name,card.number,default_source,card.transaction_ids\n" +
		",Jane Doe,jane@example.com,cus_A,Anytown,US,101 1st Ave,,CA,90210,9,2031,card_1,Jane Doe," + convertTestCard(rng) + ",card_1,\n"
	os.WriteFile(filepath.Join(dir, "payments.csv"), []byte(pay), 0o644)
	os.WriteFile(filepath.Join(dir, "cards.csv"), []byte(cards), 0o644)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	os.WriteFile(filepath.Join(dir, "tz.yaml"), []byte("timezone: America/New_York\n"), 0o644)
	r := runCLI(t, dir, nil, "convert", "--preset", "stripe", "--map", "tz.yaml", "payments.csv", "cards.csv", "-o", "out")
	if r.code != exitDataErrors {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, col := range []string{"campaignId", "productId", "merchantId", "isActiveRecurring"} {
		if !strings.Contains(r.stdout, "transactions."+col+": required column "+col) {
			t.Errorf("%s not named:\n%s", col, r.stdout)
		}
	}
	mine := "timezone: America/New_York\ntransactions:\n  columns:\n    campaignId: {const: \"3\"}\n    productId: {const: \"17\"}\n    merchantId: {const: \"2\"}\n    isActiveRecurring: {const: \"0\"}\n"
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(mine), 0o644)
	r = runCLI(t, dir, nil, "convert", "--preset", "stripe", "--map", "mine.yaml", "payments.csv", "cards.csv", "-o", "out")
	if r.code != exitOK || !strings.Contains(r.stdout, "0 error(s)") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out", "legacy_transactions.csv"))
	if !strings.Contains(string(out), `"2025-05-01 06:00:00"`) || !strings.Contains(string(out), `"29.99","0.00","0.00","29.99"`) {
		t.Errorf("unexpected output:\n%s", out)
	}
}

// TestConvertCLIStickyPreset: the sticky preset from the command line, on
// an order export split in two files; refunds become REFUND rows (a union),
// the chargeback is marked, and a bad expiry is reported against the file
// and row that hold it.
func TestConvertCLIStickyPreset(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 4))
	hdr := "order_id,customer_id,acquisition_date,order_status,billing_fname,billing_lname,billing_address1,billing_address2,billing_city,billing_state,billing_zip,billing_country,shipping_address1,shipping_address2,shipping_city,shipping_state,shipping_zip,shipping_country,email,phone,cc_number,cc_expires,order_total,order_sales_tax_amount,shipping_amount,transaction_id,auth_id,is_recurring,recurringDate,amountRefundedSoFar,is_chargeback,chargeback_date,tracking_number\n"
	var cards []string
	row := func(i int, status, exp, refunded, cb string) string {
		card := convertTestCard(rng)
		cards = append(cards, card)
		rec, next := "0", ""
		if i == 1 {
			rec, next = "1", "2027-02-01"
		}
		cbDate := ""
		if cb == "1" {
			cbDate = "2026-02-20"
		}
		return fmt.Sprintf("%d,C%d,2026-01-%02d 10:00:00,%s,Ana,Lee,1 Main St,,Austin,Texas,78701,US,,,,,,,ana%d@example.com,555-123-4567 ext 9,%s,%s,29.95,1.00,5.00,TX%d,AU%d,%s,%s,%s,%s,%s,\n",
			100+i, i, 1+i, status, i, card, exp, i, i, rec, next, refunded, cb, cbDate)
	}
	os.WriteFile(filepath.Join(dir, "orders_1.csv"), []byte(hdr+row(1, "2", "628", "0.00", "0")+row(2, "8", "1129", "10.00", "0")), 0o644)
	os.WriteFile(filepath.Join(dir, "orders_2.csv"), []byte(hdr+row(3, "7", "1129", "0.00", "0")+row(4, "2", "1329", "0.00", "1")), 0o644)
	mine := "preset: sticky\ntimezone: America/Chicago\ntransactions:\n  columns:\n    campaignId: {const: \"3\"}\n    productId: {const: \"4\"}\n    merchantId: {const: \"5\"}\n"
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(mine), 0o644)
	r := runCLI(t, dir, nil, "convert", "--map", "mine.yaml", "orders_1.csv", "orders_2.csv", "-o", "out/new", "--as-of", "2026-06-01")
	if r.code != exitDataErrors || !strings.Contains(r.stdout, `orders_2.csv row 3 column "cc_expires" -> transactions.cardExpiryMonth: expiry_month value "1329"`) {
		t.Fatalf("exit %d: the bad expiry is not reported at orders_2.csv row 3\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoSecrets(t, r, cards, nil)
	// Fix the expiry in the export: it converts and validates.
	b, _ := os.ReadFile(filepath.Join(dir, "orders_2.csv"))
	os.WriteFile(filepath.Join(dir, "orders_2.csv"), []byte(strings.Replace(string(b), ",1329,", ",1229,", 1)), 0o644)
	r = runCLI(t, dir, nil, "convert", "--map", "mine.yaml", "orders_1.csv", "orders_2.csv", "-o", "out/new", "--as-of", "2026-06-01")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out", "new", "legacy_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"TX2-R","REFUND","10.00","0.00","0.00","10.00","SUCCESS","SUCCESS","","TX2"`, // the refund of order 102
		`"5551234567"`, // the extension dropped, not glued on
		`"TX"`,         // the state name as its code
		`"1","29.95","2026-02-20","unknown"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("import file lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(r.stdout, "wrote out/new/legacy_transactions.csv: 5 rows") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	assertNoSecrets(t, r, cards, nil)
}
