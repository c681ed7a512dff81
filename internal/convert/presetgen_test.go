package convert

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
)

// This file tests every processor and subscription preset on an export
// generated from the vendor's published header list alone (each header
// list below is the one its preset file cites): the generator can only set
// columns of that list. The figures a migration is judged by (charged
// totals, refunds, chargebacks, active subscriptions and their next bill
// dates) are computed twice: by the test, from the generated source rows
// with the vendor's meaning of each column, and from the import file
// convert wrote. They must agree, and the import file must validate with
// no error.

// vendorTable is one generated export: only its published columns exist.
type vendorTable struct {
	t    testing.TB
	hdr  []string
	idx  map[string]int
	rows [][]string
}

func newVendorTable(t testing.TB, header string, sep string) *vendorTable {
	vt := &vendorTable{t: t, hdr: strings.Split(header, sep), idx: map[string]int{}}
	for i, h := range vt.hdr {
		vt.idx[h] = i
	}
	return vt
}

// add appends a row; kv are column, value pairs of published columns.
func (vt *vendorTable) add(kv ...string) {
	r := make([]string, len(vt.hdr))
	for i := 0; i < len(kv); i += 2 {
		j, ok := vt.idx[kv[i]]
		if !ok {
			vt.t.Fatalf("generator sets %q, which is not in the published header", kv[i])
		}
		r[j] = kv[i+1]
	}
	vt.rows = append(vt.rows, r)
}

func (vt *vendorTable) bytes(comma rune) []byte {
	return csvBytes(vt.t, comma, false, append([][]string{vt.hdr}, vt.rows...))
}

