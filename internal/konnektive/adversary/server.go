package adversary

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Summary is the daily report endpoint, /transactions/summary/ (minimal).
const Summary Entity = "transactions/summary"

// Server is the adversarial Konnektive API: an http.Handler over a
// generated dataset and a virtual clock. It is safe for concurrent use.
type Server struct {
	mu    sync.Mutex
	cfg   Config
	w     *world
	seen  map[string]int // request key -> times seen
	log   []Request
	stats Stats
}

// New generates the dataset of cfg and returns the server.
func New(cfg Config) (*Server, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("adversary: %w", err)
	}
	w, err := newWorld(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, w: w, seen: map[string]int{}}
	s.w.cfg = &s.cfg
	s.stats.PerEntity = map[Entity]int{}
	return s, nil
}

// Location is the account zone.
func (s *Server) Location() *time.Location { return s.cfg.Location }

// Credentials are the login the server accepts.
func (s *Server) Credentials() (loginID, password string) { return s.cfg.LoginID, s.cfg.Password }

// Now is the virtual clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.now
}

// Advance moves the clock forward by d and runs what happened meanwhile:
// new customers (Config.ArrivalsPerDay), their sales, rebills, late refunds
// and chargebacks that restate the original rows.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.advance(d)
}

// BusyDates are the days with many arrivals, YYYY-MM-DD.
func (s *Server) BusyDates() []string {
	var out []string
	for _, d := range s.w.busy {
		out = append(out, d.String())
	}
	return out
}

// Request is one logged request.
type Request struct {
	Seq         int        // 1-based, every request counted
	Method      string     // GET or POST
	Path        string     // as asked
	Entity      Entity     // "" for an unknown path
	StartDate   string     // as sent
	EndDate     string     // as sent
	RangeType   string     // as sent; "" means dateCreated
	Page        int        // as understood (1 when absent)
	PerPage     int        // as served (25 when absent, at most 200)
	Params      url.Values // every parameter but loginId and password
	Kinds       []Kind     // behaviours applied to it
	Faulted     bool       // no usable answer by design: a transport fault (not Slow) or an IP/permission refusal
	Outcome     string     // "data", "empty", "error: <message>" or the fault kind
	Rows        int        // rows served
	TotalResult int        // totalResults sent, after any lie; -1 when none
}

// Stats counts requests.
type Stats struct {
	Requests  int
	PerEntity map[Entity]int
	Faulted   int // Request.Faulted
	Slow      int
	BadLogins int
	Served    int // answered with rows, an empty answer or a summary
}

// Requests is a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.Kinds = slices.Clone(r.Kinds)
		r.Params = cloneValues(r.Params)
		out[i] = r
	}
	return out
}

// Stats is a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.PerEntity = map[Entity]int{}
	for k, v := range s.stats.PerEntity {
		st.PerEntity[k] = v
	}
	return st
}

// ResetLog clears the request log and the counters (not the data, and not
// the memory of requests already seen, so later draws stay as they were).
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
	s.stats = Stats{PerEntity: map[Entity]int{}}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func entityOf(path string) (Entity, bool) {
	if path == Summary.Path() {
		return Summary, true
	}
	for _, e := range Entities {
		if path == e.Path() {
			return e, true
		}
	}
	return "", false
}

func isTransport(k Kind) bool { return slices.Contains(TransportFaults, k) }

// reply is an answer being built.
type reply struct {
	status int
	header http.Header
	body   []byte
	fault  Kind // a transport fault to apply when writing
	delay  time.Duration
}

func errorBody(msg string) []byte {
	o := obj{}
	o.str("result", "ERROR")
	o.str("message", msg)
	return o.bytes()
}

