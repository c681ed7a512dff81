package fake

import (
	"strconv"

	"github.com/konduit/konduit/internal/crm"
)

// render writes r as the endpoint of its kind shows it now.
func (s *Server) render(w *jw, r *rec) {
	switch r.kind {
	case kTxn:
		s.renderTxn(w, r)
	case kOrder:
		s.renderOrder(w, r)
	case kPurchase:
		s.renderPurchase(w, r)
	default:
		s.renderCustomer(w, r)
	}
}

func (s *Server) campaignName(id string) string {
	n, _ := strconv.Atoi(id)
	for _, c := range s.catalog.Campaigns {
		if c.ID == n {
			return c.Name
		}
	}
	return ""
}

func (s *Server) product(id string) *Product {
	n, _ := strconv.Atoi(id)
	for i := range s.catalog.Products {
		if s.catalog.Products[i].ID == n {
			return &s.catalog.Products[i]
		}
	}
	return nil
}

func (s *Server) merchant(id string) *Merchant {
	n, _ := strconv.Atoi(id)
	for i := range s.catalog.Merchants {
		if s.catalog.Merchants[i].ID == n {
			return &s.catalog.Merchants[i]
		}
	}
	return nil
}

func (s *Server) affiliateName(id string) string {
	for _, a := range s.catalog.Affiliates {
		if a.ID == id && id != "" {
			return a.Name
		}
	}
	return ""
}

// currency writes currencyCode and currencySymbol of an ISO 4217 code
// (USD when the row has none).
func currency(w *jw, code string) {
	if code == "" {
		code = "USD"
	}
	w.str("currencyCode", code)
	sym := map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$", "AUD": "$"}[code]
	w.str("currencySymbol", sym)
}

func numericOrNull(w *jw, k, v string) {
	// Write the parsed number, not the text: "0576490590" is not a JSON number.
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		w.int(k, n)
		return
	}
	w.null(k)
}

// address writes the billing and shipping address of the customer.
func address(w *jw, c *custRec, country string, prefix bool) {
	cu := &c.c
	w.str("firstName", cu.FirstName)
	w.str("lastName", cu.LastName)
	w.str("address1", c.contact.Address1)
	w.str("address2", c.contact.Address2)
	w.str("city", c.contact.City)
	w.str("state", cu.State)
	w.str("postalCode", cu.PostalCode)
	w.str("country", country)
	w.str("emailAddress", cu.Email)
	w.str("phoneNumber", cu.Phone)
	w.str("ipAddress", c.contact.IPAddress)
	if sh := c.contact.Ship; prefix && sh != nil {
		w.str("shipFirstName", sh.FirstName)
		w.str("shipLastName", sh.LastName)
		w.str("shipAddress1", sh.Address1)
		w.str("shipAddress2", sh.Address2)
		w.str("shipCity", sh.City)
		w.str("shipState", sh.State)
		w.str("shipPostalCode", sh.PostalCode)
		w.str("shipCountry", sh.Country)
	} else if prefix {
		w.str("shipFirstName", cu.FirstName)
		w.str("shipLastName", cu.LastName)
		w.str("shipAddress1", c.contact.Address1)
		w.str("shipAddress2", c.contact.Address2)
		w.str("shipCity", c.contact.City)
		w.str("shipState", cu.State)
		w.str("shipPostalCode", cu.PostalCode)
		w.str("shipCountry", cu.Country)
	}
}

