package check

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

const asOf = "2025-01-31"

// luhnNumber completes prefix with digits and a Luhn check digit to n digits.
// Card numbers in tests are always made at run time.
func luhnNumber(prefix string, n int) string {
	b := []byte(prefix)
	for len(b) < n-1 {
		b = append(b, byte('0'+len(b)%10))
	}
	for d := byte('0'); d <= '9'; d++ {
		if cardnum.Luhn(append(b, d)) {
			return string(append(b, d))
		}
	}
	panic("unreachable")
}

type row map[string]string

func baseRow(i int) row {
	return row{
		legacy.FCustomerID: fmt.Sprintf("C%d", i), legacy.FOrderID: fmt.Sprintf("O%d", i),
		legacy.FDateCreated: "2025-01-15 10:00:00", legacy.FCampaignID: "1", legacy.FProductID: "2",
		legacy.FIsActiveRecurring: "1", legacy.FNextBillDate: "2025-02-15", legacy.FPaySource: "CREDITCARD",
		legacy.FCardNumber: luhnNumber("4111", 16), legacy.FCardExpiryMonth: "12", legacy.FCardExpiryYear: "2030",
		legacy.FMerchantID: "3", legacy.FMerchantTxnID: fmt.Sprintf("T%d", i), legacy.FTxnType: "SALE",
		legacy.FSubTotal: "29.99", legacy.FShipTotal: "5.00", legacy.FSalesTax: "0.01", legacy.FTotalAmount: "35.00",
		legacy.FResponseType: "SUCCESS", legacy.FResponseText: "SUCCESS", legacy.FFirstName: "Ann",
		legacy.FLastName: "Lee", legacy.FAddress1: "1 Main St", legacy.FAddress2: "Apt 1", legacy.FCity: "Austin",
		legacy.FState: "TX", legacy.FCountry: "US", legacy.FPostalCode: "78701", legacy.FPhoneNumber: fmt.Sprintf("51255501%02d", i%100),
		legacy.FEmailAddress: fmt.Sprintf("ann%d@example.com", i), legacy.FBillShipSame: "1", legacy.FQuantity: "1",
	}
}

// csvOf renders rows under the canonical header of kind.
func csvOf(kind legacy.Kind, rows ...row) string {
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	spec := legacy.SpecFor(kind)
	w.Write(spec.Header())
	for _, r := range rows {
		rec := make([]string, len(spec.Columns))
		for i, c := range spec.Columns {
			rec[i] = r[c.Name]
		}
		w.Write(rec)
	}
	w.Flush()
	return b.String()
}

type file struct{ name, content string }

func validate(t *testing.T, opts Options, files ...file) *Report {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.content), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if opts.AsOf == "" {
		opts.AsOf = asOf
	}
	if opts.MaxFindings == 0 {
		opts.MaxFindings = -1
	}
	rep, err := Validate(context.Background(), legacy.FileInputs(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// keys lists findings as "severity rule row column", sorted.
func keys(rep *Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, fmt.Sprintf("%s %s %d %s", f.Severity, f.Rule, f.Row, f.Column))
	}
	sort.Strings(out)
	return out
}

func TestBaseRowIsClean(t *testing.T) {
	rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, baseRow(1), baseRow(2))})
	if got := keys(rep); len(got) != 0 {
		t.Fatalf("clean rows gave findings: %v\n%v", got, rep.Findings)
	}
	if rep.Files[0].Rows != 2 || rep.Files[0].Kind != "transactions" {
		t.Fatalf("summary %+v", rep.Files[0])
	}
}

