package normalize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Layout is one compiled source date layout.
type Layout struct {
	GoLayout string
	Unix     bool
	Zoned    bool // the layout carries an offset or zone
	Clock    bool // the layout carries a time of day
}

// CompileLayout accepts a Go reference layout ("01/02/2006 15:04"), a token
// layout ("MM/DD/YYYY HH:mm") or a name: unix, rfc3339, iso8601.
func CompileLayout(s string) (Layout, error) {
	switch strings.ToLower(s) {
	case "unix":
		return Layout{Unix: true, Zoned: true, Clock: true}, nil
	case "rfc3339", "iso8601":
		s = time.RFC3339
	}
	l := s
	if !strings.Contains(s, "2006") && !strings.Contains(s, "06") {
		var err error
		if l, err = tokensToGo(s); err != nil {
			return Layout{}, err
		}
	}
	ref := time.Date(2001, 2, 3, 13, 5, 7, 0, time.UTC)
	noon := time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)
	tl := Layout{GoLayout: l}
	tl.Clock = ref.Format(l) != noon.Format(l)
	tl.Zoned = strings.Contains(l, "Z07") || strings.Contains(l, "-07") || strings.Contains(l, "MST")
	if _, err := time.Parse(l, ref.Format(l)); err != nil {
		return Layout{}, fmt.Errorf("layout %q does not read back what it writes: %w", s, err)
	}
	return tl, nil
}

// tokens, longest first.
var layoutTokens = []struct{ tok, goTok string }{
	{"YYYY", "2006"}, {"YY", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DD", "02"}, {"D", "2"}, {"HH", "15"}, {"H", "15"}, {"hh", "03"}, {"h", "3"}, {"mm", "04"}, {"m", "4"},
	{"ss", "05"}, {"s", "5"}, {"SSS", "000"}, {"A", "PM"}, {"a", "pm"}, {"ZZ", "-0700"}, {"Z", "Z07:00"},
}

func tokensToGo(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		for _, t := range layoutTokens {
			if strings.HasPrefix(s[i:], t.tok) {
				b.WriteString(t.goTok)
				i += len(t.tok)
				matched = true
				break
			}
		}
		if !matched {
			c := s[i]
			if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
				return "", fmt.Errorf("layout %q: %q is not a layout token (YYYY MM DD HH hh mm ss A Z)", s, string(c))
			}
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// ParseTime reads v with the first layout that fits and returns the instant
// (for zoned or clocked layouts) placed in src, or a calendar date.
func ParseTime(v string, layouts []Layout, src *time.Location) (t time.Time, l Layout, adj crm.Adjustment, err error) {
	for _, l := range layouts {
		if l.Unix {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			return time.Unix(n, 0), l, crm.Exact, nil
		}
		p, err := time.Parse(l.GoLayout, v)
		if err != nil {
			continue
		}
		if l.Zoned {
			return p, l, crm.Exact, nil
		}
		if !l.Clock {
			return p, l, crm.Exact, nil // a calendar date; zones do not apply
		}
		u, a := crm.Place(p, src)
		return u, l, a, nil
	}
	return time.Time{}, Layout{}, crm.Exact, errors.New("matches none of the layouts")
}

// Order is the order of the day and month in a slashed date.
type Order int

// Date orders.
const (
	OrderUnknown Order = iota
	MDY
	DMY
)

func (o Order) String() string {
	switch o {
	case MDY:
		return "mdy"
	case DMY:
		return "dmy"
	}
	return "unknown"
}

// ParseOrder reads "mdy", "dmy" or "".
func ParseOrder(s string) (Order, bool) {
	switch strings.ToLower(s) {
	case "":
		return OrderUnknown, true
	case "mdy":
		return MDY, true
	case "dmy":
		return DMY, true
	}
	return OrderUnknown, false
}

// stamp is a date and time read from a cell.
type stamp struct {
	y, mo, d, h, mi, s int
	hasTime            bool
}

// slashed reads "A/B/YYYY" with an optional time. It returns the two
// leading parts undecided (which is the month depends on the column).
func slashed(v string) (a, b int, st stamp, ok bool) {
	t := strings.TrimSpace(v)
	date, clock, _ := strings.Cut(t, " ")
	parts := strings.Split(date, "/")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) != 4 {
		return 0, 0, st, false
	}
	a, ok1 := atoi(parts[0])
	b, ok2 := atoi(parts[1])
	y, ok3 := atoi(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, st, false
	}
	st.y = y
	if clock = strings.TrimSpace(clock); clock != "" {
		if !parseClock(clock, &st) {
			return 0, 0, st, false
		}
	}
	return a, b, st, true
}

// SlashedParts reports the two leading parts of an A/B/YYYY date, for
// deciding a column's order.
func SlashedParts(v string) (a, b int, ok bool) {
	a, b, _, ok = slashed(v)
	return a, b, ok
}

// parseClock reads H:MM, H:MM:SS, with an optional AM/PM (12-hour clock).
func parseClock(c string, st *stamp) bool {
	ampm := ""
	if i := strings.LastIndexByte(c, ' '); i >= 0 {
		ampm, c = strings.ToUpper(strings.TrimSpace(c[i+1:])), strings.TrimSpace(c[:i])
	} else if n := len(c); n > 2 {
		if u := strings.ToUpper(c[n-2:]); u == "AM" || u == "PM" {
			ampm, c = u, c[:n-2]
		}
	}
	ampm = strings.ReplaceAll(ampm, ".", "")
	parts := strings.Split(c, ":")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) < 1 || len(parts[0]) > 2 {
		return false
	}
	h, ok := atoi(parts[0])
	if !ok {
		return false
	}
	var mi, s int
	if len(parts[1]) != 2 {
		return false
	}
	if mi, ok = atoi(parts[1]); !ok {
		return false
	}
	if len(parts) == 3 {
		sec, _, _ := strings.Cut(parts[2], ".") // fractional seconds are dropped
		if len(sec) != 2 {
			return false
		}
		if s, ok = atoi(sec); !ok {
			return false
		}
	}
	switch ampm {
	case "":
	case "AM", "PM":
		if h < 1 || h > 12 {
			return false
		}
		if h == 12 {
			h = 0
		}
		if ampm == "PM" {
			h += 12
		}
	default:
		return false
	}
	st.h, st.mi, st.s, st.hasTime = h, mi, s, true
	return true
}

