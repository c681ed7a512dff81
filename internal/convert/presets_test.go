package convert

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

// stripeCards is Stripe's card data export (docs.stripe.com export file
// formats) for n customers; emails are email(i).
func stripeCards(t testing.TB, rng *rand.Rand, n int, email func(int) string) []byte {
	rows := [][]string{{"description", "name", "email", "id", "card.address_city", "card.address_country", "card.address_line1",
		"card.address_line2", "card.address_state", "card.address_zip", "card.exp_month", "card.exp_year", "card.id", "card.name",
		"card.number", "default_source", "card.transaction_ids"}}
	for i := 0; i < n; i++ {
		name := []string{"Jane Doe", "John Q Public", "Ana María López"}[i%3]
		rows = append(rows, []string{"migrated customer", name, email(i), fmt.Sprintf("cus_%014d", i), "Anytown", "US", fmt.Sprintf("%d 1st Ave", 100+i),
			"", "CA", "90210", fmt.Sprint(1 + i%12), "2031", fmt.Sprintf("card_%014d", i), name,
			cardNumber(rng, []string{"4", "51", "37"}[i%3], []int{16, 16, 15}[i%3]), fmt.Sprintf("card_%014d", i), ""})
	}
	return csvBytes(t, ',', false, rows)
}

func zipOf(t testing.TB, files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// userPart is what a merchant adds to a preset: their account's zone and
// their Konnektive ids.
const userPart = `
# the merchant's part
timezone: America/New_York
transactions:
  columns:
    campaignId: {const: "3"}
    merchantId: {const: "2"}
    isActiveRecurring: {const: "0"}
`

func TestPresets(t *testing.T) {
	tests := []struct {
		preset string
		user   string
		files  func(t *testing.T, dir string, rng *rand.Rand) []string
		rows   int
	}{
		{preset: "stripe", rows: 40, files: func(t *testing.T, dir string, rng *rand.Rand) []string {
			pay := [][]string{{"id", "Description", "Created (UTC)", "Amount", "Currency", "Converted Amount", "Fee", "Tax", "Converted Currency", "Customer ID"}}
			for i := 0; i < 40; i++ {
				amt := fmt.Sprintf("%d.%02d", 10+rng.IntN(900), rng.IntN(100))
				tax := ""
				if i%2 == 0 {
					tax = "1.50"
				}
				pay = append(pay, []string{fmt.Sprintf("ch_3Mxyz%020d", i), "Subscription update", fmt.Sprintf("2025-%02d-%02d 1%d:%02d", 1+i%12, 1+i%28, i%10, i%60),
					amt, "usd", amt, "0.59", tax, "usd", fmt.Sprintf("cus_%014d", i%25)})
			}
			z := zipOf(t, map[string][]byte{
				"export/unified_payments.csv": csvBytes(t, ',', false, pay),
				"export/cards_export.csv":     stripeCards(t, rng, 25, func(i int) string { return fmt.Sprintf("c%d@example.com", i) }),
			})
			return []string{writeFile(t, filepath.Join(dir, "stripe_export.zip"), z)}
		}},
		{preset: "shopify-stripe", rows: 30, user: `
    productId: {column: Lineitem sku, map: {SKU-A: "17", SKU-B: "18"}}
`, files: func(t *testing.T, dir string, rng *rand.Rand) []string {
			hdr := strings.Split("Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Id,Tags,Risk Level,Source", ",")
			rows := [][]string{hdr}
			blank := func() []string { return make([]string, len(hdr)) }
			set := func(r []string, kv ...string) {
				for i := 0; i < len(kv); i += 2 {
					for j, h := range hdr {
						if h == kv[i] {
							r[j] = kv[i+1]
						}
					}
				}
			}
			for i := 0; i < 30; i++ {
				sub := 2000 + rng.IntN(10000)
				ship, tax := 500, 150
				money := func(c int) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
				status := []string{"paid", "paid", "refunded", "partially_refunded", "authorized"}[i%5]
				r := blank()
				set(r, "Name", fmt.Sprintf("#%d", 1001+i), "Email", fmt.Sprintf("Buyer%d@Example.com", i), "Financial Status", status,
					"Currency", "USD", "Subtotal", money(sub), "Shipping", money(ship), "Taxes", money(tax), "Total", money(sub+ship+tax),
					"Created at", fmt.Sprintf("2025-10-%02d 09:50:26 +0200", 1+i%28), "Lineitem quantity", "1", "Lineitem sku", []string{"SKU-A", "SKU-B"}[i%2],
					"Billing Name", "Sophie Gallas", "Billing Address1", "13 Berri St", "Billing City", "Boston", "Billing Zip", "'02134",
					"Billing Province", "MA", "Billing Country", "US", "Billing Phone", "+1 617-555-0100", "Payment Reference", fmt.Sprintf("rIw4QXqrJbXeyKv4g%08d", i))
				if i%3 == 0 {
					set(r, "Shipping Address1", "1 Elm St", "Shipping City", "Cambridge", "Shipping Zip", "'02139", "Shipping Province", "MA", "Shipping Country", "US")
				}
				rows = append(rows, r)
				if i%4 == 0 { // a second line item: order columns empty
					r2 := blank()
					set(r2, "Name", fmt.Sprintf("#%d", 1001+i), "Email", fmt.Sprintf("buyer%d@example.com", i), "Lineitem quantity", "2", "Lineitem sku", "SKU-B")
					rows = append(rows, r2)
				}
			}
			cards := stripeCards(t, rng, 30, func(i int) string { return fmt.Sprintf("buyer%d@example.com", i) })
			return []string{
				writeFile(t, filepath.Join(dir, "orders_export.csv.gz"), gzOf(csvBytes(t, ',', true, rows))),
				writeFile(t, filepath.Join(dir, "stripe_cards.csv"), cards),
			}
		}},
		{preset: "woocommerce-stripe", rows: 25, files: func(t *testing.T, dir string, rng *rand.Rand) []string {
			hdr := strings.Split("order_id,order_number_formatted,order_number,date,status,order_shipping,order_shipping_tax,order_fees,order_fee_tax,order_tax,cart_discount,order_discount,order_total,payment_method,shipping_method,customer_user,billing_first_name,billing_last_name,billing_email,billing_phone,billing_address_1,billing_address_2,billing_postcode,billing_city,billing_state,billing_country,billing_company,shipping_first_name,shipping_last_name,shipping_address_1,shipping_address_2,shipping_postcode,shipping_city,shipping_state,shipping_country,shipping_company,customer_note,order_item_1,order_item_2,download_permissions_granted,order_notes,shipping_method_1,shipping_cost_1", ",")
			rows := [][]string{hdr}
			for i := 0; i < 25; i++ {
				items := 1000 + rng.IntN(5000)
				total := items + 700 + 210 + 35
				m := func(c int) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
				r := []string{fmt.Sprint(4993 - i), fmt.Sprint(4993 - i), "", fmt.Sprintf("%d/%d/2016 %d:%02d", 1+i%12, 1+i%28, i%24, i%60),
					[]string{"completed", "processing", "refunded", "failed"}[i%4], m(700), m(35), "0", "0", m(210), "0", "", m(total), "stripe", "Flat rate", "0",
					"Cherlynn", "Harle", fmt.Sprintf("shopper%d@example.com", i), "602-999-7186", "7140 W. Turquoise Ave.", "", "85345", "Peoria", "AZ", "US", "",
					"", "", "", "", "", "", "", "", "", "", "product_id:4959|1|30|size: Medium", "", "1", "", "method:Flat rate|total:7.00", "7.00"}
				rows = append(rows, r)
			}
			cards := stripeCards(t, rng, 25, func(i int) string { return fmt.Sprintf("Shopper%d@Example.com", i) })
			return []string{
				writeFile(t, filepath.Join(dir, "woo-orders.csv"), csvBytes(t, ',', false, rows)),
				writeFile(t, filepath.Join(dir, "cards.csv"), cards),
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.preset, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(42, 42))
			dir := t.TempDir()
			srcs := tc.files(t, dir, rng)
			user := tc.user
			if user == "" {
				user = `
    productId: {const: "17"}
`
			}
			m, err := Load("mine.yaml", []byte("preset: "+tc.preset+"\n"+userPart+user))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), m, Options{Sources: srcs, OutDir: t.TempDir()})
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
			validate(t, res)
			tx := readCSV(t, res.Paths[legacy.Transactions])
			if len(tx)-1 != tc.rows {
				t.Errorf("%d transactions, want %d", len(tx)-1, tc.rows)
			}
			for _, n := range column(tx, "cardNumber") {
				if !cardnum.Luhn(n) {
					t.Errorf("card number %s lost its shape", legacy.Mask(n))
				}
			}
		})
	}
}

// subscriptionPresets read subscription state from their sources.
var subscriptionPresets = map[string]bool{"recharge": true, "sticky": true, "woocommerce-subscriptions": true, "stripe-subscriptions": true}

// TestPresetAloneNamesWhatIsMissing: a preset leaves the merchant's ids to
// them, and says so.
func TestPresetAloneNamesWhatIsMissing(t *testing.T) {
	for _, name := range Presets() {
		m, err := LoadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		m.Timezone = "UTC" // the merchant's part
		c := &converter{m: m, report: &Report{}, groups: map[string]*ProblemGroup{}}
		if err := c.checkMapping(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cols := []string{"campaignId", "productId", "merchantId", "isActiveRecurring"}
		if subscriptionPresets[name] {
			cols = cols[:3] // the export says which subscriptions are active
		}
		for _, col := range cols {
			if !m.Transactions.Columns[col].empty() {
				t.Errorf("%s maps %s; that is the merchant's choice", name, col)
			}
		}
	}
	if len(Presets()) < 3 {
		t.Errorf("presets: %v", Presets())
	}
}