func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		_ = r.ParseMultipartForm(1 << 20)
	} else {
		_ = r.ParseForm()
	}
	rep := s.answer(r)
	if rep.delay > 0 {
		t := time.NewTimer(rep.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.write(rw, rep)
}

// answer logs the request and builds its reply under the lock.
func (s *Server) answer(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	form := r.Form
	params := url.Values{}
	for k, v := range form {
		if k != "loginId" && k != "password" {
			params[k] = slices.Clone(v)
		}
	}
	ent, known := entityOf(r.URL.Path)
	s.stats.Requests++
	req := Request{
		Seq:         s.stats.Requests,
		Method:      r.Method,
		Path:        r.URL.Path,
		Entity:      ent,
		StartDate:   form.Get("startDate"),
		EndDate:     form.Get("endDate"),
		RangeType:   form.Get("dateRangeType"),
		Page:        posInt(form.Get("page"), 1),
		PerPage:     min(posInt(form.Get("resultsPerPage"), 25), 200),
		Params:      params,
		TotalResult: -1,
	}
	if known {
		s.stats.PerEntity[ent]++
	}
	rep := s.decide(r, &req, known, ent, params)
	if rep.delay > 0 {
		s.stats.Slow++
	}
	if req.Faulted {
		s.stats.Faulted++
	}
	if req.Outcome == "data" || req.Outcome == "empty" {
		s.stats.Served++
	}
	s.log = append(s.log, req)
	return rep
}

func jsonReply(body []byte) reply {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return reply{status: http.StatusOK, header: h, body: body}
}

func (s *Server) decide(r *http.Request, req *Request, known bool, ent Entity, params url.Values) reply {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		req.Outcome = "error: method"
		return jsonReply(errorBody("Method not allowed"))
	}
	if !known {
		req.Outcome = "error: unknown endpoint"
		return jsonReply(errorBody("Invalid API endpoint"))
	}
	if s.cfg.DenyIP {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		req.Faulted = true
		msg := "IP must be whitelisted - " + host
		req.Outcome = "error: " + msg
		return jsonReply(errorBody(msg))
	}
	if r.Form.Get("loginId") != s.cfg.LoginID || r.Form.Get("password") != s.cfg.Password {
		s.stats.BadLogins++
		req.Outcome = "error: Invalid login credentials"
		return jsonReply(errorBody("Invalid login credentials"))
	}
	if slices.Contains(s.cfg.DenyEndpoints, ent) {
		req.Faulted = true
		msg := "API user does not have access to this endpoint"
		req.Outcome = "error: " + msg
		return jsonReply(errorBody(msg))
	}

	key := string(ent) + "?" + params.Encode()
	occ := s.seen[key]
	s.seen[key]++
	kinds := s.kinds(req, key, occ)
	if ent == Summary {
		// Only transport faults apply to the summary.
		kinds = slices.DeleteFunc(kinds, func(k Kind) bool { return !isTransport(k) })
	}
	req.Kinds = kinds

	var fault Kind
	for _, k := range kinds {
		if isTransport(k) && fault == "" {
			fault = k
		}
	}
	if fault != "" && fault != FaultSlow {
		req.Faulted = true
		req.Outcome = string(fault)
	}

	var q query
	var msg string
	if ent == Summary {
		q, msg = s.parseSummary(r.Form)
	} else {
		q, msg = s.parse(ent, r.Form)
	}
	if msg != "" {
		if req.Outcome == "" {
			req.Outcome = "error: " + msg
		}
		return s.wrapFault(jsonReply(errorBody(msg)), fault, req)
	}
	for i, k := range kinds {
		switch k {
		case DriftBump, DriftBumpIn, DriftInsert:
			if ent != Summary {
				s.drift(k, q, key, occ*16+i)
			}
		}
	}
	var rep reply
	if ent == Summary {
		rep = s.summary(q, req)
	} else {
		rep = s.page(q, kinds, key, occ, req)
	}
	return s.wrapFault(rep, fault, req)
}

