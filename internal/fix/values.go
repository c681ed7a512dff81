package fix

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/geo"
)

// The normalisers below each take a value that fails its column's check and
// return the canonical form and true, or "" and false when the value cannot
// be repaired without a guess. They are pure: no state, no I/O.

// Country turns a country name, alias or lower-case code into its ISO
// 3166-1 alpha-2 code ("United States", "usa", "us" -> "US").
func Country(v string) (string, bool) {
	if geo.IsCountry(v) {
		return v, true
	}
	if c := geo.CountryCode(v); c != "" {
		return c, true
	}
	return "", false
}

// Decimal removes a currency symbol, surrounding spaces and thousands
// separators (only when they group by three), and fractional zeros past the
// second: "$1,234.50" -> "1234.50". money2 writes exactly two fractional
// digits, as the Decimal (xx.xx format) columns ask.
func Decimal(v string, money2 bool) (string, bool) {
	s := strings.TrimSpace(v)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, strings.TrimSpace(s[1:])
	}
	if strings.HasPrefix(s, "$") {
		s = strings.TrimSpace(s[1:])
	}
	if !neg && strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		if len(groups[0]) < 1 || len(groups[0]) > 3 {
			return "", false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return "", false
			}
		}
		whole = strings.Join(groups, "")
	}
	if !digits(whole) || (dot && !digits(frac)) {
		return "", false
	}
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > 2 {
		return "", false
	}
	if money2 {
		for len(frac) < 2 {
			frac += "0"
		}
	}
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	if !isDecimal(out) {
		return "", false // too many digits to be an amount
	}
	return out, true
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

// Enum matches a value to one of the column's words, ignoring case and
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

// Phone removes the punctuation people write in phone numbers: spaces,
// dashes, dots, slashes, parentheses and a leading +. A value with letters
// (an extension) is not repaired.
func Phone(v string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t':
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

// NANP drops the country code 1 from an 11-digit US or Canadian number.
func NANP(v string) (string, bool) {
	if len(v) == 11 && v[0] == '1' && digits(v) {
		return v[1:], true
	}
	return "", false
}

// ExpiryMonth writes a month 1..9 with its leading zero.
func ExpiryMonth(v string) (string, bool) {
	t := strings.TrimSpace(v)
	if len(t) == 1 && t[0] >= '1' && t[0] <= '9' {
		return "0" + t, true
	}
	if len(t) == 2 && digits(t) && t != "00" && t <= "12" {
		return t, true
	}
	return "", false
}

// ExpiryYear writes a two-digit year with its century: 27 -> 2027.
func ExpiryYear(v string) (string, bool) {
	t := strings.TrimSpace(v)
	if len(t) == 2 && digits(t) {
		return "20" + t, true
	}
	if len(t) == 4 && digits(t) {
		return t, true
	}
	return "", false
}

// ZipUS restores the leading zero a spreadsheet dropped from a 4-digit ZIP.
func ZipUS(v string) (string, bool) {
	if len(v) == 4 && digits(v) {
		return "0" + v, true
	}
	return "", false
}

// State turns a full US state or Canadian province name into its postal
// code.
func State(country, v string) (string, bool) {
	if c := geo.StateCode(country, v); c != "" {
		return c, true
	}
	return "", false
}

// Order is the order of the day and month in a slashed date.
type Order int

// Date orders.
const (
	OrderUnknown Order = iota
	MDY
	DMY
)

func (o Order) String() string {
	switch o {
	case MDY:
		return "mdy"
	case DMY:
		return "dmy"
	}
	return "unknown"
}

// ParseOrder reads "mdy", "dmy" or "".
func ParseOrder(s string) (Order, bool) {
	switch strings.ToLower(s) {
	case "":
		return OrderUnknown, true
	case "mdy":
		return MDY, true
	case "dmy":
		return DMY, true
	}
	return OrderUnknown, false
}

// stamp is a date and time read from a cell.
type stamp struct {
	y, mo, d, h, mi, s int
	hasTime            bool
}

// slashed reads "A/B/YYYY" with an optional time. It returns the two
// leading parts undecided (which is the month depends on the column).
func slashed(v string) (a, b int, st stamp, ok bool) {
	t := strings.TrimSpace(v)
	date, clock, _ := strings.Cut(t, " ")
	parts := strings.Split(date, "/")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) != 4 {
		return 0, 0, st, false
	}
	a, ok1 := atoi(parts[0])
	b, ok2 := atoi(parts[1])
	y, ok3 := atoi(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, st, false
	}
	st.y = y
	if clock = strings.TrimSpace(clock); clock != "" {
		if !parseClock(clock, &st) {
			return 0, 0, st, false
		}
	}
	return a, b, st, true
}

// SlashedParts reports the two leading parts of an A/B/YYYY date, for
// deciding a column's order.
func SlashedParts(v string) (a, b int, ok bool) {
	a, b, _, ok = slashed(v)
	return a, b, ok
}

