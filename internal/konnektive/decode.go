package konnektive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/crm"
)

// flex is a scalar the API may send as a string, a number, a boolean or
// null; it keeps the text.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
			// The common case: no escapes, already validated by the decoder.
			*f = flex(strings.TrimSpace(string(b[1 : len(b)-1])))
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(strings.TrimSpace(s))
	case string(b) == "true":
		*f = "1"
	case string(b) == "false":
		*f = "0"
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("want a scalar, got %.20s", b)
	default:
		*f = flex(b)
		if bytes.ContainsAny(b, "eE") || bytes.HasSuffix(bytes.TrimRight(b, "0"), []byte(".")) {
			// A whole number written as 1.23e2 or 123.0: its digits. Only
			// JSON numbers: a string such as "4765949E10" is an id as it is.
			if n, err := strconv.ParseFloat(string(b), 64); err == nil && n == float64(int64(n)) {
				*f = flex(strconv.FormatInt(int64(n), 10))
			}
		}
	}
	return nil
}

// id is an identifier: "" for absent, null, 0 or "0".
func (f flex) id() string {
	s := string(f)
	if s == "0" || s == "null" {
		return ""
	}
	return s
}

func (f flex) bool() (bool, error) {
	switch strings.ToLower(string(f)) {
	case "", "0", "false", "no", "n":
		return false, nil
	case "1", "true", "yes", "y":
		return true, nil
	}
	return false, fmt.Errorf("not a flag: %q", string(f))
}

func (f flex) int() (int, error) {
	if f == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(string(f))
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", string(f))
	}
	return n, nil
}

// money reads an amount; trailing zeros past the cents ("29.9900") are
// accepted, anything finer is an error.
func (f flex) money() (crm.Money, error) {
	s := string(f)
	if s == "" {
		return 0, nil
	}
	if whole, frac, ok := strings.Cut(s, "."); ok && len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, fmt.Errorf("amount %q has fractions of a cent", s)
		}
		s = whole + "." + frac[:2]
	}
	return crm.ParseMoney(s)
}

// isZeroDate reports MySQL's zero dates and empty values.
func isZeroDate(s string) bool {
	return s == "" || strings.HasPrefix(s, "0000-00-00")
}

// wallLayouts are the forms of a date-time konduit reads besides the
// documented "2006-01-02 15:04:05": an ISO T separator and the US form the
// API takes its own date parameters in. All are account wall clock; each is
// rewritten to the documented form, so a retime reads them the same way.
var wallLayouts = []string{"2006-01-02T15:04:05", "01/02/2006 15:04:05", "1/2/2006 15:04:05", "01/02/2006", "1/2/2006"}

func wall(f flex, loc *time.Location) (crm.WallTime, error) {
	s := string(f)
	if isZeroDate(s) {
		return crm.WallTime{}, nil
	}
	if len(s) == len(crm.DateLayout) {
		s += " 00:00:00"
	}
	w, err := crm.ParseWall(s, loc)
	if err == nil {
		return w, nil
	}
	for _, l := range wallLayouts {
		if t, perr := time.Parse(l, s); perr == nil {
			return crm.ParseWall(t.Format(crm.WallLayout), loc)
		}
	}
	return w, err
}

// created reads a row's dateCreated, which every row must have: a row
// without one could not be placed in any report.
func (c *conv) created(f flex) crm.WallTime {
	if isZeroDate(string(f)) {
		c.fail("dateCreated", errors.New("missing"))
		return crm.WallTime{}
	}
	return c.wall("dateCreated", f)
}

func date(f flex) (crm.Date, error) {
	s := string(f)
	if isZeroDate(s) {
		return crm.Date{}, nil
	}
	if len(s) > len(crm.DateLayout) {
		s = s[:len(crm.DateLayout)]
	}
	return crm.ParseDate(s)
}

// item is one line of an order or transaction's items.
type item struct {
	ProductID flex `json:"productId"`
	Name      flex `json:"name"`
}

// items is the API's line items: an object keyed by id or an array.
type items []item

