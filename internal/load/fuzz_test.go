package load

import (
	"github.com/konduit/konduit/internal/cardnum"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/legacy"
)

// luhn appends the Luhn check digit: test numbers are made at run time,
// never written in the repository.
func luhn(digits string) string { return digits + string(cardnum.CheckDigit(digits)) }

// FuzzMapRow feeds arbitrary transactions rows to the row mapper: it must
// never panic, and a mapped row never carries the card, routing or account
// number anywhere but the card's last four digits.
func FuzzMapRow(f *testing.F) {
	spec := legacy.SpecFor(legacy.Transactions)
	header := spec.Header()
	row := make([]string, len(header))
	set := func(name, v string) { row[spec.Index(name)] = v }
	set(legacy.FCustomerID, "100001")
	set(legacy.FOrderID, "A1")
	set(legacy.FDateCreated, "2025-11-02 01:30:00")
	set(legacy.FProductID, "2001")
	set(legacy.FMerchantTxnID, "ch_1")
	set(legacy.FTxnType, "SALE")
	set(legacy.FResponseType, "SUCCESS")
	set(legacy.FTotalAmount, "29.99")
	set(legacy.FPaySource, "CREDITCARD")
	set(legacy.FCardNumber, luhn("4"+strings.Repeat("0", 14)))
	set(legacy.FIsChargedback, "1")
	set(legacy.FChargebackTotal, "29.99")
	set(legacy.FChargebackDate, "2025-12-01")
	set(legacy.FIsActiveRecurring, "1")
	set(legacy.FNextBillDate, "2025-12-02")
	f.Add(strings.Join(row, ","))
	set(legacy.FFirstName, luhn("5"+strings.Repeat("3", 14)))
	set(legacy.FAddress2, "&"+luhn("4"+strings.Repeat("1", 12)))
	f.Add(strings.Join(row, ","))
	set(legacy.FOrderID, luhn("6"+strings.Repeat("2", 14)))
	f.Add(strings.Join(row, ","))
	f.Add(strings.Repeat(",", len(header)-1))
	f.Add(`100001,A1,2025-03-09 02:30:00,1,2,0,,CHECK,,,,` + luhn("0110000") + `,` + luhn("98765432") + `,CHECKING,9,x,REFUND,-1.5,0,0,1.234,DECLINE`)
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	cols := newColumns(header)
	keys := cols.keys(legacy.Transactions)
	f.Fuzz(func(t *testing.T, line string) {
		r := legacy.NewReader(strings.NewReader(line))
		rec, err := r.Read()
		if err != nil || rec == nil {
			return
		}
		orig := append([]string(nil), rec.Fields...)
		if col, ok := keys.screen(rec); !ok {
			if v := cols.get(orig, col); !cardnum.HasCard(v) {
				t.Fatalf("screen refused %s without a card number in it", col)
			}
			return
		}
		tx, c, p, err := mapRow(cols, rec, "f.csv", loc)
		if err != nil {
			return
		}
		// Nothing stored holds a card number.
		stored := []string{tx.ID, tx.ParentID, tx.MerchantTxnID, tx.CustomerID, tx.OrderID, tx.CampaignID, tx.ProductID,
			tx.MerchantID, tx.AffID, tx.SubAffID, tx.Country, tx.TxnType, tx.ResponseType, tx.PaySource, tx.CardLast4,
			tx.ChargebackWhy, tx.Created.Raw, c.ID, c.FirstName, c.LastName, c.Email, c.Phone, c.Country, c.State, c.PostalCode}
		if p != nil {
			stored = append(stored, p.ID, p.OrderID, p.CustomerID, p.CampaignID, p.ProductID, p.MerchantID, p.Status)
		}
		for _, v := range stored {
			if cardnum.HasCard(v) {
				t.Fatalf("a mapped value holds a card number: %s", cardnum.MaskText(v))
			}
		}
		for _, raw := range [][]byte{tx.Raw, c.Raw} {
			if m := cardnum.MaskJSON(raw); string(m) != string(raw) {
				t.Fatalf("the raw JSON holds a card number: %s", m)
			}
		}
		rec.Fields = orig
		if tx.ID == "" || tx.CustomerID == "" || tx.Created.IsZero() {
			t.Fatalf("mapped a row without id, customer or time: %+v", tx)
		}
		if len(tx.CardLast4) > 4 {
			t.Fatalf("card last four %q", tx.CardLast4)
		}
		for _, name := range []string{legacy.FCardNumber, legacy.FACHRoutingNumber, legacy.FACHAccountNumber, legacy.FExternalToken} {
			v := cols.get(rec.Fields, name)
			if len(v) < 8 {
				continue
			}
			others := strings.Join(rec.Fields[:spec.Index(name)], ",") + strings.Join(rec.Fields[spec.Index(name)+1:], ",")
			if strings.Contains(others, v) {
				continue // the value also appears in a field that is kept
			}
			if strings.Contains(string(tx.Raw), v) || strings.Contains(string(c.Raw), v) {
				t.Fatalf("%s stored in the raw JSON", name)
			}
			if p != nil && strings.Contains(p.ID+p.OrderID, v) {
				t.Fatalf("%s stored in a purchase", name)
			}
		}
	})
}
