package synth

import "github.com/konduit/konduit/internal/crm"

// Catalog is the generated merchant's setup in Konnektive: campaigns with
// their products, merchant accounts (MIDs) and affiliates. It is the same
// for every seed, so IDs are stable across runs and tests.
type Catalog struct {
	Campaigns  []Campaign
	Merchants  []Merchant
	Affiliates []Affiliate
}

// Campaign is a Konnektive campaign.
type Campaign struct {
	ID       int
	Name     string
	Products []Product
	// Weight is the campaign's share of new customers.
	Weight int
	// Straight campaigns sell one-time products only; PREPAID payments are
	// taken there.
	Straight bool
}

// Product is a campaign product (Konnektive's campaignProductId).
type Product struct {
	ID         int
	CampaignID int
	Name       string
	SKU        string
	// Initial is the first cycle's price and shipping; Rebill the later
	// cycles'. One-time products have no rebill.
	InitialPrice, InitialShip crm.Money
	RebillPrice, RebillShip   crm.Money
	// TrialDays is the wait before cycle 2, IntervalDays the wait between
	// later cycles; 0 for one-time products.
	TrialDays, IntervalDays int
	Upsell                  bool  // offered after the main sale, never the main product
	Variants                []int // Konnektive variantDetailIds, if any
}

// Recurring reports whether the product rebills.
func (p *Product) Recurring() bool { return p.IntervalDays > 0 }

// Merchant is a merchant account (MID) the transactions are billed against.
type Merchant struct {
	ID        int
	Name      string
	Gateway   string
	Countries []string // billing countries routed here
	PaySource string   // CREDITCARD, CHECK or PREPAID
	// Currency is the ISO 4217 code the MID settles in: its sales are in
	// it (the European MID bills in euros, the others in US dollars).
	Currency string
	// Descriptor is what the card statement shows (merchantDescriptor).
	Descriptor string
	// AuthCapture MIDs authorize at checkout and capture at shipment.
	AuthCapture bool
	txnFormat   txnFormat
}

// Affiliate is a traffic source with its sub-affiliates.
type Affiliate struct {
	ID      string
	Name    string
	SubAffs []string
	Weight  int
}

// txnFormat is how a gateway writes its merchantTxnId.
type txnFormat int

const (
	fmtNumeric10 txnFormat = iota // NMI: 10 digits
	fmtNumeric11                  // Authorize.net: 11 digits
	fmtStripe                     // ch_ + 24 base62
	fmtCheckout                   // pay_ + 26 base32
	fmtBraintree                  // 8 lower-case alphanumerics
	fmtACH                        // ACH- + 12 hex
	fmtPrepaid                    // PP- + 10 digits
)

