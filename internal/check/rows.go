package check

import (
	"bytes"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"

	"github.com/konduit/konduit/internal/geo"
	"github.com/konduit/konduit/internal/legacy"
)

// tx holds the canonical indexes of the transaction columns the row rules read.
var tx = func() (x struct {
	customerID, orderID, dateCreated, productID, isActive, nextBill, paySource, card, expMonth, expYear,
	routing, account, merchantTxnID, txnType, subTotal, shipTotal, salesTax, total,
	responseType, parent, firstName, lastName, state, country, postal, phone, home, cell, work,
	email, billShipSame, shipState, shipCountry, shipPostal, isCB, cbTotal, cbDate, token, quantity int
}) {
	s := legacy.SpecFor(legacy.Transactions)
	i := s.Index
	x.customerID, x.orderID, x.dateCreated, x.productID = i(legacy.FCustomerID), i(legacy.FOrderID), i(legacy.FDateCreated), i(legacy.FProductID)
	x.isActive, x.nextBill, x.paySource = i(legacy.FIsActiveRecurring), i(legacy.FNextBillDate), i(legacy.FPaySource)
	x.card, x.expMonth, x.expYear = i(legacy.FCardNumber), i(legacy.FCardExpiryMonth), i(legacy.FCardExpiryYear)
	x.routing, x.account = i(legacy.FACHRoutingNumber), i(legacy.FACHAccountNumber)
	x.merchantTxnID, x.txnType = i(legacy.FMerchantTxnID), i(legacy.FTxnType)
	x.subTotal, x.shipTotal, x.salesTax, x.total = i(legacy.FSubTotal), i(legacy.FShipTotal), i(legacy.FSalesTax), i(legacy.FTotalAmount)
	x.responseType, x.parent = i(legacy.FResponseType), i(legacy.FParentTxnID)
	x.firstName, x.lastName = i(legacy.FFirstName), i(legacy.FLastName)
	x.state, x.country, x.postal = i(legacy.FState), i(legacy.FCountry), i(legacy.FPostalCode)
	x.phone, x.home, x.cell, x.work = i(legacy.FPhoneNumber), i(legacy.FHomePhone), i(legacy.FCellPhone), i(legacy.FWorkPhone)
	x.email, x.billShipSame = i(legacy.FEmailAddress), i(legacy.FBillShipSame)
	x.shipState, x.shipCountry, x.shipPostal = i(legacy.FShipState), i(legacy.FShipCountry), i(legacy.FShipPostalCode)
	x.isCB, x.cbTotal, x.cbDate = i(legacy.FIsChargedback), i(legacy.FChargebackTotal), i(legacy.FChargebackDate)
	x.token, x.quantity = i(legacy.FExternalToken), i(legacy.FQuantity)
	return x
}()

var txCols = legacy.SpecFor(legacy.Transactions).Columns

// txn type codes kept in the index.
const (
	typeOther uint8 = iota
	typeSale
	typeAuthorize
	typeCapture
	typeRefund
)

func txnTypeCode(v []byte) uint8 {
	switch string(v) {
	case legacy.ValueSale:
		return typeSale
	case legacy.ValueAuthorize:
		return typeAuthorize
	case legacy.ValueCapture:
		return typeCapture
	case legacy.ValueRefund:
		return typeRefund
	}
	return typeOther
}

var typeNames = [...]string{"another type", "SALE", "AUTHORIZE", "CAPTURE", "REFUND"}

// txFact is what the cross-row rules need of one transaction row. Ids are
// hashed here, in the parallel workers, and their bytes kept in the chunk's
// arena for exact comparison.
type txFact struct {
	rel                       int32 // row within the chunk
	typ                       uint8
	success, totalOK          bool
	total                     int64
	identity                  uint64 // hash of first name, last name and email
	hTxn, hOrder, hCust, hPar uint64
	txn, order, cust, parent  span
	// An active subscription's row (isActiveRecurring=1 on a successful
	// SALE or CAPTURE), for active-duplicate and double-billing.
	active  bool
	product span
	created span // dateCreated when it is a valid datetime, else empty
	hEmail  uint64
	email   span   // normalised (NormalEmail); empty when the row has none
	phone   uint64 // BillingPhone of phoneNumber; 0 when none
}

// flags are the txnInfo flags a row's facts set.
func (f *txFact) flags() uint8 {
	if f.totalOK {
		return flagTotalOK
	}
	return 0
}

func is(v []byte, s string) bool { return string(v) == s }

