// Package legacy holds Konnektive's Legacy Data Import format: the three file
// kinds and their columns as data (this file), a streaming CSV reader whose
// records and errors carry positions (reader.go), and the canonical writer
// (writer.go). Every other package that knows about import columns reads them
// from here; nothing about a column is written twice.
package legacy

import (
	"fmt"
	"strings"
)

// Kind is one of the three import files.
type Kind int

// The three file kinds of the seed, in the seed's order.
const (
	Transactions Kind = iota + 1
	Notes
	Details
)

// Kinds lists every file kind.
var Kinds = []Kind{Transactions, Notes, Details}

func (k Kind) String() string {
	switch k {
	case Transactions:
		return "transactions"
	case Notes:
		return "notes"
	case Details:
		return "details"
	}
	return "unknown"
}

// Title is the seed's name for the file.
func (k Kind) Title() string {
	switch k {
	case Transactions:
		return "Transactions"
	case Notes:
		return "Customer Notes"
	case Details:
		return "Additional Customer Details"
	}
	return "Unknown"
}

// FileName is the conventional file name the writer and `template` use.
func (k Kind) FileName() string {
	switch k {
	case Transactions:
		return "legacy_transactions.csv"
	case Notes:
		return "legacy_customer_notes.csv"
	case Details:
		return "legacy_customer_details.csv"
	}
	return "unknown.csv"
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown file kind %q (want transactions, notes or details)", s)
}

// Type is how a column's values are checked.
type Type int

// Column types. The seed's own wording is kept in Column.SeedType.
const (
	Varchar  Type = iota + 1 // at most MaxLen code points
	Country                  // ISO 3166-1 alpha-2, upper case
	Integer                  // ASCII digits only; MaxLen digits at most when set
	Decimal                  // -?digits[.digits], at most 2 fractional digits
	Money2                   // as Decimal; the writer emits exactly two fractional digits
	Bit                      // exactly 0 or 1
	Datetime                 // YYYY-MM-DD HH:MM:SS
	Date                     // YYYY-MM-DD
	Enum                     // one of Column.Enum, exact case
	Phone                    // ASCII digits only
	Email                    // local@domain.tld
)

func (t Type) String() string {
	switch t {
	case Varchar:
		return "varchar"
	case Country:
		return "country"
	case Integer:
		return "integer"
	case Decimal:
		return "decimal"
	case Money2:
		return "decimal(xx.xx)"
	case Bit:
		return "bit"
	case Datetime:
		return "datetime"
	case Date:
		return "date"
	case Enum:
		return "enum"
	case Phone:
		return "phone"
	case Email:
		return "email"
	}
	return "unknown"
}

// Condition is "field has one of these values".
type Condition struct {
	Field  string
	Values []string
}

func (c Condition) String() string {
	return c.Field + "=" + strings.Join(c.Values, "|")
}

// Requirement says when a column must have a value.
type Requirement struct {
	// Always: the seed marks the column Y.
	Always bool
	// When: required when every condition holds (the seed's "Y - IF ...").
	When []Condition
	// EmptyIsWarning: required by the seed, but an empty value is only a
	// warning (legacy-import.md: address2 and shipAddress2).
	EmptyIsWarning bool
}

// Optional reports whether the column may always be empty.
func (r Requirement) Optional() bool { return !r.Always && len(r.When) == 0 }

func (r Requirement) String() string {
	switch {
	case r.Always:
		return "Y"
	case len(r.When) > 0:
		parts := make([]string, len(r.When))
		for i, c := range r.When {
			parts[i] = c.String()
		}
		return "Y if " + strings.Join(parts, " and ")
	}
	return "N"
}

// Column is one column of an import file, as the seed defines it.
type Column struct {
	Letter      string // A..BF, the seed's letter
	Name        string // header name, case-sensitive
	SeedType    string // the seed's type text, verbatim
	Type        Type
	MaxLen      int      // varchar length, or digit count cap for Integer (0: none)
	Enum        []string // Enum values, exact case
	Required    Requirement
	Sensitive   bool // never printed beyond the last four characters
	Description string
	Index       int // position in the canonical order, 0-based
}

