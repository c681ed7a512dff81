package check

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

// randomCrossRowFiles makes two transactions files and a notes file whose
// ids come from small pools, so that merchantTxnIds repeat, parents are
// missing or of the wrong type, customers change names, orders change
// customers, subscriptions repeat and addresses are shared.
func randomCrossRowFiles(rng *rand.Rand, rows int) []file {
	pick := func(prefix string, n int) string {
		v := fmt.Sprintf("%s%d", prefix, rng.IntN(n))
		if rng.IntN(20) == 0 {
			v += strings.Repeat("x", 150) // longer than a spill read's first bytes
		}
		return v
	}
	types := []string{"SALE", "SALE", "REFUND", "CAPTURE", "AUTHORIZE"}
	var files []file
	for f := range 2 {
		var rs []row
		for i := range rows {
			r := baseRow(i + 1)
			r[legacy.FMerchantTxnID] = pick("T", rows)
			r[legacy.FCustomerID] = pick("C", rows/4+1)
			r[legacy.FOrderID] = pick("O", rows/2+1)
			if rng.IntN(10) == 0 {
				r[legacy.FOrderID] = ""
			}
			r[legacy.FFirstName] = []string{"Ann", "Bo"}[rng.IntN(2)]
			r[legacy.FEmailAddress] = fmt.Sprintf("p%d@example.com", rng.IntN(rows/4+1))
			r[legacy.FPhoneNumber] = fmt.Sprintf("51255501%02d", rng.IntN(rows/4+1)%100)
			r[legacy.FProductID] = fmt.Sprint(rng.IntN(3) + 1)
			r[legacy.FDateCreated] = fmt.Sprintf("2025-01-%02d 10:00:00", rng.IntN(28)+1)
			if typ := types[rng.IntN(len(types))]; typ != "SALE" {
				r[legacy.FTxnType] = typ
				r[legacy.FIsActiveRecurring], r[legacy.FNextBillDate] = "0", ""
				if typ != "AUTHORIZE" {
					r[legacy.FParentTxnID] = pick("T", rows)
				}
				if typ == "REFUND" {
					r[legacy.FTotalAmount] = []string{"10.00", "30.00"}[rng.IntN(2)]
					r[legacy.FSubTotal], r[legacy.FShipTotal], r[legacy.FSalesTax] = r[legacy.FTotalAmount], "0.00", "0.00"
				}
			}
			if rng.IntN(4) == 0 {
				r[legacy.FIsActiveRecurring], r[legacy.FNextBillDate] = "0", ""
			}
			rs = append(rs, r)
		}
		files = append(files, file{fmt.Sprintf("t%d.csv", f), csvOf(legacy.Transactions, rs...)})
	}
	var notes []row
	for range rows / 2 {
		notes = append(notes, row{legacy.FCustomerID: pick("C", rows/3+1), legacy.FDateCreated: "2025-01-16 09:00:00", legacy.FNoteText: "n"})
	}
	return append(files, file{"n.csv", csvOf(legacy.Notes, notes...)})
}

