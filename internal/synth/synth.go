// Package synth generates a realistic subscription merchant: a catalog of
// campaigns, products, merchant accounts and affiliates, and customers in
// several countries with their orders, subscriptions, rebills, declines,
// refunds, chargebacks, notes and details. The project's tests, benchmarks
// and demo use it; the legacy import files (legacy.go) and the fake
// Konnektive API serve the same generated data.
//
// Generation is deterministic: the same Options give byte-identical output.
// It streams customer by customer, so memory does not grow with the number
// of customers. Card and bank numbers are generated at run time (Luhn- and
// ABA-valid, from test BIN ranges); nothing here is a real person.
package synth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

// DefaultAsOf is the reference date used when Options.AsOf is zero.
var DefaultAsOf = crm.Date{Year: 2026, Month: time.June, Day: 30}

// DefaultTimeZone is the account time zone used when Options.TimeZone is nil.
const DefaultTimeZone = "America/New_York"

// Options choose what Generate produces. Equal Options give equal output.
type Options struct {
	// Customers is how many customers to generate (leads included). When
	// both Customers and MaxRows are zero, 1000.
	Customers int
	// MaxRows, when set, stops after the customer whose transactions bring
	// the total to at least MaxRows (leads have none).
	MaxRows int
	// Seed selects the merchant's customers.
	Seed uint64
	// AsOf is "now": nothing happens after the end of this day in TimeZone,
	// and active subscriptions next bill after it. Zero means DefaultAsOf.
	AsOf crm.Date
	// Months of history before AsOf in which customers arrive (default 12).
	Months int
	// TimeZone is the account zone of every wall-clock time (default
	// America/New_York).
	TimeZone *time.Location
}

func (o Options) normalize() (Options, error) {
	if o.Customers < 0 || o.MaxRows < 0 || o.Months < 0 {
		return o, errors.New("synth options: counts must not be negative")
	}
	if o.Customers == 0 && o.MaxRows == 0 {
		o.Customers = 1000
	}
	if o.AsOf.IsZero() {
		o.AsOf = DefaultAsOf
	}
	if o.Months == 0 {
		o.Months = 12
	}
	if o.Months > 120 {
		return o, errors.New("synth options: at most 120 months of history")
	}
	if o.TimeZone == nil {
		loc, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			return o, fmt.Errorf("load time zone %s: %w", DefaultTimeZone, err)
		}
		o.TimeZone = loc
	}
	return o, nil
}

// Customer is everything about one generated customer. Transactions are in
// chronological order; their parents come before them. The crm values carry
// Source api and API identifiers (integer transaction IDs, string order and
// purchase IDs); the legacy renderers use merchantTxnIds instead.
type Customer struct {
	crm.Customer
	// Index is the customer's position in the stream, from 0.
	Index    int
	Billing  Address
	Shipping Address // equal to Billing when ShipSame
	ShipSame bool

	HomePhone, CellPhone, WorkPhone string

	Payment  Payment
	AffID    string
	SubAffID string

	// Lead customers abandoned checkout: one PARTIAL order, no
	// transactions, and so no rows in the legacy files.
	Lead bool

	Orders       []Order
	Transactions []Transaction
	Purchases    []crm.Purchase
	Notes        []Note
	Details      *Details // nil: no additional details
}

// Order is an order with its shipment.
type Order struct {
	crm.Order
	Shipment Shipment // zero when not shipped
}

// Shipment is an order's fulfilment.
type Shipment struct {
	Date           crm.Date
	Carrier        string
	Method         string
	TrackingNumber string
}

// Transaction is a crm.Transaction with the facts the legacy files and the
// API need beyond it.
type Transaction struct {
	crm.Transaction
	// ParentMerchantTxnID is the parent's merchantTxnId (legacy parentTxnId).
	ParentMerchantTxnID string
	// ResponseText is the processor's text ("Approved", "Do Not Honor").
	ResponseText    string
	AuthCode        string
	Quantity        int
	VariantDetailID int // 0: none
	// RecycleNumber counts retries of a declined rebill (0: first attempt).
	RecycleNumber int
	at            time.Time
}

// Note is a customer service note.
type Note struct {
	Created crm.WallTime
	Agent   string // "" for system notes
	Text    string
}

// Details are the additional customer details of the legacy details file.
type Details struct {
	LoginID  string
	Password string
	Custom   [5]string
}