func (it *items) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*it = nil
	if len(b) == 0 || b[0] == 'n' || b[0] == '"' {
		return nil // null or "": no items
	}
	if b[0] == '[' {
		var list []item
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*it = list
		return nil
	}
	vals, err := objectValues(b)
	if err != nil {
		return err
	}
	for _, v := range vals {
		var x item
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		*it = append(*it, x)
	}
	return nil
}

// objectValues lists an object's values in document order.
func objectValues(b []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("want an object or an array")
	}
	var out []json.RawMessage
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// sensitiveKeys are dropped from every row's raw JSON.
var sensitiveKeys = []string{"achAccountNumber", "achRoutingNumber", "eCommercePassword", "cardNumber"}

// sanitize returns row without sensitive keys (at the top level and in
// nested objects), in its original key order.
func sanitize(row json.RawMessage) (json.RawMessage, error) {
	if !mayHoldSensitive(row) {
		return row, nil
	}
	out, i, err := strip(make([]byte, 0, len(row)), row, 0)
	if err != nil {
		return nil, err
	}
	if i = skipWS(row, i); i != len(row) {
		return nil, errors.New("trailing data after the row")
	}
	return out, nil
}

// mayHoldSensitive is a fast pre-check: every sensitive key contains
// "accountnumber", "routingnumber", "cardnumber" or "password", in any
// ASCII case. A key can also spell one with escapes ("card\u004eumber") or
// with letters that fold to ASCII ones ("paſſword" matches "password" for
// isSensitive and encoding/json alike): a row with a \u escape or any
// non-ASCII byte takes the full path, which decodes and folds every key.
func mayHoldSensitive(b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= utf8.RuneSelf || c == '\\' && i+1 < len(b) && b[i+1] == 'u' {
			return true
		}
		if i+6 > len(b) {
			continue
		}
		switch c | 0x20 {
		case 'n':
			if foldAt(b, i, "number") && (foldAt(b, i-7, "account") || foldAt(b, i-7, "routing") || foldAt(b, i-4, "card")) {
				return true
			}
		case 'p':
			if foldAt(b, i, "password") {
				return true
			}
		}
	}
	return false
}

// foldAt reports whether b holds the lower-case ASCII word w at i, in any
// case.
func foldAt(b []byte, i int, w string) bool {
	if i < 0 || i+len(w) > len(b) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if b[i+j]|0x20 != w[j] {
			return false
		}
	}
	return true
}

func isSensitive(k string) bool {
	for _, s := range sensitiveKeys {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

var errSyntax = errors.New("malformed JSON")

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errSyntax
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				j, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = j - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errSyntax
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}

// strip appends the value at b[i] to dst without sensitive keys and returns
// the index after it.
func strip(dst, b []byte, i int) ([]byte, int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return nil, 0, errSyntax
	}
	switch b[i] {
	case '{':
		dst = append(dst, '{')
		i++
		first := true
		for {
			i = skipWS(b, i)
			if i < len(b) && b[i] == '}' && first {
				return append(dst, '}'), i + 1, nil
			}
			if i >= len(b) || b[i] != '"' {
				return nil, 0, errSyntax
			}
			ks := i
			ke, err := skipString(b, i)
			if err != nil {
				return nil, 0, err
			}
			var key string
			if err := json.Unmarshal(b[ks:ke], &key); err != nil {
				return nil, 0, err
			}
			i = skipWS(b, ke)
			if i >= len(b) || b[i] != ':' {
				return nil, 0, errSyntax
			}
			i = skipWS(b, i+1)
			if isSensitive(key) {
				if i, err = skipValue(b, i); err != nil {
					return nil, 0, err
				}
			} else {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, b[ks:ke]...)
				dst = append(dst, ':')
				if dst, i, err = strip(dst, b, i); err != nil {
					return nil, 0, err
				}
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == '}' {
				return append(dst, '}'), i + 1, nil
			}
			return nil, 0, errSyntax
		}
	case '[':
		dst = append(dst, '[')
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return append(dst, ']'), i + 1, nil
		}
		for n := 0; ; n++ {
			if n > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, i, err = strip(dst, b, i); err != nil {
				return nil, 0, err
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == ']' {
				return append(dst, ']'), i + 1, nil
			}
			return nil, 0, errSyntax
		}
	}
	j, err := skipValue(b, i)
	if err != nil {
		return nil, 0, err
	}
	return append(dst, b[i:j]...), j, nil
}

