package check

import "testing"

// TestValidUTF8Prefix: a character cut in two where the sample ends is not
// a reason to call a file binary.
func TestValidUTF8Prefix(t *testing.T) {
	s := []byte("Straße é")
	for n := 0; n <= len(s); n++ {
		if !validUTF8Prefix(s[:n]) {
			t.Errorf("%q: not UTF-8", s[:n])
		}
	}
	for _, b := range []string{"Stra\xdfe", "\xff", "a\xe9b"} {
		if validUTF8Prefix([]byte(b)) {
			t.Errorf("%q: UTF-8", b)
		}
	}
}