// Spec is one file kind's columns in canonical order.
type Spec struct {
	Kind    Kind
	Columns []Column
	byName  map[string]int
}

// Column returns the named column.
func (s *Spec) Column(name string) (Column, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Column{}, false
	}
	return s.Columns[i], true
}

// Index returns the canonical index of a column name, or -1.
func (s *Spec) Index(name string) int {
	if i, ok := s.byName[name]; ok {
		return i
	}
	return -1
}

// Header returns the canonical header row.
func (s *Spec) Header() []string {
	h := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		h[i] = c.Name
	}
	return h
}

// SpecFor returns the spec of a kind.
func SpecFor(k Kind) *Spec {
	switch k {
	case Transactions:
		return transactionsSpec
	case Notes:
		return notesSpec
	case Details:
		return detailsSpec
	}
	return nil
}

// Letter returns the spreadsheet column letter of a 0-based index (0 -> A,
// 26 -> AA).
func Letter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// Field names the rules refer to. They are the seed's header names.
const (
	FCustomerID        = "customerId"
	FOrderID           = "orderId"
	FDateCreated       = "dateCreated"
	FCampaignID        = "campaignId"
	FProductID         = "productId"
	FIsActiveRecurring = "isActiveRecurring"
	FNextBillDate      = "nextBillDate"
	FPaySource         = "paySource"
	FCardNumber        = "cardNumber"
	FCardExpiryMonth   = "cardExpiryMonth"
	FCardExpiryYear    = "cardExpiryYear"
	FACHRoutingNumber  = "achRoutingNumber"
	FACHAccountNumber  = "achAccountNumber"
	FACHAccountType    = "achAccountType"
	FMerchantID        = "merchantId"
	FMerchantTxnID     = "merchantTxnId"
	FTxnType           = "txnType"
	FSubTotal          = "subTotal"
	FShipTotal         = "shipTotal"
	FSalesTax          = "salesTax"
	FTotalAmount       = "totalAmount"
	FResponseType      = "responseType"
	FResponseText      = "responseText"
	FAuthCode          = "authCode"
	FParentTxnID       = "parentTxnId"
	FFirstName         = "firstName"
	FLastName          = "lastName"
	FAddress1          = "address1"
	FAddress2          = "address2"
	FCity              = "city"
	FState             = "state"
	FCountry           = "country"
	FPostalCode        = "postalCode"
	FPhoneNumber       = "phoneNumber"
	FHomePhone         = "homePhone"
	FCellPhone         = "cellPhone"
	FWorkPhone         = "workPhone"
	FEmailAddress      = "emailAddress"
	FBillShipSame      = "billShipSame"
	FShipAddress1      = "shipAddress1"
	FShipAddress2      = "shipAddress2"
	FShipCity          = "shipCity"
	FShipState         = "shipState"
	FShipCountry       = "shipCountry"
	FShipPostalCode    = "shipPostalCode"
	FAffID             = "affId"
	FSubAffID          = "subAffId"
	FShipDate          = "shipDate"
	FShipCarrier       = "shipCarrier"
	FShipMethod        = "shipMethod"
	FTrackingNumber    = "trackingNumber"
	FIsChargedback     = "isChargedback"
	FChargebackTotal   = "chargebackTotal"
	FChargebackDate    = "chargebackDate"
	FChargebackReason  = "chargebackReasonCode"
	FExternalToken     = "externalToken"
	FQuantity          = "quantity"
	FVariantDetailID   = "variantDetailId"
	FAgentName         = "agentName"
	FNoteText          = "noteText"
	FLoginID           = "loginId"
	FPassword          = "password"
	FCustom1           = "custom1"
	FCustom2           = "custom2"
	FCustom3           = "custom3"
	FCustom4           = "custom4"
	FCustom5           = "custom5"
	ValueCreditCard    = "CREDITCARD"
	ValueCheck         = "CHECK"
	ValuePrepaid       = "PREPAID"
	ValueSale          = "SALE"
	ValueAuthorize     = "AUTHORIZE"
	ValueCapture       = "CAPTURE"
	ValueRefund        = "REFUND"
	ValueSuccess       = "SUCCESS"
	ValueDecline       = "DECLINE"
	ValueSavings       = "SAVINGS"
	ValueChecking      = "CHECKING"
)

