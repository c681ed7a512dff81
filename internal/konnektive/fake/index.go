package fake

import "sort"

// index keeps visible rows in day buckets of the account zone, each bucket
// sorted by (wall-clock key, id), so a page costs O(days + page) and not
// O(rows).
type index struct {
	key     func(*rec) string
	buckets map[int32][]*rec
	minDay  int32
	maxDay  int32
}

func newIndex(key func(*rec) string) *index {
	return &index{key: key, buckets: map[int32][]*rec{}, minDay: 1 << 30, maxDay: -1 << 30}
}

func less(ka string, a *rec, kb string, b *rec) bool {
	if ka != kb {
		return ka < kb
	}
	if a.num != b.num {
		return a.num < b.num
	}
	return a.id < b.id
}

func (ix *index) insert(r *rec) {
	k := ix.key(r)
	d := dayOf(k)
	b := ix.buckets[d]
	i := sort.Search(len(b), func(i int) bool { return less(k, r, ix.key(b[i]), b[i]) })
	b = append(b, nil)
	copy(b[i+1:], b[i:])
	b[i] = r
	ix.buckets[d] = b
	ix.minDay = min(ix.minDay, d)
	ix.maxDay = max(ix.maxDay, d)
}

// remove takes r out; oldKey is the key r was inserted under.
func (ix *index) remove(r *rec, oldKey string) {
	d := dayOf(oldKey)
	b := ix.buckets[d]
	i := sort.Search(len(b), func(i int) bool { return !less(ix.key(b[i]), b[i], oldKey, r) })
	for ; i < len(b); i++ {
		if b[i] == r {
			ix.buckets[d] = append(b[:i], b[i+1:]...)
			return
		}
	}
	// Fall back to a scan: the key function may already see the new key for
	// rows before r in this bucket only if the caller broke the contract.
	for i := range b {
		if b[i] == r {
			ix.buckets[d] = append(b[:i], b[i+1:]...)
			return
		}
	}
}

func (ix *index) clamp(d0, d1 int32) (int32, int32) {
	return max(d0, ix.minDay), min(d1, ix.maxDay)
}

// count is the number of rows in days d0..d1.
func (ix *index) count(d0, d1 int32) int {
	d0, d1 = ix.clamp(d0, d1)
	n := 0
	for d := d0; d <= d1; d++ {
		n += len(ix.buckets[d])
	}
	return n
}

// page returns at most n rows of days d0..d1 after skipping off of them.
func (ix *index) page(d0, d1 int32, off, n int, desc bool) []*rec {
	d0, d1 = ix.clamp(d0, d1)
	out := make([]*rec, 0, n)
	step, d, end := int32(1), d0, d1+1
	if desc {
		step, d, end = -1, d1, d0-1
	}
	for ; d != end && len(out) < n; d += step {
		b := ix.buckets[d]
		if off >= len(b) {
			off -= len(b)
			continue
		}
		if desc {
			for i := len(b) - 1 - off; i >= 0 && len(out) < n; i-- {
				out = append(out, b[i])
			}
		} else {
			for i := off; i < len(b) && len(out) < n; i++ {
				out = append(out, b[i])
			}
		}
		off = 0
	}
	return out
}

// each calls fn with every row of days d0..d1 in order.
func (ix *index) each(d0, d1 int32, fn func(*rec)) {
	d0, d1 = ix.clamp(d0, d1)
	for d := d0; d <= d1; d++ {
		for _, r := range ix.buckets[d] {
			fn(r)
		}
	}
}

// dayOf is the day number of a "YYYY-MM-DD..." string (days since
// 1970-01-01 in the proleptic Gregorian calendar).
func dayOf(s string) int32 {
	if len(s) < 10 {
		return 0
	}
	y := atoi(s[0:4])
	m := atoi(s[5:7])
	d := atoi(s[8:10])
	return civilDays(y, m, d)
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// civilDays is Howard Hinnant's days_from_civil.
func civilDays(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}
