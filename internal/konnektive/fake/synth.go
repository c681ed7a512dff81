package fake

import (
	"context"
	"fmt"
	"strconv"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/synth"
)

// CatalogFromSynth is the fake's catalog of a generated merchant.
func CatalogFromSynth(sc synth.Catalog) Catalog {
	var c Catalog
	for _, camp := range sc.Campaigns {
		c.Campaigns = append(c.Campaigns, Campaign{ID: camp.ID, Name: camp.Name, Type: "ECOMMERCE"})
		for _, p := range camp.Products {
			c.Products = append(c.Products, Product{ID: p.ID, CampaignID: p.CampaignID, Name: p.Name, SKU: p.SKU, Price: p.InitialPrice, Shipping: p.InitialShip})
		}
	}
	for _, m := range sc.Merchants {
		c.Merchants = append(c.Merchants, Merchant{ID: m.ID, Name: m.Name, Descriptor: m.Descriptor, Currency: m.Currency})
	}
	for _, a := range sc.Affiliates {
		c.Affiliates = append(c.Affiliates, Affiliate{ID: a.ID, Name: a.Name})
	}
	return c
}

// FromSynth turns a generated customer into the rows the fake serves.
func FromSynth(c *synth.Customer) Bundle {
	b := Bundle{Customer: c.Customer, Purchases: c.Purchases}
	p := c.Payment
	b.Contact = Contact{
		Address1:   c.Billing.Line1,
		Address2:   c.Billing.Line2,
		City:       c.Billing.City,
		IPAddress:  syntheticIP(c.Index),
		PaySource:  p.Source,
		CardType:   p.CardType,
		CardLast4:  p.Last4(),
		CardExpiry: p.Expiry(),
		ACHAccount: p.AccountNumber,
		ACHRouting: p.RoutingNumber,
	}
	if len(p.CardNumber) >= 6 {
		b.Contact.CardBin = p.CardNumber[:6]
	}
	if c.Details != nil {
		b.Contact.ECommercePassword = c.Details.Password
	}
	b.Orders = make([]crm.Order, 0, len(c.Orders))
	for i := range c.Orders {
		b.Orders = append(b.Orders, c.Orders[i].Order)
	}
	b.Transactions = make([]crm.Transaction, 0, len(c.Transactions))
	b.TxnInfo = make([]TxnInfo, 0, len(c.Transactions))
	for i := range c.Transactions {
		t := &c.Transactions[i]
		b.Transactions = append(b.Transactions, t.Transaction)
		b.TxnInfo = append(b.TxnInfo, TxnInfo{ResponseText: t.ResponseText, AuthCode: t.AuthCode, RecycleNumber: t.RecycleNumber})
	}
	return b
}

// syntheticIP is an address from the documentation ranges (RFC 5737).
func syntheticIP(i int) string {
	nets := [...]string{"192.0.2.", "198.51.100.", "203.0.113."}
	return nets[i%3] + strconv.Itoa(1+(i/3)%254)
}

// Generate fills s with a generated merchant: the catalog and every
// customer of opts.
func Generate(ctx context.Context, s *Server, opts synth.Options) error {
	s.SetCatalog(CatalogFromSynth(synth.DefaultCatalog()))
	err := synth.Generate(ctx, opts, func(c *synth.Customer) error {
		return s.Add(FromSynth(c))
	})
	if err != nil {
		return fmt.Errorf("generate merchant: %w", err)
	}
	return nil
}
