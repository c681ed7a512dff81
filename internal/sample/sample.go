// Package sample picks a few customers out of legacy import files, every
// row of each (transactions, notes, details), chosen so that the sample
// shows every kind of case the files hold: step 6 of the import process
// ("we will import a sample of the completed file") asks for a sample that
// exercises rebills, refunds and the rest.
//
// Two streaming passes: the first reads the transactions file and keeps,
// per customer, the set of cases its rows show (memory grows with the
// number of customers and transaction ids: an index, never the file); the
// second writes the chosen customers' rows of every file.
package sample

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/konduit/konduit/internal/cardnum"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/legacy"
)

// Case is a kind of customer history the import must handle.
type Case int

// The cases, in the order they are reported.
const (
	ActiveSubscription Case = iota
	Refund
	AuthorizeCapture
	Chargeback
	Decline
	CreditCard
	TokenOnly // a masked card number with an externalToken
	Check
	Prepaid
	SeparateShipping
	Notes
	Details
	numCases
)

// Cases lists every case.
var Cases = func() []Case {
	c := make([]Case, numCases)
	for i := range c {
		c[i] = Case(i)
	}
	return c
}()

func (c Case) String() string {
	return [...]string{"active subscription", "refund", "authorize + capture", "chargeback", "decline",
		"credit card", "masked card with externalToken", "check (ACH) payment", "prepaid payment",
		"separate shipping address", "customer notes", "additional details"}[c]
}

// Options tune a sample.
type Options struct {
	Customers int    // how many customers to pick (more when a refund's parent belongs to another customer)
	Seed      uint64 // the random fill is deterministic for a seed
}

// CaseCount says how many customers show a case in the input and in the
// sample.
type CaseCount struct {
	Case   Case `json:"-"`
	Name   string
	Input  int
	Sample int
}

// Result is what a sample holds.
type Result struct {
	InputCustomers int
	Customers      int
	Rows           map[string]int // written rows by output file
	Cases          []CaseCount    // every case, in order
	Linked         int            // customers added because another chosen customer's refund or capture names their transaction
	Outputs        []string
}

// Lacking lists the cases the input has none of.
func (r *Result) Lacking() []Case {
	var out []Case
	for _, c := range r.Cases {
		if c.Input == 0 {
			out = append(out, c.Case)
		}
	}
	return out
}

// Uncovered lists the cases the input has but the sample does not (the
// sample was too small to hold them all).
func (r *Result) Uncovered() []Case {
	var out []Case
	for _, c := range r.Cases {
		if c.Input > 0 && c.Sample == 0 {
			out = append(out, c.Case)
		}
	}
	return out
}

type customer struct {
	cases uint32
	group int // union-find parent (index into customers)
}

type survey struct {
	ids       map[string]int // customerId -> index
	customers []customer
	txnOwner  map[string]int32 // merchantTxnId -> customer index
	refs      [][2]string      // (parentTxnId, customerId) of refunds and captures
}

func (s *survey) find(i int) int {
	for s.customers[i].group != i {
		s.customers[i].group = s.customers[s.customers[i].group].group
		i = s.customers[i].group
	}
	return i
}

func (s *survey) union(a, b int) {
	ra, rb := s.find(a), s.find(b)
	if ra != rb {
		s.customers[max(ra, rb)].group = min(ra, rb)
	}
}

func (s *survey) customer(id string) int {
	i, ok := s.ids[id]
	if !ok {
		i = len(s.customers)
		s.ids[id] = i
		s.customers = append(s.customers, customer{group: i})
	}
	return i
}

// input is one file with its kind and header mapping.
type input struct {
	path string
	kind legacy.Kind
}

