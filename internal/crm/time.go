package crm

import (
	"fmt"
	"time"
)

// WallLayout is how Konnektive and the import files write a wall-clock time.
const WallLayout = "2006-01-02 15:04:05"

// DateLayout is how they write a date.
const DateLayout = "2006-01-02"

// Adjustment says how a wall-clock time was placed on the time line.
type Adjustment int

// metrics.md's DST rules.
const (
	Exact     Adjustment = iota // the wall-clock time occurs once
	Ambiguous                   // it occurs twice (fall back): the earlier instant was taken
	Gap                         // it does not occur (spring forward): shifted forward by the gap
)

func (a Adjustment) String() string {
	switch a {
	case Ambiguous:
		return "ambiguous"
	case Gap:
		return "gap"
	}
	return "exact"
}

// WallTime is a wall-clock time in the account time zone as the source wrote
// it, with the UTC instant derived from it.
type WallTime struct {
	Raw    string     // "2006-01-02 15:04:05", no offset
	UTC    time.Time  // the instant, in UTC
	Adjust Adjustment // how Raw was placed on the time line
}

// IsZero reports whether no time was given.
func (w WallTime) IsZero() bool { return w.Raw == "" }

// ParseWall derives the instant of a raw wall-clock string in loc.
func ParseWall(raw string, loc *time.Location) (WallTime, error) {
	if raw == "" {
		return WallTime{}, nil
	}
	naive, err := time.Parse(WallLayout, raw)
	if err != nil {
		return WallTime{}, fmt.Errorf("parse wall-clock time %q: %w", raw, err)
	}
	utc, adj := Place(naive, loc)
	return WallTime{Raw: raw, UTC: utc, Adjust: adj}, nil
}

// Place puts a naive wall-clock time (its fields read as-is, its location
// ignored) on the time line of loc, following metrics.md: a time that occurs
// twice takes the earlier instant; a time in a spring-forward gap is shifted
// forward by the gap.
func Place(naive time.Time, loc *time.Location) (time.Time, Adjustment) {
	u := time.Date(naive.Year(), naive.Month(), naive.Day(), naive.Hour(), naive.Minute(), naive.Second(), naive.Nanosecond(), time.UTC)
	// Offsets in force a day either side cover any single transition.
	_, offBefore := u.Add(-26 * time.Hour).In(loc).Zone()
	_, offAfter := u.Add(26 * time.Hour).In(loc).Zone()
	var found []time.Time
	for _, off := range uniq(offBefore, offAfter) {
		cand := u.Add(-time.Duration(off) * time.Second)
		if _, o := cand.In(loc).Zone(); o == off {
			found = append(found, cand)
		}
	}
	switch len(found) {
	case 1:
		return found[0], Exact
	case 2:
		if found[1].Before(found[0]) {
			found[0] = found[1]
		}
		return found[0], Ambiguous
	}
	// Gap: read the time with the offset in force before the transition,
	// which lands it after the gap, shifted forward by the gap's length.
	return u.Add(-time.Duration(offBefore) * time.Second), Gap
}

func uniq(a, b int) []int {
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}

// Date is a calendar date without a time or zone (chargebackDate,
// nextBillDate). The zero Date means "none".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads YYYY-MM-DD; "" gives the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// DateOf is the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// String writes YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// In returns midnight starting the date in loc (the start of that day).
func (d Date) In(loc *time.Location) time.Time {
	t, _ := Place(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), loc)
	return t
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}
