package convert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/source"
)

// GuessOptions tune Guess.
type GuessOptions struct {
	SampleRows int // rows sampled per table (default 500)
	Limits     source.Limits
}

// columnStats is what the sample says about one source column.
type columnStats struct {
	name     string
	norm     string
	nonEmpty int
	email    int
	card     int
	phone    int
	amount   int
	layout   string // a date layout every sampled value fits, or ""
	clock    bool
	aba      int            // 9-digit values passing the ABA routing checksum
	digits   int            // values of digits only
	distinct map[string]int // only for short, non-sensitive values
	tooMany  bool
	// values holds up to joinSample values for finding join keys; it is
	// never written out.
	values map[string]bool
}

const joinSample = 200

type tableStats struct {
	name   string // the mapping's source name
	base   string
	files  []string // base names of every file of the source
	header []string
	rows   int // rows sampled
	cols   []*columnStats
}

// merge adds the sample of another file with the same header.
func (ts *tableStats) merge(o *tableStats) {
	ts.files = append(ts.files, o.files...)
	ts.rows += o.rows
	for i, c := range ts.cols {
		oc := o.cols[i]
		c.nonEmpty += oc.nonEmpty
		c.email += oc.email
		c.card += oc.card
		c.phone += oc.phone
		c.amount += oc.amount
		c.aba += oc.aba
		c.digits += oc.digits
		if c.layout == "" || (oc.layout != "" && oc.layout != c.layout) {
			c.layout, c.clock = oc.layout, oc.clock
		}
		for v := range oc.values {
			if len(c.values) < joinSample {
				c.values[v] = true
			}
		}
		if oc.tooMany {
			c.tooMany = true
		}
		if !c.tooMany {
			for v, n := range oc.distinct {
				c.distinct[v] += n
			}
			if len(c.distinct) > 12 {
				c.tooMany = true
			}
		}
		if c.card > 0 || c.email > 0 || c.phone > 0 {
			c.distinct, c.tooMany = nil, true
		}
	}
}

var (
	emailRe  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	amountRe = regexp.MustCompile(`^\(?-?[$€£]?\s?-?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?\)?$`)
)

// dateCandidates are the layouts --init tries, most specific first.
var dateCandidates = []string{
	"YYYY-MM-DD HH:mm:ss ZZ", "rfc3339", "YYYY-MM-DD HH:mm:ss", "YYYY-MM-DD HH:mm", "YYYYMMDDHHmmss",
	"MM/DD/YYYY HH:mm:ss", "MM/DD/YYYY hh:mm A", "M/D/YYYY h:mm A", "M/D/YYYY H:mm:ss", "M/D/YYYY H:mm",
	"MM/DD/YYYY hh:mm:ss A", "DD.MM.YYYY HH:mm", "YYYY-MM-DD", "MM/DD/YYYY", "M/D/YYYY", "DD.MM.YYYY",
}

// Guess inspects the sources and returns a starting mapping in which every
// guess is marked "# REVIEW" with a confidence and the reason for it.
// Values of card-like, email and phone columns never appear in it.
func Guess(ctx context.Context, sources []string, opts GuessOptions) (string, error) {
	if opts.SampleRows <= 0 {
		opts.SampleRows = 500
	}
	if opts.Limits == (source.Limits{}) {
		opts.Limits = source.DefaultLimits
	}
	var tables []*tableStats
	used := map[string]bool{}
	for _, p := range sources {
		a, err := source.Open(ctx, p, opts.Limits)
		if err != nil {
			return "", err
		}
		for _, t := range a.Tables {
			ts, err := sampleTable(ctx, t, opts.SampleRows)
			if err != nil {
				a.Close()
				return "", err
			}
			// A file with the header of one already read is more of that
			// source (a split export).
			merged := false
			for _, have := range tables {
				if sameHeader(have.header, ts.header) {
					have.merge(ts)
					merged = true
					break
				}
			}
			if !merged {
				ts.name = sourceName(t.Base(), used)
				tables = append(tables, ts)
			}
		}
		a.Close()
	}
	if len(tables) == 0 {
		return "", errors.New("guess mapping: no source tables")
	}
	return renderGuess(tables), nil
}

func sourceName(base string, used map[string]bool) string {
	base = strings.TrimSuffix(base, ".gz")
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	var b strings.Builder
	for _, c := range strings.ToLower(base) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	n := strings.Trim(b.String(), "_")
	if n == "" {
		n = "source"
	}
	name := n
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s%d", n, i)
	}
	used[name] = true
	return name
}

func sampleTable(ctx context.Context, t source.Table, n int) (*tableStats, error) {
	r, err := source.NewReader(ctx, t, source.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ts := &tableStats{base: t.Base(), files: []string{t.Base()}, header: r.Header()}
	for _, h := range r.Header() {
		// The name is written into the mapping: a card number in it is
		// masked (the mapping then names no column, and convert says so).
		ts.cols = append(ts.cols, &columnStats{name: cardnum.MaskText(h), norm: normName(h), distinct: map[string]int{}, values: map[string]bool{}})
	}
	layouts := make([][]string, len(ts.cols)) // candidates still fitting
	for i := range layouts {
		layouts[i] = append([]string(nil), dateCandidates...)
	}
	compiled := map[string]timeLayout{}
	for _, l := range dateCandidates {
		compiled[l], _ = compileLayout(l)
	}
	for rows := 0; rows < n; rows++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *source.RowError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ts.rows++
		for i, v := range rec.Fields {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			cs := ts.cols[i]
			cs.nonEmpty++
			if len(cs.values) < joinSample {
				cs.values[strings.ToLower(v)] = true
			}
			switch {
			case looksLikeCard(v) && !looksLikeStamp(v):
				cs.card++
			case emailRe.MatchString(v):
				cs.email++
			}
			if digitsOnly(v) == v {
				cs.digits++
				if len(v) == 9 && cardnum.ABA(v) {
					cs.aba++
				}
			}
			if d := digitsOnly(v); len(d) >= 10 && len(d) <= 15 && len(v) <= 20 && strings.Trim(v, "0123456789()-+. ") == "" {
				cs.phone++
			}
			if amountRe.MatchString(v) && strings.Contains(v, ".") {
				cs.amount++
			}
			var keep []string
			for _, l := range layouts[i] {
				if _, _, _, err := parseTime(v, []timeLayout{compiled[l]}, time.UTC); err == nil {
					keep = append(keep, l)
				}
			}
			layouts[i] = keep
			if !cs.tooMany && len(v) <= 40 {
				cs.distinct[v]++
				if len(cs.distinct) > 12 {
					cs.tooMany = true
				}
			} else {
				cs.tooMany = true
			}
		}
	}
	for i, cs := range ts.cols {
		if cs.nonEmpty > 0 && len(layouts[i]) > 0 && cs.amount == 0 {
			cs.layout = layouts[i][0]
			cs.clock = compiled[cs.layout].Clock
		}
		if cs.card > 0 || cs.email > 0 || cs.phone > 0 {
			cs.distinct, cs.tooMany = nil, true // never copy these values
		}
	}
	return ts, nil
}

