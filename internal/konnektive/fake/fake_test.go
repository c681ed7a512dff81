package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/synth"
)

func TestParseDay(t *testing.T) {
	day := func(y, m, d int) int32 { return civilDays(y, m, d) }
	tests := []struct {
		in   string
		want int32
		ok   bool
	}{
		{"01/31/2026", day(2026, 1, 31), true},
		{"1/31/26", day(2026, 1, 31), true},
		{"4/10/17", day(2017, 4, 10), true},
		{"2026-01-31", day(2026, 1, 31), true},
		{"2026-01-31 13:45:00", day(2026, 1, 31), true},
		{"2026-01-31 23:59", day(2026, 1, 31), true},
		{"02/29/2024", day(2024, 2, 29), true},
		{"02/30/2024", 0, false},
		{"13/01/2026", 0, false},
		{"2026-1-31", 0, false},
		{"01/31/226", 0, false},
		{"01/31", 0, false},
		{"2026-01-31T10:00:00", 0, false},
		{"2026-01-31 25:00:00", 0, false},
		{"", 0, false},
		{"a/b/c", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDay(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDay(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if civilDays(1970, 1, 1) != 0 || civilDays(2000, 3, 1) != 11017 {
		t.Error("civilDays epoch")
	}
}

func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"01/31/2026", "1/1/26", "2026-03-08 02:30:00", "2024-02-29", "9/9/99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDay(s)
		if err != nil {
			return
		}
		// A day that parsed is a real day: it survives a round trip.
		tm := time.Unix(int64(d)*86400, 0).UTC()
		back, err := parseDay(tm.Format("2006-01-02"))
		if err != nil || back != d {
			t.Fatalf("%q -> %d -> %s -> %d %v", s, d, tm.Format("2006-01-02"), back, err)
		}
	})
}

func TestIndexPageMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ix := newIndex(func(x *rec) string { return x.created.Raw })
	var all []*rec
	for i := range 2000 {
		day := 1 + r.IntN(28)
		raw := time.Date(2026, 2, day, r.IntN(24), r.IntN(60), 0, 0, time.UTC).Format(crm.WallLayout)
		x := &rec{id: string(rune('a' + i%26)), num: int64(r.IntN(500)), created: crm.WallTime{Raw: raw}}
		all = append(all, x)
		ix.insert(x)
	}
	// Remove a few.
	for _, x := range all[:100] {
		ix.remove(x, x.created.Raw)
	}
	all = all[100:]
	d0, d1 := civilDays(2026, 2, 5), civilDays(2026, 2, 20)
	var want []*rec
	for _, x := range all {
		if d := dayOf(x.created.Raw); d >= d0 && d <= d1 {
			want = append(want, x)
		}
	}
	if got := ix.count(d0, d1); got != len(want) {
		t.Fatalf("count %d, want %d", got, len(want))
	}
	var got []*rec
	for off := 0; off < len(want); off += 37 {
		got = append(got, ix.page(d0, d1, off, 37, false)...)
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d rows, want %d", len(got), len(want))
	}
	for i := 1; i < len(got); i++ {
		if less(got[i].created.Raw, got[i], got[i-1].created.Raw, got[i-1]) {
			t.Fatalf("page order broken at %d", i)
		}
	}
	desc := ix.page(d0, d1, 0, len(want), true)
	for i := range desc {
		if desc[i] != got[len(got)-1-i] {
			t.Fatalf("descending order differs at %d", i)
		}
	}
}

