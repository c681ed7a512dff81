package synth

import (
	"github.com/konduit/konduit/internal/cardnum"
	"math/rand/v2"
	"strconv"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

// Payment is how a customer pays. Card and bank numbers are generated at run
// time (Luhn-valid from test BIN ranges, ABA-valid routing numbers); String
// masks them so a Payment printed by mistake shows at most the last four.
type Payment struct {
	Source string // legacy.ValueCreditCard, ValueCheck or ValuePrepaid

	CardType      string // VISA, MASTERCARD, AMEX, DISCOVER
	CardNumber    string
	ExpiryMonth   int
	ExpiryYear    int
	ExternalToken string // gateway token, sometimes set for cards

	RoutingNumber string
	AccountNumber string
	AccountType   string // legacy.ValueSavings or ValueChecking
}

// String masks every sensitive number.
func (p Payment) String() string {
	switch p.Source {
	case legacy.ValueCreditCard:
		return p.CardType + " " + legacy.Mask(p.CardNumber) + " exp " + p.Expiry()
	case legacy.ValueCheck:
		return "CHECK " + p.AccountType + " " + legacy.Mask(p.AccountNumber)
	}
	return p.Source
}

// GoString masks too, so %#v does not print numbers.
func (p Payment) GoString() string { return "synth.Payment{" + p.String() + "}" }

// Expiry is MM/YYYY.
func (p Payment) Expiry() string {
	if p.ExpiryMonth == 0 {
		return ""
	}
	return twoDigits(p.ExpiryMonth) + "/" + strconv.Itoa(p.ExpiryYear)
}

// Last4 is the card's last four digits, or "".
func (p Payment) Last4() string {
	if len(p.CardNumber) < 4 {
		return ""
	}
	return p.CardNumber[len(p.CardNumber)-4:]
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// cardBrand is a card scheme with the issuers' test BIN prefixes it is drawn
// from, its length, its weight among customers, and its chargeback reason
// codes.
type cardBrand struct {
	name    string
	bins    []string
	length  int
	weight  int
	reasons []string
}

var cardBrands = []cardBrand{
	{"VISA", []string{"411111", "424242", "400000", "401288"}, 16, 55, []string{"10.4", "13.1", "13.2", "13.3", "12.6.1", "11.3"}},
	{"MASTERCARD", []string{"555555", "510510", "222300", "520082"}, 16, 30, []string{"4837", "4853", "4863", "4841", "4834"}},
	{"AMEX", []string{"378282", "371449"}, 15, 9, []string{"F29", "C08", "F24", "C28"}},
	{"DISCOVER", []string{"601111", "601100"}, 16, 6, []string{"UA02", "AA", "RG", "DP"}},
}

func pickBrand(r *rand.Rand) *cardBrand {
	total := 0
	for i := range cardBrands {
		total += cardBrands[i].weight
	}
	n := r.IntN(total)
	for i := range cardBrands {
		if n < cardBrands[i].weight {
			return &cardBrands[i]
		}
		n -= cardBrands[i].weight
	}
	return &cardBrands[0]
}

func brandByName(name string) *cardBrand {
	for i := range cardBrands {
		if cardBrands[i].name == name {
			return &cardBrands[i]
		}
	}
	return &cardBrands[0]
}

// cardNumber returns a Luhn-valid number of the brand's length.
func (b *cardBrand) cardNumber(r *rand.Rand) string {
	n := make([]byte, 0, b.length)
	n = append(n, pick(r, b.bins)...)
	n = digits(r, n, b.length-len(n)-1)
	n = append(n, cardnum.CheckDigit(n))
	return string(n)
}

// routingNumber returns an ABA-valid routing number whose first two digits
// are a Federal Reserve district (01-12) or a thrift (21-32).
func routingNumber(r *rand.Rand) string {
	head := 1 + r.IntN(12)
	if r.IntN(4) == 0 {
		head += 20
	}
	b := []byte(twoDigits(head))
	b = digits(r, b, 6)
	w := [3]int{3, 7, 1}
	sum := 0
	for i, c := range b {
		sum += w[i%3] * int(c-'0')
	}
	// The ninth digit has weight 1.
	b = append(b, byte('0'+(10-sum%10)%10))
	return string(b)
}

// accountNumber is 8 to 12 digits: short enough never to look like a card.
func accountNumber(r *rand.Rand) string {
	b := []byte{byte('1' + r.IntN(9))}
	return string(digits(r, b, 7+r.IntN(5)))
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randString(r *rand.Rand, charset string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = charset[r.IntN(len(charset))]
	}
	return string(b)
}

// newPayment draws a payment for a customer in country cc. The card expires
// after lastUse (the generator's horizon for next bill dates).
func newPayment(r *rand.Rand, cc string, allowPrepaid bool, lastUse crm.Date) Payment {
	n := r.IntN(100)
	switch {
	case cc == "US" && n < 8:
		p := Payment{Source: legacy.ValueCheck, RoutingNumber: routingNumber(r), AccountNumber: accountNumber(r), AccountType: legacy.ValueChecking}
		if r.IntN(4) == 0 {
			p.AccountType = legacy.ValueSavings
		}
		return p
	case allowPrepaid && n >= 95:
		return Payment{Source: legacy.ValuePrepaid}
	}
	b := pickBrand(r)
	p := Payment{Source: legacy.ValueCreditCard, CardType: b.name, CardNumber: b.cardNumber(r)}
	// Expire one to four years after the horizon's month.
	months := lastUse.Year*12 + int(lastUse.Month) - 1 + 1 + r.IntN(48)
	p.ExpiryYear, p.ExpiryMonth = months/12, months%12+1
	if r.IntN(4) == 0 {
		p.ExternalToken = "tok_" + randString(r, alnum, 24)
	}
	return p
}