func normName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// looksLikeStamp: a 14-digit YYYYMMDDhhmmss time, which can pass Luhn.
func looksLikeStamp(v string) bool {
	if len(v) != 14 || digitsOnly(v) != v {
		return false
	}
	_, err := time.Parse("20060102150405", v)
	return err == nil
}

// synonyms are normalised source header names per import column, best
// first.
var synonyms = map[string][]string{
	legacy.FCustomerID:        {"customervaultid", "customerprofileid", "customerid", "custid", "customernumber", "clientid", "customer", "userid", "customeruser", "id"},
	legacy.FOrderID:           {"orderid", "ordernumber", "orderno", "orderref", "order", "invoicenumber", "postparent", "name", "invoiceid", "id"},
	legacy.FDateCreated:       {"datecreated", "createdat", "created", "createdutc", "orderdate", "transactiondate", "submitdatetime", "acquisitiondate", "date", "timestamp", "processedat", "lastorderdatecreated", "currentperiodstartutc"},
	legacy.FMerchantTxnID:     {"merchanttxnid", "transactionid", "txnid", "chargeid", "paymentid", "gatewaytransactionid", "transid", "paymentreference", "subscriptionid", "id"},
	legacy.FFirstName:         {"firstname", "fname", "billingfirstname", "billingfname", "customerfirstname", "givenname"},
	legacy.FLastName:          {"lastname", "lname", "surname", "billinglastname", "billinglname", "customerlastname", "familyname"},
	legacy.FAddress1:          {"address1", "address", "street", "addressline1", "billingaddress1", "billingstreet", "cardaddressline1", "strasse", "street1", "addr1"},
	legacy.FAddress2:          {"address2", "addressline2", "billingaddress2", "cardaddressline2"},
	legacy.FCity:              {"city", "billingcity", "town", "cardaddresscity", "ort", "stadt"},
	legacy.FState:             {"state", "province", "region", "billingstate", "billingprovince", "cardaddressstate"},
	legacy.FCountry:           {"country", "countrycode", "billingcountry", "cardaddresscountry", "land"},
	legacy.FPostalCode:        {"postalcode", "zip", "zipcode", "postcode", "billingzip", "billingpostcode", "billingpostalcode", "cardaddresszip", "plz"},
	legacy.FPhoneNumber:       {"phonenumber", "phone", "telephone", "mobile", "billingphone", "telefon", "tel"},
	legacy.FEmailAddress:      {"emailaddress", "email", "customeremail", "billingemail"},
	legacy.FCardNumber:        {"cardnumber", "ccnumber", "pan", "creditcardnumber", "cardno"},
	legacy.FCardExpiryMonth:   {"cardexpirymonth", "expmonth", "expirymonth", "expirationmonth", "ccexpmonth", "cardexpmonth"},
	legacy.FCardExpiryYear:    {"cardexpiryyear", "expyear", "expiryyear", "expirationyear", "ccexpyear", "cardexpyear"},
	legacy.FSubTotal:          {"subtotal", "itemstotal", "producttotal"},
	legacy.FShipTotal:         {"shiptotal", "shipping", "shippingtotal", "shippingcost", "ordershipping", "shippingamount", "freight", "l2freight"},
	legacy.FSalesTax:          {"salestax", "tax", "taxes", "ordertax", "taxtotal", "ordersalestaxamount", "l2tax"},
	legacy.FTotalAmount:       {"totalamount", "total", "amount", "ordertotal", "grandtotal", "price"},
	legacy.FNextBillDate:      {"nextbilldate", "nextbilling", "nextbillingdate", "nextchargedate", "nextchargescheduledat", "nextpaymentdate", "nextrebill", "rebilldate", "recurringdate", "currentperiodendutc"},
	legacy.FAuthCode:          {"authcode", "authorizationcode", "approvalcode", "authid"},
	legacy.FShipAddress1:      {"shipaddress1", "shippingaddress1", "shiptoaddress", "shippingaddress", "shippingstreet"},
	legacy.FShipAddress2:      {"shipaddress2", "shippingaddress2"},
	legacy.FShipCity:          {"shipcity", "shippingcity", "shiptocity"},
	legacy.FShipState:         {"shipstate", "shippingstate", "shippingprovince", "shiptostate"},
	legacy.FShipCountry:       {"shipcountry", "shippingcountry", "shiptocountry"},
	legacy.FShipPostalCode:    {"shippostalcode", "shippingzip", "shippingpostcode", "shippingpostalcode", "shiptozip"},
	legacy.FAffID:             {"affid", "affiliate", "affiliateid"},
	legacy.FSubAffID:          {"subaffid", "subaffiliate"},
	legacy.FTrackingNumber:    {"trackingnumber", "tracking"},
	legacy.FShipCarrier:       {"shipcarrier", "shippingcarrier", "carrier"},
	legacy.FExternalToken:     {"externaltoken", "token", "customervaultid", "vaultid", "paymenttoken", "cardid", "customerprofileid"},
	legacy.FQuantity:          {"quantity", "qty", "lineitemquantity", "mainproductquantity"},
	legacy.FParentTxnID:       {"parenttxnid", "originaltransactionid", "referencetransactionid", "parenttransactionid", "origtransactionid", "refundof"},
	legacy.FACHRoutingNumber:  {"achroutingnumber", "routingnumber", "checkaba", "aba", "bankroutingnumber", "routing"},
	legacy.FACHAccountNumber:  {"achaccountnumber", "accountnumber", "checkaccount", "bankaccountnumber", "account"},
	legacy.FACHAccountType:    {"achaccounttype", "accounttype", "bankaccounttype"},
	legacy.FIsChargedback:     {"ischargedback", "ischargeback", "chargeback", "chargedback", "disputed"},
	legacy.FChargebackDate:    {"chargebackdate", "disputedate", "disputedat"},
	legacy.FChargebackTotal:   {"chargebacktotal", "chargebackamount", "disputedamount", "disputeamount"},
	legacy.FChargebackReason:  {"chargebackreasoncode", "chargebackreason", "reasoncode", "disputereason"},
	legacy.FIsActiveRecurring: {"isactiverecurring", "isrecurring", "recurring"},
}