// TestRowRules: each case changes the clean row and expects exactly the
// listed findings, so every rule has a test that fails without it.
func TestRowRules(t *testing.T) {
	set := func(kv ...string) func(row) {
		return func(r row) {
			for i := 0; i < len(kv); i += 2 {
				r[kv[i]] = kv[i+1]
			}
		}
	}
	card := func(prefix string, n int) string { return luhnNumber(prefix, n) }
	badLuhn := func() string {
		c := []byte(luhnNumber("4111", 16))
		c[15] = '0' + (c[15]-'0'+1)%10
		if c[15] == '0' {
			c[14] = '0' + (c[14]-'0'+1)%10
		}
		return string(c)
	}
	truncated := func() string { // 16 digits ending in 0 that fail Luhn
		for p := 0; ; p++ {
			c := luhnNumber(fmt.Sprintf("4111%03d", p), 15) + "0"
			if !cardnum.Luhn([]byte(c)) {
				return c
			}
		}
	}
	tests := []struct {
		name   string
		opts   Options
		change func(row)
		want   []string
	}{
		{"required empty", Options{}, set(legacy.FFirstName, ""), []string{"error required 2 Z"}},
		{"address2 empty warns", Options{}, set(legacy.FAddress2, ""), []string{"warning address2-empty 2 AC"}},
		{"nextBillDate required", Options{}, set(legacy.FNextBillDate, ""), []string{"error required-if 2 G"}},
		{"nextBillDate ignored", Options{}, set(legacy.FIsActiveRecurring, "0"), []string{"warning next-bill-date-ignored 2 G"}},
		{"nextBillDate past", Options{}, set(legacy.FNextBillDate, "2025-01-30"), []string{"warning next-bill-date-past 2 G"}},
		{"card fields required", Options{}, set(legacy.FCardNumber, "", legacy.FCardExpiryMonth, "", legacy.FCardExpiryYear, ""),
			[]string{"error required-if 2 I", "error required-if 2 J", "error required-if 2 K"}},
		{"prepaid needs no card", Options{}, set(legacy.FPaySource, "PREPAID", legacy.FCardNumber, "", legacy.FCardExpiryMonth, "", legacy.FCardExpiryYear, ""), nil},
		{"card luhn", Options{}, set(legacy.FCardNumber, badLuhn()), []string{"error card-luhn 2 I"}},
		{"card tokens skip luhn", Options{CardTokens: true}, set(legacy.FCardNumber, badLuhn()), nil},
		{"vault token accepted", Options{IsToken: func(s string) bool { return strings.HasPrefix(s, "4111") }}, set(legacy.FCardNumber, badLuhn()), nil},
		{"card too short", Options{}, set(legacy.FCardNumber, card("4111", 12)), []string{"error card-length 2 I"}},
		{"card 19 digits ok", Options{}, set(legacy.FCardNumber, card("6011", 19)), nil},
		{"card masked without token", Options{}, set(legacy.FCardNumber, "411111xxxxxx1111"), []string{"error card-masked 2 I"}},
		{"card masked with token", Options{}, set(legacy.FCardNumber, "************1111", legacy.FExternalToken, "tok_abc"), nil},
		{"card truncated 16 ending 0", Options{}, set(legacy.FCardNumber, truncated()), []string{"error card-truncated 2 I"}},
		{"card scientific", Options{}, set(legacy.FCardNumber, "4.11111E+15"), []string{"error card-truncated 2 I"}},
		{"expiry month leading zero", Options{}, set(legacy.FCardExpiryMonth, "1", legacy.FCardExpiryYear, "2031"), []string{"error card-expiry-month 2 J"}},
		{"expiry month 13", Options{}, set(legacy.FCardExpiryMonth, "13"), []string{"error card-expiry-month 2 J"}},
		{"expiry year two digits", Options{}, set(legacy.FCardExpiryYear, "30"), []string{"error card-expiry-year 2 K"}},
		{"card expired before next bill", Options{}, set(legacy.FCardExpiryMonth, "01", legacy.FCardExpiryYear, "2025"), []string{"warning card-expired 2 J"}},
		{"check needs ach", Options{}, set(legacy.FPaySource, "CHECK", legacy.FCardNumber, "", legacy.FCardExpiryMonth, "", legacy.FCardExpiryYear, ""),
			[]string{"error required-if 2 L", "error required-if 2 M", "error required-if 2 N"}},
		{"check ok", Options{}, set(legacy.FPaySource, "CHECK", legacy.FCardNumber, "", legacy.FCardExpiryMonth, "", legacy.FCardExpiryYear, "",
			legacy.FACHRoutingNumber, "011000015", legacy.FACHAccountNumber, "123456789", legacy.FACHAccountType, "CHECKING"), nil},
		{"aba checksum", Options{}, set(legacy.FACHRoutingNumber, "011000016"), []string{"error aba-checksum 2 L"}},
		{"aba length", Options{}, set(legacy.FACHRoutingNumber, "11000015"), []string{"error aba-checksum 2 L"}},
		{"account type enum", Options{}, set(legacy.FACHAccountType, "Checking"), []string{"error invalid-enum 2 N"}},
		{"parentTxnId required", Options{}, set(legacy.FTxnType, "REFUND", legacy.FIsActiveRecurring, "0", legacy.FNextBillDate, ""), []string{"error required-if 2 Y"}},
		{"total mismatch", Options{}, set(legacy.FTotalAmount, "34.99"), []string{"error total-mismatch 2 U"}},
		{"negative amount", Options{}, set(legacy.FSalesTax, "-0.01", legacy.FTotalAmount, "34.98"), []string{"warning negative-amount 2 T"}},
		{"state required", Options{}, set(legacy.FState, ""), []string{"error required-if 2 AE"}},
		{"state not required outside US/CA", Options{}, set(legacy.FState, "", legacy.FCountry, "GB", legacy.FPostalCode, "SW1A 1AA"), nil},
		{"state full name", Options{}, set(legacy.FState, "Texas"), []string{"warning state-full-name 2 AE"}},
		{"state invalid", Options{}, set(legacy.FState, "ZZ"), []string{"error state-invalid 2 AE"}},
		{"ship fields required", Options{}, set(legacy.FBillShipSame, "0"),
			[]string{"error required-if 2 AN", "error required-if 2 AP", "error required-if 2 AR", "error required-if 2 AS", "warning address2-empty 2 AO"}},
		{"ship state required for US", Options{}, set(legacy.FBillShipSame, "0", legacy.FShipAddress1, "2 Elm", legacy.FShipAddress2, "Unit 2",
			legacy.FShipCity, "Dallas", legacy.FShipCountry, "US", legacy.FShipPostalCode, "75201"), []string{"error required-if 2 AQ"}},
		{"ship to GB needs no state", Options{}, set(legacy.FBillShipSame, "0", legacy.FShipAddress1, "2 Elm", legacy.FShipAddress2, "Unit 2",
			legacy.FShipCity, "London", legacy.FShipCountry, "GB", legacy.FShipPostalCode, "SW1A 1AA"), nil},
		{"zip lost leading zero", Options{}, set(legacy.FPostalCode, "2134"), []string{"warning postal-code-us 2 AG"}},
		{"zip bad", Options{}, set(legacy.FPostalCode, "ABCDE"), []string{"warning postal-code-us 2 AG"}},
		{"zip+4 ok", Options{}, set(legacy.FPostalCode, "78701-1234"), nil},
		{"phone punctuation", Options{}, set(legacy.FPhoneNumber, "(512) 555-0100"), []string{"error invalid-phone 2 AH"}},
		{"phone 11 digits", Options{}, set(legacy.FPhoneNumber, "15125550100"), []string{"warning phone-length 2 AH"}},
		{"phone 7 digits", Options{}, set(legacy.FCellPhone, "5550100"), []string{"warning phone-length 2 AJ"}},
		{"chargeback fields required", Options{}, set(legacy.FIsChargedback, "1"),
			[]string{"error required-if 2 BA", "error required-if 2 BB", "error required-if 2 BC"}},
		{"chargeback before sale", Options{}, set(legacy.FIsChargedback, "1", legacy.FChargebackTotal, "35.00", legacy.FChargebackDate, "2025-01-14", legacy.FChargebackReason, "10.4"),
			[]string{"warning chargeback-date-before-sale 2 BB"}},
		{"chargeback above total", Options{}, set(legacy.FIsChargedback, "1", legacy.FChargebackTotal, "35.01", legacy.FChargebackDate, "2025-01-20", legacy.FChargebackReason, "10.4"),
			[]string{"warning chargeback-exceeds-total 2 BA"}},
		{"quantity empty", Options{}, set(legacy.FQuantity, ""), []string{"warning quantity-default 2 BE"}},
		{"quantity zero", Options{}, set(legacy.FQuantity, "0"), []string{"warning quantity-default 2 BE"}},
		{"quantity negative", Options{}, set(legacy.FQuantity, "-2"), []string{"warning quantity-default 2 BE"}},
		{"dateCreated future", Options{}, set(legacy.FDateCreated, "2025-02-01 00:00:00"), []string{"warning date-created-future 2 C"}},
		{"formula injection", Options{}, set(legacy.FAddress1, "=HYPERLINK(1)"), []string{"warning formula-injection 2 AB"}},
		{"card number in address", Options{}, set(legacy.FAddress2, "pay with "+card("5500", 16)), []string{"warning card-number-elsewhere 2 AC"}},
		{"card number with spaces in city", Options{}, set(legacy.FCity, func() string {
			c := card("4000", 16)
			return c[:4] + " " + c[4:8] + " " + c[8:12] + " " + c[12:]
		}()), []string{"warning card-number-elsewhere 2 AD"}},
		{"too long in code points", Options{}, set(legacy.FFirstName, strings.Repeat("é", 31)), []string{"error too-long 2 Z"}},
		{"30 code points fit", Options{}, set(legacy.FFirstName, strings.Repeat("é", 30)), nil},
		{"country lower case", Options{}, set(legacy.FCountry, "us"), []string{"error invalid-country 2 AF"}},
		{"country name", Options{}, set(legacy.FCountry, "USA"), []string{"error invalid-country 2 AF"}},
		{"integer scientific", Options{}, set(legacy.FCampaignID, "1.23E+11"), []string{"error spreadsheet-number 2 D"}},
		{"integer decimal", Options{}, set(legacy.FProductID, "2.0"), []string{"error spreadsheet-number 2 E"}},
		{"integer unsigned exponent", Options{}, set(legacy.FCampaignID, "1.23E11"), []string{"error invalid-integer 2 D"}},
		{"integer with sign", Options{}, set(legacy.FMerchantID, "+3"), []string{"error invalid-integer 2 O"}},
		{"decimal currency", Options{}, set(legacy.FSubTotal, "$29.99"), []string{"error invalid-decimal 2 R"}},
		{"decimal thousands", Options{}, set(legacy.FSubTotal, "1,029.99", legacy.FTotalAmount, "1035.00"), []string{"error invalid-decimal 2 R"}},
		{"decimal three places", Options{}, set(legacy.FShipTotal, "5.001"), []string{"error invalid-decimal 2 S"}},
		{"bit yes", Options{}, set(legacy.FBillShipSame, "yes"), []string{"error invalid-bit 2 AM"}},
		{"datetime US layout", Options{}, set(legacy.FDateCreated, "11/05/2024 3:04 PM"), []string{"error invalid-datetime 2 C"}},
		{"datetime ISO", Options{}, set(legacy.FDateCreated, "2024-11-05T15:04:05Z"), []string{"error invalid-datetime 2 C"}},
		{"date not real", Options{}, set(legacy.FNextBillDate, "2025-02-30"), []string{"error invalid-date 2 G"}},
		{"enum case", Options{}, set(legacy.FResponseType, "success"), []string{"error invalid-enum 2 V"}},
		{"enum txnType case", Options{}, set(legacy.FTxnType, "Sale"), []string{"error invalid-enum 2 Q"}},
		{"email", Options{}, set(legacy.FEmailAddress, "ann at example.com"), []string{"error invalid-email 2 AL"}},
		{"email two at", Options{}, set(legacy.FEmailAddress, "a@b@example.com"), []string{"error invalid-email 2 AL"}},
		{"strict makes warnings errors", Options{Strict: true}, set(legacy.FAddress2, ""), []string{"error address2-empty 2 AC"}},

		// isActiveRecurring=1 only on a successful SALE or CAPTURE.
		{"active on a declined sale", Options{}, set(legacy.FResponseType, "DECLINE", legacy.FResponseText, "DECLINE"), []string{"error active-not-charge 2 F"}},
		{"active on an authorize", Options{}, set(legacy.FTxnType, "AUTHORIZE"), []string{"error active-not-charge 2 F"}},
		{"active on a bad txnType is the enum's error", Options{}, set(legacy.FTxnType, "Sale"), []string{"error invalid-enum 2 Q"}},
		{"inactive decline is fine", Options{}, set(legacy.FResponseType, "DECLINE", legacy.FResponseText, "DECLINE", legacy.FIsActiveRecurring, "0", legacy.FNextBillDate, ""), nil},

		// A spreadsheet rewrote a number: reported once, as that.
		{"tracking number in scientific notation", Options{}, set(legacy.FTrackingNumber, "9.4001112114934E+015"), []string{"error spreadsheet-number 2 AY"}},
		{"lower-case exponent", Options{}, set(legacy.FTrackingNumber, "9.4001112114934e+15"), []string{"error spreadsheet-number 2 AY"}},
		{"amount in scientific notation", Options{}, set(legacy.FSubTotal, "2.999E+01"), []string{"error spreadsheet-number 2 R"}},
		{"negative scientific notation in text", Options{}, set(legacy.FAddress1, "-1.5E+03"), []string{"error spreadsheet-number 2 AB"}},
		{"phone ending .0", Options{}, set(legacy.FPhoneNumber, "5125550101.0"), []string{"error spreadsheet-number 2 AH"}},
		{"zip ending .0", Options{}, set(legacy.FPostalCode, "78701.0"), []string{"error spreadsheet-number 2 AG"}},
		{"orderId ending .0", Options{}, set(legacy.FOrderID, "1001.0"), []string{"error spreadsheet-number 2 B"}},
		{"expiry month ending .0", Options{}, set(legacy.FCardExpiryMonth, "12.0"), []string{"error spreadsheet-number 2 J"}},
		{"quantity ending .0", Options{}, set(legacy.FQuantity, "1.0"), []string{"error spreadsheet-number 2 BE"}},
		{"routing number ending .0", Options{}, set(legacy.FACHRoutingNumber, "11000015.0"), []string{"error spreadsheet-number 2 L"}},
		{"card number ending .0", Options{}, set(legacy.FCardNumber, card("4111", 16)+".0"), []string{"error spreadsheet-number 2 I"}},
		{"amount ending .0 is a decimal", Options{}, set(legacy.FShipTotal, "5.0"), nil},
		{"unit 2E1 is no number", Options{}, set(legacy.FAddress2, "2E1"), nil},
		{"free text ending .0 is text", Options{}, set(legacy.FAddress2, "12.0"), nil},

		// Identifiers a carrier or processor assigns: a card number only
		// when the whole value is one of a known scheme.
		{"card number as tracking number", Options{}, set(legacy.FTrackingNumber, card("4", 16)), []string{"warning card-number-elsewhere 2 AY"}},
		{"card number as merchantTxnId", Options{}, set(legacy.FMerchantTxnID, card("5500", 16)), []string{"warning card-number-elsewhere 2 P"}},
		{"Luhn-valid USPS tracking number", Options{}, set(legacy.FTrackingNumber, card("9400", 16)), nil},
		{"Luhn-valid 15-digit tracking number", Options{}, set(legacy.FTrackingNumber, card("7", 15)), nil},
		{"Luhn-valid 19-digit merchantTxnId", Options{}, set(legacy.FMerchantTxnID, card("7", 19)), nil},
		{"Luhn-valid authCode", Options{}, set(legacy.FAuthCode, card("1", 13)), nil},
		{"card number inside a tracking number", Options{}, set(legacy.FTrackingNumber, "X"+card("4", 16)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseRow(1)
			tt.change(r)
			rep := validate(t, tt.opts, file{"t.csv", csvOf(legacy.Transactions, r)})
			got := keys(rep)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got  %q\nwant %q\n%v", got, want, rep.Findings)
			}
		})
	}
}

