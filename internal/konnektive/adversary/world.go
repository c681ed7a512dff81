package adversary

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"
)

// day is a calendar date.
type day struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time, loc *time.Location) day {
	y, m, d := t.In(loc).Date()
	return day{y, m, d}
}

// num counts days since 1970-01-01, for comparisons and arithmetic.
func (d day) num() int {
	return int(time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayFromNum(n int) day {
	y, m, dd := time.Unix(int64(n)*86400+43200, 0).UTC().Date()
	return day{y, m, dd}
}

func (d day) add(n int) day { return dayFromNum(d.num() + n) }

// start is the first instant of the day in loc.
func (d day) start(loc *time.Location) time.Time {
	return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, loc)
}

func (d day) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, int(d.m), d.d) }

// rec is one row of any endpoint; fields that do not apply stay zero.
type rec struct {
	ent  Entity
	seq  int64 // creation order, the tie-breaker of the sort
	id   string
	num  int64 // numeric id where the id is a number
	cust *customer

	customerID, orderID, purchaseID, parentID string
	actualOrderID                             int64

	created, updated time.Time

	// Transactions.
	txnType, orderType, response, responseText string
	amount                                     int64 // cents: totalAmount, or a purchase's price
	cycle, recycle                             int
	chargedback                                bool
	cbAmount                                   int64
	cbDay                                      day
	cbCode                                     string
	refunded                                   int64 // cents refunded of a SALE, an order or a purchase
	check                                      bool  // paid by CHECK (carries ACH fields)
	prod                                       *product

	// Orders and purchases.
	status       string
	nextBill     day
	totalBilled  int64
	cancelReason string
	shipped      bool

	// Customers.
	phone    string
	activity time.Time // mostRecentActivity

	bad, badField string
}

type product struct {
	id       int
	name     string
	sku      string
	price    int64
	interval int // billing interval days
}

var products = []product{
	{101, "Glow Serum 30ml", "GS-30", 2999, 30},
	{102, "Glow Serum Trial", "GS-T", 495, 30},
	{103, "Night Cream", "NC-50", 4995, 30},
	{104, "Collagen Gummies", "CG-60", 3995, 30},
	{105, "Starter Kit", "SK-1", 8995, 30},
	{106, "Annual Membership", "AM-1", 104995, 365},
}

// productWeights are per mille.
var productWeights = []int{300, 180, 200, 160, 110, 50}

type campaign struct {
	id   int
	name string
}

var campaigns = []campaign{{11, "Summer Lander"}, {12, "Phone Sales"}, {13, "Retail Site"}}

