package rollup

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/konduit/konduit/internal/store"
)

// contribution is what one customer adds to the customer-level tables
// (rollup_cohorts, rollup_ltv, rollup_cycles, rollup_order_spans,
// rollup_retention, rollup_gaps), kept encoded in the customer's
// rollup_customers row so that a refresh can take it back when the
// customer's transactions change. The cohort entries follow from the customer row itself (first sale, groups); the lifetime
// value cells hold for every breakdown with the first sale's group.
type contribution struct {
	ltv    []ltvCell // by event day
	cycles []cycleCell
	spans  []spanCell
	ret    []retCell
	gaps   []gapCell
}

// retCell is what a customer's subscriptions of one group, product and
// cycle-1 day did at one cycle on one day (account time zone): approvals
// (subscriptions whose first approved sale of the cycle is that day) and
// declined attempts. Reading the cells up to an as-of date gives the
// retention report's counts as of that date.
type retCell struct {
	dim                 int
	grp, product        string
	cohortDay, cycle    int64
	eventDay            int64
	approvals, declines int64
}

// gapCell counts (n, +1 or -1) a gap in days between consecutive approved
// cycles of a product from fromDay on: summed up to an as-of date, the
// gaps the retention report sees as of that date.
type gapCell struct {
	product      string
	fromDay, gap int64
	n            int64
}

type ltvCell struct {
	day        int
	gross, net int64
}

type cycleCell struct {
	dim                 int
	grp                 string
	cycle               int64
	approvals, declines int64
}

type spanCell struct {
	dim        int
	grp, order string
	bucket     int64
}

// contribute computes a customer's contribution (c from summarize, evs
// sorted by sortEvents) as metrics.md defines the figures.
func contribute(c *customer, evs []event, loc *time.Location) contribution {
	var k contribution
	// Lifetime value: from the first sale on, sales add to gross and net,
	// refunds and chargebacks (on chargebackDate) take from net; nothing
	// before the first sale's day counts.
	if c.hasSale {
		d0 := localDayNum(c.firstAt, loc)
		cells := map[int][2]int64{}
		add := func(day int, gross, net int64) {
			if day < d0 {
				return
			}
			v := cells[day]
			cells[day] = [2]int64{v[0] + gross, v[1] + net}
		}
		started := false
		for i := range evs {
			e := &evs[i]
			switch {
			case e.sale():
				started = true
				add(localDayNum(e.at, loc), e.amount, e.amount)
				if e.chargedback && e.cbDay != "" {
					if cd, ok := dateDayNum(e.cbDay); ok {
						add(cd, 0, -e.cbCents)
					}
				}
			case started && e.refund():
				add(localDayNum(e.at, loc), 0, -e.amount)
			}
		}
		for day, v := range cells {
			k.ltv = append(k.ltv, ltvCell{day, v[0], v[1]})
		}
		sort.Slice(k.ltv, func(i, j int) bool { return k.ltv[i].day < k.ltv[j].day })
	}
	// Retention: approvals are the customer's distinct subscriptions per
	// cycle; every decline counts.
	type ck struct {
		dim   int
		grp   string
		cycle int64
	}
	cycles := map[ck]*cycleCell{}
	subs := map[ck]map[string]bool{}
	type ok struct {
		dim        int
		grp, order string
	}
	orders := map[ok]map[int64]bool{}
	for i := range evs {
		e := &evs[i]
		if e.cycle > 0 {
			sale, decl := e.sale(), e.decline()
			for d := range Dims {
				key := ck{d, e.groups[d], e.cycle}
				cell := cycles[key]
				if cell == nil {
					cell = &cycleCell{dim: d, grp: e.groups[d], cycle: e.cycle}
					cycles[key] = cell
				}
				if decl {
					cell.declines++
				}
				if sale {
					if subs[key] == nil {
						subs[key] = map[string]bool{}
					}
					subs[key][e.subscription()] = true
				}
			}
		}
		// Orders whose sales fall in more than one bucket.
		if e.sale() && e.order != "" {
			b := store.Bucket(e.at)
			for d := range Dims {
				key := ok{d, e.groups[d], e.order}
				if orders[key] == nil {
					orders[key] = map[int64]bool{}
				}
				orders[key][b] = true
			}
		}
	}
	for key, cell := range cycles {
		cell.approvals = int64(len(subs[key]))
		k.cycles = append(k.cycles, *cell)
	}
	slices.SortFunc(k.cycles, func(a, b cycleCell) int {
		return cmp.Or(cmp.Compare(a.dim, b.dim), cmp.Compare(a.grp, b.grp), cmp.Compare(a.cycle, b.cycle))
	})
	k.ret, k.gaps = retention(evs, loc)
	for key, bs := range orders {
		if len(bs) < 2 {
			continue
		}
		for b := range bs {
			k.spans = append(k.spans, spanCell{key.dim, key.grp, key.order, b})
		}
	}
	slices.SortFunc(k.spans, func(a, b spanCell) int {
		return cmp.Or(cmp.Compare(a.dim, b.dim), cmp.Compare(a.grp, b.grp), cmp.Compare(a.order, b.order), cmp.Compare(a.bucket, b.bucket))
	})
	return k
}

