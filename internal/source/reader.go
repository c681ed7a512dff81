package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/konduit/konduit/internal/exitcode"
)

// Encodings the reader knows, as Options.Encoding and Reader.Encoding name them.
const (
	UTF8        = "utf-8"
	UTF8BOM     = "utf-8-bom"
	UTF16LE     = "utf-16le"
	UTF16BE     = "utf-16be"
	Windows1252 = "windows-1252"
)

// Options tune NewReader; zero values sniff.
type Options struct {
	Encoding  string // "" sniffs; else one of the constants above
	Delimiter rune   // 0 sniffs among ',', ';' and '\t'
	// MaxRecordBytes caps one record (default DefaultMaxRecordBytes): an
	// unbalanced quote must not turn the rest of a file into one field held
	// in memory.
	MaxRecordBytes int
}

// DefaultMaxRecordBytes is the default cap on one record's decoded bytes.
const DefaultMaxRecordBytes = 1 << 20

// ErrRecordTooLong is returned, and keeps being returned, once a record
// passes Options.MaxRecordBytes. It is a data error (exit status 1).
var ErrRecordTooLong error = dataError("record too long")

type dataError string

func (e dataError) Error() string { return string(e) }

// ExitCode makes the error a data error for the command line.
func (e dataError) ExitCode() int { return exitcode.DataErrors }

// Record is one data row of a table.
type Record struct {
	File   string   // the source file as given
	Entry  string   // zip entry, or ""
	Row    int      // spreadsheet row: the header is row 1, the first data row 2
	Line   int      // the physical line the record starts on
	Fields []string // aligned with Reader.Header; never holds a dropped column
}

// Reader streams the records of one table.
type Reader struct {
	table   Table
	rc      io.ReadCloser
	csv     *csv.Reader
	header  []string
	keep    []int // source field index of each kept column
	dropped []string
	// droppedIdx are the source field indexes of the dropped columns;
	// droppedValues counts their non-empty cells (the values discarded).
	droppedIdx    []int
	droppedValues int
	width         int // fields in the source header
	row           int
	encoding      string
	delim         rune
	ctx           context.Context
}

// RowError is a data error at a position of a table.
type RowError struct {
	Table string
	Row   int
	Line  int
	Err   error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("%s row %d (line %d): %v", e.Table, e.Row, e.Line, e.Err)
}
func (e *RowError) Unwrap() error { return e.Err }

// ExitCode makes a malformed source a data error (exit status 1).
func (e *RowError) ExitCode() int { return exitcode.DataErrors }

// sniffSize is how much of the start of a table the sniffers look at.
const sniffSize = 64 << 10

// NewReader opens t, sniffs its encoding and delimiter, and reads the header.
func NewReader(ctx context.Context, t Table, opts Options) (*Reader, error) {
	rc, err := t.Open()
	if err != nil {
		return nil, err
	}
	r, err := newReader(ctx, rc, t, opts)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return r, nil
}

func newReader(ctx context.Context, rc io.ReadCloser, t Table, opts Options) (*Reader, error) {
	br := bufio.NewReaderSize(rc, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read %s: %w", t.Name(), err)
	}
	enc := opts.Encoding
	if enc == "" {
		enc = SniffEncoding(head)
	}
	var text io.Reader
	switch enc {
	case UTF8:
		text = br
	case UTF8BOM:
		if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
			br.Discard(3)
		}
		text = br
	case UTF16LE:
		text = transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
		if !bytes.HasPrefix(head, []byte{0xFF, 0xFE}) {
			text = transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder())
		}
	case UTF16BE:
		text = transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
		if !bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
			text = transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder())
		}
	case Windows1252:
		text = transform.NewReader(br, charmap.Windows1252.NewDecoder())
	default:
		return nil, fmt.Errorf("read %s: unknown encoding %q (want utf-8, utf-16le, utf-16be or windows-1252)", t.Name(), enc)
	}
	maxRec := opts.MaxRecordBytes
	if maxRec <= 0 {
		maxRec = DefaultMaxRecordBytes
	}
	text = &recordLimiter{r: text, max: maxRec}
	tb := bufio.NewReaderSize(text, sniffSize)
	delim := opts.Delimiter
	if delim == 0 {
		sample, _ := tb.Peek(sniffSize)
		delim = SniffDelimiter(sample)
	}
	cr := csv.NewReader(tb)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	r := &Reader{table: t, rc: rc, csv: cr, encoding: enc, delim: delim, ctx: ctx}
	hdr, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &RowError{Table: t.Name(), Row: 1, Line: 1, Err: errors.New("the file is empty: no header row")}
	}
	if err != nil {
		return nil, r.csvError(1, err)
	}
	r.row = 1
	r.width = len(hdr)
	seen := map[string]bool{}
	for i, h := range hdr {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		if IsCVVName(h) {
			r.dropped = append(r.dropped, h)
			r.droppedIdx = append(r.droppedIdx, i)
			continue
		}
		if h == "" {
			h = fmt.Sprintf("column%d", i+1)
		}
		if seen[h] {
			return nil, &RowError{Table: t.Name(), Row: 1, Line: 1, Err: fmt.Errorf("header names column %q twice", h)}
		}
		seen[h] = true
		r.header = append(r.header, h)
		r.keep = append(r.keep, i)
	}
	return r, nil
}