// checkTxRow runs the per-row rules of a transactions file.
func (c *compiled) checkTxRow(vals [][]byte, rel int, e *chunkResult) txFact {
	active := is(vals[tx.isActive], "1")
	nextBill := vals[tx.nextBill]
	nextOK := isDate(nextBill)

	// nextBillDate
	if len(nextBill) > 0 {
		if is(vals[tx.isActive], "0") {
			e.emit(rel, tx.nextBill, RuleNextBillIgnored, "is set but isActiveRecurring is 0: the import ignores it; set isActiveRecurring=1 if the subscription is active")
		} else if active && nextOK && len(c.asOf) == 10 && bytes.Compare(nextBill, c.asOf) < 0 {
			e.emit(rel, tx.nextBill, RuleNextBillPast, fmt.Sprintf("%s is before %s: the subscription would rebill at once on import", nextBill, c.asOf))
		}
	}

	// Card.
	card := vals[tx.card]
	if len(card) > 0 {
		c.checkCard(vals, card, rel, e)
	}
	month, year := vals[tx.expMonth], vals[tx.expYear]
	monthOK, yearOK := false, false
	// A value a spreadsheet rewrote is reported as that (checkCells), once.
	rewritten := func(idx int) bool {
		v := vals[idx]
		return len(v) >= 3 && mayBeNumber(v) && SpreadsheetNumber(txCols[idx], v)
	}
	if len(month) > 0 && !rewritten(tx.expMonth) {
		if len(month) == 2 && isDigits(month) && month[0] <= '1' && !(is(month, "00")) && !(month[0] == '1' && month[1] > '2') {
			monthOK = true
		} else if len(month) == 1 && month[0] >= '1' && month[0] <= '9' {
			e.emit(rel, tx.expMonth, RuleCardExpiryMonth, fmt.Sprintf("%q needs its leading zero: write 0%s (konduit fix does this)", month, month))
		} else {
			e.emit(rel, tx.expMonth, RuleCardExpiryMonth, fmt.Sprintf("%s is not a month written 01 to 12", show(txCols[tx.expMonth], month)))
		}
	}
	if len(year) > 0 && !rewritten(tx.expYear) {
		if len(year) == 4 && isDigits(year) {
			yearOK = true
		} else if len(year) == 2 && isDigits(year) {
			e.emit(rel, tx.expYear, RuleCardExpiryYear, fmt.Sprintf("%q must have four digits: write 20%s (konduit fix does this)", year, year))
		} else {
			e.emit(rel, tx.expYear, RuleCardExpiryYear, fmt.Sprintf("%s is not a four-digit year", show(txCols[tx.expYear], year)))
		}
	}
	if active && nextOK && monthOK && yearOK {
		// A card is good through the end of its expiry month.
		if bytes.Compare(year, nextBill[:4]) < 0 || (bytes.Equal(year, nextBill[:4]) && bytes.Compare(month, nextBill[5:7]) < 0) {
			e.emit(rel, tx.expMonth, RuleCardExpired, fmt.Sprintf("the card expires %s/%s, before nextBillDate %s: the rebill will decline; get an updated card or an externalToken", month, year, nextBill))
		}
	}

	// ACH.
	if r := vals[tx.routing]; len(r) > 0 && !cardnum.ABA(r) && !rewritten(tx.routing) {
		if len(r) != 9 || !isDigits(r) {
			e.emit(rel, tx.routing, RuleABAChecksum, fmt.Sprintf("%s is not nine digits (a spreadsheet may have dropped a leading zero)", show(txCols[tx.routing], r)))
		} else {
			e.emit(rel, tx.routing, RuleABAChecksum, fmt.Sprintf("%s fails the ABA routing number checksum", show(txCols[tx.routing], r)))
		}
	}

	// Amounts.
	amounts := [...]int{tx.subTotal, tx.shipTotal, tx.salesTax, tx.total, tx.cbTotal}
	var cent [5]int64
	var ok [5]bool
	for k, idx := range amounts {
		v := vals[idx]
		if len(v) == 0 {
			continue
		}
		if cent[k], ok[k] = parseDecimal(v); ok[k] {
			if cent[k] < 0 {
				e.emit(rel, idx, RuleNegativeAmount, fmt.Sprintf("%s is negative; refunds are positive amounts on a REFUND row", v))
			}
		}
	}
	if ok[0] && ok[1] && ok[2] && ok[3] && cent[0]+cent[1]+cent[2] != cent[3] {
		e.emit(rel, tx.total, RuleTotalMismatch, fmt.Sprintf("%s is not subTotal + shipTotal + salesTax = %s + %s + %s = %s",
			vals[tx.total], vals[tx.subTotal], vals[tx.shipTotal], vals[tx.salesTax], formatCents(cent[0]+cent[1]+cent[2])))
	}

	// Addresses.
	country := vals[tx.country]
	c.checkState(vals, tx.state, country, rel, e)
	shipCountry := vals[tx.shipCountry]
	if len(shipCountry) == 0 {
		shipCountry = country
	}
	if len(vals[tx.shipState]) > 0 {
		c.checkState(vals, tx.shipState, shipCountry, rel, e)
	}
	if is(country, "US") && !rewritten(tx.postal) {
		checkZip(vals[tx.postal], tx.postal, rel, e)
	}
	if is(shipCountry, "US") && len(vals[tx.shipPostal]) > 0 && !rewritten(tx.shipPostal) {
		checkZip(vals[tx.shipPostal], tx.shipPostal, rel, e)
	}
	if is(country, "US") || is(country, "CA") {
		for _, idx := range [...]int{tx.phone, tx.home, tx.cell, tx.work} {
			p := vals[idx]
			if len(p) == 0 || !isDigits(p) || len(p) == 10 {
				continue
			}
			if len(p) == 11 && p[0] == '1' {
				e.emit(rel, idx, RulePhoneLength, fmt.Sprintf("%s has the country code 1 in front: write the 10 digits %s (konduit fix does this)", quote(p), cardnum.MaskText(string(p[1:]))))
			} else {
				e.emit(rel, idx, RulePhoneLength, fmt.Sprintf("%s has %d digits; US and Canadian numbers have 10", quote(p), len(p)))
			}
		}
	}

	// Chargebacks.
	created := vals[tx.dateCreated]
	createdOK := isDatetime(created)
	if cb := vals[tx.cbDate]; len(cb) > 0 && isDate(cb) && createdOK && bytes.Compare(cb, created[:10]) < 0 {
		e.emit(rel, tx.cbDate, RuleChargebackBefore, fmt.Sprintf("%s is before the transaction's dateCreated %s", cb, created[:10]))
	}
	if ok[4] && ok[3] && cent[4] > cent[3] {
		e.emit(rel, tx.cbTotal, RuleChargebackExceeds, fmt.Sprintf("%s is more than the transaction's totalAmount %s", vals[tx.cbTotal], vals[tx.total]))
	}

	// Quantity: empty, 0 or negative is set to 1 by the import.
	if c.present[tx.quantity] {
		q := vals[tx.quantity]
		switch {
		case len(q) == 0:
			e.emit(rel, tx.quantity, RuleQuantityDefault, "is empty: the import sets it to 1")
		case rewritten(tx.quantity):
		case q[0] == '-' && isDigits(q[1:]):
			e.emit(rel, tx.quantity, RuleQuantityDefault, fmt.Sprintf("%s is negative: the import sets it to 1", q))
		case !isDigits(q):
			e.emit(rel, tx.quantity, RuleInvalidInteger, typeMessage(txCols[tx.quantity], RuleInvalidInteger, q))
		case bytes.Count(q, []byte{'0'}) == len(q):
			e.emit(rel, tx.quantity, RuleQuantityDefault, "is 0: the import sets it to 1")
		}
	}

	if createdOK && len(c.asOf) == 10 && bytes.Compare(created[:10], c.asOf) > 0 {
		e.emit(rel, tx.dateCreated, RuleDateCreatedFuture, fmt.Sprintf("%s is after the reference date %s", created, c.asOf))
	}

	return c.facts(vals, rel, e, ok[3], cent[3], createdOK)
}