var (
	fullNameSyn = []string{"fullname", "cardholdername", "cardname", "nameoncard", "billingname", "customername", "name"}
	expirySyn   = []string{"exp", "expiry", "expiration", "ccexp", "ccexpires", "expdate", "expirationdate", "cardexpiry", "cardexp"}
	productSyn  = []string{"sku", "productsku", "lineitemsku", "product", "productid", "mainproductid", "plan", "planid", "item", "itemsku"}
	gatewaySyn  = []string{"gateway", "gatewayid", "mid", "merchant", "merchantaccount", "processor", "processorid", "paymentgateway"}
	statusSyn   = []string{"subscriptionstatus", "status"}
)

// Words a transaction-kind column holds, and what they are.
var kindWords = map[string]string{
	"sale": "SALE", "charge": "SALE", "purchase": "SALE", "payment": "SALE", "authorization w/ auto capture": "SALE", "auth_capture": "SALE",
	"auth": "AUTHORIZE", "authorize": "AUTHORIZE", "authorization": "AUTHORIZE", "authorization only": "AUTHORIZE", "auth_only": "AUTHORIZE",
	"capture": "CAPTURE", "prior authorization capture": "CAPTURE", "capture only": "CAPTURE", "prior_auth_capture": "CAPTURE",
	"refund": "REFUND", "credit": "REFUND", "return": "REFUND",
}

// Words a response column holds (a transaction's result, not a
// subscription's state).
var responseWords = map[string]string{
	"success": "SUCCESS", "succeeded": "SUCCESS", "approved": "SUCCESS", "paid": "SUCCESS", "complete": "SUCCESS", "completed": "SUCCESS",
	"settled": "SUCCESS", "settled successfully": "SUCCESS", "captured": "SUCCESS", "captured/pending settlement": "SUCCESS",
	"refund settled successfully": "SUCCESS", "refund/pending settlement": "SUCCESS", "bezahlt": "SUCCESS", "pagado": "SUCCESS", "paye": "SUCCESS",
	"declined": "DECLINE", "decline": "DECLINE", "failed": "DECLINE", "error": "DECLINE", "denied": "DECLINE", "general error": "DECLINE",
	"abgelehnt": "DECLINE", "rechazado": "DECLINE",
}

// Words of a subscription's state.
var activeWords = map[string]string{
	"active": "1", "trialing": "1", "cancelled": "0", "canceled": "0", "expired": "0", "on-hold": "0", "paused": "0", "pending-cancel": "0",
	"past_due": "0", "unpaid": "0", "inactive": "0", "switched": "0",
}

// Words that say a value was skipped, not charged.
var skipWords = map[string]bool{"void": true, "voided": true, "validate": true, "expired": true, "pending": true, "trash": true}

// guess is one proposed import column.
type guess struct {
	spec string // YAML flow mapping or scalar
	conf string // high, medium, low
	why  string
}

// guesser holds the tables in reading order: the driving table first.
type guesser struct {
	drv    *tableStats
	tables []*tableStats
	joins  map[*tableStats]bool // joined tables (with a key found)
	maps   []string
	used   map[*columnStats]bool
}

func (g *guesser) ref(t *tableStats, c *columnStats) string {
	if t == g.drv {
		return q(c.name)
	}
	return q(t.name + "." + c.name)
}

func (g *guesser) readable(t *tableStats) bool { return t == g.drv || g.joins[t] }

// find looks for a column by header: the driving table first, then the
// joined ones; within a table the best synonym first. Columns that are
// empty in the sample are passed over.
func (g *guesser) find(syn []string, accept func(*columnStats) bool) (*tableStats, *columnStats) {
	for _, t := range g.tables {
		if !g.readable(t) {
			continue
		}
		for _, s := range syn {
			for _, c := range t.cols {
				if c.norm == s && (accept == nil || accept(c)) {
					return t, c
				}
			}
		}
	}
	return nil, nil
}

// findBy looks for a column by what its values are.
func (g *guesser) findBy(accept func(*columnStats) bool) (*tableStats, *columnStats) {
	for _, t := range g.tables {
		if !g.readable(t) {
			continue
		}
		for _, c := range t.cols {
			if c.nonEmpty > 0 && accept(c) {
				return t, c
			}
		}
	}
	return nil, nil
}

