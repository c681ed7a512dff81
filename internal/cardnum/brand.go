package cardnum

// The one definition of a known card prefix: the issuer identification
// number (IIN) ranges of the card schemes, with the lengths each issues.
// The validator uses it where a value is an identifier a carrier or a
// processor assigns (a tracking number, a merchantTxnId): such a value is
// taken for a card number only when it is a whole card number of a known
// scheme, not merely 13-19 digits that pass the Luhn check (one in ten do).

// iin is one range of prefixes: the first digits(lo) digits of a number,
// read as an integer, in [lo, hi], for numbers whose length is in lens.
type iin struct {
	brand  string
	digits int
	lo, hi int
	minLen int
	maxLen int
	only   []int // lengths, when not every length in [minLen, maxLen]
}

var iins = []iin{
	{brand: "Visa", digits: 1, lo: 4, hi: 4, minLen: 13, maxLen: 19, only: []int{13, 16, 19}},
	{brand: "Mastercard", digits: 2, lo: 51, hi: 55, minLen: 16, maxLen: 16},
	{brand: "Mastercard", digits: 4, lo: 2221, hi: 2720, minLen: 16, maxLen: 16},
	{brand: "American Express", digits: 2, lo: 34, hi: 34, minLen: 15, maxLen: 15},
	{brand: "American Express", digits: 2, lo: 37, hi: 37, minLen: 15, maxLen: 15},
	{brand: "Discover", digits: 4, lo: 6011, hi: 6011, minLen: 16, maxLen: 19},
	{brand: "Discover", digits: 3, lo: 644, hi: 649, minLen: 16, maxLen: 19},
	{brand: "Discover", digits: 2, lo: 65, hi: 65, minLen: 16, maxLen: 19},
	{brand: "Discover", digits: 6, lo: 622126, hi: 622925, minLen: 16, maxLen: 19},
	{brand: "Diners Club", digits: 3, lo: 300, hi: 305, minLen: 14, maxLen: 19},
	{brand: "Diners Club", digits: 4, lo: 3095, hi: 3095, minLen: 14, maxLen: 19},
	{brand: "Diners Club", digits: 2, lo: 36, hi: 36, minLen: 14, maxLen: 19},
	{brand: "Diners Club", digits: 2, lo: 38, hi: 39, minLen: 16, maxLen: 19},
	{brand: "JCB", digits: 4, lo: 3528, hi: 3589, minLen: 16, maxLen: 19},
	{brand: "UnionPay", digits: 2, lo: 62, hi: 62, minLen: 16, maxLen: 19},
	{brand: "UnionPay", digits: 2, lo: 81, hi: 81, minLen: 16, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 5018, hi: 5018, minLen: 13, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 5020, hi: 5020, minLen: 13, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 5038, hi: 5038, minLen: 13, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 5893, hi: 5893, minLen: 13, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 6304, hi: 6304, minLen: 13, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 6759, hi: 6759, minLen: 13, maxLen: 19},
	{brand: "Maestro", digits: 4, lo: 6761, hi: 6763, minLen: 13, maxLen: 19},
	{brand: "Mir", digits: 4, lo: 2200, hi: 2204, minLen: 16, maxLen: 19},
	{brand: "RuPay", digits: 2, lo: 60, hi: 60, minLen: 16, maxLen: 16},
	{brand: "RuPay", digits: 3, lo: 508, hi: 508, minLen: 16, maxLen: 16},
	{brand: "RuPay", digits: 3, lo: 652, hi: 653, minLen: 16, maxLen: 16},
	{brand: "RuPay", digits: 2, lo: 82, hi: 82, minLen: 16, maxLen: 16},
	{brand: "Verve", digits: 6, lo: 506099, hi: 506198, minLen: 16, maxLen: 19},
	{brand: "Verve", digits: 6, lo: 650002, hi: 650027, minLen: 16, maxLen: 19},
	{brand: "Troy", digits: 4, lo: 9792, hi: 9792, minLen: 16, maxLen: 16},
}

// Brand names the card scheme whose IIN range and lengths s (ASCII digits
// only) fits, or "" when s is no known card number shape. It does not check
// the Luhn digit: KnownCard does both.
func Brand[T ~string | ~[]byte](s T) string {
	n := len(s)
	if n < minCard || n > maxCard {
		return ""
	}
	for i := 0; i < n; i++ {
		if !isDigit(s[i]) {
			return ""
		}
	}
	for _, r := range iins {
		if n < r.minLen || n > r.maxLen {
			continue
		}
		p := 0
		for i := 0; i < r.digits; i++ {
			p = p*10 + int(s[i]-'0')
		}
		if p < r.lo || p > r.hi {
			continue
		}
		if r.only != nil && !contains(r.only, n) {
			continue
		}
		return r.brand
	}
	return ""
}

func contains(l []int, n int) bool {
	for _, x := range l {
		if x == n {
			return true
		}
	}
	return false
}

// KnownPrefix reports whether s, 13 to 19 ASCII digits, starts with the IIN
// of a known card scheme and has a length that scheme issues.
func KnownPrefix[T ~string | ~[]byte](s T) bool { return Brand(s) != "" }

// KnownCard reports whether s is exactly a card number: 13 to 19 ASCII
// digits with a known card prefix (KnownPrefix) that pass the Luhn check.
func KnownCard[T ~string | ~[]byte](s T) bool { return KnownPrefix(s) && Luhn(s) }