// String masks the password.
func (d Details) String() string {
	return "login " + d.LoginID + " password " + legacy.Mask(d.Password)
}

// GoString masks the password too.
func (d Details) GoString() string { return "synth.Details{" + d.String() + "}" }

// Generate calls fn with each customer in turn. fn must not keep the
// Customer after it returns if memory matters; it may keep it otherwise.
// Generation stops at the first error from fn or when ctx is done.
func Generate(ctx context.Context, opts Options, fn func(*Customer) error) error {
	o, err := opts.normalize()
	if err != nil {
		return err
	}
	g := newGen(o)
	rows := 0
	for i := 0; o.Customers == 0 || i < o.Customers; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := g.customer(i)
		if err := fn(c); err != nil {
			return err
		}
		rows += len(c.Transactions)
		if o.MaxRows > 0 && rows >= o.MaxRows {
			break
		}
	}
	return nil
}

type gen struct {
	o     Options
	loc   *time.Location
	start time.Time // first day of history, midnight
	end   time.Time // midnight starting the day after AsOf: nothing at or after it
	days  int
	// lastUse is the latest date a card must still be valid on.
	lastUse crm.Date

	orderSeq, purchaseSeq, txnSeq, mtxSeq uint64
}

func newGen(o Options) *gen {
	g := &gen{o: o, loc: o.TimeZone}
	g.end = dayStart(addDays(o.AsOf, 1), g.loc)
	first := crm.DateOf(time.Date(o.AsOf.Year, o.AsOf.Month-time.Month(o.Months), o.AsOf.Day+1, 0, 0, 0, 0, time.UTC))
	g.start = dayStart(first, g.loc)
	g.days = daysBetween(first, o.AsOf) + 1
	g.lastUse = addDays(o.AsOf, 90)
	return g
}

func addDays(d crm.Date, n int) crm.Date {
	return crm.DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

func daysBetween(a, b crm.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 0, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta) / (24 * time.Hour))
}

