package adversary

import (
	"time"
)

// Entity is a query endpoint, named as its path starts.
type Entity string

// The query endpoints.
const (
	Customers    Entity = "customer"
	Orders       Entity = "order"
	Purchases    Entity = "purchase"
	Transactions Entity = "transactions"
)

// Entities lists the query endpoints.
var Entities = []Entity{Customers, Orders, Purchases, Transactions}

// Path is the endpoint's URL path, e.g. "/order/query/".
func (e Entity) Path() string {
	if e == Summary {
		return "/transactions/summary/"
	}
	return "/" + string(e) + "/query/"
}

// noun is the word of the "No ... matching" message.
func (e Entity) noun() string {
	switch e {
	case Customers:
		return "customers"
	case Orders:
		return "orders"
	case Purchases:
		return "purchases"
	case Transactions:
		return "transactions"
	}
	return "records"
}

// IDKey is the row field that identifies a row.
func (e Entity) IDKey() string {
	switch e {
	case Customers:
		return "customerId"
	case Orders:
		return "orderId"
	case Purchases:
		return "purchaseId"
	case Transactions:
		return "transactionId"
	}
	return ""
}

// Kind is one adversarial behaviour of one request.
type Kind string

// Transport faults: the request gets no usable answer (Slow gets one, late).
const (
	FaultHTML502   Kind = "html-502"  // HTTP 502 with an HTML page
	Fault429       Kind = "429"       // HTTP 429 with Retry-After (Config.RetryAfter)
	FaultTransient Kind = "transient" // {"result":"ERROR","message":"Temporary error, please retry"}
	FaultCut       Kind = "cut"       // Content-Length announced, connection closed mid-body
	FaultCutEOF    Kind = "cut-eof"   // no Content-Length, connection closed mid-body: a clean EOF on half a JSON body
	FaultSlow      Kind = "slow"      // the right answer after Config.SlowDelay
)

// TransportFaults are the transport fault kinds.
var TransportFaults = []Kind{FaultHTML502, Fault429, FaultTransient, FaultCut, FaultCutEOF, FaultSlow}

// Drift: the data changes just before the request is answered (so between
// two pages of one walk). Only drawn for page >= 2 unless scheduled.
const (
	// DriftBump restates a row the walk has already been served (it sits
	// before this page in the current order): a SALE is charged back, a
	// purchase cancelled, an order or customer touched; its dateUpdated
	// becomes Now. In a past dateUpdated window it leaves the window; in one
	// holding today it moves to the end. Later rows shift up a place.
	DriftBump Kind = "drift-bump"
	// DriftBumpIn restates a row of the same endpoint outside the window
	// (dateUpdated becomes Now): it joins a window that holds today.
	DriftBumpIn Kind = "drift-bump-in"
	// DriftInsert runs a new customer (customer, order, SALE, purchase) whose
	// rows are created today at a time between local midnight and Now, so
	// they land among today's rows, not only at the end.
	DriftInsert Kind = "drift-insert"
)

// DriftKinds are the drift kinds.
var DriftKinds = []Kind{DriftBump, DriftBumpIn, DriftInsert}

// Page quirks: the answer carries data but lies about it or is wrapped
// oddly.
const (
	// QuirkDuplicate serves the last row of the previous page again at the
	// start of this one (the page then holds up to resultsPerPage+1 rows;
	// nothing is lost). Only drawn for page >= 2.
	QuirkDuplicate Kind = "duplicate"
	// QuirkCountOver overstates totalResults (by more than a page).
	QuirkCountOver Kind = "count-over"
	// QuirkCountUnder sends totalResults 1.
	QuirkCountUnder Kind = "count-under"
	// QuirkCountJitter sends the count off by -2..+3 (never 0 off), so it
	// changes between pages.
	QuirkCountJitter Kind = "count-jitter"
	// QuirkStringTotal sends totalResults as a string, "123".
	QuirkStringTotal Kind = "string-total"
	// QuirkBOM puts a UTF-8 byte order mark before the JSON body.
	QuirkBOM Kind = "bom"
)

// CountLies are the totalResults lies.
var CountLies = []Kind{QuirkCountOver, QuirkCountUnder, QuirkCountJitter}

// Bad-row reasons: how a row is malformed. A bad row keeps its reason for
// life, also when it is restated.
const (
	BadDateISO        = "date-iso-t"            // dateCreated "2026-11-30T10:00:00"
	BadDateUS         = "date-us"               // dateCreated "11/30/2026 10:00:00"
	BadDateTimeOnly   = "date-time-only"        // dateCreated "10:00"
	BadNoDateCreated  = "no-date-created"       // no dateCreated key
	BadAmountComma    = "amount-comma"          // totalAmount "1,049.95" (rows of 1000.00 or more)
	BadAmountMills    = "amount-three-decimals" // totalAmount "10.005" (Row.Cents keeps 1000)
	BadNegativeRefund = "refund-negative"       // a REFUND's totalAmount "-29.99" (Row.Cents keeps 2999)
)

