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
	distinct map[string]int // only for short, non-sensitive values
	tooMany  bool
	// values holds up to joinSample values for finding join keys; it is
	// never written out.
	values map[string]bool
}

const joinSample = 200

type tableStats struct {
	name string // the mapping's source name
	base string
	cols []*columnStats
}

var (
	emailRe  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	amountRe = regexp.MustCompile(`^\(?-?[$€£]?\s?-?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?\)?$`)
)

// dateCandidates are the layouts --init tries, most specific first.
var dateCandidates = []string{
	"YYYY-MM-DD HH:mm:ss ZZ", "YYYY-MM-DDTHH:mm:ssZ", "YYYY-MM-DD HH:mm:ss", "YYYY-MM-DD HH:mm",
	"MM/DD/YYYY HH:mm:ss", "MM/DD/YYYY hh:mm A", "M/D/YYYY h:mm A", "M/D/YYYY H:mm:ss", "M/D/YYYY H:mm",
	"DD.MM.YYYY HH:mm", "YYYY-MM-DD", "MM/DD/YYYY", "M/D/YYYY", "DD.MM.YYYY",
}

// Guess inspects the sources and returns a starting mapping in which every
// guess is marked "# REVIEW". Values of card-like, email and phone columns
// never appear in it.
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
			ts.name = sourceName(t.Base(), used)
			tables = append(tables, ts)
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
	ts := &tableStats{base: t.Base()}
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
			case looksLikeCard(v):
				cs.card++
			case emailRe.MatchString(v):
				cs.email++
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

// synonyms are normalised source header names per import column.
var synonyms = map[string][]string{
	legacy.FCustomerID:      {"customerid", "custid", "customernumber", "clientid", "customer", "userid", "customeruser", "id"},
	legacy.FOrderID:         {"orderid", "ordernumber", "orderno", "order", "name", "invoiceid"},
	legacy.FDateCreated:     {"datecreated", "createdat", "created", "createdutc", "orderdate", "transactiondate", "date", "timestamp", "processedat"},
	legacy.FMerchantTxnID:   {"merchanttxnid", "transactionid", "txnid", "chargeid", "paymentid", "gatewaytransactionid", "transid", "paymentreference"},
	legacy.FFirstName:       {"firstname", "fname", "billingfirstname", "givenname"},
	legacy.FLastName:        {"lastname", "lname", "surname", "billinglastname", "familyname"},
	legacy.FAddress1:        {"address1", "address", "street", "addressline1", "billingaddress1", "billingstreet", "cardaddressline1", "strasse", "street1", "addr1"},
	legacy.FAddress2:        {"address2", "addressline2", "billingaddress2", "cardaddressline2"},
	legacy.FCity:            {"city", "billingcity", "town", "cardaddresscity", "ort", "stadt"},
	legacy.FState:           {"state", "province", "region", "billingstate", "billingprovince", "cardaddressstate"},
	legacy.FCountry:         {"country", "countrycode", "billingcountry", "cardaddresscountry", "land"},
	legacy.FPostalCode:      {"postalcode", "zip", "zipcode", "postcode", "billingzip", "billingpostcode", "billingpostalcode", "cardaddresszip", "plz"},
	legacy.FPhoneNumber:     {"phonenumber", "phone", "telephone", "mobile", "billingphone", "telefon", "tel"},
	legacy.FEmailAddress:    {"emailaddress", "email", "billingemail", "customeremail"},
	legacy.FCardNumber:      {"cardnumber", "ccnumber", "pan", "creditcardnumber", "cardnumber", "cardno"},
	legacy.FCardExpiryMonth: {"cardexpirymonth", "expmonth", "expirymonth", "expirationmonth", "ccexpmonth", "cardexpmonth"},
	legacy.FCardExpiryYear:  {"cardexpiryyear", "expyear", "expiryyear", "expirationyear", "ccexpyear", "cardexpyear"},
	legacy.FSubTotal:        {"subtotal", "itemstotal", "producttotal"},
	legacy.FShipTotal:       {"shiptotal", "shipping", "shippingtotal", "shippingcost", "ordershipping"},
	legacy.FSalesTax:        {"salestax", "tax", "taxes", "ordertax", "taxtotal"},
	legacy.FTotalAmount:     {"totalamount", "total", "amount", "ordertotal", "grandtotal"},
	legacy.FResponseType:    {"responsetype", "status", "result", "response", "financialstatus", "transactionstatus"},
	legacy.FTxnType:         {"txntype", "transactiontype", "type", "kind"},
	legacy.FNextBillDate:    {"nextbilldate", "nextbilling", "nextbillingdate", "nextchargedate", "nextchargescheduledat", "nextrebill", "rebilldate"},
	legacy.FAuthCode:        {"authcode", "authorizationcode", "approvalcode"},
	legacy.FShipAddress1:    {"shipaddress1", "shippingaddress1", "shippingaddress", "shippingstreet"},
	legacy.FShipAddress2:    {"shipaddress2", "shippingaddress2"},
	legacy.FShipCity:        {"shipcity", "shippingcity"},
	legacy.FShipState:       {"shipstate", "shippingstate", "shippingprovince"},
	legacy.FShipCountry:     {"shipcountry", "shippingcountry"},
	legacy.FShipPostalCode:  {"shippostalcode", "shippingzip", "shippingpostcode", "shippingpostalcode"},
	legacy.FAffID:           {"affid", "affiliate", "affiliateid"},
	legacy.FTrackingNumber:  {"trackingnumber", "tracking"},
	legacy.FExternalToken:   {"externaltoken", "token", "customervaultid", "vaultid", "paymenttoken", "cardid"},
	legacy.FQuantity:        {"quantity", "qty", "lineitemquantity"},
}

