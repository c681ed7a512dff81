package convert

import (
	"errors"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/normalize"
	"github.com/shopspring/decimal"
)

// Formats a column spec may name.
const (
	fmtText      = ""
	fmtDatetime  = "datetime"
	fmtDate      = "date"
	fmtAmount    = "amount"
	fmtPhone     = "phone"
	fmtDigits    = "digits"
	fmtCard      = "card"
	fmtFirstName = "first_name"
	fmtLastName  = "last_name"
	fmtExpMonth  = "expiry_month"
	fmtExpYear   = "expiry_year"
	fmtBit       = "bit"
	fmtCountry   = "country"
	fmtState     = "state"
	fmtUpper     = "upper"
	fmtLower     = "lower"
	fmtPostal    = "postal"
)

var knownFormats = map[string]bool{
	fmtText: true, fmtDatetime: true, fmtDate: true, fmtAmount: true, fmtPhone: true,
	fmtDigits: true, fmtCard: true, fmtFirstName: true, fmtLastName: true, fmtExpMonth: true,
	fmtExpYear: true, fmtBit: true, fmtCountry: true, fmtState: true, fmtUpper: true, fmtLower: true, fmtPostal: true,
}

// The readers of dates, amounts, phones, expiries, bits and countries are
// internal/normalize's: fix repairs with the same ones, so both give the
// same answer for the same value.
type timeLayout = normalize.Layout

func compileLayout(s string) (timeLayout, error) { return normalize.CompileLayout(s) }

func parseTime(v string, layouts []timeLayout, src *time.Location) (time.Time, timeLayout, crm.Adjustment, error) {
	return normalize.ParseTime(v, layouts, src)
}

func cleanAmount(v, decimalSep string) (string, error) { return normalize.CleanAmount(v, decimalSep) }

// parseAmount reads a human amount exactly.
func parseAmount(v, decimalSep string) (decimal.Decimal, error) {
	c, err := cleanAmount(v, decimalSep)
	if err != nil {
		return decimal.Decimal{}, err
	}
	d, err := decimal.NewFromString(c)
	if err != nil {
		return decimal.Decimal{}, errors.New("not a number")
	}
	return d, nil
}

// amountCents is the fast path: a clean amount with at most two decimals
// (or whole cents) as int64 cents, exactly as crm.Money reads it.
func amountCents(clean string, cents bool) (int64, bool) {
	if cents {
		if strings.Contains(clean, ".") {
			return 0, false
		}
		m, err := crm.ParseMoney(clean)
		return int64(m) / 100, err == nil
	}
	m, err := crm.ParseMoney(clean)
	return int64(m), err == nil
}

func writeAmount(d decimal.Decimal) (string, error) { return normalize.WriteAmount(d) }

func digitsOnly(v string) string { return normalize.Digits(v) }

func phone(v string) (string, error) {
	p, ok := normalize.Phone(v)
	if !ok {
		return "", errors.New("is not a phone number (digits, punctuation and an extension only)")
	}
	if n, ok := normalize.NANP(p); ok {
		return n, nil
	}
	return p, nil
}

var nameSuffixes = map[string]bool{"jr": true, "jr.": true, "sr": true, "sr.": true, "ii": true, "iii": true, "iv": true}

// splitName splits a full name: "Last, First" or "First Middle Last [Jr.]".
func splitName(v string) (first, last string) {
	v = strings.Join(strings.Fields(v), " ")
	if l, f, ok := strings.Cut(v, ","); ok && !nameSuffixes[strings.ToLower(strings.TrimSpace(f))] {
		return strings.TrimSpace(f), strings.TrimSpace(l)
	}
	parts := strings.Fields(v)
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return parts[0], ""
	}
	n := len(parts) - 1
	if nameSuffixes[strings.ToLower(strings.TrimSuffix(parts[n], ","))] && n >= 2 {
		return strings.Join(parts[:n-1], " "), parts[n-1] + " " + parts[n]
	}
	return strings.Join(parts[:n], " "), parts[n]
}

func expiry(v string, wantYear bool) (month, year string, err error) {
	return normalize.Expiry(v, wantYear)
}

func bit(v string) (string, error) {
	b, ok := normalize.Bit(v)
	if !ok {
		return "", errors.New("not a yes/no value")
	}
	return b, nil
}

func country(v string) (string, error) {
	c, ok := normalize.Country(v)
	if !ok {
		return "", errors.New("is not an ISO 3166-1 country (a code, an alpha-3 code or an English name); use a value map")
	}
	return c, nil
}

// state reads a US state or Canadian province as its postal code: a code
// in any case, or a full name ("California", "Québec"). Anything else is
// kept, upper-cased when it is two letters (a state of another country).
func state(v string) (string, error) {
	for _, c := range []string{"US", "CA"} {
		if s, ok := normalize.State(c, v); ok {
			return s, nil
		}
	}
	if t := strings.TrimSpace(v); len([]rune(t)) == 2 {
		return strings.ToUpper(t), nil
	}
	return strings.TrimSpace(v), nil
}