// naiveFindings computes, with string-keyed maps, the findings of the rules
// keyed by ids: duplicate-txn-id, parent-missing, customer-mismatch (by
// name and email), order-two-customers, unknown-customer and
// double-billing; as "file row rule message" lines.
func naiveFindings(t *testing.T, files []file) []string {
	var out []string
	customers := map[string]int{} // first row
	identity := map[string]string{}
	type owner struct {
		cust string
		row  int
	}
	emails, phones := map[string]owner{}, map[string]owner{}
	for _, f := range files[:2] {
		recs := readRows(t, []byte(f.content))
		col := map[string]int{}
		for i, n := range recs[0] {
			col[n] = i
		}
		get := func(rec []string, name string) string { return rec[col[name]] }
		txns := map[string]int{}
		type order struct {
			cust string
			row  int
		}
		orders := map[string]order{}
		prevCust, lastOrder := "", ""
		for i, rec := range recs[1:] {
			row := i + 2
			txn := get(rec, legacy.FMerchantTxnID)
			if first, ok := txns[txn]; ok {
				out = append(out, fmt.Sprintf("%s %d %s %s is also on row %d; every transaction needs its own merchantTxnId", f.name, row, RuleDuplicateTxnID, quote(txn), first))
			} else {
				txns[txn] = row
			}
			cust := get(rec, legacy.FCustomerID)
			id := get(rec, legacy.FFirstName) + "\x00" + get(rec, legacy.FLastName) + "\x00" + strings.ToLower(get(rec, legacy.FEmailAddress))
			if first, ok := customers[cust]; !ok {
				customers[cust], identity[cust] = row, id
			} else if identity[cust] != id {
				out = append(out, fmt.Sprintf("%s %d %s customer %s has a different name or email address than on row %d", f.name, row, RuleCustomerMismatch, quote(cust), first))
			}
			if o := get(rec, legacy.FOrderID); o != "" && (cust != prevCust || o != lastOrder) {
				if first, ok := orders[o]; !ok {
					orders[o] = order{cust, row}
				} else if first.cust != cust {
					out = append(out, fmt.Sprintf("%s %d %s order %s belongs to customer %s on row %d, and to customer %s here", f.name, row, RuleOrderTwoCustomers, quote(o), quote(first.cust), first.row, quote(cust)))
				}
				lastOrder = o
			}
			prevCust = cust
			// An active subscription's row: its email address, else its
			// phone number, may be another customer's.
			typ := get(rec, legacy.FTxnType)
			if get(rec, legacy.FIsActiveRecurring) == "1" && get(rec, legacy.FResponseType) == "SUCCESS" && (typ == "SALE" || typ == "CAPTURE") {
				email, phone := get(rec, legacy.FEmailAddress), get(rec, legacy.FPhoneNumber)
				e, eok := emails[email]
				p, pok := phones[phone]
				if !eok {
					emails[email] = owner{cust, row}
				}
				if !pok {
					phones[phone] = owner{cust, row}
				}
				switch {
				case eok && e.cust != cust:
					out = append(out, fmt.Sprintf("%s %d %s %s", f.name, row, RuleDoubleBilling, doubleBilling([]byte(cust), "email address", []byte(e.cust), int64(e.row))))
				case pok && p.cust != cust:
					out = append(out, fmt.Sprintf("%s %d %s %s", f.name, row, RuleDoubleBilling, doubleBilling([]byte(cust), "phoneNumber", []byte(p.cust), int64(p.row))))
				}
			}
		}
		for i, rec := range recs[1:] {
			p := get(rec, legacy.FParentTxnID)
			if p == "" {
				continue
			}
			if _, ok := txns[p]; !ok || p == get(rec, legacy.FMerchantTxnID) {
				out = append(out, fmt.Sprintf("%s %d %s %s is not the merchantTxnId of another row of the file; a %s needs its parent transaction in the same file", f.name, i+2, RuleParentMissing, quote(p), get(rec, legacy.FTxnType)))
			}
		}
	}
	for i, rec := range readRows(t, []byte(files[2].content))[1:] {
		if _, ok := customers[rec[0]]; !ok {
			out = append(out, fmt.Sprintf("n.csv %d %s %s is not a customerId of the transactions file", i+2, RuleUnknownCustomer, quote(rec[0])))
		}
	}
	sort.Strings(out)
	return out
}