// open opens a file through legacy.Open: its header read, its kind known.
func open(ctx context.Context, path string) (*legacy.File, error) {
	f, err := legacy.Open(ctx, legacy.FileInputs([]string{path})[0])
	if err != nil {
		return nil, err
	}
	if err := f.CheckHeader(0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// kindOf reads a file's header to learn its kind.
func kindOf(ctx context.Context, path string) (legacy.Kind, error) {
	f, err := open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Kind, nil
}

// each streams a file's data rows: header is the file's, col reads a row's
// value by column name.
func each(ctx context.Context, path string, fn func(row int, header []string, fields []string, col func(string) string) error) error {
	f, err := open(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	var fields []string
	col := func(name string) string { return f.Columns.Get(fields, name) }
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := f.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return f.DataErrorOf(err)
		}
		if len(rec.Fields) != len(f.Header) {
			return &legacy.DataError{File: path, Row: rec.Row, Err: fmt.Errorf("the row has %d fields, the header %d", len(rec.Fields), len(f.Header))}
		}
		fields = rec.Fields
		if err := fn(rec.Row, f.Header, fields, col); err != nil {
			return err
		}
	}
}

// txCases returns the cases one transaction row shows.
func txCases(col func(string) string) uint32 {
	var c uint32
	set := func(k Case) { c |= 1 << k }
	if col(legacy.FIsActiveRecurring) == "1" {
		set(ActiveSubscription)
	}
	switch col(legacy.FTxnType) {
	case legacy.ValueRefund:
		set(Refund)
	case legacy.ValueAuthorize, legacy.ValueCapture:
		set(AuthorizeCapture)
	}
	if col(legacy.FIsChargedback) == "1" {
		set(Chargeback)
	}
	if col(legacy.FResponseType) == legacy.ValueDecline {
		set(Decline)
	}
	switch col(legacy.FPaySource) {
	case legacy.ValueCreditCard:
		set(CreditCard)
		if cardnum.Masked(col(legacy.FCardNumber)) && col(legacy.FExternalToken) != "" {
			set(TokenOnly)
		}
	case legacy.ValueCheck:
		set(Check)
	case legacy.ValuePrepaid:
		set(Prepaid)
	}
	if col(legacy.FBillShipSame) == "0" {
		set(SeparateShipping)
	}
	return c
}

// Write samples the input files into dir under the same base names.
func Write(ctx context.Context, paths []string, dir string, opts Options) (*Result, error) {
	if opts.Customers <= 0 {
		return nil, errors.New("sample: the number of customers must be positive")
	}
	var ins []input
	var tx []int
	seenBase := map[string]bool{}
	for _, p := range paths {
		k, err := kindOf(ctx, p)
		if err != nil {
			return nil, err
		}
		if seenBase[filepath.Base(p)] {
			return nil, fmt.Errorf("sample: two inputs are named %s", filepath.Base(p))
		}
		seenBase[filepath.Base(p)] = true
		if k == legacy.Transactions {
			tx = append(tx, len(ins))
		}
		ins = append(ins, input{path: p, kind: k})
	}
	if len(tx) == 0 {
		return nil, errors.New("sample: no transactions file among the inputs: customers are chosen from it")
	}
	s := &survey{ids: map[string]int{}, txnOwner: map[string]int32{}}
	// Pass 1: cases per customer.
	for _, i := range tx {
		err := each(ctx, ins[i].path, func(_ int, _ []string, _ []string, col func(string) string) error {
			c := s.customer(col(legacy.FCustomerID))
			s.customers[c].cases |= txCases(col)
			if id := col(legacy.FMerchantTxnID); id != "" {
				s.txnOwner[id] = int32(c)
			}
			if t := col(legacy.FTxnType); (t == legacy.ValueRefund || t == legacy.ValueCapture) && col(legacy.FParentTxnID) != "" {
				s.refs = append(s.refs, [2]string{col(legacy.FParentTxnID), col(legacy.FCustomerID)})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, in := range ins {
		if in.kind == legacy.Transactions {
			continue
		}
		k := Notes
		if in.kind == legacy.Details {
			k = Details
		}
		err := each(ctx, in.path, func(_ int, _ []string, _ []string, col func(string) string) error {
			if c, ok := s.ids[col(legacy.FCustomerID)]; ok {
				s.customers[c].cases |= 1 << k
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// A refund or capture whose parent is another customer's transaction
	// ties the two customers together: the sample takes both or neither.
	for _, r := range s.refs {
		if owner, ok := s.txnOwner[r[0]]; ok {
			s.union(int(owner), s.ids[r[1]])
		}
	}
	s.txnOwner, s.refs = nil, nil

	chosen, linked := s.choose(opts)
	res := &Result{InputCustomers: len(s.customers), Rows: map[string]int{}, Linked: linked}
	for _, k := range Cases {
		cc := CaseCount{Case: k, Name: k.String()}
		for i, c := range s.customers {
			if c.cases&(1<<k) != 0 {
				cc.Input++
				if chosen[i] {
					cc.Sample++
				}
			}
		}
		res.Cases = append(res.Cases, cc)
	}
	for _, ok := range chosen {
		if ok {
			res.Customers++
		}
	}

	// Pass 2: write the chosen customers' rows.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	var written []string
	for _, in := range ins {
		out := filepath.Join(dir, filepath.Base(in.path))
		n := 0
		err := atomicfile.Write(ctx, out, atomicfile.Options{Perm: 0o600, Inputs: paths}, func(w io.Writer) error {
			lw := legacy.NewWriter(w)
			first := true
			err := each(ctx, in.path, func(_ int, header []string, fields []string, col func(string) string) error {
				if first {
					first = false
					if err := lw.Write(header); err != nil {
						return err
					}
				}
				c, ok := s.ids[col(legacy.FCustomerID)]
				if !ok || !chosen[c] {
					return nil
				}
				n++
				return lw.Write(fields)
			})
			if err != nil {
				return err
			}
			if first { // no data rows: still write the header
				if err := writeHeader(ctx, in.path, lw); err != nil {
					return err
				}
			}
			return lw.Flush()
		})
		if err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			return nil, fmt.Errorf("sample %s: %w", in.path, err)
		}
		written = append(written, out)
		res.Rows[out] = n
	}
	res.Outputs = written
	return res, nil
}

func writeHeader(ctx context.Context, path string, lw *legacy.Writer) error {
	f, err := open(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	return lw.Write(f.Header)
}

// choose picks the customers: a greedy set cover over the cases (each step
// takes the group of customers that adds the most uncovered cases, ties
// broken by a seeded random rank), then a seeded random fill.
func (s *survey) choose(opts Options) (chosen []bool, linked int) {
	n := len(s.customers)
	chosen = make([]bool, n)
	groups := map[int][]int{}
	for i := range s.customers {
		r := s.find(i)
		groups[r] = append(groups[r], i)
	}
	roots := make([]int, 0, len(groups))
	for r := range groups {
		roots = append(roots, r)
	}
	sort.Ints(roots)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5a3b1e))
	rng.Shuffle(len(roots), func(i, j int) { roots[i], roots[j] = roots[j], roots[i] })
	cases := make(map[int]uint32, len(roots))
	for _, r := range roots {
		var c uint32
		for _, i := range groups[r] {
			c |= s.customers[i].cases
		}
		cases[r] = c
	}
	count := 0
	take := func(r int) {
		for _, i := range groups[r] {
			chosen[i] = true
			count++
		}
		linked += len(groups[r]) - 1
	}
	taken := map[int]bool{}
	var covered uint32
	for count < opts.Customers {
		best, bestGain := -1, 0
		for _, r := range roots {
			if taken[r] {
				continue
			}
			if g := popcount(cases[r] &^ covered); g > bestGain {
				best, bestGain = r, g
			}
		}
		if best < 0 {
			break
		}
		taken[best] = true
		covered |= cases[best]
		take(best)
	}
	for _, r := range roots {
		if count >= opts.Customers {
			break
		}
		if !taken[r] {
			taken[r] = true
			take(r)
		}
	}
	return chosen, linked
}

func popcount(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