// Config configures a Server. The zero value is a clean server with a
// default dataset.
type Config struct {
	Seed     uint64
	LoginID  string         // DefaultLoginID when empty
	Password string         // DefaultPassword when empty
	Location *time.Location // the account zone; America/New_York when nil

	// The dataset.
	Start          time.Time // first day with data; 2019-01-01 when zero
	Now            time.Time // the virtual clock; 2026-06-15 15:00 in Location when zero
	Customers      int       // customers arriving up to Now (and later on busy days); 1000 when 0, none when negative
	Bursts         int       // stretches of activity between Start and Now; 8 when 0
	BusyDates      []string  // YYYY-MM-DD days with many arrivals; two days picked in the bursts when nil
	BusyShare      float64   // share of Customers arriving on busy days; 0.5 when 0
	ArrivalsPerDay float64   // new customers per virtual day during Advance; 20 when 0, none when negative
	EdgeTimeRate   float64   // share of arrivals and rebills at exactly 00:00:00 or 23:59:59; 0.05 when 0, none when negative
	BadRowRate     float64   // share of rows created malformed (see the Bad* reasons)

	// Protocol.
	MaxRangeDays int  // refuse longer date ranges with "Date range cannot exceed N days"; 0: no limit
	PastEndData  bool // a page past the end answers SUCCESS with no data instead of "No ... matching"

	// Refusals, for every request.
	DenyIP        bool     // "IP must be whitelisted - <caller ip>"
	DenyEndpoints []Entity // "API user does not have access to this endpoint"

	// Rates: the share of requests each behaviour hits. Each rate draws its
	// kind from the matching list (all kinds when nil).
	FaultRate        float64
	FaultKinds       []Kind
	DriftRate        float64
	DriftKinds       []Kind
	DuplicateRate    float64
	CountLieRate     float64
	CountLieKinds    []Kind
	StringTotalRate  float64
	BOMRate          float64
	SlowDelay        time.Duration // FaultSlow's delay; 1s when 0
	RetryAfter       string        // Fault429's Retry-After; "1" when empty
	DriftRowsPerDraw int           // rows DriftBump/DriftBumpIn restate at once; 1 when 0

	// Schedule forces kinds onto requests by their sequence number (1-based,
	// every request counted, see Request.Seq). A scheduled request draws no
	// rates. A transport fault kind listed first wins over later ones.
	Schedule map[int][]Kind
}

// Default credentials.
const (
	DefaultLoginID  = "adversary-user"
	DefaultPassword = "adversary-pass"
)

func (c *Config) fill() error {
	if c.LoginID == "" {
		c.LoginID = DefaultLoginID
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.Location == nil {
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			return err
		}
		c.Location = loc
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2019, 1, 1, 0, 0, 0, 0, c.Location)
	}
	if c.Now.IsZero() {
		c.Now = time.Date(2026, 6, 15, 15, 0, 0, 0, c.Location)
	}
	c.Start = c.Start.In(c.Location)
	c.Now = c.Now.In(c.Location).Truncate(time.Second)
	if c.Customers == 0 {
		c.Customers = 1000
	} else if c.Customers < 0 {
		c.Customers = 0
	}
	if c.Bursts <= 0 {
		c.Bursts = 8
	}
	if c.BusyShare == 0 {
		c.BusyShare = 0.5
	}
	if c.ArrivalsPerDay == 0 {
		c.ArrivalsPerDay = 20
	} else if c.ArrivalsPerDay < 0 {
		c.ArrivalsPerDay = 0
	}
	if c.EdgeTimeRate == 0 {
		c.EdgeTimeRate = 0.05
	} else if c.EdgeTimeRate < 0 {
		c.EdgeTimeRate = 0
	}
	if c.SlowDelay <= 0 {
		c.SlowDelay = time.Second
	}
	if c.RetryAfter == "" {
		c.RetryAfter = "1"
	}
	if c.DriftRowsPerDraw <= 0 {
		c.DriftRowsPerDraw = 1
	}
	if len(c.FaultKinds) == 0 {
		c.FaultKinds = TransportFaults
	}
	if len(c.DriftKinds) == 0 {
		c.DriftKinds = DriftKinds
	}
	if len(c.CountLieKinds) == 0 {
		c.CountLieKinds = CountLies
	}
	return nil
}
