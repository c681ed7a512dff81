package check

import (
	"encoding/binary"
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

// A subscription, as the import sees it, is a customer (its record in
// validator.customers) and a productId: the key of fileRun.subs, whose
// payload is its first row and dateCreated (createdCode). One with a second
// row is promoted to an activeSub, in memory.

// activeSub is what the rows of one subscription key said.
type activeSub struct {
	cust          int64
	product       string
	rows          []int // spreadsheet rows, file order
	latest        int   // index in rows of the latest
	latestCreated int64 // createdCode
}

// createdCode orders dateCreated values as their strings do: 0 for none,
// else 1 + YYYYMMDDHHMMSS (the value is a valid datetime or empty).
func createdCode(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	var n int64
	for _, c := range b {
		if c >= '0' && c <= '9' {
			n = n*10 + int64(c-'0')
		}
	}
	return n + 1
}

// twins holds the addresses of active subscriptions across the
// transactions files: emails and phones (8 bytes, big-endian) to their
// owner's customer and row, the payload.
type twins struct {
	emails *idIndex
	phones *idIndex
}

func (t *twins) free() {
	if t.emails != nil {
		t.emails.free()
		t.phones.free()
	}
}

// activeRow folds one active subscription row into the indexes and reports
// double billing at once; duplicates wait for the file's end (finishActive).
func (r *fileRun) activeRow(cr *chunkResult, f *txFact, row int, cust int64) {
	product := cr.bytes(f.product)
	created := createdCode(cr.bytes(f.created))
	if r.subs == nil {
		r.subs, r.promoted = newIDIndex(0, 16, r.v.sp), map[int64]*activeSub{}
	}
	r.key = binary.BigEndian.AppendUint64(r.key[:0], uint64(cust))
	r.key = append(r.key, product...)
	h := keyHash(r.key)
	if off, p, ok := r.subs.lookup(h, r.key); !ok {
		r.subs.insert(h, r.key, pack(r.payload[:], int64(row), created))
	} else {
		s := r.promoted[off]
		if s == nil {
			s = &activeSub{cust: cust, product: string(product), rows: []int{int(word(p, 0))}, latestCreated: word(p, 1)}
			r.promoted[off] = s
			r.dupSubs = append(r.dupSubs, s)
		}
		s.rows = append(s.rows, row)
		if created >= s.latestCreated {
			s.latest, s.latestCreated = len(s.rows)-1, created
		}
	}

	t := &r.v.twins
	if t.emails == nil {
		t.emails, t.phones = newIDIndex(0, 16, r.v.sp), newIDIndex(0, 16, r.v.sp)
	}
	var other, otherRow int64
	shared, col := "", 0
	if email := cr.bytes(f.email); len(email) > 0 {
		if _, p, ok := t.emails.lookup(f.hEmail, email); !ok {
			t.emails.insert(f.hEmail, email, pack(r.payload[:], cust, int64(row)))
		} else if o := word(p, 0); o != cust {
			other, otherRow, shared, col = o, word(p, 1), "email address", tx.email
		}
	}
	if f.phone != 0 {
		r.key = binary.BigEndian.AppendUint64(r.key[:0], f.phone)
		h := keyHash(r.key)
		if _, p, ok := t.phones.lookup(h, r.key); !ok {
			t.phones.insert(h, r.key, pack(r.payload[:], cust, int64(row)))
		} else if o := word(p, 0); o != cust && shared == "" {
			other, otherRow, shared, col = o, word(p, 1), "phoneNumber", tx.phone
		}
	}
	if shared != "" {
		cs := r.v.customers
		r.add(row, col, RuleDoubleBilling, fmt.Sprintf("customer %s has an active subscription with the same %s as customer %s (row %d): the same person would be billed twice; merge the two customers, or end one subscription, before the import",
			quote(cs.key(cust)), shared, quote(cs.key(other)), otherRow))
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
				quote(r.v.customers.key(s.cust)), len(s.rows), quote(s.product), list, keep))
		}
	}
}
