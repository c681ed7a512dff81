package report

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/crm"
)

func TestParseCells(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"0,7,30", []int{0, 7, 30}, false},
		{" 30, 0 ,7,7", []int{0, 7, 30}, false},
		{"365", []int{365}, false},
		{"", nil, true},
		{"1,,2", nil, true},
		{"-1", nil, true},
		{"+3", nil, true},
		{"1.5", nil, true},
		{"100001", nil, true},
		{"x", nil, true},
	} {
		got, err := ParseCells(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCells(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseCells(f *testing.F) {
	for _, s := range []string{"0,7,30,60,90,180,365", "0", " 1 ,2", "", "-1", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCells(s)
		if err != nil {
			return
		}
		if len(got) == 0 {
			t.Fatalf("ParseCells(%q): no cells and no error", s)
		}
		for i, n := range got {
			if n < 0 || n > MaxCell || (i > 0 && got[i-1] >= n) {
				t.Fatalf("ParseCells(%q) = %v: not sorted, unique and in range", s, got)
			}
		}
		// Writing the cells back reads the same.
		parts := make([]string, len(got))
		for i, n := range got {
			parts[i] = strconv.Itoa(n)
		}
		again, err := ParseCells(strings.Join(parts, ","))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip of %v: %v, %v", got, again, err)
		}
	})
}

func TestMonthStartAndIndex(t *testing.T) {
	for _, tc := range []struct {
		d0, d string
		m     int
	}{
		{"2025-01-31", "2025-01-31", 0},
		{"2025-01-31", "2025-02-28", 0},
		{"2025-01-31", "2025-03-01", 1},
		{"2025-01-31", "2025-03-30", 1},
		{"2025-01-31", "2025-03-31", 2},
		{"2024-01-30", "2024-02-29", 0},
		{"2024-01-30", "2024-03-01", 1},
		{"2025-10-15", "2025-11-14", 0},
		{"2025-10-15", "2025-11-15", 1},
		{"2024-12-20", "2025-12-19", 11},
		{"2024-12-20", "2025-12-20", 12},
	} {
		d0, d := mustDate(t, tc.d0), mustDate(t, tc.d)
		if got := monthIndex(d0, d); got != tc.m {
			t.Errorf("monthIndex(%s, %s) = %d, want %d", tc.d0, tc.d, got, tc.m)
		}
	}
}

func mustDate(t *testing.T, s string) crm.Date {
	t.Helper()
	d, err := crm.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
