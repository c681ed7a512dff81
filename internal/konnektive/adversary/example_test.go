package adversary_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/konduit/konduit/internal/konnektive/adversary"
)

// A sync property test: a hostile server, a client pointed at it, then the
// database compared with the server's ground truth.
func Example() {
	ny, _ := time.LoadLocation("America/New_York")
	srv, err := adversary.New(adversary.Config{
		Seed:       42,
		Now:        time.Date(2025, 11, 2, 20, 0, 0, 0, ny), // a busy, 25-hour day
		BusyDates:  []string{"2025-11-02"},
		FaultRate:  0.15,
		SlowDelay:  10 * time.Millisecond,
		DriftRate:  0.2,
		BadRowRate: 0.01,
	})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	loginID, password := srv.Credentials()
	_, _, _ = ts.URL, loginID, password // konnektive.Config{BaseURL: ts.URL, LoginID: loginID, Password: password, Location: srv.Location()}

	// ... run the sync ...
	srv.Advance(48 * time.Hour) // new customers, rebills, late refunds and chargebacks
	// ... run it again ...

	want := srv.Tally()                   // sales, refunds, chargebacks in cents, over good rows
	_ = srv.Holds(adversary.Transactions) // id -> Row (instants, cents, chargeback fields, Bad reason, JSON)
	_ = srv.BadRows()                     // what should have been quarantined, and why
	st := srv.Stats()                     // requests, per endpoint, faulted
	fmt.Println(want.Sales.Count > 0, st.Requests)
	// Output: true 0
}
