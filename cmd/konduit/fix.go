package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/fix"
	"github.com/konduit/konduit/internal/legacy"
)

type fixOptions struct {
	out        string
	log        string
	logFormat  string
	dateOrder  string
	fill       []string
	crlf       bool
	format     string
	asOf       string
	cardTokens bool
}

func init() { register(newFixCmd) }

func newFixCmd(g *globalOptions) *cobra.Command {
	var o fixOptions
	cmd := &cobra.Command{
		Use:   "fix [flags] FILE... -o DIR",
		Short: "Repair what the import spec marks fixable and write canonical files",
		Long: `Fix writes each input file into DIR, under the same name, repaired and in
canonical form: every cell quoted, columns in the seed's A..BF order with
missing ones added empty, UTF-8 without a byte-order mark.

It repairs only what needs no guess: Windows-1252 bytes, a byte-order mark,
CR-only line endings, a file separated by ";" or tabs (written
comma-separated), blank lines, country names (United States -> US),
amounts with $ or thousands separators, booleans (yes/true/Y -> 1), dates and
times in other layouts (ISO 8601 with T and Z, M/D/YYYY with a 12- or 24-hour
clock), enum case, phone punctuation (and a leading 1 on 11-digit US/CA
numbers), card expiry (1 -> 01, 27 -> 2027), US/CA state names, and 4-digit
US ZIP codes. A column of slashed dates is rewritten only when its values
prove the order (a day part above 12); otherwise it is reported, unless
--date-order says which. A number a spreadsheet rewrote (9.4001112114934E+015,
an identifier ending in .0) is left as it is: its digits are lost, re-export
the column as text. --fill FIELD=VALUE puts a dummy value into empty
required cells (the FAQ's phoneNumber=1111111111).

A file with a CSV syntax error, a row with the wrong number of fields or an
unknown column is not written. The written files are then validated; what
fix could not repair is reported as validate reports it.

Exit status: 0 no errors remain, 1 errors remain, 2 usage or I/O trouble.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFix(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "directory to write the fixed files into (required; never an input's own path)")
	f.StringVar(&o.log, "log", "", "write the change log to this file (.csv or .json)")
	f.StringVar(&o.logFormat, "log-format", "", "change log format: csv or json (default from the --log extension)")
	f.StringVar(&o.dateOrder, "date-order", "", "order of ambiguous slashed dates: mdy or dmy (default: report, do not guess)")
	f.StringArrayVar(&o.fill, "fill", nil, "FIELD=VALUE: fill empty required cells of FIELD (repeatable)")
	f.BoolVar(&o.crlf, "crlf", false, "write CRLF line endings (default LF)")
	f.StringVar(&o.format, "format", "text", "format of the validation report: text, json or csv")
	f.StringVar(&o.asOf, "as-of", "", "reference date YYYY-MM-DD for validating the output (default today)")
	f.BoolVar(&o.cardTokens, "card-tokens", false, "cardNumber holds tokens: skip the Luhn checks when validating the output")
	return cmd
}

func (o fixOptions) fixOptions() (fix.Options, error) {
	order, ok := fix.ParseOrder(o.dateOrder)
	if !ok {
		return fix.Options{}, usageErrorf("--date-order %q: want mdy or dmy", o.dateOrder)
	}
	opts := fix.Options{DateOrder: order, CRLF: o.crlf}
	for _, kv := range o.fill {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return fix.Options{}, usageErrorf("--fill %q: want FIELD=VALUE", kv)
		}
		if !fix.KnownField(k) {
			return fix.Options{}, usageErrorf("--fill %q: %s is not a column of any import file", kv, k)
		}
		if opts.Fill == nil {
			opts.Fill = map[string]string{}
		}
		opts.Fill[k] = v
	}
	return opts, nil
}

func (o fixOptions) logFormatOf() (string, error) {
	f := o.logFormat
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(o.log)), ".")
	}
	switch f {
	case "csv", "json":
		return f, nil
	}
	return "", usageErrorf("change log format %q: want csv or json (--log-format, or a .csv or .json --log)", f)
}

func runFix(ctx context.Context, g *globalOptions, o fixOptions, paths []string) error {
	if o.out == "" {
		return usageErrorf("fix needs -o DIR: it never writes over its input")
	}
	opts, err := o.fixOptions()
	if err != nil {
		return err
	}
	vopts, err := validateOptions{asOf: o.asOf, maxFindings: 10, cardTokens: o.cardTokens}.checkOptions()
	if err != nil {
		return err
	}
	write, err := reportWriter(o.format, g.stdout)
	if err != nil {
		return err
	}
	var res *fix.Result
	run := func(log fix.ChangeLog) error {
		var err error
		res, err = fix.Files(ctx, paths, o.out, opts, log)
		return err
	}
	if o.log == "" {
		err = run(nil)
	} else {
		format, ferr := o.logFormatOf()
		if ferr != nil {
			return ferr
		}
		err = atomicfile.Write(ctx, o.log, atomicfile.Options{Perm: 0o600, Inputs: paths}, func(w io.Writer) error {
			var l interface {
				fix.ChangeLog
				Close() error
			}
			if format == "json" {
				l = fix.NewJSONLog(w)
			} else {
				l = fix.NewCSVLog(w)
			}
			if err := run(l); err != nil {
				return err
			}
			if err := l.Close(); err != nil {
				return fmt.Errorf("write change log: %w", err)
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	printFixSummary(g.stderr, res, o.log)

	// Validate what was written, and the inputs fix could not write, so
	// that what remains is reported the way validate reports it.
	var toCheck []string
	for _, f := range res.Files {
		toCheck = append(toCheck, f.Output)
	}
	for _, b := range res.Blocked {
		toCheck = append(toCheck, b.File)
	}
	rep, err := check.Validate(ctx, legacy.FileInputs(toCheck), vopts)
	if err != nil {
		return fmt.Errorf("validate the fixed files: %w", err)
	}
	if err := write(rep); err != nil {
		return err
	}
	if len(res.Blocked) > 0 {
		return &dataError{msg: fmt.Sprintf("%d files not written: problems fix cannot repair (see above); %d errors remain", len(res.Blocked), rep.Errors())}
	}
	if n := rep.Errors(); n > 0 {
		return &dataError{msg: fmt.Sprintf("%d errors remain that fix cannot repair: the files would fail the import", n)}
	}
	return nil
}

func printFixSummary(w io.Writer, res *fix.Result, logPath string) {
	for _, f := range res.Files {
		n := 0
		for _, c := range f.Changes {
			n += c
		}
		fmt.Fprintf(w, "fixed %s -> %s: %s, %d rows, %d changes\n", f.Input, f.Output, f.Kind, f.Rows, n)
		for _, u := range f.Unresolved {
			fmt.Fprintf(w, "  not fixed: %s column %s %s: %s\n", f.Input, u.Column, u.Field, u.Reason)
		}
	}
	for _, b := range res.Blocked {
		fmt.Fprintf(w, "not written: %s\n", b.Error())
	}
	by := res.ByRule()
	if len(by) > 0 {
		fmt.Fprintln(w, "changes by rule:")
		sort.SliceStable(by, func(i, j int) bool { return by[i].Count > by[j].Count })
		for _, r := range by {
			fmt.Fprintf(w, "  %-24s %8d  %s\n", r.Rule, r.Count, r.Summary)
		}
	}
	if logPath != "" {
		fmt.Fprintf(w, "change log: %s\n", logPath)
	}
}
