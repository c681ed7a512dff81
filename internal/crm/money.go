package crm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an exact amount in cents. Amounts are never float64.
type Money int64

// ErrMoney is wrapped by every money parse failure.
var ErrMoney = errors.New("not an amount")

// ParseMoney reads "-?digits[.digits]" with at most two fractional digits,
// as Konnektive and the import files write amounts ("29.99", "5", "-1.5").
func ParseMoney(s string) (Money, error) {
	m, ok := parseCents(s)
	if !ok {
		return 0, fmt.Errorf("parse money %q: %w", s, ErrMoney)
	}
	return m, nil
}

func parseCents(s string) (Money, bool) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || len(whole) > 15 {
		return 0, false
	}
	var cents int64
	for i := 0; i < len(whole); i++ {
		c := whole[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		cents = cents*10 + int64(c-'0')
	}
	cents *= 100
	switch len(frac) {
	case 2:
		if frac[0] < '0' || frac[0] > '9' || frac[1] < '0' || frac[1] > '9' {
			return 0, false
		}
		cents += int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	case 1:
		if frac[0] < '0' || frac[0] > '9' {
			return 0, false
		}
		cents += int64(frac[0]-'0') * 10
	}
	if neg {
		cents = -cents
	}
	return Money(cents), true
}

// String writes the amount with exactly two fractional digits: "1234.50".
func (m Money) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	s := strconv.FormatUint(u/100, 10) + "." + fmt.Sprintf("%02d", u%100)
	if neg {
		return "-" + s
	}
	return s
}

// Abs is m without its sign.
func (m Money) Abs() Money {
	if m < 0 {
		return -m
	}
	return m
}
