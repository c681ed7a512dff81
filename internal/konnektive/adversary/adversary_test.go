package adversary

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cleanConfig has two busy DST days and no adversarial behaviour.
func cleanConfig() Config {
	return Config{
		Seed:      7,
		BusyDates: []string{"2025-11-02", "2025-03-09"},
		Now:       time.Date(2025, 12, 1, 15, 0, 0, 0, newYork),
	}
}

func TestPagesTileTheData(t *testing.T) {
	s, ts := start(t, cleanConfig())
	type win struct {
		from, to time.Time
		per      int
	}
	wins := []win{
		{date(2019, 1, 1), date(2025, 12, 1), 200},
		{date(2025, 11, 2), date(2025, 11, 2), 25},
		{date(2025, 11, 2), date(2025, 11, 2), 200},
		{date(2025, 3, 1), date(2025, 3, 31), 7},
		{date(2025, 11, 1), date(2025, 12, 1), 0}, // default 25
	}
	for _, e := range Entities {
		holds := s.Holds(e)
		for _, rt := range []string{"dateCreated", "dateUpdated"} {
			for _, wn := range wins {
				name := fmt.Sprintf("%s/%s/%s..%s/%d", e, rt, wn.from.Format("2006-01-02"), wn.to.Format("2006-01-02"), wn.per)
				want := windowIn(holds, s.Location(), rt, wn.from, wn.to)
				got := walk(t, ts, s, e, rangeQuery(wn.from, wn.to, rt, wn.per))
				if !strings.HasPrefix(got.end, "No ") {
					t.Fatalf("%s: ended with %q", name, got.end)
				}
				seen := map[string]bool{}
				for _, id := range got.ids {
					if seen[id] {
						t.Fatalf("%s: %s served twice", name, id)
					}
					seen[id] = true
					if !want[id] {
						t.Fatalf("%s: %s served but not in the window", name, id)
					}
				}
				if len(seen) != len(want) {
					t.Fatalf("%s: served %d rows, the window holds %d", name, len(seen), len(want))
				}
				per := wn.per
				if per == 0 {
					per = 25
				}
				if len(got.pages) != (len(want)+per-1)/per {
					t.Fatalf("%s: %d pages for %d rows", name, len(got.pages), len(want))
				}
				field := "dateCreated"
				if rt == "dateUpdated" {
					field = "dateUpdated"
				}
				last := ""
				for i, p := range got.pages {
					if p.total != len(want) || p.perPage != per || p.number != i+1 {
						t.Fatalf("%s: page %d says total %d per %d page %d", name, i+1, p.total, p.perPage, p.number)
					}
					for _, r := range p.rows {
						d := text(r, field)
						if d < last {
							t.Fatalf("%s: %s %s after %s", name, field, d, last)
						}
						last = d
					}
				}
			}
		}
	}
	if len(window(s, Transactions, "", date(2025, 11, 2), date(2025, 11, 2))) < 200 {
		t.Error("the busy day has fewer than 200 transactions")
	}
}

func TestSortDirDescending(t *testing.T) {
	s, ts := start(t, cleanConfig())
	v := rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 50)
	asc := walk(t, ts, s, Orders, v)
	v.Set("sortDir", "0")
	desc := walk(t, ts, s, Orders, v)
	slices.Reverse(desc.ids)
	if !slices.Equal(asc.ids, desc.ids) {
		t.Fatal("sortDir=0 is not the reverse order")
	}
}

func TestPageSizeAndPageNumbers(t *testing.T) {
	s, ts := start(t, cleanConfig())
	v := rangeQuery(date(2019, 1, 1), date(2025, 12, 1), "", 0)
	for _, c := range []struct {
		per, page string
		wantPer   int
		wantPage  int
	}{
		{"", "", 25, 1},
		{"1000", "1", 200, 1},
		{"200", "2", 200, 2},
		{"abc", "0", 25, 1},
		{"-5", "-1", 25, 1},
		{"3", "4", 3, 4},
	} {
		q := url.Values{}
		for k, vs := range v {
			q[k] = vs
		}
		if c.per != "" {
			q.Set("resultsPerPage", c.per)
		}
		if c.page != "" {
			q.Set("page", c.page)
		}
		p, msg := decode(t, post(t, ts, s, Transactions, q))
		if msg != "" {
			t.Fatal(msg)
		}
		if p.perPage != c.wantPer || p.number != c.wantPage || len(p.rows) != c.wantPer {
			t.Errorf("resultsPerPage %q page %q: got per %d page %d rows %d", c.per, c.page, p.perPage, p.number, len(p.rows))
		}
	}
}

