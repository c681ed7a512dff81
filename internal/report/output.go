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
		t := maskTable(r.Table())
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
		t := maskTable(r.Table())
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
