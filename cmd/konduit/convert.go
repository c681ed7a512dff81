package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/convert"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/spf13/cobra"
)

type convertOptions struct {
	mapFile    string
	preset     string
	out        string
	init       bool
	force      bool
	crlf       bool
	provenance string
	examples   int
	asOf       string
	noValidate bool
}

func init() { register(newConvertCmd) }

func newConvertCmd(g *globalOptions) *cobra.Command {
	opts := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert (--map FILE | --preset NAME) SOURCE... -o DIR | convert --init SOURCE... [-o mapping.yaml]",
		Short: "Build import files from merchant exports through a mapping",
		Long: `convert streams merchant exports (.csv, .csv.gz or .zip; comma, semicolon
or tab; UTF-8, UTF-16 or Windows-1252) through a YAML mapping into the
Konnektive legacy import files in DIR. CVV-like columns are dropped on read.
Every problem (unmapped required columns, values missing from value maps,
columns the sources lack, unreadable values) is reported with its source
file and row; when there is any, nothing is written and the status is 1.

--init inspects the sources and writes a starting mapping, every guess
marked "# REVIEW". Presets: ` + strings.Join(convert.Presets(), ", ") + `.
The mapping format is described in docs/mapping.md.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.init {
				return runConvertInit(cmd.Context(), g, opts, args)
			}
			return runConvert(cmd.Context(), g, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.mapFile, "map", "", "mapping file (YAML)")
	f.StringVar(&opts.preset, "preset", "", "start from an embedded preset ("+strings.Join(convert.Presets(), ", ")+")")
	f.StringVarP(&opts.out, "out", "o", "", "output directory (convert) or mapping file (--init)")
	f.BoolVar(&opts.init, "init", false, "inspect the sources and write a starting mapping")
	f.BoolVar(&opts.force, "force", false, "with --init: overwrite an existing mapping file")
	f.BoolVar(&opts.crlf, "crlf", false, "write \\r\\n line endings")
	f.StringVar(&opts.provenance, "provenance", "", "also write the import-row to source-row table to this CSV file")
	f.IntVar(&opts.examples, "examples", 20, "rows shown for each kind of problem or finding (all are counted)")
	f.StringVar(&opts.asOf, "as-of", "", "reference date YYYY-MM-DD for validating the written files (default today)")
	f.BoolVar(&opts.noValidate, "no-validate", false, "do not validate the written files")
	return cmd
}

func loadConvertMapping(opts *convertOptions) (*convert.Mapping, error) {
	switch {
	case opts.mapFile != "" && opts.preset != "":
		m, err := convert.LoadFile(opts.mapFile)
		if err != nil {
			return nil, err
		}
		if m.Preset != "" && m.Preset != opts.preset {
			return nil, usageErrorf("--preset %s and the mapping's preset: %s differ", opts.preset, m.Preset)
		}
		if m.Preset != "" {
			return m, nil
		}
		base, err := convert.LoadPreset(opts.preset)
		if err != nil {
			return nil, err
		}
		return convert.Overlay(base, m), nil
	case opts.mapFile != "":
		return convert.LoadFile(opts.mapFile)
	case opts.preset != "":
		return convert.LoadPreset(opts.preset)
	}
	return nil, usageErrorf("convert needs --map FILE or --preset NAME (or --init to write a mapping)")
}

func runConvert(ctx context.Context, g *globalOptions, opts *convertOptions, sources []string) error {
	if opts.out == "" {
		return usageErrorf("convert needs -o DIR, the directory for the import files")
	}
	asOf := opts.asOf
	if asOf == "" {
		asOf = time.Now().Format("2006-01-02")
	}
	if _, err := time.Parse("2006-01-02", asOf); err != nil {
		return usageErrorf("--as-of %q is not a date YYYY-MM-DD", asOf)
	}
	if st, err := os.Stat(opts.out); err == nil && !st.IsDir() {
		return usageErrorf("-o %s is not a directory", opts.out)
	} else if err != nil {
		// The import files hold card data: the directory is the user's alone.
		if err := os.MkdirAll(opts.out, 0o700); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
	}
	m, err := loadConvertMapping(opts)
	if err != nil {
		return err
	}
	res, err := convert.Run(ctx, m, convert.Options{Sources: sources, OutDir: opts.out, CRLF: opts.crlf, Examples: opts.examples})
	if res != nil {
		printConvertReport(g.stdout, &res.Report)
	}
	var ce *convert.ConversionError
	if errors.As(err, &ce) {
		return &dataError{msg: ce.Error()}
	}
	if err != nil {
		return err
	}
	if opts.provenance != "" {
		err := atomicfile.Write(ctx, opts.provenance, atomicfile.Options{Inputs: sources}, res.Provenance.WriteCSV)
		if err != nil {
			return fmt.Errorf("write provenance: %w", err)
		}
	}
	if opts.noValidate {
		return nil
	}
	return validateConverted(ctx, g.stdout, res, check.Options{AsOf: asOf, MaxFindings: opts.examples})
}

// validateConverted runs the validator over the files convert wrote and
// prints each finding with the source row it came from.
func validateConverted(ctx context.Context, w io.Writer, res *convert.Result, opts check.Options) error {
	var paths []string
	kinds := map[string]legacy.Kind{}
	for _, k := range legacy.Kinds {
		if p, ok := res.Paths[k]; ok {
			paths = append(paths, p)
			kinds[p] = k
		}
	}
	rep, err := check.Validate(ctx, legacy.FileInputs(paths), opts)
	if err != nil {
		return fmt.Errorf("validate converted files: %w", err)
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "%s: %s row %d", f.Severity, f.File, f.Row)
		if f.Field != "" {
			fmt.Fprintf(w, " %s (%s)", f.Column, f.Field)
		}
		fmt.Fprintf(w, ": %s [%s]", f.Message, f.Rule)
		if o, ok := res.Provenance.Lookup(kinds[f.File], f.Row, f.Field); ok {
			fmt.Fprintf(w, " <- %s row %d", o.Table, o.Row)
		}
		fmt.Fprintln(w)
	}
	shown := map[string]int{}
	for _, f := range rep.Findings {
		shown[f.Rule+"/"+f.Severity.String()]++
	}
	for _, rc := range rep.Counts {
		if more := rc.Count - shown[rc.Rule+"/"+rc.Severity.String()]; more > 0 {
			fmt.Fprintf(w, "%s: ... and %d more [%s]\n", rc.Severity, more, rc.Rule)
		}
	}
	fmt.Fprintf(w, "validated %d file(s): %d error(s), %d warning(s)\n", len(paths), rep.Errors(), rep.Warnings())
	if rep.Errors() > 0 {
		return &dataError{msg: fmt.Sprintf("the converted files have %d validation error(s); fix the mapping or the sources and convert again", rep.Errors())}
	}
	return nil
}

func printConvertReport(w io.Writer, r *convert.Report) {
	for _, t := range r.Tables {
		if t.Source == "" {
			fmt.Fprintf(w, "ignored %s: no source of the mapping is this file\n", t.Name)
			continue
		}
		fmt.Fprintf(w, "read %s as %s (%s, delimiter %s): %d rows\n", t.Name, t.Source, t.Encoding, t.Delimiter, t.Rows)
		if len(t.Dropped) > 0 {
			fmt.Fprintf(w, "  dropped CVV-like columns on read: %s\n", cardnum.MaskText(strings.Join(t.Dropped, ", ")))
		}
	}
	if r.DroppedValues > 0 {
		fmt.Fprintf(w, "CVV-like values discarded: %d\n", r.DroppedValues)
	}
	if len(r.Invented) > 0 {
		fmt.Fprintln(w, "values the mapping invented:")
		for _, iv := range r.Invented {
			fmt.Fprintf(w, "  %-14s %-20s %-8s %d\n", iv.Kind, iv.Column, iv.How, iv.Count)
		}
	}
	if r.Adjusted > 0 {
		fmt.Fprintf(w, "source times in a DST gap or overlap (placed per metrics.md): %d\n", r.Adjusted)
	}
	for _, g := range r.Problems {
		for _, p := range g.Examples {
			fmt.Fprintf(w, "error: %s\n", p)
		}
		if more := g.Count - len(g.Examples); more > 0 {
			fmt.Fprintf(w, "error: ... and %d more like the above\n", more)
		}
	}
	if r.Written {
		for _, o := range r.Outputs {
			fmt.Fprintf(w, "wrote %s: %d rows", o.Path, o.Rows)
			if o.Skipped > 0 {
				fmt.Fprintf(w, " (%d source rows skipped by skip/distinct_by)", o.Skipped)
			}
			fmt.Fprintln(w)
		}
	}
}

func runConvertInit(ctx context.Context, g *globalOptions, opts *convertOptions, sources []string) error {
	if opts.mapFile != "" {
		return usageErrorf("--init writes a mapping; it does not read --map")
	}
	text, err := convert.Guess(ctx, sources, convert.GuessOptions{})
	if err != nil {
		return err
	}
	if opts.out == "" {
		_, err := io.WriteString(g.stdout, text)
		return err
	}
	if _, err := os.Stat(opts.out); err == nil && !opts.force {
		return withHint(fmt.Errorf("write mapping: %s exists", opts.out), "use --force to overwrite it, or another -o")
	}
	err = atomicfile.Write(ctx, opts.out, atomicfile.Options{Inputs: sources}, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "wrote %s: review every line marked # REVIEW, then run konduit convert --map %s %s -o DIR\n",
		opts.out, opts.out, strings.Join(sources, " "))
	return nil
}