func TestWholeDaysAcrossDST(t *testing.T) {
	s, ts := start(t, cleanConfig())
	// Fall back: 2025-11-02 has 25 hours, 01:00-01:59 twice.
	day := date(2025, 11, 2)
	next := date(2025, 11, 3)
	if h := next.Sub(day); h != 25*time.Hour {
		t.Fatalf("the fall-back day lasts %v", h)
	}
	for _, e := range Entities {
		want := window(s, e, "", day, day)
		for _, form := range []string{"11/02/2025", "11/2/25", "2025-11-02", "2025-11-02 13:00:00"} {
			v := url.Values{"startDate": {form}, "endDate": {form}, "resultsPerPage": {"200"}}
			got := walk(t, ts, s, e, v)
			if len(got.ids) != len(want) {
				t.Fatalf("%s %s: %d rows, want %d", e, form, len(got.ids), len(want))
			}
			for _, id := range got.ids {
				if !want[id] {
					t.Fatalf("%s %s: %s is not of the day", e, form, id)
				}
			}
		}
	}
	// The day's rows reach past 24 hours after midnight, and the repeated
	// hour holds rows of both offsets.
	var late, edt1, est1, first, last int
	for _, r := range s.Holds(Customers) {
		c := r.Created
		if c.Before(day) || !c.Before(next) {
			continue
		}
		if c.Sub(day) >= 24*time.Hour {
			late++
		}
		_, off := c.Zone()
		if c.Hour() == 1 && off == -4*3600 {
			edt1++
		}
		if c.Hour() == 1 && off == -5*3600 {
			est1++
		}
		switch c.Format("15:04:05") {
		case "00:00:00":
			first++
		case "23:59:59":
			last++
		}
	}
	if late == 0 || edt1 == 0 || est1 == 0 || first == 0 || last == 0 {
		t.Fatalf("fall-back day: %d rows in the 25th hour, %d in 01:xx EDT, %d in 01:xx EST, %d at 00:00:00, %d at 23:59:59", late, edt1, est1, first, last)
	}
	// Spring forward: 2025-03-09 has 23 hours and no 02:xx.
	spring := date(2025, 3, 9)
	got := walk(t, ts, s, Transactions, url.Values{"startDate": {"03/09/2025"}, "endDate": {"03/09/2025"}, "resultsPerPage": {"200"}})
	if want := window(s, Transactions, "", spring, spring); len(got.ids) != len(want) || len(want) == 0 {
		t.Fatalf("spring day: %d rows, want %d", len(got.ids), len(want))
	}
	for _, p := range got.pages {
		for _, r := range p.rows {
			if d := text(r, "dateCreated"); !strings.HasPrefix(d, "2025-03-09 ") || strings.HasPrefix(d, "2025-03-09 02:") {
				t.Fatalf("spring day row at %s", d)
			}
		}
	}
	// Neighbouring days do not hold the edge rows.
	for _, d := range []string{"11/01/2025", "11/03/2025"} {
		got := walk(t, ts, s, Customers, url.Values{"startDate": {d}, "endDate": {d}, "resultsPerPage": {"200"}})
		for _, p := range got.pages {
			for _, r := range p.rows {
				if strings.HasPrefix(text(r, "dateCreated"), "2025-11-02") {
					t.Fatalf("%s serves a row of 11/02", d)
				}
			}
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	cfg := cleanConfig()
	s, ts := start(t, cfg)
	v := rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 0)
	check := func(name string, a answer, want string) {
		t.Helper()
		if a.status != 200 || string(a.body) != want {
			t.Errorf("%s: %d %s, want %s", name, a.status, a.body, want)
		}
	}
	bad := url.Values{"loginId": {DefaultLoginID}, "password": {"nope"}}
	for k, vs := range v {
		bad[k] = vs
	}
	check("bad login", post(t, ts, s, Orders, bad), `{"result":"ERROR","message":"Invalid login credentials"}`)
	check("empty", post(t, ts, s, Transactions, rangeQuery(date(2019, 1, 2), date(2019, 1, 1), "", 0)),
		`{"result":"ERROR","message":"No transactions matching those parameters could be found"}`)
	check("no dates", post(t, ts, s, Orders, url.Values{}), `{"result":"ERROR","message":"startDate and endDate are required"}`)
	check("bad date", post(t, ts, s, Orders, url.Values{"startDate": {"13/45/2025"}, "endDate": {"11/02/2025"}}),
		`{"result":"ERROR","message":"Invalid startDate format. Use MM/DD/YYYY"}`)
	check("no slash", send(t, ts, "/order/query", url.Values{}), `{"result":"ERROR","message":"Invalid API endpoint"}`)
	if st := s.Stats(); st.BadLogins != 1 || st.Requests != 5 || st.PerEntity[Orders] != 3 {
		t.Errorf("stats %+v", st)
	}
	// An id filter needs no dates.
	cust := ""
	for id := range s.Holds(Customers) {
		cust = id
		break
	}
	p, msg := decode(t, post(t, ts, s, Orders, url.Values{"customerId": {cust}}))
	if msg != "" || len(p.rows) == 0 {
		t.Errorf("customerId filter: %q %d rows", msg, len(p.rows))
	}
	for _, r := range p.rows {
		if text(r, "customerId") != cust {
			t.Errorf("customerId filter served %s", text(r, "customerId"))
		}
	}
	// GET with a query string and a multipart POST are read too.
	id, pw := s.Credentials()
	q := url.Values{"loginId": {id}, "password": {pw}, "startDate": {"11/02/2025"}, "endDate": {"11/02/2025"}}
	resp, err := ts.Client().Get(ts.URL + Orders.Path() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var mb bytes.Buffer
	mw := multipart.NewWriter(&mb)
	for k := range q {
		mw.WriteField(k, q.Get(k))
	}
	mw.Close()
	resp, err = ts.Client().Post(ts.URL+Orders.Path(), mw.FormDataContentType(), &mb)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	log := s.Requests()
	for _, r := range log[len(log)-2:] {
		if r.Outcome != "data" {
			t.Errorf("%s: %s", r.Method, r.Outcome)
		}
	}

	// A range limit.
	cfg.MaxRangeDays = 31
	s2, ts2 := start(t, cfg)
	check("range", post(t, ts2, s2, Orders, rangeQuery(date(2025, 1, 1), date(2025, 2, 1), "", 0)),
		`{"result":"ERROR","message":"Date range cannot exceed 31 days"}`)
}

func TestRefusals(t *testing.T) {
	cfg := cleanConfig()
	cfg.DenyIP = true
	s, ts := start(t, cfg)
	a := post(t, ts, s, Orders, rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 0))
	if string(a.body) != `{"result":"ERROR","message":"IP must be whitelisted - 127.0.0.1"}` {
		t.Errorf("ip: %s", a.body)
	}
	cfg.DenyIP = false
	cfg.DenyEndpoints = []Entity{Purchases}
	s, ts = start(t, cfg)
	a = post(t, ts, s, Purchases, rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 0))
	if string(a.body) != `{"result":"ERROR","message":"API user does not have access to this endpoint"}` {
		t.Errorf("permission: %s", a.body)
	}
	if _, msg := decode(t, post(t, ts, s, Orders, rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 0))); msg != "" {
		t.Errorf("orders: %s", msg)
	}
	if st := s.Stats(); st.Faulted != 1 {
		t.Errorf("faulted %d", st.Faulted)
	}
}