// dayStart is the first instant of the date in loc.
func dayStart(d crm.Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// wall is the account wall-clock time of an instant, placed back on the time
// line the way every reader does (crm.ParseWall), so a time in the repeated
// hour of a fall-back night reads as its earlier instant, as metrics.md says.
func (g *gen) wall(t time.Time) crm.WallTime {
	l := t.In(g.loc)
	naive := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	utc, adj := crm.Place(naive, g.loc)
	return crm.WallTime{Raw: l.Format(crm.WallLayout), UTC: utc, Adjust: adj}
}

func (g *gen) date(t time.Time) crm.Date { return crm.DateOf(t.In(g.loc)) }

// permute maps x in [0, half*half) one-to-one onto the same range with a
// four-round Feistel network keyed by key, so identifiers drawn from a
// sequence look random yet never repeat.
func permute(x, half, key uint64) uint64 {
	l, r := x/half, x%half
	for round := range uint64(4) {
		l, r = r, (l+mix(r^(key+round*0x9E3779B97F4A7C15))%half)%half
	}
	return l*half + r
}

// mix is SplitMix64's finalizer.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func fixed(x uint64, base, width int) string {
	s := strconv.FormatUint(x, base)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

const (
	pow36_5 = 36 * 36 * 36 * 36 * 36
	pow36_4 = 36 * 36 * 36 * 36
)

func (g *gen) nextOrderID() string {
	g.orderSeq++
	return toUpper(fixed(permute(g.orderSeq, pow36_5, 0x0D3E), 36, 10))
}

func (g *gen) nextPurchaseID() string {
	g.purchaseSeq++
	return toUpper(fixed(permute(g.purchaseSeq, pow36_5, 0x9C4A5E), 36, 10))
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const base32 = "0123456789abcdefghjkmnpqrstvwxyz"

func encode(x uint64, charset string, width int) string {
	b := make([]byte, width)
	n := uint64(len(charset))
	for i := width - 1; i >= 0; i-- {
		b[i] = charset[x%n]
		x /= n
	}
	return string(b)
}

// merchantTxnID is unique across the whole run: the unique sequence number
// is encoded one-to-one, and the formats differ in shape.
func (g *gen) merchantTxnID(r *rand.Rand, f txnFormat) string {
	g.mtxSeq++
	s := g.mtxSeq
	switch f {
	case fmtNumeric10:
		return fixed(permute(s, 100_000, 10), 10, 10)
	case fmtNumeric11:
		return "6" + fixed(permute(s, 100_000, 11), 10, 10)
	case fmtStripe:
		return "ch_3" + encode(mix(s), base62, 11) + randString(r, base62, 12)
	case fmtCheckout:
		return "pay_" + encode(mix(s^0xC0FFEE), base32, 13) + randString(r, base32, 13)
	case fmtBraintree:
		return fixed(permute(s, pow36_4, 8), 36, 8)
	case fmtACH:
		return "ACH" + toUpper(fixed(permute(s, 1<<24, 48), 16, 12))
	default:
		return "PP" + fixed(permute(s, 100_000, 12), 10, 10)
	}
}

// builder holds one customer under construction.
type builder struct {
	g      *gen
	r      *rand.Rand
	c      *Customer
	mid    *Merchant
	taxBPS int64
	brand  *cardBrand
}

var agents = []string{"Maria G.", "Tom B.", "Priya S.", "Kevin O'Neil", "Lena W.", "Ahmed R."}

func (g *gen) customer(idx int) *Customer {
	r := rand.New(rand.NewPCG(g.o.Seed, uint64(idx)*0x9E3779B97F4A7C15+0x5851F42D4C957F2D))
	cn := pickCountry(r)
	bill, pl := cn.address(r)
	c := &Customer{Index: idx, Billing: bill, Shipping: bill, ShipSame: true}
	first, last := pick(r, cn.first), pick(r, cn.last)
	c.Source = crm.SourceAPI
	c.ID = strconv.Itoa(100001 + idx)
	c.FirstName, c.LastName = first, last
	// Each person is one person: their email address and phone numbers
	// are theirs alone (the double-billing rule reads two customers sharing
	// one as the same person). The address ends in the customer's number;
	// names hold no digits, so no two customers' addresses can meet.
	local := emailLocal(first, last)
	if r.IntN(2) == 0 {
		r.IntN(99) // kept: the draws after this one stay as they were
	}
	c.Email = local + strconv.Itoa(idx+1) + "@" + pick(r, emailDomains)
	c.Phone = cn.phone(r, pl, phoneSlot(idx, 0))
	c.Country, c.State, c.PostalCode = bill.Country, bill.State, bill.PostalCode
	switch n := r.IntN(10); {
	case n < 2:
		c.HomePhone = c.Phone
	case n < 4:
		c.CellPhone = c.Phone
		if r.IntN(3) == 0 {
			c.WorkPhone = cn.phone(r, pl, phoneSlot(idx, 1))
		}
	}
	if r.IntN(8) == 0 {
		c.Shipping, _ = cn.address(r)
		c.ShipSame = false
	}
	if r.IntN(100) < 65 {
		a := pickAffiliate(r)
		c.AffID, c.SubAffID = a.ID, pick(r, a.SubAffs)
	}

	camp := pickCampaign(r)
	c.Payment = newPayment(r, cn.code, camp.Straight, g.lastUse)
	b := &builder{g: g, r: r, c: c, taxBPS: pl.taxBPS}
	if c.Payment.Source == legacy.ValueCreditCard {
		b.brand = brandByName(c.Payment.CardType)
	}
	b.mid = pickMerchant(r, c.Payment.Source, cn.code)

	t0 := g.arrival(r)
	c.Created = g.wall(t0)
	if r.IntN(100) < 4 {
		c.Lead = true
		o := b.newOrder(t0, "NEW_SALE", camp.ID)
		o.Status = "PARTIAL"
		c.Updated = c.Created
		return c
	}
	b.run(camp, t0)
	slices.SortStableFunc(c.Transactions, func(a, b Transaction) int { return a.at.Compare(b.at) })
	ids := make(map[string]string, len(c.Transactions))
	for i := range c.Transactions {
		t := &c.Transactions[i]
		g.txnSeq++
		t.ID = strconv.FormatUint(500000+g.txnSeq, 10)
		ids[t.MerchantTxnID] = t.ID
		if t.ParentMerchantTxnID != "" {
			t.ParentID = ids[t.ParentMerchantTxnID]
		}
	}
	slices.SortStableFunc(c.Notes, func(a, b Note) int { return a.Created.UTC.Compare(b.Created.UTC) })
	c.Updated = c.Created
	for i := range c.Transactions {
		if u := c.Transactions[i].Updated; u.UTC.After(c.Updated.UTC) {
			c.Updated = u
		}
	}
	if r.IntN(100) < 55 {
		c.Details = b.details()
	}
	return c
}

// arrival draws when a customer first arrives: more customers recently (a
// growing merchant), mostly in the daytime.
func (g *gen) arrival(r *rand.Rand) time.Time {
	f := r.Float64()
	f = 1 - f*f // density grows towards AsOf
	day := min(int(f*float64(g.days)), g.days-1)
	d := addDays(g.o.AsOf, -(g.days - 1 - day))
	hour := pick(r, arrivalHours)
	t := dayStart(d, g.loc).Add(time.Duration(hour)*time.Hour + time.Duration(r.IntN(3600))*time.Second)
	if !t.Before(g.end) {
		t = g.end.Add(-time.Duration(1+r.IntN(3600)) * time.Second)
	}
	return t
}

// arrivalHours weights hours of the day: busy evenings, some night owls (the
// small hours also exercise DST transitions).
var arrivalHours = []int{0, 1, 1, 2, 3, 7, 8, 9, 10, 10, 11, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 20, 21, 21, 22, 23}

func pickAffiliate(r *rand.Rand) *Affiliate {
	total := 0
	for i := range catalog.Affiliates {
		total += catalog.Affiliates[i].Weight
	}
	n := r.IntN(total)
	for i := range catalog.Affiliates {
		if n < catalog.Affiliates[i].Weight {
			return &catalog.Affiliates[i]
		}
		n -= catalog.Affiliates[i].Weight
	}
	return &catalog.Affiliates[0]
}

func pickCampaign(r *rand.Rand) *Campaign {
	total := 0
	for i := range catalog.Campaigns {
		total += catalog.Campaigns[i].Weight
	}
	n := r.IntN(total)
	for i := range catalog.Campaigns {
		if n < catalog.Campaigns[i].Weight {
			return &catalog.Campaigns[i]
		}
		n -= catalog.Campaigns[i].Weight
	}
	return &catalog.Campaigns[0]
}

func pickMerchant(r *rand.Rand, source, cc string) *Merchant {
	var fit []*Merchant
	for i := range catalog.Merchants {
		m := &catalog.Merchants[i]
		if m.PaySource != source {
			continue
		}
		if len(m.Countries) == 0 || slices.Contains(m.Countries, cc) {
			fit = append(fit, m)
		}
	}
	return pick(r, fit)
}

func (b *builder) newOrder(at time.Time, typ string, campaignID int) *Order {
	c := b.c
	o := Order{}
	o.Source = crm.SourceAPI
	o.ID = b.g.nextOrderID()
	o.CustomerID = c.ID
	o.CampaignID = strconv.Itoa(campaignID)
	o.Type = typ
	o.AffID, o.SubAffID = c.AffID, c.SubAffID
	o.Country = c.Billing.Country
	o.Created = b.g.wall(at)
	o.Updated = o.Created
	c.Orders = append(c.Orders, o)
	return &c.Orders[len(c.Orders)-1]
}

// order returns the order with the ID (orders move when the slice grows, so
// the builder refers to them by ID).
func (c *Customer) order(id string) *Order {
	for i := range c.Orders {
		if c.Orders[i].ID == id {
			return &c.Orders[i]
		}
	}
	return nil
}

func (c *Customer) purchase(id string) *crm.Purchase {
	for i := range c.Purchases {
		if c.Purchases[i].ID == id {
			return &c.Purchases[i]
		}
	}
	return nil
}

// line is what one billing attempt charges for.
type line struct {
	orderID    string
	purchaseID string
	product    *Product
	cycle      int
	sub, ship  crm.Money
	qty        int
	variant    int
}

func (b *builder) tax(sub crm.Money) crm.Money {
	return crm.Money((int64(sub)*b.taxBPS + 5000) / 10000)
}

var (
	softDeclines = []string{"Insufficient Funds", "Do Not Honor", "Declined - Call Issuer", "Exceeds Withdrawal Limit", "Issuer Unavailable"}
	hardDeclines = []string{"Pick Up Card", "Stolen Card", "Account Closed", "Invalid Card Number", "Restricted Card"}
	achDeclines  = []string{"R01 Insufficient Funds", "R02 Account Closed", "R03 No Account"}
)

// txn appends a transaction of the line.
func (b *builder) txn(l *line, typ string, at time.Time) *Transaction {
	c := b.c
	t := Transaction{at: at, Quantity: l.qty, VariantDetailID: l.variant}
	t.Source = crm.SourceAPI
	t.MerchantTxnID = b.g.merchantTxnID(b.r, b.mid.txnFormat)
	t.CustomerID = c.ID
	t.OrderID = l.orderID
	t.PurchaseID = l.purchaseID
	t.CampaignID = strconv.Itoa(l.product.CampaignID)
	t.ProductID = strconv.Itoa(l.product.ID)
	t.MerchantID = strconv.Itoa(b.mid.ID)
	t.AffID, t.SubAffID = c.AffID, c.SubAffID
	t.Country = c.Billing.Country
	t.TxnType = typ
	t.PaySource = c.Payment.Source
	t.CardType = c.Payment.CardType
	t.CardLast4 = c.Payment.Last4()
	t.SubTotal, t.ShipTotal = l.sub, l.ship
	t.SalesTax = b.tax(l.sub)
	t.Amount = t.SubTotal + t.ShipTotal + t.SalesTax
	t.BillingCycle = l.cycle
	t.Created = b.g.wall(at)
	t.Updated = t.Created
	c.Transactions = append(c.Transactions, t)
	o := c.order(l.orderID)
	if t.Updated.UTC.After(o.Updated.UTC) {
		o.Updated = t.Updated
	}
	return &c.Transactions[len(c.Transactions)-1]
}

func (b *builder) approve(t *Transaction) {
	t.ResponseType = crm.RespSuccess
	t.ResponseText = "Approved"
	t.AuthCode = randString(b.r, "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", 6)
}

func (b *builder) decline(t *Transaction, hard bool) {
	t.ResponseType = crm.RespSoftDecline
	texts := softDeclines
	if hard {
		t.ResponseType = crm.RespHardDecline
		texts = hardDeclines
	}
	if b.c.Payment.Source == legacy.ValueCheck {
		texts = achDeclines
	}
	t.ResponseText = pick(b.r, texts)
}

// charge runs one billing attempt with approval probability pct: a SALE, or
// on an auth-capture MID an AUTHORIZE and, when it ships before AsOf, its
// CAPTURE. It returns whether the attempt was approved, whether a decline
// was hard, and the transaction that counts as the sale (nil when declined
// or not captured yet).
func (b *builder) charge(l *line, at time.Time, pct int) (ok, hard bool, sale *Transaction) {
	typ := crm.TxnSale
	if b.mid.AuthCapture {
		typ = crm.TxnAuthorize
	}
	t := b.txn(l, typ, at)
	if b.c.Payment.Source != legacy.ValuePrepaid && b.r.IntN(100) >= pct {
		hard = b.r.IntN(4) == 0
		b.decline(t, hard)
		o := b.c.order(l.orderID)
		if o.Status == "" {
			o.Status = "DECLINED"
		}
		return false, hard, nil
	}
	b.approve(t)
	o := b.c.order(l.orderID)
	o.Status = "COMPLETE"
	shipAt := at.Add(time.Duration(2+b.r.IntN(70)) * time.Hour)
	if typ == crm.TxnAuthorize {
		auth := *t
		if !shipAt.Before(b.g.end) {
			return true, false, nil // authorized, not captured yet
		}
		capt := b.txn(l, crm.TxnCapture, shipAt)
		capt.ParentMerchantTxnID = auth.MerchantTxnID
		b.approve(capt)
		capt.AuthCode = auth.AuthCode
		sale = capt
	} else {
		sale = t
	}
	o = b.c.order(l.orderID)
	o.Total += sale.Amount
	if shipAt.Before(b.g.end) {
		o.Shipment = b.shipment(shipAt)
	}
	return true, false, sale
}

func (b *builder) shipment(at time.Time) Shipment {
	cn := countryByCode(b.c.Shipping.Country)
	car := pick(b.r, cn.ship)
	return Shipment{Date: b.g.date(at), Carrier: car.name, Method: pick(b.r, car.methods), TrackingNumber: pattern(b.r, car.tracking)}
}

func countryByCode(cc string) *country {
	for _, c := range countries {
		if c.code == cc {
			return c
		}
	}
	return countries[0]
}

func (b *builder) note(at time.Time, agent bool, text string) {
	if !at.Before(b.g.end) {
		return
	}
	n := Note{Created: b.g.wall(at), Text: text}
	if agent {
		n.Agent = pick(b.r, agents)
	}
	b.c.Notes = append(b.c.Notes, n)
}

// run simulates the customer's life from the first checkout at t0.
func (b *builder) run(camp *Campaign, t0 time.Time) {
	r, c := b.r, b.c
	var main, upsell *Product
	var mains []*Product
	for i := range camp.Products {
		p := &camp.Products[i]
		if p.Upsell {
			upsell = p
		} else {
			mains = append(mains, p)
		}
	}
	main = mains[0]
	if len(mains) > 1 && r.IntN(10) < 3 {
		main = mains[1]
	}
	if r.IntN(10) < 3 {
		b.note(t0.Add(time.Duration(r.IntN(60))*time.Second), false, "Order placed via "+trafficSource(c))
	}

	o := b.newOrder(t0, "NEW_SALE", camp.ID)
	l := &line{orderID: o.ID, product: main, cycle: 1, sub: main.InitialPrice, ship: main.InitialShip, qty: 1}
	if camp.Straight && r.IntN(100) < 15 {
		l.qty = 2 + r.IntN(2)
		l.sub = main.InitialPrice * crm.Money(l.qty)
	}
	if len(main.Variants) > 0 {
		l.variant = pick(r, main.Variants)
	}
	var purchase *crm.Purchase
	if main.Recurring() {
		purchase = b.newPurchase(o, main, t0)
		l.purchaseID = purchase.ID
	}
	ok, _, sale := b.charge(l, t0, 86)
	at := t0
	if !ok && r.IntN(100) < 45 { // the customer tries again a few minutes later
		at = t0.Add(time.Duration(60+r.IntN(600)) * time.Second)
		if at.Before(b.g.end) {
			ok, _, sale = b.charge(l, at, 70)
		}
	}
	if !ok {
		if purchase != nil { // no subscription comes of a declined checkout
			c.Purchases = c.Purchases[:len(c.Purchases)-1]
			for i := range c.Transactions {
				c.Transactions[i].PurchaseID = ""
			}
		}
		if r.IntN(4) == 0 {
			b.note(at.Add(5*time.Minute), false, "Checkout declined: "+c.Transactions[len(c.Transactions)-1].ResponseText)
		}
		return
	}
	var cancelAt time.Time
	if sale != nil {
		cancelAt = b.afterSale(sale)
	}
	if upsell != nil && r.IntN(100) < 30 {
		ut := at.Add(time.Duration(60+r.IntN(240)) * time.Second)
		if ut.Before(b.g.end) {
			uo := b.newOrder(ut, "UPSALE", camp.ID)
			ul := &line{orderID: uo.ID, product: upsell, cycle: 1, sub: upsell.InitialPrice, ship: upsell.InitialShip, qty: 1}
			if _, _, us := b.charge(ul, ut, 92); us != nil {
				b.afterSale(us)
			}
		}
	}
	if purchase != nil {
		b.rebills(camp, purchase.ID, main, at, cancelAt)
	}
}

func trafficSource(c *Customer) string {
	if c.AffID == "" {
		return "direct traffic"
	}
	if c.SubAffID == "" {
		return "affiliate " + c.AffID
	}
	return "affiliate " + c.AffID + ", sub-affiliate " + c.SubAffID
}

func (b *builder) newPurchase(o *Order, p *Product, at time.Time) *crm.Purchase {
	pu := crm.Purchase{
		Source:       crm.SourceAPI,
		ID:           b.g.nextPurchaseID(),
		OrderID:      o.ID,
		CustomerID:   b.c.ID,
		CampaignID:   strconv.Itoa(p.CampaignID),
		ProductID:    strconv.Itoa(p.ID),
		MerchantID:   strconv.Itoa(b.mid.ID),
		Status:       "ACTIVE",
		BillingCycle: 1,
		Price:        p.RebillPrice,
		Created:      b.g.wall(at),
	}
	pu.Updated = pu.Created
	b.c.Purchases = append(b.c.Purchases, pu)
	return &b.c.Purchases[len(b.c.Purchases)-1]
}

// batchTime is when the nightly rebill batch reaches a customer on day d:
// 00:30 to 04:00 of real time after local midnight, so on DST nights some
// rebills land in the repeated hour and around the skipped one.
func (b *builder) batchTime(d crm.Date) time.Time {
	return dayStart(d, b.g.loc).Add(30*time.Minute + time.Duration(b.r.IntN(210*60))*time.Second)
}

// rebills bills cycles 2, 3, ... of a subscription until it is cancelled or
// the next bill date is after AsOf.
func (b *builder) rebills(camp *Campaign, purchaseID string, p *Product, first time.Time, cancelAt time.Time) {
	r, g := b.r, b.g
	due := addDays(g.date(first), p.TrialDays)
	last := first
	cycle := 2
	cancel := func(at time.Time, why string) {
		pu := b.c.purchase(purchaseID)
		pu.Status = "CANCELLED"
		pu.Updated = g.wall(at)
		pu.NextBillDate = crm.Date{}
		if why != "" {
			b.note(at, why[0] == '!', why[1:])
		}
	}
	for {
		at := b.batchTime(due)
		if !at.Before(g.end) {
			break
		}
		if !cancelAt.IsZero() && !at.Before(cancelAt) {
			cancel(cancelAt, "")
			return
		}
		quit := 8
		if cycle == 2 {
			quit = 18
		}
		if r.IntN(100) < quit {
			span := at.Sub(last)
			when := last.Add(time.Duration(r.Int64N(int64(span))))
			when = dayStart(g.date(when), g.loc).Add(time.Duration(9*3600+r.IntN(9*3600)) * time.Second)
			if !when.After(last) || !when.Before(at) {
				when = last.Add(span / 2)
			}
			cancel(when, "!"+pick(r, cancelNotes))
			return
		}
		o := b.newOrder(at, "RECURRING", camp.ID)
		l := &line{orderID: o.ID, purchaseID: purchaseID, product: p, cycle: cycle, sub: p.RebillPrice, ship: p.RebillShip, qty: 1}
		if len(p.Variants) > 0 {
			l.variant = pick(r, p.Variants)
		}
		pct := 80
		if cycle > 2 {
			pct = 88
		}
		if b.c.Payment.Source == legacy.ValueCheck {
			pct = 93
		}
		ok, hard, sale := b.charge(l, at, pct)
		for recycle := 1; !ok && !hard && recycle <= 2; recycle++ {
			due = addDays(due, 3+r.IntN(2))
			at = b.batchTime(due)
			if !at.Before(g.end) {
				b.c.purchase(purchaseID).NextBillDate = due
				return
			}
			ok, hard, sale = b.charge(l, at, 35)
			b.c.Transactions[len(b.c.Transactions)-1].RecycleNumber = recycle
			if sale != nil && sale.TxnType == crm.TxnCapture {
				b.c.Transactions[len(b.c.Transactions)-2].RecycleNumber = recycle
			}
		}
		if !ok {
			why := "Subscription cancelled after the rebill was declined: " + b.c.Transactions[len(b.c.Transactions)-1].ResponseText
			cancel(at.Add(time.Duration(1+r.IntN(30))*time.Minute), "-"+why)
			return
		}
		pu := b.c.purchase(purchaseID)
		pu.BillingCycle = cycle
		pu.Updated = g.wall(at)
		if sale != nil {
			if t := b.afterSale(sale); !t.IsZero() && (cancelAt.IsZero() || t.Before(cancelAt)) {
				cancelAt = t
			}
		}
		last = at
		due = addDays(g.date(at), p.IntervalDays)
		cycle++
	}
	if !cancelAt.IsZero() && cancelAt.Before(g.end) {
		cancel(cancelAt, "")
		return
	}
	b.c.purchase(purchaseID).NextBillDate = due
}

var cancelNotes = []string{
	`Customer called to cancel, said "too much product". Offered 20% off; declined.`,
	"Cancelled by customer via email. Confirmation sent.",
	"Customer cancelled online; reason: moving abroad",
	"Call summary:\nCustomer wants to cancel\nRetention offer refused\nSubscription cancelled",
	"Cancelled at customer's request (price).",
}

var refundNotes = []string{
	"Refund issued: package arrived damaged",
	"Refund issued, customer said \"product did not work for me\"",
	"Courtesy refund after shipping delay",
	"Refund per 30-day guarantee",
}

// afterSale decides what happens to a sale later: refunds (full or partial)
// or a chargeback weeks later. It returns when that ends the subscription,
// or the zero time.
func (b *builder) afterSale(s *Transaction) time.Time {
	r, g, c := b.r, b.g, b.c
	saleAt, saleID := s.at, s.MerchantTxnID
	// s points into c.Transactions, which the refunds below may grow: copy
	// what they need first.
	parent := *s
	switch n := r.IntN(1000); {
	case n < 55: // refund
		at := saleAt.Add(time.Duration(24+r.IntN(24*24))*time.Hour + time.Duration(r.IntN(3600))*time.Second)
		if !at.Before(g.end) {
			return time.Time{}
		}
		l := &line{orderID: parent.OrderID, purchaseID: parent.PurchaseID, cycle: parent.BillingCycle, qty: parent.Quantity, variant: parent.VariantDetailID}
		l.product, _ = catalog.Product(atoi(parent.ProductID))
		full := r.IntN(100) < 65 || parent.Amount < 200
		rf := b.txn(l, crm.TxnRefund, at)
		rf.ParentMerchantTxnID = saleID
		b.approve(rf)
		if full {
			rf.SubTotal, rf.ShipTotal, rf.SalesTax, rf.Amount = parent.SubTotal, parent.ShipTotal, parent.SalesTax, parent.Amount
		} else {
			amt := parent.Amount * crm.Money(10+r.IntN(51)) / 100
			rf.SubTotal, rf.ShipTotal, rf.SalesTax, rf.Amount = amt, 0, 0, amt
			if left := parent.Amount - amt; left > 0 && r.IntN(100) < 25 {
				at2 := at.Add(time.Duration(24+r.IntN(96)) * time.Hour)
				if at2.Before(g.end) {
					amt2 := left * crm.Money(20+r.IntN(81)) / 100
					if amt2 > 0 {
						rf2 := b.txn(l, crm.TxnRefund, at2)
						rf2.ParentMerchantTxnID = saleID
						b.approve(rf2)
						rf2.SubTotal, rf2.ShipTotal, rf2.SalesTax, rf2.Amount = amt2, 0, 0, amt2
					}
				}
			}
		}
		b.note(at.Add(time.Duration(r.IntN(600))*time.Second), true, pick(r, refundNotes))
		if full {
			c.order(parent.OrderID).Status = "REFUNDED"
			return at
		}
	case n < 72 && c.Payment.Source == legacy.ValueCreditCard: // chargeback
		day := addDays(g.date(saleAt), 20+r.IntN(56))
		if g.o.AsOf.Before(day) {
			return time.Time{}
		}
		at := dayStart(day, g.loc).Add(time.Duration(8*3600+r.IntN(10*3600)) * time.Second)
		amt := parent.Amount
		if r.IntN(100) < 15 {
			amt = parent.Amount * crm.Money(50+r.IntN(46)) / 100
		}
		s.Chargedback = true
		s.ChargebackAmt = amt
		s.ChargebackDay = day
		s.ChargebackWhy = pick(r, b.brand.reasons)
		s.Updated = g.wall(at)
		if o := c.order(parent.OrderID); s.Updated.UTC.After(o.Updated.UTC) {
			o.Updated = s.Updated
		}
		b.note(at.Add(time.Duration(r.IntN(3600))*time.Second), false,
			"Chargeback received, reason code "+s.ChargebackWhy+", amount "+amt.String())
		return at
	}
	return time.Time{}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var (
	customLabels = []string{"Skin type: Dry", "Skin type: Oily", "Skin type: Combination", "Roast: Medium", "Roast: Dark", "Goal: Energy", "Goal: Weight loss"}
	customRefs   = []string{"Referral: Podcast", "Referral: Friend", "Referral: Instagram", "Referral: Search", ""}
	customUTM    = []string{"utm_campaign=spring_sale", "utm_campaign=bf2025", "utm_medium=cpc", "utm_source=newsletter", ""}
)

const passwordChars = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%&*?"

func (b *builder) details() *Details {
	r, c := b.r, b.c
	d := &Details{}
	if r.IntN(2) == 0 {
		d.LoginID = c.Email
		if len(d.LoginID) > 30 {
			d.LoginID = d.LoginID[:30]
		}
	} else {
		d.LoginID = emailLocal(c.FirstName, c.LastName)
		if len(d.LoginID) > 24 {
			d.LoginID = d.LoginID[:24]
		}
		d.LoginID += strconv.Itoa(100 + r.IntN(900))
	}
	// Passwords start with a letter: never a formula-looking cell.
	d.Password = randString(r, alnum[:52], 1) + randString(r, passwordChars, 9+r.IntN(8))
	d.Custom[0] = pick(r, customLabels)
	d.Custom[1] = pick(r, customRefs)
	d.Custom[2] = "Birth year " + strconv.Itoa(1950+r.IntN(55))
	d.Custom[3] = pick(r, customUTM)
	if r.IntN(10) == 0 {
		d.Custom[4] = "VIP"
	}
	return d
}