// fieldErr names the field a conversion failed on.
type fieldErr struct {
	field string
	err   error
}

func (e *fieldErr) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldErr) Unwrap() error { return e.err }

// conv collects the first conversion error of a row.
type conv struct {
	loc *time.Location
	err error
}

func (c *conv) fail(field string, err error) {
	if c.err == nil && err != nil {
		c.err = &fieldErr{field, err}
	}
}

func (c *conv) money(field string, f flex) crm.Money {
	m, err := f.money()
	c.fail(field, err)
	return m
}

func (c *conv) wall(field string, f flex) crm.WallTime {
	w, err := wall(f, c.loc)
	c.fail(field, err)
	return w
}

func (c *conv) date(field string, f flex) crm.Date {
	d, err := date(f)
	c.fail(field, err)
	return d
}

func (c *conv) int(field string, f flex) int {
	n, err := f.int()
	c.fail(field, err)
	return n
}

func (c *conv) bool(field string, f flex) bool {
	b, err := f.bool()
	c.fail(field, err)
	return b
}

func firstOf(fs ...flex) flex {
	for _, f := range fs {
		if f != "" {
			return f
		}
	}
	return ""
}

type txnRow struct {
	TransactionID  flex  `json:"transactionId"`
	ParentTxnID    flex  `json:"parentTxnId"`
	MerchantTxnID  flex  `json:"merchantTxnId"`
	CustomerID     flex  `json:"customerId"`
	OrderID        flex  `json:"orderId"`
	PurchaseID     flex  `json:"purchaseId"`
	CampaignID     flex  `json:"campaignId"`
	ProductID      flex  `json:"productId"`
	MerchantID     flex  `json:"merchantId"`
	AffID          flex  `json:"affId"`
	SubAffID       flex  `json:"subAffId"`
	SourceValue1   flex  `json:"sourceValue1"`
	Country        flex  `json:"country"`
	TxnType        flex  `json:"txnType"`
	ResponseType   flex  `json:"responseType"`
	PaySource      flex  `json:"paySource"`
	CardType       flex  `json:"cardType"`
	CardLast4      flex  `json:"cardLast4"`
	Price          flex  `json:"price"`
	SubTotal       flex  `json:"subTotal"`
	ShippingCost   flex  `json:"shippingCost"`
	ShipTotal      flex  `json:"shipTotal"`
	SalesTax       flex  `json:"salesTax"`
	TotalAmount    flex  `json:"totalAmount"`
	BillingCycle   flex  `json:"billingCycleNumber"`
	DateCreated    flex  `json:"dateCreated"`
	DateUpdated    flex  `json:"dateUpdated"`
	IsChargedback  flex  `json:"isChargedback"`
	ChargebackAmt  flex  `json:"chargebackAmount"`
	ChargebackDate flex  `json:"chargebackDate"`
	ChargebackCode flex  `json:"chargebackReasonCode"`
	ChargebackNote flex  `json:"chargebackNote"`
	Items          items `json:"items"`
	// Names, currency and the card's BIN (konnektive-api.md 2.1).
	CampaignName       flex `json:"campaignName"`
	Merchant           flex `json:"merchant"`
	MerchantDescriptor flex `json:"merchantDescriptor"`
	ProductName        flex `json:"productName"`
	SourceTitle        flex `json:"sourceTitle"`
	CurrencyCode       flex `json:"currencyCode"`
	CardBin            flex `json:"cardBin"`
}