func TestTransportFaults(t *testing.T) {
	cfg := cleanConfig()
	cfg.SlowDelay = 300 * time.Millisecond
	cfg.RetryAfter = "1"
	cfg.Schedule = map[int][]Kind{
		1: {FaultHTML502}, 2: {Fault429}, 3: {FaultTransient}, 4: {FaultCut}, 5: {FaultCutEOF}, 6: {FaultSlow},
	}
	s, ts := start(t, cfg)
	v := rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 200)
	a := post(t, ts, s, Transactions, v)
	if a.status != 502 || !bytes.HasPrefix(a.body, []byte("<html>")) {
		t.Errorf("502: %d %.40s", a.status, a.body)
	}
	a = post(t, ts, s, Transactions, v)
	if a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Errorf("429: %d %q", a.status, a.header.Get("Retry-After"))
	}
	a = post(t, ts, s, Transactions, v)
	if a.status != 200 || string(a.body) != `{"result":"ERROR","message":"Temporary error, please retry"}` {
		t.Errorf("transient: %d %s", a.status, a.body)
	}
	a = post(t, ts, s, Transactions, v)
	if a.readErr == nil || json.Valid(a.body) || len(a.body) == 0 {
		t.Errorf("cut: read error %v, %d bytes", a.readErr, len(a.body))
	}
	cutEOF := post(t, ts, s, Transactions, v)
	if cutEOF.readErr != nil || cutEOF.status != 200 || json.Valid(cutEOF.body) || len(cutEOF.body) == 0 {
		t.Errorf("cut-eof: read error %v, valid %v", cutEOF.readErr, json.Valid(cutEOF.body))
	}
	began := time.Now()
	slow := post(t, ts, s, Transactions, v)
	if time.Since(began) < 300*time.Millisecond {
		t.Errorf("slow answered in %v", time.Since(began))
	}
	if _, msg := decode(t, slow); msg != "" {
		t.Errorf("slow: %s", msg)
	}
	if !bytes.HasPrefix(slow.body, cutEOF.body) {
		t.Error("the cut body is not a prefix of the answer")
	}
	log := s.Requests()
	for i, want := range []bool{true, true, true, true, true, false} {
		if log[i].Faulted != want || log[i].Kinds[0] != cfg.Schedule[i+1][0] {
			t.Errorf("request %d: faulted %v kinds %v", i+1, log[i].Faulted, log[i].Kinds)
		}
	}
	if st := s.Stats(); st.Faulted != 5 || st.Slow != 1 || st.Requests != 6 || st.Served != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultRate(t *testing.T) {
	cfg := cleanConfig()
	cfg.FaultRate = 0.15
	cfg.SlowDelay = time.Millisecond
	s, ts := start(t, cfg)
	const n = 400
	for i := 0; i < n; i++ {
		v := rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 10)
		v.Set("page", strconv.Itoa(1+i%30))
		post(t, ts, s, Customers, v)
	}
	hit, faulted := 0, 0
	kinds := map[Kind]int{}
	for _, r := range s.Requests() {
		if len(r.Kinds) > 0 {
			hit++
			kinds[r.Kinds[0]]++
		}
		if r.Faulted {
			faulted++
		}
	}
	if hit < n*8/100 || hit > n*24/100 {
		t.Errorf("%d of %d requests faulted", hit, n)
	}
	if len(kinds) != len(TransportFaults) {
		t.Errorf("kinds drawn: %v", kinds)
	}
	if st := s.Stats(); st.Faulted != faulted || st.Faulted+st.Slow != hit || st.Requests != n {
		t.Errorf("stats %+v, log says %d faulted, %d hit", st, faulted, hit)
	}
}

