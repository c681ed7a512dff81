package cardnum

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// luhnNumber returns a Luhn-valid number of n digits starting with prefix,
// its other digits drawn from r. Card-shaped test data is made at run time,
// never committed.
func luhnNumber(r *rand.Rand, prefix string, n int) string {
	b := []byte(prefix)
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(b) + string(CheckDigit(b))
}

// notLuhn returns a number of n digits starting with prefix that fails the
// Luhn check.
func notLuhn(r *rand.Rand, prefix string, n int) string {
	s := luhnNumber(r, prefix, n)
	last := s[n-1]
	return s[:n-1] + string('0'+(last-'0'+1)%10)
}

// group writes digits in groups of four joined by sep.
func group(d, sep string) string {
	var parts []string
	for len(d) > 4 {
		parts = append(parts, d[:4])
		d = d[4:]
	}
	return strings.Join(append(parts, d), sep)
}

// refCards is the rule written the slow, obvious way: every substring that
// starts and ends with a digit, touches no other digit, is digits with
// single spaces or dashes between them, has 13 to 19 digits and passes
// Luhn. It returns each one found.
func refCards(s string) []string {
	var found []string
	dig := func(i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }
	for i := 0; i < len(s); i++ {
		if !dig(i) || dig(i-1) {
			continue
		}
		var digits []byte
		for j := i; j < len(s) && len(digits) <= 19; j++ {
			switch {
			case dig(j):
				digits = append(digits, s[j])
			case (s[j] == ' ' || s[j] == '-') && dig(j-1) && dig(j+1):
				continue
			default:
				j = len(s)
				continue
			}
			if !dig(j+1) && len(digits) >= 13 && len(digits) <= 19 && Luhn(digits) {
				found = append(found, s[i:j+1])
			}
		}
	}
	return found
}

func TestMaskText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c16 := luhnNumber(r, "4", 16)
	c15 := luhnNumber(r, "37", 15)
	c13 := luhnNumber(r, "4", 13)
	c19 := luhnNumber(r, "6", 19)
	stars := func(n int) string { return strings.Repeat("*", n) }
	tests := []struct{ in, want string }{
		{"", ""},
		{"no digits here", "no digits here"},
		{c16, stars(12) + c16[12:]},
		{c13, stars(9) + c13[9:]},
		{c19, stars(15) + c19[15:]},
		{"card " + c15 + ", thanks", "card " + stars(11) + c15[11:] + ", thanks"},
		{group(c16, " "), "**** **** **** " + c16[12:]},
		{group(c16, "-"), "****-****-****-" + c16[12:]},
		{"x" + c16 + "y", "x" + stars(12) + c16[12:] + "y"},
		// A card followed by its CVV or expiry, a space apart: still a
		// card; the digits after it are masked too.
		{group(c16, " ") + " 123", "**** **** **** " + c16[12:] + " ***"},
		{c16 + "-0427 ok", stars(12) + c16[12:] + "-**** ok"},
		// Groups before the card stay.
		{"12 " + group(c16, " "), "12 **** **** **** " + c16[12:]},
		// Two cards.
		{c16 + " / " + c15, stars(12) + c16[12:] + " / " + stars(11) + c15[11:]},
		// Not cards: fails Luhn, too short, too long, inside a longer
		// unbroken run, two separators, another separator.
		{notLuhn(r, "4", 16), ""},
		{c16[:12], ""},
		{"1" + c19, ""},
		{"94" + c16 + "0123", ""},
		{c16[:8] + "  " + c16[8:], ""},
		{c16[:8] + "." + c16[8:], ""},
		{c16[:8] + "/" + c16[8:], ""},
		// Already masked.
		{stars(12) + c16[12:], ""},
		{c16[:6] + "xxxxxx" + c16[12:], ""},
	}
	for _, tc := range tests {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		got := MaskText(tc.in)
		if got != want {
			t.Errorf("MaskText(%s) = %s, want %s", mask(tc.in), mask(got), mask(want))
		}
		if HasCard(tc.in) != (want != tc.in) {
			t.Errorf("HasCard(%s) = %v", mask(tc.in), HasCard(tc.in))
		}
		if again := MaskText(got); again != got {
			t.Errorf("MaskText is not idempotent on %s", mask(got))
		}
	}
}

// mask shows a test value without a card number in it, for messages.
func mask(s string) string {
	b := []byte(s)
	for i := range b {
		if isDigit(b[i]) {
			b[i] = '#'
		}
	}
	return string(b)
}

// TestMaskTextProperties checks random texts of digits, separators and
// letters against the slow reference.
func TestMaskTextProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := "0123456789012345678901234567890123456789  --ab\xff."
	for range 20000 {
		b := make([]byte, r.IntN(60))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if r.IntN(3) == 0 {
			c := luhnNumber(r, "5", 13+r.IntN(7))
			if r.IntN(2) == 0 {
				c = group(c, []string{" ", "-"}[r.IntN(2)])
			}
			at := r.IntN(len(b) + 1)
			b = append(b[:at], append([]byte(c), b[at:]...)...)
		}
		checkProperties(t, string(b))
	}
}

