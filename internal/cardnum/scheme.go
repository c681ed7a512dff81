package cardnum

import "strings"

// BINBrand names the card scheme of a bank identification number (the
// first six to eight digits of a card number, as the API's cardBin gives
// it) from the same IIN ranges as Brand; lengths are not checked, since a
// BIN is only the start of a number. "" when no range holds it.
func BINBrand(bin string) string {
	if len(bin) < 6 || len(bin) > 8 {
		return ""
	}
	for i := 0; i < len(bin); i++ {
		if !isDigit(bin[i]) {
			return ""
		}
	}
	for _, r := range iins {
		p := 0
		for i := 0; i < r.digits; i++ {
			p = p*10 + int(bin[i]-'0')
		}
		if p >= r.lo && p <= r.hi {
			return r.brand
		}
	}
	return ""
}

// typeAliases are the card type spellings CRMs use for a scheme whose name
// they do not write out.
var typeAliases = map[string]string{
	"MC":     "Mastercard",
	"MASTER": "Mastercard",
	"AMEX":   "American Express",
	"DINERS": "Diners Club",
	"DISC":   "Discover",
}

// TypeBrand names the scheme of a card type as a CRM writes it ("VISA",
// "MASTERCARD", "AMEX", "Discover"...), in Brand's spelling; "" when it is
// no scheme Brand knows.
func TypeBrand(cardType string) string {
	k := strings.ToUpper(strings.Join(strings.Fields(cardType), ""))
	if k == "" {
		return ""
	}
	if b, ok := typeAliases[k]; ok {
		return b
	}
	for _, r := range iins {
		if strings.ToUpper(strings.ReplaceAll(r.brand, " ", "")) == k {
			return r.brand
		}
	}
	return ""
}

// BrandOf is the scheme of a sale's card: from its BIN when that is in a
// known range, else from its card type; "" when neither says.
func BrandOf(cardType, bin string) string {
	if b := BINBrand(bin); b != "" {
		return b
	}
	return TypeBrand(cardType)
}