func TestPageQuirks(t *testing.T) {
	cfg := cleanConfig()
	cfg.Schedule = map[int][]Kind{
		2: {QuirkCountOver}, 3: {QuirkCountUnder}, 4: {QuirkCountJitter}, 5: {QuirkStringTotal}, 6: {QuirkBOM},
		8: {QuirkDuplicate},
	}
	s, ts := start(t, cfg)
	v := rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 25)
	p1, _ := decode(t, post(t, ts, s, Transactions, v))
	total := p1.total
	if p, _ := decode(t, post(t, ts, s, Transactions, v)); p.total <= total+25 || len(p.rows) != 25 {
		t.Errorf("count-over: %d of %d", p.total, total)
	}
	if p, _ := decode(t, post(t, ts, s, Transactions, v)); p.total != 1 || len(p.rows) != 25 {
		t.Errorf("count-under: %d", p.total)
	}
	if p, _ := decode(t, post(t, ts, s, Transactions, v)); p.total == total || p.total < total-2 || p.total > total+3 {
		t.Errorf("count-jitter: %d of %d", p.total, total)
	}
	a := post(t, ts, s, Transactions, v)
	if !bytes.Contains(a.body, []byte(fmt.Sprintf(`"totalResults":"%d"`, total))) {
		t.Errorf("string-total: %.80s", a.body)
	}
	a = post(t, ts, s, Transactions, v)
	if !bytes.HasPrefix(a.body, []byte("\xEF\xBB\xBF{")) || !json.Valid(a.body[3:]) {
		t.Errorf("bom: %q", a.body[:8])
	}
	v2 := url.Values{}
	for k, vs := range v {
		v2[k] = vs
	}
	v2.Set("page", "2")
	p1, _ = decode(t, post(t, ts, s, Transactions, v))
	p2, _ := decode(t, post(t, ts, s, Transactions, v2))
	if len(p2.rows) != 26 || text(p2.rows[0], "transactionId") != text(p1.rows[24], "transactionId") {
		t.Errorf("duplicate: page 2 has %d rows, starts with %s, page 1 ends with %s", len(p2.rows), text(p2.rows[0], "transactionId"), text(p1.rows[24], "transactionId"))
	}
	if got := s.Requests()[7].Kinds; !slices.Equal(got, []Kind{QuirkDuplicate}) {
		t.Errorf("logged kinds %v", got)
	}
}