func checkProperties(t *testing.T, s string) {
	t.Helper()
	got := MaskText(s)
	ref := refCards(s)
	if HasCard(s) != (len(ref) > 0) {
		t.Fatalf("HasCard(%q) = %v, reference finds %d", mask(s), HasCard(s), len(ref))
	}
	if len(ref) == 0 && got != s {
		t.Fatalf("MaskText changed text without a card number: %q -> %q", mask(s), mask(got))
	}
	if left := refCards(got); len(left) > 0 {
		t.Fatalf("MaskText(%q) still holds a card number", mask(s))
	}
	if len(got) != len(s) {
		t.Fatalf("MaskText changed the length of %q", mask(s))
	}
	if MaskText(got) != got {
		t.Fatalf("MaskText is not idempotent on %q", mask(s))
	}
	if utf8.ValidString(s) != utf8.ValidString(got) {
		t.Fatalf("MaskText changed UTF-8 validity of %q", mask(s))
	}
	// Only digits become '*', and at most len-4 of any card's.
	for i := 0; i < len(s); i++ {
		if s[i] != got[i] && !(isDigit(s[i]) && got[i] == '*') {
			t.Fatalf("MaskText changed a byte that is not a digit in %q", mask(s))
		}
	}
}

func TestMaskTextLongInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	// Long unbroken runs are never cards (the old scanner's crash was at 21).
	for n := 13; n <= 200; n++ {
		s := luhnNumber(r, "9", n)
		want := s
		if n <= 19 {
			want = strings.Repeat("*", n-4) + s[n-4:]
		}
		if got := MaskText(s); got != want {
			t.Errorf("%d-digit run: got %s", n, mask(got))
		}
	}
	// A megabyte of digits, of digits in groups, of separators.
	for _, unit := range []string{"7", "1234 ", "12-", " ", "-", "1 "} {
		s := strings.Repeat(unit, 1<<20/len(unit))
		checkLinear(t, s)
	}
}

func checkLinear(t *testing.T, s string) {
	t.Helper()
	got := MaskText(s)
	if len(got) != len(s) || MaskText(got) != got {
		t.Fatalf("huge input of %q… not masked idempotently", mask(s[:8]))
	}
}

func TestMaskTextAllocatesNothingWithoutACard(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	s := "order " + notLuhn(r, "4", 16) + " shipped, tracking " + luhnNumber(r, "94", 22) + " — notes ünïcode"
	if n := testing.AllocsPerRun(100, func() { MaskText(s) }); n != 0 {
		t.Errorf("MaskText allocates %v times on text without a card", n)
	}
	bs := []byte(s)
	if n := testing.AllocsPerRun(100, func() { HasCard(bs) }); n != 0 {
		t.Errorf("HasCard allocates %v times", n)
	}
}

func BenchmarkMaskTextNoCard(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	s := strings.Repeat("tracking "+luhnNumber(r, "94", 22)+" 1234 5678 9012 ", 1000)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		MaskText(s)
	}
}

func TestMaskJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	c := luhnNumber(r, "4", 16)
	for _, v := range []any{
		map[string]any{"group": c, "n": 3, "note": "x \x01" + c + " y", "k" + c: []string{group(c, "-"), "ok"}},
		[]string{"\u2028" + c, "plain", "\"" + c + "\\"},
		"no card 1234",
	} {
		b, _ := json.Marshal(v)
		got := MaskJSON(b)
		if !json.Valid(got) {
			t.Fatalf("MaskJSON made invalid JSON of %s", mask(string(b)))
		}
		var back any
		json.Unmarshal(got, &back)
		flat, _ := json.Marshal(back)
		if strings.Contains(string(flat), c) || HasCard(string(unescaped(back))) {
			t.Errorf("MaskJSON left a card number in %s", mask(string(got)))
		}
		if !HasCard(string(unescaped(v))) && string(got) != string(b) {
			t.Errorf("MaskJSON changed JSON without a card number")
		}
	}
	if got := MaskJSON([]byte(`{"a": "` + c)); strings.Contains(string(got), c) {
		t.Error("MaskJSON left a card number in text that is not JSON")
	}
}

// unescaped joins every string of a decoded JSON value.
func unescaped(v any) string {
	switch x := v.(type) {
	case string:
		return x + "\n"
	case []string:
		return strings.Join(x, "\n") + "\n"
	case []any:
		var s string
		for _, e := range x {
			s += unescaped(e)
		}
		return s
	case map[string]any:
		var s string
		for k, e := range x {
			s += k + "\n" + unescaped(e)
		}
		return s
	}
	return ""
}
