package convert

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
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
	fmtUpper     = "upper"
	fmtLower     = "lower"
	fmtPostal    = "postal"
)

var knownFormats = map[string]bool{
	fmtText: true, fmtDatetime: true, fmtDate: true, fmtAmount: true, fmtPhone: true,
	fmtDigits: true, fmtCard: true, fmtFirstName: true, fmtLastName: true, fmtExpMonth: true,
	fmtExpYear: true, fmtBit: true, fmtCountry: true, fmtUpper: true, fmtLower: true, fmtPostal: true,
}

// timeLayout is one compiled source date layout.
type timeLayout struct {
	goLayout string
	unix     bool
	zoned    bool // the layout carries an offset or zone
	clock    bool // the layout carries a time of day
}

// compileLayout accepts a Go reference layout ("01/02/2006 15:04"), a token
// layout ("MM/DD/YYYY HH:mm") or a name: unix, rfc3339, iso8601.
func compileLayout(s string) (timeLayout, error) {
	switch strings.ToLower(s) {
	case "unix":
		return timeLayout{unix: true, zoned: true, clock: true}, nil
	case "rfc3339", "iso8601":
		s = time.RFC3339
	}
	l := s
	if !strings.Contains(s, "2006") && !strings.Contains(s, "06") {
		var err error
		if l, err = tokensToGo(s); err != nil {
			return timeLayout{}, err
		}
	}
	ref := time.Date(2001, 2, 3, 13, 5, 7, 0, time.UTC)
	noon := time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)
	tl := timeLayout{goLayout: l}
	tl.clock = ref.Format(l) != noon.Format(l)
	tl.zoned = strings.Contains(l, "Z07") || strings.Contains(l, "-07") || strings.Contains(l, "MST")
	if _, err := time.Parse(l, ref.Format(l)); err != nil {
		return timeLayout{}, fmt.Errorf("layout %q does not read back what it writes: %w", s, err)
	}
	return tl, nil
}

// tokens, longest first.
var layoutTokens = []struct{ tok, goTok string }{
	{"YYYY", "2006"}, {"YY", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DD", "02"}, {"D", "2"}, {"HH", "15"}, {"H", "15"}, {"hh", "03"}, {"h", "3"}, {"mm", "04"}, {"m", "4"},
	{"ss", "05"}, {"s", "5"}, {"SSS", "000"}, {"A", "PM"}, {"a", "pm"}, {"ZZ", "-0700"}, {"Z", "Z07:00"},
}

func tokensToGo(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		for _, t := range layoutTokens {
			if strings.HasPrefix(s[i:], t.tok) {
				b.WriteString(t.goTok)
				i += len(t.tok)
				matched = true
				break
			}
		}
		if !matched {
			c := s[i]
			if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
				return "", fmt.Errorf("layout %q: %q is not a layout token (YYYY MM DD HH hh mm ss A Z)", s, string(c))
			}
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// parseTime reads v with the first layout that fits and returns the instant
// (for zoned or clocked layouts) placed in src, or a calendar date.
func parseTime(v string, layouts []timeLayout, src *time.Location) (t time.Time, l timeLayout, adj crm.Adjustment, err error) {
	for _, l := range layouts {
		if l.unix {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			return time.Unix(n, 0), l, crm.Exact, nil
		}
		p, err := time.Parse(l.goLayout, v)
		if err != nil {
			continue
		}
		if l.zoned {
			return p, l, crm.Exact, nil
		}
		if !l.clock {
			return p, l, crm.Exact, nil // a calendar date; zones do not apply
		}
		u, a := crm.Place(p, src)
		return u, l, a, nil
	}
	return time.Time{}, timeLayout{}, crm.Exact, errors.New("matches none of the layouts")
}

// cleanAmount reduces a human amount ("$1,234.50", "(12.00)", "1.234,50 €")
// to "-?digits[.digits]" with "." as the decimal point.
func cleanAmount(v, decimalSep string) (string, error) {
	s := strings.TrimSpace(v)
	s = strings.TrimPrefix(s, "'")
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, s[1:len(s)-1]
	}
	if strings.HasSuffix(s, "-") {
		neg, s = !neg, strings.TrimSuffix(s, "-")
	}
	thousands := ","
	if decimalSep == "," {
		thousands = "."
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	digits, signed := false, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
			digits = true
		case string(c) == decimalSep:
			b.WriteByte('.')
		case (c == '-' || c == '+') && !digits && !signed:
			signed = true
			if c == '-' {
				neg = !neg
			}
		case string(c) == thousands, c == ' ', c == '\u00a0', c == '\u202f', c == '\'':
		case strings.ContainsRune("$€£¥₹", c), c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			// currency symbols and codes (USD, EUR, CA$)
		default:
			return "", fmt.Errorf("unexpected %q", c)
		}
	}
	if !digits {
		return "", errors.New("no digits")
	}
	if neg {
		return "-" + b.String(), nil
	}
	return b.String(), nil
}

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