func (s *Server) renderTxn(w *jw, r *rec) {
	t := r.txn
	c := r.cust
	ok := t.ResponseType == crm.RespSuccess
	w.open()
	w.id("transactionId", t.ID)
	w.str("merchantTxnId", t.MerchantTxnID)
	w.str("clientTxnId", "")
	w.id("parentTxnId", t.ParentID)
	w.str("orderId", t.OrderID)
	numericOrNull(w, "actualOrderId", t.OrderID)
	if r.info != nil {
		w.str("clientOrderId", r.info.ClientOrderID)
	} else {
		w.str("clientOrderId", "")
	}
	w.id("customerId", t.CustomerID)
	w.str("purchaseId", t.PurchaseID)
	w.str("txnType", t.TxnType)
	w.str("orderType", txnOrderType(t))
	w.str("responseType", t.ResponseType)
	switch {
	case r.info != nil:
		w.str("responseText", r.info.ResponseText)
		w.str("authCode", r.info.AuthCode)
	case ok:
		w.str("responseText", "Approved")
		w.str("authCode", "A"+last(t.ID, 5))
	default:
		w.str("responseText", "Declined")
		w.str("authCode", "")
	}
	w.str("avsResponse", "Y")
	w.str("cvvResponse", "M")
	w.str("3DTxnResult", "")
	w.money("price", t.SubTotal)
	w.money("shippingCost", t.ShipTotal)
	w.money("salesTax", t.SalesTax)
	w.money("totalAmount", t.Amount)
	w.str("surcharge", "0.00")
	currency(w, t.Currency)
	w.str("dateCreated", r.created.Raw)
	w.str("dateUpdated", r.curUpdated().Raw)
	w.int("billingCycleNumber", int64(t.BillingCycle))
	if r.info != nil {
		w.int("recycleNumber", int64(r.info.RecycleNumber))
	} else {
		w.int("recycleNumber", 0)
	}
	w.null("cascadeId")
	w.id("campaignId", t.CampaignID)
	if s.opts.RowsWithoutNames {
		w.str("campaignName", "")
	} else {
		w.str("campaignName", s.campaignName(t.CampaignID))
	}
	w.str("campaignCategoryName", "")
	if m := s.merchant(t.MerchantID); m != nil {
		w.str("merchant", m.Name)
		w.id("merchantId", t.MerchantID)
		w.str("merchantDescriptor", m.Descriptor)
	} else {
		w.str("merchant", "")
		w.id("merchantId", t.MerchantID)
		w.str("merchantDescriptor", "")
	}
	w.str("midNumber", "")
	w.str("paySource", t.PaySource)
	w.id("paySourceId", t.CustomerID)
	w.str("cardBin", c.contact.CardBin)
	w.str("cardLast4", t.CardLast4)
	w.str("cardType", t.CardType)
	w.flag("cardIsDebit", false)
	w.flag("cardIsPrepaid", t.PaySource == "PREPAID")
	w.str("prepaidType", "")
	if t.PaySource == "CHECK" {
		w.str("achAccountNumber", c.contact.ACHAccount)
		w.str("achRoutingNumber", c.contact.ACHRouting)
	}
	cb := chargedBack(r)
	w.flag("isChargedback", cb)
	if cb {
		w.money("chargebackAmount", t.ChargebackAmt)
		w.date("chargebackDate", t.ChargebackDay)
		w.str("chargebackReasonCode", t.ChargebackWhy)
		w.str("chargebackNote", "")
		w.str("arn", "7"+last(t.ID, 10))
	} else {
		w.null("chargebackAmount")
		w.null("chargebackDate")
		w.str("chargebackReasonCode", "")
		w.str("chargebackNote", "")
		w.str("arn", "")
	}
	if t.TxnType == crm.TxnRefund || t.TxnType == crm.TxnVoid {
		w.str("refundReason", "Customer request")
	} else {
		w.str("refundReason", "")
	}
	w.key("items")
	w.open()
	if t.ProductID != "" {
		w.key(t.ID)
		s.item(w, t.ID, t.ProductID, t.SubTotal)
	}
	w.close()
	address(w, c, t.Country, false)
	w.str("affId", t.AffID)
	w.str("sourceTitle", s.affiliateName(t.AffID))
	w.str("sourceValue1", t.SubAffID)
	w.str("sourceValue2", "")
	w.str("UTMSource", "")
	w.str("custom1", "")
	w.str("orderAgentName", "")
	w.close()
}

func (s *Server) item(w *jw, itemID, productID string, price crm.Money) {
	w.open()
	w.id("orderItemId", itemID)
	w.id("productId", productID)
	name, sku := "", ""
	if p := s.product(productID); p != nil {
		name, sku = p.Name, p.SKU
	}
	if s.opts.RowsWithoutNames {
		name = ""
	}
	w.str("name", name)
	w.str("productSku", sku)
	w.int("qty", 1)
	w.money("price", price)
	w.close()
}