var (
	firstNames = []string{"Ada", "Ben", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lena", "Marta", "Noor", "Otto", "Priya"}
	lastNames  = []string{"Abbott", "Baker", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Huang", "Ito", "Jensen", "Kowalski", "O'Neil"}
	cities     = []struct{ city, state, zip string }{
		{"Austin", "TX", "73301"}, {"Boise", "ID", "83702"}, {"Columbus", "OH", "43004"},
		{"Denver", "CO", "80014"}, {"Miami", "FL", "33101"}, {"Portland", "OR", "97035"},
	}
	cardBins   = []struct{ bin, typ string }{{"424242", "VISA"}, {"510510", "MASTERCARD"}, {"371449", "AMEX"}, {"601100", "DISCOVER"}}
	cbCodes    = []string{"10.4", "13.1", "4837", "4853", "13.3"}
	affiliates = []string{"", "AFF001", "AFF002", "AFF917"}
)

// customer is one buyer and the random stream all its activity draws from,
// so its history does not depend on other customers.
type customer struct {
	idx                          int
	rng                          *rand.Rand
	first, last, email, phone    string
	city, state, zip, country    string
	ip, cardBin, cardType, card4 string
	check                        bool
	aff                          string
	camp                         campaign
	row                          *rec
}

// event is something that happens at a time.
type event struct {
	at  time.Time
	seq int64
	fn  func(at time.Time)
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// world is the data and its clock.
type world struct {
	cfg *Config
	loc *time.Location
	now time.Time

	recs map[Entity][]*rec
	byID map[Entity]map[string]*rec
	ids  map[string]bool // string ids in use

	seq        int64
	nextCust   int64
	nextTxn    int64
	nextActual int64
	nextItem   int64
	custIdx    int

	events   eventQueue
	evSeq    int64
	arrivals *rand.Rand
	busy     []day
}

func newWorld(cfg *Config) (*world, error) {
	w := &world{
		cfg:        cfg,
		loc:        cfg.Location,
		now:        cfg.Now,
		recs:       map[Entity][]*rec{},
		byID:       map[Entity]map[string]*rec{},
		ids:        map[string]bool{},
		nextCust:   10001,
		nextTxn:    500001,
		nextActual: 7000001,
		nextItem:   90001,
		arrivals:   rand.New(rand.NewPCG(cfg.Seed, 0xa771fa15)),
	}
	for _, e := range Entities {
		w.byID[e] = map[string]*rec{}
	}
	if err := w.generate(); err != nil {
		return nil, err
	}
	return w, nil
}

// generate schedules the initial arrivals and runs the world up to Now.
func (w *world) generate() error {
	first, last := dayOf(w.cfg.Start, w.loc), dayOf(w.now, w.loc)
	if first.num() > last.num() {
		return fmt.Errorf("adversary: Start %s is after Now %s", first, last)
	}
	rng := w.arrivals
	type burst struct{ from, n int }
	var bursts []burst
	span := last.num() - first.num() + 1
	for i := 0; i < w.cfg.Bursts-1; i++ {
		n := 1 + rng.IntN(30)
		if n > span {
			n = span
		}
		bursts = append(bursts, burst{first.num() + rng.IntN(span-n+1), n})
	}
	// The last burst ends today, so there is recent activity.
	n := min(21, span)
	bursts = append(bursts, burst{last.num() - n + 1, n})
	for _, s := range w.cfg.BusyDates {
		d, ok := parseDay(s)
		if !ok {
			return fmt.Errorf("adversary: busy date %q is not YYYY-MM-DD", s)
		}
		w.busy = append(w.busy, d)
	}
	if w.cfg.BusyDates == nil {
		for i := 0; i < 2; i++ {
			b := bursts[rng.IntN(max(1, len(bursts)-1+i))]
			w.busy = append(w.busy, dayFromNum(b.from+rng.IntN(b.n)))
		}
	}
	nBusy := 0
	if len(w.busy) > 0 {
		nBusy = int(float64(w.cfg.Customers)*w.cfg.BusyShare + 0.5)
	}
	for i := 0; i < w.cfg.Customers; i++ {
		var d day
		if i < nBusy {
			d = w.busy[i%len(w.busy)]
		} else {
			b := bursts[rng.IntN(len(bursts))]
			d = dayFromNum(b.from + rng.IntN(b.n))
		}
		w.scheduleArrival(w.timeOnDay(rng, d))
	}
	w.run()
	return nil
}

// timeOnDay is an instant of the day d: uniform over the day's real length
// (23 or 25 hours on DST days), or exactly its first or last second.
func (w *world) timeOnDay(rng *rand.Rand, d day) time.Time {
	s, e := d.start(w.loc), d.add(1).start(w.loc)
	secs := int64(e.Sub(s) / time.Second)
	r := rng.Float64()
	switch {
	case r < w.cfg.EdgeTimeRate/2:
		return s
	case r < w.cfg.EdgeTimeRate:
		return e.Add(-time.Second)
	}
	return s.Add(time.Duration(rng.Int64N(secs)) * time.Second)
}

func (w *world) schedule(at time.Time, fn func(time.Time)) {
	w.evSeq++
	heap.Push(&w.events, &event{at: at.Truncate(time.Second).In(w.loc), seq: w.evSeq, fn: fn})
}

// run processes every event up to Now, in time order.
func (w *world) run() {
	for len(w.events) > 0 && !w.events[0].at.After(w.now) {
		e := heap.Pop(&w.events).(*event)
		e.fn(e.at)
	}
}

// advance moves the clock by d, with new arrivals on the way.
func (w *world) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	from := w.now
	w.now = w.now.Add(d).Truncate(time.Second)
	want := w.cfg.ArrivalsPerDay * d.Hours() / 24
	n := int(want)
	if w.arrivals.Float64() < want-float64(n) {
		n++
	}
	span := int64(w.now.Sub(from) / time.Second)
	for i := 0; i < n && span > 0; i++ {
		w.scheduleArrival(from.Add(time.Duration(1+w.arrivals.Int64N(span)) * time.Second))
	}
	w.run()
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func secs(rng *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Second
}

// newCustomer makes a customer with its own random stream.
func (w *world) newCustomer() *customer {
	w.custIdx++
	rng := rand.New(rand.NewPCG(w.cfg.Seed^0x5eed5eed5eed5eed, uint64(w.custIdx)))
	c := &customer{idx: w.custIdx, rng: rng}
	c.first, c.last = pick(rng, firstNames), pick(rng, lastNames)
	c.email = fmt.Sprintf("buyer%d.%d@example.com", c.idx, rng.IntN(1000))
	c.phone = fmt.Sprintf("555%07d", rng.IntN(10000000))
	loc := pick(rng, cities)
	c.city, c.state, c.zip, c.country = loc.city, loc.state, loc.zip, "US"
	c.ip = fmt.Sprintf("198.51.100.%d", 1+rng.IntN(254))
	c.check = rng.IntN(10) == 0
	if !c.check {
		b := pick(rng, cardBins)
		c.cardBin, c.cardType = b.bin, b.typ
		c.card4 = fmt.Sprintf("%04d", rng.IntN(10000))
	}
	c.aff = pick(rng, affiliates)
	c.camp = pick(rng, campaigns)
	return c
}

func (w *world) scheduleArrival(at time.Time) *customer {
	c := w.newCustomer()
	w.schedule(at, func(t time.Time) { w.arrive(c, t) })
	return c
}

// strID is a fresh random-looking id (orders and purchases).
func (w *world) strID(kind string) string {
	for i := 0; ; i++ {
		h := fnv.New64a()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w.cfg.Seed)
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(w.seq)<<8|uint64(i))
		h.Write(b[:])
		h.Write([]byte(kind))
		id := fmt.Sprintf("%010X", mix(h.Sum64())&0xFFFFFFFFFF)
		if !w.ids[id] {
			w.ids[id] = true
			return id
		}
	}
}

// add stores a new row and decides whether it is malformed.
func (w *world) add(r *rec) {
	w.seq++
	r.seq = w.seq
	if r.updated.IsZero() {
		r.updated = r.created
	}
	w.recs[r.ent] = append(w.recs[r.ent], r)
	w.byID[r.ent][r.id] = r
	w.markBad(r)
}

// markBad draws from the seed and the row's sequence alone, so the data is
// the same whatever the rate.
func (w *world) markBad(r *rec) {
	if w.cfg.BadRowRate <= 0 || unit(w.cfg.Seed, "bad", strconv.FormatInt(r.seq, 10), 0) >= w.cfg.BadRowRate {
		return
	}
	reasons := []string{BadDateISO, BadDateUS, BadDateTimeOnly, BadNoDateCreated}
	if r.ent == Transactions || r.ent == Orders {
		reasons = append(reasons, BadAmountMills)
		if r.amount >= 100000 {
			reasons = append(reasons, BadAmountComma, BadAmountComma, BadAmountComma)
		}
	}
	if r.ent == Transactions && r.txnType == "REFUND" {
		reasons = append(reasons, BadNegativeRefund, BadNegativeRefund, BadNegativeRefund)
	}
	r.bad = reasons[int(unit(w.cfg.Seed, "bad-reason", strconv.FormatInt(r.seq, 10), 0)*float64(len(reasons)))]
	switch r.bad {
	case BadAmountComma, BadAmountMills, BadNegativeRefund:
		r.badField = "totalAmount"
	default:
		r.badField = "dateCreated"
	}
}

func (w *world) arrive(c *customer, at time.Time) {
	r := &rec{ent: Customers, num: w.nextCust, cust: c, created: at, activity: at, phone: c.phone}
	w.nextCust++
	r.id = strconv.FormatInt(r.num, 10)
	r.customerID = r.id
	c.row = r
	w.add(r)
	checkout := at.Add(secs(c.rng, 5, 90))
	if at.Before(w.now) && checkout.After(w.now) {
		checkout = w.now // a drift insert: keep the whole checkout visible
	}
	w.schedule(checkout, func(t time.Time) {
		p := w.pickProduct(c.rng)
		o := w.newOrder(c, t, p, "NEW_SALE")
		w.saleAttempt(c, o, p, t, 0)
	})
	if c.rng.IntN(10) == 0 {
		w.schedule(at.Add(secs(c.rng, 86400, 200*86400)), func(t time.Time) { w.touch(c.row, t) })
	}
}

func (w *world) pickProduct(rng *rand.Rand) *product {
	n := rng.IntN(1000)
	for i, wt := range productWeights {
		if n < wt {
			return &products[i]
		}
		n -= wt
	}
	return &products[0]
}

func (w *world) newOrder(c *customer, t time.Time, p *product, typ string) *rec {
	o := &rec{ent: Orders, cust: c, created: t, orderType: typ, prod: p, amount: p.price, status: "PENDING", check: c.check}
	o.id = w.strID("order")
	o.orderID = o.id
	o.customerID = c.row.id
	o.actualOrderID = w.nextActual
	w.nextActual++
	w.add(o)
	c.row.activity = t
	return o
}

func (w *world) newTxn(c *customer, o *rec, t time.Time, typ string, amount int64, resp string) *rec {
	x := &rec{ent: Transactions, num: w.nextTxn, cust: c, created: t, txnType: typ, orderType: o.orderType,
		amount: amount, response: resp, prod: o.prod, check: c.check}
	w.nextTxn++
	x.id = strconv.FormatInt(x.num, 10)
	x.customerID, x.orderID, x.actualOrderID = o.customerID, o.orderID, o.actualOrderID
	switch resp {
	case "SUCCESS":
		x.responseText = "Approved"
	case "SOFT_DECLINE":
		x.responseText = "Insufficient funds"
	case "HARD_DECLINE":
		x.responseText = "Do not honor"
	}
	return x
}

func drawResponse(rng *rand.Rand, okPct, softPct int) string {
	n := rng.IntN(100)
	switch {
	case n < okPct:
		return "SUCCESS"
	case n < okPct+softPct:
		return "SOFT_DECLINE"
	}
	return "HARD_DECLINE"
}

// saleAttempt charges a new order; a soft decline may be retried minutes
// later on the same order.
func (w *world) saleAttempt(c *customer, o *rec, p *product, t time.Time, attempt int) {
	resp := drawResponse(c.rng, 82, 11)
	if attempt > 0 {
		resp = drawResponse(c.rng, 60, 30)
	}
	x := w.newTxn(c, o, t, "SALE", o.amount, resp)
	x.cycle = 1
	x.recycle = attempt
	if attempt > 0 {
		o.updated = t
	}
	switch resp {
	case "SUCCESS":
		o.status = "COMPLETE"
		pu := &rec{ent: Purchases, cust: c, created: t, prod: p, amount: p.price, status: "ACTIVE", cycle: 1,
			nextBill: dayOf(t, w.loc).add(p.interval), totalBilled: o.amount}
		pu.id = w.strID("purchase")
		pu.purchaseID, pu.orderID, pu.customerID = pu.id, o.id, c.row.id
		x.purchaseID = pu.id
		w.add(x)
		w.add(pu)
		w.scheduleRebill(c, pu)
		w.afterSale(c, x, pu)
	case "SOFT_DECLINE":
		o.status = "DECLINED"
		w.add(x)
		if attempt < 2 && c.rng.IntN(2) == 0 {
			w.schedule(t.Add(secs(c.rng, 60, 600)), func(t time.Time) { w.saleAttempt(c, o, p, t, attempt+1) })
		}
	default:
		o.status = "DECLINED"
		w.add(x)
	}
}

func (w *world) scheduleRebill(c *customer, pu *rec) {
	w.schedule(w.timeOnDay(c.rng, pu.nextBill), func(t time.Time) { w.rebill(c, pu, t) })
}

// afterSale may schedule a refund or a chargeback of a successful sale.
func (w *world) afterSale(c *customer, x, pu *rec) {
	n := c.rng.IntN(100)
	switch {
	case n < 8:
		at := x.created.Add(secs(c.rng, 3600, 20*86400))
		cents := x.amount
		if c.rng.IntN(10) < 3 {
			cents = min(x.amount, 2999)
			if cents == x.amount {
				cents = x.amount / 2
			}
		}
		w.schedule(at, func(t time.Time) { w.refund(x, t, cents) })
	case n < 12:
		w.schedule(x.created.Add(secs(c.rng, 15*86400, 100*86400)), func(t time.Time) { w.chargeback(x, t) })
	}
}

func (w *world) rebill(c *customer, pu *rec, t time.Time) {
	if pu.status != "ACTIVE" {
		return
	}
	if pu.recycle == 0 && c.rng.IntN(100) < 25 {
		pu.status, pu.cancelReason, pu.updated = "CANCELLED", "Customer request", t
		return
	}
	o := w.newOrder(c, t, pu.prod, "RECURRING")
	resp := drawResponse(c.rng, 80, 14)
	x := w.newTxn(c, o, t, "SALE", pu.amount, resp)
	x.purchaseID = pu.id
	x.cycle = pu.cycle + 1
	x.recycle = pu.recycle
	w.add(x)
	pu.updated = t
	switch resp {
	case "SUCCESS":
		o.status = "COMPLETE"
		pu.cycle++
		pu.recycle = 0
		pu.totalBilled += x.amount
		pu.nextBill = pu.nextBill.add(pu.prod.interval)
		w.scheduleRebill(c, pu)
		w.afterSale(c, x, pu)
	case "SOFT_DECLINE":
		o.status = "DECLINED"
		pu.recycle++
		if pu.recycle <= 2 {
			pu.nextBill = dayOf(t, w.loc).add(3)
			w.scheduleRebill(c, pu)
		} else {
			pu.status, pu.cancelReason = "CANCELLED", "Recycle failed"
		}
	default:
		o.status = "DECLINED"
		pu.status, pu.cancelReason = "CANCELLED", "Hard decline"
	}
}

// refund books a REFUND of a successful SALE and restates the sale, its
// order and its purchase.
func (w *world) refund(sale *rec, t time.Time, cents int64) bool {
	if sale.txnType != "SALE" || sale.response != "SUCCESS" || sale.chargedback {
		return false
	}
	cents = min(cents, sale.amount-sale.refunded)
	if cents <= 0 {
		return false
	}
	c := sale.cust
	o := w.byID[Orders][sale.orderID]
	x := w.newTxn(c, o, t, "REFUND", cents, "SUCCESS")
	x.orderType = sale.orderType
	x.parentID = sale.id
	x.purchaseID = sale.purchaseID
	x.cycle = sale.cycle
	w.add(x)
	sale.refunded += cents
	sale.updated = t
	o.refunded += cents
	o.updated = t
	if o.refunded >= o.amount {
		o.status = "REFUNDED"
	} else {
		o.status = "PARTIAL"
	}
	if pu := w.byID[Purchases][sale.purchaseID]; pu != nil {
		pu.refunded += cents
		pu.updated = t
	}
	return true
}

// chargeback restates a successful SALE in place.
func (w *world) chargeback(sale *rec, t time.Time) bool {
	if sale.txnType != "SALE" || sale.response != "SUCCESS" || sale.chargedback || sale.refunded > 0 {
		return false
	}
	sale.chargedback = true
	sale.cbAmount = sale.amount
	sale.cbDay = dayOf(t, w.loc)
	sale.cbCode = cbCodes[int(sale.num)%len(cbCodes)]
	sale.updated = t
	if pu := w.byID[Purchases][sale.purchaseID]; pu != nil && pu.status == "ACTIVE" {
		pu.status, pu.cancelReason, pu.updated = "CANCELLED", "Chargeback", t
	}
	return true
}

// touch restates a row at t: the change suits its endpoint, and
// dateUpdated becomes t whatever happens.
func (w *world) touch(r *rec, t time.Time) {
	switch r.ent {
	case Transactions:
		if w.chargeback(r, t) {
			return
		}
	case Purchases:
		if r.status == "ACTIVE" {
			r.status, r.cancelReason = "CANCELLED", "Customer request"
		}
	case Orders:
		r.shipped = true
	case Customers:
		r.phone = fmt.Sprintf("555%07d", (r.num*7919+t.Unix())%10000000)
	}
	if t.After(r.updated) {
		r.updated = t
	}
}

// insertToday runs a new customer created today between local midnight and
// Now (a drift insert).
func (w *world) insertToday(draw float64) *customer {
	s := dayOf(w.now, w.loc).start(w.loc)
	span := w.now.Sub(s) - 2*time.Minute
	at := s
	if span > 0 {
		at = s.Add(time.Duration(draw * float64(span))).Truncate(time.Second)
	}
	c := w.scheduleArrival(at)
	w.run()
	return c
}