// wrapFault turns a reply into the fault's.
func (s *Server) wrapFault(rep reply, fault Kind, req *Request) reply {
	if fault != "" && fault != FaultSlow {
		req.Rows, req.TotalResult = 0, -1
	}
	switch fault {
	case "":
		return rep
	case FaultSlow:
		rep.delay = s.cfg.SlowDelay
		return rep
	case FaultHTML502:
		h := http.Header{}
		h.Set("Content-Type", "text/html; charset=utf-8")
		return reply{status: http.StatusBadGateway, header: h, body: []byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")}
	case Fault429:
		h := http.Header{}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Retry-After", s.cfg.RetryAfter)
		return reply{status: http.StatusTooManyRequests, header: h, body: []byte("<html><body><h1>429 Too Many Requests</h1></body></html>\n")}
	case FaultTransient:
		return jsonReply(errorBody("Temporary error, please retry"))
	case FaultCut, FaultCutEOF:
		rep.fault = fault
		return rep
	}
	return rep
}

// kinds draws the behaviours of one request.
func (s *Server) kinds(req *Request, key string, occ int) []Kind {
	if ks, ok := s.cfg.Schedule[req.Seq]; ok {
		return slices.Clone(ks)
	}
	c := &s.cfg
	seed := c.Seed
	var out []Kind
	choose := func(ns string, list []Kind) Kind {
		return list[int(unit(seed, ns+"-pick", key, occ)*float64(len(list)))]
	}
	if c.FaultRate > 0 && unit(seed, "fault", key, occ) < c.FaultRate {
		out = append(out, choose("fault", c.FaultKinds))
	}
	if req.Page >= 2 && c.DriftRate > 0 && unit(seed, "drift", key, occ) < c.DriftRate {
		out = append(out, choose("drift", c.DriftKinds))
	}
	if req.Page >= 2 && c.DuplicateRate > 0 && unit(seed, "dup", key, occ) < c.DuplicateRate {
		out = append(out, QuirkDuplicate)
	}
	if c.CountLieRate > 0 && unit(seed, "count", key, occ) < c.CountLieRate {
		out = append(out, choose("count", c.CountLieKinds))
	}
	if c.StringTotalRate > 0 && unit(seed, "string-total", key, occ) < c.StringTotalRate {
		out = append(out, QuirkStringTotal)
	}
	if c.BOMRate > 0 && unit(seed, "bom", key, occ) < c.BOMRate {
		out = append(out, QuirkBOM)
	}
	return out
}

// query is a parsed request.
type query struct {
	ent       Entity
	from, to  int // day numbers, both included
	dated     bool
	rangeType string
	filters   map[string]string
	desc      bool
	perPage   int
	page      int
	empty     bool // the range selects nothing (start after end)
}

var filterKeys = []string{"customerId", "orderId", "purchaseId", "transactionId", "txnType", "responseType", "orderStatus", "isChargedback"}

func posInt(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return def
	}
	return n
}

// parseDay reads MM/DD/YYYY, M/D/YY, M/D/YYYY or YYYY-MM-DD; a time after a
// space or a T is ignored.
func parseDay(s string) (day, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " T"); i >= 0 {
		s = s[:i]
	}
	var y, m, d int
	var err error
	atoi := func(p string) int {
		if err != nil {
			return 0
		}
		var n int
		n, err = strconv.Atoi(p)
		return n
	}
	switch {
	case strings.Count(s, "/") == 2:
		p := strings.Split(s, "/")
		m, d, y = atoi(p[0]), atoi(p[1]), atoi(p[2])
		switch len(p[2]) {
		case 2:
			y += 2000
		case 4:
		default:
			return day{}, false
		}
		if len(p[0]) > 2 || len(p[1]) > 2 {
			return day{}, false
		}
	case strings.Count(s, "-") == 2:
		p := strings.Split(s, "-")
		if len(p[0]) != 4 {
			return day{}, false
		}
		y, m, d = atoi(p[0]), atoi(p[1]), atoi(p[2])
	default:
		return day{}, false
	}
	if err != nil || m < 1 || m > 12 || d < 1 {
		return day{}, false
	}
	t := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return day{}, false
	}
	return day{y, time.Month(m), d}, true
}

func (s *Server) parseRange(f url.Values, q *query, idGiven bool) string {
	sd, ed := f.Get("startDate"), f.Get("endDate")
	if sd == "" && ed == "" && idGiven {
		return ""
	}
	if sd == "" || ed == "" {
		return "startDate and endDate are required"
	}
	a, ok := parseDay(sd)
	if !ok {
		return "Invalid startDate format. Use MM/DD/YYYY"
	}
	b, ok := parseDay(ed)
	if !ok {
		return "Invalid endDate format. Use MM/DD/YYYY"
	}
	q.dated, q.from, q.to = true, a.num(), b.num()
	if q.from > q.to {
		q.empty = true
	} else if s.cfg.MaxRangeDays > 0 && q.to-q.from+1 > s.cfg.MaxRangeDays {
		return fmt.Sprintf("Date range cannot exceed %d days", s.cfg.MaxRangeDays)
	}
	return ""
}

