package convert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"go.yaml.in/yaml/v3"
)

func TestAmounts(t *testing.T) {
	tests := []struct {
		in, sep, want string
		cents         bool
	}{
		{"$1,234.50", ".", "1234.50", false},
		{"1.234,50 €", ",", "1234.50", false},
		{"(12.00)", ".", "-12.00", false},
		{"12.00-", ".", "-12.00", false},
		{"USD 9", ".", "9.00", false},
		{"'0.10", ".", "0.10", false},
		{"1 234,5", ",", "1234.50", false},
		{"1999", ".", "19.99", true},
		{"0.1", ".", "0.10", false},
		{"12.345", ".", "error", false},
		{"abc", ".", "error", false},
		{"1.2.3", ".", "error", false},
		{"1-2", ".", "error", false},
		{"-$5.00", ".", "-5.00", false},
		{"--5", ".", "error", false},
	}
	for _, tc := range tests {
		d, err := parseAmount(tc.in, tc.sep)
		got := "error"
		if err == nil {
			if tc.cents {
				d = d.Shift(-2)
			}
			if s, err := writeAmount(d); err == nil {
				got = s
			}
		}
		if got != tc.want {
			t.Errorf("amount(%q, %q) = %s, want %s", tc.in, tc.sep, got, tc.want)
		}
	}
}

func TestNamesExpiryPhonesCountries(t *testing.T) {
	names := map[string][2]string{
		"Jane Doe": {"Jane", "Doe"}, "Doe, Jane": {"Jane", "Doe"}, "John Q Public": {"John Q", "Public"},
		"Karl Weiß Jr.": {"Karl", "Weiß Jr."}, "Cher": {"Cher", ""}, "  Ana   María López ": {"Ana María", "López"},
	}
	for in, want := range names {
		if f, l := splitName(in); f != want[0] || l != want[1] {
			t.Errorf("splitName(%q) = %q %q, want %q", in, f, l, want)
		}
	}
	exp := []struct {
		in       string
		wantYear bool
		m, y     string
	}{
		{"12/27", false, "12", "2027"}, {"1/2031", true, "01", "2031"}, {"0925", false, "09", "2025"}, {"092025", true, "09", "2025"},
		{"2027-03", false, "03", "2027"}, {"7", false, "07", ""}, {"2031", true, "", "2031"}, {"31", true, "", "2031"},
	}
	for _, tc := range exp {
		m, y, err := expiry(tc.in, tc.wantYear)
		if err != nil || m != tc.m || y != tc.y {
			t.Errorf("expiry(%q) = %q %q %v, want %q %q", tc.in, m, y, err, tc.m, tc.y)
		}
	}
	for _, bad := range []string{"13/27", "2031", "ab"} {
		if _, _, err := expiry(bad, false); err == nil {
			t.Errorf("expiry(%q) accepted", bad)
		}
	}
	phones := map[string]string{"(555) 111-2222": "5551112222", "+1 555 111 2222": "5551112222", "+49 30 1234567": "49301234567"}
	for in, want := range phones {
		if got, _ := phone(in); got != want {
			t.Errorf("phone(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]string{"us": "US", "United States": "US", "CAN": "CA", "uk": "GB"} {
		if got, err := country(in); err != nil || got != want {
			t.Errorf("country(%q) = %q %v", in, got, err)
		}
	}
	if _, err := country("Narnia"); err == nil {
		t.Error("country(Narnia) accepted")
	}
}

func TestTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		layout, in, want string
		adj              crm.Adjustment
	}{
		{"DD.MM.YYYY HH:mm", "15.07.2025 14:00", "2025-07-15 08:00:00", crm.Exact},
		{"DD.MM.YYYY HH:mm", "30.03.2025 02:30", "2025-03-29 21:30:00", crm.Gap},
		{"DD.MM.YYYY HH:mm", "26.10.2025 02:30", "2025-10-25 20:30:00", crm.Ambiguous},
		{"YYYY-MM-DD HH:mm:ss ZZ", "2025-10-07 09:50:26 +0200", "2025-10-07 03:50:26", crm.Exact},
		{"rfc3339", "2025-01-02T03:04:05Z", "2025-01-01 22:04:05", crm.Exact},
		{"unix", "1735689600", "2024-12-31 19:00:00", crm.Exact},
		{"M/D/YYYY h:mm A", "1/2/2025 3:04 PM", "2025-01-02 09:04:00", crm.Exact},
		{"01/02/2006 15:04", "01/02/2025 15:04", "2025-01-02 09:04:00", crm.Exact},
	}
	for _, tc := range tests {
		l, err := compileLayout(tc.layout)
		if err != nil {
			t.Fatalf("%s: %v", tc.layout, err)
		}
		got, _, adj, err := parseTime(tc.in, []timeLayout{l}, berlin)
		if err != nil {
			t.Errorf("%s %q: %v", tc.layout, tc.in, err)
			continue
		}
		if s := got.In(ny).Format(crm.WallLayout); s != tc.want || adj != tc.adj {
			t.Errorf("%s %q = %s (%v), want %s (%v)", tc.layout, tc.in, s, adj, tc.want, tc.adj)
		}
	}
	// A date alone is a calendar date: no zone moves it.
	l, _ := compileLayout("DD.MM.YYYY")
	if l.Clock || l.Zoned {
		t.Errorf("date layout has clock %v zone %v", l.Clock, l.Zoned)
	}
}

// TestGuessCustomFixture: --init on the German export finds the columns a
// person would, reads UTF-16 and Windows-1252, and prints no sensitive value.
func TestGuessCustomFixture(t *testing.T) {
	srcs, cards := customFixture(t, t.TempDir(), 30, 5)
	text, err := Guess(context.Background(), srcs, GuessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := yaml.Unmarshal([]byte(text), &parsed); err != nil {
		t.Fatalf("the starting mapping is not YAML: %v\n%s", err, text)
	}
	for _, want := range []string{
		`{source: kunden, key: "Kundennr", on: "Kundennr", required: true}`,
		`cardNumber: {column: "kunden.Karte", format: card}`,
		`dateCreated: {column: "Datum", format: datetime, layouts: ["DD.MM.YYYY HH:mm"]}`,
		`emailAddress: "kunden.E-Mail"`,
		`"bezahlt": SUCCESS`,
		`#   dates: "Datum" (DD.MM.YYYY HH:mm), "Naechste" (DD.MM.YYYY)`,
		`#   card-like (Luhn-valid 13-19 digits): "Karte"`,
		`#   emails: "E-Mail"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("guess lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, ": ") && !strings.HasPrefix(strings.TrimSpace(line), "#") &&
			!strings.Contains(line, "REVIEW") && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "      ") {
			t.Errorf("a guess without REVIEW: %s", line)
		}
	}
	for _, c := range cards {
		if strings.Contains(text, c) || strings.Contains(text, c[:4]+" "+c[4:8]) {
			t.Fatal("a card number reached the guess")
		}
	}
	if strings.Contains(text, "example.com") || strings.Contains(text, "Example.com") {
		t.Error("an email reached the guess")
	}
}
