package legacy

import (
	"fmt"
	"io"
	"strings"
)

// ColumnDoc is a column as `konduit spec --format json` shows it.
type ColumnDoc struct {
	Letter      string   `json:"letter"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`  // the seed's type text
	Check       string   `json:"check"` // how values are checked
	MaxLen      int      `json:"maxLength,omitempty"`
	Enum        []string `json:"values,omitempty"`
	Required    string   `json:"required"` // Y, N, or "Y if ..."
	Sensitive   bool     `json:"sensitive,omitempty"`
	Description string   `json:"description"`
}

// KindDoc is one file kind as `konduit spec --format json` shows it.
type KindDoc struct {
	Kind    string      `json:"kind"`
	Title   string      `json:"title"`
	File    string      `json:"file"`
	Columns []ColumnDoc `json:"columns"`
}

// Docs describes every kind and column.
func Docs() []KindDoc {
	var out []KindDoc
	for _, k := range Kinds {
		s := SpecFor(k)
		d := KindDoc{Kind: k.String(), Title: k.Title(), File: k.FileName()}
		for _, c := range s.Columns {
			req := c.Required.String()
			if c.Required.EmptyIsWarning {
				req += " (empty is a warning)"
			}
			d.Columns = append(d.Columns, ColumnDoc{Letter: c.Letter, Name: c.Name, Type: c.SeedType, Check: c.Type.String(),
				MaxLen: c.MaxLen, Enum: c.Enum, Required: req, Sensitive: c.Sensitive, Description: c.Description})
		}
		out = append(out, d)
	}
	return out
}

// WriteMarkdown writes the three files' column tables.
func WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	for _, d := range Docs() {
		fmt.Fprintf(&b, "## %s (`%s`)\n\n", d.Title, d.File)
		b.WriteString("| Col | Name | Type | Required | Description |\n|---|---|---|---|---|\n")
		for _, c := range d.Columns {
			name := "`" + c.Name + "`"
			if c.Sensitive {
				name += " (sensitive: never printed beyond the last four)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Letter, name, c.Type, c.Required, strings.ReplaceAll(c.Description, "|", "/"))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write spec: %w", err)
	}
	return nil
}