// retention computes a customer's retention cells and gaps (metrics.md
// "Subscriptions", internal/report's Retention): a subscription (its
// purchase, or the customer's product) belongs to its first approved
// cycle-1 sale's groups, product and day; before that day the report sees
// it under its first event's product, which only its gaps use.
func retention(evs []event, loc *time.Location) ([]retCell, []gapCell) {
	type sub struct {
		first    *event          // its first sale or decline
		one      *event          // its first approved cycle-1 sale
		approved map[int64]int64 // cycle → day of its first approved sale
	}
	subs := map[string]*sub{}
	var order []string
	type rk struct {
		dim                        int
		grp, product               string
		cohortDay, cycle, eventDay int64
	}
	cells := map[rk]*retCell{}
	cell := func(s *sub, cycle, day int64) []*retCell {
		var out []*retCell
		for d := range Dims {
			key := rk{d, s.one.groups[d], s.one.groups[productDim], int64(localDayNum(s.one.at, loc)), cycle, day}
			c := cells[key]
			if c == nil {
				c = &retCell{dim: d, grp: key.grp, product: key.product, cohortDay: key.cohortDay, cycle: cycle, eventDay: day}
				cells[key] = c
			}
			out = append(out, c)
		}
		return out
	}
	var declines []*event
	for i := range evs {
		e := &evs[i]
		if e.cycle <= 0 {
			continue
		}
		sale, decl := e.sale(), e.decline()
		if !sale && !decl {
			continue
		}
		key := e.subscription()
		s := subs[key]
		if s == nil {
			s = &sub{first: e, approved: map[int64]int64{}}
			subs[key] = s
			order = append(order, key)
		}
		if sale {
			if _, ok := s.approved[e.cycle]; !ok {
				s.approved[e.cycle] = int64(localDayNum(e.at, loc))
				if e.cycle == 1 {
					s.one = e
				}
			}
		} else {
			declines = append(declines, e)
		}
	}
	for _, e := range declines {
		if s := subs[e.subscription()]; s.one != nil {
			for _, c := range cell(s, e.cycle, int64(localDayNum(e.at, loc))) {
				c.declines++
			}
		}
	}
	type gk struct {
		product      string
		fromDay, gap int64
	}
	gaps := map[gk]int64{}
	for _, key := range order {
		s := subs[key]
		var d1 int64
		if s.one != nil {
			d1 = int64(localDayNum(s.one.at, loc))
			for cycle, day := range s.approved {
				for _, c := range cell(s, cycle, day) {
					c.approvals++
				}
			}
		}
		p0 := s.first.groups[productDim]
		for cycle, day := range s.approved {
			next, ok := s.approved[cycle+1]
			if !ok {
				continue
			}
			from, gap := max(day, next), next-day
			switch {
			case s.one == nil:
				gaps[gk{p0, from, gap}]++
			case from >= d1:
				gaps[gk{s.one.groups[productDim], from, gap}]++
			default: // seen under the first event's product until the cycle-1 sale
				gaps[gk{p0, from, gap}]++
				gaps[gk{p0, d1, gap}]--
				gaps[gk{s.one.groups[productDim], d1, gap}]++
			}
		}
	}
	var ret []retCell
	for _, c := range cells {
		ret = append(ret, *c)
	}
	slices.SortFunc(ret, func(a, b retCell) int {
		return cmp.Or(cmp.Compare(a.dim, b.dim), cmp.Compare(a.grp, b.grp), cmp.Compare(a.product, b.product), cmp.Compare(a.cohortDay, b.cohortDay), cmp.Compare(a.cycle, b.cycle), cmp.Compare(a.eventDay, b.eventDay))
	})
	var gs []gapCell
	for k, n := range gaps {
		if n != 0 {
			gs = append(gs, gapCell{k.product, k.fromDay, k.gap, n})
		}
	}
	slices.SortFunc(gs, func(a, b gapCell) int {
		return cmp.Or(cmp.Compare(a.product, b.product), cmp.Compare(a.fromDay, b.fromDay), cmp.Compare(a.gap, b.gap))
	})
	return ret, gs
}

// contribVersion starts every encoding.
const contribVersion = 2

