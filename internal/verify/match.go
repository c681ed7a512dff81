package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// finish maps customers and compares what pass 2 could not: customers'
// contact fields, ownership, orders, subscriptions and extra rows.
func (v *verifier) finish(ctx context.Context) error {
	// Orders vote too: the Konnektive order whose client order id is the
	// file's orderId belongs to the customer.
	orderByClient := make(map[string][]int32, len(v.orders))
	for i := range v.orders {
		if c := v.orders[i].client; c != "" {
			orderByClient[c] = append(orderByClient[c], int32(i))
		}
	}
	for o, ci := range v.fileOrders {
		for _, i := range orderByClient[o] {
			c := v.custs[ci]
			if c.votes == nil {
				c.votes = map[string]int{}
			}
			c.votes[v.orders[i].cust]++
		}
	}
	// Customers: the most votes, else email and name.
	byEmail := map[string][]*apiCust{}
	for _, a := range v.acusts {
		e := norm(cEmail, a.contact[cEmail])
		byEmail[e] = append(byEmail[e], a)
	}
	kOwner := map[string]int32{}
	var fetch []string
	for ci, c := range v.custs {
		best, n := "", 0
		for id, k := range c.votes {
			if k > n || (k == n && id < best) {
				best, n = id, k
			}
		}
		if best == "" {
			var hits []string
			for _, a := range byEmail[norm(cEmail, c.contact[cEmail])] {
				if strings.EqualFold(a.contact[cFirst], c.contact[cFirst]) && strings.EqualFold(a.contact[cLast], c.contact[cLast]) {
					hits = append(hits, a.id)
				}
			}
			sort.Strings(hits)
			if len(hits) > 0 {
				best = hits[0]
			}
			if len(hits) > 1 {
				c.add(Difference{Field: "customer", File: "1 customer", Konnektive: fmt.Sprintf("%d customers with this email and name: %s", len(hits), strings.Join(hits, ", "))})
			}
		}
		if best == "" {
			continue
		}
		c.kID = best
		if _, dup := kOwner[best]; dup {
			c.add(Difference{Field: "customer", File: c.id, Konnektive: best, Note: "Konnektive customer " + best + " also holds the rows of file customer " + v.custs[kOwner[best]].id})
		} else {
			kOwner[best] = int32(ci)
		}
		if len(c.votes) > 1 {
			ids := make([]string, 0, len(c.votes))
			for id := range c.votes {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			c.add(Difference{Field: "customerId", File: c.id, Konnektive: strings.Join(ids, ", "), Note: "the customer's rows are split across Konnektive customers"})
		}
		if _, ok := v.acusts[best]; !ok {
			fetch = append(fetch, best)
		}
	}
	if err := v.loadCustomers(ctx, fetch); err != nil {
		return err
	}
	for _, c := range v.custs {
		if c.kID == "" {
			// Every row of theirs is missing: one difference says so.
			c.diffs = append(c.diffs[:0], Difference{Field: "customer", File: fmt.Sprintf("%s %s, %d transactions", c.contact[cFirst], c.contact[cLast], c.txns), Konnektive: "missing",
				Note: "no transaction (merchantTxnId), order (client order id) or customer (email and name) of this customer was found"})
			continue
		}
		a := v.acusts[c.kID]
		if a == nil {
			c.add(Difference{Field: "customer", File: c.id, Konnektive: "customerId " + c.kID + " not returned by the customer query"})
			continue
		}
		for f := range nContact {
			if norm(f, c.contact[f]) != norm(f, a.contact[f]) {
				c.add(Difference{Field: contactNames[f], File: orNone(c.contact[f]), Konnektive: orNone(a.contact[f])})
			}
		}
	}
	// Transactions: ownership, then rows the files do not account for.
	for i := range v.txns {
		t := &v.txns[i]
		if t.fileCust >= 0 {
			c := v.custs[t.fileCust]
			if c.kID != "" && t.cust != c.kID && len(c.votes) <= 1 {
				c.add(Difference{Field: "customerId", MerchantTxnID: t.mtid, File: c.id, Konnektive: t.cust, Note: "the transaction belongs to another Konnektive customer"})
			}
			continue
		}
		ci, ok := kOwner[t.cust]
		if !ok {
			continue
		}
		note := "not in the files"
		if len(v.txnByMTID[t.mtid]) > 1 {
			note = "a duplicate: the merchantTxnId is on " + fmt.Sprint(len(v.txnByMTID[t.mtid])) + " Konnektive transactions"
		}
		v.custs[ci].add(Difference{Field: "transaction", MerchantTxnID: t.mtid, File: "(none)",
			Konnektive: fmt.Sprintf("transactionId %s %s %s %s at %s", t.id, t.typ, t.resp, t.amount, t.created.Raw), Note: note})
	}
	// Orders.
	fileOrderIDs := make([]string, 0, len(v.fileOrders))
	for o := range v.fileOrders {
		fileOrderIDs = append(fileOrderIDs, o)
	}
	sort.Strings(fileOrderIDs)
	for _, o := range fileOrderIDs {
		c := v.custs[v.fileOrders[o]]
		if c.kID == "" {
			continue
		}
		hits := orderByClient[o]
		if len(hits) == 0 {
			c.add(Difference{Field: "order", OrderID: o, File: o, Konnektive: "missing", Note: "no Konnektive order has this client order id"})
			continue
		}
		for k, i := range hits {
			ao := &v.orders[i]
			ao.used = true
			if k > 0 {
				c.add(Difference{Field: "order", OrderID: o, File: "1 order", Konnektive: "orderId " + ao.id + " too", Note: "a duplicate order"})
			}
			if ao.cust != c.kID {
				c.add(Difference{Field: "order", OrderID: o, File: c.id, Konnektive: "customerId " + ao.cust, Note: "the order belongs to another Konnektive customer"})
			}
		}
	}
	for i := range v.orders {
		ao := &v.orders[i]
		if ci, ok := kOwner[ao.cust]; ok && !ao.used {
			v.custs[ci].add(Difference{Field: "order", File: "(none)", Konnektive: "orderId " + ao.id + " client order id " + orNone(ao.client), Note: "not in the files"})
		}
	}
	// Subscriptions: an active purchase per (customer, productId).
	purByCust := map[string][]int32{}
	for i := range v.purs {
		purByCust[v.purs[i].cust] = append(purByCust[v.purs[i].cust], int32(i))
	}
	for _, k := range v.subOrder {
		c := v.custs[k.cust]
		if c.kID == "" {
			continue
		}
		s := v.subs[k]
		var p *apiPur
		for _, i := range purByCust[c.kID] {
			q := &v.purs[i]
			if q.used || q.product != k.product {
				continue
			}
			if p == nil || (q.status == "ACTIVE" && p.status != "ACTIVE") {
				p = q
			}
		}
		if p == nil {
			c.add(Difference{Field: "purchase", ProductID: k.product, File: "active, next bill " + s.nbd, Konnektive: "missing"})
			continue
		}
		p.used = true
		if p.status != "ACTIVE" {
			c.add(Difference{Field: "purchaseStatus", ProductID: k.product, File: "ACTIVE", Konnektive: orNone(p.status)})
		}
		if p.nbd.String() != s.nbd {
			c.add(Difference{Field: "nextBillDate", ProductID: k.product, File: orNone(s.nbd), Konnektive: orNone(p.nbd.String())})
		}
		if p.merchant != s.merchant {
			c.add(Difference{Field: "merchantId", ProductID: k.product, File: orNone(s.merchant), Konnektive: orNone(p.merchant)})
		}
	}
	for i := range v.purs {
		p := &v.purs[i]
		if ci, ok := kOwner[p.cust]; ok && !p.used {
			v.custs[ci].add(Difference{Field: "purchase", ProductID: p.product, File: "(none)",
				Konnektive: "purchaseId " + p.id + " " + orNone(p.status), Note: "not an active subscription in the files"})
		}
	}
	return nil
}
