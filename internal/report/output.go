package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/konduit/konduit/internal/cardnum"
)

// Formats a report can be written in.
var Formats = []string{"table", "csv", "json"}

// Write prints a report in a format: table (aligned columns), csv or json.
// Group names and other text come from the data: any card number in them
// is masked (cardnum.MaskText).
func Write(w io.Writer, format string, r Result) error {
	switch format {
	case "json":
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
	case "csv":
		t := flagColumns(maskTable(r.Table()))
		cw := csv.NewWriter(w)
		if err := cw.Write(t.Header); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		for _, row := range t.Rows {
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		return nil
	case "table":
		t := markCells(maskTable(r.Table()))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if len(t.Rows) == 1 && len(t.Header) > 8 {
			// One wide row reads better as name/value pairs.
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for i, h := range t.Header {
				fmt.Fprintf(tw, "%s\t%s\n", h, t.Rows[0][i])
			}
			return tw.Flush()
		}
		fmt.Fprintln(tw, strings.Join(t.Header, "\t")+"\t")
		for _, row := range t.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q (want table, csv or json)", format)
}

// marked says whether a cell is marked partial.
func (t *Table) marked(r, c int) bool {
	return r < len(t.Marks) && c < len(t.Marks[r]) && t.Marks[r][c]
}

// Marked is the table as the table format shows it: partial cells end in
// "*" (the dashboard's tables).
func (t Table) Marked() Table { return markCells(t) }

// markCells ends each marked cell in "*" (the table format).
func markCells(t Table) Table {
	for r, row := range t.Rows {
		for c := range row {
			if t.marked(r, c) {
				row[c] += "*"
			}
		}
	}
	return t
}

// flagColumns adds the flag columns (CSV): after each column of t.Flags, a
// column of true/false.
func flagColumns(t Table) Table {
	if len(t.Flags) == 0 {
		return t
	}
	out := Table{}
	for c, h := range t.Header {
		out.Header = append(out.Header, h)
		if f, ok := t.Flags[c]; ok {
			out.Header = append(out.Header, f)
		}
	}
	for r, row := range t.Rows {
		var nr []string
		for c, v := range row {
			nr = append(nr, v)
			if _, ok := t.Flags[c]; ok {
				nr = append(nr, fmt.Sprint(t.marked(r, c)))
			}
		}
		out.Rows = append(out.Rows, nr)
	}
	return out
}

// maskTable masks the card numbers in a table's cells, in place.
func maskTable(t Table) Table {
	for _, row := range t.Rows {
		for i, v := range row {
			row[i] = cardnum.MaskText(v)
		}
	}
	return t
}

// marshalFlat is json.Marshal: embedded structs' fields are written at the
// top level.
func marshalFlat(v any) ([]byte, error) { return json.Marshal(v) }