// isoish reads YYYY-MM-DD or YYYY/MM/DD (month and day of one or two
// digits), with an optional time after a space or a T, and an optional Z.
// An explicit offset (+02:00) is not read: converting it needs the
// account's time zone.
func isoish(v string) (stamp, bool) {
	var st stamp
	t := strings.TrimSpace(v)
	t = strings.TrimSuffix(t, "Z")
	date, clock := t, ""
	if i := strings.IndexAny(t, "T "); i >= 0 {
		date, clock = t[:i], strings.TrimSpace(t[i+1:])
	}
	sep := "-"
	if strings.Contains(date, "/") {
		sep = "/"
	}
	parts := strings.Split(date, sep)
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) < 1 || len(parts[2]) > 2 {
		return st, false
	}
	var ok1, ok2, ok3 bool
	st.y, ok1 = atoi(parts[0])
	st.mo, ok2 = atoi(parts[1])
	st.d, ok3 = atoi(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return st, false
	}
	if clock != "" {
		if strings.ContainsAny(clock, "+-") || !parseClock(clock, &st) {
			return st, false
		}
	}
	return st, true
}

func (st stamp) valid() bool {
	return st.y >= 1 && st.mo >= 1 && st.mo <= 12 && st.d >= 1 && st.d <= daysIn(st.y, st.mo) &&
		st.h < 24 && st.mi < 60 && st.s < 60
}

func (st stamp) date() string {
	return pad(st.y, 4) + "-" + pad(st.mo, 2) + "-" + pad(st.d, 2)
}

func (st stamp) datetime() string {
	return st.date() + " " + pad(st.h, 2) + ":" + pad(st.mi, 2) + ":" + pad(st.s, 2)
}

// read parses a value as a stamp: ISO-like forms always, slashed forms in
// the given order only.
func read(v string, order Order) (stamp, bool) {
	if st, ok := isoish(v); ok {
		return st, st.valid()
	}
	a, b, st, ok := slashed(v)
	if !ok {
		return st, false
	}
	switch order {
	case MDY:
		st.mo, st.d = a, b
	case DMY:
		st.mo, st.d = b, a
	default:
		return st, false
	}
	return st, st.valid()
}

// Datetime rewrites a date and time as YYYY-MM-DD HH:MM:SS: ISO 8601 with
// a T and a Z, a missing seconds field, or a slashed date in the column's
// order with a 12- or 24-hour clock. A value without a time is not
// repaired (the time would be a guess).
func Datetime(v string, order Order) (string, bool) {
	st, ok := read(v, order)
	if !ok || !st.hasTime {
		return "", false
	}
	return st.datetime(), true
}

// Date rewrites a date as YYYY-MM-DD: single-digit month or day, slashes,
// a slashed date in the column's order, or a midnight time that a
// spreadsheet appended.
func Date(v string, order Order) (string, bool) {
	st, ok := read(v, order)
	if !ok || (st.hasTime && (st.h != 0 || st.mi != 0 || st.s != 0)) {
		return "", false
	}
	return st.date(), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func atoi(s string) (int, bool) {
	if !isDigits(s) || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// DaysIn is the number of days of a month.
func DaysIn(year, month int) int { return daysIn(year, month) }