func TestCrossRowRules(t *testing.T) {
	sale := baseRow(1)
	refund := baseRow(2)
	refund[legacy.FCustomerID], refund[legacy.FOrderID] = "C1", "O1"
	refund[legacy.FTxnType], refund[legacy.FParentTxnID] = "REFUND", "T1"
	refund[legacy.FIsActiveRecurring], refund[legacy.FNextBillDate] = "0", ""
	refund[legacy.FEmailAddress], refund[legacy.FPhoneNumber] = sale[legacy.FEmailAddress], sale[legacy.FPhoneNumber]

	t.Run("refund resolves to a later parent", func(t *testing.T) {
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, refund, sale)})
		if got := keys(rep); len(got) != 0 {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("parent missing", func(t *testing.T) {
		r := copyRow(refund)
		r[legacy.FParentTxnID] = "T9"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r)})
		want := []string{"error parent-missing 3 Y"}
		if got := keys(rep); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("parent is itself", func(t *testing.T) {
		r := copyRow(refund)
		r[legacy.FParentTxnID] = "T2"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r)})
		if got := keys(rep); len(got) != 1 || got[0] != "error parent-missing 3 Y" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("parent types", func(t *testing.T) {
		capture := copyRow(refund)
		capture[legacy.FTxnType], capture[legacy.FMerchantTxnID] = "CAPTURE", "T3"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, capture)})
		if got := keys(rep); len(got) != 1 || got[0] != "warning parent-type 3 Y" {
			t.Fatalf("capture of a sale: got %v", got)
		}
		auth := copyRow(sale)
		auth[legacy.FTxnType], auth[legacy.FIsActiveRecurring], auth[legacy.FNextBillDate] = "AUTHORIZE", "0", ""
		rep = validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, auth, refund)})
		if got := keys(rep); len(got) != 1 || got[0] != "warning parent-type 3 Y" {
			t.Fatalf("refund of an authorize: got %v", got)
		}
	})
	t.Run("refunds exceed parent", func(t *testing.T) {
		r2 := copyRow(refund)
		r2[legacy.FMerchantTxnID] = "T3"
		half := func(r row) {
			r[legacy.FSubTotal], r[legacy.FShipTotal], r[legacy.FSalesTax], r[legacy.FTotalAmount] = "20.00", "0.00", "0.00", "20.00"
		}
		r1 := copyRow(refund)
		half(r1)
		half(r2)
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r1, r2)})
		if got := keys(rep); len(got) != 1 || got[0] != "warning refunds-exceed-parent 4 U" {
			t.Fatalf("got %v", got)
		}
		// A declined refund moved no money.
		r2[legacy.FResponseType], r2[legacy.FResponseText] = "DECLINE", "DECLINE"
		rep = validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r1, r2)})
		if got := keys(rep); len(got) != 0 {
			t.Fatalf("declined refund: got %v", got)
		}
	})
	t.Run("duplicate merchantTxnId", func(t *testing.T) {
		r := baseRow(2)
		r[legacy.FMerchantTxnID] = "T1"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r)})
		if got := keys(rep); len(got) != 1 || got[0] != "error duplicate-merchant-txn-id 3 P" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("order under two customers", func(t *testing.T) {
		r := baseRow(2)
		r[legacy.FOrderID] = "O1"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r)})
		if got := keys(rep); len(got) != 1 || got[0] != "error order-multiple-customers 3 B" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("customer inconsistent", func(t *testing.T) {
		r := baseRow(2)
		r[legacy.FCustomerID], r[legacy.FEmailAddress] = "C1", "other@example.com"
		r[legacy.FIsActiveRecurring], r[legacy.FNextBillDate] = "0", ""
		r[legacy.FPhoneNumber] = sale[legacy.FPhoneNumber]
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r)})
		if got := keys(rep); len(got) != 1 || got[0] != "warning customer-inconsistent 3 A" {
			t.Fatalf("got %v", got)
		}
		r[legacy.FEmailAddress] = "ANN1@example.com" // case differences are the same address
		rep = validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, r)})
		if got := keys(rep); len(got) != 0 {
			t.Fatalf("got %v", got)
		}
	})
}