func writeAmount(d decimal.Decimal) (string, error) {
	if !d.Equal(d.Round(2)) {
		return "", errors.New("has more than two decimal places (convert never rounds)")
	}
	return d.StringFixed(2), nil
}

func digitsOnly(v string) string {
	var b strings.Builder
	for _, c := range v {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// phone keeps digits and drops the North American country code 1 from an
// 11-digit number.
func phone(v string) string {
	d := digitsOnly(v)
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	return d
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

// expiry reads "MM/YY", "MM/YYYY", "MMYY", "MMYYYY", "YYYY-MM", or a lone
// month or year, and returns the two-digit month and four-digit year found.
// A lone four-digit value starting 19 or 20 is a year when wantYear is set
// (no month is 19 or 20, so "MMYY" is never read that way by mistake).
func expiry(v string, wantYear bool) (month, year string, err error) {
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
	if digitsOnly(a) != a || digitsOnly(b) != b || a == "" {
		return "", "", errors.New("not an expiry date")
	}
	if b == "" {
		n, _ := strconv.Atoi(a)
		switch {
		case len(a) == 4:
			return "", a, nil
		case wantYear && len(a) == 2:
			return "", "20" + a, nil
		case len(a) <= 2 && n >= 1 && n <= 12:
			return fmt.Sprintf("%02d", n), "", nil
		}
		return "", "", errors.New("not an expiry date")
	}
	m, _ := strconv.Atoi(a)
	if m < 1 || m > 12 {
		return "", "", errors.New("month out of range")
	}
	switch len(b) {
	case 2:
		b = "20" + b
	case 4:
	default:
		return "", "", errors.New("not an expiry year")
	}
	return fmt.Sprintf("%02d", m), b, nil
}

func bit(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y", "on":
		return "1", nil
	case "0", "false", "f", "no", "n", "off":
		return "0", nil
	}
	return "", errors.New("not a yes/no value")
}

var countries = map[string]string{
	"usa": "US", "united states": "US", "united states of america": "US", "u.s.": "US", "u.s.a.": "US",
	"can": "CA", "canada": "CA", "gbr": "GB", "uk": "GB", "united kingdom": "GB", "great britain": "GB",
	"aus": "AU", "australia": "AU", "nzl": "NZ", "new zealand": "NZ", "irl": "IE", "ireland": "IE",
	"deu": "DE", "germany": "DE", "fra": "FR", "france": "FR", "mex": "MX", "mexico": "MX",
	"esp": "ES", "spain": "ES", "ita": "IT", "italy": "IT", "nld": "NL", "netherlands": "NL",
}

func country(v string) (string, error) {
	s := strings.TrimSpace(v)
	if c, ok := countries[strings.ToLower(s)]; ok {
		return c, nil
	}
	if len(s) == 2 && isLetter(s[0]) && isLetter(s[1]) {
		return strings.ToUpper(s), nil
	}
	return "", errors.New("not a known country; use a two-letter code or a value map")
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
