package adversary

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unit is a number in [0, 1) fixed by the seed, a namespace, a key and an
// occurrence count.
func unit(seed uint64, ns, key string, occ int) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(ns))
	h.Write([]byte{0})
	h.Write([]byte(key))
	binary.LittleEndian.PutUint64(b[:], uint64(occ))
	h.Write(b[:])
	return float64(mix(h.Sum64())>>11) / (1 << 53)
}

// obj writes a JSON object with its keys in the order written.
type obj struct{ b []byte }

func (o *obj) key(k string) {
	if len(o.b) == 0 {
		o.b = make([]byte, 0, 1536)
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = append(o.b, '"') // keys are plain ASCII
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *obj) str(k, v string) {
	o.key(k)
	o.b = appendString(o.b, v)
}

// appendString appends v as a JSON string.
func appendString(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			m, _ := json.Marshal(v)
			return append(b, m...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

func (o *obj) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *obj) raw(k string, v []byte) {
	o.key(k)
	o.b = append(o.b, v...)
}

func (o *obj) bytes() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}

// money writes cents as "29.99".
func money(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// moneyComma writes cents with a thousands separator, "1,049.95".
func moneyComma(c int64) string {
	s := strconv.FormatInt(c/100, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s.%02d", b.String(), c%100)
}

const wallLayout = "2006-01-02 15:04:05"

func (w *world) wall(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(w.loc).Format(wallLayout)
}

// dateCreated writes the row's dateCreated, malformed if the row is bad
// that way; ok is false when the key is to be left out.
func (w *world) dateCreated(r *rec) (string, bool) {
	t := r.created.In(w.loc)
	switch r.bad {
	case BadDateISO:
		return t.Format("2006-01-02T15:04:05"), true
	case BadDateUS:
		return t.Format("01/02/2006 15:04:05"), true
	case BadDateTimeOnly:
		return t.Format("15:04"), true
	case BadNoDateCreated:
		return "", false
	}
	return t.Format(wallLayout), true
}

// amount writes the row's totalAmount, malformed if the row is bad that
// way.
func amountText(r *rec) string {
	switch r.bad {
	case BadAmountComma:
		return moneyComma(r.amount)
	case BadAmountMills:
		return fmt.Sprintf("%d.%02d5", r.amount/100, r.amount%100)
	case BadNegativeRefund:
		return money(-r.amount)
	}
	return money(r.amount)
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (w *world) dates(o *obj, r *rec) {
	if s, ok := w.dateCreated(r); ok {
		o.str("dateCreated", s)
	}
	o.str("dateUpdated", w.wall(r.updated))
}

func (w *world) items(r *rec) []byte {
	p := r.prod
	item := obj{}
	item.int("orderItemId", r.actualOrderID*10+1)
	item.int("productId", int64(p.id))
	item.str("name", p.name)
	item.str("sku", p.sku)
	item.int("qty", 1)
	item.str("price", money(p.price))
	outer := obj{}
	outer.raw(strconv.FormatInt(r.actualOrderID*10+1, 10), item.bytes())
	return outer.bytes()
}

func (w *world) person(o *obj, c *customer) {
	o.str("firstName", c.first)
	o.str("lastName", c.last)
	o.str("emailAddress", c.email)
	o.str("phoneNumber", c.row.phone)
	o.str("address1", fmt.Sprintf("%d Main St", 10+c.idx%900))
	o.str("address2", "")
	o.str("city", c.city)
	o.str("state", c.state)
	o.str("postalCode", c.zip)
	o.str("country", c.country)
}

// render writes a row as the API serves it.
func (w *world) render(r *rec) []byte {
	c := r.cust
	o := &obj{}
	switch r.ent {
	case Customers:
		o.int("customerId", r.num)
		o.str("campaignName", c.camp.name)
		o.str("campaignType", "ECOMMERCE")
		w.person(o, c)
		o.str("ipAddress", c.ip)
		o.int("billShipSame", 1)
		if c.check {
			o.str("paySource", "CHECK")
		} else {
			o.str("paySource", "CREDITCARD")
			o.str("cardType", c.cardType)
			o.str("cardLast4", c.card4)
		}
		o.int("emailOptIn", int64(c.idx%2))
		o.int("isBlacklisted", 0)
		o.str("creditAmount", "0.00")
		o.str("eCommercePassword", fmt.Sprintf("fake-shop-login-%d", r.num))
		o.raw("notes", []byte("[]"))
		o.raw("customFields", []byte("[]"))
		w.dates(o, r)
		o.str("mostRecentActivity", w.wall(r.activity))
	case Orders:
		o.str("orderId", r.id)
		o.int("actualOrderId", r.actualOrderID)
		o.str("clientOrderId", "")
		o.int("customerId", c.row.num)
		o.str("orderStatus", r.status)
		o.str("orderType", r.orderType)
		o.int("campaignId", int64(c.camp.id))
		o.str("campaignName", c.camp.name)
		o.str("totalAmount", amountText(r))
		o.str("price", money(r.prod.price))
		o.str("salesTax", "0.00")
		o.str("shippingCost", money(r.amount-r.prod.price))
		o.str("totalDiscount", "0.00")
		o.str("refundRemaining", money(r.amount-r.refunded))
		o.str("currencyCode", "USD")
		o.str("currencySymbol", "$")
		if c.check {
			o.str("paySource", "CHECK")
		} else {
			o.str("paySource", "CREDITCARD")
			o.str("cardType", c.cardType)
			o.str("cardLast4", c.card4)
		}
		o.int("isDeclineSave", 0)
		o.raw("hasUpsell", []byte("false"))
		w.person(o, c)
		o.str("ipAddress", c.ip)
		o.str("affId", c.aff)
		o.str("sourceValue1", "")
		o.raw("items", w.items(r))
		if r.shipped {
			o.raw("fulfillments", []byte(`[{"fulfillmentId":1,"status":"SHIPPED","shipCarrier":"USPS"}]`))
		} else {
			o.raw("fulfillments", []byte("[]"))
		}
		w.dates(o, r)
	case Purchases:
		o.str("purchaseId", r.id)
		o.str("orderId", r.orderID)
		o.int("customerId", c.row.num)
		o.int("campaignId", int64(c.camp.id))
		o.int("productId", int64(r.prod.id))
		o.str("productName", r.prod.name)
		o.str("productSku", r.prod.sku)
		o.int("productQty", 1)
		o.str("status", r.status)
		o.int("billingCycleNumber", int64(r.cycle))
		o.str("billingCycleType", "RECURRING")
		o.int("billingIntervalDays", int64(r.prod.interval))
		o.int("recycleBillingNumber", int64(r.recycle))
		if r.status == "ACTIVE" {
			o.str("nextBillDate", r.nextBill.String())
		} else {
			o.str("nextBillDate", "0000-00-00")
		}
		o.str("cancelReason", r.cancelReason)
		o.str("price", money(r.amount))
		o.str("shippingPrice", "0.00")
		o.str("totalBilled", money(r.totalBilled))
		o.str("totalRefunded", money(r.refunded))
		o.str("currencyCode", "USD")
		o.int("merchantId", 3)
		if !c.check {
			o.str("cardBin", c.cardBin)
			o.str("cardLast4", c.card4)
		}
		o.str("affId", c.aff)
		w.dates(o, r)
	case Transactions:
		o.int("transactionId", r.num)
		if r.parentID != "" {
			n, _ := strconv.ParseInt(r.parentID, 10, 64)
			o.int("parentTxnId", n)
		} else {
			o.raw("parentTxnId", []byte("null"))
		}
		o.str("merchantTxnId", fmt.Sprintf("MTX%09d", r.num))
		o.str("orderId", r.orderID)
		o.int("actualOrderId", r.actualOrderID)
		o.int("customerId", c.row.num)
		o.str("purchaseId", r.purchaseID)
		o.str("txnType", r.txnType)
		o.str("orderType", r.orderType)
		o.str("responseType", r.response)
		o.str("responseText", r.responseText)
		if r.response == "SUCCESS" {
			o.str("authCode", fmt.Sprintf("A%05d", r.num%100000))
		} else {
			o.str("authCode", "")
		}
		o.str("3DTxnResult", "")
		o.str("totalAmount", amountText(r))
		o.str("price", money(r.amount))
		o.str("salesTax", "0.00")
		o.str("shippingCost", "0.00")
		o.str("surcharge", "0.00")
		o.str("currencyCode", "USD")
		o.str("currencySymbol", "$")
		o.int("billingCycleNumber", int64(r.cycle))
		o.int("recycleNumber", int64(r.recycle))
		o.int("campaignId", int64(c.camp.id))
		o.str("campaignName", c.camp.name)
		o.int("productId", int64(r.prod.id))
		o.int("merchantId", 3)
		o.str("merchant", "Adversary Bank")
		if r.check {
			o.str("paySource", "CHECK")
			// Bank fields come back inside rows; a client must strip them.
			o.str("achAccountNumber", fmt.Sprintf("%010d", (r.num*104729)%10000000000))
			o.str("achRoutingNumber", fmt.Sprintf("0%08d", (r.num*7907)%100000000))
		} else {
			o.str("paySource", "CREDITCARD")
			o.str("cardType", c.cardType)
			o.str("cardBin", c.cardBin)
			o.str("cardLast4", c.card4)
			o.int("cardIsDebit", 0)
		}
		o.int("isChargedback", flag(r.chargedback))
		if r.chargedback {
			o.str("chargebackAmount", money(r.cbAmount))
			o.str("chargebackDate", r.cbDay.String())
			o.str("chargebackReasonCode", r.cbCode)
		} else {
			o.str("chargebackAmount", "")
			o.str("chargebackDate", "")
			o.str("chargebackReasonCode", "")
		}
		o.str("chargebackNote", "")
		if r.txnType == "REFUND" {
			o.str("refundReason", "Customer request")
		}
		w.person(o, c)
		o.str("ipAddress", c.ip)
		o.str("affId", c.aff)
		o.str("sourceValue1", "")
		o.raw("items", w.items(r))
		w.dates(o, r)
	}
	return o.bytes()
}

// sensitiveKeys lists the keys the rendered row carries that a client must
// strip.
func sensitiveKeys(r *rec) []string {
	switch {
	case r.ent == Customers:
		return []string{"eCommercePassword"}
	case r.ent == Transactions && r.check:
		return []string{"achAccountNumber", "achRoutingNumber"}
	}
	return nil
}
