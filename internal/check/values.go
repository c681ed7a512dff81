package check

import (
	"bytes"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/normalize"
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
	return d <= normalize.DaysIn(hi*100+lo, m)
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

// isSpreadsheetSci reports a number as a spreadsheet writes it in
// scientific notation: -?digits[.digits]E(+|-)digits, such as
// 9.4001112114934E+015. The exponent's sign is required: spreadsheets
// always write it, and a bare "2E1" may be an apartment.
func isSpreadsheetSci[T ~string | ~[]byte](b T) bool {
	i, n := 0, len(b)
	if n > 0 && b[0] == '-' {
		i++
	}
	mant := 0
	for i < n && b[i] >= '0' && b[i] <= '9' {
		i++
		mant++
	}
	if mant == 0 {
		return false
	}
	if i < n && b[i] == '.' {
		i++
		frac := 0
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
			frac++
		}
		if frac == 0 {
			return false
		}
	}
	if i+2 >= n || (b[i] != 'E' && b[i] != 'e') || (b[i+1] != '+' && b[i+1] != '-') {
		return false
	}
	for i += 2; i < n; i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

// isDotZero reports digits followed by ".0": an identifier a spreadsheet or
// a script read as a number and wrote back as one.
func isDotZero[T ~string | ~[]byte](b T) bool {
	n := len(b)
	if n < 3 || b[n-2] != '.' || b[n-1] != '0' {
		return false
	}
	for i := 0; i < n-2; i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

// identifierColumns are the text columns that hold identifiers and codes:
// digits there are never a quantity, so a trailing .0 is a spreadsheet's.
var identifierColumns = map[string]bool{
	legacy.FCustomerID: true, legacy.FOrderID: true, legacy.FMerchantTxnID: true, legacy.FParentTxnID: true,
	legacy.FAuthCode: true, legacy.FTrackingNumber: true, legacy.FPostalCode: true, legacy.FShipPostalCode: true,
	legacy.FAffID: true, legacy.FSubAffID: true, legacy.FLoginID: true,
}

// noSpreadsheetCheck are the columns spreadsheet-number leaves alone:
// cardNumber has its own rule for scientific notation (card-truncated), and
// a password may be any text.
var noSpreadsheetCheck = map[string]bool{legacy.FCardNumber: true, legacy.FPassword: true}

// isIdentifier reports a column whose digits-only values are identifiers.
func isIdentifier(col legacy.Column) bool {
	return col.Type == legacy.Integer || col.Type == legacy.Phone || identifierColumns[col.Name]
}

// SpreadsheetNumber reports whether v, a value of col, is a number a
// spreadsheet rewrote (rule spreadsheet-number): scientific notation in any
// column, or digits with a trailing .0 in an identifier column. fix leaves
// such values alone: the digits are lost, and only a new export has them.
func SpreadsheetNumber[T ~string | ~[]byte](col legacy.Column, v T) bool {
	if noSpreadsheetCheck[col.Name] {
		return false
	}
	return isSpreadsheetSci(v) || (isDotZero(v) && isIdentifier(col))
}

// NormalEmail is an email address as the double-billing rule compares it:
// surrounding spaces trimmed, case folded.
func NormalEmail(s string) string { return string(normalEmail(nil, []byte(s))) }

// normalEmail appends the normal form of an email address to dst.
func normalEmail(dst, b []byte) []byte {
	b = bytes.TrimSpace(b)
	for _, c := range b {
		if c >= 0x80 {
			return append(dst, bytes.ToLower(b)...)
		}
	}
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// BillingPhone is a phone number as the double-billing rule compares it:
// exactly 10 digits, read as a number; ok is false for any other value and
// for the placeholders people type when they have no number (one digit
// repeated, as the FAQ's 1111111111, or 1234567890).
func BillingPhone[T ~string | ~[]byte](v T) (n uint64, ok bool) {
	if len(v) != 10 {
		return 0, false
	}
	same := true
	for i := 0; i < 10; i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		same = same && c == v[0]
		n = n*10 + uint64(c-'0')
	}
	if same || n == 1234567890 || n == 123456789 {
		return 0, false
	}
	return n, true
}