// TestCrossRowIndexesProperty: on random files, the findings of the rules
// keyed by ids are exactly those a naive string-keyed implementation finds,
// and the whole report (every rule, row, column, message and count) is the
// same when every id's hash is forced to collide (a 4-bit hash) and the
// spill goes to its file after every record.
func TestCrossRowIndexesProperty(t *testing.T) {
	naiveRules := map[string]bool{RuleDuplicateTxnID: true, RuleParentMissing: true, RuleCustomerMismatch: true, RuleOrderTwoCustomers: true, RuleUnknownCustomer: true, RuleDoubleBilling: true}
	fired := map[string]int{}
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 14))
		files := randomCrossRowFiles(rng, 20+rng.IntN(300))
		rep := validate(t, Options{}, files...)
		var got []string
		for _, f := range rep.Findings {
			fired[f.Rule]++
			if naiveRules[f.Rule] {
				name := f.File[strings.LastIndex(f.File, "/")+1:]
				got = append(got, fmt.Sprintf("%s %d %s %s", name, f.Row, f.Rule, f.Message))
			}
		}
		sort.Strings(got)
		if want := naiveFindings(t, files); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: the indexes found\n%s\nthe naive maps\n%s", seed, diffLists(got, want), diffLists(want, got))
		}

		same := func(what string, got, want *Report) {
			t.Helper()
			if !reflect.DeepEqual(baseNames(got), baseNames(want)) {
				a, b := keys(want), keys(got)
				t.Fatalf("seed %d: %s, the report differs:\n%s\n%s", seed, what, diffLists(a, b), diffLists(b, a))
			}
		}
		// Read in passes, each indexing a part of the ids: the same report,
		// with every example kept and with two kept per rule.
		if seed < 6 {
			same("in 3 passes", validate(t, Options{passes: 3}, files...), rep)
			few := validate(t, Options{MaxFindings: 2}, files...)
			same("in 7 passes, two examples a rule", validate(t, Options{passes: 7, MaxFindings: 2}, files...), few)
		}

		weak := func() {
			old := keyHash
			keyHash = func(b []byte) uint64 { return hashID(b) & 0xf << 60 }
			defer func() { keyHash = old }()
			defer setSpillBuffer(1)()
			same("with colliding hashes", validate(t, Options{}, files...), rep)
			if seed < 6 {
				same("with colliding hashes in 3 passes", validate(t, Options{passes: 3}, files...), rep)
			}
		}
		weak()
	}
	for _, rule := range []string{RuleDuplicateTxnID, RuleParentMissing, RuleParentType, RuleRefundsExceed, RuleCustomerMismatch, RuleOrderTwoCustomers, RuleUnknownCustomer, RuleActiveDuplicate, RuleDoubleBilling} {
		if fired[rule] == 0 {
			t.Errorf("the random files never fired %s", rule)
		}
	}
}

// baseNames returns a copy of r with its files named by their base names
// (each validate call writes them to a new directory).
func baseNames(r *Report) Report {
	c := *r
	base := func(p string) string { return p[strings.LastIndex(p, "/")+1:] }
	c.Files = append([]FileSummary(nil), r.Files...)
	for i := range c.Files {
		c.Files[i].Path = base(c.Files[i].Path)
	}
	c.Findings = append([]Finding(nil), r.Findings...)
	for i := range c.Findings {
		c.Findings[i].File = base(c.Findings[i].File)
	}
	return c
}

// TestPassesFollowTheFileSize: a transactions file of about three
// rowsPerPass rows (larger than the first MiB the estimate reads) is read in
// about three passes, with the report of one pass; a stream (its size
// unknown) in one.
func TestPassesFollowTheFileSize(t *testing.T) {
	var rows []row
	for i := range 4000 {
		r := baseRow(i + 1)
		r[legacy.FCustomerID] = fmt.Sprintf("C%d", i/3)
		if i%50 == 7 {
			r[legacy.FMerchantTxnID] = "T1" // duplicates, found in T1's pass
		}
		rows = append(rows, r)
	}
	content := csvOf(legacy.Transactions, rows...)
	if len(content) <= 1<<20 {
		t.Fatalf("the file is %d bytes: too small to test the estimate", len(content))
	}
	old := rowsPerPass
	rowsPerPass = 1400
	defer func() { rowsPerPass = old }()

	dir := t.TempDir()
	path := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{MaxRecordBytes: legacy.DefaultMaxRecordBytes}
	if n := passes(context.Background(), legacy.FileInputs([]string{path}), &opts); n < 3 || n > 4 {
		t.Fatalf("%d passes for 4000 rows at %d a pass", n, rowsPerPass)
	}
	stream := legacy.Input{Name: "t.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
	if n := passes(context.Background(), []legacy.Input{stream}, &opts); n != 1 {
		t.Fatalf("a stream is read in %d passes", n)
	}
	auto := validate(t, Options{}, file{"t.csv", content})
	one := validate(t, Options{passes: 1}, file{"t.csv", content})
	if !reflect.DeepEqual(baseNames(auto), baseNames(one)) {
		a, b := keys(one), keys(auto)
		t.Fatalf("in passes the report differs:\n%s\n%s", diffLists(a, b), diffLists(b, a))
	}
	if n := countRule(auto, RuleDuplicateTxnID); n != 80 {
		t.Fatalf("%d duplicate merchantTxnIds, want 80", n)
	}
}

func countRule(r *Report, rule string) int {
	for _, c := range r.Counts {
		if c.Rule == rule {
			return c.Count
		}
	}
	return 0
}
