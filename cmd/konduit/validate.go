package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/vault"
)

type validateOptions struct {
	asOf        string
	format      string
	maxFindings int
	strict      bool
	cardTokens  bool
	vault       string
}

func init() { register(newValidateCmd) }

func newValidateCmd(g *globalOptions) *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate [flags] FILE...",
		Short: "Check Konnektive legacy import files against every rule of the spec",
		Long: `Validate checks transactions, customer notes and additional customer details
files (each file's kind comes from its header) against every rule of the
import spec: file and CSV syntax, types, required and conditional columns,
cross-row rules (duplicate merchantTxnId, parentTxnId, one orderId per
customer, one active row per subscription, one person under two customerIds
billed twice) and cross-file rules (notes and details name customers of the
transactions file). A file separated by ";" or tabs is reported and read
with its delimiter. In text, a warning on most rows is one line with its
count and examples; --format json or csv lists each finding kept.
Run "konduit spec" for the columns and rules.

Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage or I/O trouble.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.asOf, "as-of", "", "reference date YYYY-MM-DD for the past and future rules (default today)")
	f.StringVar(&o.format, "format", "text", "output format: text, json or csv")
	f.IntVar(&o.maxFindings, "max-findings", 10, "examples kept per rule (counts are always exact); -1 keeps all")
	f.BoolVar(&o.strict, "strict", false, "treat warnings as errors")
	f.BoolVar(&o.cardTokens, "card-tokens", false, "cardNumber holds tokens, not card numbers: skip the Luhn checks")
	f.StringVar(&o.vault, "vault", "", "accept this card vault's tokens where a card number is expected (no key needed)")
	return cmd
}

func runValidate(ctx context.Context, g *globalOptions, o validateOptions, paths []string) error {
	opts, err := o.checkOptions()
	if err != nil {
		return err
	}
	write, err := reportWriter(o.format, g.stdout)
	if err != nil {
		return err
	}
	rep, err := check.Validate(ctx, legacy.FileInputs(paths), opts)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if err := write(rep); err != nil {
		return err
	}
	if n := rep.Errors(); n > 0 {
		return &dataError{msg: fmt.Sprintf("%d errors: the files would fail the import", n)}
	}
	return nil
}

func (o validateOptions) checkOptions() (check.Options, error) {
	asOf := o.asOf
	if asOf == "" {
		asOf = time.Now().Format("2006-01-02")
	} else if _, err := time.Parse("2006-01-02", asOf); err != nil {
		return check.Options{}, usageErrorf("--as-of %q is not a date YYYY-MM-DD", asOf)
	}
	opts := check.Options{AsOf: asOf, MaxFindings: o.maxFindings, Strict: o.strict, CardTokens: o.cardTokens}
	if o.vault != "" {
		v, err := vault.Open(o.vault, vault.Options{})
		if err != nil {
			return check.Options{}, withHint(fmt.Errorf("open vault: %w", err), "--vault names the vault file that konduit tokenize wrote")
		}
		opts.IsToken = v.IsToken
	}
	return opts, nil
}

// reportWriter returns the function that prints a report in a format.
func reportWriter(format string, w io.Writer) (func(*check.Report) error, error) {
	switch format {
	case "text":
		color := false
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" {
			color = true
		}
		return func(r *check.Report) error { return check.WriteText(w, r, color) }, nil
	case "json":
		return func(r *check.Report) error { return check.WriteJSON(w, r) }, nil
	case "csv":
		return func(r *check.Report) error { return check.WriteCSV(w, r) }, nil
	}
	return nil, usageErrorf("--format %q: want text, json or csv", format)
}
