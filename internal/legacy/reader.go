package legacy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits that keep memory bounded whatever the input.
const (
	// DefaultMaxRecordBytes caps one record; a longer one (an unbalanced
	// quote, a 10 MB field) is skipped without being held and reported.
	DefaultMaxRecordBytes = 1 << 20
	// DefaultMaxFields caps the fields of one record.
	DefaultMaxFields = 512
	// chunkSize is how much the chunker reads at a time.
	chunkSize = 1 << 20
)

// Syntax problems a record can have. They are data errors: reading goes on.
var (
	ErrBareQuote      = errors.New("a quote in an unquoted field")
	ErrQuoteNotClosed = errors.New("a quoted field is not closed before the end of the file")
	ErrTextAfterQuote = errors.New("text after the closing quote of a quoted field")
	ErrRecordTooLarge = errors.New("a record is larger than the limit")
	ErrTooManyFields  = errors.New("a record has more fields than the limit")
	ErrNUL            = errors.New("a NUL byte (the file is not text)")
)

// ParseError is a syntax problem in one record. Row is the spreadsheet row
// (the header is row 1), Line the line where the record starts.
type ParseError struct {
	Row   int
	Line  int
	Field int // 0-based field index where it was found, -1 when not known
	Err   error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("row %d (line %d): %v", e.Row, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Chunk is a run of whole records, or the notice that one record was too
// large and was skipped.
type Chunk struct {
	Data []byte // whole records, each ended by the terminator (the last may lack it at EOF)
	// Oversized is set instead of Data when a record exceeded the limit;
	// Lines is then how many line terminators the skipped record held, and
	// Unclosed says whether the file ended inside its quotes.
	Oversized bool
	Unclosed  bool
	Lines     int
}

// Chunker cuts a stream into chunks of whole records without parsing them,
// so that chunks can be parsed in parallel. A record ends at the terminator
// byte when the number of quotes since the record began is even: the same
// rule SplitRecord applies, so chunker and parser always agree.
type Chunker struct {
	r         io.Reader
	buf       []byte // unread data from the reader; buf[0] starts a record
	eof       bool
	err       error
	maxRecord int
	Term      byte // '\n', or '\r' for a file with CR-only line endings
	BOM       bool // the stream began with a UTF-8 byte-order mark (stripped)
	started   bool
	step      int // read size; grows from 64 KiB to chunkSize
}

// NewChunker returns a Chunker reading r. maxRecord <= 0 means the default.
func NewChunker(r io.Reader, maxRecord int) *Chunker {
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecordBytes
	}
	return &Chunker{r: r, maxRecord: maxRecord, Term: '\n', step: 64 << 10}
}

// fill reads more data into buf, up to at least want bytes if available.
func (c *Chunker) fill(want int) {
	for !c.eof && len(c.buf) < want {
		if cap(c.buf)-len(c.buf) < c.step {
			nb := make([]byte, len(c.buf), len(c.buf)+max(c.step, want-len(c.buf)))
			copy(nb, c.buf)
			c.buf = nb
			c.step = min(2*c.step, chunkSize)
		}
		n, err := c.r.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			c.eof, c.err = true, err
		}
	}
}

// start strips a BOM and decides the line terminator from the first one.
func (c *Chunker) start() {
	c.started = true
	c.fill(chunkSize)
	if bytes.HasPrefix(c.buf, []byte("\xEF\xBB\xBF")) {
		c.BOM = true
		c.buf = c.buf[3:]
	}
	// The first line break outside quotes decides: a CR alone means CR-only
	// line endings. Breaks inside quoted fields are data.
	quotes := 0
	for i, ch := range c.buf {
		switch {
		case ch == '"':
			quotes++
		case (ch == '\r' || ch == '\n') && quotes%2 == 0:
			if ch == '\r' && (i+1 >= len(c.buf) || c.buf[i+1] != '\n') {
				c.Term = '\r'
			}
			return
		}
	}
}

// Next returns the next chunk, or io.EOF. The chunker never writes over
// memory it has returned, so a chunk stays valid while others are read and
// chunks can be parsed in parallel.
func (c *Chunker) Next() (Chunk, error) {
	if !c.started {
		c.start()
	}
	for {
		if len(c.buf) == 0 {
			if c.err != nil {
				return Chunk{}, fmt.Errorf("read: %w", c.err)
			}
			if c.eof {
				return Chunk{}, io.EOF
			}
			c.fill(chunkSize)
			continue
		}
		cut := lastBoundary(c.buf, c.Term)
		if cut < 0 && c.eof {
			cut = len(c.buf) // the last record, without a terminator
		}
		if cut > 0 {
			data := c.buf[:cut]
			c.buf = c.buf[cut:]
			return Chunk{Data: data}, nil
		}
		if len(c.buf) >= c.maxRecord {
			return c.skipRecord()
		}
		c.fill(len(c.buf) + chunkSize)
	}
}

