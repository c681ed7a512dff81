// Package crm is the domain both roads into the store produce: customers,
// orders, transactions and purchases (subscriptions), exact money, and
// account wall-clock times with the UTC instants derived from them.
//
// The Konnektive sync and `konduit load` (legacy import files) both turn
// their input into these types; the store keeps them and the reports read
// them. Fields may be added; renaming one is a change to every road.
package crm

import (
	"encoding/json"
)

// Source says which road a row came by.
type Source string

// Sources of rows.
const (
	SourceAPI    Source = "api"    // the Konnektive query API
	SourceLegacy Source = "legacy" // a legacy import file
)

// Transaction types and responses, as the API names them. Legacy files use
// DECLINE where the API uses HARD_DECLINE or SOFT_DECLINE.
const (
	TxnSale      = "SALE"
	TxnAuthorize = "AUTHORIZE"
	TxnCapture   = "CAPTURE"
	TxnVoid      = "VOID"
	TxnRefund    = "REFUND"

	RespSuccess     = "SUCCESS"
	RespDecline     = "DECLINE"
	RespHardDecline = "HARD_DECLINE"
	RespSoftDecline = "SOFT_DECLINE"
)

// Customer is a buyer.
type Customer struct {
	Source     Source
	ID         string // Konnektive customerId, or the legacy file's customerId
	FirstName  string
	LastName   string
	Email      string
	Phone      string
	Country    string
	State      string
	PostalCode string
	Created    WallTime
	Updated    WallTime
	Raw        json.RawMessage // the row as the source gave it (sensitive fields removed)
}

// Note is a customer service note (the legacy import's notes file).
type Note struct {
	Source     Source
	ID         string // the store's key: see NoteID
	CustomerID string
	Agent      string // empty for system notes
	Text       string
	Created    WallTime
}

// CustomerDetail is the legacy import's additional customer details. A
// third-party password is never kept: only whether there was one.
type CustomerDetail struct {
	Source      Source
	CustomerID  string
	LoginID     string
	HasPassword bool
	Custom      [5]string
}

// Order groups the transactions of one checkout.
type Order struct {
	Source     Source
	ID         string // Konnektive orderId (a string in the API), or the legacy orderId
	CustomerID string
	CampaignID string
	Status     string // COMPLETE, PARTIAL, DECLINED, REFUNDED, CANCELLED
	Type       string // NEW_SALE, RECURRING, ... as the API gives it
	AffID      string
	SubAffID   string
	Country    string
	Total      Money
	Created    WallTime
	Updated    WallTime
	Raw        json.RawMessage
}

// Transaction is one sale, authorization, capture, void, refund or decline.
type Transaction struct {
	Source        Source
	ID            string // Konnektive transactionId; legacy rows use merchantTxnId
	ParentID      string // the parent's ID in the same space as ID
	MerchantTxnID string
	CustomerID    string
	OrderID       string
	PurchaseID    string
	CampaignID    string
	ProductID     string
	MerchantID    string // the MID the transaction was billed against
	AffID         string
	SubAffID      string
	Country       string
	TxnType       string // SALE, AUTHORIZE, CAPTURE, VOID, REFUND
	ResponseType  string // SUCCESS, DECLINE, HARD_DECLINE, SOFT_DECLINE
	PaySource     string // CREDITCARD, CHECK, PREPAID
	CardType      string
	CardLast4     string
	// CardBrand is the card scheme as internal/cardnum names it ("Visa",
	// "Mastercard"...), from the BIN when the source has one, else from the
	// card type; "" when neither says.
	CardBrand string
	// Currency is the ISO 4217 code of the amounts (currencyCode); "" when
	// the source does not say (legacy import files).
	Currency      string
	SubTotal      Money
	ShipTotal     Money
	SalesTax      Money
	Amount        Money // totalAmount: tax and shipping included
	BillingCycle  int   // Konnektive numbering: the initial sale is cycle 1 (0: unknown)
	Created       WallTime
	Updated       WallTime
	Chargedback   bool
	ChargebackAmt Money
	ChargebackDay Date // chargebackDate: a date without a time
	ChargebackWhy string
	// Names the row carried for its ids (the API's campaignName, product
	// name, merchant account and descriptor); empty when it carried none.
	Names Names
	Raw   json.RawMessage
}

// Names are the display names a source row gives for the ids it holds.
type Names struct {
	Campaign           string
	Product            string
	Merchant           string
	MerchantDescriptor string
	Affiliate          string
}

// Purchase is a subscription (continuity) line.
type Purchase struct {
	Source       Source
	ID           string // purchaseId (a string in the API)
	OrderID      string
	CustomerID   string
	CampaignID   string
	ProductID    string
	MerchantID   string
	Status       string // ACTIVE, CANCELLED, ...
	BillingCycle int
	NextBillDate Date
	Price        Money
	Created      WallTime
	Updated      WallTime
	Raw          json.RawMessage
}

// IsSale reports whether the transaction counts as a sale (metrics.md): a
// SALE or CAPTURE with responseType SUCCESS.
func (t *Transaction) IsSale() bool {
	return IsSaleOf(t.TxnType, t.ResponseType)
}

// IsDecline reports whether the transaction counts as a decline: a SALE or
// AUTHORIZE whose response is not SUCCESS.
func (t *Transaction) IsDecline() bool {
	return IsDeclineOf(t.TxnType, t.ResponseType)
}

// IsRefund reports whether the transaction counts as a refund: a successful
// REFUND, or a successful VOID (the API's void of a settled sale).
func (t *Transaction) IsRefund() bool {
	return IsRefundOf(t.TxnType, t.ResponseType)
}
