package fake

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
)

// The fake's transaction rows carry what a real account's do: the names
// of the campaign, product, merchant account (and descriptor) and
// affiliate, the currency of each MID, and cards of several brands.
func TestRowsCarryNamesCurrenciesBrands(t *testing.T) {
	_, srv := server(t, Options{})
	currencies, brands := map[string]int{}, map[string]int{}
	named := map[string]int{}
	for page := 1; ; page++ {
		p := post(t, srv.URL, "/transactions/query/", creds("startDate", "01/01/2020", "endDate", "12/31/2027",
			"resultsPerPage", "200", "page", fmt.Sprint(page))).page(t)
		for _, raw := range p.Data {
			var r struct {
				CurrencyCode, CurrencySymbol, CardType, CardBin, PaySource     string
				CampaignName, Merchant, MerchantDescriptor, AffID, SourceTitle string
				Items                                                          map[string]struct{ Name string }
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			currencies[r.CurrencyCode]++
			if r.CurrencySymbol == "" {
				t.Errorf("row without a currency symbol: %s", raw)
			}
			if r.PaySource == "CREDITCARD" {
				brands[cardnum.BrandOf(r.CardType, r.CardBin)]++
				if cardnum.BINBrand(r.CardBin) != cardnum.TypeBrand(r.CardType) {
					t.Errorf("cardBin %s and cardType %s disagree", r.CardBin, r.CardType)
				}
			}
			if r.CampaignName != "" {
				named["campaign"]++
			}
			if r.Merchant != "" && r.MerchantDescriptor != "" {
				named["merchant"]++
			}
			for _, it := range r.Items {
				if it.Name != "" {
					named["product"]++
				}
			}
			if r.AffID != "" {
				if r.SourceTitle == "" {
					t.Errorf("affiliate %s without a name", r.AffID)
				}
				named["affiliate"]++
			}
		}
		if len(p.Data) < 200 {
			break
		}
	}
	if currencies["USD"] == 0 || currencies["EUR"] == 0 || len(currencies) != 2 {
		t.Errorf("currencies %v, want USD and EUR", currencies)
	}
	if len(brands) < 3 || brands[""] > 0 {
		t.Errorf("brands %v, want three or more, each known", brands)
	}
	for _, k := range []string{"campaign", "merchant", "product", "affiliate"} {
		if named[k] == 0 {
			t.Errorf("no row names its %s", k)
		}
	}
}