// wordShare is the share of a column's sampled values that are keys of
// words (0 when the column has too many values to be a word column).
func wordShare(c *columnStats, words map[string]string) float64 {
	if c.tooMany || len(c.distinct) == 0 {
		return 0
	}
	n, all := 0, 0
	for v, k := range c.distinct {
		all += k
		if _, ok := words[strings.ToLower(v)]; ok {
			n += k
		} else if skipWords[strings.ToLower(v)] {
			all -= k
		}
	}
	if all <= 0 {
		return 0
	}
	return float64(n) / float64(all)
}

func isBitColumn(c *columnStats) bool {
	if c.tooMany || len(c.distinct) == 0 {
		return false
	}
	for v := range c.distinct {
		if _, err := bit(v); err != nil {
			return false
		}
	}
	return true
}

// chooseDriving scores the tables: the one with amounts, times and a
// transaction or status column is the one whose rows become import rows.
func chooseDriving(tables []*tableStats) *tableStats {
	best, bestScore := tables[0], -1
	for _, t := range tables {
		score := 0
		for _, c := range t.cols {
			if c.nonEmpty == 0 {
				continue
			}
			switch {
			case c.amount*2 >= c.nonEmpty && c.amount > 0:
				score += 3
			case c.layout != "" && c.clock:
				score += 2
			case wordShare(c, kindWords) >= 0.5 || wordShare(c, responseWords) >= 0.5 || wordShare(c, activeWords) >= 0.5:
				score += 2
			}
		}
		if score > bestScore || (score == bestScore && t.rows > best.rows) {
			best, bestScore = t, score
		}
	}
	return best
}

// joinGuess finds, for table t, the column whose sampled values the
// driving table (or a table joined before) names: t's key and the column
// that names it. It reports the share of those rows that found a match.
func (g *guesser) joinGuess(t *tableStats, earlier []*tableStats) (key, on string, share float64, email bool) {
	best := 0
	for _, from := range append([]*tableStats{g.drv}, earlier...) {
		for _, c := range t.cols {
			if c.card > 0 || len(c.values) == 0 {
				continue
			}
			for _, d := range from.cols {
				if d.card > 0 || len(d.values) == 0 {
					continue
				}
				n := 0
				for v := range d.values {
					if c.values[v] {
						n++
					}
				}
				// The key must name rows: most sampled values of one side
				// appear on the other.
				// One shared value is enough for a one-row lookup whose
				// key column has the same name.
				enough := n >= 2 || (n == len(c.values) && c.norm == d.norm)
				if n > best && (n*2 >= len(c.values) || n*2 >= len(d.values)) && enough {
					best, key = n, c.name
					on = g.ref(from, d)
					share = float64(n) / float64(len(d.values))
					email = c.email > 0
				}
			}
		}
		if best > 0 {
			return key, on, share, email
		}
	}
	return "", "", 0, false
}

