package check

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/konduit/konduit/internal/cardnum"
)

// Messages are masked where findings are kept (the collector); the writers
// mask again what they print (cardnum.MaskText), so a report built or
// decoded elsewhere is printed as safely.

// WriteJSON writes the report as exactly one JSON document:
// {"files":[{"path","kind","rows","errors","warnings"}],"findings":[{"file","row","column","field","rule","severity","message"}]}.
func WriteJSON(w io.Writer, r *Report) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	if _, err := w.Write(cardnum.MaskJSON(b.Bytes())); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// CSVHeader is the header of WriteCSV's output.
var CSVHeader = []string{"file", "row", "column", "field", "rule", "severity", "message"}

// WriteCSV writes one finding per line under CSVHeader.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for _, f := range r.Findings {
		cw.Write([]string{cardnum.MaskText(f.File), strconv.Itoa(f.Row), f.Column, cardnum.MaskText(f.Field), f.Rule, f.Severity.String(), cardnum.MaskText(f.Message)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteText writes a summary for people: each file's counts, then every
// rule that fired with its exact count and its first examples.
func WriteText(w io.Writer, r *Report, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	sev := func(s Severity) string {
		if s == Error {
			return paint("1;31", "error  ")
		}
		return paint("33", "warning")
	}
	for _, f := range r.Files {
		fmt.Fprintf(bw, "%s: %s, %d rows, %d errors, %d warnings\n", cardnum.MaskText(f.Path), f.Kind, f.Rows, f.Errors, f.Warnings)
	}
	examples := map[string][]Finding{}
	for _, f := range r.Findings {
		examples[f.Rule] = append(examples[f.Rule], f)
	}
	for _, rc := range r.Counts {
		rule := rulesByID[rc.Rule]
		fmt.Fprintf(bw, "\n%s %s ×%d: %s\n", sev(rc.Severity), paint("1", rc.Rule), rc.Count, rule.Summary)
		shown := 0
		for _, f := range examples[rc.Rule] {
			if f.Severity != rc.Severity {
				continue
			}
			loc := fmt.Sprintf("%s:%d", cardnum.MaskText(f.File), f.Row)
			if f.Column != "" {
				loc += " " + f.Column
			}
			if f.Field != "" {
				loc += " " + cardnum.MaskText(f.Field)
			}
			fmt.Fprintf(bw, "  %s: %s\n", paint("2", loc), cardnum.MaskText(f.Message))
			shown++
		}
		if more := rc.Count - shown; more > 0 && shown > 0 {
			fmt.Fprintf(bw, "  … and %d more\n", more)
		}
	}
	verdict := paint("1;32", "OK")
	if r.Errors() > 0 {
		verdict = paint("1;31", "FAILED")
	}
	fmt.Fprintf(bw, "\n%s: %d errors, %d warnings in %d files\n", verdict, r.Errors(), r.Warnings(), len(r.Files))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteRulesMarkdown writes the rule table.
func WriteRulesMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## Rules\n\n| Rule | Severity | Fixable | What |\n|---|---|---|---|\n")
	for _, r := range Rules {
		fix := ""
		if r.Fixable {
			fix = "yes"
		}
		fmt.Fprintf(bw, "| `%s` | %s | %s | %s |\n", r.ID, r.Severity, fix, r.Summary)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	return nil
}
