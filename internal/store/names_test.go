package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/konduit/konduit/internal/crm"
)

func TestNamesAndCurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ string) {
		ctx := context.Background()
		ny := mustLoc(t, "America/New_York")
		in := newIntegration(t, s, "acme", "America/New_York")
		_, _, x, _ := sample(t, ny, "1")
		x.Currency, x.CardBrand = "EUR", "Visa"
		x.Names = crm.Names{Campaign: "Spring", Product: "Serum", Merchant: "NMI A", MerchantDescriptor: "NMI*A", Affiliate: "Social"}
		y := x
		y.ID, y.ProductID, y.Names = "T2", "8", crm.Names{} // no names: nothing stored for product 8
		write := func(rows ...crm.Transaction) {
			t.Helper()
			if err := s.Update(ctx, func(tx *Tx) error { return tx.UpsertTransactions(ctx, in.ID, rows) }); err != nil {
				t.Fatal(err)
			}
		}
		write(x, y)
		want := map[string]map[string]string{
			"campaign_id": {"3": "Spring"}, "product_id": {"7": "Serum"}, "merchant_id": {"12": "NMI A"}, "aff_id": {"aff": "Social"}, "country": {},
		}
		for col, w := range want {
			got, err := s.Names(ctx, in.ID, col)
			if err != nil || !reflect.DeepEqual(got, w) {
				t.Errorf("names of %s = %v, %v; want %v", col, got, err, w)
			}
		}
		// A renamed campaign is renamed; a row without names keeps them.
		x.Names.Campaign = "Spring 2"
		x.Amount++
		y.Amount++
		write(x, y)
		if got, _ := s.Names(ctx, in.ID, "campaign_id"); got["3"] != "Spring 2" {
			t.Errorf("renamed campaign: %v", got)
		}
		if got, _ := s.Names(ctx, in.ID, "product_id"); got["7"] != "Serum" {
			t.Errorf("product name lost: %v", got)
		}
		snap := readAll(t, s, in.ID)
		for _, r := range snap.Transactions {
			if r.Currency != "EUR" || r.CardBrand != "Visa" {
				t.Errorf("transaction %s: currency %q brand %q", r.ID, r.Currency, r.CardBrand)
			}
		}
	})
}
