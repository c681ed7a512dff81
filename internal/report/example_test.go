package report_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/store"
)

// TestWorkedExample checks every number docs/metrics.md's worked example
// states.
func TestWorkedExample(t *testing.T) {
	ctx := context.Background()
	ny, syd := mustLoc(t, "America/New_York"), mustLoc(t, "Australia/Sydney")
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in := &store.Integration{Kind: store.KindLegacy, Name: "example", TimeZone: ny.String()}
	if err := st.SaveIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	wall := func(s string) crm.WallTime {
		w, err := crm.ParseWall(s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	tx := func(id, cust, order, at, typ, resp string, cents int64, cycle int) crm.Transaction {
		return crm.Transaction{Source: crm.SourceLegacy, ID: id, CustomerID: cust, OrderID: order, ProductID: "1", CampaignID: "1", MerchantID: "7",
			TxnType: typ, ResponseType: resp, Amount: crm.Money(cents), BillingCycle: cycle, Created: wall(at)}
	}
	rows := []crm.Transaction{
		tx("1", "A", "A1", "2025-03-08 23:30:00", "SALE", "SUCCESS", 4995, 1),
		tx("2", "B", "B1", "2025-03-31 10:00:00", "SALE", "SUCCESS", 2999, 1),
		tx("3", "A", "A2", "2025-04-07 02:10:00", "SALE", "DECLINE", 3995, 2),
		tx("4", "A", "A2", "2025-04-10 02:20:00", "SALE", "SUCCESS", 3995, 2),
		tx("5", "A", "A2", "2025-04-20 14:00:00", "REFUND", "SUCCESS", 1000, 2),
	}
	rows[0].Chargedback, rows[0].ChargebackAmt, rows[0].ChargebackDay = true, 4995, crm.Date{Year: 2025, Month: time.May, Day: 2}
	rows[4].ParentID = "4"
	if err := st.Update(ctx, func(x *store.Tx) error { return x.UpsertTransactions(ctx, in.ID, rows) }); err != nil {
		t.Fatal(err)
	}
	q := report.Query{Store: st, Integration: in.ID, Loc: ny}
	month := func(m time.Month) (crm.Date, crm.Date) {
		return crm.Date{Year: 2025, Month: m, Day: 1}, crm.DateOf(time.Date(2025, m+1, 0, 0, 0, 0, 0, time.UTC))
	}
	summary := func(m time.Month) report.SummaryRow {
		f, to := month(m)
		s, err := report.Summary(ctx, q, f, to)
		if err != nil {
			t.Fatal(err)
		}
		return s.Total.Row(false)
	}
	eq := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	mar := summary(time.March)
	eq("march gross", mar.GrossRevenue.String(), "79.94")
	eq("march aov", mar.AOV.String(), "39.97")
	eq("march approval", mar.ApprovalRate.String(), "1.0000")
	eq("march refunds", mar.Refunds.String(), "0.00")
	eq("march konnektive", mar.RefundsKonnektiveView.String(), "49.95")
	if mar.Sales != 2 || mar.Orders != 2 || mar.NewCustomers != 2 {
		t.Errorf("march %+v", mar)
	}
	apr := summary(time.April)
	eq("april gross", apr.GrossRevenue.String(), "39.95")
	eq("april approval", apr.ApprovalRate.String(), "0.5000")
	eq("april rebill", apr.ApprovalRateRebill.String(), "0.5000")
	eq("april initial", apr.ApprovalRateInitial.String(), "")
	eq("april refunds", apr.Refunds.String(), "10.00")
	eq("april konnektive", apr.RefundsKonnektiveView.String(), "10.00")
	eq("april refund rate", apr.RefundRate.String(), "1.0000")
	eq("april net", apr.NetRevenue.String(), "29.95")
	may := summary(time.May)
	eq("may refunds", may.Refunds.String(), "49.95")
	eq("may konnektive", may.RefundsKonnektiveView.String(), "0.00")
	eq("may net", may.NetRevenue.String(), "-49.95")
	for m, view := range map[time.Month]string{time.March: report.ViewKonnektive, time.May: report.ViewDefault} {
		f, to := month(m)
		r, err := report.Reconcile(ctx, q, f, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Lines) != 1 || r.Lines[0].TransactionID != "1" || r.Lines[0].View != view {
			t.Errorf("reconcile %s: %+v", m, r.Lines)
		}
	}
	ltv := func(loc *time.Location, asOf crm.Date) report.Cohort {
		q := q
		q.Loc = loc
		r, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", Days: []int{0, 30, 32, 60}, AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		if r.Cohorts[0].Cohort != "2025-03" {
			t.Fatalf("ltv cohorts %+v", r.Cohorts)
		}
		if n := map[*time.Location]int{ny: 1, syd: 2}[loc]; len(r.Cohorts) != n {
			t.Fatalf("ltv in %s: %d cohorts, want %d", loc, len(r.Cohorts), n)
		}
		return r.Cohorts[0]
	}
	c := ltv(ny, crm.Date{Year: 2025, Month: time.June, Day: 30})
	for i, want := range [][2]string{{"39.97", "39.97"}, {"39.97", "39.97"}, {"39.97", "39.97"}, {"59.95", "29.97"}} {
		eq("ltv gross", c.Cells[i].GrossLTV.String(), want[0])
		eq("ltv net", c.Cells[i].NetLTV.String(), want[1])
		if c.Cells[i].Partial {
			t.Errorf("cell %d partial at June 30", i)
		}
	}
	if c := ltv(ny, crm.Date{Year: 2025, Month: time.May, Day: 15}); !c.Cells[3].Partial || c.Cells[1].Partial {
		t.Errorf("as of May 15: %+v", c.Cells)
	}
	if c.Customers != 2 {
		t.Errorf("cohort 2025-03 in New York: %d customers", c.Customers)
	}
	// In Sydney, B's sale is on April 1 (cohort 2025-04) and #4 is on A's
	// day 32: in the day-32 cell, not the day-30 one.
	c = ltv(syd, crm.Date{Year: 2025, Month: time.June, Day: 30})
	eq("sydney day 30", c.Cells[1].GrossLTV.String(), "49.95")
	eq("sydney day 32", c.Cells[2].GrossLTV.String(), "89.90")
	q.Loc = syd
	s, err := report.Summary(ctx, q, crm.Date{Year: 2025, Month: time.March, Day: 1}, crm.Date{Year: 2025, Month: time.March, Day: 31})
	if err != nil {
		t.Fatal(err)
	}
	eq("sydney march gross", report.Money(s.Total.Gross).String(), "49.95")
	q.Loc = ny
	ret, err := report.Retention(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	cy := ret.Groups[0].Cycles
	if len(cy) != 2 || cy[0].Approvals != 2 || cy[1].Approvals != 1 || cy[1].Declines != 1 || cy[1].RebillRate.String() != "0.5000" || cy[1].Retention.String() != "0.5000" {
		t.Errorf("retention %+v", cy)
	}
	cb, err := report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range cb.Months {
		if m.Month == "2025-05" {
			found = true
			if m.Chargebacks != 1 || m.VisaRatio.String() != "" || m.MastercardRatio.String() != "1.0000" || m.VisaFlag || m.MastercardFlag {
				t.Errorf("chargebacks May %+v", m)
			}
		}
	}
	if !found {
		t.Errorf("no May row: %+v", cb.Months)
	}
}