// TestActiveSubscriptionRules: one subscription per active row, only a
// successful charge carries one, and one person with two customerIds is
// billed twice.
func TestActiveSubscriptionRules(t *testing.T) {
	same := func(r, as row) row {
		r[legacy.FCustomerID], r[legacy.FEmailAddress], r[legacy.FPhoneNumber] = as[legacy.FCustomerID], as[legacy.FEmailAddress], as[legacy.FPhoneNumber]
		return r
	}
	check := func(t *testing.T, rep *Report, want ...string) {
		t.Helper()
		sort.Strings(want)
		if got := keys(rep); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("got  %q\nwant %q\n%v", got, want, rep.Findings)
		}
	}
	t.Run("duplicate active rows", func(t *testing.T) {
		a := baseRow(1)
		b, c := same(baseRow(2), a), same(baseRow(3), a)
		a[legacy.FDateCreated] = "2025-01-15 10:00:00"
		b[legacy.FDateCreated] = "2025-01-20 10:00:00" // the latest: kept
		c[legacy.FDateCreated] = "2025-01-10 10:00:00"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, a, b, c)})
		check(t, rep, "warning active-duplicate 2 F", "warning active-duplicate 4 F")
		if !strings.Contains(rep.Findings[0].Message, "keep only row 3") {
			t.Errorf("message %q", rep.Findings[0].Message)
		}
		// Another product is another subscription.
		c[legacy.FProductID] = "7"
		check(t, validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, a, b, c)}), "warning active-duplicate 2 F")
		// Equal times: the later row is kept.
		b[legacy.FDateCreated] = a[legacy.FDateCreated]
		check(t, validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, a, b, c)}), "warning active-duplicate 2 F")
	})
	t.Run("only a successful charge carries a subscription", func(t *testing.T) {
		sale := baseRow(1)
		refund := same(baseRow(2), sale)
		refund[legacy.FTxnType], refund[legacy.FParentTxnID] = "REFUND", "T1"
		auth := same(baseRow(3), sale)
		auth[legacy.FTxnType], auth[legacy.FProductID] = "AUTHORIZE", "7"
		auth[legacy.FIsActiveRecurring], auth[legacy.FNextBillDate] = "0", ""
		capture := same(baseRow(4), sale)
		capture[legacy.FTxnType], capture[legacy.FParentTxnID], capture[legacy.FProductID] = "CAPTURE", "T3", "7"
		// The active refund is an error, and no second subscription.
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, sale, refund, auth, capture)})
		check(t, rep, "error active-not-charge 3 F")
		if !strings.Contains(rep.Findings[0].Message, "REFUND") {
			t.Errorf("message %q", rep.Findings[0].Message)
		}
	})
	t.Run("double billing", func(t *testing.T) {
		a := baseRow(1)
		b := baseRow(2)
		b[legacy.FEmailAddress] = strings.ToUpper(a[legacy.FEmailAddress]) // the same address
		b2 := copyRow(b)
		b2[legacy.FOrderID], b2[legacy.FMerchantTxnID], b2[legacy.FProductID] = "O22", "T22", "7"
		c := baseRow(3)
		c[legacy.FPhoneNumber] = a[legacy.FPhoneNumber]
		inactive := baseRow(4)
		inactive[legacy.FEmailAddress], inactive[legacy.FIsActiveRecurring], inactive[legacy.FNextBillDate] = a[legacy.FEmailAddress], "0", ""
		p1, p2 := baseRow(5), baseRow(6)
		p1[legacy.FPhoneNumber], p2[legacy.FPhoneNumber] = "1111111111", "1111111111" // the FAQ's placeholder
		a2 := copyRow(a)
		a2[legacy.FOrderID], a2[legacy.FMerchantTxnID], a2[legacy.FProductID] = "O11", "T11", "9"
		rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, a, b, b2, c, inactive, p1, p2, a2)})
		check(t, rep, "warning double-billing 3 AL", "warning double-billing 4 AL", "warning double-billing 5 AH")
		for _, f := range rep.Findings {
			if !strings.Contains(f.Message, `as customer "C1" (row 2)`) {
				t.Errorf("row %d does not name the other customer: %s", f.Row, f.Message)
			}
		}
		// Across files, the earlier file's customer owns the address.
		rep = validate(t, Options{}, file{"t1.csv", csvOf(legacy.Transactions, a)}, file{"t2.csv", csvOf(legacy.Transactions, b)})
		check(t, rep, "warning double-billing 2 AL")
		if !strings.HasSuffix(rep.Findings[0].File, "t2.csv") {
			t.Errorf("reported in %s", rep.Findings[0].File)
		}
	})
}

