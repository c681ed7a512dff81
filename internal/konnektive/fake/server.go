package fake

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Endpoint paths, without slashes.
const (
	pathTransactions = "transactions/query"
	pathOrders       = "order/query"
	pathCustomers    = "customer/query"
	pathPurchases    = "purchase/query"
	pathCampaigns    = "campaign/query"
	pathProducts     = "product/query"
	pathSummary      = "transactions/summary"
)

// Messages, as public sources quote them.
const (
	msgLogin      = "Invalid login credentials"
	msgPermission = "API user does not have access to this endpoint"
	msgTransient  = "A temporary error occurred. Please try again."
	msgUnknown    = "Invalid API method"
)

// noMatch is the empty answer of each endpoint.
var noMatch = map[string]string{
	pathTransactions: "No transactions matching those parameters could be found",
	pathOrders:       "No orders matching those parameters could be found",
	pathCustomers:    "No customers matching those parameters could be found",
	pathPurchases:    "No purchases matching those parameters could be found",
	pathCampaigns:    "No campaigns matching those parameters could be found",
	pathProducts:     "No products matching those parameters could be found",
	pathSummary:      "No records matching those parameters could be found",
}

var kindOf = map[string]kind{
	pathTransactions: kTxn,
	pathOrders:       kOrder,
	pathCustomers:    kCustomer,
	pathPurchases:    kPurchase,
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs++
	n := s.reqs
	s.mu.Unlock()
	// The body is read first, so a caller that hangs up is noticed even
	// while a fault keeps the answer waiting.
	form, formErr := parseForm(r)
	if s.fault(w, r, n) {
		return
	}
	if s.limiter != nil && !s.limiter.allow() {
		s.tooMany(w)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeError(w, "Method not allowed")
		return
	}
	if formErr != nil {
		writeError(w, "Could not read the request")
		return
	}
	path := trimPath(r.URL.Path)
	if _, ok := noMatch[path]; !ok {
		writeError(w, msgUnknown)
		return
	}
	if msg := s.authorize(form, r.RemoteAddr, path); msg != "" {
		writeError(w, msg)
		return
	}
	body, msg := s.answer(path, form)
	if msg != "" {
		writeError(w, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// fault injects the fault scheduled for request n, if any.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, n int64) bool {
	f := &s.opts.Faults
	every := func(k int) bool { return k > 0 && n%int64(k) == 0 }
	switch {
	case every(f.DropEvery):
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return true
		}
		if (n/int64(f.DropEvery))%2 == 0 {
			// Mid-body: a promise of 4096 bytes, a few of them, then gone.
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"result\":\"SUCCESS\",\"message\":{\"totalResults\":")
			buf.Flush()
		}
		conn.Close()
		return true
	case every(f.HTML502Every):
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
		return true
	case every(f.RateLimitEvery):
		s.tooMany(w)
		return true
	case every(f.TransientEvery):
		writeError(w, msgTransient)
		return true
	case every(f.SlowEvery):
		t := time.NewTimer(f.Slow)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
	}
	return false
}

func (s *Server) tooMany(w http.ResponseWriter) {
	secs := int((s.opts.Faults.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprint(w, `{"result":"ERROR","message":"Too many requests"}`)
}

func writeError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	b := append([]byte(`{"result":"ERROR","message":`), appendString(nil, msg)...)
	w.Write(append(b, '}'))
}

// parseForm merges the query string with an urlencoded or multipart body.
func parseForm(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, err
		}
	} else if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

// authorize checks the login, then the caller's address, then the
// endpoint permission; it returns the refusal, or "".
func (s *Server) authorize(form url.Values, remote, path string) string {
	login := form.Get("loginId")
	pw := form.Get("password")
	okLogin := subtle.ConstantTimeCompare([]byte(login), []byte(s.opts.LoginID)) == 1
	okPW := subtle.ConstantTimeCompare([]byte(pw), []byte(s.opts.Password)) == 1
	if !okLogin || !okPW {
		return msgLogin
	}
	if len(s.allow) > 0 {
		addr, host := remoteAddr(remote)
		allowed := false
		for _, p := range s.allow {
			if addr.IsValid() && p.Contains(addr) {
				allowed = true
				break
			}
		}
		if !allowed {
			return "IP must be whitelisted - " + host
		}
	}
	if s.denied[path] {
		return msgPermission
	}
	return ""
}

