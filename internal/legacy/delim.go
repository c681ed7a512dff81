package legacy

import (
	"bytes"
	"io"
)

// A European spreadsheet exports "CSV" separated by semicolons, and "text"
// exports are separated by tabs. Read as comma-separated, such a file's
// header is one cell holding every column name (check's rule
// csv-delimiter). Open recognises the delimiter from the header and reads
// the file through NewCommaReader, so every package reads such a file the
// same way; konduit fix rewrites it comma-separated.

// Delimiters the rule recognises besides the comma.
var otherDelimiters = []byte{';', '\t'}

// DelimiterName says a delimiter in words, for messages.
func DelimiterName(d byte) string {
	switch d {
	case ';':
		return `";" (semicolon)`
	case '\t':
		return "a tab"
	}
	return `","`
}

// HeaderDelimiter returns the delimiter that makes rec (a header record, as
// the file holds it) the header of an import file when a comma does not:
// ';' or '\t'; or 0.
func HeaderDelimiter(rec []byte) byte {
	if fields, _, _, err := ParseFields(rec, nil, nil, DefaultMaxFields); err == nil && DetectKind(strs(fields)) != 0 {
		return 0
	}
	for _, d := range otherDelimiters {
		if bytes.IndexByte(rec, d) < 0 {
			continue
		}
		var out bytes.Buffer
		if _, err := io.Copy(&out, NewCommaReader(bytes.NewReader(rec), d)); err != nil {
			continue
		}
		fields, _, _, err := ParseFields(out.Bytes(), nil, nil, DefaultMaxFields)
		if err == nil && len(fields) > 1 && DetectKind(strs(fields)) != 0 {
			return d
		}
	}
	return 0
}

func strs(fields [][]byte) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = string(f)
	}
	return out
}

// NewCommaReader reads r, a file separated by delim, as a comma-separated
// one: a delimiter outside quotes becomes a comma, and a cell that holds a
// comma is quoted. Everything else passes through as it is, byte for byte:
// line endings (so rows keep their numbers), blank lines, a byte-order
// mark, quoted cells, and broken quoting (so the CSV reader reports it).
// Memory is bounded: a cell is held only until it is known whether it needs
// quotes, and one longer than DefaultMaxRecordBytes passes through
// unquoted (its record is too large anyway).
func NewCommaReader(r io.Reader, delim byte) io.Reader {
	return &commaReader{r: r, delim: delim, in: make([]byte, 64<<10), start: true}
}

type commaState uint8

const (
	cellStart  commaState = iota // at the start of a cell
	unquoted                     // in an unquoted cell (held in cell)
	quoted                       // in a quoted cell, passed through
	quoteSeen                    // a quote in a quoted cell: doubled, or the closing one
	afterQuote                   // after the closing quote, before the delimiter
)

type commaReader struct {
	r       io.Reader
	delim   byte
	in      []byte
	out     []byte // converted; out[pos:] not yet read
	pos     int
	cell    []byte // the unquoted cell being read
	bare    bool   // the cell holds a quote: it passes through as it is
	comma   bool   // the cell holds a comma: it needs quotes
	state   commaState
	start   bool // nothing read yet: a byte-order mark passes through
	bomSeen int
	err     error
}

func (c *commaReader) Read(p []byte) (int, error) {
	for c.pos == len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		c.out, c.pos = c.out[:0], 0
		n, err := c.r.Read(c.in)
		c.convert(c.in[:n])
		if err != nil {
			c.flushCell()
			c.err = err
		}
	}
	n := copy(p, c.out[c.pos:])
	c.pos += n
	return n, nil
}

func (c *commaReader) flushCell() {
	if c.state != unquoted {
		return
	}
	if c.comma && !c.bare {
		c.out = append(c.out, '"')
		c.out = append(c.out, c.cell...)
		c.out = append(c.out, '"')
	} else {
		c.out = append(c.out, c.cell...)
	}
	c.cell, c.bare, c.comma = c.cell[:0], false, false
	c.state = cellStart
}

func (c *commaReader) convert(b []byte) {
	const bom = "\xEF\xBB\xBF"
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if c.start {
			if c.bomSeen < len(bom) && ch == bom[c.bomSeen] {
				c.bomSeen++
				c.out = append(c.out, ch)
				continue
			}
			c.start = false
		}
		switch c.state {
		case cellStart:
			switch ch {
			case '"':
				c.out = append(c.out, ch)
				c.state = quoted
			case c.delim:
				c.out = append(c.out, ',')
			case '\n', '\r':
				c.out = append(c.out, ch)
			default:
				c.state = unquoted
				c.addCell(ch)
			}
		case unquoted:
			switch ch {
			case c.delim:
				c.flushCell()
				c.out = append(c.out, ',')
			case '\n', '\r':
				c.flushCell()
				c.out = append(c.out, ch)
			default:
				c.addCell(ch)
			}
		case quoted:
			// Runs of ordinary bytes are copied at once.
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				c.out = append(c.out, b[i:]...)
				return
			}
			c.out = append(c.out, b[i:i+j+1]...)
			i += j
			c.state = quoteSeen
		case quoteSeen:
			switch ch {
			case '"': // a doubled quote: still inside
				c.out = append(c.out, ch)
				c.state = quoted
			case c.delim:
				c.out = append(c.out, ',')
				c.state = cellStart
			case '\n', '\r':
				c.out = append(c.out, ch)
				c.state = cellStart
			default: // text after the closing quote: a syntax error, kept
				c.out = append(c.out, ch)
				c.state = afterQuote
			}
		case afterQuote:
			switch ch {
			case c.delim:
				c.out = append(c.out, ',')
				c.state = cellStart
			case '\n', '\r':
				c.out = append(c.out, ch)
				c.state = cellStart
			default:
				c.out = append(c.out, ch)
			}
		}
	}
}

// addCell adds a byte to the unquoted cell; a cell too long to hold passes
// through as it is from there on.
func (c *commaReader) addCell(ch byte) {
	switch ch {
	case '"':
		c.bare = true
	case ',':
		c.comma = true
	}
	c.cell = append(c.cell, ch)
	if len(c.cell) > DefaultMaxRecordBytes {
		c.bare = true // no quotes: the record is too large to read anyway
		c.out = append(c.out, c.cell...)
		c.cell = c.cell[:0]
	}
}