func renderGuess(tables []*tableStats) string {
	drv := chooseDriving(tables)
	g := &guesser{drv: drv, tables: []*tableStats{drv}, joins: map[*tableStats]bool{}, used: map[*columnStats]bool{}}
	for _, t := range tables {
		if t != drv {
			g.tables = append(g.tables, t)
		}
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Starting mapping written by konduit convert --init. Every guess is\n")
	w("# marked REVIEW with a confidence (high, medium, low) and its reason:\n")
	w("# check it, fix it, then delete the marker. The format is described in\n")
	w("# docs/mapping.md.\n")
	w("timezone: \"\"   # REVIEW: your Konnektive account's time zone, e.g. America/New_York\n")
	w("source_timezone: \"\"   # REVIEW: the zone the sources' times are in, when they carry no offset\n")
	w("sources:\n")
	for _, t := range g.tables {
		if len(t.files) > 1 {
			w("  %s: {files: [%s]}   # REVIEW: %d files with one header, read as one table; %d columns sampled\n", t.name, quoteJoin(t.files), len(t.files), len(t.cols))
		} else {
			w("  %s: {file: %s}   # REVIEW: %d columns sampled\n", t.name, q(t.base), len(t.cols))
		}
		for _, line := range detected(t) {
			w("  #   %s\n", line)
		}
	}
	w("transactions:\n  from: %s   # REVIEW (medium): the table with amounts, times and transaction columns drives: one import row per row\n", drv.name)
	var joinLines []string
	var earlier []*tableStats
	for _, t := range g.tables[1:] {
		key, on, share, email := g.joinGuess(t, earlier)
		if key == "" {
			joinLines = append(joinLines, fmt.Sprintf("    - {source: %s, key: null, on: null}   # REVIEW (low): no shared values found; name the key columns\n", t.name))
			continue
		}
		g.joins[t] = true
		earlier = append(earlier, t)
		ic, icWhy := "", ""
		if email {
			// Values are compared lower-cased when sampled: emails match
			// ignoring case.
			ic, icWhy = ", ignore_case: true", " (email addresses: case ignored)"
		}
		if share >= 1 {
			joinLines = append(joinLines, fmt.Sprintf("    - {source: %s, key: %s, on: %s%s, required: true}   # REVIEW (high): every sampled row found its %s row by these values%s\n", t.name, q(key), on, ic, t.name, icWhy))
		} else {
			joinLines = append(joinLines, fmt.Sprintf("    - {source: %s, key: %s, on: %s%s}   # REVIEW (medium): a lookup: %.0f%% of sampled rows found a %s row; optional%s\n", t.name, q(key), on, ic, 100*share, t.name, icWhy))
		}
	}
	if len(joinLines) > 0 {
		w("  join:\n")
		for _, l := range joinLines {
			b.WriteString(l)
		}
	}
	w("  columns:\n")
	spec := legacy.SpecFor(legacy.Transactions)
	guesses := map[string]*guess{}
	// Columns that depend on others are guessed after them.
	later := map[string]bool{legacy.FSubTotal: true, legacy.FBillShipSame: true, legacy.FPaySource: true}
	for _, pass := range []bool{false, true} {
		for _, col := range spec.Columns {
			if later[col.Name] != pass {
				continue
			}
			if gs := g.column(col, guesses); gs != nil {
				guesses[col.Name] = gs
			}
		}
	}
	for _, col := range spec.Columns {
		gs := guesses[col.Name]
		switch {
		case gs != nil && gs.spec == "null":
			w("    %s: null   # REVIEW (%s): %s\n", col.Name, gs.conf, gs.why)
		case gs != nil:
			w("    %s: %s   # REVIEW (%s): %s\n", col.Name, gs.spec, gs.conf, gs.why)
		case col.Required.Always && !col.Required.EmptyIsWarning:
			w("    %s: null   # REVIEW (low): required (%s); no source column found\n", col.Name, col.SeedType)
		case !col.Required.Optional():
			w("    # %s:   # REVIEW: required when %s\n", col.Name, col.Required)
		}
	}
	if len(g.maps) > 0 {
		w("maps:\n")
		for _, m := range g.maps {
			b.WriteString(m)
		}
	}
	return b.String()
}

func quoteJoin(s []string) string {
	var out []string
	for _, v := range s {
		out = append(out, q(v))
	}
	return strings.Join(out, ", ")
}

// column proposes one import column.
func (g *guesser) column(col legacy.Column, done map[string]*guess) *guess {
	name := col.Name
	header := func(t *tableStats, c *columnStats, spec string) *guess {
		conf := "high"
		if t != g.drv {
			conf = "medium"
		}
		return &guess{spec: spec, conf: conf, why: fmt.Sprintf("header %q of %s", c.name, t.name)}
	}
	plain := func(t *tableStats, c *columnStats) string {
		switch {
		case col.Type == legacy.Datetime && c.layout != "":
			return fmt.Sprintf("{column: %s, format: datetime, layouts: [%s]}", g.ref(t, c), q(c.layout))
		case col.Type == legacy.Date && c.layout != "":
			return fmt.Sprintf("{column: %s, format: date, layouts: [%s]}", g.ref(t, c), q(c.layout))
		case col.Type == legacy.Decimal || col.Type == legacy.Money2:
			return fmt.Sprintf("{column: %s, format: amount}", g.ref(t, c))
		case col.Type == legacy.Phone:
			return fmt.Sprintf("{column: %s, format: phone}", g.ref(t, c))
		case col.Type == legacy.Country:
			return fmt.Sprintf("{column: %s, format: country}", g.ref(t, c))
		}
		return g.ref(t, c)
	}
	bySyn := func(accept func(*columnStats) bool) *guess {
		t, c := g.find(synonyms[name], accept)
		if c == nil {
			return nil
		}
		return header(t, c, plain(t, c))
	}
	filled := func(c *columnStats) bool { return c.nonEmpty > 0 }
	if !col.Required.Always || col.Required.EmptyIsWarning {
		// An optional column: its header says enough even when the
		// sample holds no value (address2, a ship-to address).
		filled = nil
	}
	switch name {
	case legacy.FCustomerID, legacy.FOrderID, legacy.FMerchantTxnID:
		return bySyn(func(c *columnStats) bool { return c.nonEmpty*2 >= g.drv.rows || c.nonEmpty > 0 && t0(g, c) != g.drv })
	case legacy.FDateCreated:
		if gs := bySyn(func(c *columnStats) bool { return c.layout != "" }); gs != nil {
			gs.why += ", layout " + layoutOf(gs.spec)
			return gs
		}
		t, c := g.findBy(func(c *columnStats) bool { return c.layout != "" && c.clock })
		if c == nil {
			return nil
		}
		return &guess{spec: plain(t, c), conf: "medium", why: fmt.Sprintf("%q of %s holds date-times (%s)", c.name, t.name, c.layout)}
	case legacy.FNextBillDate:
		gs := bySyn(func(c *columnStats) bool { return c.layout != "" })
		if gs != nil {
			gs.why += "; only active subscriptions need it"
		}
		return gs
	case legacy.FEmailAddress:
		if gs := bySyn(func(c *columnStats) bool { return c.email > 0 }); gs != nil {
			return gs
		}
		t, c := g.findBy(func(c *columnStats) bool { return c.email > 0 && c.email*2 >= c.nonEmpty })
		if c == nil {
			return nil
		}
		return &guess{spec: g.ref(t, c), conf: "medium", why: fmt.Sprintf("%q of %s holds email addresses", c.name, t.name)}
	case legacy.FCardNumber:
		t, c := g.findBy(func(c *columnStats) bool { return c.card > 0 && c.card*2 >= c.nonEmpty })
		if c == nil {
			return nil
		}
		return &guess{spec: fmt.Sprintf("{column: %s, format: card}", g.ref(t, c)), conf: "high", why: fmt.Sprintf("%q of %s holds Luhn-valid card numbers", c.name, t.name)}
	case legacy.FCardExpiryMonth, legacy.FCardExpiryYear:
		f := fmtExpMonth
		if name == legacy.FCardExpiryYear {
			f = fmtExpYear
		}
		// The expiry lives with the card: look in the card's table first.
		t, c := g.find(synonyms[name], filled)
		combined := false
		if c == nil {
			t, c = g.findNear(done[legacy.FCardNumber], expirySyn)
			combined = true
		}
		if c == nil {
			return nil
		}
		spec := fmt.Sprintf("{column: %s, format: %s}", g.ref(t, c), f)
		why := fmt.Sprintf("expiry in %q of %s", c.name, t.name)
		if combined && c.digits > 0 {
			spec = fmt.Sprintf("{column: %s, format: %s, patch: [{pattern: '\\d{3}', with: '0$0'}]}", g.ref(t, c), f)
			why += "; a 3-digit MYY (a spreadsheet dropped the zero) is patched"
		}
		return &guess{spec: spec, conf: "high", why: why}
	case legacy.FFirstName, legacy.FLastName:
		if gs := bySyn(filled); gs != nil {
			return gs
		}
		t, c := g.find(fullNameSyn, filled)
		if c == nil {
			return nil
		}
		f := fmtFirstName
		if name == legacy.FLastName {
			f = fmtLastName
		}
		return &guess{spec: fmt.Sprintf("{column: %s, format: %s}", g.ref(t, c), f), conf: "medium", why: fmt.Sprintf("full name in %q of %s, split", c.name, t.name)}
	case legacy.FCampaignID, legacy.FProductID:
		t, c := g.find(productSyn, filled)
		if c == nil {
			return nil
		}
		if name == legacy.FCampaignID {
			g.maps = append(g.maps, renderMap("products", c, `{campaignId: null, productId: null}`))
		}
		return &guess{spec: fmt.Sprintf("{column: %s, map: products}", g.ref(t, c)), conf: "low", why: fmt.Sprintf("products in %q of %s: fill in the Konnektive ids in maps.products", c.name, t.name)}
	case legacy.FMerchantID:
		t, c := g.find(gatewaySyn, filled)
		if c == nil {
			return nil
		}
		g.maps = append(g.maps, renderMap("merchants", c, "null"))
		return &guess{spec: fmt.Sprintf("{column: %s, map: merchants}", g.ref(t, c)), conf: "low", why: fmt.Sprintf("gateways in %q of %s: fill in Konnektive merchant ids in maps.merchants", c.name, t.name)}
	case legacy.FPaySource:
		if r := done[legacy.FACHRoutingNumber]; r != nil {
			// A type column with card/check words decides per row.
			t, c := g.findBy(func(c *columnStats) bool { return wordShare(c, payWords) >= 0.9 })
			if c != nil {
				g.maps = append(g.maps, renderWordMap("pay_source", c, payWords))
				return &guess{spec: fmt.Sprintf("{column: %s, map: pay_source}", g.ref(t, c)), conf: "medium", why: fmt.Sprintf("%q of %s says card or check per row", c.name, t.name)}
			}
			// Else a bank account column of the driving table, filled on
			// bank rows only.
			for _, c := range g.drv.cols {
				for _, s := range synonyms[legacy.FACHAccountNumber] {
					if c.norm == s && c.nonEmpty > 0 && c.nonEmpty < g.drv.rows {
						return &guess{spec: fmt.Sprintf("{default: [{when: {column: %s, empty: false}, value: CHECK}, {value: CREDITCARD}]}", g.ref(g.drv, c)),
							conf: "medium", why: fmt.Sprintf("%q of %s is filled on bank payments only", c.name, g.drv.name)}
					}
				}
			}
			return &guess{spec: "{const: CREDITCARD}", conf: "low", why: "bank columns exist: set CHECK on their rows (a default with when:)"}
		}
		return &guess{spec: "{const: CREDITCARD}", conf: "medium", why: "card columns and no bank columns; PREPAID otherwise"}
	case legacy.FACHRoutingNumber:
		t, c := g.findBy(func(c *columnStats) bool { return c.aba > 0 && c.aba*2 >= c.nonEmpty })
		if c == nil {
			return nil
		}
		return &guess{spec: fmt.Sprintf("{column: %s, format: digits}", g.ref(t, c)), conf: "high", why: fmt.Sprintf("%q of %s holds 9-digit numbers passing the ABA checksum", c.name, t.name)}
	case legacy.FACHAccountNumber:
		rt := done[legacy.FACHRoutingNumber]
		if rt == nil {
			return nil
		}
		t, c := g.find(synonyms[name], func(c *columnStats) bool { return c.nonEmpty > 0 && c.digits*2 >= c.nonEmpty && c.aba == 0 })
		if c == nil {
			return nil
		}
		return &guess{spec: fmt.Sprintf("{column: %s, format: digits}", g.ref(t, c)), conf: "medium", why: fmt.Sprintf("header %q of %s, digits, next to the routing number", c.name, t.name)}
	case legacy.FACHAccountType:
		t, c := g.findBy(func(c *columnStats) bool { return wordShare(c, accountWords) >= 0.9 })
		if c == nil {
			return nil
		}
		g.maps = append(g.maps, renderWordMap("account_type", c, accountWords))
		return &guess{spec: fmt.Sprintf("{column: %s, map: account_type}", g.ref(t, c)), conf: "high", why: fmt.Sprintf("%q of %s holds checking/savings", c.name, t.name)}
	case legacy.FTxnType:
		t, c := g.bestWords(kindWords, 0.5)
		if c == nil {
			return &guess{spec: "{const: SALE}", conf: "low", why: "no column holds sale/refund words: is every row a sale?"}
		}
		g.maps = append(g.maps, renderWordMap("txn_type", c, kindWords))
		return &guess{spec: fmt.Sprintf("{column: %s, map: txn_type}", g.ref(t, c)), conf: "high", why: fmt.Sprintf("%q of %s holds transaction kinds (%s)", c.name, t.name, strings.Join(sortedValues(c), ", "))}
	case legacy.FResponseType, legacy.FResponseText:
		if name == legacy.FResponseText {
			if r := done[legacy.FResponseType]; r != nil {
				return &guess{spec: r.spec, conf: r.conf, why: r.why}
			}
			return nil
		}
		// A 1/0 column named for success says it best; else a column of
		// result words.
		if t, c := g.find([]string{"success", "approved", "successful"}, isBitColumn); c != nil {
			g.maps = append(g.maps, fmt.Sprintf("  response:   # REVIEW: values of %q\n    \"1\": SUCCESS   # REVIEW\n    \"0\": DECLINE   # REVIEW\n", c.name))
			return &guess{spec: fmt.Sprintf("{column: %s, map: response}", g.ref(t, c)), conf: "high", why: fmt.Sprintf("%q of %s is 1/0", c.name, t.name)}
		}
		if t, c := g.bestWords(responseWords, 0.5); c != nil {
			g.maps = append(g.maps, renderWordMap("response", c, responseWords))
			return &guess{spec: fmt.Sprintf("{column: %s, map: response}", g.ref(t, c)), conf: "high", why: fmt.Sprintf("%q of %s holds transaction results (%s)", c.name, t.name, strings.Join(sortedValues(c), ", "))}
		}
		return &guess{spec: "{const: SUCCESS}", conf: "low", why: "no column holds transaction results (a subscription status is not one): is every row a success?"}
	case legacy.FParentTxnID:
		if gs := bySyn(filled); gs != nil {
			gs.why += "; a refund's or capture's original"
			return gs
		}
		// A column, empty on most rows, whose values are transaction (or
		// order) ids.
		var idCol *columnStats
		for _, n := range []string{legacy.FMerchantTxnID, legacy.FOrderID} {
			if id := done[n]; id != nil && idCol == nil {
				idCol = g.colOf(id)
			}
		}
		if idCol == nil {
			return nil
		}
		t, c := g.findBy(func(c *columnStats) bool {
			if c == idCol || c.nonEmpty*2 > g.drv.rows || len(c.values) == 0 {
				return false
			}
			for v := range c.values {
				if !idCol.values[v] {
					return false
				}
			}
			return true
		})
		if c == nil {
			return nil
		}
		return &guess{spec: g.ref(t, c), conf: "medium", why: fmt.Sprintf("%q of %s is empty on most rows and holds transaction ids", c.name, t.name)}
	case legacy.FIsActiveRecurring:
		if t, c := g.find(statusSyn, func(c *columnStats) bool { return wordShare(c, activeWords) >= 0.8 }); c != nil {
			g.maps = append(g.maps, renderWordMap("active", c, activeWords))
			return &guess{spec: fmt.Sprintf("{column: %s, map: active}", g.ref(t, c)), conf: "medium", why: fmt.Sprintf("%q of %s holds subscription states (%s)", c.name, t.name, strings.Join(sortedValues(c), ", "))}
		}
		if t, c := g.find(synonyms[name], isBitColumn); c != nil {
			return &guess{spec: fmt.Sprintf("{column: %s, format: bit}", g.ref(t, c)), conf: "medium", why: fmt.Sprintf("%q of %s says which rows carry the subscription", c.name, t.name)}
		}
		if t, c := g.findBy(func(c *columnStats) bool { return wordShare(c, activeWords) >= 0.8 }); c != nil {
			g.maps = append(g.maps, renderWordMap("active", c, activeWords))
			return &guess{spec: fmt.Sprintf("{column: %s, map: active}", g.ref(t, c)), conf: "low", why: fmt.Sprintf("%q of %s holds subscription states (%s)", c.name, t.name, strings.Join(sortedValues(c), ", "))}
		}
		return &guess{spec: "null", conf: "low", why: "required: 1 for active subscriptions (a const, or a map on a status column)"}
	case legacy.FIsChargedback:
		if t, c := g.find(synonyms[name], isBitColumn); c != nil {
			return &guess{spec: fmt.Sprintf("{column: %s, format: bit, default: \"0\"}", g.ref(t, c)), conf: "medium", why: fmt.Sprintf("%q of %s is 1/0", c.name, t.name)}
		}
		return nil
	case legacy.FChargebackDate, legacy.FChargebackTotal, legacy.FChargebackReason:
		if done[legacy.FIsChargedback] == nil {
			return nil
		}
		return bySyn(filled)
	case legacy.FPhoneNumber:
		t, c := g.find(synonyms[name], filled)
		if c == nil {
			return &guess{spec: `{dummy: "1111111111"}`, conf: "medium", why: "no phone column; the process FAQ's dummy value"}
		}
		gs := header(t, c, fmt.Sprintf("{column: %s, format: phone, dummy: \"1111111111\"}", g.ref(t, c)))
		return gs
	case legacy.FState, legacy.FShipState:
		if gs := bySyn(filled); gs != nil {
			gs.spec = fmt.Sprintf("{column: %s, format: state}", gs.spec)
			return gs
		}
		return nil
	case legacy.FPostalCode, legacy.FShipPostalCode:
		if gs := bySyn(filled); gs != nil {
			gs.spec = fmt.Sprintf("{column: %s, format: postal}", gs.spec)
			return gs
		}
		return nil
	case legacy.FBillShipSame:
		if s := done[legacy.FShipAddress1]; s != nil {
			return &guess{spec: fmt.Sprintf("{default: [{when: {column: %s, empty: true}, value: \"1\"}, {value: \"0\"}]}", s.spec), conf: "medium",
				why: "1 where the shipping street is empty"}
		}
		return &guess{spec: `{const: "1"}`, conf: "low", why: "no shipping address columns"}
	case legacy.FSubTotal:
		total := done[legacy.FTotalAmount]
		if gs := bySyn(filled); gs != nil {
			return gs
		}
		if total == nil {
			return nil
		}
		// What remains of the total after shipping and tax: the parts
		// then add up exactly.
		col := columnOf(total.spec)
		var minus []string
		for _, n := range []string{legacy.FShipTotal, legacy.FSalesTax} {
			if d := done[n]; d != nil && columnOf(d.spec) != "" {
				minus = append(minus, columnOf(d.spec))
			}
		}
		if len(minus) == 0 {
			return &guess{spec: total.spec, conf: "medium", why: "no shipping or tax columns: the total is the subtotal"}
		}
		return &guess{spec: fmt.Sprintf("{column: %s, format: amount, minus: [%s]}", col, strings.Join(minus, ", ")), conf: "medium",
			why: "the total less shipping and tax, so the parts add up"}
	case legacy.FShipTotal, legacy.FSalesTax:
		if gs := bySyn(filled); gs != nil {
			gs.spec = strings.TrimSuffix(gs.spec, "}") + `, default: "0.00"}`
			return gs
		}
		return &guess{spec: `{const: "0.00"}`, conf: "medium", why: "no such column"}
	}
	return bySyn(filled)
}

var payWords = map[string]string{"cc": "CREDITCARD", "card": "CREDITCARD", "credit card": "CREDITCARD", "creditcard": "CREDITCARD",
	"ck": "CHECK", "check": "CHECK", "echeck": "CHECK", "ach": "CHECK", "bank": "CHECK"}

var accountWords = map[string]string{"checking": "CHECKING", "savings": "SAVINGS", "businesschecking": "CHECKING"}

// bestWords is the column whose sampled values are most (at least min) of
// the words.
func (g *guesser) bestWords(words map[string]string, min float64) (*tableStats, *columnStats) {
	var bt *tableStats
	var bc *columnStats
	best := min
	for _, t := range g.tables {
		if !g.readable(t) {
			continue
		}
		for _, c := range t.cols {
			if s := wordShare(c, words); s >= best && (bc == nil || s > best) {
				bt, bc, best = t, c, s
			}
		}
	}
	return bt, bc
}

// findNear looks for a column by header in the table of another guess
// first (the expiry next to the card), then everywhere.
func (g *guesser) findNear(near *guess, syn []string) (*tableStats, *columnStats) {
	if near != nil {
		src := columnOf(near.spec)
		for _, t := range g.tables {
			if g.readable(t) && strings.HasPrefix(strings.Trim(src, `"`), t.name+".") {
				for _, s := range syn {
					for _, c := range t.cols {
						if c.norm == s && c.nonEmpty > 0 {
							return t, c
						}
					}
				}
			}
		}
	}
	return g.find(syn, func(c *columnStats) bool { return c.nonEmpty > 0 })
}

// colOf is the column a guess reads.
func (g *guesser) colOf(gs *guess) *columnStats {
	ref := strings.Trim(columnOf(gs.spec), `"`)
	for _, t := range g.tables {
		for _, c := range t.cols {
			if (t == g.drv && c.name == ref) || t.name+"."+c.name == ref {
				return c
			}
		}
	}
	return nil
}

// columnOf is the quoted column a spec reads: the scalar itself, or what
// follows "column: ".
func columnOf(spec string) string {
	if !strings.HasPrefix(spec, "{") {
		return spec
	}
	_, rest, ok := strings.Cut(spec, "column: ")
	if !ok {
		return ""
	}
	if end := strings.IndexAny(rest, ",}"); end >= 0 {
		return rest[:end]
	}
	return rest
}

func layoutOf(spec string) string {
	_, rest, ok := strings.Cut(spec, "layouts: [")
	if !ok {
		return ""
	}
	return strings.Trim(strings.SplitN(rest, "]", 2)[0], `"`)
}

// detected lists, for the reviewer, what the sample showed about a table's
// columns (names and layouts only, never values).
func detected(t *tableStats) []string {
	kinds := []struct {
		label string
		is    func(*columnStats) bool
		show  func(*columnStats) string
	}{
		{"dates", func(c *columnStats) bool { return c.layout != "" }, func(c *columnStats) string { return fmt.Sprintf("%q (%s)", c.name, c.layout) }},
		{"emails", func(c *columnStats) bool { return c.email > 0 && c.email*2 >= c.nonEmpty }, nil},
		{"phones", func(c *columnStats) bool { return c.phone > 0 && c.phone*2 >= c.nonEmpty && c.card == 0 && c.aba == 0 }, nil},
		{"card-like (Luhn-valid 13-19 digits)", func(c *columnStats) bool { return c.card > 0 }, nil},
		{"bank routing numbers (ABA checksum)", func(c *columnStats) bool { return c.aba > 0 && c.aba*2 >= c.nonEmpty }, nil},
		{"amount-like", func(c *columnStats) bool { return c.amount > 0 && c.amount*2 >= c.nonEmpty }, nil},
	}
	var out []string
	for _, k := range kinds {
		var names []string
		for _, c := range t.cols {
			if k.is(c) {
				if k.show != nil {
					names = append(names, k.show(c))
				} else {
					names = append(names, fmt.Sprintf("%q", c.name))
				}
			}
		}
		if len(names) > 0 {
			out = append(out, k.label+": "+strings.Join(names, ", "))
		}
	}
	return out
}

func sortedValues(c *columnStats) []string {
	var vals []string
	for v := range c.distinct {
		vals = append(vals, cardnum.MaskText(v))
	}
	sort.Strings(vals)
	return vals
}

func renderMap(name string, c *columnStats, empty string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:   # REVIEW: one entry per value of %q\n", name, c.name)
	if c.tooMany {
		fmt.Fprintf(&b, "    \"EXAMPLE\": %s   # REVIEW: more than 12 values; list them\n", empty)
		return b.String()
	}
	for _, v := range sortedValues(c) {
		fmt.Fprintf(&b, "    %s: %s   # REVIEW\n", q(v), empty)
	}
	return b.String()
}

func renderWordMap(name string, c *columnStats, words map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:   # REVIEW: values seen in %q\n", name, c.name)
	for _, v := range sortedValues(c) {
		if w, ok := words[strings.ToLower(v)]; ok {
			fmt.Fprintf(&b, "    %s: %s   # REVIEW\n", q(v), w)
		} else {
			fmt.Fprintf(&b, "    %s: null   # REVIEW: unknown word; skip such rows or map them\n", q(v))
		}
	}
	return b.String()
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// t0 is the table holding a column.
func t0(g *guesser, c *columnStats) *tableStats {
	for _, t := range g.tables {
		for _, tc := range t.cols {
			if tc == c {
				return t
			}
		}
	}
	return nil
}