// query is a parsed request.
type query struct {
	path      string
	form      url.Values
	d0, d1    int32
	dates     bool
	byUpdated bool
	perPage   int
	page      int
	desc      bool
	// lo and hi bound the wall-clock key when startTime/endTime are
	// honoured; "" otherwise.
	lo, hi string
}

func (s *Server) parseQuery(path string, form url.Values) (*query, string) {
	q, msg := parseQuery(path, form)
	if msg != "" || !s.opts.HonourTimes || !q.dates {
		return q, msg
	}
	st, et := form.Get("startTime"), form.Get("endTime")
	if st == "" && et == "" {
		return q, ""
	}
	day := func(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02") }
	if st != "" {
		if _, err := time.Parse("15:04", st); err != nil {
			return nil, "Invalid startTime"
		}
		q.lo = day(q.d0) + " " + st + ":00"
	}
	if et != "" {
		if _, err := time.Parse("15:04", et); err != nil {
			return nil, "Invalid endTime"
		}
		q.hi = day(q.d1) + " " + et + ":59"
	}
	return q, ""
}

func parseQuery(path string, form url.Values) (*query, string) {
	q := &query{path: path, form: form, perPage: 25, page: 1}
	sd, ed := form.Get("startDate"), form.Get("endDate")
	if sd != "" || ed != "" {
		if sd == "" || ed == "" {
			return nil, "startDate and endDate are required together"
		}
		var err error
		if q.d0, err = parseDay(sd); err != nil {
			return nil, "Invalid startDate"
		}
		if q.d1, err = parseDay(ed); err != nil {
			return nil, "Invalid endDate"
		}
		q.dates = true
	}
	switch drt := form.Get("dateRangeType"); drt {
	case "", "dateCreated":
	case "dateUpdated":
		q.byUpdated = true
	case "mostRecentActivity":
		if path != pathCustomers {
			return nil, "Invalid dateRangeType"
		}
		q.byUpdated = true
	case "txnDate":
		if path != pathSummary {
			return nil, "Invalid dateRangeType"
		}
	default:
		return nil, "Invalid dateRangeType"
	}
	if v := form.Get("resultsPerPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, "Invalid resultsPerPage"
		}
		if n > 0 {
			q.perPage = min(n, 200)
		}
	}
	if v := form.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, "Invalid page"
		}
		q.page = max(n, 1)
	}
	switch form.Get("sortDir") {
	case "", "1":
	case "0":
		q.desc = true
	default:
		return nil, "Invalid sortDir"
	}
	return q, ""
}

// parseDay reads MM/DD/YYYY, M/D/YY or YYYY-MM-DD[ HH:MM:SS], ignoring any
// time: Konnektive filters by whole days.
func parseDay(s string) (int32, error) {
	s = strings.TrimSpace(s)
	var y, m, d int
	var err error
	if strings.Contains(s, "/") {
		parts := strings.Split(s, "/")
		if len(parts) != 3 {
			return 0, errors.New("want M/D/Y")
		}
		last, _, _ := strings.Cut(parts[2], " ")
		if m, err = digits(parts[0], 1, 2); err != nil {
			return 0, err
		}
		if d, err = digits(parts[1], 1, 2); err != nil {
			return 0, err
		}
		if y, err = digits(last, 2, 4); err != nil || len(last) == 3 {
			return 0, errors.New("bad year")
		}
		if len(last) == 2 {
			y += 2000
		}
	} else {
		day, rest, _ := strings.Cut(s, " ")
		if rest != "" {
			if _, err := time.Parse("15:04:05", rest); err != nil {
				if _, err := time.Parse("15:04", rest); err != nil {
					return 0, errors.New("bad time")
				}
			}
		}
		t, err := time.Parse("2006-01-02", day)
		if err != nil {
			return 0, err
		}
		y, m, d = t.Year(), int(t.Month()), t.Day()
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return 0, errors.New("no such day")
	}
	return civilDays(y, m, d), nil
}