func last(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (s *Server) renderOrder(w *jw, r *rec) {
	o := r.order
	c := r.cust
	// Sums and items come from the order's successful sales.
	var sub, ship, tax crm.Money
	var lines []*crm.Transaction
	payment := &crm.Transaction{}
	for _, x := range c.recs {
		if x.kind != kTxn || x.txn.OrderID != o.ID || x.state == stHidden {
			continue
		}
		t := x.txn
		if payment.ID == "" {
			payment = t
		}
		if t.IsSale() {
			sub += t.SubTotal
			ship += t.ShipTotal
			tax += t.SalesTax
			lines = append(lines, t)
		}
	}
	status := orderStatus(r)
	w.open()
	w.str("orderId", o.ID)
	numericOrNull(w, "actualOrderId", o.ID)
	if r.oinfo != nil {
		w.str("clientOrderId", r.oinfo.ClientOrderID)
	} else {
		w.str("clientOrderId", "")
	}
	w.id("customerId", o.CustomerID)
	w.str("orderStatus", status)
	w.str("orderType", o.Type)
	w.str("dateCreated", r.created.Raw)
	w.str("dateUpdated", r.curUpdated().Raw)
	w.id("campaignId", o.CampaignID)
	w.str("campaignName", s.campaignName(o.CampaignID))
	w.money("totalAmount", o.Total)
	w.money("price", sub)
	w.money("salesTax", tax)
	w.money("baseShipping", ship)
	w.money("shippingCost", ship)
	w.str("shipUpcharge", "0.00")
	w.str("totalDiscount", "0.00")
	w.money("discountPrice", sub)
	w.str("surcharge", "0.00")
	if status == "REFUNDED" {
		w.str("refundRemaining", "0.00")
	} else {
		w.money("refundRemaining", o.Total)
	}
	currency(w, payment.Currency)
	w.str("paySource", payment.PaySource)
	w.str("cardType", payment.CardType)
	w.str("cardLast4", payment.CardLast4)
	w.str("cardExpiryDate", c.contact.CardExpiry)
	w.flag("cardIsDebit", false)
	w.flag("cardIsPrepaid", payment.PaySource == "PREPAID")
	w.str("avsResponse", "Y")
	w.str("cvvResponse", "M")
	w.flag("isDeclineSave", false)
	w.flag("hasUpsell", len(lines) > 1)
	w.str("couponCode", "")
	w.str("agentName", "")
	w.str("name", c.c.FirstName+" "+c.c.LastName)
	w.str("companyName", "")
	address(w, c, o.Country, true)
	w.str("shipCarrier", "")
	w.str("shipMethod", "")
	w.str("affId", o.AffID)
	w.str("sourceValue1", o.SubAffID)
	w.key("items")
	w.open()
	for _, t := range lines {
		if t.ProductID == "" {
			continue
		}
		w.key(t.ID)
		s.item(w, t.ID, t.ProductID, t.SubTotal)
	}
	w.close()
	w.raw("fulfillments", "[]")
	w.close()
}

func (s *Server) renderPurchase(w *jw, r *rec) {
	p := r.pur
	c := r.cust
	var billed, refunded crm.Money
	for _, x := range c.recs {
		if x.kind != kTxn || x.state == stHidden || x.txn.PurchaseID != p.ID {
			continue
		}
		if x.txn.IsSale() {
			billed += x.txn.Amount
		}
		if x.txn.IsRefund() {
			refunded += abs(x.txn.Amount)
		}
	}
	w.open()
	w.str("purchaseId", p.ID)
	numericOrNull(w, "actualPurchaseId", p.ID)
	w.str("orderId", p.OrderID)
	w.id("customerId", p.CustomerID)
	w.id("campaignId", p.CampaignID)
	w.id("productId", p.ProductID)
	name, sku, ship := "", "", crm.Money(0)
	if pr := s.product(p.ProductID); pr != nil {
		name, sku, ship = pr.Name, pr.SKU, pr.Shipping
	}
	w.str("productName", name)
	w.str("productSku", sku)
	w.int("productQty", 1)
	w.str("status", purchaseStatus(r))
	w.str("dateCreated", r.created.Raw)
	w.str("dateUpdated", r.curUpdated().Raw)
	w.date("nextBillDate", p.NextBillDate)
	w.str("cancelReason", "")
	w.int("billingCycleNumber", int64(p.BillingCycle))
	w.str("billingCycleType", "RECURRING")
	w.money("price", p.Price)
	w.money("shippingPrice", ship)
	w.money("totalBilled", billed)
	w.money("totalRefunded", refunded)
	if m := s.merchant(p.MerchantID); m != nil {
		currency(w, m.Currency)
	} else {
		currency(w, "")
	}
	if m := s.merchant(p.MerchantID); m != nil {
		w.str("merchant", m.Name)
	} else {
		w.str("merchant", "")
	}
	w.id("merchantId", p.MerchantID)
	w.str("cardBin", c.contact.CardBin)
	w.str("cardLast4", c.contact.CardLast4)
	w.str("cardExpiryDate", c.contact.CardExpiry)
	address(w, c, c.c.Country, true)
	w.raw("fulfillments", "[]")
	w.close()
}

func abs(m crm.Money) crm.Money {
	if m < 0 {
		return -m
	}
	return m
}

func (s *Server) renderCustomer(w *jw, r *rec) {
	c := r.cust
	w.open()
	w.id("customerId", c.c.ID)
	w.str("dateCreated", r.created.Raw)
	w.str("dateUpdated", r.curUpdated().Raw)
	w.str("mostRecentActivity", r.curUpdated().Raw)
	address(w, c, c.c.Country, true)
	w.flag("billShipSame", c.contact.Ship == nil)
	w.str("paySource", c.contact.PaySource)
	w.str("cardType", c.contact.CardType)
	w.str("cardLast4", c.contact.CardLast4)
	w.str("cardExpiryDate", c.contact.CardExpiry)
	w.str("eCommercePassword", c.contact.ECommercePassword)
	w.str("creditAmount", "0.00")
	w.flag("emailOptIn", true)
	w.flag("contactOptIn", true)
	w.flag("isBlacklisted", false)
	w.flag("isTaxExempt", false)
	w.raw("notes", "[]")
	w.raw("customFields", "{}")
	w.close()
}