// lastBoundary returns the index just past the last record terminator in b,
// or -1. The parity of quotes from b's start decides whether a terminator
// ends a record.
func lastBoundary(b []byte, term byte) int {
	quotes := bytes.Count(b, []byte{'"'})
	end := len(b)
	for {
		i := bytes.LastIndexByte(b[:end], term)
		if i < 0 {
			return -1
		}
		quotes -= bytes.Count(b[i:end], []byte{'"'})
		if quotes%2 == 0 {
			return i + 1
		}
		end = i
	}
}

// skipRecord discards a record too large to hold, counting its lines.
func (c *Chunker) skipRecord() (Chunk, error) {
	quotes, lines := 0, 0
	for {
		for i, ch := range c.buf {
			switch ch {
			case '"':
				quotes++
			case c.Term:
				if quotes%2 == 0 {
					c.buf = c.buf[i+1:]
					return Chunk{Oversized: true, Lines: lines + 1}, nil
				}
				lines++
			}
		}
		c.buf = c.buf[:0]
		if c.eof {
			if c.err != nil {
				return Chunk{}, fmt.Errorf("read: %w", c.err)
			}
			return Chunk{Oversized: true, Unclosed: quotes%2 == 1, Lines: lines + 1}, nil
		}
		c.fill(chunkSize)
	}
}

// SplitRecord returns the record starting at data[pos:], without its
// terminator (and without a CR before an LF terminator), the position after
// it, and how many terminators it spans inside quotes.
func SplitRecord(data []byte, pos int, term byte) (rec []byte, next int, innerLines int) {
	p := pos
	quotes := 0
	for {
		j := bytes.IndexByte(data[p:], term)
		if j < 0 {
			rec = data[pos:]
			next = len(data)
			if innerLines > 0 && rec[len(rec)-1] == term {
				// The file ended inside quotes; its final terminator is not data.
				rec = rec[:len(rec)-1]
				innerLines--
			}
			break
		}
		quotes += bytes.Count(data[p:p+j], []byte{'"'})
		p += j
		if quotes%2 == 0 {
			rec = data[pos:p]
			next = p + 1
			break
		}
		innerLines++
		p++
	}
	if term == '\n' && len(rec) > 0 && rec[len(rec)-1] == '\r' {
		rec = rec[:len(rec)-1]
	}
	return rec, next, innerLines
}

// OversizeError says why a record is too large: a quote that is never
// closed, or simply too much data.
func OversizeError(rec []byte) error {
	if bytes.Count(rec, []byte{'"'})%2 == 1 {
		return ErrQuoteNotClosed
	}
	return ErrRecordTooLarge
}

// ParseFields splits one record into fields, unquoting them. Fields alias rec
// unless unescaping was needed, in which case they alias scratch (returned
// grown). The error is one of the syntax errors above, with the field index.
func ParseFields(rec []byte, dst [][]byte, scratch []byte, maxFields int) ([][]byte, []byte, int, error) {
	dst = dst[:0]
	scratch = scratch[:0]
	if maxFields <= 0 {
		maxFields = DefaultMaxFields
	}
	if bytes.IndexByte(rec, '"') < 0 {
		for {
			if len(dst) >= maxFields {
				return dst, scratch, len(dst), ErrTooManyFields
			}
			i := bytes.IndexByte(rec, ',')
			if i < 0 {
				dst = append(dst, rec)
				return dst, scratch, -1, nil
			}
			dst = append(dst, rec[:i])
			rec = rec[i+1:]
		}
	}
	var firstErr error
	errField := -1
	note := func(err error) {
		if firstErr == nil {
			firstErr, errField = err, len(dst)
		}
	}
	for {
		if len(dst) >= maxFields {
			return dst, scratch, len(dst), ErrTooManyFields
		}
		if len(rec) == 0 || rec[0] != '"' {
			i := bytes.IndexByte(rec, ',')
			field := rec
			if i >= 0 {
				field = rec[:i]
			}
			if bytes.IndexByte(field, '"') >= 0 {
				note(ErrBareQuote)
			}
			dst = append(dst, field)
			if i < 0 {
				return dst, scratch, errField, firstErr
			}
			rec = rec[i+1:]
			continue
		}
		// Quoted field.
		rec = rec[1:]
		start := len(scratch)
		escaped := false
		var field []byte
		closed := false
		for {
			i := bytes.IndexByte(rec, '"')
			if i < 0 {
				break
			}
			if i+1 < len(rec) && rec[i+1] == '"' {
				if !escaped {
					escaped = true
				}
				scratch = append(scratch, rec[:i+1]...)
				rec = rec[i+2:]
				continue
			}
			if escaped {
				scratch = append(scratch, rec[:i]...)
				field = scratch[start:len(scratch):len(scratch)]
			} else {
				field = rec[:i:i]
			}
			rec = rec[i+1:]
			closed = true
			break
		}
		if !closed {
			note(ErrQuoteNotClosed)
			if escaped {
				scratch = append(scratch, rec...)
				field = scratch[start:]
			} else {
				field = rec
			}
			dst = append(dst, field)
			return dst, scratch, errField, firstErr
		}
		dst = append(dst, field)
		if len(rec) == 0 {
			return dst, scratch, errField, firstErr
		}
		if rec[0] != ',' {
			note(ErrTextAfterQuote)
			i := bytes.IndexByte(rec, ',')
			if i < 0 {
				return dst, scratch, errField, firstErr
			}
			rec = rec[i:]
		}
		rec = rec[1:]
	}
}

