package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// A place is a real city with what an address there looks like: the state or
// province, how its postal codes begin, its telephone area code and the sales
// tax a merchant there charges (basis points of the subtotal).
type place struct {
	city   string
	state  string // US/CA postal abbreviation, AU state; "" where not used
	postal string // prefix the postal code starts with
	area   string // telephone area code (US/CA) or trunk prefix
	taxBPS int64
}

// country is one market the merchant sells to.
type country struct {
	code    string
	weight  int
	places  []place
	first   []string
	last    []string
	streets []string
	suffix  []string // street suffixes; empty where the name carries it
	line2   []string // address line 2 patterns; '#' becomes a digit
	// streetFirst writes "Lindenstraße 7" instead of "7 Maple Ave".
	streetFirst bool
	ship        []carrier
}

type carrier struct {
	name    string
	methods []string
	// tracking is a pattern: 'A' an upper-case letter, '9' a digit, 'X'
	// either; other bytes are copied. No pattern has 13 or more digits in a
	// row, so no tracking number looks like a card number.
	tracking string
}

var countries = []*country{
	{
		code: "US", weight: 56,
		places: []place{
			{"Boston", "MA", "021", "617", 625},
			{"Newark", "NJ", "071", "973", 663},
			{"Hartford", "CT", "061", "860", 635},
			{"Portland", "ME", "041", "207", 550},
			{"New York", "NY", "100", "212", 888},
			{"Buffalo", "NY", "142", "716", 875},
			{"Philadelphia", "PA", "191", "215", 800},
			{"Atlanta", "GA", "303", "404", 890},
			{"Miami", "FL", "331", "305", 700},
			{"Orlando", "FL", "328", "407", 650},
			{"Chicago", "IL", "606", "312", 1025},
			{"Columbus", "OH", "432", "614", 750},
			{"Houston", "TX", "770", "713", 825},
			{"Austin", "TX", "787", "512", 825},
			{"Denver", "CO", "802", "303", 881},
			{"Phoenix", "AZ", "850", "602", 860},
			{"Las Vegas", "NV", "891", "702", 838},
			{"Los Angeles", "CA", "900", "213", 950},
			{"San Diego", "CA", "921", "619", 775},
			{"Portland", "OR", "972", "503", 0},
			{"Seattle", "WA", "981", "206", 1035},
			{"Anchorage", "AK", "995", "907", 0},
			{"Billings", "MT", "591", "406", 0},
			{"Manchester", "NH", "031", "603", 0},
			{"Wilmington", "DE", "198", "302", 0},
			{"Honolulu", "HI", "968", "808", 450},
		},
		first:   []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Donald", "Ashley", "José", "María", "Aaliyah", "DeShawn", "Mei", "Nguyen"},
		last:    []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "O'Brien", "McAllister", "Nguyen", "Kim", "Patel", "Smith-Jones", "Washington"},
		streets: []string{"Maple", "Oak", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Main", "Sunset", "Highland", "Jefferson", "Lincoln", "Franklin", "Chestnut", "Walnut", "Spring", "Meadow", "Ridge"},
		suffix:  []string{"St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Way", "Pl"},
		line2:   []string{"Apt #", "Apt ##", "Apt #B", "Suite ##0", "Unit #", "# Floor", "PO Box ###"},
		ship: []carrier{
			{"USPS", []string{"First-Class Package", "Priority Mail"}, "AA999999999US"},
			{"UPS", []string{"Ground", "3-day Ground", "Next Day Air"}, "1ZXXXAAA9999999999"},
			{"FedEx", []string{"Home Delivery", "2Day", "Express Saver"}, "999999999999"},
		},
	},
	{
		code: "CA", weight: 12,
		places: []place{
			{"Toronto", "ON", "M5V", "416", 1300},
			{"Ottawa", "ON", "K1P", "613", 1300},
			{"Montréal", "QC", "H2X", "514", 1498},
			{"Québec", "QC", "G1R", "418", 1498},
			{"Vancouver", "BC", "V6B", "604", 1200},
			{"Victoria", "BC", "V8W", "250", 1200},
			{"Calgary", "AB", "T2P", "403", 500},
			{"Edmonton", "AB", "T5J", "780", 500},
			{"Winnipeg", "MB", "R3C", "204", 1200},
			{"Halifax", "NS", "B3H", "902", 1400},
			{"Regina", "SK", "S4P", "306", 1100},
			{"St. John's", "NL", "A1C", "709", 1500},
		},
		first:   []string{"Liam", "Olivia", "Noah", "Emma", "William", "Charlotte", "Benjamin", "Amelia", "Lucas", "Sophie", "Étienne", "Chloé", "Mathieu", "Gabrielle", "Jacob", "Ava"},
		last:    []string{"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Smith", "Brown", "MacDonald", "Wilson", "Campbell", "Anderson", "Leblanc"},
		streets: []string{"King", "Queen", "Yonge", "Bloor", "Dundas", "Robson", "Granville", "Jasper", "Portage", "Barrington", "Saint-Denis", "Sherbrooke"},
		suffix:  []string{"St W", "St E", "St", "Ave", "Rd", "Blvd"},
		line2:   []string{"Apt ##", "Unit #", "Suite #00", "App. #"},
		ship: []carrier{
			{"Canada Post", []string{"Expedited Parcel", "Xpresspost"}, "AA999999999CA"},
			{"Purolator", []string{"Ground"}, "999999999999"},
		},
	},
	{
		code: "GB", weight: 12,
		places: []place{
			{"London", "", "SW1A", "07", 0},
			{"London", "", "EC1A", "07", 0},
			{"Manchester", "", "M1", "07", 0},
			{"Leeds", "", "LS1", "07", 0},
			{"Birmingham", "", "B1", "07", 0},
			{"Glasgow", "", "G1", "07", 0},
			{"Edinburgh", "", "EH1", "07", 0},
			{"Cardiff", "", "CF10", "07", 0},
			{"Bristol", "", "BS1", "07", 0},
			{"Newcastle upon Tyne", "", "NE1", "07", 0},
		},
		first:   []string{"Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Charlie", "Freya", "Alfie", "Poppy", "Siobhan", "Rhys", "Niamh", "Callum"},
		last:    []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Davies", "MacLeod", "O'Neill", "Hughes"},
		streets: []string{"Church", "High", "Station", "Victoria", "Park", "Mill", "Green", "Manor", "Kings", "Queens", "London", "Albert"},
		suffix:  []string{"Road", "Street", "Lane", "Close", "Avenue", "Gardens", "Crescent"},
		line2:   []string{"Flat #", "Flat ##", "Unit #", "# Floor"},
		ship: []carrier{
			{"Royal Mail", []string{"Tracked 48", "Tracked 24"}, "AA999999999GB"},
			{"DPD", []string{"Next Day"}, "999999A9999999"},
		},
	},
	{
		code: "AU", weight: 10,
		places: []place{
			{"Sydney", "NSW", "20", "04", 1000},
			{"Newcastle", "NSW", "23", "04", 1000},
			{"Melbourne", "VIC", "30", "04", 1000},
			{"Geelong", "VIC", "32", "04", 1000},
			{"Brisbane", "QLD", "40", "04", 1000},
			{"Gold Coast", "QLD", "42", "04", 1000},
			{"Adelaide", "SA", "50", "04", 1000},
			{"Perth", "WA", "60", "04", 1000},
			{"Hobart", "TAS", "70", "04", 1000},
			{"Canberra", "ACT", "26", "04", 1000},
			{"Darwin", "NT", "08", "04", 1000},
		},
		first:   []string{"Jack", "Charlotte", "William", "Olivia", "Thomas", "Ruby", "Lachlan", "Chloe", "Cooper", "Matilda", "Riley", "Zoe", "Mitchell", "Isabella"},
		last:    []string{"Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White", "Anderson", "Walker", "Ryan", "Kelly"},
		streets: []string{"George", "Pitt", "Collins", "Elizabeth", "Queen", "Adelaide", "Murray", "Hay", "Bourke", "Flinders", "Macquarie", "Oxford"},
		suffix:  []string{"Street", "Road", "Parade", "Terrace", "Avenue", "Highway"},
		line2:   []string{"Unit #", "Unit ##", "Level #", "Shop #"},
		ship: []carrier{
			{"Australia Post", []string{"Parcel Post", "Express Post"}, "AA999999999AU"},
			{"StarTrack", []string{"Road Express"}, "AAA9999999"},
		},
	},
	{
		code: "DE", weight: 10,
		places: []place{
			{"Berlin", "", "10", "01", 0},
			{"Hamburg", "", "20", "01", 0},
			{"München", "", "80", "01", 0},
			{"Köln", "", "50", "01", 0},
			{"Frankfurt am Main", "", "60", "01", 0},
			{"Düsseldorf", "", "40", "01", 0},
			{"Leipzig", "", "04", "01", 0},
			{"Dresden", "", "01", "01", 0},
			{"Stuttgart", "", "70", "01", 0},
			{"Nürnberg", "", "90", "01", 0},
		},
		first:   []string{"Lukas", "Anna", "Jürgen", "Lea", "Maximilian", "Sophie", "Jonas", "Marie", "Felix", "Hannah", "Björn", "Jörg", "Günther", "Lena", "Paul", "Mia"},
		last:    []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Größer", "Weiß"},
		streets: []string{"Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Lindenstraße", "Bergstraße", "Kirchweg", "Am Markt", "Goethestraße", "Schillerplatz", "Mühlenweg"},
		line2:   []string{"Wohnung #", "#. OG", "Hinterhaus", "c/o Büro"},
		ship: []carrier{
			{"DHL", []string{"Paket", "Express"}, "AA999999999DE"},
			{"Hermes", []string{"Standard"}, "H99999999999AA"},
		},
		streetFirst: true,
	},
}

