package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/sample"
)

type sampleOptions struct {
	out       string
	customers int
	seed      uint64
}

func init() { register(newSampleCmd) }

func newSampleCmd(g *globalOptions) *cobra.Command {
	var o sampleOptions
	cmd := &cobra.Command{
		Use:   "sample [flags] FILE... -o DIR --customers N",
		Short: "Pick a few customers, every row of each, covering every kind of case",
		Long: `Sample writes every row (transactions, notes, details) of N customers into
DIR, under the input files' names, for the trial import of step 6. The
customers are chosen to show every kind of case the input has (active
subscriptions, refunds, authorize + capture, chargebacks, declines, card,
token-only, check and prepaid payments, separate shipping, notes, details):
a greedy cover of the cases first, then a random fill, the same for the same
--seed. A customer whose refund or capture names another customer's
transaction brings that customer along, so the sample stays consistent.

It prints which cases the sample covers and which the input lacks.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSample(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "directory to write the sample into (required)")
	f.IntVar(&o.customers, "customers", 10, "number of customers")
	f.Uint64Var(&o.seed, "seed", 1, "random seed for the fill")
	return cmd
}

func runSample(ctx context.Context, g *globalOptions, o sampleOptions, paths []string) error {
	if o.out == "" {
		return usageErrorf("sample needs -o DIR")
	}
	if o.customers <= 0 {
		return usageErrorf("--customers %d: want a positive number", o.customers)
	}
	res, err := sample.Write(ctx, paths, o.out, sample.Options{Customers: o.customers, Seed: o.seed})
	if err != nil {
		return err
	}
	printSample(g.stdout, res)
	return nil
}

func printSample(w io.Writer, res *sample.Result) {
	fmt.Fprintf(w, "sampled %d of %d customers", res.Customers, res.InputCustomers)
	if res.Linked > 0 {
		fmt.Fprintf(w, " (%d added because a refund or capture names their transaction)", res.Linked)
	}
	fmt.Fprintln(w)
	for _, out := range res.Outputs {
		fmt.Fprintf(w, "wrote %s (%d rows)\n", out, res.Rows[out])
	}
	fmt.Fprintf(w, "%-32s %8s %8s\n", "case", "input", "sample")
	for _, c := range res.Cases {
		mark := ""
		switch {
		case c.Input == 0:
			mark = "  (the input has none)"
		case c.Sample == 0:
			mark = "  NOT COVERED: raise --customers"
		}
		fmt.Fprintf(w, "%-32s %8d %8d%s\n", c.Name, c.Input, c.Sample, mark)
	}
	if l := res.Lacking(); len(l) > 0 {
		names := make([]string, len(l))
		for i, c := range l {
			names[i] = c.String()
		}
		fmt.Fprintf(w, "the input lacks: %s\n", strings.Join(names, ", "))
	}
	if u := res.Uncovered(); len(u) > 0 {
		fmt.Fprintf(w, "not covered by %d customers: %d cases\n", res.Customers, len(u))
	}
}
