package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
)

// apiTxn is what verify keeps of a transaction row.
type apiTxn struct {
	id, parent, mtid, cust, order, clientOrder string
	typ, resp                                  string
	amount                                     crm.Money
	created                                    crm.WallTime
	cb                                         bool
	cbAmt                                      crm.Money
	cbDay                                      crm.Date
	fileCust                                   int32 // the file customer it matched; -1 none
}

type apiOrder struct {
	id, cust, client string
	used             bool
}

type apiCust struct {
	id      string
	contact [nContact]string
}

type apiPur struct {
	id, cust, product, merchant, status string
	nbd                                 crm.Date
	used                                bool
}

// str reads a JSON string, number or null as text.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = str(v)
	default:
		*s = str(b)
	}
	return nil
}

// rawContact is the part of a customer row crm.Customer does not keep.
type rawContact struct {
	FirstName      str `json:"firstName"`
	LastName       str `json:"lastName"`
	Email          str `json:"emailAddress"`
	Phone          str `json:"phoneNumber"`
	Address1       str `json:"address1"`
	Address2       str `json:"address2"`
	City           str `json:"city"`
	State          str `json:"state"`
	PostalCode     str `json:"postalCode"`
	Country        str `json:"country"`
	ShipAddress1   str `json:"shipAddress1"`
	ShipAddress2   str `json:"shipAddress2"`
	ShipCity       str `json:"shipCity"`
	ShipState      str `json:"shipState"`
	ShipPostalCode str `json:"shipPostalCode"`
	ShipCountry    str `json:"shipCountry"`
}

type rawClient struct {
	ClientOrderID str `json:"clientOrderId"`
}

func (v *verifier) addPage(p konnektive.Page) error {
	v.pages.Add(1)
	v.mu.Lock()
	defer v.mu.Unlock()
	switch p.Endpoint {
	case konnektive.Transactions:
		for i := range p.Transactions {
			t := &p.Transactions[i]
			var rc rawClient
			if err := json.Unmarshal(p.Raw[i], &rc); err != nil {
				return fmt.Errorf("read transaction %s: %w", t.ID, err)
			}
			a := apiTxn{id: t.ID, parent: t.ParentID, mtid: t.MerchantTxnID, cust: t.CustomerID, order: t.OrderID,
				clientOrder: string(rc.ClientOrderID), typ: t.TxnType, resp: t.ResponseType, amount: t.Amount, created: t.Created,
				cb: t.Chargedback, cbAmt: t.ChargebackAmt, cbDay: t.ChargebackDay, fileCust: -1}
			if i, ok := v.txnByID[t.ID]; ok {
				a.fileCust = v.txns[i].fileCust
				v.txns[i] = a // a row seen again (a re-walk): the later copy wins
				continue
			}
			v.txnByID[t.ID] = int32(len(v.txns))
			v.txnByMTID[t.MerchantTxnID] = append(v.txnByMTID[t.MerchantTxnID], int32(len(v.txns)))
			v.txns = append(v.txns, a)
		}
	case konnektive.Orders:
		for i := range p.Orders {
			o := &p.Orders[i]
			var rc rawClient
			if err := json.Unmarshal(p.Raw[i], &rc); err != nil {
				return fmt.Errorf("read order %s: %w", o.ID, err)
			}
			a := apiOrder{id: o.ID, cust: o.CustomerID, client: string(rc.ClientOrderID)}
			if i, ok := v.orderByID[o.ID]; ok {
				v.orders[i] = a
				continue
			}
			v.orderByID[o.ID] = int32(len(v.orders))
			v.orders = append(v.orders, a)
		}
	case konnektive.Customers:
		for i := range p.Customers {
			cu := &p.Customers[i]
			var rc rawContact
			if err := json.Unmarshal(p.Raw[i], &rc); err != nil {
				return fmt.Errorf("read customer %s: %w", cu.ID, err)
			}
			v.acusts[cu.ID] = &apiCust{id: cu.ID, contact: [nContact]string{string(rc.FirstName), string(rc.LastName), string(rc.Email),
				string(rc.Phone), string(rc.Address1), string(rc.Address2), string(rc.City), string(rc.State), string(rc.PostalCode),
				string(rc.Country), string(rc.ShipAddress1), string(rc.ShipAddress2), string(rc.ShipCity), string(rc.ShipState),
				string(rc.ShipPostalCode), string(rc.ShipCountry)}}
		}
	case konnektive.Purchases:
		for i := range p.Purchases {
			pu := &p.Purchases[i]
			a := apiPur{id: pu.ID, cust: pu.CustomerID, product: pu.ProductID, merchant: pu.MerchantID, status: pu.Status, nbd: pu.NextBillDate}
			if i, ok := v.purByID[pu.ID]; ok {
				v.purs[i] = a
				continue
			}
			v.purByID[pu.ID] = int32(len(v.purs))
			v.purs = append(v.purs, a)
		}
	}
	return nil
}

