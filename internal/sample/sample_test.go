package sample

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

func generated(t *testing.T, customers int, seed uint64) []string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: customers, Seed: seed, AsOf: crm.Date{Year: 2026, Month: 11, Day: 21}}, dir); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, k := range legacy.Kinds {
		paths = append(paths, filepath.Join(dir, k.FileName()))
	}
	return paths
}

// rowsByCustomer counts each customer's rows of a file.
func rowsByCustomer(t *testing.T, path string) map[string]int {
	t.Helper()
	m := map[string]int{}
	err := each(context.Background(), path, func(_ int, _ []string, _ []string, col func(string) string) error {
		m[col(legacy.FCustomerID)]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSampleCoversCasesAndKeepsIntegrity(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		paths := generated(t, 400, seed)
		out := t.TempDir()
		res, err := Write(context.Background(), paths, out, Options{Customers: 12, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if res.Customers < 12 {
			t.Fatalf("seed %d: %d customers", seed, res.Customers)
		}
		if u := res.Uncovered(); len(u) > 0 {
			t.Fatalf("seed %d: cases the input has but the sample lacks: %v", seed, u)
		}
		// The sample validates with no error: every notes/details customer
		// and every parentTxnId is in the sampled transactions.
		var outs []string
		for _, p := range paths {
			outs = append(outs, filepath.Join(out, filepath.Base(p)))
		}
		rep, err := check.Validate(context.Background(), legacy.FileInputs(outs), check.Options{AsOf: "2026-11-21", MaxFindings: 3})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Errors() != 0 {
			t.Fatalf("seed %d: sample has errors: %+v", seed, rep.Findings)
		}
		// Every chosen customer has all of its rows, in every file.
		for i, p := range paths {
			in, got := rowsByCustomer(t, p), rowsByCustomer(t, outs[i])
			for id, n := range got {
				if in[id] != n {
					t.Fatalf("%s: customer %s has %d rows, the input %d", outs[i], id, n, in[id])
				}
			}
		}
		// The cases reported are the cases the written rows show.
		var shown uint32
		each(context.Background(), outs[0], func(_ int, _ []string, _ []string, col func(string) string) error {
			shown |= txCases(col)
			return nil
		})
		for _, c := range res.Cases {
			if c.Case == Notes || c.Case == Details {
				continue
			}
			if (shown&(1<<c.Case) != 0) != (c.Sample > 0) {
				t.Fatalf("case %s: reported %d in the sample, rows say %v", c.Name, c.Sample, shown&(1<<c.Case) != 0)
			}
		}
	}
}

func TestSampleDeterministicAndLacking(t *testing.T) {
	paths := generated(t, 100, 4)
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	if _, err := Write(context.Background(), paths, a, Options{Customers: 20, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	Write(context.Background(), paths, b, Options{Customers: 20, Seed: 9})
	Write(context.Background(), paths, c, Options{Customers: 20, Seed: 10})
	fa, _ := os.ReadFile(filepath.Join(a, legacy.Transactions.FileName()))
	fb, _ := os.ReadFile(filepath.Join(b, legacy.Transactions.FileName()))
	fc, _ := os.ReadFile(filepath.Join(c, legacy.Transactions.FileName()))
	if !bytes.Equal(fa, fb) {
		t.Fatal("the same seed gave different samples")
	}
	if bytes.Equal(fa, fc) {
		t.Fatal("another seed gave the same sample")
	}
	// Only the transactions file: notes and details are cases it lacks.
	res, err := Write(context.Background(), paths[:1], t.TempDir(), Options{Customers: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	full, err := Write(context.Background(), paths, t.TempDir(), Options{Customers: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lack, fullLack := res.Lacking(), full.Lacking()
	if len(lack) != len(fullLack)+2 || lack[len(lack)-2] != Notes || lack[len(lack)-1] != Details {
		t.Fatalf("lacking %v, with every file %v", lack, fullLack)
	}
}

// TestLinkedCustomers: a refund whose parent is another customer's
// transaction brings that customer into the sample too.
func TestLinkedCustomers(t *testing.T) {
	dir := t.TempDir()
	spec := legacy.SpecFor(legacy.Transactions)
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	w.Write(spec.Header())
	row := func(cust, txn, typ, parent string) {
		r := make([]string, len(spec.Columns))
		r[spec.Index(legacy.FCustomerID)] = cust
		r[spec.Index(legacy.FMerchantTxnID)] = txn
		r[spec.Index(legacy.FTxnType)] = typ
		r[spec.Index(legacy.FParentTxnID)] = parent
		r[spec.Index(legacy.FPaySource)] = legacy.ValuePrepaid
		w.Write(r)
	}
	row("A", "T1", legacy.ValueSale, "")
	row("B", "T2", legacy.ValueRefund, "T1")
	for i := 0; i < 20; i++ {
		row(string(rune('C'+i)), "S"+string(rune('a'+i)), legacy.ValueSale, "")
	}
	w.Flush()
	p := filepath.Join(dir, "t.csv")
	os.WriteFile(p, b.Bytes(), 0o600)
	res, err := Write(context.Background(), []string{p}, filepath.Join(dir, "out"), Options{Customers: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := rowsByCustomer(t, filepath.Join(dir, "out", "t.csv"))
	if got["A"] != 1 || got["B"] != 1 || res.Linked != 1 {
		t.Fatalf("sample %v linked %d: want A and B together", got, res.Linked)
	}
}

func TestSampleBadInput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "n.csv")
	os.WriteFile(p, []byte("customerId,dateCreated,noteText\nC1,\"x\n"), 0o600)
	tx := generated(t, 3, 1)[0]
	_, err := Write(context.Background(), []string{tx, p}, filepath.Join(dir, "out"), Options{Customers: 1})
	if _, ok := err.(*legacy.DataError); !ok {
		t.Fatalf("err %v, want a legacy.DataError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", filepath.Base(tx))); !os.IsNotExist(err) {
		t.Fatal("a failed sample left a file")
	}
}
