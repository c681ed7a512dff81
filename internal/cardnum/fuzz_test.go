package cardnum

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMaskText: any bytes mask without a panic (MaskJSON too, and keeps
// valid JSON valid), the result holds no card
// number by the slow reference, masking is idempotent, and text without a
// card number is returned unchanged. The committed corpus
// (testdata/fuzz/FuzzMaskText) holds only shapes that are not card numbers
// (19- to 22-digit runs failing Luhn, split runs, invalid UTF-8, empty);
// Luhn-valid numbers and the huge value are made here at run time.
func FuzzMaskText(f *testing.F) {
	r := rand.New(rand.NewPCG(11, 12))
	for n := 13; n <= 22; n++ {
		c := luhnNumber(r, "4", n)
		f.Add(c)
		f.Add("note: " + group(c, " ") + " exp 04/27")
		f.Add(group(c, "-") + "-123")
		f.Add("\xff" + c + "\xfe")
	}
	f.Add(strings.Repeat(luhnNumber(r, "5", 16)+" ", 1<<16))
	f.Add(strings.Repeat("9", 1<<20))
	f.Add(`{"group":"\u0001` + luhnNumber(r, "4", 16) + `","n":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		if out := MaskJSON([]byte(s)); json.Valid([]byte(s)) && !json.Valid(out) {
			t.Fatalf("MaskJSON made invalid JSON of valid %q", mask(s))
		}
		if len(s) > 4096 {
			// The reference is quadratic; the big seeds are checked for
			// speed and idempotence only.
			checkLinear(t, s)
			return
		}
		checkProperties(t, s)
	})
}

// TestFuzzCorpusHoldsNoCardNumber keeps card-number-shaped literals out of
// the committed corpus.
func TestFuzzCorpusHoldsNoCardNumber(t *testing.T) {
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	if len(files) == 0 {
		t.Fatal("no committed fuzz corpus")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if HasCard(b) || len(refCards(string(b))) > 0 {
			t.Errorf("%s holds a card number", name)
		}
	}
}

func TestBrandOf(t *testing.T) {
	for _, c := range []struct{ typ, bin, want string }{
		{"VISA", "411111", "Visa"},
		{"", "555555", "Mastercard"},
		{"", "222300", "Mastercard"},
		{"AMEX", "", "American Express"},
		{"amex", "378282", "American Express"},
		{"DISCOVER", "601111", "Discover"},
		{"MASTERCARD", "", "Mastercard"},
		{"VISA", "555555", "Mastercard"}, // the BIN decides
		{"", "", ""},
		{"STORE CARD", "999999", ""},
		{"", "4111", ""},   // too short for a BIN
		{"", "41111a", ""}, // not digits
		{"Diners Club", "", "Diners Club"},
	} {
		if got := BrandOf(c.typ, c.bin); got != c.want {
			t.Errorf("BrandOf(%q, %q) = %q, want %q", c.typ, c.bin, got, c.want)
		}
	}
}
