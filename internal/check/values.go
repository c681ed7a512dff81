package check

import (
	"bytes"

	"github.com/konduit/konduit/internal/cardnum"
)

// The predicates below work on raw bytes so the hot loop allocates nothing.

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func num2(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// isDate reports whether b is YYYY-MM-DD and a real calendar date.
func isDate(b []byte) bool {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return false
	}
	hi, ok1 := num2(b[0:2])
	lo, ok2 := num2(b[2:4])
	m, ok3 := num2(b[5:7])
	d, ok4 := num2(b[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= daysIn(hi*100+lo, m)
}

// isDatetime reports whether b is YYYY-MM-DD HH:MM:SS, a real date and time.
func isDatetime(b []byte) bool {
	if len(b) != 19 || b[10] != ' ' || b[13] != ':' || b[16] != ':' || !isDate(b[:10]) {
		return false
	}
	h, ok1 := num2(b[11:13])
	mi, ok2 := num2(b[14:16])
	s, ok3 := num2(b[17:19])
	return ok1 && ok2 && ok3 && h < 24 && mi < 60 && s < 60
}

// isDecimal reports whether b is -?digits[.digits] with at most two
// fractional digits.
func isDecimal(b []byte) bool {
	_, ok := parseDecimal(b)
	return ok
}

// parseDecimal reads -?digits[.digits] (at most two fractional digits) as
// cents, in one pass.
func parseDecimal(b []byte) (int64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var v int64
	whole, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if whole+frac >= 17 {
				return 0, false
			}
			v = v*10 + int64(c-'0')
			if dot {
				frac++
			} else {
				whole++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if whole == 0 || (dot && (frac == 0 || frac > 2)) {
		return 0, false
	}
	for ; frac < 2; frac++ {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// isEmail reports whether b looks like local@domain.tld: one @, no spaces,
// a non-empty local part, domain labels of letters, digits and hyphens, and
// a top-level domain of at least two letters.
func isEmail(b []byte) bool {
	at := bytes.IndexByte(b, '@')
	if at <= 0 || bytes.IndexByte(b[at+1:], '@') >= 0 {
		return false
	}
	for _, c := range b[:at] {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	domain := b[at+1:]
	dot := bytes.LastIndexByte(domain, '.')
	if dot <= 0 || len(domain)-dot-1 < 2 {
		return false
	}
	for _, c := range domain[dot+1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	labelLen := 0
	for _, c := range domain {
		switch {
		case c == '.':
			if labelLen == 0 {
				return false
			}
			labelLen = 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c >= 0x80:
			labelLen++
		default:
			return false
		}
	}
	return labelLen > 0
}

// isScientific reports a spreadsheet's scientific notation: 4.11111E+15.
func isScientific(b []byte) bool {
	e := bytes.IndexAny(b, "eE")
	if e <= 0 || e+1 >= len(b) {
		return false
	}
	mant, exp := b[:e], b[e+1:]
	if exp[0] == '+' || exp[0] == '-' {
		exp = exp[1:]
	}
	if !isDigits(exp) {
		return false
	}
	whole, frac, dot := bytes.Cut(mant, []byte{'.'})
	return isDigits(whole) && (!dot || isDigits(frac))
}

// cardRun finds a Luhn-valid run of 13 to 19 digits in b, allowing single
// spaces or dashes between digits (how people write card numbers in notes).
// A run of more than 19 digits is not one, nor is any part of it (the spec:
// a 22-digit tracking number holds 16-digit substrings). Printing masks
// more (cardnum.MaskText); this is the card-number-elsewhere warning only.
func cardRun(b []byte) bool {
	if len(b) < 13 {
		return false
	}
	var digits [19]byte
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		n, j, over := 0, i, false
		for j < len(b) {
			c := b[j]
			if c >= '0' && c <= '9' {
				if n >= len(digits) {
					over = true // keep counting to the run's end, storing nothing
				} else {
					digits[n] = c
				}
				n++
				j++
				continue
			}
			if (c == ' ' || c == '-') && j+1 < len(b) && b[j+1] >= '0' && b[j+1] <= '9' {
				j++
				continue
			}
			break
		}
		if !over && n >= 13 && cardnum.Luhn(digits[:n]) {
			return true
		}
		i = j
	}
	return false
}

// masked reports a card number masked with x, X or * (and digits).