// txFacts is the facts of a row without its per-row rules (a later pass).
func (c *compiled) txFacts(vals [][]byte, rel int, e *chunkResult) txFact {
	var total int64
	totalOK := false
	if v := vals[tx.total]; len(v) > 0 {
		total, totalOK = parseDecimal(v)
	}
	return c.facts(vals, rel, e, totalOK, total, isDatetime(vals[tx.dateCreated]))
}

// facts is what the cross-row rules need of a row.
func (c *compiled) facts(vals [][]byte, rel int, e *chunkResult, totalOK bool, total int64, createdOK bool) txFact {
	f := txFact{
		rel:     int32(rel),
		typ:     txnTypeCode(vals[tx.txnType]),
		success: is(vals[tx.responseType], legacy.ValueSuccess),
		totalOK: totalOK,
		total:   total,
	}
	f.hTxn, f.txn = e.keep(vals[tx.merchantTxnID])
	f.hOrder, f.order = e.keep(vals[tx.orderID])
	f.hCust, f.cust = e.keep(vals[tx.customerID])
	if f.typ == typeRefund || f.typ == typeCapture {
		f.hPar, f.parent = e.keep(vals[tx.parent])
	}
	if is(vals[tx.isActive], "1") {
		c.checkActive(vals, rel, e, &f, createdOK)
	}
	h := hashID(vals[tx.firstName])
	h = h*31 ^ hashID(vals[tx.lastName])
	h = h*31 ^ hashLower(vals[tx.email])
	f.identity = h
	return f
}