func copyRow(r row) row {
	c := row{}
	for k, v := range r {
		c[k] = v
	}
	return c
}

func TestCrossFileRules(t *testing.T) {
	txns := file{"t.csv", csvOf(legacy.Transactions, baseRow(1))}
	notes := file{"n.csv", csvOf(legacy.Notes,
		row{legacy.FCustomerID: "C1", legacy.FDateCreated: "2025-01-16 09:00:00", legacy.FNoteText: "called"},
		row{legacy.FCustomerID: "C9", legacy.FDateCreated: "2025-01-16 09:00:00", legacy.FNoteText: "who?"},
		row{legacy.FCustomerID: "C1", legacy.FDateCreated: "2025-01-16", legacy.FAgentName: strings.Repeat("a", 21), legacy.FNoteText: strings.Repeat("n", 501)},
	)}
	details := file{"d.csv", csvOf(legacy.Details,
		row{legacy.FCustomerID: "C1", legacy.FLoginID: "ann", legacy.FPassword: strings.Repeat("p", 31), legacy.FCustom1: strings.Repeat("c", 51)},
		row{legacy.FCustomerID: "C7"},
	)}
	// Notes first on the command line: they are still checked against the
	// transactions file.
	rep := validate(t, Options{}, notes, details, txns)
	want := []string{
		"error invalid-datetime 4 B", "error too-long 4 C", "error too-long 4 D", // notes row 4
		"error too-long 2 C", "error too-long 2 D", // details row 2
		"error unknown-customer 3 A", "error unknown-customer 3 A", // notes row 3, details row 3
	}
	sort.Strings(want)
	if got := keys(rep); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.Message, strings.Repeat("p", 31)) {
			t.Fatalf("password printed: %s", f.Message)
		}
	}
	// Without a transactions file, customers are not checked.
	rep = validate(t, Options{}, file{"n.csv", csvOf(legacy.Notes, row{legacy.FCustomerID: "C9", legacy.FDateCreated: "2025-01-16 09:00:00", legacy.FNoteText: "x"})})
	if got := keys(rep); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}