func always() Requirement { return Requirement{Always: true} }
func optional() Requirement {
	return Requirement{}
}
func when(conds ...Condition) Requirement { return Requirement{When: conds} }
func is(field string, values ...string) Condition {
	return Condition{Field: field, Values: values}
}

var (
	ifCredit     = is(FPaySource, ValueCreditCard)
	ifCheck      = is(FPaySource, ValueCheck)
	ifShipSep    = is(FBillShipSame, "0")
	ifChargeback = is(FIsChargedback, "1")
	usOrCA       = []string{"US", "CA"}
)

// col builds a Column; build() fills Letter and Index from the position.
func col(name, seedType string, t Type, maxLen int, req Requirement, desc string) Column {
	return Column{Name: name, SeedType: seedType, Type: t, MaxLen: maxLen, Required: req, Description: desc}
}

func enumCol(name, seedType string, values []string, req Requirement, desc string) Column {
	c := col(name, seedType, Enum, 0, req, desc)
	c.Enum = values
	return c
}

func sensitive(c Column) Column { c.Sensitive = true; return c }

func build(k Kind, cols []Column) *Spec {
	s := &Spec{Kind: k, Columns: cols, byName: make(map[string]int, len(cols))}
	for i := range s.Columns {
		s.Columns[i].Letter = Letter(i)
		s.Columns[i].Index = i
		s.byName[s.Columns[i].Name] = i
	}
	return s
}

