package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

type synthOptions struct {
	out       string
	customers int
	rows      int
	seed      uint64
	asOf      string
	timeZone  string
	months    int
}

func init() { register(newSynthCmd) }

func newSynthCmd(g *globalOptions) *cobra.Command {
	o := &synthOptions{}
	cmd := &cobra.Command{
		Use:   "synth -o DIR",
		Short: "Generate a realistic merchant as legacy import files",
		Long: `synth generates a synthetic subscription merchant (campaigns, merchant
accounts, affiliates, and customers in the US, Canada, the UK, Australia and
Germany with subscriptions, rebills, declines, refunds and chargebacks) and
writes it as the three legacy import files into DIR.

The same options give byte-identical files; print the as-of date used and
pass it back with --as-of to reproduce a run on another day. Card and bank
numbers are generated (Luhn- and ABA-valid test numbers), and the files are
written with mode 0600 all the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSynth(cmd.Context(), o, g.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "directory to write the files into (created if missing)")
	f.IntVar(&o.customers, "customers", 0, "number of customers (default 1000, or unlimited with --rows)")
	f.IntVar(&o.rows, "rows", 0, "stop at about this many transaction rows")
	f.Uint64Var(&o.seed, "seed", 1, "random seed")
	f.StringVar(&o.asOf, "as-of", "", "the merchant's \"now\", YYYY-MM-DD (default today in --timezone)")
	f.StringVar(&o.timeZone, "timezone", synth.DefaultTimeZone, "account time zone (IANA name)")
	f.IntVar(&o.months, "months", 12, "months of history before --as-of")
	return cmd
}

func runSynth(ctx context.Context, o *synthOptions, stdout io.Writer) error {
	if o.out == "" {
		return usageErrorf("synth: -o DIR is required")
	}
	if o.customers < 0 || o.rows < 0 || o.months < 1 || o.months > 120 {
		return usageErrorf("synth: --customers and --rows must not be negative, --months must be 1 to 120")
	}
	loc, err := time.LoadLocation(o.timeZone)
	if err != nil {
		return usageErrorf("synth: unknown time zone %q", o.timeZone)
	}
	asOf := crm.DateOf(time.Now().In(loc))
	if o.asOf != "" {
		if asOf, err = crm.ParseDate(o.asOf); err != nil || asOf.IsZero() {
			return usageErrorf("synth: --as-of %q is not a YYYY-MM-DD date", o.asOf)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	opts := synth.Options{Customers: o.customers, MaxRows: o.rows, Seed: o.seed, AsOf: asOf, Months: o.months, TimeZone: loc}
	st, err := synth.WriteLegacy(ctx, opts, o.out)
	if err != nil {
		return err
	}
	printSynthStats(stdout, o, st, asOf)
	return nil
}

func printSynthStats(w io.Writer, o *synthOptions, st synth.Stats, asOf crm.Date) {
	fmt.Fprintf(w, "wrote %s (%d rows)\n", filepath.Join(o.out, legacy.Transactions.FileName()), st.Transactions)
	fmt.Fprintf(w, "wrote %s (%d rows)\n", filepath.Join(o.out, legacy.Notes.FileName()), st.Notes)
	fmt.Fprintf(w, "wrote %s (%d rows)\n", filepath.Join(o.out, legacy.Details.FileName()), st.Details)
	fmt.Fprintf(w, "seed %d, as-of %s, time zone %s, %d months\n", o.seed, asOf, o.timeZone, o.months)
	fmt.Fprintf(w, "customers        %d (%d leads without transactions)\n", st.Customers, st.Leads)
	fmt.Fprintf(w, "subscriptions    %d (%d active)\n", st.Subscriptions, st.ActiveSubscriptions)
	keys := make([]string, 0, len(st.ByType))
	for k := range st.ByType {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		typ, resp, _ := strings.Cut(k, "/")
		fmt.Fprintf(w, "%-16s %d\n", strings.ToLower(typ)+" "+strings.ToLower(resp), st.ByType[k])
	}
	fmt.Fprintf(w, "chargebacks      %d\n", st.Chargebacks)
	fmt.Fprintf(w, "refunds          %d\n", st.Refunds)
	fmt.Fprintf(w, "fall-back hour   %d transactions at an ambiguous wall-clock time\n", st.Ambiguous)
}
