package normalize

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// CleanAmount reduces a written amount to "-?digits[.digits]" with "." as
// the decimal point, exactly (no float): "$1,234.50", "1.234,50 €" (with
// decimalSep ","), "(12.00)", "12.00-", "USD 9", "'0.10", "-$3.10".
// Thousands separators (the other of "." and ",", a space, a no-break
// space, an apostrophe) count only where they group by three: "12,34" is
// refused rather than read as 1234.
func CleanAmount(v, decimalSep string) (string, error) {
	if decimalSep == "" {
		decimalSep = "."
	}
	thousands, point := ',', rune(decimalSep[0])
	if decimalSep == "," {
		thousands = '.'
	}
	s := strings.TrimSpace(v)
	s = strings.TrimPrefix(s, "'")
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, s[1:len(s)-1]
	}
	if strings.HasSuffix(s, "-") {
		neg, s = !neg, strings.TrimSuffix(s, "-")
	}
	isCurrency := func(c rune) bool {
		return strings.ContainsRune("$€£¥₹", c) || unicode.IsLetter(c) || c == ' ' || c == '\u00a0' || c == '\u202f'
	}
	// Leading currency (symbols, codes, spaces) and at most one sign.
	signed := false
	i := 0
	for i < len(s) {
		c, n := utf8.DecodeRuneInString(s[i:])
		if isCurrency(c) {
			i += n
			continue
		}
		if (c == '-' || c == '+') && !signed {
			signed = true
			if c == '-' {
				neg = !neg
			}
			i += n
			continue
		}
		break
	}
	body := strings.TrimRightFunc(s[i:], isCurrency)
	if body == "" {
		return "", errors.New("no digits")
	}
	var b strings.Builder
	b.Grow(len(body) + 2)
	if neg {
		b.WriteByte('-')
	}
	// ng counts thousands groups seen; n the digits since the last one.
	ng, n, dot, whole, frac := 0, 0, false, 0, 0
	for _, c := range body {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
			if dot {
				frac++
			} else {
				whole++
				n++
			}
		case c == point && !dot:
			if whole == 0 {
				b.WriteByte('0')
			}
			b.WriteByte('.')
			dot = true
		case !dot && (c == thousands || c == ' ' || c == '\u00a0' || c == '\u202f' || c == '\''):
			if ng == 0 && (n < 1 || n > 3) || ng > 0 && n != 3 {
				return "", errors.New("thousands separators that do not group by three")
			}
			ng++
			n = 0
		default:
			return "", fmt.Errorf("unexpected %q", c)
		}
	}
	if ng > 0 && n != 3 {
		return "", errors.New("thousands separators that do not group by three")
	}
	if whole == 0 && frac == 0 {
		return "", errors.New("no digits")
	}
	if dot && frac == 0 {
		return "", errors.New("no digits after the decimal point")
	}
	return b.String(), nil
}

// Amount reads a written amount (CleanAmount) and writes it with exactly
// two decimals: the form convert writes and Decimal (xx.xx format) columns
// ask for. Decimal places past the second must be zeros: an amount is
// refused, never rounded.
func Amount(v, decimalSep string) (string, error) { return Decimal(v, decimalSep, true) }

// Decimal reads a written amount (CleanAmount) and writes it as decimal
// columns accept it: zeros past the second decimal place dropped
// ("1.500" -> "1.50"), other decimals kept as written ("1.5", "13"), or
// padded to exactly two when fixed2 is set. More than 17 digits is not an
// amount.
func Decimal(v, decimalSep string, fixed2 bool) (string, error) {
	c, err := CleanAmount(v, decimalSep)
	if err != nil {
		return "", err
	}
	whole, frac, _ := strings.Cut(c, ".")
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > 2 {
		return "", errors.New("has more than two decimal places (amounts are never rounded)")
	}
	if fixed2 {
		for len(frac) < 2 {
			frac += "0"
		}
	}
	if len(strings.TrimPrefix(whole, "-"))+len(frac) > 17 {
		return "", errors.New("has too many digits to be an amount")
	}
	if frac != "" {
		return whole + "." + frac, nil
	}
	return whole, nil
}

// WriteAmount writes an exact amount with two decimals, refusing one that
// would need rounding.
func WriteAmount(d decimal.Decimal) (string, error) {
	if !d.Equal(d.Round(2)) {
		return "", errors.New("has more than two decimal places (amounts are never rounded)")
	}
	return d.StringFixed(2), nil
}