func (r *Reader) csvError(row int, err error) error {
	line := 0
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line = pe.StartLine
		err = pe.Err
	}
	return &RowError{Table: r.table.Name(), Row: row, Line: line, Err: err}
}

// Header returns the kept column names, in file order.
func (r *Reader) Header() []string { return r.header }

// DroppedValues is the number of non-empty cells of dropped columns read
// so far: the values discarded (an empty cell discards nothing).
func (r *Reader) DroppedValues() int { return r.droppedValues }

// Dropped returns the names of the CVV-like columns dropped on read.
func (r *Reader) Dropped() []string { return r.dropped }

// Encoding returns the encoding the table was read with.
func (r *Reader) Encoding() string { return r.encoding }

// Delimiter returns the field delimiter.
func (r *Reader) Delimiter() rune { return r.delim }

// Table returns the table being read.
func (r *Reader) Table() Table { return r.table }

// Read returns the next record, or io.EOF. Fields are fresh strings that
// share no memory with dropped values, so a caller may keep them.
func (r *Reader) Read() (Record, error) {
	if r.row%1024 == 0 {
		if err := r.ctx.Err(); err != nil {
			return Record{}, err
		}
	}
	fields, err := r.csv.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return Record{}, fmt.Errorf("read %s: %w", r.table.Name(), err)
		}
		r.row++
		return Record{}, r.csvError(r.row, err)
	}
	r.row++
	line, _ := r.csv.FieldPos(0)
	if len(fields) != r.width {
		return Record{}, &RowError{Table: r.table.Name(), Row: r.row, Line: line,
			Err: fmt.Errorf("%d fields, the header has %d", len(fields), r.width)}
	}
	for _, i := range r.droppedIdx {
		if strings.TrimSpace(fields[i]) != "" {
			r.droppedValues++
		}
	}
	rec := Record{File: r.table.File, Entry: r.table.Entry, Row: r.row, Line: line, Fields: make([]string, len(r.keep))}
	for j, i := range r.keep {
		f := fields[i]
		if r.encoding == UTF8 || r.encoding == UTF8BOM {
			if !utf8.ValidString(f) {
				return Record{}, &RowError{Table: r.table.Name(), Row: r.row, Line: line,
					Err: fmt.Errorf("column %q is not valid UTF-8; the file mixes encodings (try --encoding windows-1252)", r.header[j])}
			}
		}
		// encoding/csv slices every field of a record out of one string;
		// cloning keeps a dropped CVV value from living on behind a kept field.
		if len(r.dropped) > 0 {
			f = strings.Clone(f)
		}
		rec.Fields[j] = f
	}
	return rec, nil
}

// recordLimiter fails once the bytes since the last newline outside quotes
// pass max. Doubled quotes inside a quoted field toggle twice, so counting
// quotes is enough to know whether a newline ends a record.
type recordLimiter struct {
	r   io.Reader
	max int
	n   int
	inQ bool
	err error // sticky once the limit is passed
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexAny(p[i:n], "\"\n")
		if j < 0 {
			l.n += n - i
			break
		}
		l.n += j
		i += j
		if p[i] == '"' {
			l.inQ = !l.inQ
			l.n++
		} else if l.inQ {
			l.n++
		} else {
			l.n = 0
		}
		i++
	}
	if l.n > l.max {
		l.err = fmt.Errorf("a record is longer than %d bytes (an unbalanced quote?): %w", l.max, ErrRecordTooLong)
		return n, l.err
	}
	return n, err
}