// redelimit rewrites a CSV text separated by delim instead of commas, as a
// spreadsheet exports it (cells quoted only when they must be).
func redelimit(t testing.TB, content string, delim rune, crlf bool) string {
	t.Helper()
	r := legacy.NewReader(strings.NewReader(content))
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = delim, crlf
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(rec.Fields)
	}
	w.Flush()
	return b.String()
}

func TestFileRules(t *testing.T) {
	clean := csvOf(legacy.Transactions, baseRow(1))
	header, body, _ := strings.Cut(clean, "\n")
	commas := baseRow(2)
	commas[legacy.FAddress1], commas[legacy.FAddress2], commas[legacy.FCity] = "1 Main St, Apt 1", "a;b", `"The" City`
	mismatch := baseRow(3)
	mismatch[legacy.FTotalAmount] = "1.00"
	europe := csvOf(legacy.Transactions, baseRow(1), commas, mismatch)
	notes := csvOf(legacy.Notes, row{legacy.FCustomerID: "C1", legacy.FDateCreated: "2025-01-16 09:00:00", legacy.FNoteText: "called, left a message; will call back"})
	tests := []struct {
		name    string
		file    file
		want    []string
		wantRow int // data rows counted
	}{
		{"not csv", file{"t.txt", clean}, []string{"error file-not-csv 1 "}, 1},
		{"empty", file{"t.csv", ""}, []string{"error file-empty 1 "}, 0},
		{"bom", file{"t.csv", "\xEF\xBB\xBF" + clean}, []string{"warning bom 1 "}, 1},
		{"cr only", file{"t.csv", strings.ReplaceAll(clean, "\n", "\r")}, []string{"error csv-line-endings 1 "}, 1},
		{"crlf is fine", file{"t.csv", strings.ReplaceAll(clean, "\n", "\r\n")}, nil, 1},
		{"blank line", file{"t.csv", header + "\n\n" + body}, []string{"warning blank-line 2 "}, 1},
		{"row of commas", file{"t.csv", clean + strings.Repeat(",", 57) + "\n"}, []string{"warning blank-line 3 "}, 1},
		{"not a csv at all", file{"t.csv", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, []string{"error file-kind-unknown 1 "}, 0},
		{"unknown column with suggestion", file{"t.csv", strings.Replace(clean, `"emailAddress"`, `"emailAdress"`, 1)},
			[]string{"error header-missing-required 1 ", "error header-unknown 1 "}, 1},
		{"duplicate column", file{"t.csv", strings.Replace(header, `"quantity"`, `"firstName"`, 1) + "\n" + body},
			[]string{"error header-duplicate 1 ", "warning header-missing-optional 1 "}, 1},
		{"ragged row", file{"t.csv", clean + `"x","y"` + "\n"}, []string{"error csv-field-count 3 "}, 2},
		{"bare quote", file{"t.csv", clean + strings.Replace(body, `"Austin"`, `Aus"tin`, 1)}, []string{"error csv-syntax 3 "}, 2},
		{"unclosed quote", file{"t.csv", clean + `"C2","O2` + "\n"}, []string{"error csv-syntax 3 "}, 2},
		{"nul byte", file{"t.csv", clean + strings.Replace(body, "Austin", "Aus\x00tin", 1)}, []string{"error csv-nul 3 "}, 2},
		{"windows-1252", file{"t.csv", strings.Replace(clean, "Lee", "L\xe9e", 1)}, []string{"error encoding 2 AA"}, 1},
		{"million-column line", file{"t.csv", clean + strings.Repeat("x,", 600) + "x\n"}, []string{"error csv-too-many-fields 3 "}, 2},
		{"semicolons", file{"t.csv", redelimit(t, clean, ';', false)}, []string{"error csv-delimiter 1 "}, 1},
		{"tabs", file{"t.csv", redelimit(t, clean, '\t', false)}, []string{"error csv-delimiter 1 "}, 1},
		{"semicolons, quoted header", file{"t.csv", strings.ReplaceAll(clean, `","`, `";"`)}, []string{"error csv-delimiter 1 "}, 1},
		{"semicolons read with their delimiter", file{"t.csv", "\xEF\xBB\xBF" + redelimit(t, europe, ';', true)},
			[]string{"warning bom 1 ", "error csv-delimiter 1 ", "error total-mismatch 4 U"}, 3},
		{"tab-separated notes", file{"n.csv", redelimit(t, notes, '\t', false)}, []string{"error csv-delimiter 1 "}, 1},
		{"semicolons in a comma file are data", file{"t.csv", csvOf(legacy.Transactions, commas)}, nil, 1},
		{"huge field", file{"t.csv", clean + strings.Replace(body, "Austin", strings.Repeat("x", 2<<20), 1) + body},
			[]string{"error csv-record-too-large 3 ", "error duplicate-merchant-txn-id 4 P", "warning active-duplicate 2 F"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := validate(t, Options{}, tt.file)
			got := keys(rep)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got  %q\nwant %q\n%v", got, want, rep.Findings)
			}
			if rep.Files[0].Rows != tt.wantRow {
				t.Errorf("rows %d, want %d", rep.Files[0].Rows, tt.wantRow)
			}
			for _, f := range rep.Findings {
				if f.Rule == RuleCSVDelimiter && !strings.Contains(f.Message, `";" (semicolon)`) && !strings.Contains(f.Message, "a tab") {
					t.Errorf("the message does not name the delimiter: %s", f.Message)
				}
			}
		})
	}
}