// parseClock reads H:MM, H:MM:SS, with an optional AM/PM (12-hour clock).
func parseClock(c string, st *stamp) bool {
	ampm := ""
	if i := strings.LastIndexByte(c, ' '); i >= 0 {
		ampm, c = strings.ToUpper(strings.TrimSpace(c[i+1:])), strings.TrimSpace(c[:i])
	} else if n := len(c); n > 2 {
		if u := strings.ToUpper(c[n-2:]); u == "AM" || u == "PM" {
			ampm, c = u, c[:n-2]
		}
	}
	ampm = strings.ReplaceAll(ampm, ".", "")
	parts := strings.Split(c, ":")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) < 1 || len(parts[0]) > 2 {
		return false
	}
	h, ok := atoi(parts[0])
	if !ok {
		return false
	}
	var mi, s int
	if len(parts[1]) != 2 {
		return false
	}
	if mi, ok = atoi(parts[1]); !ok {
		return false
	}
	if len(parts) == 3 {
		sec, _, _ := strings.Cut(parts[2], ".") // fractional seconds are dropped
		if len(sec) != 2 {
			return false
		}
		if s, ok = atoi(sec); !ok {
			return false
		}
	}
	switch ampm {
	case "":
	case "AM", "PM":
		if h < 1 || h > 12 {
			return false
		}
		if h == 12 {
			h = 0
		}
		if ampm == "PM" {
			h += 12
		}
	default:
		return false
	}
	st.h, st.mi, st.s, st.hasTime = h, mi, s, true
	return true
}

// isoish reads YYYY-MM-DD or YYYY/MM/DD (month and day of one or two
// digits), with an optional time after a space or a T, and an optional Z.
// An explicit offset (+02:00) is not read: converting it needs the
// account's time zone.
func isoish(v string) (stamp, bool) {
	var st stamp
	t := strings.TrimSpace(v)
	t = strings.TrimSuffix(t, "Z")
	date, clock := t, ""
	if i := strings.IndexAny(t, "T "); i >= 0 {
		date, clock = t[:i], strings.TrimSpace(t[i+1:])
	}
	sep := "-"
	if strings.Contains(date, "/") {
		sep = "/"
	}
	parts := strings.Split(date, sep)
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) < 1 || len(parts[2]) > 2 {
		return st, false
	}
	var ok1, ok2, ok3 bool
	st.y, ok1 = atoi(parts[0])
	st.mo, ok2 = atoi(parts[1])
	st.d, ok3 = atoi(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return st, false
	}
	if clock != "" {
		if strings.ContainsAny(clock, "+-") || !parseClock(clock, &st) {
			return st, false
		}
	}
	return st, true
}

func (st stamp) valid() bool {
	return st.y >= 1 && st.mo >= 1 && st.mo <= 12 && st.d >= 1 && st.d <= daysIn(st.y, st.mo) &&
		st.h < 24 && st.mi < 60 && st.s < 60
}

func (st stamp) date() string {
	return pad(st.y, 4) + "-" + pad(st.mo, 2) + "-" + pad(st.d, 2)
}

func (st stamp) datetime() string {
	return st.date() + " " + pad(st.h, 2) + ":" + pad(st.mi, 2) + ":" + pad(st.s, 2)
}

// read parses a value as a stamp: ISO-like forms always, slashed forms in
// the given order only.
func read(v string, order Order) (stamp, bool) {
	if st, ok := isoish(v); ok {
		return st, st.valid()
	}
	a, b, st, ok := slashed(v)
	if !ok {
		return st, false
	}
	switch order {
	case MDY:
		st.mo, st.d = a, b
	case DMY:
		st.mo, st.d = b, a
	default:
		return st, false
	}
	return st, st.valid()
}

// Datetime rewrites a date and time as YYYY-MM-DD HH:MM:SS: ISO 8601 with
// a T and a Z, a missing seconds field, or a slashed date in the column's
// order with a 12- or 24-hour clock. A value without a time is not
// repaired (the time would be a guess).
func Datetime(v string, order Order) (string, bool) {
	st, ok := read(v, order)
	if !ok || !st.hasTime {
		return "", false
	}
	return st.datetime(), true
}

// Date rewrites a date as YYYY-MM-DD: single-digit month or day, slashes,
// a slashed date in the column's order, or a midnight time that a
// spreadsheet appended.
func Date(v string, order Order) (string, bool) {
	st, ok := read(v, order)
	if !ok || (st.hasTime && (st.h != 0 || st.mi != 0 || st.s != 0)) {
		return "", false
	}
	return st.date(), true
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

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func atoi(s string) (int, bool) {
	if !digits(s) || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func digits(s string) bool {
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

// printable shows a value that may hold bytes that are not UTF-8, writing
// those as \xNN.
func printable(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(`\x` + strings.ToUpper(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:]))
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
