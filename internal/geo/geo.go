// Package geo knows ISO 3166-1 alpha-2 country codes, US states and Canadian
// provinces: which codes are valid, and which names mean which code (for the
// fixer and converter: "United States" -> US, "California" -> CA).
package geo

import (
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// IsCountry reports whether code is an upper-case ISO 3166-1 alpha-2 country
// code.
func IsCountry(code string) bool {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return false
	}
	countriesOnce.Do(loadCountries)
	_, ok := countryCodes[code]
	return ok
}

var (
	countriesOnce sync.Once
	countryCodes  map[string]bool
	countryNames  map[string]string // normalised name -> code
)

func loadCountries() {
	countryCodes = map[string]bool{}
	countryNames = map[string]string{}
	names := display.English.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.String() != code || reserved[code] {
				continue
			}
			countryCodes[code] = true
			if n := names.Name(r); n != "" {
				countryNames[norm(n)] = code
			}
			if a3 := r.ISO3(); len(a3) == 3 {
				countryNames[norm(a3)] = code // "DEU", "usa"
			}
		}
	}
	for alias, code := range countryAliases {
		countryNames[norm(alias)] = code
	}
}

// Codes CLDR knows as regions that ISO 3166-1 only reserves: not valid in
// an import file.
var reserved = map[string]bool{
	"AC": true, "CP": true, "DG": true, "EA": true, "EU": true, "EZ": true, "FX": true,
	"IC": true, "SU": true, "TA": true, "UK": true, "UN": true, "XK": true, "ZZ": true,
}

// Common names a spreadsheet holds that are not the CLDR English name.
var countryAliases = map[string]string{
	"USA": "US", "U.S.": "US", "U.S.A.": "US", "United States of America": "US", "America": "US",
	"UK": "GB", "U.K.": "GB", "Great Britain": "GB", "England": "GB", "Scotland": "GB", "Wales": "GB",
	"Northern Ireland": "GB", "Deutschland": "DE", "Holland": "NL", "The Netherlands": "NL",
	"Republic of Ireland": "IE", "Czech Republic": "CZ", "South Korea": "KR", "Korea": "KR",
	"Russia": "RU", "Viet Nam": "VN", "Ivory Coast": "CI",
}

// CountryCode returns the ISO code a country name or code means ("us",
// "USA", "United States" -> US; alpha-3 codes too), or "" when it is
// unknown. A code ISO 3166-1 only reserves (ZZ, EU, UK) is unknown.
func CountryCode(s string) string {
	countriesOnce.Do(loadCountries)
	t := strings.TrimSpace(s)
	if len(t) == 2 {
		if u := strings.ToUpper(t); IsCountry(u) {
			return u
		}
	}
	if c, ok := countryNames[strings.ToLower(t)]; ok {
		return c // the common case: no runs of spaces to fold
	}
	return countryNames[norm(t)]
}

// IsState reports whether code is a two-letter postal code of a US state,
// district, territory or military "state" (country US), or of a Canadian
// province or territory (country CA).
func IsState(country, code string) bool {
	switch country {
	case "US":
		_, ok := usStates[code]
		return ok
	case "CA":
		_, ok := caProvinces[code]
		return ok
	}
	return false
}

// StateCode returns the postal code of a full state or province name of the
// country ("California" -> CA), or "" when the name is not one.
func StateCode(country, name string) string {
	stateNamesOnce.Do(loadStateNames)
	switch country {
	case "US":
		return usNames[norm(name)]
	case "CA":
		return caNames[norm(name)]
	}
	return ""
}

var (
	stateNamesOnce   sync.Once
	usNames, caNames map[string]string
)

func loadStateNames() {
	usNames = make(map[string]string, len(usStates))
	for code, name := range usStates {
		usNames[norm(name)] = code
	}
	caNames = make(map[string]string, len(caProvinces))
	for code, name := range caProvinces {
		caNames[norm(name)] = code
	}
	caNames[norm("Quebec")] = "QC"
}

func norm(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

var usStates = map[string]string{
	"AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
	"CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
	"HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
	"KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
	"MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
	"MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
	"NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
	"OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
	"SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
	"VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
	"DC": "District of Columbia", "PR": "Puerto Rico", "VI": "Virgin Islands", "GU": "Guam",
	"AS": "American Samoa", "MP": "Northern Mariana Islands",
	"AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}

var caProvinces = map[string]string{
	"AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
	"NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
	"NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Québec",
	"SK": "Saskatchewan", "YT": "Yukon",
}