// Close releases the table.
func (r *Reader) Close() error { return r.rc.Close() }

// SniffEncoding names the encoding of a table from its first bytes: a
// byte-order mark decides; else NUL bytes in alternate positions mean UTF-16;
// else valid UTF-8 is UTF-8 and anything else is read as Windows-1252.
func SniffEncoding(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return UTF8BOM
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return UTF16LE
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return UTF16BE
	}
	if len(head) >= 4 {
		if head[0] != 0 && head[1] == 0 && head[2] != 0 && head[3] == 0 {
			return UTF16LE
		}
		if head[0] == 0 && head[1] != 0 && head[2] == 0 && head[3] != 0 {
			return UTF16BE
		}
	}
	if utf8.Valid(head) {
		return UTF8
	}
	// A full sample may end inside a multi-byte character.
	if len(head) >= sniffSize {
		for cut := 1; cut < utf8.UTFMax; cut++ {
			if utf8.Valid(head[:len(head)-cut]) {
				return UTF8
			}
		}
	}
	return Windows1252
}

// SniffDelimiter picks the delimiter among comma, semicolon and tab that
// splits the first lines (outside quotes) into the same, largest number of
// fields. A single-column sample gives a comma.
func SniffDelimiter(sample []byte) rune {
	lines := splitLines(sample, 20)
	best, bestScore := ',', 0
	for _, d := range []byte{',', ';', '\t'} {
		counts := make([]int, 0, len(lines))
		for _, l := range lines {
			counts = append(counts, countOutsideQuotes(l, d))
		}
		if len(counts) == 0 || counts[0] == 0 {
			continue
		}
		consistent := 0
		for _, c := range counts {
			if c == counts[0] {
				consistent++
			}
		}
		// Prefer consistency across lines, then more fields.
		score := consistent*1000 + counts[0]
		if score > bestScore {
			best, bestScore = rune(d), score
		}
	}
	return best
}

// splitLines returns up to n complete records' worth of lines, keeping
// quoted newlines inside their line.
func splitLines(b []byte, n int) [][]byte {
	var out [][]byte
	inQ := false
	start := 0
	for i := 0; i < len(b) && len(out) < n; i++ {
		switch b[i] {
		case '"':
			inQ = !inQ
		case '\n':
			if !inQ {
				out = append(out, bytes.TrimRight(b[start:i], "\r"))
				start = i + 1
			}
		}
	}
	if len(out) == 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

func countOutsideQuotes(l []byte, d byte) int {
	n, inQ := 0, false
	for _, c := range l {
		if c == '"' {
			inQ = !inQ
		} else if c == d && !inQ {
			n++
		}
	}
	return n
}

// cvvNames are the normalised names of columns that hold card verification
// values, magnetic-stripe track data or PINs: never stored, never imported.
var cvvNames = map[string]bool{
	"cvv": true, "cvc": true, "cvv2": true, "cvc2": true, "cid": true, "csc": true,
	"cav2": true, "cvn": true, "cvd": true, "track": true, "track1": true, "track2": true,
	"trackdata": true, "pin": true, "pinblock": true, "securitycode": true,
	"cardsecuritycode": true, "cardverificationvalue": true, "cardverificationcode": true,
}

// IsCVVName reports whether a column name is CVV-like: after lower-casing
// and removing everything but letters and digits it is one of cvv, cvc,
// cvv2, cvc2, cid, csc, track, track1, track2, pin (and a few spelled-out
// forms), alone or after "card", "cc" or "creditcard".
func IsCVVName(name string) bool {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	n := b.String()
	if cvvNames[n] {
		return true
	}
	for _, p := range []string{"creditcard", "card", "cc"} {
		if rest, ok := strings.CutPrefix(n, p); ok && cvvNames[rest] {
			return true
		}
	}
	return false
}