func pickCountry(r *rand.Rand) *country {
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	n := r.IntN(total)
	for _, c := range countries {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return countries[0]
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// digits appends n random decimal digits.
func digits(r *rand.Rand, b []byte, n int) []byte {
	for range n {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return b
}

// pattern expands 'A' (letter), '9' (digit), 'X' (either), '#' (digit 1-9).
func pattern(r *rand.Rand, p string) string {
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case 'A':
			b = append(b, byte('A'+r.IntN(26)))
		case '9':
			b = append(b, byte('0'+r.IntN(10)))
		case '#':
			b = append(b, byte('1'+r.IntN(9)))
		case 'X':
			if r.IntN(3) == 0 {
				b = append(b, byte('A'+r.IntN(26)))
			} else {
				b = append(b, byte('0'+r.IntN(10)))
			}
		default:
			b = append(b, p[i])
		}
	}
	return string(b)
}

// caLetters are the letters Canada Post uses in postal codes.
const caLetters = "ABCEGHJKLMNPRSTVWXYZ"

// gbLetters are the letters of a UK inward code.
const gbLetters = "ABDEFGHJLNPQRSTUWXYZ"

// postalCode returns a realistic postal code of the place.
func (c *country) postalCode(r *rand.Rand, p place) string {
	switch c.code {
	case "US":
		b := []byte(p.postal)
		b = digits(r, b, 2)
		if r.IntN(8) == 0 { // ZIP+4
			b = append(b, '-')
			b = digits(r, b, 4)
		}
		return string(b)
	case "CA":
		return p.postal + " " + string([]byte{
			byte('1' + r.IntN(9)), caLetters[r.IntN(len(caLetters))], byte('0' + r.IntN(10)),
		})
	case "GB":
		return p.postal + " " + string([]byte{
			byte('1' + r.IntN(9)), gbLetters[r.IntN(len(gbLetters))], gbLetters[r.IntN(len(gbLetters))],
		})
	case "AU":
		return string(digits(r, []byte(p.postal), 2))
	default: // DE
		return string(digits(r, []byte(p.postal), 3))
	}
}

// phoneSubscribers is how many distinct subscriber numbers phone hands
// out: 8,000,000 (the seven digits after a US or CA area code, the first
// 2-9), the smallest space of the countries; a slot below it gets a number
// no other slot gets, whatever the area.
const phoneSubscribers = 8_000_000

// phoneSlot is the slot of a customer's n-th phone number (n is 0 or 1):
// the first 4,000,000 customers' numbers are all distinct.
func phoneSlot(idx, n int) uint64 { return (uint64(idx)*2 + uint64(n)) % phoneSubscribers }

// phone returns a national telephone number, digits only: ten for US and
// CA (NXX exchanges never start with 0 or 1), a mobile number elsewhere.
// Its subscriber digits are a permutation of slot (unique per slot), so two
// slots never share a number; the random draws stay as they were.
func (c *country) phone(r *rand.Rand, p place, slot uint64) string {
	k := permuteBelow(slot, phoneSubscribers, 0x9407E)
	b := make([]byte, 0, 12)
	b = append(b, p.area...)
	switch c.code {
	case "US", "CA":
		r.IntN(8)
		digits(r, nil, 6)
		b = append(b, byte('2'+k/1_000_000))
		b = append(b, fixed(k%1_000_000, 10, 6)...)
	case "GB": // 07xxx xxxxxx: 11 digits
		b = append(b, byte('4'+r.IntN(6)))
		digits(r, nil, 8)
		b = append(b, fixed(k, 10, 8)...)
	case "AU": // 04xx xxx xxx: 10 digits
		digits(r, nil, 8)
		b = append(b, fixed(k, 10, 8)...)
	default: // DE mobile 015x/016x/017x: 11 or 12 digits
		b = append(b, byte('5'+r.IntN(3)))
		extra := r.IntN(2)
		digits(r, nil, 8+extra)
		b = append(b, fixed(k, 10, 8)...)
		if extra == 1 {
			b = append(b, byte('0'+k%10))
		}
	}
	return string(b)
}

// permuteBelow is a bijection of [0, n): permute over the smallest square
// domain that holds n, walked until it lands below n.
func permuteBelow(x, n, key uint64) uint64 {
	half := uint64(math.Sqrt(float64(n)))
	for half*half < n {
		half++
	}
	for {
		x = permute(x, half, key)
		if x < n {
			return x
		}
	}
}

// Address is a postal address.
type Address struct {
	Line1, Line2 string
	City         string
	State        string // two-letter code in US and CA, AU state, else ""
	Country      string // ISO 3166-1 alpha-2
	PostalCode   string
}

func (c *country) address(r *rand.Rand) (Address, place) {
	p := pick(r, c.places)
	var line1 string
	num := strconv.Itoa(1 + r.IntN(9800))
	switch {
	case c.streetFirst:
		line1 = pick(r, c.streets) + " " + strconv.Itoa(1+r.IntN(180))
	default:
		line1 = num + " " + pick(r, c.streets) + " " + pick(r, c.suffix)
	}
	a := Address{Line1: line1, City: p.city, State: p.state, Country: c.code, PostalCode: c.postalCode(r, p)}
	if r.IntN(4) == 0 {
		a.Line2 = pattern(r, pick(r, c.line2))
	}
	return a, p
}

// emailDomains are reserved example domains: the generated people are not
// real and neither are their mailboxes.
var emailDomains = []string{"example.com", "example.net", "example.org", "mail.example.com", "post.example.de"}

var asciiFold = strings.NewReplacer(
	"ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue",
	"é", "e", "É", "E", "è", "e", "ô", "o", "í", "i", "á", "a", "'", "", " ", "",
)

func emailLocal(first, last string) string {
	return strings.ToLower(asciiFold.Replace(first) + "." + asciiFold.Replace(last))
}
