package sync

import (
	"testing"
	"time"
)

func TestProgressLeft(t *testing.T) {
	for _, tc := range []struct {
		p       Progress
		elapsed time.Duration
		want    time.Duration
		ok      bool
	}{
		{Progress{Rows: 0, Expected: 1000}, time.Minute, 0, false},                // no pace yet
		{Progress{Rows: 250, Expected: 1000}, time.Minute, 3 * time.Minute, true}, // a quarter in a minute
		{Progress{Rows: 500, Expected: 0}, time.Minute, 0, true},                  // no count: nothing known to go
		{Progress{Rows: 1200, Expected: 1000}, time.Minute, 0, true},              // more than counted
		{Progress{Rows: 10, Expected: 20}, 0, 0, false},
	} {
		got, ok := tc.p.Left(tc.elapsed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%+v after %v: %v %v, want %v %v", tc.p, tc.elapsed, got, ok, tc.want, tc.ok)
		}
	}
}
