package web

import (
	"errors"
	"net/http"

	"github.com/konduit/konduit/internal/report"
)

// customerView is what customer.html gets.
type customerView struct {
	P      *reportParams
	C      *report.CustomerView
	Empty  bool
	Totals []customerTotals
}

// customerTotals are a currency's lifetime figures, formatted.
type customerTotals struct {
	Currency                         string
	Sales, Declines                  string
	Gross, Refunds, Chargebacks, Net string
}

// customerPage shows a customer and their timeline (report.
// CustomerTimeline) in the display time zone: names and emails are shown
// here and nowhere else (never logged); a card at most as its last four.
func (s *Server) customerPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _, msg, err := s.parseReportParams(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, r, "read filters", err)
		return
	}
	v := &customerView{P: p}
	if p.in == nil {
		v.Empty = true
		s.render(w, r, http.StatusNotFound, "customer", page{Title: "Customer", Nav: "reports", Error: msg, Data: v})
		return
	}
	q := report.Query{Store: s.st, Integration: p.in.ID, Loc: p.loc}
	c, err := report.CustomerTimeline(ctx, q, r.URL.Query().Get("source"), r.PathValue("customer"))
	if errors.Is(err, report.ErrNoCustomer) {
		v.Empty = true
		s.render(w, r, http.StatusNotFound, "customer", page{Title: "Customer", Nav: "reports", Error: "No such customer in " + p.Integration + ".", Data: v})
		return
	}
	if err != nil {
		s.fail(w, r, "read customer", err)
		return
	}
	v.C = c
	for _, t := range c.Totals {
		v.Totals = append(v.Totals, customerTotals{Currency: t.Currency, Sales: formatInt(t.Sales), Declines: formatInt(t.Declines),
			Gross: money(t.Gross.String(), t.Currency), Refunds: money(t.Refunds.String(), t.Currency),
			Chargebacks: money(t.Chargebacks.String(), t.Currency), Net: money(t.Net.String(), t.Currency)})
	}
	s.render(w, r, http.StatusOK, "customer", page{Title: "Customer " + c.ID, Nav: "reports", Error: msg, Data: v})
}
