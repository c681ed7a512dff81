package cardnum

import (
	"strings"
	"testing"
)

// complete pads prefix with zeros to n-1 digits and appends the Luhn check
// digit: card numbers in tests are made at run time.
func complete(prefix string, n int) string {
	p := prefix + strings.Repeat("0", n-1-len(prefix))
	return p + string(CheckDigit(p))
}

func TestKnownPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		n      int
		brand  string
	}{
		{"4", 16, "Visa"}, {"4", 13, "Visa"}, {"4", 19, "Visa"}, {"4", 15, ""}, {"4", 17, ""},
		{"51", 16, "Mastercard"}, {"55", 16, "Mastercard"}, {"56", 16, ""}, {"50", 16, ""}, {"55", 15, ""},
		{"2221", 16, "Mastercard"}, {"2720", 16, "Mastercard"}, {"2721", 16, ""}, {"2220", 16, ""},
		{"34", 15, "American Express"}, {"37", 15, "American Express"}, {"37", 16, ""}, {"35", 15, ""},
		{"6011", 16, "Discover"}, {"644", 16, "Discover"}, {"649", 19, "Discover"}, {"65", 16, "Discover"}, {"643", 16, ""},
		{"622126", 16, "Discover"}, {"62", 17, "UnionPay"},
		{"300", 14, "Diners Club"}, {"36", 14, "Diners Club"}, {"306", 14, ""},
		{"3528", 16, "JCB"}, {"3589", 16, "JCB"}, {"3590", 16, ""},
		{"6759", 13, "Maestro"}, {"2200", 16, "Mir"}, {"9792", 16, "Troy"},
		// What carriers and processors assign: no card scheme.
		{"9400", 16, ""}, {"9612", 15, ""}, {"1", 16, ""}, {"7", 15, ""}, {"0", 13, ""}, {"8", 16, ""},
	}
	for _, tt := range tests {
		n := complete(tt.prefix, tt.n)
		if got := Brand(n); got != tt.brand {
			t.Errorf("Brand(%s… %d digits) = %q, want %q", tt.prefix, tt.n, got, tt.brand)
		}
		if KnownPrefix(n) != (tt.brand != "") || KnownPrefix([]byte(n)) != (tt.brand != "") {
			t.Errorf("KnownPrefix(%s… %d digits) disagrees with Brand", tt.prefix, tt.n)
		}
		if KnownCard(n) != (tt.brand != "") {
			t.Errorf("KnownCard(%s… %d digits) = %v", tt.prefix, tt.n, KnownCard(n))
		}
	}
	valid := complete("4", 16)
	bad := []byte(valid)
	bad[15] = '0' + (bad[15]-'0'+1)%10
	for _, s := range []string{string(bad), "", "4", valid[:12], valid + "0000", " " + valid[1:], strings.Replace(valid, "0", "x", 1)} {
		if KnownCard(s) {
			t.Errorf("KnownCard(%q) = true", MaskText(s))
		}
	}
}