func (r *txnRow) toCRM(loc *time.Location, raw json.RawMessage) (crm.Transaction, error) {
	c := conv{loc: loc}
	product, productName := r.ProductID, r.ProductName
	if len(r.Items) > 0 && (product == "" || product == r.Items[0].ProductID) {
		product = r.Items[0].ProductID
		productName = firstOf(productName, r.Items[0].Name)
	}
	t := crm.Transaction{
		Source:        crm.SourceAPI,
		ID:            r.TransactionID.id(),
		ParentID:      r.ParentTxnID.id(),
		MerchantTxnID: string(r.MerchantTxnID),
		CustomerID:    r.CustomerID.id(),
		OrderID:       r.OrderID.id(),
		PurchaseID:    r.PurchaseID.id(),
		CampaignID:    r.CampaignID.id(),
		ProductID:     product.id(),
		MerchantID:    r.MerchantID.id(),
		AffID:         string(r.AffID),
		SubAffID:      string(firstOf(r.SubAffID, r.SourceValue1)),
		Country:       string(r.Country),
		TxnType:       strings.ToUpper(string(r.TxnType)),
		ResponseType:  strings.ToUpper(string(r.ResponseType)),
		PaySource:     strings.ToUpper(string(r.PaySource)),
		CardType:      string(r.CardType),
		CardLast4:     last4(string(r.CardLast4)),
		SubTotal:      c.money("price", firstOf(r.SubTotal, r.Price)),
		ShipTotal:     c.money("shippingCost", firstOf(r.ShipTotal, r.ShippingCost)),
		SalesTax:      c.money("salesTax", r.SalesTax),
		Amount:        c.money("totalAmount", r.TotalAmount),
		BillingCycle:  c.int("billingCycleNumber", r.BillingCycle),
		Created:       c.created(r.DateCreated),
		Updated:       c.wall("dateUpdated", r.DateUpdated),
		Chargedback:   c.bool("isChargedback", r.IsChargedback),
		ChargebackAmt: c.money("chargebackAmount", r.ChargebackAmt),
		ChargebackDay: c.date("chargebackDate", r.ChargebackDate),
		ChargebackWhy: string(firstOf(r.ChargebackCode, r.ChargebackNote)),
		CardBrand:     cardnum.BrandOf(string(r.CardType), string(r.CardBin)),
		Currency:      strings.ToUpper(strings.TrimSpace(string(r.CurrencyCode))),
		Names: crm.Names{
			Campaign:           strings.TrimSpace(string(r.CampaignName)),
			Product:            strings.TrimSpace(string(productName)),
			Merchant:           strings.TrimSpace(string(r.Merchant)),
			MerchantDescriptor: strings.TrimSpace(string(r.MerchantDescriptor)),
			Affiliate:          strings.TrimSpace(string(r.SourceTitle)),
		},
		Raw: raw,
	}
	if t.ID == "" {
		c.fail("transactionId", errors.New("missing"))
	}
	if t.TxnType == "REFUND" {
		// metrics.md counts refunds as positive amounts; some accounts
		// send them negative.
		t.Amount, t.SubTotal, t.ShipTotal, t.SalesTax = t.Amount.Abs(), t.SubTotal.Abs(), t.ShipTotal.Abs(), t.SalesTax.Abs()
	}
	return t, c.err
}

// last4 keeps at most the last four characters of a card field, so a full
// number sent by mistake is never stored.
func last4(s string) string {
	if len(s) > 4 {
		return s[len(s)-4:]
	}
	return s
}

type orderRow struct {
	OrderID      flex `json:"orderId"`
	CustomerID   flex `json:"customerId"`
	CampaignID   flex `json:"campaignId"`
	OrderStatus  flex `json:"orderStatus"`
	OrderType    flex `json:"orderType"`
	AffID        flex `json:"affId"`
	SubAffID     flex `json:"subAffId"`
	SourceValue1 flex `json:"sourceValue1"`
	Country      flex `json:"country"`
	TotalAmount  flex `json:"totalAmount"`
	DateCreated  flex `json:"dateCreated"`
	DateUpdated  flex `json:"dateUpdated"`
}