// Record is one row of a file as read.
type Record struct {
	Row    int // spreadsheet row: the header is 1, blank lines count
	Line   int // the line where the record starts
	Fields []string
}

// RawRecord is a record whose fields alias the reader's buffers: valid
// until the next read. It lets a pass that only looks at values avoid
// making strings.
type RawRecord struct {
	Row    int
	Line   int
	Fields [][]byte
}

// Reader reads records from a CSV stream one at a time, like encoding/csv,
// but with spreadsheet rows, bounded memory and errors that do not stop the
// reading. Blank lines are skipped (they still take a row number).
type Reader struct {
	MaxFields int
	chunker   *Chunker
	data      []byte
	pos       int
	row, line int
	raw       RawRecord
	fields    [][]byte
	scratch   []byte
	joined    []byte
	// BlankRows lists the rows that were blank lines.
	BlankRows []int
}

// NewReader returns a Reader reading r.
func NewReader(r io.Reader) *Reader {
	return &Reader{chunker: NewChunker(r, 0), line: 1}
}

// BOM reports whether the stream began with a byte-order mark. CROnly
// reports whether its lines end in CR alone (Excel for Mac). Both are known
// after the first Read.
func (r *Reader) BOM() bool    { return r.chunker.BOM }
func (r *Reader) CROnly() bool { return r.chunker.Term == '\r' }

// Read returns the next record. A syntax problem comes back as a
// *ParseError together with the record as far as it could be read (nil for
// an oversized record); reading may continue. It returns io.EOF at the end.
// The record's fields are substrings of one string: one allocation a record.
func (r *Reader) Read() (*Record, error) {
	raw, err := r.ReadRaw()
	if raw == nil {
		return nil, err
	}
	r.joined = r.joined[:0]
	for _, f := range raw.Fields {
		r.joined = append(r.joined, f...)
	}
	all := string(r.joined)
	rec := &Record{Row: raw.Row, Line: raw.Line, Fields: make([]string, len(raw.Fields))}
	off := 0
	for i, f := range raw.Fields {
		rec.Fields[i] = all[off : off+len(f)]
		off += len(f)
	}
	return rec, err
}

// ReadRaw is Read without strings: the fields alias the reader's buffers
// and are valid until the next call.
func (r *Reader) ReadRaw() (*RawRecord, error) {
	for {
		if r.pos >= len(r.data) {
			ch, err := r.chunker.Next()
			if err != nil {
				return nil, err
			}
			if ch.Oversized {
				r.row++
				row, line := r.row, r.line
				r.line += ch.Lines
				perr := ErrRecordTooLarge
				if ch.Unclosed {
					perr = ErrQuoteNotClosed
				}
				return nil, &ParseError{Row: row, Line: line, Field: -1, Err: perr}
			}
			r.data, r.pos = ch.Data, 0
		}
		raw, next, inner := SplitRecord(r.data, r.pos, r.chunker.Term)
		r.pos = next
		r.row++
		row, line := r.row, r.line
		r.line += inner + 1
		if len(raw) == 0 {
			r.BlankRows = append(r.BlankRows, row)
			continue
		}
		if len(raw) > r.chunker.maxRecord {
			return nil, &ParseError{Row: row, Line: line, Field: -1, Err: OversizeError(raw)}
		}
		var field int
		var err error
		r.fields, r.scratch, field, err = ParseFields(raw, r.fields, r.scratch, r.MaxFields)
		r.raw = RawRecord{Row: row, Line: line, Fields: r.fields}
		if err == nil && bytes.IndexByte(raw, 0) >= 0 {
			err, field = ErrNUL, -1
		}
		if err != nil {
			return &r.raw, &ParseError{Row: row, Line: line, Field: field, Err: err}
		}
		return &r.raw, nil
	}
}