var (
	fullNameSyn = []string{"fullname", "name", "customername", "billingname", "cardholdername", "cardname", "nameoncard"}
	expirySyn   = []string{"exp", "expiry", "expiration", "ccexp", "expdate", "expirationdate", "cardexpiry", "cardexp"}
	productSyn  = []string{"sku", "productsku", "lineitemsku", "product", "productid", "plan", "planid", "item", "itemsku"}
	gatewaySyn  = []string{"gateway", "mid", "merchant", "merchantaccount", "processor", "paymentgateway", "paymentmethod"}
)

type guess struct {
	col  *columnStats
	tbl  *tableStats
	why  string
	spec string // YAML flow mapping or scalar
}

func (g guess) ref(driving *tableStats) string {
	if g.tbl == driving {
		return g.col.name
	}
	return g.tbl.name + "." + g.col.name
}

func findSyn(tables []*tableStats, syn []string, accept func(*columnStats) bool) (*columnStats, *tableStats) {
	for _, s := range syn {
		for _, t := range tables {
			for _, c := range t.cols {
				if c.norm == s && (accept == nil || accept(c)) {
					return c, t
				}
			}
		}
	}
	return nil, nil
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func renderGuess(tables []*tableStats) string {
	drv := tables[0]
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Starting mapping written by konduit convert --init. Every guess is\n")
	w("# marked REVIEW: check it, fix it, then delete the marker. The format is\n")
	w("# described in docs/mapping.md.\n")
	w("timezone: \"\"   # REVIEW: your Konnektive account's time zone, e.g. America/New_York\n")
	w("source_timezone: \"\"   # REVIEW: the zone the sources' times are in, when they carry no offset\n")
	w("sources:\n")
	for _, t := range tables {
		w("  %s: {file: %s}   # REVIEW: %d columns sampled\n", t.name, q(t.base), len(t.cols))
		for _, line := range detected(t) {
			w("  #   %s\n", line)
		}
	}
	var maps []string
	w("transactions:\n  from: %s\n", drv.name)
	if len(tables) > 1 {
		w("  join:\n")
		for _, t := range tables[1:] {
			key, on := joinGuess(drv, t)
			if key == "" {
				w("    - {source: %s, key: null, on: null, required: true}   # REVIEW: no shared column found; name the key columns\n", t.name)
				continue
			}
			w("    - {source: %s, key: %s, on: %s, required: true}   # REVIEW: both have this column\n", t.name, q(key), q(on))
		}
	}
	w("  columns:\n")
	spec := legacy.SpecFor(legacy.Transactions)
	accept := func(name string) func(*columnStats) bool {
		return func(c *columnStats) bool {
			switch name {
			case legacy.FEmailAddress:
				return c.email > 0
			case legacy.FCardNumber:
				return c.card > 0
			case legacy.FDateCreated, legacy.FNextBillDate:
				return c.layout != ""
			}
			return true
		}
	}
	ordered := append([]*tableStats{drv}, tables[1:]...)
	for _, col := range spec.Columns {
		name := col.Name
		var g *guess
		if c, t := findSyn(ordered, synonyms[name], accept(name)); c != nil {
			g = &guess{col: c, tbl: t, why: fmt.Sprintf("header %q", c.name)}
		}
		switch name {
		case legacy.FCardNumber:
			if g == nil {
				for _, t := range ordered {
					for _, c := range t.cols {
						if c.card > 0 && c.card*2 >= c.nonEmpty && g == nil {
							g = &guess{col: c, tbl: t, why: fmt.Sprintf("%q holds card-like numbers", c.name)}
						}
					}
				}
			}
			if g != nil {
				g.spec = fmt.Sprintf("{column: %s, format: card}", q(g.ref(drv)))
			}
		case legacy.FDateCreated:
			if g == nil {
				g = firstWhere(ordered, func(c *columnStats) bool { return c.layout != "" && c.clock }, "holds date-times")
			}
		case legacy.FEmailAddress:
			if g == nil {
				g = firstWhere(ordered, func(c *columnStats) bool { return c.email > 0 && c.email*2 >= c.nonEmpty }, "holds email addresses")
			}
		case legacy.FFirstName, legacy.FLastName:
			if g == nil {
				if c, t := findSyn(ordered, fullNameSyn, nil); c != nil {
					f := fmtFirstName
					if name == legacy.FLastName {
						f = fmtLastName
					}
					g = &guess{col: c, tbl: t, why: fmt.Sprintf("full name in %q, split", c.name)}
					g.spec = fmt.Sprintf("{column: %s, format: %s}", q(g.ref(drv)), f)
				}
			}
		case legacy.FCardExpiryMonth, legacy.FCardExpiryYear:
			if g == nil {
				if c, t := findSyn(ordered, expirySyn, nil); c != nil {
					f := fmtExpMonth
					if name == legacy.FCardExpiryYear {
						f = fmtExpYear
					}
					g = &guess{col: c, tbl: t, why: fmt.Sprintf("expiry in %q", c.name)}
					g.spec = fmt.Sprintf("{column: %s, format: %s}", q(g.ref(drv)), f)
				}
			} else {
				f := fmtExpMonth
				if name == legacy.FCardExpiryYear {
					f = fmtExpYear
				}
				g.spec = fmt.Sprintf("{column: %s, format: %s}", q(g.ref(drv)), f)
			}
		case legacy.FCampaignID, legacy.FProductID:
			if c, t := findSyn(ordered, productSyn, nil); c != nil {
				g = &guess{col: c, tbl: t, why: fmt.Sprintf("products in %q: fill in the Konnektive ids in maps.products", c.name)}
				g.spec = fmt.Sprintf("{column: %s, map: products}", q(g.ref(drv)))
				if name == legacy.FCampaignID {
					maps = append(maps, renderMap("products", c, `{campaignId: null, productId: null}`))
				}
			}
		case legacy.FMerchantID:
			if c, t := findSyn(ordered, gatewaySyn, nil); c != nil {
				g = &guess{col: c, tbl: t, why: fmt.Sprintf("gateways in %q: fill in Konnektive merchant ids in maps.merchants", c.name)}
				g.spec = fmt.Sprintf("{column: %s, map: merchants}", q(g.ref(drv)))
				maps = append(maps, renderMap("merchants", c, "null"))
			}
		case legacy.FPaySource:
			w("    paySource: {const: CREDITCARD}   # REVIEW: CHECK for bank accounts, PREPAID otherwise\n")
			continue
		case legacy.FResponseType, legacy.FResponseText:
			c, t := findSyn(ordered, synonyms[legacy.FResponseType], nil)
			if c != nil && !c.tooMany {
				g = &guess{col: c, tbl: t, why: fmt.Sprintf("status words in %q", c.name)}
				g.spec = fmt.Sprintf("{column: %s, map: response}", q(g.ref(drv)))
				if name == legacy.FResponseType {
					maps = append(maps, renderWordMap("response", c, map[string]string{
						"success": "SUCCESS", "succeeded": "SUCCESS", "approved": "SUCCESS", "paid": "SUCCESS", "complete": "SUCCESS", "completed": "SUCCESS", "settled": "SUCCESS", "captured": "SUCCESS", "bezahlt": "SUCCESS", "pagado": "SUCCESS", "paye": "SUCCESS",
						"declined": "DECLINE", "decline": "DECLINE", "failed": "DECLINE", "error": "DECLINE", "denied": "DECLINE", "abgelehnt": "DECLINE", "rechazado": "DECLINE",
					}))
				}
			} else {
				w("    %s: {const: SUCCESS}   # REVIEW: no status column found; is every row a success?\n", name)
				continue
			}
		case legacy.FTxnType:
			if g != nil && !g.col.tooMany {
				g.spec = fmt.Sprintf("{column: %s, map: txn_type}", q(g.ref(drv)))
				maps = append(maps, renderWordMap("txn_type", g.col, map[string]string{
					"sale": "SALE", "charge": "SALE", "purchase": "SALE", "payment": "SALE", "auth": "AUTHORIZE", "authorize": "AUTHORIZE", "authorization": "AUTHORIZE",
					"capture": "CAPTURE", "refund": "REFUND", "credit": "REFUND", "return": "REFUND",
				}))
			} else {
				w("    txnType: {const: SALE}   # REVIEW: no transaction-kind column found\n")
				continue
			}
		case legacy.FIsActiveRecurring:
			w("    isActiveRecurring: null   # REVIEW: required: 1 for active subscriptions (a const, or a map on a status column)\n")
			continue
		case legacy.FBillShipSame:
			w("    billShipSame: {const: \"1\"}   # REVIEW: \"0\" and map the ship* columns when shipping addresses differ\n")
			continue
		case legacy.FPhoneNumber:
			if g != nil {
				g.spec = fmt.Sprintf("{column: %s, format: phone, dummy: \"1111111111\"}", q(g.ref(drv)))
			} else {
				w("    phoneNumber: {dummy: \"1111111111\"}   # REVIEW: no phone column; the process FAQ's dummy value\n")
				continue
			}
		case legacy.FCountry, legacy.FShipCountry:
			if g != nil {
				g.spec = fmt.Sprintf("{column: %s, format: country}", q(g.ref(drv)))
			}
		case legacy.FPostalCode, legacy.FShipPostalCode:
			if g != nil {
				g.spec = fmt.Sprintf("{column: %s, format: postal}", q(g.ref(drv)))
			}
		}
		if g != nil && g.spec == "" {
			switch {
			case col.Type == legacy.Datetime && g.col.layout != "":
				g.spec = fmt.Sprintf("{column: %s, format: datetime, layouts: [%s]}", q(g.ref(drv)), q(g.col.layout))
				g.why += fmt.Sprintf(", layout %s", g.col.layout)
			case col.Type == legacy.Date && g.col.layout != "":
				g.spec = fmt.Sprintf("{column: %s, format: date, layouts: [%s]}", q(g.ref(drv)), q(g.col.layout))
				g.why += fmt.Sprintf(", layout %s", g.col.layout)
			case col.Type == legacy.Decimal || col.Type == legacy.Money2:
				g.spec = fmt.Sprintf("{column: %s, format: amount}", q(g.ref(drv)))
			case col.Type == legacy.Phone:
				g.spec = fmt.Sprintf("{column: %s, format: phone}", q(g.ref(drv)))
			default:
				g.spec = q(g.ref(drv))
			}
		}
		switch {
		case g != nil:
			w("    %s: %s   # REVIEW: %s\n", name, g.spec, g.why)
		case col.Required.Always && !col.Required.EmptyIsWarning:
			w("    %s: null   # REVIEW: required (%s); no source column found\n", name, col.SeedType)
		case !col.Required.Optional():
			w("    # %s:   # REVIEW: required when %s\n", name, col.Required)
		}
	}
	if len(maps) > 0 {
		w("maps:\n")
		for _, m := range maps {
			b.WriteString(m)
		}
	}
	return b.String()
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
		{"phones", func(c *columnStats) bool { return c.phone > 0 && c.phone*2 >= c.nonEmpty && c.card == 0 }, nil},
		{"card-like (Luhn-valid 13-19 digits)", func(c *columnStats) bool { return c.card > 0 }, nil},
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

func firstWhere(tables []*tableStats, f func(*columnStats) bool, why string) *guess {
	for _, t := range tables {
		for _, c := range t.cols {
			if f(c) {
				return &guess{col: c, tbl: t, why: fmt.Sprintf("%q %s", c.name, why)}
			}
		}
	}
	return nil
}

func sortedValues(c *columnStats) []string {
	var vals []string
	for v := range c.distinct {
		vals = append(vals, v)
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
		fmt.Fprintf(&b, "    %s: %s   # REVIEW\n", q(cardnum.MaskText(v)), empty)
	}
	return b.String()
}

func renderWordMap(name string, c *columnStats, words map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:   # REVIEW: values seen in %q\n", name, c.name)
	for _, v := range sortedValues(c) {
		v := cardnum.MaskText(v) // a mapping file is no place for a card number
		if w, ok := words[strings.ToLower(v)]; ok {
			fmt.Fprintf(&b, "    %s: %s   # REVIEW\n", q(v), w)
		} else {
			fmt.Fprintf(&b, "    %s: null   # REVIEW: unknown word\n", q(v))
		}
	}
	return b.String()
}

// joinGuess finds the column pair whose sampled values overlap most: the
// joined table's key and the driving table's column that names it. Card-like
// columns are never keys.
func joinGuess(drv, t *tableStats) (key, on string) {
	best := 0
	for _, c := range t.cols {
		if c.card > 0 || len(c.values) == 0 {
			continue
		}
		for _, d := range drv.cols {
			if d.card > 0 {
				continue
			}
			n := 0
			for v := range c.values {
				if d.values[v] {
					n++
				}
			}
			// Most of the joined side's sampled keys must appear.
			if n > best && n*2 >= len(c.values) {
				best, key, on = n, c.name, d.name
			}
		}
	}
	return key, on
}