func (r *orderRow) toCRM(loc *time.Location, raw json.RawMessage) (crm.Order, error) {
	c := conv{loc: loc}
	o := crm.Order{
		Source:     crm.SourceAPI,
		ID:         r.OrderID.id(),
		CustomerID: r.CustomerID.id(),
		CampaignID: r.CampaignID.id(),
		Status:     strings.ToUpper(string(r.OrderStatus)),
		Type:       strings.ToUpper(string(r.OrderType)),
		AffID:      string(r.AffID),
		SubAffID:   string(firstOf(r.SubAffID, r.SourceValue1)),
		Country:    string(r.Country),
		Total:      c.money("totalAmount", r.TotalAmount),
		Created:    c.created(r.DateCreated),
		Updated:    c.wall("dateUpdated", r.DateUpdated),
		Raw:        raw,
	}
	if o.ID == "" {
		c.fail("orderId", errors.New("missing"))
	}
	return o, c.err
}

type customerRow struct {
	CustomerID  flex `json:"customerId"`
	FirstName   flex `json:"firstName"`
	LastName    flex `json:"lastName"`
	Email       flex `json:"emailAddress"`
	Phone       flex `json:"phoneNumber"`
	Country     flex `json:"country"`
	State       flex `json:"state"`
	PostalCode  flex `json:"postalCode"`
	DateCreated flex `json:"dateCreated"`
	DateUpdated flex `json:"dateUpdated"`
}

func (r *customerRow) toCRM(loc *time.Location, raw json.RawMessage) (crm.Customer, error) {
	c := conv{loc: loc}
	cu := crm.Customer{
		Source:     crm.SourceAPI,
		ID:         r.CustomerID.id(),
		FirstName:  string(r.FirstName),
		LastName:   string(r.LastName),
		Email:      string(r.Email),
		Phone:      string(r.Phone),
		Country:    string(r.Country),
		State:      string(r.State),
		PostalCode: string(r.PostalCode),
		Created:    c.created(r.DateCreated),
		Updated:    c.wall("dateUpdated", r.DateUpdated),
		Raw:        raw,
	}
	if cu.ID == "" {
		c.fail("customerId", errors.New("missing"))
	}
	return cu, c.err
}

type purchaseRow struct {
	PurchaseID   flex `json:"purchaseId"`
	OrderID      flex `json:"orderId"`
	CustomerID   flex `json:"customerId"`
	CampaignID   flex `json:"campaignId"`
	ProductID    flex `json:"productId"`
	MerchantID   flex `json:"merchantId"`
	Status       flex `json:"status"`
	BillingCycle flex `json:"billingCycleNumber"`
	NextBillDate flex `json:"nextBillDate"`
	Price        flex `json:"price"`
	DateCreated  flex `json:"dateCreated"`
	DateUpdated  flex `json:"dateUpdated"`
}

func (r *purchaseRow) toCRM(loc *time.Location, raw json.RawMessage) (crm.Purchase, error) {
	c := conv{loc: loc}
	p := crm.Purchase{
		Source:       crm.SourceAPI,
		ID:           r.PurchaseID.id(),
		OrderID:      r.OrderID.id(),
		CustomerID:   r.CustomerID.id(),
		CampaignID:   r.CampaignID.id(),
		ProductID:    r.ProductID.id(),
		MerchantID:   r.MerchantID.id(),
		Status:       strings.ToUpper(string(r.Status)),
		BillingCycle: c.int("billingCycleNumber", r.BillingCycle),
		NextBillDate: c.date("nextBillDate", r.NextBillDate),
		Price:        c.money("price", r.Price),
		Created:      c.created(r.DateCreated),
		Updated:      c.wall("dateUpdated", r.DateUpdated),
		Raw:          raw,
	}
	if p.ID == "" {
		c.fail("purchaseId", errors.New("missing"))
	}
	return p, c.err
}

// splitRows lists the rows of data: an array, an object of rows, or null.
func splitRows(data json.RawMessage) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" || string(data) == `""` {
		return nil, nil
	}
	if data[0] == '[' {
		var rows []json.RawMessage
		i := skipWS(data, 1)
		if i < len(data) && data[i] == ']' {
			return rows, nil
		}
		for i < len(data) {
			j, err := skipValue(data, i)
			if err != nil {
				return nil, err
			}
			rows = append(rows, json.RawMessage(data[i:j]))
			i = skipWS(data, j)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			break
		}
		return rows, nil
	}
	return objectValues(data)
}
