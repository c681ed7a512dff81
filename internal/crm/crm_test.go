package crm

import (
	"testing"
	"time"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want Money
		ok   bool
	}{
		{"29.99", 2999, true},
		{"5", 500, true},
		{"-1.5", -150, true},
		{"0.07", 7, true},
		{"1,234.00", 0, false},
		{"$12.00", 0, false},
		{"1.234", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1e3", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && err == nil {
			back, _ := ParseMoney(got.String())
			if back != got {
				t.Errorf("round trip %q -> %q", tt.in, got.String())
			}
		}
	}
	if s := Money(-5).String(); s != "-0.05" {
		t.Errorf("Money(-5) = %q", s)
	}
}

func TestPlaceDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw  string
		want string // UTC
		adj  Adjustment
	}{
		{"2025-01-15 12:00:00", "2025-01-15 17:00:00", Exact},
		{"2025-07-15 12:00:00", "2025-07-15 16:00:00", Exact},
		// Spring forward 2025-03-09 02:00 EST -> 03:00 EDT: 02:30 does not exist,
		// it is shifted forward by the gap to 03:30 EDT = 07:30 UTC.
		{"2025-03-09 02:30:00", "2025-03-09 07:30:00", Gap},
		{"2025-03-09 01:59:59", "2025-03-09 06:59:59", Exact},
		{"2025-03-09 03:00:00", "2025-03-09 07:00:00", Exact},
		// Fall back 2025-11-02 02:00 EDT -> 01:00 EST: 01:30 occurs twice; the
		// earlier is 01:30 EDT = 05:30 UTC.
		{"2025-11-02 01:30:00", "2025-11-02 05:30:00", Ambiguous},
		{"2025-11-02 02:30:00", "2025-11-02 07:30:00", Exact},
	}
	for _, tt := range tests {
		w, err := ParseWall(tt.raw, ny)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.UTC.Format(WallLayout); got != tt.want || w.Adjust != tt.adj {
			t.Errorf("ParseWall(%q) = %s %v; want %s %v", tt.raw, got, w.Adjust, tt.want, tt.adj)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2024-02-29")
	if err != nil || d.String() != "2024-02-29" {
		t.Fatalf("ParseDate = %v %v", d, err)
	}
	if _, err := ParseDate("2024-02-30"); err == nil {
		t.Error("2024-02-30 parsed")
	}
	if !d.Before(Date{2024, 3, 1}) || d.Before(d) {
		t.Error("Before")
	}
}
