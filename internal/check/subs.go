package check

import (
	"bytes"
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

// A subscription, as the import sees it, is a customerId and a productId:
// the key of fileRun.subs (the customerId's length, a uvarint, then both),
// whose payload is its first row and dateCreated (createdCode). One with a
// second row is promoted to an activeSub, in memory.
//
// In a validation read in passes, each pass indexes the subscriptions and
// addresses whose hash is its own (validator.mine). A row whose email
// address and phoneNumber are both another customer's is reported once,
// for the email address (as when read in one pass): the phones' findings
// wait in validator.phones for the last pass, and are dropped for the rows
// validator.emailShared holds.

// activeSub is what the rows of one subscription key said.
type activeSub struct {
	cust          string
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
// owner's first row (the payload) and customerId (the tail).
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
// double billing (for a phoneNumber, when the pass ends); duplicates wait
// for the file's end (finishActive).
func (r *fileRun) activeRow(cr *chunkResult, f *txFact, row int, cust []byte) {
	v := r.v
	product := cr.bytes(f.product)
	r.key = binary.AppendUvarint(r.key[:0], uint64(len(cust)))
	r.key = append(r.key, cust...)
	r.key = append(r.key, product...)
	if h := keyHash(r.key); v.mine(h) {
		created := createdCode(cr.bytes(f.created))
		if r.subs == nil {
			r.subs, r.promoted = newIDIndex(0, 16, v.sp), map[int64]*activeSub{}
		}
		if off, p, ok := r.subs.lookup(h, r.key); !ok {
			r.subs.insert(h, r.key, pack(r.payload[:], int64(row), created))
		} else {
			s := r.promoted[off]
			if s == nil {
				s = &activeSub{cust: string(cust), product: string(product), rows: []int{int(word(p, 0))}, latestCreated: word(p, 1)}
				r.promoted[off] = s
				r.dupSubs = append(r.dupSubs, s)
			}
			s.rows = append(s.rows, row)
			if created >= s.latestCreated {
				s.latest, s.latestCreated = len(s.rows)-1, created
			}
		}
	}

	t := &v.twins
	if t.emails == nil {
		t.emails, t.phones = newIDIndex(0, 8, v.sp), newIDIndex(0, 8, v.sp)
		t.emails.tails, t.phones.tails = true, true
	}
	if email := cr.bytes(f.email); len(email) > 0 && v.mine(f.hEmail) {
		if _, p, owner, ok := t.emails.find(f.hEmail, email); !ok {
			t.emails.insertTail(f.hEmail, email, pack(r.payload[:], int64(row)), cust)
		} else if !bytes.Equal(owner, cust) {
			r.add(row, tx.email, RuleDoubleBilling, doubleBilling(cust, "email address", owner, word(p, 0)))
			v.markEmailShared(row)
		}
	}
	if f.phone != 0 {
		r.key = binary.BigEndian.AppendUint64(r.key[:0], f.phone)
		if h := keyHash(r.key); v.mine(h) {
			if _, p, owner, ok := t.phones.find(h, r.key); !ok {
				t.phones.insertTail(h, r.key, pack(r.payload[:], int64(row)), cust)
			} else if !bytes.Equal(owner, cust) {
				// file, row, the owner's row; the owner's customerId (its
				// length first) and this row's
				var n [binary.MaxVarintLen64]byte
				v.phones.put(pack(r.payload[:], int64(v.col.fileSeq), int64(row), word(p, 0)), n[:binary.PutUvarint(n[:], uint64(len(owner)))], owner, cust)
			}
		}
	}
}

func doubleBilling(cust []byte, shared string, owner []byte, ownerRow int64) string {
	return fmt.Sprintf("customer %s has an active subscription with the same %s as customer %s (row %d): the same person would be billed twice; merge the two customers, or end one subscription, before the import",
		quote(cust), shared, quote(owner), ownerRow)
}

// markEmailShared records that this row of the current file was reported
// for an email address another customer has.
func (v *validator) markEmailShared(row int) {
	if v.emailShared == nil {
		v.emailShared = map[int][]uint64{}
	}
	seq := v.col.fileSeq
	bits := v.emailShared[seq]
	if w := row / 64; w >= len(bits) {
		bits = append(bits, make([]uint64, w+1-len(bits))...)
	}
	bits[row/64] |= 1 << (row % 64)
	v.emailShared[seq] = bits
}

// finishPhones reports the rows whose phoneNumber is another customer's,
// but not those already reported for their email address.
func (v *validator) finishPhones() {
	v.phones.scan(func(rec []byte) {
		seq, row, ownerRow := int(word(rec, 0)), int(word(rec, 1)), word(rec, 2)
		if bits := v.emailShared[seq]; row/64 < len(bits) && bits[row/64]&(1<<(row%64)) != 0 {
			return
		}
		rest := rec[24:]
		n, k := binary.Uvarint(rest)
		owner, cust := rest[k:k+int(n)], rest[k+int(n):]
		c := txCols[tx.phone]
		v.col.setFile(&v.files[seq], seq)
		v.col.add(Finding{Row: row, Column: c.Letter, Field: c.Name, Rule: RuleDoubleBilling, Severity: rulesByID[RuleDoubleBilling].Severity,
			Message: doubleBilling(cust, "phoneNumber", owner, ownerRow), col: tx.phone})
	})
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
				quote(s.cust), len(s.rows), quote(s.product), list, keep))
		}
	}
}