func (s *Server) parse(ent Entity, f url.Values) (query, string) {
	q := query{ent: ent, filters: map[string]string{}}
	idGiven := false
	for _, k := range filterKeys {
		if v := strings.TrimSpace(f.Get(k)); v != "" {
			q.filters[k] = v
			if strings.HasSuffix(k, "Id") {
				idGiven = true
			}
		}
	}
	if msg := s.parseRange(f, &q, idGiven); msg != "" {
		return q, msg
	}
	q.rangeType = f.Get("dateRangeType")
	switch q.rangeType {
	case "", "dateCreated":
		q.rangeType = "dateCreated"
	case "dateUpdated":
	case "mostRecentActivity":
		if ent != Customers {
			return q, "Invalid dateRangeType"
		}
	default:
		return q, "Invalid dateRangeType"
	}
	q.desc = strings.TrimSpace(f.Get("sortDir")) == "0"
	q.perPage = min(posInt(f.Get("resultsPerPage"), 25), 200)
	q.page = posInt(f.Get("page"), 1)
	return q, ""
}

// rangeTime is the row's time the range type filters and sorts on.
func rangeTime(r *rec, rangeType string) time.Time {
	switch rangeType {
	case "dateUpdated":
		return r.updated
	case "mostRecentActivity":
		return r.activity
	}
	return r.created
}

// wallKey orders instants by their wall clock in loc, as a DATETIME column
// without a zone would: in the repeated hour of a fall-back day, 01:05 EST
// sorts before 01:57 EDT.
func wallKey(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	h, mi, sec := t.In(loc).Clock()
	return time.Date(y, m, d, h, mi, sec, 0, time.UTC).Unix()
}

// match lists the rows of q in the order served.
func (s *Server) match(q query) []*rec {
	w := s.w
	if q.empty {
		return nil
	}
	type keyed struct {
		r   *rec
		key int64
	}
	var rows []keyed
	for _, r := range w.recs[q.ent] {
		if q.dated {
			n := dayOf(rangeTime(r, q.rangeType), w.loc).num()
			if n < q.from || n > q.to {
				continue
			}
		}
		if !filtersMatch(r, q.filters) {
			continue
		}
		rows = append(rows, keyed{r, wallKey(rangeTime(r, q.rangeType), w.loc)})
	}
	slices.SortFunc(rows, func(a, b keyed) int {
		c := cmp.Compare(a.key, b.key)
		if c == 0 {
			c = cmp.Compare(a.r.seq, b.r.seq)
		}
		if q.desc {
			c = -c
		}
		return c
	})
	out := make([]*rec, len(rows))
	for i, k := range rows {
		out[i] = k.r
	}
	return out
}

func filtersMatch(r *rec, f map[string]string) bool {
	for k, v := range f {
		var have string
		switch k {
		case "customerId":
			have = r.customerID
		case "orderId":
			have = r.orderID
		case "purchaseId":
			have = r.purchaseID
		case "transactionId":
			if r.ent != Transactions {
				continue
			}
			have = r.id
		case "txnType":
			if r.ent != Transactions {
				continue
			}
			have = r.txnType
		case "responseType":
			if r.ent != Transactions {
				continue
			}
			have = r.response
		case "orderStatus":
			if r.ent != Orders {
				continue
			}
			have = r.status
		case "isChargedback":
			if r.ent != Transactions {
				continue
			}
			if (v == "1" || strings.EqualFold(v, "true")) != r.chargedback {
				return false
			}
			continue
		}
		if !strings.EqualFold(have, v) {
			return false
		}
	}
	return true
}

// drift changes the data before q's page is answered.
func (s *Server) drift(k Kind, q query, key string, occ int) {
	w := s.w
	seed := s.cfg.Seed
	switch k {
	case DriftInsert:
		w.insertToday(unit(seed, "drift-insert", key, occ))
	case DriftBump:
		rows := s.match(q)
		served := min((q.page-1)*q.perPage, len(rows))
		cands := rows[:served]
		if len(cands) == 0 {
			cands = rows
		}
		s.bump(cands, key, occ)
	case DriftBumpIn:
		in := map[*rec]bool{}
		for _, r := range s.match(q) {
			in[r] = true
		}
		var cands []*rec
		for _, r := range w.recs[q.ent] {
			if !in[r] {
				cands = append(cands, r)
			}
		}
		s.bump(cands, key, occ)
	}
}