var transactionsSpec = build(Transactions, []Column{
	col(FCustomerID, "varchar(20)", Varchar, 20, always(), "Your internal customer id for this customer"),
	col(FOrderID, "varchar(20)", Varchar, 20, always(), "Your internal order id for the order associated with this transaction"),
	col(FDateCreated, "datetime (YYYY-MM-DD HH:MM:SS)", Datetime, 0, always(), "The timestamp of the transaction"),
	col(FCampaignID, "integer", Integer, 0, always(), "The Konnektive campaignId that indicates which campaign to import this order into."),
	col(FProductID, "integer", Integer, 0, always(), "The Konnektive campaign productId that indicates which product within the campaign, the transaction was for. (Found on the campaign page)"),
	col(FIsActiveRecurring, "bit 0=false 1=true", Bit, 0, always(), "Whether this transaction was made on a currently active continuity product"),
	col(FNextBillDate, "date (YYYY-MM-DD)", Date, 0, when(is(FIsActiveRecurring, "1")), "The next scheduled billing date for the active continuity product"),
	enumCol(FPaySource, "ENUM (CREDITCARD, CHECK, or PREPAID)", []string{ValueCreditCard, ValueCheck, ValuePrepaid}, always(), "How the customer paid for the product"),
	sensitive(col(FCardNumber, "integer (max 19)", Integer, 19, when(ifCredit), "Full credit card number used for payment")),
	col(FCardExpiryMonth, "integer (MM)", Integer, 2, when(ifCredit), "Month in which the card expires (must include leading zeros)"),
	col(FCardExpiryYear, "integer (YYYY)", Integer, 4, when(ifCredit), "Year in which the card expires (must be 4 digits)"),
	sensitive(col(FACHRoutingNumber, "integer", Integer, 0, when(ifCheck), "Routing number of the customer's bank")),
	sensitive(col(FACHAccountNumber, "integer", Integer, 0, when(ifCheck), "Account number of the customer's bank account")),
	enumCol(FACHAccountType, "ENUM (SAVINGS or CHECKING)", []string{ValueSavings, ValueChecking}, when(ifCheck), "Bank Account Type"),
	col(FMerchantID, "integer", Integer, 0, always(), "Konnektive Id for the merchant account the transaction was billed against"),
	col(FMerchantTxnID, "varchar(30)", Varchar, 30, always(), "transactionId returned by the merchant processor"),
	enumCol(FTxnType, "ENUM (SALE, AUTHORIZE, CAPTURE, REFUND)", []string{ValueSale, ValueAuthorize, ValueCapture, ValueRefund}, always(), "The type of transaction"),
	col(FSubTotal, "decimal", Decimal, 0, always(), "product price before shipping and taxes applied"),
	col(FShipTotal, "decimal", Decimal, 0, always(), "shipping charged for the order"),
	col(FSalesTax, "decimal", Decimal, 0, always(), "sales tax charged for the order"),
	col(FTotalAmount, "decimal", Decimal, 0, always(), "Sum of salesTax / subTotal / shipTotal (Must add up correctly)"),
	enumCol(FResponseType, "ENUM (SUCCESS or DECLINE)", []string{ValueSuccess, ValueDecline}, always(), "Result of the transaction, was it successful?"),
	enumCol(FResponseText, "ENUM (SUCCESS or DECLINE)", []string{ValueSuccess, ValueDecline}, always(), "Any additional response information returned by the processor"),
	col(FAuthCode, "varchar(20)", Varchar, 20, optional(), "Authorization Code returned by the processor"),
	col(FParentTxnID, "varchar(30)", Varchar, 30, when(is(FTxnType, ValueRefund, ValueCapture)), "The parent transaction against which a refund or capture transaction was run"),
	col(FFirstName, "varchar(30)", Varchar, 30, always(), "Customer's first name"),
	col(FLastName, "varchar(30)", Varchar, 30, always(), "Customer's last name"),
	col(FAddress1, "varchar(30)", Varchar, 30, always(), "Billing Address Line 1"),
	col(FAddress2, "varchar(30)", Varchar, 30, Requirement{Always: true, EmptyIsWarning: true}, "Billing Address Line 2"),
	col(FCity, "varchar(30)", Varchar, 30, always(), "Billing Address City"),
	col(FState, "varchar(30)", Varchar, 30, when(is(FCountry, usOrCA...)), "Billing Address State"),
	col(FCountry, "char(2) -standard ISO 2 country codes", Country, 2, always(), "Billing Address Country"),
	col(FPostalCode, "varchar(20)", Varchar, 20, always(), "Billing Address Postal Code"),
	col(FPhoneNumber, "numeric (no dashes or parentheses)", Phone, 0, always(), "Primary Phone number of customer"),
	col(FHomePhone, "numeric (no dashes or parentheses)", Phone, 0, optional(), "Home telephone number"),
	col(FCellPhone, "numeric (no dashes or parentheses)", Phone, 0, optional(), "Cellphone number"),
	col(FWorkPhone, "numeric (no dashes or parentheses)", Phone, 0, optional(), "Work telephone number"),
	col(FEmailAddress, "emailAddress (must be valid format)", Email, 0, always(), "Customer's email address"),
	col(FBillShipSame, "bit 0=false 1=true", Bit, 0, always(), "Whether or not the shipping address is the same as the billing address"),
	col(FShipAddress1, "varchar(30)", Varchar, 30, when(ifShipSep), "Shipping Address Line 1"),
	col(FShipAddress2, "varchar(30)", Varchar, 30, Requirement{When: []Condition{ifShipSep}, EmptyIsWarning: true}, "Shipping Address Line 2"),
	col(FShipCity, "varchar(30)", Varchar, 30, when(ifShipSep), "Shipping Address City"),
	// The seed says "Y - IF country=US or country=CA"; legacy-import.md
	// decides the shipping state follows the shipping country.
	col(FShipState, "varchar(30)", Varchar, 30, when(ifShipSep, is(FShipCountry, usOrCA...)), "Shipping Address State"),
	col(FShipCountry, "char(2) -standard ISO 2 country codes", Country, 2, when(ifShipSep), "Shipping Address Country"),
	col(FShipPostalCode, "varchar(20)", Varchar, 20, when(ifShipSep), "Shipping Address Postal Code"),
	col(FAffID, "varchar(20)", Varchar, 20, optional(), "Konnektive affId as defined in the CRM"),
	col(FSubAffID, "varchar(20)", Varchar, 20, optional(), "Sub affilaite id associated with order"),
	col(FShipDate, "date (YYYY-MM-DD)", Date, 0, optional(), "Date on which the order was shipped"),
	col(FShipCarrier, "varchar(20) (ex. USPS, FedEx, etc)", Varchar, 20, optional(), "Carrier responsible for shipment"),
	col(FShipMethod, "varchar(20)", Varchar, 20, optional(), "Carrier's shipment method (ex. Express, 3-day Ground, etc)"),
	col(FTrackingNumber, "varchar(20)", Varchar, 20, optional(), "Order Tracking # assigned by the carrier"),
	col(FIsChargedback, "Boolean('0' or '1')", Bit, 0, optional(), "Indicates that the specific transaction has been charged back by the card holder."),
	col(FChargebackTotal, "Decimal (xx.xx format)", Money2, 0, when(ifChargeback), "The amount of the chargeback."),
	col(FChargebackDate, "Date (YYYY-MM-DD)", Date, 0, when(ifChargeback), "The date on which the chargeback was issued."),
	col(FChargebackReason, "varchar(10)", Varchar, 10, when(ifChargeback), "Card issuer's chargeback code."),
	sensitive(col(FExternalToken, "varchar(50)", Varchar, 50, optional(), "A token identifying the customer payment source at the 3rd party gateway. This is commonly used to run existing rebills when the full card numbers are unavailable and when gateway-supported. -note: if provided, cardNumber column may be masked with either x's or asterisks.")),
	col(FQuantity, "integer", Integer, 0, optional(), "The quantity of the product. If not provided or not greater than 0, then it will be set to 1."),
	col(FVariantDetailID, "integer", Integer, 0, optional(), "The Konnektive variantDetailId that indicates which variant of the product the transaction was for. (Found on the product page). The variant must exist on the Konnektive product."),
})