// sourceRows reads a generated file back as maps, the way the test's own
// computation sees it.
func sourceRows(t testing.TB, b []byte, comma rune) []map[string]string {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = comma
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, row := range all[1:] {
		m := map[string]string{}
		for i, h := range all[0] {
			m[h] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// cents reads "12.34" (the generators write amounts so) as cents.
func cents(t testing.TB, s string) int64 {
	if s == "" {
		return 0
	}
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return n
}

func money(c int) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

// migrationFigures are what a migration is judged by.
type migrationFigures struct {
	Sales, Refunds, ChargebackTotal int64 // cents
	Chargebacks, Active             int
	Next                            []string // "customerId|YYYY-MM-DD" of each active subscription, sorted
}

func (f *migrationFigures) sortNext() { sort.Strings(f.Next) }

// importFigures computes the figures from a written transactions file.
func importFigures(t testing.TB, rows [][]string) migrationFigures {
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var f migrationFigures
	for _, r := range rows[1:] {
		get := func(c string) string { return r[col[c]] }
		ok := get(legacy.FResponseType) == legacy.ValueSuccess
		switch get(legacy.FTxnType) {
		case legacy.ValueSale, legacy.ValueCapture:
			if ok {
				f.Sales += cents(t, get(legacy.FTotalAmount))
			}
		case legacy.ValueRefund:
			if ok {
				f.Refunds += cents(t, get(legacy.FTotalAmount))
			}
		}
		if get(legacy.FIsChargedback) == "1" {
			f.Chargebacks++
			f.ChargebackTotal += cents(t, get(legacy.FChargebackTotal))
		}
		if get(legacy.FIsActiveRecurring) == "1" {
			f.Active++
			f.Next = append(f.Next, get(legacy.FCustomerID)+"|"+get(legacy.FNextBillDate))
		}
	}
	f.sortNext()
	return f
}

// person is a synthetic customer; the card is Luhn-valid, made at run time.
type person struct {
	first, last, email, phone, street, city, state, stateName, zip string
	card, mm, yy                                                   string
	aba, account                                                   string
}

func people(rng *rand.Rand, n int) []person {
	firsts := []string{"Ana", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal"}
	lasts := []string{"Lee", "Kim", "Orr", "Diaz", "Novak", "Smith"}
	states := [][2]string{{"TX", "Texas"}, {"CA", "California"}, {"NY", "New York"}, {"MA", "Massachusetts"}}
	var out []person
	for i := 0; i < n; i++ {
		st := states[i%len(states)]
		aba := fmt.Sprintf("0110%04d", rng.IntN(10000))
		for c := byte('0'); c <= '9'; c++ {
			if cardnum.ABA(aba + string(c)) {
				aba += string(c)
				break
			}
		}
		out = append(out, person{
			first: firsts[i%len(firsts)], last: lasts[i%len(lasts)], email: fmt.Sprintf("buyer%d@example.com", i),
			phone: fmt.Sprintf("(555) %03d-%04d", 100+i, rng.IntN(10000)), street: fmt.Sprintf("%d Main St", 10+i),
			city: "Springfield", state: st[0], stateName: st[1], zip: fmt.Sprintf("%05d", 1000+rng.IntN(90000)),
			card: cardNumber(rng, []string{"4", "51"}[i%2], 16), mm: fmt.Sprintf("%02d", 1+i%12), yy: fmt.Sprint(2029 + i%3),
			aba: aba, account: fmt.Sprintf("%010d", rng.IntN(1e9)),
		})
	}
	return out
}

type presetCase struct {
	preset string
	user   string // the merchant's part, laid over the preset
	// gen writes the export into dir and returns the files, and the figures
	// the test computes from the generated source rows.
	gen func(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures)
}

const accountPart = `
timezone: America/New_York
transactions:
  columns:
    campaignId: {const: "3"}
    productId: {const: "17"}
    merchantId: {const: "2"}
`

// nmiTxHeader and nmiVaultHeader: NMI's Query API field names (see
// presets/nmi.yaml).
const nmiTxHeader = "transaction_id,partial_payment_id,partial_payment_balance,platform_id,transaction_type,condition,order_id,authorization_code,ponumber,order_description,first_name,last_name,address_1,address_2,company,city,state,postal_code,country,email,phone,fax,cell_phone,customertaxid,customerid,website,shipping_first_name,shipping_last_name,shipping_address_1,shipping_address_2,shipping_company,shipping_city,shipping_state,shipping_postal_code,shipping_country,shipping_email,shipping_carrier,tracking_number,shipping_date,shipping,shipping_phone,cc_number,cc_hash,cc_exp,cavv,cavv_result,xid,eci,avs_response,csc_response,cardholder_auth,cc_start_date,cc_issue_number,check_account,check_hash,check_aba,check_name,account_holder_type,account_type,sec_code,drivers_license_number,drivers_license_state,drivers_license_dob,social_security_number,processor_id,tax,currency,surcharge,tip,cc_bin,cc_type,customer_vault_id,original_transaction_id,amount,action_type,date,success,ip_address,source,username,response_text,batch_id,processor_batch_id,response_code,processor_response_text,processor_response_code"

const nmiVaultHeader = "customer_vault_id,first_name,last_name,address_1,address_2,company,city,state,postal_code,country,email,phone,fax,cell_phone,customertaxid,website,shipping_first_name,shipping_last_name,shipping_address_1,shipping_address_2,shipping_company,shipping_city,shipping_state,shipping_postal_code,shipping_country,shipping_email,cc_number,cc_exp,cc_issue_number,check_account,check_aba,check_name,account_holder_type,account_type,sec_code,processor_id,cc_bin,created,updated"

const anetTxHeader = "Transaction ID\tTransaction Status\tSettlement Amount\tSettlement Currency\tSettlement Date/Time\tAuthorization Amount\tAuthorization Currency\tSubmit Date/Time\tAuthorization Code\tReference Transaction ID\tTransaction Type\tAddress Verification Status\tCard Code Status\tFraudscreen Applied\tRecurring Billing Transaction\tPartial Capture Status\tCard Number\tExpiration Date\tBank Account Number\tRouting Number\tTotal Amount\tCurrency\tInvoice Number\tInvoice Description\tCustomer First Name\tCustomer Last Name\tCompany\tAddress\tCity\tState\tZIP\tCountry\tPhone\tFax\tEmail\tCustomer ID\tShip-To First Name\tShip-To Last Name\tShip-To Company\tShip-To Address\tShip-To City\tShip-To State\tShip-To ZIP\tShip-To Country\tL2 - Tax\tL2 - Freight\tL2 - Duty\tL2 - Tax Exempt\tL2 - Purchase Order Number\tCustomer Profile ID\tPayment Profile ID"

const anetCIMHeader = "Customer Profile ID\tMerchant Customer ID\tDescription\tEmail\tPayment Profile ID\tCard Number\tExpiration Date\tBank Account Type\tRouting Number\tAccount Number\tName On Account\tFirst Name\tLast Name\tCompany\tAddress\tCity\tState\tZip\tCountry\tPhone\tFax"

const rechargeSubsHeader = "id,address_id,customer_id,analytics_data,cancellation_reason,cancellation_reason_comments,cancelled_at,charge_interval_frequency,created_at,expire_after_specific_number_of_charges,external_product_id,external_variant_id,has_queued_charges,is_prepaid,is_skippable,is_swappable,max_retries_reached,next_charge_scheduled_at,order_day_of_month,order_day_of_week,order_interval_frequency,order_interval_unit,presentment_currency,price,product_title,properties,quantity,sku,sku_override,status,updated_at,variant_title"

const rechargeCustomersHeader = "id,analytics_data,created_at,email,external_customer_id,first_charge_processed_at,first_name,has_payment_method_in_dunning,has_valid_payment_method,hash,last_name,phone,subscriptions_active_count,subscriptions_total_count,tax_exempt,updated_at"

const rechargeAddressesHeader = "id,customer_id,address1,address2,city,company,country_code,created_at,first_name,last_name,phone,presentment_currency,province,updated_at,zip"

const stickyHeader = "order_id,customer_id,acquisition_date,order_status,billing_fname,billing_lname,billing_address1,billing_address2,billing_city,billing_state,billing_zip,billing_country,shipping_fname,shipping_lname,shipping_address1,shipping_address2,shipping_city,shipping_state,shipping_zip,shipping_country,email,phone,cc_type,cc_number,cc_expires,order_total,order_sales_tax_amount,shipping_amount,transaction_id,auth_id,gateway_id,campaign_id,main_product_id,main_product_quantity,is_recurring,recurringDate,amountRefundedSoFar,is_chargeback,chargeback_date,is_void,tracking_number,shipping_method_name,affiliate,sub_affiliate,decline_reason,ip_address"

const wooSubsHeader = "subscription_id,subscription_status,customer_id,customer_username,customer_email,date_created,trial_end_date,next_payment_date,last_order_date_created,end_date,post_parent,billing_period,billing_interval,order_shipping,order_shipping_tax,fee_total,fee_tax_total,order_tax,cart_discount,cart_discount_tax,order_total,order_currency,payment_method,payment_method_title,shipping_method,billing_first_name,billing_last_name,billing_email,billing_phone,billing_address_1,billing_address_2,billing_postcode,billing_city,billing_state,billing_country,billing_company,shipping_first_name,shipping_last_name,shipping_address_1,shipping_address_2,shipping_postcode,shipping_city,shipping_state,shipping_country,shipping_company,customer_note,order_items,order_notes,coupon_items,fee_items,tax_items,download_permissions"

const stripeSubsHeader = "id,Customer ID,Customer Description,Customer Email,Plan,Product,Quantity,Currency,Interval,Amount,Status,Created (UTC),Start (UTC),Current Period Start (UTC),Current Period End (UTC),Trial Start (UTC),Trial End (UTC),Application Fee Percent,Coupon,Tax Percent,Canceled At (UTC),Cancel At Period End,Ended At (UTC)"

var newYork = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return l
}()

func presetCases() []presetCase {
	return []presetCase{
		{preset: "nmi", user: "    isActiveRecurring: {const: \"0\"}\n", gen: genNMI},
		{preset: "authorizenet", user: "    isActiveRecurring: {const: \"0\"}\n", gen: genAuthorizeNet},
		{preset: "recharge", gen: genRecharge},
		{preset: "sticky", gen: genSticky},
		{preset: "woocommerce-subscriptions", gen: genWooSubs},
		{preset: "stripe-subscriptions", gen: genStripeSubs},
	}
}

func genNMI(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures) {
	tx := newVendorTable(t, nmiTxHeader, ",")
	vault := newVendorTable(t, nmiVaultHeader, ",")
	ps := people(rng, 24)
	id := 5000000
	next := func() string { id += 7; return fmt.Sprint(id) }
	for i, p := range ps {
		vid := fmt.Sprintf("%09d", 100000+i)
		ach := i%6 == 5
		exp := p.mm + p.yy[2:]
		if i%5 == 0 && p.mm[0] == '0' {
			exp = exp[1:] // a spreadsheet read MMYY as a number: 628
		}
		if ach {
			vault.add("customer_vault_id", vid, "first_name", p.first, "last_name", p.last, "address_1", p.street, "city", p.city,
				"state", p.state, "postal_code", p.zip, "country", "US", "email", p.email, "phone", p.phone,
				"check_aba", p.aba, "check_account", p.account, "check_name", p.first+" "+p.last, "account_holder_type", "personal", "account_type", "checking", "sec_code", "WEB")
		} else {
			vault.add("customer_vault_id", vid, "first_name", p.first, "last_name", p.last, "address_1", p.street, "city", p.city,
				"state", p.state, "postal_code", p.zip, "country", "US", "email", p.email, "phone", p.phone,
				"cc_number", p.card, "cc_exp", exp, "cc_bin", p.card[:6])
		}
		kind, masked := "cc", p.card[:1]+strings.Repeat("x", 11)+p.card[12:]
		if ach {
			kind, masked = "ck", ""
		}
		when := time.Date(2026, time.Month(1+i%10), 1+i%27, 14, 30, 0, 0, time.UTC)
		row := func(txid, action, success string, amt, ship, tax int, parent string, at time.Time) {
			kv := []string{"transaction_id", txid, "transaction_type", kind, "condition", "complete", "order_id", fmt.Sprintf("ORD%05d", i),
				"authorization_code", fmt.Sprintf("A%05d", i), "first_name", p.first, "last_name", p.last, "address_1", p.street, "city", p.city,
				"state", p.state, "postal_code", p.zip, "country", "US", "email", p.email, "phone", p.phone, "currency", "USD",
				"cc_number", masked, "customer_vault_id", vid, "original_transaction_id", parent, "amount", money(amt),
				"shipping", money(ship), "tax", money(tax), "action_type", action, "date", at.Format("20060102150405"), "success", success,
				"response_text", map[string]string{"1": "SUCCESS", "0": "DECLINE"}[success], "source", "api"}
			if i%4 == 3 {
				kv = append(kv, "shipping_first_name", p.first, "shipping_last_name", p.last, "shipping_address_1", "9 Dock Rd",
					"shipping_city", "Portland", "shipping_state", "OR", "shipping_postal_code", "97201", "shipping_country", "US",
					"shipping_carrier", "usps", "tracking_number", fmt.Sprintf("9400%016d", i))
			}
			tx.add(kv...)
		}
		amt := 1999 + 100*rng.IntN(50)
		sale := next()
		if i%7 == 2 { // an authorization, captured later
			auth := next()
			row(auth, "auth", "1", amt, 500, 150, "", when)
			row(sale, "capture", "1", amt, 500, 150, auth, when.Add(48*time.Hour))
		} else {
			row(sale, "sale", "1", amt, 500, 150, "", when)
		}
		if i%4 == 1 {
			row(next(), "sale", "0", amt, 500, 150, "", when.Add(30*24*time.Hour))
		}
		if i%3 == 0 {
			row(next(), "refund", "1", amt/2, 0, 0, sale, when.Add(5*24*time.Hour))
		}
		if i%9 == 4 {
			row(next(), "void", "1", amt, 0, 0, "", when.Add(time.Hour))
		}
	}
	txb, vb := tx.bytes(','), vault.bytes(',')
	var f migrationFigures
	for _, r := range sourceRows(t, txb, ',') {
		if r["success"] != "1" {
			continue
		}
		switch r["action_type"] {
		case "sale", "capture":
			f.Sales += cents(t, r["amount"])
		case "refund", "credit":
			f.Refunds += cents(t, r["amount"])
		}
	}
	// The transaction report split in two files, as large exports are.
	lines := bytes.SplitAfter(txb, []byte("\n"))
	half := 1 + (len(lines)-1)/2
	part2 := append(append([]byte{}, lines[0]...), bytes.Join(lines[half:], nil)...)
	paths := []string{
		writeFile(t, filepath.Join(dir, "nmi_transactions_1.csv"), bytes.Join(lines[:half], nil)),
		writeFile(t, filepath.Join(dir, "nmi_transactions_2.csv"), part2),
		writeFile(t, filepath.Join(dir, "customer_vault.csv"), vb),
	}
	return paths, f
}

func genAuthorizeNet(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures) {
	tx := newVendorTable(t, anetTxHeader, "\t")
	cim := newVendorTable(t, anetCIMHeader, "\t")
	ps := people(rng, 20)
	id := 60000000000
	next := func() string { id += 13; return fmt.Sprint(id) }
	for i, p := range ps {
		prof, pay := fmt.Sprint(900000+i), fmt.Sprint(800000+i)
		ach := i%5 == 4
		if ach {
			cim.add("Customer Profile ID", prof, "Merchant Customer ID", fmt.Sprintf("M%d", i), "Email", p.email, "Payment Profile ID", pay,
				"Bank Account Type", "checking", "Routing Number", p.aba, "Account Number", p.account, "Name On Account", p.first+" "+p.last,
				"First Name", p.first, "Last Name", p.last, "Address", p.street, "City", p.city, "State", p.state, "Zip", p.zip, "Country", "US", "Phone", p.phone)
		} else {
			cim.add("Customer Profile ID", prof, "Merchant Customer ID", fmt.Sprintf("M%d", i), "Email", p.email, "Payment Profile ID", pay,
				"Card Number", p.card, "Expiration Date", p.yy+"-"+p.mm,
				"First Name", p.first, "Last Name", p.last, "Address", p.street, "City", p.city, "State", p.state, "Zip", p.zip, "Country", "US", "Phone", p.phone)
		}
		when := time.Date(2026, time.Month(1+i%10), 1+i%27, 9+i%10, 5, 7, 0, time.UTC)
		row := func(txid, typ, status string, amt, tax, freight int, ref string, at time.Time) {
			kv := []string{"Transaction ID", txid, "Transaction Status", status, "Submit Date/Time", at.Format("01/02/2006 03:04:05 PM"),
				"Authorization Code", fmt.Sprintf("Z%05d", i), "Reference Transaction ID", ref, "Transaction Type", typ,
				"Total Amount", money(amt), "L2 - Tax", money(tax), "L2 - Freight", money(freight), "Currency", "USD", "Invoice Number", fmt.Sprintf("INV-%d", 100+i),
				"Customer First Name", p.first, "Customer Last Name", p.last, "Address", p.street, "City", p.city, "State", p.state, "ZIP", p.zip,
				"Country", "US", "Phone", p.phone, "Email", p.email, "Customer ID", fmt.Sprintf("M%d", i), "Customer Profile ID", prof, "Payment Profile ID", pay}
			if ach {
				kv = append(kv, "Bank Account Number", "XXXX"+p.account[6:])
			} else {
				kv = append(kv, "Card Number", "XXXX"+p.card[12:], "Expiration Date", "XXXX")
			}
			tx.add(kv...)
		}
		amt := 2500 + 100*rng.IntN(40)
		sale := next()
		row(sale, "Authorization w/ Auto Capture", "Settled Successfully", amt, 200, 300, "", when)
		if i%3 == 1 {
			row(next(), "Authorization w/ Auto Capture", "Declined", amt, 200, 300, "", when.Add(30*24*time.Hour))
		}
		if i%4 == 0 {
			row(next(), "Credit", "Refund Settled Successfully", 1000, 0, 0, sale, when.Add(3*24*time.Hour))
		}
		if i%6 == 2 {
			row(next(), "Authorization w/ Auto Capture", "Voided", amt, 0, 0, "", when.Add(time.Hour))
		}
	}
	txb, cb := tx.bytes('\t'), cim.bytes('\t')
	var f migrationFigures
	for _, r := range sourceRows(t, txb, '\t') {
		switch {
		case r["Transaction Type"] == "Authorization w/ Auto Capture" && r["Transaction Status"] == "Settled Successfully":
			f.Sales += cents(t, r["Total Amount"])
		case r["Transaction Type"] == "Credit" && r["Transaction Status"] == "Refund Settled Successfully":
			f.Refunds += cents(t, r["Total Amount"])
		}
	}
	return []string{
		writeFile(t, filepath.Join(dir, "transactions_download.txt"), txb),
		writeFile(t, filepath.Join(dir, "cim_download.txt"), cb),
	}, f
}

func genRecharge(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures) {
	subs := newVendorTable(t, rechargeSubsHeader, ",")
	custs := newVendorTable(t, rechargeCustomersHeader, ",")
	addrs := newVendorTable(t, rechargeAddressesHeader, ",")
	ps := people(rng, 18)
	sid := 27000000
	for i, p := range ps {
		cid, aid := fmt.Sprint(31000000+i), fmt.Sprint(45000000+i)
		custs.add("id", cid, "email", p.email, "first_name", p.first, "last_name", p.last, "phone", p.phone,
			"created_at", "2025-03-01T10:00:00+00:00", "has_valid_payment_method", "true")
		addrs.add("id", aid, "customer_id", cid, "address1", p.street, "city", p.city, "country_code", "US", "first_name", p.first,
			"last_name", p.last, "phone", p.phone, "province", p.stateName, "zip", p.zip)
		for s := 0; s <= i%2; s++ {
			sid += 3
			status, nextCharge, cancelled := "active", time.Date(2027, time.Month(1+i%12), 1+s*14, 0, 0, 0, 0, time.UTC).Format("2006-01-02"), ""
			if (i+s)%4 == 3 {
				status, nextCharge, cancelled = "cancelled", "", "2026-09-01T12:00:00+00:00"
			}
			subs.add("id", fmt.Sprint(sid), "address_id", aid, "customer_id", cid, "cancelled_at", cancelled, "charge_interval_frequency", "30",
				"created_at", time.Date(2026, time.Month(1+i%9), 2+s, 15, 4, 5, 0, time.UTC).Format(time.RFC3339), "next_charge_scheduled_at", nextCharge,
				"order_interval_frequency", "30", "order_interval_unit", "day", "presentment_currency", "USD",
				"price", money(1995+500*s), "product_title", "Coffee Club", "quantity", "1", "sku", fmt.Sprintf("SKU-%d", s), "status", status)
		}
	}
	sb := subs.bytes(',')
	var f migrationFigures
	for _, r := range sourceRows(t, sb, ',') {
		f.Sales += cents(t, r["price"])
		if r["status"] == "active" {
			f.Active++
			f.Next = append(f.Next, r["customer_id"]+"|"+r["next_charge_scheduled_at"])
		}
	}
	f.sortNext()
	cards := stripeCards(t, rng, len(ps), func(i int) string { return strings.ToUpper(ps[i].email[:1]) + ps[i].email[1:] })
	return []string{
		writeFile(t, filepath.Join(dir, "subscriptions.csv"), sb),
		writeFile(t, filepath.Join(dir, "customers.csv"), custs.bytes(',')),
		writeFile(t, filepath.Join(dir, "addresses.csv"), addrs.bytes(',')),
		writeFile(t, filepath.Join(dir, "stripe_cards.csv"), cards),
	}, f
}

func genSticky(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures) {
	orders := newVendorTable(t, stickyHeader, ",")
	ps := people(rng, 20)
	oid := 10400
	for i, p := range ps {
		n := 1 + i%3
		for k := 0; k < n; k++ {
			oid++
			total, tax, ship := 4995+100*rng.IntN(20), 300, 695
			status := "2"
			switch {
			case k == 1 && i%2 == 0:
				status = "7"
			case k == 0 && i%5 == 0:
				status = "8"
			}
			at := time.Date(2026, time.Month(1+i%9), 1+k*28%27, 10+k, 15, 0, 0, time.UTC)
			kv := []string{"order_id", fmt.Sprint(oid), "customer_id", fmt.Sprint(700 + i), "acquisition_date", at.Format("2006-01-02 15:04:05"),
				"order_status", status, "billing_fname", p.first, "billing_lname", p.last, "billing_address1", p.street, "billing_city", p.city,
				"billing_state", p.state, "billing_zip", p.zip, "billing_country", "US", "email", p.email, "phone", p.phone, "cc_type", "visa",
				"cc_number", p.card, "cc_expires", p.mm + p.yy[2:], "order_total", money(total), "order_sales_tax_amount", money(tax),
				"shipping_amount", money(ship), "transaction_id", fmt.Sprintf("TX%07d", oid), "auth_id", fmt.Sprintf("AU%d", oid),
				"gateway_id", "3", "campaign_id", "12", "main_product_id", "44", "main_product_quantity", "1", "is_recurring", "0", "amountRefundedSoFar", "0.00"}
			if status != "7" {
				if k == n-1 && i%4 != 1 { // the customer's latest approved order carries the subscription
					kv = append(kv, "is_recurring", "1", "recurringDate", at.AddDate(0, 1, 0).AddDate(1, 0, 0).Format("2006-01-02"))
				}
				if i%3 == 2 && k == 0 {
					kv = append(kv, "amountRefundedSoFar", money(total/3))
				}
				if i%7 == 3 && k == 0 {
					kv = append(kv, "is_chargeback", "1", "chargeback_date", at.AddDate(0, 0, 20).Format("2006-01-02"))
				}
			} else {
				kv = append(kv, "decline_reason", "Insufficient funds")
			}
			orders.add(kv...)
		}
	}
	ob := orders.bytes(',')
	var f migrationFigures
	for _, r := range sourceRows(t, ob, ',') {
		if r["order_status"] == "7" {
			continue
		}
		f.Sales += cents(t, r["order_total"])
		f.Refunds += cents(t, r["amountRefundedSoFar"])
		if r["is_chargeback"] == "1" {
			f.Chargebacks++
			f.ChargebackTotal += cents(t, r["order_total"])
		}
		if r["is_recurring"] == "1" {
			f.Active++
			f.Next = append(f.Next, r["customer_id"]+"|"+r["recurringDate"])
		}
	}
	f.sortNext()
	return []string{writeFile(t, filepath.Join(dir, "sticky_orders.csv"), ob)}, f
}

func genWooSubs(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures) {
	subs := newVendorTable(t, wooSubsHeader, ",")
	ps := people(rng, 22)
	statuses := []string{"active", "active", "on-hold", "cancelled", "active", "expired", "pending"}
	for i, p := range ps {
		status := statuses[i%len(statuses)]
		items, ship, tax, shipTax := 2500+100*rng.IntN(30), 500, 210, 35
		created := time.Date(2026, time.Month(1+i%6), 1+i%27, i%24, 5, 9, 0, time.UTC)
		last := created.AddDate(0, 3, 0)
		nextPay := ""
		if status == "active" {
			nextPay = last.AddDate(0, 1, 0).AddDate(1, 0, 0).Format("1/2/2006 15:04:05")
		}
		kv := []string{"subscription_id", fmt.Sprint(6100 + i), "subscription_status", status, "customer_id", fmt.Sprint(40 + i),
			"customer_username", fmt.Sprintf("buyer%d", i), "customer_email", p.email, "date_created", created.Format("1/2/2006 15:04:05"),
			"next_payment_date", nextPay, "last_order_date_created", last.Format("1/2/2006 15:04:05"), "post_parent", fmt.Sprint(6000 + i),
			"billing_period", "month", "billing_interval", "1", "order_shipping", money(ship), "order_shipping_tax", money(shipTax),
			"order_tax", money(tax), "order_total", money(items + ship + tax + shipTax), "order_currency", "USD", "payment_method", "stripe",
			"billing_first_name", p.first, "billing_last_name", p.last, "billing_email", p.email, "billing_phone", p.phone,
			"billing_address_1", p.street, "billing_postcode", p.zip, "billing_city", p.city, "billing_state", p.state, "billing_country", "US",
			"order_items", "product_id:4959|quantity:1|total:" + money(items)}
		if i%3 == 0 {
			kv = append(kv, "shipping_first_name", p.first, "shipping_last_name", p.last, "shipping_address_1", "4 Elm St",
				"shipping_postcode", "02139", "shipping_city", "Cambridge", "shipping_state", "Massachusetts", "shipping_country", "US")
		}
		subs.add(kv...)
	}
	sb := subs.bytes(',')
	var f migrationFigures
	for _, r := range sourceRows(t, sb, ',') {
		if r["subscription_status"] == "pending" {
			continue
		}
		f.Sales += cents(t, r["order_total"])
		if r["subscription_status"] == "active" {
			f.Active++
			d, err := time.Parse("1/2/2006 15:04:05", r["next_payment_date"])
			if err != nil {
				t.Fatal(err)
			}
			f.Next = append(f.Next, r["customer_id"]+"|"+d.Format("2006-01-02"))
		}
	}
	f.sortNext()
	cards := stripeCards(t, rng, len(ps), func(i int) string { return ps[i].email })
	return []string{
		writeFile(t, filepath.Join(dir, "subscriptions_export.csv"), sb),
		writeFile(t, filepath.Join(dir, "cards.csv"), cards),
	}, f
}

func genStripeSubs(t testing.TB, dir string, rng *rand.Rand) ([]string, migrationFigures) {
	subs := newVendorTable(t, stripeSubsHeader, ",")
	statuses := []string{"active", "active", "canceled", "past_due", "active", "trialing"}
	n := 20
	for i := 0; i < n; i++ {
		status := statuses[i%len(statuses)]
		cape := "false"
		if status == "active" && i%4 == 0 {
			cape = "true"
		}
		start := time.Date(2026, 11, 1+i%27, (i*5)%24, 30, 0, 0, time.UTC)
		end := start.AddDate(0, 1, 0)
		canceled := ""
		if status == "canceled" {
			canceled = start.Add(72 * time.Hour).Format("2006-01-02 15:04")
		}
		subs.add("id", fmt.Sprintf("sub_1P%022d", i), "Customer ID", fmt.Sprintf("cus_%014d", i), "Customer Email", fmt.Sprintf("c%d@example.com", i),
			"Plan", "price_monthly", "Product", "prod_club", "Quantity", "1", "Currency", "usd", "Interval", "month", "Amount", money(1900+100*(i%5)),
			"Status", status, "Created (UTC)", start.AddDate(0, -4, 0).Format("2006-01-02 15:04"), "Start (UTC)", start.AddDate(0, -4, 0).Format("2006-01-02 15:04"),
			"Current Period Start (UTC)", start.Format("2006-01-02 15:04"), "Current Period End (UTC)", end.Format("2006-01-02 15:04"),
			"Canceled At (UTC)", canceled, "Cancel At Period End", cape)
	}
	sb := subs.bytes(',')
	var f migrationFigures
	for _, r := range sourceRows(t, sb, ',') {
		switch r["Status"] {
		case "active", "canceled":
			f.Sales += cents(t, r["Amount"])
		}
		if r["Status"] == "active" && r["Cancel At Period End"] != "true" {
			f.Active++
			end, err := time.Parse("2006-01-02 15:04", r["Current Period End (UTC)"])
			if err != nil {
				t.Fatal(err)
			}
			f.Next = append(f.Next, r["Customer ID"]+"|"+end.In(newYork).Format("2006-01-02"))
		}
	}
	f.sortNext()
	cards := stripeCards(t, rng, n, func(i int) string { return fmt.Sprintf("c%d@example.com", i) })
	return []string{
		writeFile(t, filepath.Join(dir, "subscriptions.csv"), sb),
		writeFile(t, filepath.Join(dir, "cards_export.csv"), cards),
	}, f
}

// TestPresetsOnGeneratedExports is the "done when" of issue 17's presets.
func TestPresetsOnGeneratedExports(t *testing.T) {
	for _, pc := range presetCases() {
		t.Run(pc.preset, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, uint64(len(pc.preset))))
			dir := t.TempDir()
			paths, want := pc.gen(t, dir, rng)
			m, err := Load("mine.yaml", []byte("preset: "+pc.preset+"\n"+accountPart+pc.user))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), m, Options{Sources: paths, OutDir: t.TempDir()})
			if err != nil {
				if res != nil {
					for _, g := range res.Report.Problems {
						for _, p := range g.Examples {
							t.Log(p)
						}
					}
				}
				t.Fatalf("convert: %v", err)
			}
			rep := validate(t, res)
			if rep.Errors() != 0 {
				t.Fatalf("%d validation errors", rep.Errors())
			}
			got := importFigures(t, readCSV(t, res.Paths[legacy.Transactions]))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("figures from the import file:\n %+v\nfrom the generated source:\n %+v", got, want)
			}
			if want.Sales == 0 {
				t.Error("the generated export charged nothing")
			}
			t.Logf("%s: %+v", pc.preset, got)
		})
	}
}
