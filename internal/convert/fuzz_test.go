package convert

import (
	"github.com/konduit/konduit/internal/cardnum"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/konduit/konduit/internal/crm"
)

var twoDecimals = regexp.MustCompile(`^-?\d+\.\d\d$`)

// FuzzFormats: the value readers never panic, and an amount they accept is
// written as -?digits.dd.
func FuzzFormats(f *testing.F) {
	for _, s := range []string{"$1,234.50", "(12.00)", "1.234,56 €", "12.345", "USD 9", "12/27", "2031", "0925", "Müller, José", "Karl Weiß Jr.", "2025-03-30 02:30", "1/2/2006 3:04 PM"} {
		f.Add(s)
	}
	layouts := []string{"YYYY-MM-DD HH:mm", "M/D/YYYY h:mm A", "unix", "rfc3339"}
	var compiled []timeLayout
	for _, l := range layouts {
		tl, err := compileLayout(l)
		if err != nil {
			f.Fatal(err)
		}
		compiled = append(compiled, tl)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sep := range []string{".", ","} {
			d, err := parseAmount(s, sep)
			if err != nil {
				continue
			}
			out, err := writeAmount(d)
			if err == nil && !twoDecimals.MatchString(out) {
				t.Fatalf("amount %q written as %q", s, out)
			}
			// The int64 fast path agrees with the decimal path.
			clean, _ := cleanAmount(s, sep)
			if n, ok := amountCents(clean, false); ok && (err != nil || crm.Money(n).String() != out) {
				t.Fatalf("amount %q: fast path %s, decimal path %q %v", s, crm.Money(n), out, err)
			}
		}
		for _, y := range []bool{false, true} {
			if m, yr, err := expiry(s, y); err == nil {
				if m != "" && len(m) != 2 || yr != "" && len(yr) != 4 {
					t.Fatalf("expiry %q gave %q %q", s, m, yr)
				}
			}
		}
		first, last := splitName(s)
		if first == "" && last == "" && strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) != "" {
			t.Fatalf("name %q lost", s)
		}
		parseTime(s, compiled, time.UTC)
		if p, _ := phone(s); digitsOnly(p) != p {
			t.Fatalf("phone %q kept non-digits: %q", s, p)
		}
		if c, err := country(s); err == nil && len(c) != 2 {
			t.Fatalf("country %q = %q", s, c)
		}
		if b, err := bit(s); err == nil && b != "0" && b != "1" {
			t.Fatalf("bit %q = %q", s, b)
		}
		if looksLikeCard(s) && !cardnum.Luhn(cardSeparators.Replace(s)) {
			t.Fatalf("%q looks like a card without passing Luhn", s)
		}
		compileLayout(s)
	})
}

// FuzzLoad: any mapping text either loads or is refused with an error; a
// loaded one is checked without panicking.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"sources: {a: {}}\ntransactions: {from: a, columns: {orderId: x}}\n",
		"timezone: UTC\nsources: {a: {}}\nmaps: {m: {x: {campaignId: \"1\"}}}\ntransactions: {from: a, columns: {campaignId: {column: c, map: m}, dateCreated: {column: d, format: datetime, layouts: [YYYY]}}}\n",
		"preset: stripe\n",
		"transactions: {columns: {state: {default: [{when: {column: c, in: [x]}, value: y}]}}}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Load("f.yaml", []byte(s))
		if err != nil {
			return
		}
		c := &converter{m: m, report: &Report{}, groups: map[string]*ProblemGroup{}}
		_ = c.checkMapping()
	})
}
