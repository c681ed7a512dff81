package synth

import (
	"bytes"
	"context"
	"encoding/csv"
	"github.com/konduit/konduit/internal/cardnum"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

func nyc(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func testOptions(t testing.TB, customers int) Options {
	return Options{Customers: customers, Seed: 42, AsOf: crm.Date{Year: 2026, Month: time.March, Day: 15}, Months: 14, TimeZone: nyc(t)}
}

func writeSet(t *testing.T, opts Options) (string, Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := WriteLegacy(context.Background(), opts, dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, st
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		t.Errorf("%s starts with a byte-order mark", path)
	}
	if !utf8.Valid(data) {
		t.Errorf("%s is not UTF-8", path)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func TestDeterministic(t *testing.T) {
	opts := testOptions(t, 400)
	a, _ := writeSet(t, opts)
	b, _ := writeSet(t, opts)
	opts.Seed++
	c, _ := writeSet(t, opts)
	for _, k := range legacy.Kinds {
		x, _ := os.ReadFile(filepath.Join(a, k.FileName()))
		y, _ := os.ReadFile(filepath.Join(b, k.FileName()))
		z, _ := os.ReadFile(filepath.Join(c, k.FileName()))
		if len(x) < 1000 {
			t.Errorf("%s: only %d bytes", k, len(x))
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same options", k)
		}
		if bytes.Equal(x, z) {
			t.Errorf("%s is the same for two seeds", k)
		}
	}
}

var (
	usStates = strings.Fields("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY")
	caProvs  = strings.Fields("AB BC MB NB NL NS NT NU ON PE QC SK YT")
	decimal  = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,2})?$`)
	money2   = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)
	email    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	usZip    = regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`)
	digitRun = regexp.MustCompile(`[0-9]{13,19}`)
)

// checkType checks a non-empty value against its column's type, as
// legacy-import.md's Types table says.
func checkType(col legacy.Column, v string) string {
	if col.Type != legacy.Integer && utf8.RuneCountInString(v) > col.MaxLen && col.MaxLen > 0 {
		return "longer than " + strconv.Itoa(col.MaxLen)
	}
	allDigits := v != "" && strings.Trim(v, "0123456789") == ""
	switch col.Type {
	case legacy.Country:
		if !slices.Contains([]string{"US", "CA", "GB", "AU", "DE"}, v) {
			return "not a country"
		}
	case legacy.Integer:
		if !allDigits || (col.MaxLen > 0 && len(v) > col.MaxLen) {
			return "not an integer"
		}
	case legacy.Decimal:
		if !decimal.MatchString(v) {
			return "not a decimal"
		}
	case legacy.Money2:
		if !money2.MatchString(v) {
			return "not xx.xx"
		}
	case legacy.Bit:
		if v != "0" && v != "1" {
			return "not a bit"
		}
	case legacy.Datetime:
		if _, err := time.Parse(crm.WallLayout, v); err != nil {
			return "not a datetime"
		}
	case legacy.Date:
		if _, err := time.Parse(crm.DateLayout, v); err != nil {
			return "not a date"
		}
	case legacy.Enum:
		if !slices.Contains(col.Enum, v) {
			return "not in the enum"
		}
	case legacy.Phone:
		if !allDigits {
			return "not a phone"
		}
	case legacy.Email:
		if !email.MatchString(v) {
			return "not an email"
		}
	}
	return ""
}

// checkRows applies the per-cell rules of a file: header, required and
// conditional columns, types, formula injection and stray card numbers.
func checkRows(t *testing.T, spec *legacy.Spec, recs [][]string) []map[string]string {
	t.Helper()
	if !slices.Equal(recs[0], spec.Header()) {
		t.Fatalf("%s header is not canonical: %v", spec.Kind, recs[0])
	}
	var out []map[string]string
	errs := 0
	fail := func(row int, col, format string, args ...any) {
		errs++
		if errs < 20 {
			t.Errorf("%s row %d %s: "+format, append([]any{spec.Kind, row, col}, args...)...)
		}
	}
	for i, rec := range recs[1:] {
		row := i + 2
		m := make(map[string]string, len(rec))
		for j, v := range rec {
			m[spec.Columns[j].Name] = v
		}
		for _, col := range spec.Columns {
			v := m[col.Name]
			req := col.Required.Always && !col.Required.EmptyIsWarning
			if len(col.Required.When) > 0 && !col.Required.EmptyIsWarning {
				req = true
				for _, c := range col.Required.When {
					if !slices.Contains(c.Values, m[c.Field]) {
						req = false
					}
				}
			}
			if v == "" {
				if req {
					fail(row, col.Name, "required value is empty")
				}
				continue
			}
			if msg := checkType(col, v); msg != "" {
				fail(row, col.Name, "%s", msg)
			}
			if col.Type == legacy.Varchar && strings.ContainsAny(v[:1], "=+-@") {
				fail(row, col.Name, "starts like a formula")
			}
			if col.Name != legacy.FCardNumber {
				for _, run := range digitRun.FindAllString(v, -1) {
					if cardnum.Luhn(run) {
						fail(row, col.Name, "a card-number-like digit run")
					}
				}
			}
		}
		out = append(out, m)
	}
	return out
}

func TestLegacyFilesFollowTheSpec(t *testing.T) {
	opts := testOptions(t, 6000)
	dir, st := writeSet(t, opts)
	asOf := opts.AsOf.String()
	tx := checkRows(t, legacy.SpecFor(legacy.Transactions), readCSV(t, filepath.Join(dir, legacy.Transactions.FileName())))
	if len(tx) != st.Transactions {
		t.Fatalf("%d rows, stats say %d", len(tx), st.Transactions)
	}
	type parent struct {
		row      map[string]string
		total    crm.Money
		refunded crm.Money
	}
	byTxn := map[string]*parent{}
	orderCust := map[string]string{}
	custWho := map[string]string{}
	var cardExpired, pastNextBill, shipSep, check, prepaid, partialRefunds, line2 int
	money := func(row int, m map[string]string, f string) crm.Money {
		v, err := crm.ParseMoney(m[f])
		if err != nil {
			t.Fatalf("row %d %s: %v", row, f, err)
		}
		if v < 0 {
			t.Errorf("row %d %s: negative amount %s", row, f, m[f])
		}
		return v
	}
	for i, m := range tx {
		row := i + 2
		if _, dup := byTxn[m[legacy.FMerchantTxnID]]; dup {
			t.Errorf("row %d: merchantTxnId repeated", row)
		}
		total := money(row, m, legacy.FTotalAmount)
		if sum := money(row, m, legacy.FSubTotal) + money(row, m, legacy.FShipTotal) + money(row, m, legacy.FSalesTax); sum != total {
			t.Errorf("row %d: totalAmount %s != %s", row, total, sum)
		}
		byTxn[m[legacy.FMerchantTxnID]] = &parent{row: m, total: total}
		if c, ok := orderCust[m[legacy.FOrderID]]; ok && c != m[legacy.FCustomerID] {
			t.Errorf("row %d: order under two customers", row)
		}
		orderCust[m[legacy.FOrderID]] = m[legacy.FCustomerID]
		who := m[legacy.FFirstName] + "|" + m[legacy.FLastName] + "|" + m[legacy.FEmailAddress]
		if w, ok := custWho[m[legacy.FCustomerID]]; ok && w != who {
			t.Errorf("row %d: customer %s changes name or email", row, m[legacy.FCustomerID])
		}
		custWho[m[legacy.FCustomerID]] = who
		if d := m[legacy.FDateCreated][:10]; d > asOf {
			t.Errorf("row %d: dateCreated %s after as-of %s", row, d, asOf)
		}
		if m[legacy.FIsActiveRecurring] == "1" {
			if m[legacy.FNextBillDate] <= asOf {
				pastNextBill++
			}
		} else if m[legacy.FNextBillDate] != "" {
			t.Errorf("row %d: nextBillDate on an inactive row", row)
		}
		switch m[legacy.FPaySource] {
		case legacy.ValueCreditCard:
			n := m[legacy.FCardNumber]
			if len(n) < 13 || len(n) > 19 || !cardnum.Luhn(n) {
				t.Errorf("row %d: card number %s is not Luhn-valid", row, legacy.Mask(n))
			}
			mm, yy := m[legacy.FCardExpiryMonth], m[legacy.FCardExpiryYear]
			if len(mm) != 2 || mm < "01" || mm > "12" || len(yy) != 4 {
				t.Errorf("row %d: expiry %s/%s", row, mm, yy)
			}
			// The card is valid through the end of its expiry month.
			if nb := m[legacy.FNextBillDate]; nb != "" && yy+"-"+mm+"-31" < nb {
				cardExpired++
			}
			if nb := m[legacy.FDateCreated][:7]; yy+"-"+mm < nb {
				cardExpired++
			}
		case legacy.ValueCheck:
			check++
			if !cardnum.ABA(m[legacy.FACHRoutingNumber]) {
				t.Errorf("row %d: routing number fails the ABA checksum", row)
			}
		case legacy.ValuePrepaid:
			prepaid++
		}
		cc := m[legacy.FCountry]
		checkState := func(f, country string) {
			switch country {
			case "US":
				if !slices.Contains(usStates, m[f]) {
					t.Errorf("row %d: %s %q is no US state", row, f, m[f])
				}
			case "CA":
				if !slices.Contains(caProvs, m[f]) {
					t.Errorf("row %d: %s %q is no province", row, f, m[f])
				}
			}
		}
		checkState(legacy.FState, cc)
		if cc == "US" && !usZip.MatchString(m[legacy.FPostalCode]) {
			t.Errorf("row %d: US postal code %q", row, m[legacy.FPostalCode])
		}
		if (cc == "US" || cc == "CA") && len(m[legacy.FPhoneNumber]) != 10 {
			t.Errorf("row %d: US/CA phone %q has not 10 digits", row, m[legacy.FPhoneNumber])
		}
		if m[legacy.FAddress2] != "" {
			line2++
		}
		if m[legacy.FBillShipSame] == "0" {
			shipSep++
			checkState(legacy.FShipState, m[legacy.FShipCountry])
		}
		if q := m[legacy.FQuantity]; q != "" && q < "1" {
			t.Errorf("row %d: quantity %q", row, q)
		}
		if m[legacy.FIsChargedback] == "1" {
			if cb := money(row, m, legacy.FChargebackTotal); cb > total || cb == 0 {
				t.Errorf("row %d: chargebackTotal %s, totalAmount %s", row, cb, total)
			}
			if d := m[legacy.FChargebackDate]; d <= m[legacy.FDateCreated][:10] || d > asOf {
				t.Errorf("row %d: chargebackDate %s, dateCreated %s", row, d, m[legacy.FDateCreated])
			}
			if typ := m[legacy.FTxnType]; typ != legacy.ValueSale && typ != legacy.ValueCapture || m[legacy.FResponseType] != legacy.ValueSuccess {
				t.Errorf("row %d: chargeback on a %s", row, m[legacy.FTxnType])
			}
		}
		switch typ := m[legacy.FTxnType]; typ {
		case legacy.ValueRefund, legacy.ValueCapture:
			p, ok := byTxn[m[legacy.FParentTxnID]]
			if !ok {
				t.Errorf("row %d: parent %s is not an earlier row", row, m[legacy.FParentTxnID])
				continue
			}
			want := []string{legacy.ValueSale, legacy.ValueCapture}
			if typ == legacy.ValueCapture {
				want = []string{legacy.ValueAuthorize}
			}
			if !slices.Contains(want, p.row[legacy.FTxnType]) || p.row[legacy.FResponseType] != legacy.ValueSuccess {
				t.Errorf("row %d: %s of a %s %s", row, typ, p.row[legacy.FTxnType], p.row[legacy.FResponseType])
			}
			if p.row[legacy.FCustomerID] != m[legacy.FCustomerID] || p.row[legacy.FOrderID] != m[legacy.FOrderID] {
				t.Errorf("row %d: parent belongs to another customer or order", row)
			}
			if typ == legacy.ValueRefund {
				p.refunded += total
				if p.refunded > p.total {
					t.Errorf("row %d: refunds %s exceed the parent's %s", row, p.refunded, p.total)
				}
				if total < p.total {
					partialRefunds++
				}
			} else if total != p.total {
				t.Errorf("row %d: capture %s of an authorization of %s", row, total, p.total)
			}
		default:
			if m[legacy.FParentTxnID] != "" {
				t.Errorf("row %d: %s with a parent", row, typ)
			}
		}
	}
	if pastNextBill > 0 || cardExpired > 0 {
		t.Errorf("%d active rows bill on or before as-of, %d rows with an expired card", pastNextBill, cardExpired)
	}
	// Every kind of row the spec describes occurs.
	for _, k := range []string{"SALE/SUCCESS", "SALE/DECLINE", "AUTHORIZE/SUCCESS", "AUTHORIZE/DECLINE", "CAPTURE/SUCCESS", "REFUND/SUCCESS"} {
		if st.ByType[k] == 0 {
			t.Errorf("no %s rows", k)
		}
	}
	if st.Chargebacks == 0 || st.Leads == 0 || st.ActiveSubscriptions == 0 || shipSep == 0 || check == 0 || prepaid == 0 || partialRefunds == 0 || line2 == 0 || st.Ambiguous == 0 {
		t.Errorf("missing variety: %+v ship-separate %d check %d prepaid %d partial refunds %d address2 %d", st, shipSep, check, prepaid, partialRefunds, line2)
	}

	for _, k := range []legacy.Kind{legacy.Notes, legacy.Details} {
		rows := checkRows(t, legacy.SpecFor(k), readCSV(t, filepath.Join(dir, k.FileName())))
		if len(rows) == 0 {
			t.Errorf("%s file is empty", k)
		}
		for i, m := range rows {
			if _, ok := custWho[m[legacy.FCustomerID]]; !ok {
				t.Errorf("%s row %d: customer %s has no transactions", k, i+2, m[legacy.FCustomerID])
			}
			if k == legacy.Notes && m[legacy.FDateCreated][:10] > asOf {
				t.Errorf("%s row %d: dated after as-of", k, i+2)
			}
		}
	}
}
