package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
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
	// A pays with a Mastercard, B with a Visa card (the brand as the sync
	// and load derive it: the BIN, else the card type).
	for i := range rows {
		typ, bin := "VISA", "411111"
		if rows[i].CustomerID == "A" {
			typ, bin = "MASTERCARD", "555555"
		}
		rows[i].CardType, rows[i].CardBrand = typ, cardnum.BrandOf(typ, bin)
	}
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
	// CSV: the partial mark in its own column, every money cell a number.
	for asOf, want := range map[crm.Date]string{{Year: 2025, Month: time.May, Day: 15}: "true", {Year: 2025, Month: time.June, Day: 30}: "false"} {
		r, err := report.LTV(ctx, q, report.LTVOptions{Cohort: "month", Days: []int{0, 60}, AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := report.Write(&b, "csv", r); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil || len(recs) < 2 || recs[0][7] != "partial_day_60" || recs[1][7] != want || strings.Contains(b.String(), "*") {
			t.Errorf("ltv csv as of %s: %v %v", asOf, recs, err)
		}
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
	retention := func(o report.RetentionOptions) *report.RetentionResult {
		t.Helper()
		r, err := report.Retention(ctx, q, o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	june30 := crm.Date{Year: 2025, Month: time.June, Day: 30}
	ret := retention(report.RetentionOptions{AsOf: june30})
	if ret.IntervalDays["1"] != 33 {
		t.Errorf("interval of product 1: %v, want 33 days (A's cycle 1 on March 8, cycle 2 on April 10)", ret.IntervalDays)
	}
	cy := ret.Groups[0].Cycles
	if len(cy) != 2 || cy[0].Approvals != 2 || cy[1].Approvals != 1 || cy[1].Declines != 1 || cy[1].Eligible != 2 || cy[1].Partial ||
		cy[1].RebillRate.String() != "0.5000" || cy[1].Retention.String() != "0.5000" || cy[1].RetentionAll.String() != "0.5000" {
		t.Errorf("retention as of June 30 %+v", cy)
	}
	// As of April 20, B (cycle 1 on March 31) is 20 days in, short of the 33 + 3
	// days cycle 2 needs: only A is eligible, and A rebilled.
	cy = retention(report.RetentionOptions{AsOf: crm.Date{Year: 2025, Month: time.April, Day: 20}}).Groups[0].Cycles
	if len(cy) != 2 || cy[1].Eligible != 1 || cy[1].EligibleApprovals != 1 || !cy[1].Partial || cy[0].Partial ||
		cy[1].Retention.String() != "1.0000" || cy[1].RebillRate.String() != "1.0000" || cy[1].RetentionAll.String() != "0.5000" {
		t.Errorf("retention as of April 20 %+v", cy)
	}
	// Cycle 1 from March 15 to 31: B only, who has no cycle 2 yet.
	r := retention(report.RetentionOptions{From: crm.Date{Year: 2025, Month: time.March, Day: 15}, To: crm.Date{Year: 2025, Month: time.March, Day: 31}, AsOf: june30})
	if g := r.Groups[0]; g.Subscriptions != 1 || len(g.Cycles) != 1 || g.Cycles[0].Approvals != 1 {
		t.Errorf("retention of March 15..31 %+v", r.Groups)
	}
	cb, err := report.Chargebacks(ctx, q, report.DefaultVisa, report.DefaultMastercard, report.DefaultEarly)
	if err != nil {
		t.Fatal(err)
	}
	rows2 := map[string]report.MIDMonth{}
	for _, m := range cb.Months {
		rows2[m.Month+" "+m.Brand] = m
	}
	if m := rows2["2025-05 all cards"]; m.Chargebacks != 1 || m.VisaRatio.String() != "" || m.MastercardRatio.String() != "1.0000" || m.VisaFlag || m.MastercardFlag || m.EarlyWarning {
		t.Errorf("chargebacks May, all cards %+v", m)
	}
	m := rows2["2025-05 Mastercard"]
	if m.Chargebacks != 1 || m.SalesPrevMonth != 1 || m.MastercardRatio.String() != "1.0000" || m.MastercardFlag || !m.EarlyWarning ||
		len(m.Rules) != 1 || m.Rules[0] != "EARLY: Mastercard-style 100.00% of Mastercard cards >= 0.65%" {
		t.Errorf("chargebacks May, Mastercard %+v", m)
	}
	if m := rows2["2025-03 Visa"]; m.Sales != 1 || m.Chargebacks != 0 || m.VisaRatio.String() != "0.0000" || m.VisaFlag || m.EarlyWarning {
		t.Errorf("chargebacks March, Visa %+v", m)
	}
	if m := rows2["2025-03 all cards"]; m.Sales != 2 {
		t.Errorf("chargebacks March, all cards %+v", m)
	}
	if len(cb.Months) != 7 {
		t.Errorf("chargebacks: %d rows, want 7 (all cards and each brand with a sale or a chargeback: 3 in March, 2 in April, 2 in May)", len(cb.Months))
	}
}