// encode writes the contribution compactly: the strings once in a table,
// then the cells with varints. Equal contributions encode equally.
func (k contribution) encode() []byte {
	var strs []string
	index := map[string]uint64{}
	str := func(s string) uint64 {
		if i, ok := index[s]; ok {
			return i
		}
		index[s] = uint64(len(strs))
		strs = append(strs, s)
		return index[s]
	}
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(k.ltv)))
	for _, c := range k.ltv {
		body = binary.AppendVarint(body, int64(c.day))
		body = binary.AppendVarint(body, c.gross)
		body = binary.AppendVarint(body, c.net)
	}
	body = binary.AppendUvarint(body, uint64(len(k.cycles)))
	for _, c := range k.cycles {
		body = binary.AppendUvarint(body, uint64(c.dim))
		body = binary.AppendUvarint(body, str(c.grp))
		body = binary.AppendVarint(body, c.cycle)
		body = binary.AppendVarint(body, c.approvals)
		body = binary.AppendVarint(body, c.declines)
	}
	body = binary.AppendUvarint(body, uint64(len(k.spans)))
	for _, c := range k.spans {
		body = binary.AppendUvarint(body, uint64(c.dim))
		body = binary.AppendUvarint(body, str(c.grp))
		body = binary.AppendUvarint(body, str(c.order))
		body = binary.AppendVarint(body, c.bucket)
	}
	body = binary.AppendUvarint(body, uint64(len(k.ret)))
	for _, c := range k.ret {
		body = binary.AppendUvarint(body, uint64(c.dim))
		body = binary.AppendUvarint(body, str(c.grp))
		body = binary.AppendUvarint(body, str(c.product))
		body = binary.AppendVarint(body, c.cohortDay)
		body = binary.AppendVarint(body, c.cycle)
		body = binary.AppendVarint(body, c.eventDay)
		body = binary.AppendVarint(body, c.approvals)
		body = binary.AppendVarint(body, c.declines)
	}
	body = binary.AppendUvarint(body, uint64(len(k.gaps)))
	for _, c := range k.gaps {
		body = binary.AppendUvarint(body, str(c.product))
		body = binary.AppendVarint(body, c.fromDay)
		body = binary.AppendVarint(body, c.gap)
		body = binary.AppendVarint(body, c.n)
	}
	out := []byte{contribVersion}
	out = binary.AppendUvarint(out, uint64(len(strs)))
	for _, s := range strs {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, body...)
}

var errContrib = errors.New("rollup: malformed customer contribution")

// decodeContribution reads what encode wrote.
func decodeContribution(b []byte) (contribution, error) {
	var k contribution
	if len(b) == 0 || b[0] != contribVersion {
		return k, errContrib
	}
	p := 1
	bad := false
	uv := func() uint64 {
		v, n := binary.Uvarint(b[p:])
		if n <= 0 {
			bad = true
			return 0
		}
		p += n
		return v
	}
	sv := func() int64 {
		v, n := binary.Varint(b[p:])
		if n <= 0 {
			bad = true
			return 0
		}
		p += n
		return v
	}
	count := func() int {
		n := uv()
		if n > uint64(len(b)) { // each entry takes at least a byte
			bad = true
			return 0
		}
		return int(n)
	}
	strs := make([]string, count())
	for i := range strs {
		n := uv()
		if bad || n > uint64(len(b)-p) {
			return k, errContrib
		}
		strs[i] = string(b[p : p+int(n)])
		p += int(n)
	}
	str := func() string {
		i := uv()
		if i >= uint64(len(strs)) {
			bad = true
			return ""
		}
		return strs[i]
	}
	dim := func() int {
		d := uv()
		if d >= uint64(len(Dims)) {
			bad = true
			return 0
		}
		return int(d)
	}
	k.ltv = make([]ltvCell, count())
	for i := range k.ltv {
		k.ltv[i] = ltvCell{int(sv()), sv(), sv()}
	}
	k.cycles = make([]cycleCell, count())
	for i := range k.cycles {
		c := &k.cycles[i]
		c.dim, c.grp = dim(), str()
		c.cycle, c.approvals, c.declines = sv(), sv(), sv()
	}
	k.spans = make([]spanCell, count())
	for i := range k.spans {
		c := &k.spans[i]
		c.dim, c.grp, c.order, c.bucket = dim(), str(), str(), sv()
	}
	k.ret = make([]retCell, count())
	for i := range k.ret {
		c := &k.ret[i]
		c.dim, c.grp, c.product = dim(), str(), str()
		c.cohortDay, c.cycle, c.eventDay, c.approvals, c.declines = sv(), sv(), sv(), sv(), sv()
	}
	k.gaps = make([]gapCell, count())
	for i := range k.gaps {
		c := &k.gaps[i]
		c.product = str()
		c.fromDay, c.gap, c.n = sv(), sv(), sv()
	}
	if bad || p != len(b) {
		return contribution{}, errContrib
	}
	return k, nil
}
