package check

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

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

// mostRows: a warning that fires on at least this share of the data rows
// (and on at least minSummary rows) is shown on one line to people (text
// output, the dashboard).
const (
	mostRows   = 0.5
	minSummary = 10
	summaryEgs = 3 // example locations on that line
)

// Group is one rule and severity's findings as people are shown them: the
// exact count, the kept examples and, for a warning that fires on most rows
// (address2 empty on a file where no address has a second line), a summary:
// its share of the rows and a few example locations instead of a list.
type Group struct {
	Rule     Rule
	Severity Severity
	Count    int
	Examples []Finding // the kept examples; a summary keeps summaryEgs
	Summary  bool      // fires on most rows: show as one line
	Percent  int       // for a summary: the share of the rows it fires on
	Where    string    // for a summary: the example locations ("f.csv rows 2, 3, 4 AC address2")
}

// Groups lists r's findings by rule and severity in r.Counts' order (errors
// first, then by count). Text output and the dashboard both show these;
// JSON and CSV list every kept finding.
func Groups(r *Report) []Group {
	examples := map[RuleCount][]Finding{}
	for _, f := range r.Findings {
		k := RuleCount{Rule: f.Rule, Severity: f.Severity}
		examples[k] = append(examples[k], f)
	}
	fileRows, allRows := map[string]int{}, 0
	for _, f := range r.Files {
		fileRows[f.Path] += f.Rows
		allRows += f.Rows
	}
	// rowsOf is the data rows of the files a rule's examples come from (all
	// files when it has none kept): the share of rows it fires on.
	rowsOf := func(egs []Finding) int {
		seen, n := map[string]bool{}, 0
		for _, f := range egs {
			if !seen[f.File] {
				seen[f.File] = true
				n += fileRows[f.File]
			}
		}
		if n == 0 {
			return allRows
		}
		return n
	}
	var out []Group
	for _, rc := range r.Counts {
		rule, ok := rulesByID[rc.Rule]
		if !ok {
			rule = Rule{ID: rc.Rule, Severity: rc.Severity}
		}
		egs := examples[RuleCount{Rule: rc.Rule, Severity: rc.Severity}]
		g := Group{Rule: rule, Severity: rc.Severity, Count: rc.Count, Examples: egs}
		if rows := rowsOf(egs); rc.Severity == Warning && rc.Count >= minSummary && float64(rc.Count) >= mostRows*float64(rows) {
			g.Summary = true
			g.Percent = min(100, rc.Count*100/max(rows, 1))
			g.Examples = egs[:min(len(egs), summaryEgs)]
			g.Where = where(g.Examples)
		}
		out = append(out, g)
	}
	return out
}

// loc is where a finding is: "file:row column field".
func loc(f Finding) string {
	l := fmt.Sprintf("%s:%d", cardnum.MaskText(f.File), f.Row)
	if f.Column != "" {
		l += " " + f.Column
	}
	if f.Field != "" {
		l += " " + cardnum.MaskText(f.Field)
	}
	return l
}

// where lists a few findings' locations on one line; findings in one file
// and column read "file rows 2, 3, 4 AC address2".
func where(egs []Finding) string {
	if len(egs) == 0 {
		return ""
	}
	var locs, rowNums []string
	one := true
	for _, f := range egs {
		locs = append(locs, loc(f))
		rowNums = append(rowNums, strconv.Itoa(f.Row))
		one = one && f.File == egs[0].File && f.Column == egs[0].Column && f.Field == egs[0].Field
	}
	if !one {
		return strings.Join(locs, ", ")
	}
	f := egs[0]
	w := fmt.Sprintf("%s rows %s", cardnum.MaskText(f.File), strings.Join(rowNums, ", "))
	if f.Column != "" {
		w += " " + f.Column
	}
	if f.Field != "" {
		w += " " + cardnum.MaskText(f.Field)
	}
	return w
}

// WriteText writes a summary for people: each file's counts, then every
// rule that fired with its exact count and its first examples (Groups). A
// warning that fires on most rows is one line: its count, its share of the
// rows, a few example locations and the first example's message. JSON and
// CSV list every kept finding.
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
	for _, g := range Groups(r) {
		if g.Summary {
			fmt.Fprintf(bw, "\n%s %s ×%d, on %d%% of the rows: %s\n", sev(g.Severity), paint("1", g.Rule.ID), g.Count, g.Percent, g.Rule.Summary)
			if len(g.Examples) > 0 {
				fmt.Fprintf(bw, "  %s …: %s\n", paint("2", "e.g. "+g.Where), cardnum.MaskText(g.Examples[0].Message))
			}
			continue
		}
		fmt.Fprintf(bw, "\n%s %s ×%d: %s\n", sev(g.Severity), paint("1", g.Rule.ID), g.Count, g.Rule.Summary)
		for _, f := range g.Examples {
			fmt.Fprintf(bw, "  %s: %s\n", paint("2", loc(f)), cardnum.MaskText(f.Message))
		}
		if more := g.Count - len(g.Examples); more > 0 && len(g.Examples) > 0 {
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
