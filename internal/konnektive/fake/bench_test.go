package fake

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/synth"
)

// BenchmarkPage serves 200-row pages of transactions by dateUpdated from a
// 20,000-customer merchant, without HTTP: the fake's own cost per page.
func BenchmarkPage(b *testing.B) {
	loc, _ := time.LoadLocation("America/New_York")
	s, err := New(Options{LoginID: "api", Password: "pw", Location: loc, Clock: NewClock(time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC)).Now})
	if err != nil {
		b.Fatal(err)
	}
	if err := Generate(context.Background(), s, synth.Options{Customers: 20000, Seed: 1, TimeZone: loc}); err != nil {
		b.Fatal(err)
	}
	_, _, _, txns := s.Counts()
	pages := txns / 200
	form := url.Values{"loginId": {"api"}, "password": {"pw"}, "startDate": {"01/01/2020"}, "endDate": {"12/31/2030"},
		"resultsPerPage": {"200"}, "dateRangeType": {"dateUpdated"}}
	b.ResetTimer()
	rows := 0
	for i := 0; b.Loop(); i++ {
		form.Set("page", strconv.Itoa(1+i%pages))
		req := httptest.NewRequest("POST", "/transactions/query/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), `{"result":"SUCCESS"`) {
			b.Fatalf("%d %.100s", w.Code, w.Body.String())
		}
		rows += 200
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
