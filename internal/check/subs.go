package check

import (
	"fmt"
	"strings"
)

// The cross-row rules about active subscriptions. Only rows that may carry
// one count: isActiveRecurring=1 on a successful SALE or CAPTURE (any other
// row with isActiveRecurring=1 is an active-not-charge error, and is left
// out here so that one mistake is reported once).
//
//   - active-duplicate: the import creates one subscription per row, so a
//     customer's second active row for a productId is a second
//     subscription. Every such row but the latest (by dateCreated, then file
//     order) is reported when the file ends.
//   - double-billing: two customerIds whose active rows share an email
//     address (NormalEmail) or a 10-digit phoneNumber (BillingPhone) are
//     likely one person with two subscriptions. The customer whose active
//     row came first owns the address; every active row of another customer
//     with it is reported, naming the owner.
//
// Memory grows with the active subscriptions and their addresses, never
// with the file.

// subKey is one subscription as the import sees it: a customer (its entry in
// validator.customers) and a productId.
type subKey struct {
	cust    int32
	product string
}

// activeSub is what the rows of one subscription key said.
type activeSub struct {
	cust          int32
	product       string
	rows          []int // spreadsheet rows, file order
	latest        int   // index in rows of the latest
	latestCreated string
}

// owner is the first customer seen with an email address or phone number
// on an active row.
type owner struct {
	cust int32
	row  int
}

// twins holds the addresses of active subscriptions across the
// transactions files.
type twins struct {
	emails      *idIndex
	emailOwners column[owner] // by emails entry
	phones      map[uint64]owner
}

// activeRow folds one active subscription row into the indexes and reports
// double billing at once; duplicates wait for the file's end (finishActive).
func (r *fileRun) activeRow(cr *chunkResult, f *txFact, row int, cust int32) {
	product := cr.bytes(f.product)
	created := cr.bytes(f.created)
	if r.subs == nil {
		r.subs = map[subKey]*activeSub{}
	}
	k := subKey{cust: cust, product: string(product)}
	s := r.subs[k]
	if s == nil {
		s = &activeSub{cust: cust, product: k.product}
		r.subs[k] = s
	} else if len(s.rows) == 1 {
		r.dupSubs = append(r.dupSubs, s)
	}
	s.rows = append(s.rows, row)
	if len(s.rows) == 1 || string(created) >= s.latestCreated {
		s.latest, s.latestCreated = len(s.rows)-1, string(created)
	}

	t := &r.v.twins
	if t.emails == nil {
		t.emails, t.phones = newIDIndex(0, r.v.sp), map[uint64]owner{}
	}
	var other owner
	shared, col := "", 0
	if email := cr.bytes(f.email); len(email) > 0 {
		if i, ok := t.emails.lookup(f.hEmail, email); !ok {
			t.emails.insert(f.hEmail, email)
			t.emailOwners.add(owner{cust: cust, row: row})
		} else if o := *t.emailOwners.at(int(i)); o.cust != cust {
			other, shared, col = o, "email address", tx.email
		}
	}
	if f.phone != 0 {
		if o, ok := t.phones[f.phone]; !ok {
			t.phones[f.phone] = owner{cust: cust, row: row}
		} else if o.cust != cust && shared == "" {
			other, shared, col = o, "phoneNumber", tx.phone
		}
	}
	if shared != "" {
		cs := r.v.customers
		r.add(row, col, RuleDoubleBilling, fmt.Sprintf("customer %s has an active subscription with the same %s as customer %s (row %d): the same person would be billed twice; merge the two customers, or end one subscription, before the import",
			quote(cs.bytes(cust)), shared, quote(cs.bytes(other.cust)), other.row))
	}
}

// finishActive reports every active row of a subscription key but the
// latest.
func (r *fileRun) finishActive() {
	for _, s := range r.dupSubs {
		keep := s.rows[s.latest]
		rows := make([]string, 0, min(len(s.rows), 6))
		for i, row := range s.rows {
			if i == 5 && len(s.rows) > 6 {
				rows = append(rows, fmt.Sprintf("%d more", len(s.rows)-5))
				break
			}
			rows = append(rows, fmt.Sprint(row))
		}
		list := strings.Join(rows, ", ")
		for i, row := range s.rows {
			if i == s.latest {
				continue
			}
			r.add(row, tx.isActive, RuleActiveDuplicate, fmt.Sprintf("customer %s has %d rows with isActiveRecurring=1 for productId %s (rows %s): the import creates a subscription for each; keep only row %d, the latest successful charge, active and set isActiveRecurring=0 here",
				quote(r.v.customers.bytes(s.cust)), len(s.rows), quote(s.product), list, keep))
		}
	}
}
