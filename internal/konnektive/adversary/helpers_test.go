package adversary

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// start runs cfg's server on 127.0.0.1.
func start(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

type answer struct {
	status  int
	header  http.Header
	body    []byte
	readErr error
}

// post sends v (with the server's login) to the endpoint as a form.
func post(t *testing.T, ts *httptest.Server, s *Server, e Entity, v url.Values) answer {
	t.Helper()
	form := url.Values{}
	for k, vs := range v {
		form[k] = vs
	}
	if form.Get("loginId") == "" {
		id, pw := s.Credentials()
		form.Set("loginId", id)
		form.Set("password", pw)
	}
	return send(t, ts, e.Path(), form)
}

func send(t *testing.T, ts *httptest.Server, path string, form url.Values) answer {
	t.Helper()
	resp, err := ts.Client().PostForm(ts.URL+path, form)
	if err != nil {
		t.Fatalf("post %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b, rerr}
}

// page is a decoded SUCCESS page.
type page struct {
	total   int
	perPage int
	number  int
	rows    []map[string]json.RawMessage
}

// decode reads an answer independently of the client: ok with a page, or
// the ERROR text.
func decode(t *testing.T, a answer) (page, string) {
	t.Helper()
	if a.status != 200 || a.readErr != nil {
		t.Fatalf("status %d, read error %v: %.200s", a.status, a.readErr, a.body)
	}
	var env struct {
		Result  string          `json:"result"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(a.body, &env); err != nil {
		t.Fatalf("envelope: %v: %.200s", err, a.body)
	}
	if env.Result == "ERROR" {
		var msg string
		if err := json.Unmarshal(env.Message, &msg); err != nil {
			t.Fatalf("error message: %v", err)
		}
		return page{}, msg
	}
	if env.Result != "SUCCESS" {
		t.Fatalf("result %q", env.Result)
	}
	var m struct {
		TotalResults   json.RawMessage              `json:"totalResults"`
		ResultsPerPage int                          `json:"resultsPerPage"`
		Page           int                          `json:"page"`
		Data           []map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(env.Message, &m); err != nil {
		t.Fatalf("message: %v", err)
	}
	total, err := strconv.Atoi(strings.Trim(string(m.TotalResults), `"`))
	if err != nil {
		t.Fatalf("totalResults %s", m.TotalResults)
	}
	return page{total, m.ResultsPerPage, m.Page, m.Data}, ""
}

// text is a row field as text (a string's content or a number's digits).
func text(r map[string]json.RawMessage, k string) string {
	v, ok := r[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// walked is the outcome of one page walk.
type walked struct {
	ids    []string // in served order, repeats kept
	totals []int
	pages  []page
	end    string // the ERROR that ended the walk
}

// walk asks pages 1, 2, ... until the server says there is nothing more.
func walk(t *testing.T, ts *httptest.Server, s *Server, e Entity, v url.Values) walked {
	t.Helper()
	var w walked
	for n := 1; n < 2000; n++ {
		q := url.Values{}
		for k, vs := range v {
			q[k] = vs
		}
		q.Set("page", strconv.Itoa(n))
		p, msg := decode(t, post(t, ts, s, e, q))
		if msg != "" {
			w.end = msg
			return w
		}
		w.pages = append(w.pages, p)
		w.totals = append(w.totals, p.total)
		for _, r := range p.rows {
			w.ids = append(w.ids, text(r, e.IDKey()))
		}
	}
	t.Fatal("walk did not end")
	return w
}

func us(d time.Time) string { return d.Format("01/02/2006") }

// window lists the ids whose instant of the range type lies within the
// whole local days from..to, computed from instants (not from the server's
// filter).
func window(s *Server, e Entity, rangeType string, from, to time.Time) map[string]bool {
	return windowIn(s.Holds(e), s.Location(), rangeType, from, to)
}

func windowIn(holds map[string]Row, loc *time.Location, rangeType string, from, to time.Time) map[string]bool {
	lo := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	hi := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	out := map[string]bool{}
	for id, r := range holds {
		at := r.Created
		if rangeType == "dateUpdated" {
			at = r.Updated
		}
		if !at.Before(lo) && at.Before(hi) {
			out[id] = true
		}
	}
	return out
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, newYork) }

func rangeQuery(from, to time.Time, rangeType string, perPage int) url.Values {
	v := url.Values{}
	v.Set("startDate", us(from))
	v.Set("endDate", us(to))
	if rangeType != "" {
		v.Set("dateRangeType", rangeType)
	}
	if perPage > 0 {
		v.Set("resultsPerPage", strconv.Itoa(perPage))
	}
	return v
}