func TestDuplicateRateLosesNothing(t *testing.T) {
	cfg := cleanConfig()
	cfg.DuplicateRate = 1
	s, ts := start(t, cfg)
	want := window(s, Orders, "", date(2025, 11, 2), date(2025, 11, 2))
	got := walk(t, ts, s, Orders, rangeQuery(date(2025, 11, 2), date(2025, 11, 2), "", 20))
	uniq := map[string]bool{}
	for _, id := range got.ids {
		uniq[id] = true
	}
	if len(uniq) != len(want) || len(got.ids) != len(want)+len(got.pages)-1 {
		t.Errorf("%d served, %d distinct, %d in the window, %d pages", len(got.ids), len(uniq), len(want), len(got.pages))
	}
}

func TestDriftBumpSkipsRows(t *testing.T) {
	cfg := cleanConfig()
	cfg.DriftRate = 1
	cfg.DriftKinds = []Kind{DriftBump}
	s, ts := start(t, cfg)
	day := date(2025, 11, 2)
	before := window(s, Transactions, "dateUpdated", day, day)
	got := walk(t, ts, s, Transactions, rangeQuery(day, day, "dateUpdated", 25))
	after := window(s, Transactions, "dateUpdated", day, day)
	served := map[string]bool{}
	for _, id := range got.ids {
		served[id] = true
	}
	var skipped, moved int
	for id := range after {
		if !served[id] {
			skipped++
		}
	}
	holds := s.Holds(Transactions)
	for id := range before {
		if !after[id] {
			moved++
			if !holds[id].Updated.Equal(s.Now()) {
				t.Errorf("%s left the window but was updated at %v", id, holds[id].Updated)
			}
		}
	}
	// Every request for page 2 and later (the last one finds nothing) moved
	// a row.
	if skipped == 0 || moved != len(got.pages) {
		t.Errorf("%d rows skipped, %d moved out, %d pages", skipped, moved, len(got.pages))
	}
	if got.totals[0] <= got.totals[len(got.totals)-1] {
		t.Errorf("totals did not fall: %v", got.totals)
	}
}