func digits(s string, lo, hi int) (int, error) {
	if len(s) < lo || len(s) > hi {
		return 0, errors.New("bad number")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad number")
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, nil
}

// answer computes a SUCCESS body, or an ERROR message.
func (s *Server) answer(path string, form url.Values) ([]byte, string) {
	q, msg := s.parseQuery(path, form)
	if msg != "" {
		return nil, msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock()
	s.advance(now)
	switch path {
	case pathSummary:
		return s.summary(q)
	case pathCampaigns, pathProducts:
		return s.catalogPage(q)
	}
	k := kindOf[path]
	total, rows, msg := s.list(k, q)
	if msg != "" {
		return nil, msg
	}
	if total == 0 {
		return nil, noMatch[path]
	}
	body := s.page(q, total, rows)
	if q.byUpdated && s.opts.Faults.DriftEvery > 0 && len(rows) > 0 && q.page*q.perPage < total {
		s.driftPages++
		limit := int64(s.opts.Faults.DriftLimit)
		if s.driftPages%int64(s.opts.Faults.DriftEvery) == 0 && (limit == 0 || s.drifts < limit) && s.touch(rows[0], now) {
			s.drifts++
		}
	}
	return body, ""
}

// page wraps rendered rows in the success envelope.
func (s *Server) page(q *query, total int, rows []*rec) []byte {
	w := &jw{b: make([]byte, 0, 1024+len(rows)*1500)}
	w.b = append(w.b, `{"result":"SUCCESS","message":{"totalResults":`...)
	w.b = strconv.AppendInt(w.b, int64(total), 10)
	w.b = append(w.b, `,"resultsPerPage":`...)
	w.b = strconv.AppendInt(w.b, int64(q.perPage), 10)
	w.b = append(w.b, `,"page":`...)
	w.b = strconv.AppendInt(w.b, int64(q.page), 10)
	w.b = append(w.b, `,"data":[`...)
	for i, r := range rows {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		s.render(w, r)
	}
	w.b = append(w.b, "]}}"...)
	return w.b
}

// idFilters select rows by id without a date range.
var idFilters = []string{"customerId", "orderId", "purchaseId", "transactionId"}

// list returns the total and the requested page of rows of kind k.
func (s *Server) list(k kind, q *query) (int, []*rec, string) {
	preds := s.predicates(k, q.form)
	ix := s.created[k]
	if q.byUpdated {
		ix = s.updated[k]
	}
	if q.lo != "" || q.hi != "" {
		preds = append(preds, func(r *rec) bool {
			key := ix.key(r)
			return (q.lo == "" || key >= q.lo) && (q.hi == "" || key <= q.hi)
		})
	}
	var cands []*rec
	byID := false
	for _, f := range idFilters {
		if v := q.form.Get(f); v != "" {
			cands = s.candidates(k, f, v)
			byID = true
			break
		}
	}
	if !byID && !q.dates {
		return 0, nil, "startDate and endDate are required"
	}
	off := (q.page - 1) * q.perPage
	if !byID && len(preds) == 0 {
		total := ix.count(q.d0, q.d1)
		if off >= total {
			return total, nil, ""
		}
		return total, ix.page(q.d0, q.d1, off, q.perPage, q.desc), ""
	}
	if !byID {
		ix.each(q.d0, q.d1, func(r *rec) { cands = append(cands, r) })
	} else {
		keep := cands[:0]
		for _, r := range cands {
			if r.state == stHidden {
				continue
			}
			if q.dates {
				d := dayOf(ix.key(r))
				if d < q.d0 || d > q.d1 {
					continue
				}
			}
			keep = append(keep, r)
		}
		cands = keep
		sort.Slice(cands, func(i, j int) bool {
			return less(ix.key(cands[i]), cands[i], ix.key(cands[j]), cands[j])
		})
	}
	out := cands[:0]
	for _, r := range cands {
		ok := true
		for _, p := range preds {
			if !p(r) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	total := len(out)
	if q.desc {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	if off >= total {
		return total, nil, ""
	}
	return total, out[off:min(total, off+q.perPage)], ""
}

// candidates are the rows of kind k tied to the id filter f=v.
func (s *Server) candidates(k kind, f, v string) []*rec {
	var owner *rec
	switch f {
	case "customerId":
		owner = s.byID[kCustomer][v]
	case "orderId":
		owner = s.byID[kOrder][v]
	case "purchaseId":
		owner = s.byID[kPurchase][v]
	case "transactionId":
		owner = s.byID[kTxn][v]
	}
	if owner == nil {
		return nil
	}
	var out []*rec
	for _, r := range owner.cust.recs {
		if r.kind != k {
			continue
		}
		match := false
		switch f {
		case "customerId":
			match = true
		case "orderId":
			match = r == owner || (r.txn != nil && r.txn.OrderID == v) || (r.pur != nil && r.pur.OrderID == v) || (r.kind == kCustomer)
		case "purchaseId":
			match = r == owner || (r.txn != nil && r.txn.PurchaseID == v) || (r.order != nil && r.order.ID == owner.pur.OrderID) || (r.kind == kCustomer)
		case "transactionId":
			match = r == owner || (r.order != nil && r.order.ID == owner.txn.OrderID) || (r.pur != nil && r.pur.ID == owner.txn.PurchaseID) || (r.kind == kCustomer)
		}
		if match {
			out = append(out, r)
		}
	}
	return out
}

// filterable names the fields a query may filter on, by kind.
var filterable = [nKinds][]string{
	kCustomer: {"emailAddress", "phoneNumber", "firstName", "lastName", "country"},
	kOrder:    {"orderStatus", "orderType", "campaignId", "affId", "emailAddress", "country"},
	kPurchase: {"status", "campaignId", "productId"},
	kTxn:      {"txnType", "responseType", "paySource", "isChargedback", "campaignId", "merchantId", "affId", "cardLast4", "emailAddress", "country", "orderType"},
}

func (s *Server) predicates(k kind, form url.Values) []func(*rec) bool {
	var preds []func(*rec) bool
	for _, f := range filterable[k] {
		want := form.Get(f)
		if want == "" {
			continue
		}
		preds = append(preds, func(r *rec) bool { return strings.EqualFold(field(r, f), want) })
	}
	return preds
}

// field is the value of a filterable field as the row shows it now.
func field(r *rec, f string) string {
	c := &r.cust.c
	switch f {
	case "emailAddress":
		return c.Email
	case "phoneNumber":
		return c.Phone
	case "firstName":
		return c.FirstName
	case "lastName":
		return c.LastName
	}
	switch r.kind {
	case kCustomer:
		if f == "country" {
			return c.Country
		}
	case kOrder:
		o := r.order
		switch f {
		case "orderStatus":
			return orderStatus(r)
		case "orderType":
			return o.Type
		case "campaignId":
			return o.CampaignID
		case "affId":
			return o.AffID
		case "country":
			return o.Country
		}
	case kPurchase:
		p := r.pur
		switch f {
		case "status":
			return purchaseStatus(r)
		case "campaignId":
			return p.CampaignID
		case "productId":
			return p.ProductID
		}
	case kTxn:
		t := r.txn
		switch f {
		case "txnType":
			return t.TxnType
		case "responseType":
			return t.ResponseType
		case "paySource":
			return t.PaySource
		case "isChargedback":
			if chargedBack(r) {
				return "1"
			}
			return "0"
		case "campaignId":
			return t.CampaignID
		case "merchantId":
			return t.MerchantID
		case "affId":
			return t.AffID
		case "cardLast4":
			return t.CardLast4
		case "country":
			return t.Country
		case "orderType":
			return txnOrderType(t)
		}
	}
	return ""
}

// chargedBack reports whether the row shows its chargeback yet.
func chargedBack(r *rec) bool { return r.txn.Chargedback && r.state == stFinal }

// orderStatus is the order's status now: a refund or cancellation shows
// only from its dateUpdated.
func orderStatus(r *rec) string {
	st := r.order.Status
	if r.state != stFinal && (st == "REFUNDED" || st == "CANCELLED") {
		return "COMPLETE"
	}
	return st
}

func purchaseStatus(r *rec) string {
	st := r.pur.Status
	if r.state != stFinal && st != "ACTIVE" && st != "" {
		return "ACTIVE"
	}
	return st
}

func txnOrderType(t *crm.Transaction) string {
	if t.BillingCycle > 1 {
		return "RECURRING"
	}
	return "NEW_SALE"
}
