package cardnum

// The one masking rule for card numbers in text (shared/spec/legacy-import.md,
// "What a finding carries": any value that holds a Luhn-valid 13-19 digit run
// is masked wherever it would be printed).
//
// A card number in text is 13 to 19 ASCII digits that pass the Luhn check,
// written together or in groups separated by single spaces or dashes, as
// people write them ("dddd dddd dddd dddd", "dddd-dddd-dddd-dddd"), with no
// digit right before or after it. Letters around it do not matter ("card:"
// and "x" right before the first digit are alike).
//
// Inside a longer digit run the rule is:
//   - A 13-19 digit window of an unbroken longer run of digits is not a card
//     number: a 22-digit USPS tracking number holds dozens of Luhn-valid
//     16-digit substrings, and the spec says a run that is part of a longer
//     digit run is not a card number. Masking every window would mangle
//     every tracking number in every report for no gain.
//   - Where a run is split into groups by single spaces or dashes, every
//     window of whole groups is tried: a card written next to more digits
//     ("dddd dddd dddd dddd ddd" with its CVV, "… dddd 0427" with its expiry)
//     is still masked. Here masking errs on the safe side of the validator's
//     card-number-elsewhere warning, which only looks at the run as a whole.
//
// The mask: every digit of the card number but its last four becomes '*',
// separators are kept, and every digit after it in the same run becomes '*'
// too (so the last four shown can never join the next group into a new
// number): "dddd-dddd-dddd-1234" -> "****-****-****-1234", and a bare
// number masks exactly as legacy.Mask masks a sensitive cell. legacy.Mask
// is the other half of the rule: it hides a whole value of a sensitive
// column (cardNumber, password, …) whatever it holds; MaskText hides card
// numbers wherever they appear in any other text.
//
// MaskText is linear in the length of s, allocates nothing when there is
// nothing to mask, works on bytes (invalid UTF-8 passes through unchanged:
// only ASCII digits are ever replaced) and never panics. MaskText(MaskText(s))
// == MaskText(s), and its result holds no card number.

const (
	minCard = 13
	maxCard = 19
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// findCard returns the first card number in s: the index of its first digit,
// the index after its last digit, and the end of the digit run (digits and
// single separators) it is part of. ok is false when s holds none.
func findCard[T ~string | ~[]byte](s T) (start, end, runEnd int, ok bool) {
	var digits [maxCard]byte
	n := len(s)
	for i := 0; i < n; {
		if !isDigit(s[i]) {
			i++
			continue
		}
		// s[i] starts a run. Try each group of the run as the start of a
		// card number; a window ends where a group ends.
		for g := i; ; {
			cnt, j, best := 0, g, -1
			for j < n {
				c := s[j]
				if isDigit(c) {
					if cnt == maxCard {
						break // too many digits: no window from g
					}
					digits[cnt] = c
					cnt++
					j++
					if (j == n || !isDigit(s[j])) && cnt >= minCard && Luhn(digits[:cnt]) {
						best = j
					}
					continue
				}
				if (c == ' ' || c == '-') && j+1 < n && isDigit(s[j+1]) {
					j++
					continue
				}
				break
			}
			// Skip to the next group of the run, or past the run's end.
			k := g
			for k < n && isDigit(s[k]) {
				k++
			}
			if best >= 0 {
				e := best
				for e < n {
					if isDigit(s[e]) || (s[e] == ' ' || s[e] == '-') && e+1 < n && isDigit(s[e+1]) {
						e++
						continue
					}
					break
				}
				return g, best, e, true
			}
			if k+1 < n && (s[k] == ' ' || s[k] == '-') && isDigit(s[k+1]) {
				g = k + 1
				continue
			}
			i = k
			break
		}
	}
	return 0, 0, 0, false
}

// HasCard reports whether s holds a card number as MaskText defines it.
func HasCard[T ~string | ~[]byte](s T) bool {
	if len(s) < minCard {
		return false
	}
	_, _, _, ok := findCard(s)
	return ok
}

// MaskText returns s with every card number in it masked: all its digits
// but the last four, and every digit after it in the same run, replaced by
// '*'. It returns s itself when there is nothing to mask. See the rule
// above.
func MaskText(s string) string {
	if len(s) < minCard {
		return s
	}
	start, end, runEnd, ok := findCard(s)
	if !ok {
		return s
	}
	b := []byte(s)
	off := 0
	for ok {
		start, end, runEnd = start+off, end+off, runEnd+off
		maskSpan(b, start, end, runEnd)
		off = runEnd
		start, end, runEnd, ok = findCard(b[off:])
	}
	return string(b)
}

// maskSpan masks the card number b[start:end] but its last four digits,
// and every digit of b[end:runEnd].
func maskSpan(b []byte, start, end, runEnd int) {
	keep := 4
	for i := end - 1; i >= start; i-- {
		if !isDigit(b[i]) {
			continue
		}
		if keep > 0 {
			keep--
			continue
		}
		b[i] = '*'
	}
	for i := end; i < runEnd; i++ {
		if isDigit(b[i]) {
			b[i] = '*'
		}
	}
}