func TestDriftInsertToday(t *testing.T) {
	cfg := cleanConfig()
	cfg.Now = time.Date(2025, 11, 2, 20, 0, 0, 0, newYork)
	cfg.DriftRate = 1
	cfg.DriftKinds = []Kind{DriftInsert}
	s, ts := start(t, cfg)
	day := date(2025, 11, 2)
	before := window(s, Transactions, "", day, day)
	got := walk(t, ts, s, Transactions, rangeQuery(day, day, "", 25))
	after := window(s, Transactions, "", day, day)
	seen := map[string]int{}
	dups := 0
	for _, id := range got.ids {
		seen[id]++
		if seen[id] == 2 {
			dups++
		}
	}
	missed := 0
	for id := range after {
		if seen[id] == 0 {
			missed++
		}
	}
	if len(after) <= len(before) || dups == 0 {
		t.Errorf("window %d -> %d rows, %d served twice, %d never served", len(before), len(after), dups, missed)
	}
	for id, r := range s.Holds(Transactions) {
		if r.Created.After(s.Now()) {
			t.Fatalf("%s created after Now", id)
		}
	}
	if !slices.IsSorted(got.totals) || got.totals[0] == got.totals[len(got.totals)-1] {
		t.Errorf("totals %v", got.totals)
	}
}

func TestDriftBumpInJoinsToday(t *testing.T) {
	cfg := cleanConfig()
	cfg.Now = time.Date(2025, 11, 2, 20, 0, 0, 0, newYork)
	cfg.DriftRate = 1
	cfg.DriftKinds = []Kind{DriftBumpIn}
	cfg.DriftRowsPerDraw = 2
	s, ts := start(t, cfg)
	day := date(2025, 11, 2)
	before := window(s, Orders, "dateUpdated", day, day)
	got := walk(t, ts, s, Orders, rangeQuery(day, day, "dateUpdated", 25))
	after := window(s, Orders, "dateUpdated", day, day)
	joined := 0
	for id := range after {
		if !before[id] {
			joined++
		}
	}
	if joined != 2*len(got.pages) {
		t.Errorf("%d rows joined over %d pages", joined, len(got.pages))
	}
	// Ascending order puts them at the end, where the walk finds them.
	if tail := got.ids[len(got.ids)-1]; before[tail] {
		t.Errorf("the last row served, %s, did not join", tail)
	}
}

var (
	wallRe  = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	moneyRe = regexp.MustCompile(`^\d+\.\d\d$`)
)