// server is a fake with a small generated merchant, after all its data.
func server(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	opts.LoginID, opts.Password = "api", "pw-1"
	loc, _ := time.LoadLocation("America/New_York")
	opts.Location = loc
	if opts.Clock == nil {
		opts.Clock = NewClock(time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC)).Now
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Generate(context.Background(), s, synth.Options{Customers: 100, Seed: 3, TimeZone: loc}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

type answer struct {
	Result  string          `json:"result"`
	Message json.RawMessage `json:"message"`
	status  int
}

type pageMsg struct {
	TotalResults   int               `json:"totalResults"`
	ResultsPerPage int               `json:"resultsPerPage"`
	Page           int               `json:"page"`
	Data           []json.RawMessage `json:"data"`
}

func post(t *testing.T, base, path string, form url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	a.status = resp.StatusCode
	return a
}

func (a answer) page(t *testing.T) pageMsg {
	t.Helper()
	if a.Result != "SUCCESS" {
		t.Fatalf("answer %s %s", a.Result, a.Message)
	}
	var p pageMsg
	if err := json.Unmarshal(a.Message, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (a answer) text() string {
	var s string
	json.Unmarshal(a.Message, &s)
	return s
}

func creds(kv ...string) url.Values {
	v := url.Values{"loginId": {"api"}, "password": {"pw-1"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestRequests(t *testing.T) {
	s, srv := server(t, Options{})
	_, _, _, txns := s.Counts()
	if txns < 250 {
		t.Fatalf("only %d transactions", txns)
	}
	all := creds("startDate", "01/01/2020", "endDate", "12/31/2030")

	// Default page size 25; clamp to 200; 1-based pages; past the end empty.
	p := post(t, srv.URL, "/transactions/query/", all).page(t)
	if len(p.Data) != 25 || p.TotalResults != txns || p.Page != 1 || p.ResultsPerPage != 25 {
		t.Errorf("default page: %d rows, total %d, page %d, per %d", len(p.Data), p.TotalResults, p.Page, p.ResultsPerPage)
	}
	big := creds("startDate", "1/1/20", "endDate", "2030-12-31 00:00:00", "resultsPerPage", "500", "page", "0")
	p = post(t, srv.URL, "/transactions/query/", big).page(t)
	if len(p.Data) != 200 || p.ResultsPerPage != 200 || p.Page != 1 {
		t.Errorf("clamped page: %d rows, per %d, page %d", len(p.Data), p.ResultsPerPage, p.Page)
	}
	past := creds("startDate", "01/01/2020", "endDate", "12/31/2030", "page", "999")
	p = post(t, srv.URL, "/transactions/query/", past).page(t)
	if len(p.Data) != 0 || p.TotalResults != txns {
		t.Errorf("past the end: %d rows, total %d", len(p.Data), p.TotalResults)
	}

	// GET with everything in the query string.
	resp, err := http.Get(srv.URL + "/order/query/?" + all.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if a := read(t, resp); a.Result != "SUCCESS" {
		t.Errorf("GET: %s", a.Message)
	}
	// POST multipart with the credentials in the query string.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("startDate", "01/01/2020")
	mw.WriteField("endDate", "12/31/2030")
	mw.WriteField("resultsPerPage", "3")
	mw.Close()
	q := url.Values{"loginId": {"api"}, "password": {"pw-1"}}
	resp, err = http.Post(srv.URL+"/customer/query/?"+q.Encode(), mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	if p := read(t, resp).page(t); len(p.Data) != 3 {
		t.Errorf("multipart: %d rows", len(p.Data))
	}

	// Errors are HTTP 200 with an ERROR envelope.
	errs := []struct {
		path string
		form url.Values
		want string
	}{
		{"/order/import/", all, "Invalid API method"},
		{"/nothing/", all, "Invalid API method"},
		{"/transactions/query/", creds(), "startDate and endDate are required"},
		{"/transactions/query/", creds("startDate", "31/01/2026", "endDate", "01/31/2026"), "Invalid startDate"},
		{"/transactions/query/", creds("startDate", "01/01/2019", "endDate", "01/02/2019"), "No transactions matching those parameters could be found"},
		{"/order/query/", creds("startDate", "01/01/2019", "endDate", "01/02/2019"), "No orders matching those parameters could be found"},
		{"/transactions/query/", url.Values{"loginId": {"api"}, "password": {"nope"}}, "Invalid login credentials"},
		{"/transactions/query/", creds("startDate", "01/01/2020", "endDate", "01/01/2030", "dateRangeType", "whenever"), "Invalid dateRangeType"},
	}
	for _, e := range errs {
		a := post(t, srv.URL, e.path, e.form)
		if a.status != 200 || a.Result != "ERROR" || a.text() != e.want {
			t.Errorf("%s %v: %d %s %s; want ERROR %q", e.path, e.form, a.status, a.Result, a.Message, e.want)
		}
	}
}

func TestOutputConventions(t *testing.T) {
	_, srv := server(t, Options{})
	all := creds("startDate", "01/01/2020", "endDate", "12/31/2030", "resultsPerPage", "200")
	wallRe := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	check := func(path string, fn func(row map[string]any)) {
		for page := 1; ; page++ {
			all.Set("page", string(rune('0'+page)))
			a := post(t, srv.URL, path, all)
			p := a.page(t)
			for _, raw := range p.Data {
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.UseNumber()
				var row map[string]any
				if err := dec.Decode(&row); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"dateCreated", "dateUpdated"} {
					if s, _ := row[k].(string); !wallRe.MatchString(s) {
						t.Errorf("%s %s = %v", path, k, row[k])
					}
				}
				fn(row)
			}
			if page*200 >= p.TotalResults {
				return
			}
		}
	}
	isNum := func(v any) bool { _, ok := v.(json.Number); return ok }
	isStr := func(v any) bool { _, ok := v.(string); return ok }
	seenCheck, seenCB := false, false
	check("/transactions/query/", func(row map[string]any) {
		if !isNum(row["transactionId"]) || !isNum(row["customerId"]) || !isNum(row["campaignId"]) || !isStr(row["orderId"]) || !isStr(row["purchaseId"]) {
			t.Fatalf("id types: %v", row)
		}
		if !isStr(row["totalAmount"]) || !regexp.MustCompile(`^-?\d+\.\d\d$`).MatchString(row["totalAmount"].(string)) {
			t.Fatalf("totalAmount %v", row["totalAmount"])
		}
		if f := row["isChargedback"]; f != json.Number("0") && f != json.Number("1") {
			t.Fatalf("isChargedback %v", f)
		}
		if row["isChargedback"] == json.Number("1") {
			seenCB = true
		}
		if _, ok := row["3DTxnResult"]; !ok {
			t.Fatal("no 3DTxnResult key")
		}
		if _, ok := row["items"].(map[string]any); !ok {
			t.Fatalf("items %T", row["items"])
		}
		if row["paySource"] == "CHECK" {
			seenCheck = true
			if row["achAccountNumber"] == "" {
				t.Error("a CHECK row without achAccountNumber")
			}
		}
		if last4, _ := row["cardLast4"].(string); len(last4) > 4 {
			t.Fatalf("cardLast4 %q", last4)
		}
	})
	if !seenCB || !seenCheck {
		t.Errorf("the merchant lacks chargebacks (%v) or checks (%v)", seenCB, seenCheck)
	}
	check("/order/query/", func(row map[string]any) {
		if !isStr(row["orderId"]) || !isNum(row["customerId"]) || !isStr(row["totalAmount"]) {
			t.Fatalf("order %v", row)
		}
		if _, ok := row["items"].(map[string]any); !ok {
			t.Fatalf("order items %T", row["items"])
		}
	})
	check("/purchase/query/", func(row map[string]any) {
		if !isStr(row["purchaseId"]) || !isStr(row["orderId"]) || !isNum(row["productId"]) || !isStr(row["price"]) {
			t.Fatalf("purchase %v", row)
		}
	})
	check("/customer/query/", func(row map[string]any) {
		if !isNum(row["customerId"]) || !isNum(row["billShipSame"]) {
			t.Fatalf("customer %v", row)
		}
	})
}

func TestWholeDaysAndOrder(t *testing.T) {
	s, srv := server(t, Options{})
	_ = s
	ids := func(form url.Values) []string {
		var out []string
		p := post(t, srv.URL, "/transactions/query/", form).page(t)
		for _, raw := range p.Data {
			var r struct {
				ID json.Number `json:"transactionId"`
			}
			json.Unmarshal(raw, &r)
			out = append(out, r.ID.String())
		}
		return out
	}
	a := ids(creds("startDate", "06/01/2026", "endDate", "06/10/2026", "resultsPerPage", "200"))
	b := ids(creds("startDate", "2026-06-01 23:00:00", "endDate", "2026-06-10 00:00:01", "resultsPerPage", "200"))
	if len(a) == 0 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("times were not ignored: %d vs %d rows", len(a), len(b))
	}
	d := ids(creds("startDate", "06/01/2026", "endDate", "06/10/2026", "resultsPerPage", "200", "sortDir", "0"))
	for i := range d {
		if d[i] != a[len(a)-1-i] {
			t.Fatalf("sortDir=0 is not the reverse order")
		}
	}
	// Filters by id need no dates.
	one := ids(creds("transactionId", a[0]))
	if len(one) != 1 || one[0] != a[0] {
		t.Errorf("transactionId filter: %v", one)
	}
}

func TestRefusalsAndFaults(t *testing.T) {
	_, srv := server(t, Options{AllowIPs: []string{"10.0.0.0/8"}})
	all := creds("startDate", "01/01/2020", "endDate", "12/31/2030")
	if a := post(t, srv.URL, "/order/query/", all); a.text() != "IP must be whitelisted - 127.0.0.1" {
		t.Errorf("allow-list: %s", a.Message)
	}
	_, srv = server(t, Options{Denied: []string{"order/query"}})
	if a := post(t, srv.URL, "/order/query/", all); a.text() != msgPermission {
		t.Errorf("permission: %s", a.Message)
	}
	if a := post(t, srv.URL, "/customer/query/", all); a.Result != "SUCCESS" {
		t.Errorf("allowed endpoint: %s", a.Message)
	}

	_, srv = server(t, Options{Faults: Faults{HTML502Every: 2, RateLimitEvery: 3, TransientEvery: 5}})
	statuses := []int{}
	for range 6 {
		resp, err := http.PostForm(srv.URL+"/customer/query/", all)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		switch resp.StatusCode {
		case 502:
			if !bytes.HasPrefix(body, []byte("<html>")) {
				t.Errorf("502 body %q", body)
			}
		case 429:
			if resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		}
	}
	want := []int{200, 502, 429, 502, 200, 502}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}

	_, srv = server(t, Options{Faults: Faults{DropEvery: 1}})
	if _, err := http.PostForm(srv.URL+"/customer/query/", all); err == nil {
		t.Error("dropped connection gave an answer")
	}
}

func TestStartEndTime(t *testing.T) {
	day := ""
	count := func(srv string, extra ...string) int {
		kv := append([]string{"startDate", day, "endDate", day, "resultsPerPage", "200"}, extra...)
		a := post(t, srv, "/transactions/query/", creds(kv...))
		if a.Result == "ERROR" {
			return 0
		}
		return a.page(t).TotalResults
	}
	_, off := server(t, Options{})
	_, on := server(t, Options{HonourTimes: true})
	whole := 0
	for d := 1; d <= 30 && whole < 4; d++ {
		day = fmt.Sprintf("06/%02d/2026", d)
		whole = count(off.URL)
	}
	if whole < 2 || count(off.URL, "startTime", "12:00", "endTime", "12:30") != whole {
		t.Fatalf("times not ignored by default: whole day %d", whole)
	}
	am := count(on.URL, "endTime", "11:59")
	pm := count(on.URL, "startTime", "12:00")
	if am+pm != whole || am == 0 || pm == 0 {
		t.Errorf("am %d + pm %d != day %d", am, pm, whole)
	}
	if a := post(t, on.URL, "/transactions/query/", creds("startDate", "06/01/2026", "endDate", "06/01/2026", "startTime", "25:00")); a.text() != "Invalid startTime" {
		t.Errorf("bad time: %s", a.Message)
	}
}

// TestClockHidesTheFuture: with the clock in the middle of the merchant's
// history, nothing created, updated or charged back later shows.
func TestClockHidesTheFuture(t *testing.T) {
	clock := NewClock(time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC))
	s, srv := server(t, Options{Clock: clock.Now})
	_, _, _, before := s.Counts()
	now := clock.Now().In(s.loc).Format(crm.WallLayout)
	today := now[:10]
	for _, path := range []string{"/transactions/query/", "/order/query/", "/purchase/query/", "/customer/query/"} {
		for _, drt := range []string{"dateCreated", "dateUpdated"} {
			form := creds("startDate", "01/01/2020", "endDate", "12/31/2030", "resultsPerPage", "200", "dateRangeType", drt)
			for page := 1; ; page++ {
				form.Set("page", fmt.Sprint(page))
				a := post(t, srv.URL, path, form)
				if a.Result == "ERROR" {
					t.Fatalf("%s %s: %s", path, drt, a.Message)
				}
				p := a.page(t)
				for _, raw := range p.Data {
					var r struct {
						DateCreated, DateUpdated string
						CBDate                   *string `json:"chargebackDate"`
					}
					if err := json.Unmarshal(raw, &r); err != nil {
						t.Fatal(err)
					}
					if r.DateCreated > now || r.DateUpdated > now || r.DateUpdated < r.DateCreated {
						t.Fatalf("%s: created %s updated %s at %s", path, r.DateCreated, r.DateUpdated, now)
					}
					if r.CBDate != nil && *r.CBDate > today {
						t.Fatalf("chargeback dated %s shown on %s", *r.CBDate, today)
					}
				}
				if page*200 >= p.TotalResults {
					break
				}
			}
		}
	}
	clock.Set(time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC))
	if _, _, _, after := s.Counts(); after <= before {
		t.Errorf("moving the clock on showed no new transactions: %d then %d", before, after)
	}
}
