// Package cardnum holds the check-digit arithmetic of payment numbers: the
// Luhn check of card numbers and the ABA checksum of US bank routing
// numbers. The validator, the generator, the vault and the converter all
// use these, so there is one definition of a valid number.
package cardnum

// Luhn reports whether s is one or more ASCII digits passing the Luhn check.
func Luhn[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// CheckDigit returns the digit that, appended to payload (ASCII digits),
// makes it pass the Luhn check.
func CheckDigit[T ~string | ~[]byte](payload T) byte {
	sum, double := 0, true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// ABA reports whether s is nine ASCII digits with a valid ABA routing number
// checksum: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10.
func ABA[T ~string | ~[]byte](s T) bool {
	if len(s) != 9 {
		return false
	}
	weights := [3]int{3, 7, 1}
	sum := 0
	for i := 0; i < 9; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += weights[i%3] * int(s[i]-'0')
	}
	return sum%10 == 0
}

// Masked reports whether s is a masked card number: only digits and x, X or
// *, with at least one mask character (the seed allows such values next to
// an externalToken).
func Masked[T ~string | ~[]byte](s T) bool {
	m := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'x' || c == 'X' || c == '*':
			m = true
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return m
}