// job is one walk.
type job struct {
	ep konnektive.Endpoint
	q  konnektive.Query
}

// runJobs runs walks on opts.Parallel workers; the first error stops them.
func (v *verifier) runJobs(parent context.Context, jobs []job) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	ch := make(chan job)
	errc := make(chan error, v.opts.Parallel)
	for range v.opts.Parallel {
		go func() {
			var failed error
			for j := range ch {
				if failed != nil {
					continue
				}
				if err := v.opts.API.Walk(ctx, j.ep, j.q, v.addPage); err != nil {
					failed = fmt.Errorf("walk /%s/: %w", j.ep, err)
					cancel()
				}
			}
			errc <- failed
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	// The first failure cancelled the other walks: report it, not their
	// cancellations.
	var first, canceled error
	for range v.opts.Parallel {
		err := <-errc
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled):
			canceled = err
		case first == nil:
			first = err
		}
	}
	if first != nil {
		return first
	}
	if err := parent.Err(); err != nil {
		return err
	}
	return canceled
}

func day(s string) crm.Date {
	d, _ := crm.ParseDate(s)
	return d
}

func addDays(d crm.Date, n int) crm.Date {
	return crm.DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

// windows splits from..to into at most n windows of whole days: parallel
// walks, and at most one partly filled page per window.
func windows(from, to crm.Date, n int) [][2]crm.Date {
	t0 := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, time.UTC)
	days := int(t1.Sub(t0).Hours()/24) + 1
	if days < 1 {
		return nil
	}
	n = max(1, min(n, days))
	var out [][2]crm.Date
	for i := range n {
		a, b := i*days/n, (i+1)*days/n-1
		out = append(out, [2]crm.Date{addDays(from, a), addDays(from, b)})
	}
	return out
}

// load reads what Konnektive holds for the files' customers.
func (v *verifier) load(ctx context.Context) error {
	if v.d0 == "" {
		return nil
	}
	// A day either side catches times a wrong zone moved across midnight.
	from, to := addDays(day(v.d0), -1), addDays(day(v.d1), 1)
	today := v.opts.Today
	if today.Before(to) {
		today = to
	}
	var jobs []job
	if v.opts.Strategy == ByRange {
		for _, w := range windows(from, to, v.opts.Parallel) {
			jobs = append(jobs, job{konnektive.Transactions, konnektive.Query{StartDate: w[0], EndDate: w[1], DateRangeType: konnektive.DateCreated}})
		}
		// Customers, orders and purchases may be dated on the import day.
		for _, ep := range []konnektive.Endpoint{konnektive.Customers, konnektive.Orders, konnektive.Purchases} {
			for _, w := range windows(from, today, v.opts.Parallel) {
				jobs = append(jobs, job{ep, konnektive.Query{StartDate: w[0], EndDate: w[1], DateRangeType: konnektive.DateCreated}})
			}
		}
		return v.runJobs(ctx, jobs)
	}
	// Per customer: find them by email, then their rows by customerId.
	for _, c := range v.custs {
		if c.contact[cEmail] == "" {
			continue
		}
		jobs = append(jobs, job{konnektive.Customers, konnektive.Query{StartDate: from, EndDate: today,
			Params: url.Values{"emailAddress": {c.contact[cEmail]}}}})
	}
	if err := v.runJobs(ctx, jobs); err != nil {
		return err
	}
	jobs = jobs[:0]
	for id := range v.acusts {
		for _, ep := range []konnektive.Endpoint{konnektive.Transactions, konnektive.Orders, konnektive.Purchases} {
			jobs = append(jobs, job{ep, konnektive.Query{Params: url.Values{"customerId": {id}}}})
		}
	}
	return v.runJobs(ctx, jobs)
}

// loadCustomers fetches customers by id (owners of matched rows created
// outside the walked days).
func (v *verifier) loadCustomers(ctx context.Context, ids []string) error {
	var jobs []job
	for _, id := range ids {
		jobs = append(jobs, job{konnektive.Customers, konnektive.Query{Params: url.Values{"customerId": {id}}}})
	}
	if len(jobs) == 0 {
		return nil
	}
	return v.runJobs(ctx, jobs)
}

func norm(field int, s string) string {
	s = strings.TrimSpace(s)
	switch field {
	case cEmail, cCountry, cShipCountry, cState, cShipState:
		return strings.ToLower(s)
	case cPhone:
		var b strings.Builder
		for _, r := range s {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	return s
}
