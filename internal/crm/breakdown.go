package crm

// Breakdown is one way a report can group (and the dashboard filter):
// its name on the command line and the transactions column that holds it.
type Breakdown struct {
	Name   string // campaign, product, ...
	Column string // the transactions column
	// Named breakdowns have a names table (campaigns, products, merchant
	// accounts, affiliates) the reports show beside the id.
	Named bool
}

// Breakdowns is the one list of report breakdowns. The rollups keep the
// first six (internal/rollup.Dims, whose order is stored in the rollup
// tables: append, never reorder); currency and card brand are read from
// the transactions.
var Breakdowns = []Breakdown{
	{"campaign", "campaign_id", true},
	{"product", "product_id", true},
	{"affiliate", "aff_id", true},
	{"subaffiliate", "sub_aff_id", false},
	{"merchant", "merchant_id", true},
	{"country", "country", false},
	{"currency", "currency", false},
	{"brand", "card_brand", false},
}

// BreakdownByName finds a breakdown; ok is false for an unknown name.
func BreakdownByName(name string) (Breakdown, bool) {
	for _, b := range Breakdowns {
		if b.Name == name {
			return b, true
		}
	}
	return Breakdown{}, false
}