var notesSpec = build(Notes, []Column{
	col(FCustomerID, "varchar(20)", Varchar, 20, always(), "Your internal customer id for this customer. This must match the customerId in the transactions file"),
	col(FDateCreated, "datetime (YYYY-MM-DD HH:MM:SS)", Datetime, 0, always(), "the date the note was taken"),
	col(FAgentName, "varchar(20)", Varchar, 20, optional(), "Name of the individual customer service agent. (Leave empty for system notes)"),
	col(FNoteText, "varchar(500)", Varchar, 500, always(), "The note itself"),
})

var detailsSpec = build(Details, []Column{
	col(FCustomerID, "varchar(20)", Varchar, 20, always(), "Your internal customer id for this customer. This must match the customerId in the transactions file"),
	col(FLoginID, "varchar(30)", Varchar, 30, optional(), "loginId or username for a third-party site"),
	sensitive(col(FPassword, "varchar(30)", Varchar, 30, optional(), "password for a third-party site")),
	col(FCustom1, "varchar(50)", Varchar, 50, optional(), "standard custom field 1"),
	col(FCustom2, "varchar(50)", Varchar, 50, optional(), "standard custom field 2"),
	col(FCustom3, "varchar(50)", Varchar, 50, optional(), "standard custom field 3"),
	col(FCustom4, "varchar(50)", Varchar, 50, optional(), "standard custom field 4"),
	col(FCustom5, "varchar(50)", Varchar, 50, optional(), "standard custom field 5"),
})

// DetectKind recognises a file's kind from its header: the kind whose
// distinctive columns the header names most. It returns 0 when no kind fits.
func DetectKind(header []string) Kind {
	best, bestScore := Kind(0), 0
	for _, k := range Kinds {
		s := SpecFor(k)
		score := 0
		for _, h := range header {
			h = strings.TrimSpace(h)
			if h == FCustomerID || h == FDateCreated {
				continue // shared by several kinds
			}
			if _, ok := s.byName[h]; ok {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = k, score
		}
	}
	return best
}

// Mask shows at most the last four characters of a sensitive value: the
// whole value of a sensitive column, whatever it holds. A card number inside
// any other text is masked by cardnum.MaskText, which masks a bare card
// number exactly as Mask does.
func Mask(v string) string {
	r := []rune(v)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}