// checkActive checks a row with isActiveRecurring=1: only a successful
// SALE or CAPTURE carries an active subscription. Such a row's facts feed
// the cross-row rules active-duplicate and double-billing.
func (c *compiled) checkActive(vals [][]byte, rel int, e *chunkResult, f *txFact, createdOK bool) {
	typ, resp := vals[tx.txnType], vals[tx.responseType]
	typeOK := f.typ != typeOther
	respOK := f.success || is(resp, legacy.ValueDecline)
	if !typeOK || !respOK {
		return // invalid-enum says what is wrong with the row
	}
	if !f.success || (f.typ != typeSale && f.typ != typeCapture) {
		what := "a " + string(typ)
		switch {
		case !f.success:
			what = "a declined " + string(typ)
		case f.typ == typeAuthorize:
			what = "an AUTHORIZE (nothing was charged yet)"
		}
		e.emit(rel, tx.isActive, RuleActiveNotCharge, fmt.Sprintf("is 1 on %s: only a successful SALE or CAPTURE carries an active subscription; set it to 0 here, and to 1 on the subscription's latest successful charge", what))
		return
	}
	f.active = true
	_, f.product = e.keep(vals[tx.productID])
	if createdOK {
		_, f.created = e.keep(vals[tx.dateCreated])
	}
	if email := vals[tx.email]; len(email) > 0 {
		off := len(e.arena)
		e.arena = normalEmail(e.arena, email)
		f.email = span{int32(off), int32(len(e.arena) - off)}
		f.hEmail = keyHash(e.arena[off:])
	}
	f.phone, _ = BillingPhone(vals[tx.phone])
}

func (c *compiled) checkCard(vals [][]byte, card []byte, rel int, e emitter) {
	col := txCols[tx.card]
	switch {
	case cardnum.Masked(card):
		if len(vals[tx.token]) == 0 {
			e.emit(rel, tx.card, RuleCardMasked, fmt.Sprintf("is masked (%s) but externalToken is empty: give the full number, or the gateway's externalToken", show(col, card)))
		}
		return
	case isScientific(card):
		e.emit(rel, tx.card, RuleCardTruncated, "is in scientific notation: a spreadsheet truncated it to 15 significant digits; re-export the card numbers as text from the source")
		return
	case isDotZero(card):
		e.emit(rel, tx.card, RuleSpreadsheetNumber, fmt.Sprintf("%s ends in .0: a spreadsheet read the card number as a number (and kept 15 significant digits); re-export the card numbers as text from the source", show(col, card)))
		return
	case !isDigits(card):
		e.emit(rel, tx.card, RuleInvalidInteger, fmt.Sprintf("%s has characters other than digits", show(col, card)))
		return
	case len(card) < 13 || len(card) > 19:
		e.emit(rel, tx.card, RuleCardLength, fmt.Sprintf("%s has %d digits; card numbers have 13 to 19", show(col, card), len(card)))
		return
	}
	if c.opts.CardTokens || (c.opts.IsToken != nil && c.opts.IsToken(string(card))) || cardnum.Luhn(card) {
		return
	}
	if len(card) == 16 && card[15] == '0' {
		e.emit(rel, tx.card, RuleCardTruncated, fmt.Sprintf("%s fails the Luhn check and ends in 0: a spreadsheet truncated it to 15 significant digits; re-export the card numbers as text", show(col, card)))
		return
	}
	e.emit(rel, tx.card, RuleCardLuhn, fmt.Sprintf("%s fails the Luhn check (use --card-tokens if the column holds tokens)", show(col, card)))
}

func (c *compiled) checkState(vals [][]byte, idx int, country []byte, rel int, e emitter) {
	v := vals[idx]
	if len(v) == 0 || !(is(country, "US") || is(country, "CA")) || len(v) >= 3 && mayBeNumber(v) && isSpreadsheetSci(v) {
		return
	}
	cc := string(country)
	if geo.IsState(cc, string(v)) {
		return
	}
	if code := geo.StateCode(cc, string(v)); code != "" {
		e.emit(rel, idx, RuleStateFullName, fmt.Sprintf("%s is a full name: write the postal code %s (konduit fix does this)", quote(v), code))
		return
	}
	e.emit(rel, idx, RuleStateInvalid, fmt.Sprintf("%s is not a state or province of %s", quote(v), cc))
}

func checkZip(v []byte, idx int, rel int, e emitter) {
	switch {
	case len(v) == 0:
	case len(v) == 5 && isDigits(v), len(v) == 9 && isDigits(v),
		len(v) == 10 && v[5] == '-' && isDigits(v[:5]) && isDigits(v[6:]):
	case len(v) == 4 && isDigits(v):
		e.emit(rel, idx, RulePostalCodeUS, fmt.Sprintf("%q lost its leading zero: write 0%s (konduit fix does this)", v, v))
	default:
		e.emit(rel, idx, RulePostalCodeUS, fmt.Sprintf("%s is not a US ZIP code of 5 or 5+4 digits", quote(v)))
	}
}

func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
