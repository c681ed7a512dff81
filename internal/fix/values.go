package fix

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/normalize"
)

// The normalisers fix applies to a value that fails its column's check.
// Each is the one in internal/normalize (convert calls the same ones), so
// fix and convert give the same answer for the same input; they return the
// canonical form and true, or "" and false when the value cannot be
// repaired without a guess.

// Country turns a country name, alias, alpha-3 or lower-case code into its
// ISO 3166-1 alpha-2 code ("United States", "usa", "us" -> "US").
func Country(v string) (string, bool) { return normalize.Country(v) }

// Decimal reads an amount ("$1,234.50", "(12.00)", "1,234.5") as
// normalize.Decimal does; money2 (Decimal (xx.xx format) columns) writes
// exactly two decimals, as convert always does.
func Decimal(v string, money2 bool) (string, bool) {
	out, err := normalize.Decimal(v, ".", money2)
	return out, err == nil
}

// Bit reads the usual spellings of true and false as 1 and 0.
func Bit(v string) (string, bool) { return normalize.Bit(v) }

// Enum matches a value to one of the column's words, ignoring case and
// surrounding spaces ("success " -> "SUCCESS").
func Enum(v string, values []string) (string, bool) { return normalize.Enum(v, values) }

// Phone reduces a phone number to its digits (normalize.Phone: punctuation
// and an extension dropped).
func Phone(v string) (string, bool) { return normalize.Phone(v) }

// NANP drops the country code 1 from an 11-digit US or Canadian number.
func NANP(v string) (string, bool) { return normalize.NANP(v) }

// ExpiryMonth writes a card expiry's month with its leading zero.
func ExpiryMonth(v string) (string, bool) { return normalize.ExpiryMonth(v) }

// ExpiryYear writes a card expiry's year with its century: 27 -> 2027.
func ExpiryYear(v string) (string, bool) { return normalize.ExpiryYear(v) }

// ZipUS restores the leading zero a spreadsheet dropped from a 4-digit ZIP.
func ZipUS(v string) (string, bool) { return normalize.ZipUS(v) }

// State turns a full US state or Canadian province name into its postal
// code.
func State(country, v string) (string, bool) { return normalize.State(country, v) }

// Order is the order of the day and month in a slashed date.
type Order = normalize.Order

// Date orders.
const (
	OrderUnknown = normalize.OrderUnknown
	MDY          = normalize.MDY
	DMY          = normalize.DMY
)

// ParseOrder reads "mdy", "dmy" or "".
func ParseOrder(s string) (Order, bool) { return normalize.ParseOrder(s) }

// SlashedParts reports the two leading parts of an A/B/YYYY date, for
// deciding a column's order.
func SlashedParts(v string) (a, b int, ok bool) { return normalize.SlashedParts(v) }

// Datetime rewrites a date and time as YYYY-MM-DD HH:MM:SS
// (normalize.Datetime).
func Datetime(v string, order Order) (string, bool) { return normalize.Datetime(v, order) }

// Date rewrites a date as YYYY-MM-DD (normalize.Date).
func Date(v string, order Order) (string, bool) { return normalize.Date(v, order) }

func daysIn(year, month int) int { return normalize.DaysIn(year, month) }

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
