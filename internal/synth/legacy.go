package synth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

var (
	txSpec      = legacy.SpecFor(legacy.Transactions)
	notesSpec   = legacy.SpecFor(legacy.Notes)
	detailsSpec = legacy.SpecFor(legacy.Details)
)

// legacyResponse maps the API's responses to the import's SUCCESS/DECLINE.
func legacyResponse(rt string) string {
	if rt == crm.RespSuccess {
		return legacy.ValueSuccess
	}
	return legacy.ValueDecline
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// LegacyTransactionRows returns the customer's rows of the transactions
// file in canonical column order (legacy.SpecFor(legacy.Transactions)).
// Transaction identifiers are merchantTxnIds; declines of either kind are
// DECLINE. Leads have no rows.
func (c *Customer) LegacyTransactionRows() [][]string {
	rows := make([][]string, 0, len(c.Transactions))
	for i := range c.Transactions {
		rows = append(rows, c.legacyTransactionRow(&c.Transactions[i]))
	}
	return rows
}

func (c *Customer) legacyTransactionRow(t *Transaction) []string {
	return c.fillTransactionRow(make([]string, len(txSpec.Columns)), t)
}

// legacyActive reports whether t's row carries isActiveRecurring=1: the
// import makes a subscription of every such row, and only a successful
// charge may carry one (shared/spec/legacy-import.md), so it is the latest
// successful SALE or CAPTURE of an ACTIVE purchase, and no other row.
func (c *Customer) legacyActive(t *Transaction) bool {
	if t.PurchaseID == "" || !t.IsSale() {
		return false
	}
	if pu := c.purchase(t.PurchaseID); pu == nil || pu.Status != "ACTIVE" {
		return false
	}
	after := false // t comes before o in the slice
	for i := range c.Transactions {
		o := &c.Transactions[i]
		if o == t {
			after = true
			continue
		}
		if o.PurchaseID == t.PurchaseID && o.IsSale() && (o.at.After(t.at) || after && o.at.Equal(t.at)) {
			return false
		}
	}
	return true
}

// LegacySubscription reports whether the legacy files carry the purchase as
// an active subscription: it is ACTIVE and has a successful charge (SALE or
// CAPTURE). An ACTIVE purchase whose checkout was only authorized when the
// generation ended has no row that may carry isActiveRecurring=1.
func (c *Customer) LegacySubscription(purchaseID string) bool {
	for i := range c.Transactions {
		if t := &c.Transactions[i]; t.PurchaseID == purchaseID && c.legacyActive(t) {
			return true
		}
	}
	return false
}

// fillTransactionRow writes t's row into row (len(txSpec.Columns)), every
// cell, and returns it.
func (c *Customer) fillTransactionRow(row []string, t *Transaction) []string {
	clear(row)
	set := func(name, v string) { row[txSpec.Index(name)] = v }
	set(legacy.FCustomerID, c.ID)
	set(legacy.FOrderID, t.OrderID)
	set(legacy.FDateCreated, t.Created.Raw)
	set(legacy.FCampaignID, t.CampaignID)
	set(legacy.FProductID, t.ProductID)
	active := c.legacyActive(t)
	if active {
		set(legacy.FNextBillDate, c.purchase(t.PurchaseID).NextBillDate.String())
	}
	set(legacy.FIsActiveRecurring, bit(active))
	p := &c.Payment
	set(legacy.FPaySource, p.Source)
	switch p.Source {
	case legacy.ValueCreditCard:
		set(legacy.FCardNumber, p.CardNumber)
		set(legacy.FCardExpiryMonth, twoDigits(p.ExpiryMonth))
		set(legacy.FCardExpiryYear, strconv.Itoa(p.ExpiryYear))
		set(legacy.FExternalToken, p.ExternalToken)
	case legacy.ValueCheck:
		set(legacy.FACHRoutingNumber, p.RoutingNumber)
		set(legacy.FACHAccountNumber, p.AccountNumber)
		set(legacy.FACHAccountType, p.AccountType)
	}
	set(legacy.FMerchantID, t.MerchantID)
	set(legacy.FMerchantTxnID, t.MerchantTxnID)
	set(legacy.FTxnType, t.TxnType)
	set(legacy.FSubTotal, t.SubTotal.String())
	set(legacy.FShipTotal, t.ShipTotal.String())
	set(legacy.FSalesTax, t.SalesTax.String())
	set(legacy.FTotalAmount, t.Amount.String())
	resp := legacyResponse(t.ResponseType)
	set(legacy.FResponseType, resp)
	set(legacy.FResponseText, resp)
	set(legacy.FAuthCode, t.AuthCode)
	set(legacy.FParentTxnID, t.ParentMerchantTxnID)
	set(legacy.FFirstName, c.FirstName)
	set(legacy.FLastName, c.LastName)
	set(legacy.FAddress1, c.Billing.Line1)
	set(legacy.FAddress2, c.Billing.Line2)
	set(legacy.FCity, c.Billing.City)
	set(legacy.FState, c.Billing.State)
	set(legacy.FCountry, c.Billing.Country)
	set(legacy.FPostalCode, c.Billing.PostalCode)
	set(legacy.FPhoneNumber, c.Phone)
	set(legacy.FHomePhone, c.HomePhone)
	set(legacy.FCellPhone, c.CellPhone)
	set(legacy.FWorkPhone, c.WorkPhone)
	set(legacy.FEmailAddress, c.Email)
	set(legacy.FBillShipSame, bit(c.ShipSame))
	if !c.ShipSame {
		set(legacy.FShipAddress1, c.Shipping.Line1)
		set(legacy.FShipAddress2, c.Shipping.Line2)
		set(legacy.FShipCity, c.Shipping.City)
		set(legacy.FShipState, c.Shipping.State)
		set(legacy.FShipCountry, c.Shipping.Country)
		set(legacy.FShipPostalCode, c.Shipping.PostalCode)
	}
	set(legacy.FAffID, c.AffID)
	set(legacy.FSubAffID, c.SubAffID)
	if t.IsSale() {
		if o := c.order(t.OrderID); o != nil && !o.Shipment.Date.IsZero() {
			set(legacy.FShipDate, o.Shipment.Date.String())
			set(legacy.FShipCarrier, o.Shipment.Carrier)
			set(legacy.FShipMethod, o.Shipment.Method)
			set(legacy.FTrackingNumber, o.Shipment.TrackingNumber)
		}
	}
	set(legacy.FIsChargedback, bit(t.Chargedback))
	if t.Chargedback {
		set(legacy.FChargebackTotal, t.ChargebackAmt.String())
		set(legacy.FChargebackDate, t.ChargebackDay.String())
		set(legacy.FChargebackReason, t.ChargebackWhy)
	}
	if t.Quantity > 0 {
		set(legacy.FQuantity, strconv.Itoa(t.Quantity))
	}
	if t.VariantDetailID > 0 {
		set(legacy.FVariantDetailID, strconv.Itoa(t.VariantDetailID))
	}
	return row
}

// LegacyNotes returns the customer's rows of the notes file in canonical
// column order.
func (c *Customer) LegacyNotes() [][]string {
	if len(c.Transactions) == 0 {
		return nil // the notes file may only name customers with transactions
	}
	rows := make([][]string, 0, len(c.Notes))
	for _, n := range c.Notes {
		row := make([]string, len(notesSpec.Columns))
		row[notesSpec.Index(legacy.FCustomerID)] = c.ID
		row[notesSpec.Index(legacy.FDateCreated)] = n.Created.Raw
		row[notesSpec.Index(legacy.FAgentName)] = n.Agent
		row[notesSpec.Index(legacy.FNoteText)] = n.Text
		rows = append(rows, row)
	}
	return rows
}

// LegacyDetails returns the customer's row of the details file in
// canonical column order, or nil.
func (c *Customer) LegacyDetails() []string {
	if c.Details == nil || len(c.Transactions) == 0 {
		return nil
	}
	row := make([]string, len(detailsSpec.Columns))
	row[detailsSpec.Index(legacy.FCustomerID)] = c.ID
	row[detailsSpec.Index(legacy.FLoginID)] = c.Details.LoginID
	row[detailsSpec.Index(legacy.FPassword)] = c.Details.Password
	for i, name := range []string{legacy.FCustom1, legacy.FCustom2, legacy.FCustom3, legacy.FCustom4, legacy.FCustom5} {
		row[detailsSpec.Index(name)] = c.Details.Custom[i]
	}
	return row
}

// Stats counts what a generation produced.
type Stats struct {
	Customers    int // every customer, leads included
	Leads        int // customers with no transaction (not in the legacy files)
	Transactions int
	// ByType counts transactions by txnType and legacy response, keyed
	// "SALE/SUCCESS", "AUTHORIZE/DECLINE", ...
	ByType              map[string]int
	Chargebacks         int
	Refunds             int
	ActiveSubscriptions int // in the files: see Customer.LegacySubscription
	Subscriptions       int
	Notes               int
	Details             int
	// Ambiguous counts transactions whose wall-clock time fell in a
	// repeated (fall-back) hour.
	Ambiguous int
}

// Add counts one customer.
func (s *Stats) Add(c *Customer) {
	if s.ByType == nil {
		s.ByType = make(map[string]int)
	}
	s.Customers++
	if len(c.Transactions) == 0 {
		s.Leads++
		return
	}
	s.Transactions += len(c.Transactions)
	for i := range c.Transactions {
		t := &c.Transactions[i]
		s.ByType[t.TxnType+"/"+legacyResponse(t.ResponseType)]++
		if t.Chargedback {
			s.Chargebacks++
		}
		if t.IsRefund() {
			s.Refunds++
		}
		if t.Created.Adjust == crm.Ambiguous {
			s.Ambiguous++
		}
	}
	for i := range c.Purchases {
		s.Subscriptions++
		if c.LegacySubscription(c.Purchases[i].ID) {
			s.ActiveSubscriptions++
		}
	}
	s.Notes += len(c.Notes)
	if c.Details != nil {
		s.Details++
	}
}

// WriteLegacy generates the merchant into dir as the three legacy import
// files (legacy.Kind.FileName names), each written to a temporary name and
// renamed into place only when the whole generation succeeded. On error or
// cancellation none of the three files is left behind.
func WriteLegacy(ctx context.Context, opts Options, dir string) (Stats, error) {
	var st Stats
	path := func(k legacy.Kind) string { return filepath.Join(dir, k.FileName()) }
	var placed []string
	err := atomicfile.Write(ctx, path(legacy.Transactions), atomicfile.Options{Perm: 0o600}, func(tw io.Writer) error {
		err := atomicfile.Write(ctx, path(legacy.Notes), atomicfile.Options{Perm: 0o600}, func(nw io.Writer) error {
			err := atomicfile.Write(ctx, path(legacy.Details), atomicfile.Options{Perm: 0o600}, func(dw io.Writer) error {
				return writeLegacy(ctx, opts, tw, nw, dw, &st)
			})
			if err == nil {
				placed = append(placed, path(legacy.Details))
			}
			return err
		})
		if err == nil {
			placed = append(placed, path(legacy.Notes))
		}
		return err
	})
	if err != nil {
		// An outer file failed after an inner one was renamed into place:
		// remove it so no partial set is left.
		for _, p := range placed {
			os.Remove(p)
		}
		return st, fmt.Errorf("write legacy files to %s: %w", dir, err)
	}
	return st, nil
}

// writeLegacy streams the generated customers into the three writers.
func writeLegacy(ctx context.Context, opts Options, tw, nw, dw io.Writer, st *Stats) error {
	t, n, d := legacy.NewWriter(tw), legacy.NewWriter(nw), legacy.NewWriter(dw)
	for _, h := range []struct {
		w *legacy.Writer
		s *legacy.Spec
	}{{t, txSpec}, {n, notesSpec}, {d, detailsSpec}} {
		if err := h.w.Write(h.s.Header()); err != nil {
			return fmt.Errorf("write %s header: %w", h.s.Kind, err)
		}
	}
	row := make([]string, len(txSpec.Columns))
	err := Generate(ctx, opts, func(c *Customer) error {
		st.Add(c)
		for i := range c.Transactions {
			if err := t.Write(c.fillTransactionRow(row, &c.Transactions[i])); err != nil {
				return fmt.Errorf("write transactions: %w", err)
			}
		}
		for _, row := range c.LegacyNotes() {
			if err := n.Write(row); err != nil {
				return fmt.Errorf("write notes: %w", err)
			}
		}
		if row := c.LegacyDetails(); row != nil {
			if err := d.Write(row); err != nil {
				return fmt.Errorf("write details: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(t.Flush(), n.Flush(), d.Flush())
}