// TestHeaderFindingsNameTheColumn: a finding about a column of the header
// names it in field: a misspelt one as the file writes it.
func TestHeaderFindingsNameTheColumn(t *testing.T) {
	clean := csvOf(legacy.Transactions, baseRow(1))
	header, body, _ := strings.Cut(clean, "\n")
	header = strings.Replace(header, `"emailAddress"`, `"emailAdress"`, 1)
	header = strings.Replace(header, `"quantity"`, `"firstName"`, 1)
	rep := validate(t, Options{}, file{"t.csv", header + "\n" + body})
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Rule+"="+f.Field)
	}
	sort.Strings(got)
	want := []string{"header-duplicate=firstName", "header-missing-optional=quantity", "header-missing-required=emailAddress", "header-unknown=emailAdress"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	var out bytes.Buffer
	WriteJSON(&out, rep)
	if !strings.Contains(out.String(), `"field": "emailAdress"`) {
		t.Fatalf("json: %s", out.String())
	}
}

func TestHeaderOrderAndMissingOptional(t *testing.T) {
	spec := legacy.SpecFor(legacy.Notes)
	_ = spec
	in := "\"noteText\",\"customerId\",\"dateCreated\"\n\"hi\",\"C1\",\"2025-01-01 00:00:00\"\n"
	rep := validate(t, Options{}, file{"n.csv", in})
	want := []string{"warning header-missing-optional 1 ", "warning header-order 1 "}
	if got := keys(rep); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v", got)
	}
}

