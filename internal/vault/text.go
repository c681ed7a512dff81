package vault

import (
	"errors"
	"strings"

	"github.com/konduit/konduit/internal/cardnum"
)

// The length of a card number, in digits.
const (
	minRun = 13
	maxRun = 19
)

// ErrTangled is a card number whose tokens all form new Luhn-valid runs
// with the digit groups around it (never seen in practice: each try fails
// about one time in two at worst, and there are maxVariant tries).
var ErrTangled = errors.New("card-like number runs into other digit groups (joined by single spaces or dashes) and cannot be tokenized; separate them with another character")

// errNoRoundTrip is a cell whose tokens would not restore it exactly.
var errNoRoundTrip = errors.New("card-like number cannot be tokenized so that detokenize restores the text exactly")

// span is a run's bytes: s[start:end] begins and ends with a digit.
type span struct{ start, end int }

// scanner finds card-number runs in text. Its buffers are reused from cell
// to cell.
type scanner struct {
	groups []span
	spans  []span
	digits [maxRun]byte
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// runs returns, left to right, the non-overlapping runs of s that ok
// accepts. A run is one or more whole digit groups (maximal runs of ASCII
// digits), each joined to the next by a single space or dash, holding 13 to
// 19 digits: how card numbers are written, and what `konduit validate` and
// the leak tests look for. Every run that starts and ends at a group
// boundary is a candidate, so a card followed by an expiry or preceded by
// a phone number is still found; a group of more than 19 digits is never
// one. At each group the longest accepted run wins and the search goes on
// after it. The result is valid until the next call.
func (sc *scanner) runs(s string, ok func([]byte) bool) []span {
	sc.spans = sc.spans[:0]
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	if n < minRun {
		return nil
	}
	sc.groups = sc.groups[:0]
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		sc.groups = append(sc.groups, span{i, j})
		i = j
	}
	g := sc.groups
	for i := 0; i < len(g); {
		d, best := sc.digits[:0], -1
		for j := i; j < len(g); j++ {
			if j > i && !joined(s, g[j-1], g[j]) {
				break
			}
			if len(d)+g[j].end-g[j].start > maxRun {
				break
			}
			d = append(d, s[g[j].start:g[j].end]...)
			if len(d) >= minRun && ok(d) {
				best = j
			}
		}
		if best < 0 {
			i++
			continue
		}
		sc.spans = append(sc.spans, span{g[i].start, g[best].end})
		i = best + 1
	}
	return sc.spans
}

// joined reports whether group b follows group a after a single space or
// dash.
func joined(s string, a, b span) bool {
	return b.start == a.end+1 && (s[a.end] == ' ' || s[a.end] == '-')
}

func luhn(d []byte) bool { return cardnum.Luhn(d) }

// digitsOf returns the digits of b, without the separators.
func digitsOf(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if isDigit(c) {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// putDigits writes d's digits over b's, in order, leaving the separators.
func putDigits(b []byte, d string) {
	k := 0
	for i := range b {
		if isDigit(b[i]) {
			b[i] = d[k]
			k++
		}
	}
}

// maskRun shows a run's last four digits only.
func maskRun(digits string) string {
	if len(digits) <= 4 {
		return strings.Repeat("*", len(digits))
	}
	return strings.Repeat("*", len(digits)-4) + digits[len(digits)-4:]
}

// textError is a run tokenizeText could not replace; Value is masked.
type textError struct {
	value string
	err   error
}

func (e *textError) Error() string { return e.value + ": " + e.err.Error() }
func (e *textError) Unwrap() error { return e.err }

// tokenizeText replaces every card-number run of s (runs that pass the
// Luhn check) with a card token of the number, digit for digit, leaving the
// separators and the rest of the text as they are. Tokens never pass the
// Luhn check, but one can form a new Luhn-valid run with the digit groups
// around it (a card written before an expiry: "4111 1111 1111 1111 09");
// then the runs it touches take their number's next variant token, until
// no Luhn-valid run is left. The result is checked: restoreText gives back
// what restoreText(s) gives. On error it returns s and a *textError naming
// the first run by its last four digits.
func (v *Vault) tokenizeText(sc *scanner, s string) (out string, replaced, created int, err error) {
	found := sc.runs(s, luhn)
	if len(found) == 0 {
		return s, 0, 0, nil
	}
	spans := append([]span(nil), found...)
	nums := make([]string, len(spans))
	for i, sp := range spans {
		nums[i] = digitsOf([]byte(s[sp.start:sp.end]))
	}
	fail := func(err error) (string, int, int, error) {
		return s, 0, 0, &textError{maskRun(nums[0]), err}
	}
	variant := make([]int, len(spans))
	for {
		b := []byte(s)
		for i, sp := range spans {
			tok, c, err := v.tokenVariant(Card, nums[i], variant[i])
			if err != nil {
				return fail(err)
			}
			putDigits(b[sp.start:sp.end], tok)
			if c {
				created++
			}
		}
		out = string(b)
		left := sc.runs(out, luhn)
		if len(left) == 0 {
			break
		}
		// Every run left overlaps a token: a run clear of them all would
		// have been found in s.
		bumped := false
		for i, sp := range spans {
			for _, r := range left {
				if r.start < sp.end && sp.start < r.end {
					if variant[i] == maxVariant {
						return fail(ErrTangled)
					}
					variant[i]++
					bumped = true
					break
				}
			}
		}
		if !bumped {
			return fail(ErrTangled)
		}
	}
	back, _, err1 := v.restoreText(sc, out)
	want, _, err2 := v.restoreText(sc, s)
	if err := errors.Join(err1, err2); err != nil {
		return fail(err)
	}
	if back != want {
		return fail(errNoRoundTrip)
	}
	return out, len(spans), created, nil
}

// restoreText puts back the numbers of the vault's tokens found in s as
// runs (13 to 19 digits: tokenizeText leaves them so).
func (v *Vault) restoreText(sc *scanner, s string) (string, int, error) {
	isToken := func(d []byte) bool {
		_, ok := v.byToken[string(d)]
		return ok
	}
	spans := sc.runs(s, isToken)
	if len(spans) == 0 {
		return s, 0, nil
	}
	b := []byte(s)
	for _, sp := range spans {
		tok := digitsOf(b[sp.start:sp.end])
		num, _, _, err := v.Detokenize(tok)
		if err != nil {
			return s, 0, &textError{maskRun(tok), err}
		}
		putDigits(b[sp.start:sp.end], num)
	}
	return string(b), len(spans), nil
}

// cardShaped reports a value that is 13 to 19 digits, possibly split by
// single spaces or dashes, and nothing else.
func cardShaped(s string) (digits string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || !isDigit(s[0]) || !isDigit(s[len(s)-1]) {
		return "", false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			n++
		case (c == ' ' || c == '-') && isDigit(s[i+1]):
		default:
			return "", false
		}
	}
	if n < minRun || n > maxRun {
		return "", false
	}
	return digitsOf([]byte(s)), true
}
