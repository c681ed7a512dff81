package cardnum

import "testing"

func TestLuhn(t *testing.T) {
	// Numbers are built at run time from a payload and CheckDigit.
	for _, payload := range []string{"411111111111111", "55000000000000", "3782822463100", "601100000000000", "0"} {
		n := payload + string(CheckDigit(payload))
		if !Luhn(n) || !Luhn([]byte(n)) {
			t.Errorf("%s%c fails", payload, CheckDigit(payload))
		}
		bad := []byte(n)
		bad[len(bad)-1] = '0' + (bad[len(bad)-1]-'0'+1)%10
		if Luhn(bad) {
			t.Errorf("changed check digit still passes")
		}
	}
	for _, s := range []string{"", "abc", "4111-1111", " 0"} {
		if Luhn(s) {
			t.Errorf("Luhn(%q) = true", s)
		}
	}
}

func TestABA(t *testing.T) {
	tests := map[string]bool{"011000015": true, "021000021": true, "011000016": false, "11000015": false, "01100001a": false}
	for s, want := range tests {
		if ABA(s) != want || ABA([]byte(s)) != want {
			t.Errorf("ABA(%s) != %v", s, want)
		}
	}
}

func TestMasked(t *testing.T) {
	tests := map[string]bool{"411111xxxxxx1111": true, "************1111": true, "XXXX": true, "1234": false, "": false, "4111-xxxx": false}
	for s, want := range tests {
		if Masked(s) != want || Masked([]byte(s)) != want {
			t.Errorf("Masked(%q) != %v", s, want)
		}
	}
}