func TestMaxFindingsKeepsCounts(t *testing.T) {
	var rows []row
	for i := 1; i <= 50; i++ {
		r := baseRow(i)
		r[legacy.FAddress2] = ""
		rows = append(rows, r)
	}
	rep := validate(t, Options{MaxFindings: 3}, file{"t.csv", csvOf(legacy.Transactions, rows...)})
	if len(rep.Findings) != 3 || rep.Files[0].Warnings != 50 || rep.Counts[0].Count != 50 {
		t.Fatalf("findings %d, warnings %d, counts %+v", len(rep.Findings), rep.Files[0].Warnings, rep.Counts)
	}
	if rep.Findings[0].Row != 2 || rep.Findings[2].Row != 4 {
		t.Fatalf("not the first examples: %+v", rep.Findings)
	}
}

// TestTextSummarisesWarningsOnMostRows: a warning on most rows is one line
// with its count and examples in text; JSON keeps every finding.
func TestTextSummarisesWarningsOnMostRows(t *testing.T) {
	var rows []row
	for i := 1; i <= 40; i++ {
		r := baseRow(i)
		r[legacy.FAddress2] = ""
		if i <= 3 {
			r[legacy.FCity] = "=cmd"
		}
		rows = append(rows, r)
	}
	rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, rows...)})
	var text, js bytes.Buffer
	WriteText(&text, rep, false)
	WriteJSON(&js, rep)
	if n := strings.Count(text.String(), "the seed marks it required but"); n != 1 {
		t.Errorf("the address2 message is shown %d times:\n%s", n, text.String())
	}
	if !strings.Contains(text.String(), "address2-empty ×40, on 100% of the rows") || !strings.Contains(text.String(), "e.g. ") {
		t.Errorf("no summary line:\n%s", text.String())
	}
	if n := strings.Count(text.String(), "starts with '='"); n != 3 {
		t.Errorf("a warning on a few rows lists them: %d lines\n%s", n, text.String())
	}
	if n := strings.Count(js.String(), `"rule": "address2-empty"`); n != 40 {
		t.Errorf("json holds %d address2-empty findings, want 40", n)
	}
}

// TestSensitiveValuesNeverPrinted: a bad card, routing or account number is
// shown by its last four at most, in every output format.
func TestSensitiveValuesNeverPrinted(t *testing.T) {
	r := baseRow(1)
	c := []byte(luhnNumber("4111", 16))
	c[3] = '2' // no longer Luhn-valid (one digit changed)
	r[legacy.FCardNumber] = string(c)
	r[legacy.FACHRoutingNumber] = "123456789"
	r[legacy.FACHAccountNumber] = "98765-4321"
	rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, r)})
	var out bytes.Buffer
	WriteJSON(&out, rep)
	WriteCSV(&out, rep)
	WriteText(&out, rep, false)
	for _, secret := range []string{string(c), string(c[:12]), "123456789", "12345", "98765-4321", "98765"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("output contains %q:\n%s", secret, out.String())
		}
	}
	if len(rep.Findings) < 3 {
		t.Fatalf("expected findings for card, routing and account: %v", keys(rep))
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := []legacy.Input{{Name: "t.csv", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(strings.Repeat(csvOf(legacy.Transactions, baseRow(1)), 1000))), nil
	}}}
	if _, err := Validate(ctx, in, Options{}); err == nil {
		t.Fatal("cancelled validation returned no error")
	}
}

// TestEveryRuleIsTested guards the promise that every rule of the spec has a
// test expecting it: each rule id must appear in an expectation here.
func TestEveryRuleIsTested(t *testing.T) {
	src, err := os.ReadFile("check_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		if !strings.Contains(string(src), " "+r.ID+" ") {
			t.Errorf("no test expects rule %s", r.ID)
		}
	}
}

// TestPanicInARuleIsAnError: a panic in a worker (a bug in a rule) ends
// the validation of that file with an error, not the process, and the
// error does not quote the input.
func TestPanicInARuleIsAnError(t *testing.T) {
	r := &fileRun{}
	res := r.safeWork([]byte("x"))
	if res == nil || res.err == nil || !strings.Contains(res.err.Error(), "internal error") {
		t.Fatalf("a panicking chunk gave %+v", res)
	}
}