func (s *Server) bump(cands []*rec, key string, occ int) {
	cands = slices.Clone(cands)
	for i := 0; i < s.cfg.DriftRowsPerDraw && len(cands) > 0; i++ {
		j := int(unit(s.cfg.Seed, "drift-row", key, occ*64+i) * float64(len(cands)))
		s.w.touch(cands[j], s.w.now)
		cands = slices.Delete(cands, j, j+1)
	}
}

// page answers a query endpoint.
func (s *Server) page(q query, kinds []Kind, key string, occ int, req *Request) reply {
	rows := s.match(q)
	total := len(rows)
	lo := (q.page - 1) * q.perPage
	hi := min(lo+q.perPage, total)
	dup := slices.Contains(kinds, QuirkDuplicate) && q.page >= 2 && lo >= 1 && lo <= total
	var data []*rec
	if lo < total {
		data = rows[lo:hi]
	}
	if dup {
		data = append([]*rec{rows[lo-1]}, data...)
	}
	req.PerPage = q.perPage
	if len(data) == 0 && (total == 0 || !s.cfg.PastEndData) {
		msg := "No " + q.ent.noun() + " matching those parameters could be found"
		if req.Outcome == "" {
			req.Outcome = "empty"
		}
		return s.withBOM(jsonReply(errorBody(msg)), kinds)
	}
	shown := total
	for _, k := range kinds {
		switch k {
		case QuirkCountOver:
			shown = total + q.perPage + 1 + int(unit(s.cfg.Seed, "count-over", key, occ)*float64(q.perPage*3))
		case QuirkCountUnder:
			shown = 1
		case QuirkCountJitter:
			d := int(unit(s.cfg.Seed, "count-jitter", key, occ)*5) - 2 // -2..2
			if d >= 0 {
				d++ // -2..3 without 0
			}
			shown = max(total+d, 0)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"result":"SUCCESS","message":{"totalResults":`)
	if slices.Contains(kinds, QuirkStringTotal) {
		b.WriteString(strconv.Quote(strconv.Itoa(shown)))
	} else {
		b.WriteString(strconv.Itoa(shown))
	}
	fmt.Fprintf(&b, `,"resultsPerPage":%d,"page":%d,"data":[`, q.perPage, q.page)
	for i, r := range data {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(s.w.render(r))
	}
	b.WriteString("]}}")
	req.Rows = len(data)
	req.TotalResult = shown
	if req.Outcome == "" {
		req.Outcome = "data"
	}
	return s.withBOM(jsonReply(b.Bytes()), kinds)
}

func (s *Server) withBOM(rep reply, kinds []Kind) reply {
	if slices.Contains(kinds, QuirkBOM) {
		rep.body = append([]byte("\xEF\xBB\xBF"), rep.body...)
	}
	return rep
}

// write sends a reply, cutting it short for the Cut faults.
func (s *Server) write(rw http.ResponseWriter, rep reply) {
	if rep.fault == FaultCut || rep.fault == FaultCutEOF {
		s.cut(rw, rep)
		return
	}
	for k, v := range rep.header {
		rw.Header()[k] = v
	}
	rw.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	rw.WriteHeader(rep.status)
	_, _ = rw.Write(rep.body)
}

// cut writes the status, the headers and about half of the body, then
// closes the connection.
func (s *Server) cut(rw http.ResponseWriter, rep reply) {
	half := rep.body[:len(rep.body)/2]
	hj, ok := rw.(http.Hijacker)
	if !ok {
		// No hijacking (HTTP/2, a recorder): announce the full length and
		// write half; the server drops the connection.
		for k, v := range rep.header {
			rw.Header()[k] = v
		}
		if rep.fault == FaultCut {
			rw.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
		}
		rw.WriteHeader(rep.status)
		_, _ = rw.Write(half)
		if f, ok := rw.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	var h bytes.Buffer
	fmt.Fprintf(&h, "HTTP/1.1 %d %s\r\n", rep.status, http.StatusText(rep.status))
	h.WriteString("Content-Type: application/json\r\n")
	if rep.fault == FaultCut {
		fmt.Fprintf(&h, "Content-Length: %d\r\n", len(rep.body))
	}
	h.WriteString("Connection: close\r\n\r\n")
	_, _ = buf.Write(h.Bytes())
	_, _ = buf.Write(half)
	_ = buf.Flush()
}