var catalog = Catalog{
	Campaigns: []Campaign{
		{ID: 1001, Name: "Lumiere Skin Trial", Weight: 35, Products: []Product{
			{ID: 2001, CampaignID: 1001, Name: "Lumiere Age-Defying Serum", SKU: "LUM-SER-30", InitialPrice: 0, InitialShip: 495, RebillPrice: 8995, RebillShip: 0, TrialDays: 14, IntervalDays: 30},
			{ID: 2002, CampaignID: 1001, Name: "Lumiere Eye Renewal Cream", SKU: "LUM-EYE-15", InitialPrice: 3995, InitialShip: 0, Upsell: true},
		}},
		{ID: 1002, Name: "Peak Roast Coffee Club", Weight: 30, Products: []Product{
			{ID: 2101, CampaignID: 1002, Name: "Coffee Club Monthly 2 Bags", SKU: "PRC-M2", InitialPrice: 2999, InitialShip: 599, RebillPrice: 2999, RebillShip: 599, TrialDays: 30, IntervalDays: 30, Variants: []int{31, 32}},
			{ID: 2102, CampaignID: 1002, Name: "Coffee Club Biweekly 1 Bag", SKU: "PRC-B1", InitialPrice: 1699, InitialShip: 499, RebillPrice: 1699, RebillShip: 499, TrialDays: 14, IntervalDays: 14, Variants: []int{33, 34}},
			{ID: 2103, CampaignID: 1002, Name: "Ceramic Pour-Over Dripper", SKU: "PRC-DRIP", InitialPrice: 2400, InitialShip: 0, Upsell: true},
		}},
		{ID: 1003, Name: "VitaDaily Subscriptions", Weight: 20, Products: []Product{
			{ID: 2201, CampaignID: 1003, Name: "VitaDaily Multivitamin 60ct", SKU: "VD-MULTI-60", InitialPrice: 4490, InitialShip: 0, RebillPrice: 4490, RebillShip: 0, TrialDays: 60, IntervalDays: 60},
			{ID: 2202, CampaignID: 1003, Name: "VitaDaily Omega-3 30ct", SKU: "VD-OMEGA-30", InitialPrice: 1990, InitialShip: 395, RebillPrice: 1990, RebillShip: 395, TrialDays: 30, IntervalDays: 30},
			{ID: 2203, CampaignID: 1003, Name: "VitaDaily Pill Organizer", SKU: "VD-ORG", InitialPrice: 995, InitialShip: 0, Upsell: true},
		}},
		{ID: 1004, Name: "KetoBurn Straight Sale", Weight: 15, Straight: true, Products: []Product{
			{ID: 2301, CampaignID: 1004, Name: "KetoBurn 1 Bottle", SKU: "KB-1", InitialPrice: 4995, InitialShip: 695},
			{ID: 2302, CampaignID: 1004, Name: "KetoBurn 3 Bottles", SKU: "KB-3", InitialPrice: 11985, InitialShip: 0},
			{ID: 2303, CampaignID: 1004, Name: "KetoBurn Shaker Bottle", SKU: "KB-SHK", InitialPrice: 1495, InitialShip: 0, Upsell: true},
		}},
	},
	Merchants: []Merchant{
		{ID: 11, Name: "NMI - First Data A", Gateway: "NMI", Countries: []string{"US"}, PaySource: "CREDITCARD", txnFormat: fmtNumeric10},
		{ID: 12, Name: "NMI - First Data B", Gateway: "NMI", Countries: []string{"US"}, PaySource: "CREDITCARD", AuthCapture: true, txnFormat: fmtNumeric10},
		{ID: 13, Name: "Authorize.net - Wells", Gateway: "Authorize.net", Countries: []string{"US", "CA"}, PaySource: "CREDITCARD", txnFormat: fmtNumeric11},
		{ID: 14, Name: "Stripe CA", Gateway: "Stripe", Countries: []string{"CA"}, PaySource: "CREDITCARD", txnFormat: fmtStripe},
		{ID: 15, Name: "Checkout.com EU", Gateway: "Checkout.com", Countries: []string{"GB", "DE"}, PaySource: "CREDITCARD", AuthCapture: true, Currency: "EUR", txnFormat: fmtCheckout},
		{ID: 16, Name: "Braintree AU", Gateway: "Braintree", Countries: []string{"AU"}, PaySource: "CREDITCARD", txnFormat: fmtBraintree},
		{ID: 17, Name: "Forte ACH", Gateway: "Forte", Countries: []string{"US"}, PaySource: "CHECK", txnFormat: fmtACH},
		{ID: 18, Name: "Prepaid Orders", Gateway: "Offline", PaySource: "PREPAID", txnFormat: fmtPrepaid},
	},
	Affiliates: []Affiliate{
		{ID: "AFF1001", Name: "SocialBuy Media", SubAffs: []string{"fb_adset_17", "fb_adset_22", "ig_story_3"}, Weight: 25},
		{ID: "AFF1002", Name: "NativeReach", SubAffs: []string{"taboola_41", "outbrain_9"}, Weight: 15},
		{ID: "AFF1003", Name: "SearchPro", SubAffs: []string{"gads_brand", "gads_generic", ""}, Weight: 15},
		{ID: "AFF1004", Name: "Influence Co", SubAffs: []string{"yt_review_88", "tiktok_12"}, Weight: 10},
	},
}

func init() {
	for i := range catalog.Merchants {
		m := &catalog.Merchants[i]
		if m.Currency == "" {
			m.Currency = "USD"
		}
		m.Descriptor = descriptor(m.Name)
	}
}

// descriptor is a statement descriptor: the name in capitals, at most 22
// characters.
func descriptor(name string) string {
	b := []byte(name)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	if len(b) > 22 {
		b = b[:22]
	}
	return string(b)
}

// affiliateName is the name of an affiliate id ("" for none).
func affiliateName(id string) string {
	for _, a := range catalog.Affiliates {
		if a.ID == id && id != "" {
			return a.Name
		}
	}
	return ""
}

func campaignName(id int) string {
	for _, c := range catalog.Campaigns {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}

// DefaultCatalog returns the generated merchant's catalog. The slices are
// copies: changing them does not change what Generate produces.
func DefaultCatalog() Catalog {
	c := Catalog{
		Campaigns:  append([]Campaign(nil), catalog.Campaigns...),
		Merchants:  append([]Merchant(nil), catalog.Merchants...),
		Affiliates: append([]Affiliate(nil), catalog.Affiliates...),
	}
	for i := range c.Campaigns {
		c.Campaigns[i].Products = append([]Product(nil), c.Campaigns[i].Products...)
	}
	return c
}

// Product returns the product with the ID.
func (c *Catalog) Product(id int) (*Product, bool) {
	for i := range c.Campaigns {
		for j := range c.Campaigns[i].Products {
			if c.Campaigns[i].Products[j].ID == id {
				return &c.Campaigns[i].Products[j], true
			}
		}
	}
	return nil, false
}

// Merchant returns the merchant account with the ID.
func (c *Catalog) Merchant(id int) (*Merchant, bool) {
	for i := range c.Merchants {
		if c.Merchants[i].ID == id {
			return &c.Merchants[i], true
		}
	}
	return nil, false
}
