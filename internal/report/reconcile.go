package report

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/konduit/konduit/internal/crm"
)

// Chargeback views.
const (
	ViewBoth       = "both"       // received in the range, of a sale in the range
	ViewDefault    = "default"    // received in the range, of an earlier or later sale
	ViewKonnektive = "konnektive" // of a sale in the range, received outside it
)

// ReconcileLine is one chargeback that at least one view counts.
type ReconcileLine struct {
	TransactionID  string  `json:"transaction_id"`
	CustomerID     string  `json:"customer_id"`
	Merchant       string  `json:"merchant"`
	MerchantName   *string `json:"merchant_name,omitempty"`
	SaleDay        string  `json:"sale_date"` // the sale's calendar day in the display time zone
	ChargebackDate string  `json:"chargeback_date"`
	Amount         Money   `json:"amount"`
	View           string  `json:"counted_in"` // both, default or konnektive
}

// ReconcileResult explains refunds − refunds_konnektive_view.
type ReconcileResult struct {
	From           string          `json:"from"`
	To             string          `json:"to"`
	TimeZone       string          `json:"time_zone"`
	RefundAmount   Money           `json:"refund_amount"` // refund transactions: the same in both views
	Refunds        Money           `json:"refunds"`
	RefundsKView   Money           `json:"refunds_konnektive_view"`
	Difference     Money           `json:"difference"`      // refunds − refunds_konnektive_view
	OnlyDefault    Money           `json:"only_default"`    // chargebacks counted only by the default view
	OnlyKonnektive Money           `json:"only_konnektive"` // chargebacks counted only by Konnektive's view
	Both           Money           `json:"in_both"`
	Lines          []ReconcileLine `json:"chargebacks"`
	names          names
}

// Table has one row per chargeback.
func (r *ReconcileResult) Table() Table {
	t := Table{Header: append(append([]string{"transaction_id", "customer_id"}, groupHeader("merchant", r.names)...), "sale_date", "chargeback_date", "amount", "counted_in")}
	blank := make([]string, len(groupHeader("merchant", r.names)))
	for _, l := range r.Lines {
		t.Rows = append(t.Rows, append(append([]string{l.TransactionID, l.CustomerID}, groupCells(l.Merchant, r.names)...), l.SaleDay, l.ChargebackDate, l.Amount.String(), l.View))
	}
	// Totals: the difference between the views is only default − only konnektive.
	for _, x := range []struct {
		name string
		m    Money
	}{{ViewKonnektive, r.OnlyKonnektive}, {ViewDefault, r.OnlyDefault}, {ViewBoth, r.Both}} {
		t.Rows = append(t.Rows, append(append([]string{"total", ""}, blank...), "", "", x.m.String(), x.name))
	}
	t.Rows = append(t.Rows, append(append([]string{"refunds - refunds_konnektive_view", ""}, blank...), "", "", r.Difference.String(), "default - konnektive"))
	return t
}

// Reconcile lists, chargeback by chargeback, why the default refunds
// (chargebacks dated when received) and Konnektive's view (chargebacks of
// the range's sales) differ.
func Reconcile(ctx context.Context, q Query, from, to crm.Date) (*ReconcileResult, error) {
	// The lines of one group are those its filter keeps.
	if q.Only != "" && q.By != "" {
		q.Filters = append(q.Filters[:len(q.Filters):len(q.Filters)], Filter{By: q.By, Values: []string{q.Only}})
	}
	q.By, q.Only = "", ""
	q, err := q.prepare(ctx, true)
	if err != nil {
		return nil, err
	}
	sum, err := Summary(ctx, q, from, to)
	if err != nil {
		return nil, err
	}
	lo, hi := dayBounds(from, to, q.Loc)
	fcond, fargs := q.filterSQL("")
	// The chargebacks received in the range (the chargeback index) and
	// those of the range's sales (the created index): two index ranges
	// rather than one scan of every chargeback for an OR.
	sel := "SELECT id, customer_id, merchant_id, created_utc, chargeback_date, chargeback_cents FROM transactions" +
		" WHERE " + q.scope("") + " AND chargedback = 1 AND " + saleCond("")
	stmt := sel + " AND chargeback_date >= ? AND chargeback_date <= ?" + fcond + " UNION " + sel + " AND created_utc >= ? AND created_utc < ?" + fcond
	args := append(q.scopeArgs(from.String(), to.String()), fargs...)
	args = append(append(args, q.scopeArgs(lo, hi)...), fargs...)
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	defer rows.Close()
	f := sum.Total
	res := &ReconcileResult{From: from.String(), To: to.String(), TimeZone: q.Loc.String(), RefundAmount: Money(f.RefundCents),
		Refunds: Money(f.RefundCents + f.CBCents), RefundsKView: Money(f.RefundCents + f.KCBCents), Difference: Money(f.CBCents - f.KCBCents),
		Lines: []ReconcileLine{}}
	if res.names, err = namesOf(ctx, q, "merchant_id"); err != nil {
		return nil, err
	}
	fromS, toS := from.String(), to.String()
	for rows.Next() {
		var l ReconcileLine
		var at, cents int64
		var cbDate sql.NullString
		if err := rows.Scan(&l.TransactionID, &l.CustomerID, &l.Merchant, &at, &cbDate, &cents); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
		l.SaleDay = localDay(at, q.Loc).String()
		l.MerchantName = res.names.ptr(l.Merchant)
		l.ChargebackDate = cbDate.String
		l.Amount = Money(cents)
		received := cbDate.Valid && cbDate.String >= fromS && cbDate.String <= toS
		sold := at >= lo && at < hi
		switch {
		case received && sold:
			l.View = ViewBoth
			res.Both += Money(cents)
		case received:
			l.View = ViewDefault
			res.OnlyDefault += Money(cents)
		default:
			l.View = ViewKonnektive
			res.OnlyKonnektive += Money(cents)
		}
		res.Lines = append(res.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	sort.Slice(res.Lines, func(i, j int) bool {
		a, b := res.Lines[i], res.Lines[j]
		if a.View != b.View {
			return a.View > b.View // konnektive, default, both
		}
		if a.ChargebackDate != b.ChargebackDate {
			return a.ChargebackDate < b.ChargebackDate
		}
		return a.TransactionID < b.TransactionID
	})
	return res, nil
}
