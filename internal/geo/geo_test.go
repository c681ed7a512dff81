package geo

import "testing"

func TestCountries(t *testing.T) {
	for _, c := range []string{"US", "CA", "GB", "DE", "AU", "FR", "JP", "BR", "IE", "NZ"} {
		if !IsCountry(c) {
			t.Errorf("IsCountry(%s) = false", c)
		}
	}
	for _, c := range []string{"us", "USA", "EU", "ZZ", "UK", "", "U"} {
		if IsCountry(c) {
			t.Errorf("IsCountry(%q) = true", c)
		}
	}
	for in, want := range map[string]string{"United States": "US", "usa": "US", "us": "US", "Germany": "DE", "United Kingdom": "GB", "UK": "GB", "Narnia": ""} {
		if got := CountryCode(in); got != want {
			t.Errorf("CountryCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStates(t *testing.T) {
	if !IsState("US", "CA") || !IsState("CA", "QC") || IsState("US", "QC") || IsState("GB", "CA") {
		t.Error("IsState")
	}
	if StateCode("US", "california") != "CA" || StateCode("CA", "Quebec") != "QC" || StateCode("US", "Atlantis") != "" {
		t.Error("StateCode")
	}
}
