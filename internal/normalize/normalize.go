// Package normalize holds the one normaliser per import field type: the
// rule that turns what a merchant's export or a hand-edited import file
// holds into what the Legacy Data Import accepts (country, phone, bit,
// amount, card expiry, postal code, state, enum word, date and datetime).
// convert (reading exports through a mapping) and fix (repairing findings)
// both call these, so the same input gets the same answer in both.
//
// Every function is pure: no state, no I/O. A normaliser returns the
// canonical value and true, or "" and false when the value cannot be read
// without a guess.
package normalize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/konduit/konduit/internal/geo"
)

// Country returns the ISO 3166-1 alpha-2 code a value means: a code in any
// case ("us"), an alpha-3 code ("DEU"), an English name ("Austria",
// "United States") or a common alias ("USA", "UK", "Deutschland"). A code
// ISO 3166-1 does not assign (ZZ, EU) is refused: the import accepts only
// real countries (legacy-import.md, char(2) ISO country).
func Country(v string) (string, bool) {
	if c := geo.CountryCode(v); c != "" {
		return c, true
	}
	return "", false
}

// State returns the postal code of a US state or Canadian province, given
// as its code in any case or its full name ("california", "Quebec").
func State(country, v string) (string, bool) {
	t := strings.TrimSpace(v)
	if u := strings.ToUpper(t); geo.IsState(country, u) {
		return u, true
	}
	if c := geo.StateCode(country, t); c != "" {
		return c, true
	}
	return "", false
}

// Bit reads the usual spellings of true and false as 1 and 0.
func Bit(v string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y", "on":
		return "1", true
	case "0", "false", "f", "no", "n", "off":
		return "0", true
	}
	return "", false
}

// Enum matches a value to one of a column's words, ignoring case and
// surrounding spaces ("success " -> "SUCCESS").
func Enum(v string, values []string) (string, bool) {
	t := strings.TrimSpace(v)
	for _, e := range values {
		if strings.EqualFold(t, e) {
			return e, true
		}
	}
	return "", false
}

// extensionMarks start a phone extension: what follows is not part of the
// number the import's phone column holds.
var extensionMarks = []string{"extension", "ext.", "ext", "x", "#"}

// Phone reduces a phone number to its digits: spaces, dashes, dots,
// slashes, parentheses and a leading + go; an extension ("ext 9", "x12",
// "#3") is dropped, because the import's phone column has no place for one
// and gluing its digits on would dial another number. Any other letter, or
// no digit at all, is refused. The North American country code is NANP's.
func Phone(v string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	for _, m := range extensionMarks {
		if i := strings.LastIndex(s, m); i > 0 && digitsCount(s[:i]) >= 7 {
			rest := strings.TrimSpace(s[i+len(m):])
			rest = strings.TrimPrefix(rest, ":")
			rest = strings.TrimPrefix(rest, ".")
			if rest = strings.TrimSpace(rest); rest != "" && isDigits(rest) {
				s = s[:i]
				break
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t' || c == ',':
		case c == '+' && b.Len() == 0:
		default:
			return "", false
		}
	}
	if b.Len() == 0 {
		return "", false
	}
	return b.String(), true
}

// NANP drops the country code 1 from an 11-digit US or Canadian number
// (legacy-import.md: US/CA numbers have 10 digits).
func NANP(d string) (string, bool) {
	if len(d) == 11 && d[0] == '1' && isDigits(d) {
		return d[1:], true
	}
	return "", false
}

func digitsCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// Digits keeps the ASCII digits of v.
func Digits(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// Postal removes what spreadsheets put around a postal code: surrounding
// spaces and Shopify's leading apostrophe ("'02134" -> "02134").
func Postal(v string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "'"))
}

// ZipUS restores the leading zero a spreadsheet dropped from a 4-digit US
// ZIP code ("2134" -> "02134"), also in ZIP+4 ("2134-1234").
func ZipUS(v string) (string, bool) {
	t := strings.TrimSpace(v)
	base, plus4, dash := strings.Cut(t, "-")
	if len(base) == 4 && isDigits(base) && (!dash || (len(plus4) == 4 && isDigits(plus4))) {
		return "0" + t, true
	}
	return "", false
}

// Expiry reads a card expiry: "MM/YY", "MM/YYYY", "MMYY", "MMYYYY",
// "YYYY-MM", or a lone month or year, and returns the two-digit month and
// four-digit year it holds (either may be ""). A lone four-digit value
// starting 19 or 20 is a year when wantYear is set (no month is 19 or 20,
// so "MMYY" is never read that way by mistake).
func Expiry(v string, wantYear bool) (month, year string, err error) {
	v = strings.TrimSpace(v)
	var a, b string
	if i := strings.IndexAny(v, "/-. "); i >= 0 {
		a, b = strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
	} else {
		switch {
		case len(v) == 4 && wantYear && (strings.HasPrefix(v, "19") || strings.HasPrefix(v, "20")):
			a = v
		case len(v) == 4, len(v) == 6:
			a, b = v[:2], v[2:]
		default:
			a = v
		}
	}
	if len(a) == 4 && b != "" { // YYYY-MM
		a, b = b, a
	}
	if !isDigits(a) || (b != "" && !isDigits(b)) {
		return "", "", errors.New("not an expiry date")
	}
	if b == "" {
		n, _ := strconv.Atoi(a)
		switch {
		case len(a) == 4 && isCentury(a):
			return "", a, nil
		case wantYear && len(a) == 2:
			return "", "20" + a, nil
		case len(a) <= 2 && n >= 1 && n <= 12:
			return fmt.Sprintf("%02d", n), "", nil
		}
		return "", "", errors.New("not an expiry date")
	}
	m, _ := strconv.Atoi(a)
	if len(a) > 2 || m < 1 || m > 12 {
		return "", "", errors.New("month out of range")
	}
	switch {
	case len(b) == 2:
		b = "20" + b
	case len(b) == 4 && isCentury(b):
	default:
		return "", "", errors.New("not an expiry year")
	}
	return fmt.Sprintf("%02d", m), b, nil
}

// isCentury: a four-digit year of this century or the last.
func isCentury(y string) bool { return strings.HasPrefix(y, "19") || strings.HasPrefix(y, "20") }

// ExpiryMonth is the two-digit month of an expiry ("1" -> "01",
// "09/27" -> "09").
func ExpiryMonth(v string) (string, bool) {
	m, _, err := Expiry(v, false)
	if err != nil || m == "" {
		return "", false
	}
	return m, true
}

// ExpiryYear is the four-digit year of an expiry ("27" -> "2027",
// "09/27" -> "2027").
func ExpiryYear(v string) (string, bool) {
	_, y, err := Expiry(v, true)
	if err != nil || y == "" {
		return "", false
	}
	return y, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
