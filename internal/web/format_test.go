package web

import (
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/report"
)

func TestMoney(t *testing.T) {
	for _, tc := range []struct{ amount, cur, want string }{
		{"12842.83", "USD", "$12,842.83"},
		{"1204", "EUR", "€1,204.00"},
		{"-1234567.5", "GBP", "-£1,234,567.50"},
		{"0.00", "USD", "$0.00"},
		{"999.99", "", "999.99"},
		{"100", "chf", "CHF 100.00"},
		{"12345678901234567.89", "USD", "$12,345,678,901,234,567.89"}, // exact past float64's 2^53
		{"", "USD", "–"},
		{"n/a", "USD", "n/a"},
	} {
		if got := money(tc.amount, tc.cur); got != tc.want {
			t.Errorf("money(%q, %q) = %q, want %q", tc.amount, tc.cur, got, tc.want)
		}
	}
}

func TestPctAndCount(t *testing.T) {
	for in, want := range map[string]string{"0.1234": "12.34%", "1.0000": "100.00%", "0.0009": "0.09%", "": "–"} {
		if got := pct(in); got != want {
			t.Errorf("pct(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"0": "0", "999": "999", "1000": "1,000", "-1234567": "-1,234,567", "12a": "12a", "": ""} {
		if got := count(in); got != want {
			t.Errorf("count(%q) = %q, want %q", in, got, want)
		}
	}
	if formatInt(-1000) != "-1,000" {
		t.Error(formatInt(-1000))
	}
}

// Property: stripping the symbol and separators gives back the amount
// exactly, to the cent.
func TestMoneyRoundTrip(t *testing.T) {
	for cents := int64(-2_000_000); cents <= 2_000_000; cents += 997 {
		in := report.Money(cents).String()
		got := money(in, "USD")
		back := strings.NewReplacer("$", "", ",", "").Replace(got)
		if back != in {
			t.Fatalf("money(%s) = %s, back %s", in, got, back)
		}
	}
}

func TestShowTable(t *testing.T) {
	tb := report.Table{
		Header: []string{"merchant", "month", "chargebacks", "chargeback_amount", "currency", "visa_ratio", "net_day_30"},
		Rows: [][]string{
			{"12345", "2026-05", "1200", "1234.50", "EUR", "0.0123", "45.10*"},
			{"777", "2026-06", "3", "10.00", "", "", ""},
		},
	}
	got := showTable(tb, "USD")
	want := [][]string{
		{"12345", "2026-05", "1,200", "€1,234.50", "EUR", "1.23%", "€45.10*"},
		{"777", "2026-06", "3", "$10.00", "", "", ""},
	}
	for r := range want {
		for c := range want[r] {
			if got.Rows[r][c] != want[r][c] {
				t.Errorf("row %d col %s: %q, want %q", r, tb.Header[c], got.Rows[r][c], want[r][c])
			}
		}
	}
	if got.Header[3] != "Chargeback amount" || got.Num[0] || !got.Num[2] {
		t.Errorf("header %v num %v", got.Header, got.Num)
	}
}
