package legacy

// Columns maps a file's header names to their positions, so a row's values
// can be read by column name whatever the file's column order. A name the
// header repeats maps to its first position.
type Columns map[string]int

// NewColumns indexes a header row.
func NewColumns(header []string) Columns {
	c := make(Columns, len(header))
	for i, h := range header {
		if _, dup := c[h]; !dup {
			c[h] = i
		}
	}
	return c
}

// Get returns the named column's value in fields, or "" when the header
// lacks the column or the row is short.
func (c Columns) Get(fields []string, name string) string {
	if i, ok := c[name]; ok && i < len(fields) {
		return fields[i]
	}
	return ""
}