func TestBadRows(t *testing.T) {
	cfg := cleanConfig()
	cfg.BadRowRate = 0.08
	s, ts := start(t, cfg)
	bad := map[string]BadRow{}
	reasons := map[string]int{}
	for _, b := range s.BadRows() {
		bad[string(b.Entity)+"/"+b.ID] = b
		reasons[b.Reason]++
	}
	for _, r := range []string{BadDateISO, BadDateUS, BadDateTimeOnly, BadNoDateCreated, BadAmountComma, BadAmountMills, BadNegativeRefund} {
		if reasons[r] == 0 {
			t.Errorf("no row is bad by %s", r)
		}
	}
	for _, e := range Entities {
		for id, r := range s.Holds(e) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(r.JSON, &m); err != nil {
				t.Fatal(err)
			}
			dc, amt := text(m, "dateCreated"), text(m, "totalAmount")
			_, hasDC := m["dateCreated"]
			b, isBad := bad[string(e)+"/"+id]
			if isBad != (r.Bad != "") {
				t.Fatalf("%s %s: BadRows and Holds disagree", e, id)
			}
			ok := true
			switch r.Bad {
			case "":
				ok = wallRe.MatchString(dc) && (amt == "" || moneyRe.MatchString(amt))
			case BadDateISO:
				ok = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`).MatchString(dc)
			case BadDateUS:
				ok = regexp.MustCompile(`^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$`).MatchString(dc)
			case BadDateTimeOnly:
				ok = regexp.MustCompile(`^\d\d:\d\d$`).MatchString(dc)
			case BadNoDateCreated:
				ok = !hasDC
			case BadAmountComma:
				ok = strings.Contains(amt, ",") && r.Cents >= 100000
			case BadAmountMills:
				ok = regexp.MustCompile(`^\d+\.\d{3}$`).MatchString(amt)
			case BadNegativeRefund:
				ok = strings.HasPrefix(amt, "-") && r.TxnType == "REFUND" && r.Cents > 0
			}
			if !ok {
				t.Fatalf("%s %s (%s %s): dateCreated %q totalAmount %q", e, id, r.Bad, b.Field, dc, amt)
			}
		}
	}
	// Bad rows are served like any other.
	day := date(2025, 11, 2)
	got := walk(t, ts, s, Transactions, rangeQuery(day, day, "", 200))
	if len(got.ids) != len(window(s, Transactions, "", day, day)) {
		t.Error("bad rows change the window")
	}
}

func TestTallyMatchesRows(t *testing.T) {
	cfg := cleanConfig()
	cfg.BadRowRate = 0.05
	s, _ := start(t, cfg)
	tl := s.Tally()
	// Recount from the served JSON of good rows.
	var sales, refunds, cbs int64
	for _, r := range s.Holds(Transactions) {
		if r.Bad != "" {
			continue
		}
		var m map[string]json.RawMessage
		json.Unmarshal(r.JSON, &m)
		cents := func(k string) int64 {
			s := text(m, k)
			if s == "" {
				return 0
			}
			w, f, _ := strings.Cut(s, ".")
			a, _ := strconv.ParseInt(w, 10, 64)
			b, _ := strconv.ParseInt(f, 10, 64)
			return a*100 + b
		}
		if text(m, "responseType") == "SUCCESS" {
			switch text(m, "txnType") {
			case "SALE":
				sales += cents("totalAmount")
			case "REFUND":
				refunds += cents("totalAmount")
				if text(m, "parentTxnId") == "null" {
					t.Errorf("refund %s without parent", r.ID)
				}
			}
		}
		if text(m, "isChargedback") == "1" {
			cbs += cents("chargebackAmount")
		}
	}
	if sales != tl.Sales.Cents || refunds != tl.Refunds.Cents || cbs != tl.Chargebacks.Cents {
		t.Errorf("JSON says %d/%d/%d, Tally %+v", sales, refunds, cbs, tl)
	}
	if tl.Sales.Count == 0 || tl.Refunds.Count == 0 || tl.Chargebacks.Count == 0 || tl.SoftDeclines == 0 || tl.HardDeclines == 0 || tl.Rebills.Count == 0 {
		t.Errorf("tally lacks a kind: %+v", tl)
	}
	if tl.Sales.Cents != tl.NewSales.Cents+tl.Rebills.Cents {
		t.Error("sales are not new sales plus rebills")
	}
}

func TestClock(t *testing.T) {
	cfg := cleanConfig()
	cfg.Now = time.Date(2025, 11, 2, 12, 0, 0, 0, newYork)
	s, _ := start(t, cfg)
	now := s.Now()
	count := map[Entity]int{}
	for _, e := range Entities {
		for id, r := range s.Holds(e) {
			if r.Created.After(now) || r.Updated.After(now) {
				t.Fatalf("%s %s exists after Now", e, id)
			}
		}
		count[e] = len(s.Holds(e))
	}
	oldTxns := s.Holds(Transactions)
	s.Advance(40 * 24 * time.Hour)
	later := s.Now()
	if !later.Equal(now.Add(40 * 24 * time.Hour)) {
		t.Fatalf("now %v", later)
	}
	restated, refunds, rebills := 0, 0, 0
	for id, r := range s.Holds(Transactions) {
		if r.Updated.After(later) {
			t.Fatalf("%s updated after Now", id)
		}
		if o, ok := oldTxns[id]; ok && r.Updated.After(now) && !o.Updated.After(now) {
			restated++
		}
		if _, ok := oldTxns[id]; !ok {
			if r.TxnType == "REFUND" {
				refunds++
			}
			if r.BillingCycle > 1 && r.TxnType == "SALE" {
				rebills++
			}
		}
	}
	for _, e := range Entities {
		if len(s.Holds(e)) <= count[e] {
			t.Errorf("%s: no new rows", e)
		}
	}
	if restated == 0 || refunds == 0 || rebills == 0 {
		t.Errorf("%d restated, %d refunds, %d rebills", restated, refunds, rebills)
	}
	// Forced restatements.
	var sale string
	for _, r := range s.Rows(Transactions) {
		if r.TxnType == "SALE" && r.Response == "SUCCESS" && !r.Chargedback && r.Bad == "" && r.Updated.Before(later) {
			sale = r.ID
			break
		}
	}
	if err := s.Chargeback(sale); err != nil {
		t.Fatal(err)
	}
	r := s.Holds(Transactions)[sale]
	if !r.Chargedback || r.ChargebackCents != r.Cents || !r.Updated.Equal(later) || r.ChargebackDate != later.Format("2006-01-02") {
		t.Errorf("chargeback: %+v", r)
	}
	if id := s.AddCustomer(later.Add(-time.Hour)); id == "" || s.Holds(Customers)[id].Created != later.Add(-time.Hour) {
		t.Errorf("AddCustomer: %q", id)
	}
}

// script runs a fixed sequence of requests and returns what came back.
func script(t *testing.T, cfg Config) []string {
	s, ts := start(t, cfg)
	var out []string
	do := func() {
		for _, e := range Entities {
			for _, rt := range []string{"dateCreated", "dateUpdated"} {
				for n := 1; n <= 12; n++ {
					v := rangeQuery(date(2025, 10, 1), date(2025, 11, 2), rt, 40)
					v.Set("page", strconv.Itoa(n))
					a := post(t, ts, s, e, v)
					out = append(out, fmt.Sprintf("%s %s %d %d %v %x", e, rt, n, a.status, a.readErr != nil, sha256.Sum256(a.body)))
				}
			}
		}
	}
	do()
	s.Advance(36 * time.Hour)
	do()
	for _, e := range Entities {
		b, _ := json.Marshal(s.Rows(e))
		out = append(out, fmt.Sprintf("%x", sha256.Sum256(b)))
	}
	for _, r := range s.Requests() {
		out = append(out, fmt.Sprint(r.Seq, r.Kinds, r.Faulted, r.Outcome, r.Rows, r.TotalResult))
	}
	return out
}

func TestDeterminism(t *testing.T) {
	cfg := cleanConfig()
	cfg.FaultRate = 0.15
	cfg.SlowDelay = time.Millisecond
	cfg.DriftRate = 0.3
	cfg.DuplicateRate = 0.2
	cfg.CountLieRate = 0.2
	cfg.StringTotalRate = 0.3
	cfg.BOMRate = 0.1
	cfg.BadRowRate = 0.05
	a, b := script(t, cfg), script(t, cfg)
	if !slices.Equal(a, b) {
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("run differs at %d: %s vs %s", i, a[i], b[i])
			}
		}
	}
	cfg.Seed++
	if c := script(t, cfg); slices.Equal(a, c) {
		t.Fatal("another seed gives the same answers")
	}
}

func TestRequestLog(t *testing.T) {
	s, ts := start(t, cleanConfig())
	v := rangeQuery(date(2025, 11, 1), date(2025, 11, 2), "dateUpdated", 500)
	v.Set("page", "2")
	post(t, ts, s, Purchases, v)
	r := s.Requests()[0]
	if r.Entity != Purchases || r.StartDate != "11/01/2025" || r.EndDate != "11/02/2025" || r.RangeType != "dateUpdated" ||
		r.Page != 2 || r.PerPage != 200 || r.Faulted || r.Params.Get("password") != "" || r.Method != http.MethodPost {
		t.Errorf("%+v", r)
	}
	s.ResetLog()
	if len(s.Requests()) != 0 || s.Stats().Requests != 0 {
		t.Error("ResetLog")
	}
}

func TestSummary(t *testing.T) {
	s, ts := start(t, cleanConfig())
	a := post(t, ts, s, Summary, url.Values{"reportType": {"date"}, "dateRangeType": {"txnDate"}, "startDate": {"11/01/2025"}, "endDate": {"11/03/2025"}})
	var env struct {
		Result  string
		Message []map[string]json.RawMessage
	}
	if err := json.Unmarshal(a.body, &env); err != nil || env.Result != "SUCCESS" || len(env.Message) != 3 {
		t.Fatalf("%v %.200s", err, a.body)
	}
	if text(env.Message[1], "date") != "2025-11-02" || text(env.Message[1], "newSaleCnt") == "0" {
		t.Errorf("%v", env.Message[1])
	}
}
