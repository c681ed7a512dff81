package legacy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/konduit/konduit/internal/exitcode"
)

// Input is one legacy file to read: its name, as findings and errors show
// it, and how to open it (Open may be called more than once).
type Input struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// FileInputs turns paths into Inputs named by their paths.
func FileInputs(paths []string) []Input {
	in := make([]Input, len(paths))
	for i, p := range paths {
		in[i] = Input{Name: p, Open: func() (io.ReadCloser, error) { return os.Open(p) }}
	}
	return in
}

var (
	errEmpty  = errors.New("the file is empty")
	errNoKind = errors.New("the header is not that of a transactions, notes or details file")
)

// DataError is a problem in a file's data, at a spreadsheet row (the
// header is row 1), that stops a command reading it: a syntax error, a row
// with the wrong number of fields, a file of no known kind. The command
// line exits 1 for it.
type DataError struct {
	File string
	Row  int
	Err  error
}

func (e *DataError) Error() string {
	return fmt.Sprintf("%s row %d: %v (run konduit validate, then konduit fix)", e.File, e.Row, e.Err)
}
func (e *DataError) Unwrap() error { return e.Err }

// ExitCode: the data is at fault (status 1).
func (e *DataError) ExitCode() int { return exitcode.DataErrors }

// File is an opened legacy file: what its header says, and its data rows.
// Open reads the header: a byte-order mark is stripped, a file separated by
// ';' or a tab (its header one cell holding the names joined by it) is read
// through NewCommaReader, the kind is detected and the columns mapped. Every
// package that reads a legacy file opens it here, so they all read it the
// same way.
type File struct {
	Name string
	// Kind is the file's kind, 0 when the header names no kind's columns.
	Kind Kind
	// Header is the header's names as the file writes them; Columns maps
	// them, spaces trimmed, to their positions.
	Header  []string
	Columns Columns
	// HeaderRow is the header's spreadsheet row (blank lines before it
	// count; 1 in a tidy file, 0 when the file is empty). DataLine is the
	// line where the record after the header starts.
	HeaderRow int
	DataLine  int
	// Empty: the file holds no byte (but a byte-order mark).
	Empty bool
	// HeaderOversized: the first record is larger than the record limit
	// (an unclosed quote, or not a CSV file at all); Header is empty.
	HeaderOversized bool
	// Delim is ';' or '\t' for a file separated by it (read as CSV), 0 for
	// a comma-separated one.
	Delim byte
	// BOM: the file starts with a byte-order mark. CROnly: its lines end in
	// CR alone (Excel for Mac).
	BOM, CROnly bool
	// HeaderErr is a syntax problem in the header record (a *ParseError),
	// or nil; Header holds the names as far as they could be read.
	HeaderErr error
	// Start is the file's first bytes (at most 4 KiB, after the BOM), for a
	// caller judging whether it is text at all.
	Start []byte

	closer  io.Closer
	chunker *Chunker
	rest    []byte // the first chunk after the header
	blank   []int  // blank rows before the header
	r       *Reader
}

// Open opens in and reads its header (OpenMax with the default record
// limit).
func Open(ctx context.Context, in Input) (*File, error) { return OpenMax(ctx, in, 0) }

// OpenMax is Open with a record limit (<= 0: DefaultMaxRecordBytes). Close
// the file when done.
func OpenMax(ctx context.Context, in Input, maxRecord int) (*File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc, err := in.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", in.Name, err)
	}
	f, err := NewFile(ctx, in.Name, rc, maxRecord)
	if err != nil {
		rc.Close()
		return nil, err
	}
	f.closer = rc
	return f, nil
}

// NewFile reads the header of the legacy file r holds (a stream: it is read
// once). Closing the File does not close r.
func NewFile(ctx context.Context, name string, r io.Reader, maxRecord int) (*File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The first chunk holds the header of any file fit to read; look at it
	// before deciding how to read the file.
	peek := make([]byte, chunkSize)
	n, err := io.ReadFull(r, peek)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	peek = peek[:n]
	f := &File{Name: name}
	var src io.Reader = io.MultiReader(bytes.NewReader(peek), r)
	pc := NewChunker(bytes.NewReader(peek), maxRecord)
	if ch, err := pc.Next(); err == nil && !ch.Oversized {
		if h := header(ch.Data, pc.Term, nil); h.rec != nil {
			if d := HeaderDelimiter(h.rec); d != 0 {
				f.Delim = d
				src = NewCommaReader(src, d)
			}
		}
	}
	f.chunker = NewChunker(src, maxRecord)
	ch, err := f.chunker.Next()
	if err == io.EOF {
		f.Empty, f.BOM = true, f.chunker.BOM
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	f.BOM, f.CROnly = f.chunker.BOM, f.chunker.Term == '\r'
	if ch.Oversized {
		f.HeaderOversized, f.HeaderRow, f.DataLine = true, 1, 1+ch.Lines
	} else {
		f.Start = ch.Data[:min(len(ch.Data), 4096)]
		h := header(ch.Data, f.chunker.Term, &f.blank)
		fields, pos := h.fields, h.pos
		f.HeaderRow, f.DataLine = h.row, h.nextLine
		if h.err != nil {
			f.HeaderErr = &ParseError{Row: h.row, Line: h.line, Field: h.field, Err: h.err}
		}
		f.rest = ch.Data[pos:]
		f.Header = make([]string, len(fields))
		trimmed := make([]string, len(fields))
		for i, h := range fields {
			f.Header[i] = string(h)
			trimmed[i] = strings.TrimSpace(f.Header[i])
		}
		f.Columns = NewColumns(trimmed)
		f.Kind = DetectKind(f.Header)
	}
	return f, nil
}

// headerRecord is the first record of a file that is not blank.
type headerRecord struct {
	fields        [][]byte // parsed as far as they go
	rec           []byte   // as the file holds it; nil when there is none
	row, line     int      // where it starts
	nextLine, pos int      // the line and the position after it
	field         int      // the field of a syntax error
	err           error    // a syntax error, or nil
}

// header finds the first record of data that is not blank. Blank rows
// before it are added to blank.
func header(data []byte, term byte, blank *[]int) headerRecord {
	h := headerRecord{nextLine: 1}
	for h.pos < len(data) {
		r, next, inner := SplitRecord(data, h.pos, term)
		h.pos = next
		h.row++
		h.line = h.nextLine
		h.nextLine += inner + 1
		if len(r) > 0 {
			h.rec = r
			h.fields, _, h.field, h.err = ParseFields(r, nil, nil, DefaultMaxFields)
			if h.err == nil && bytes.IndexByte(r, 0) >= 0 {
				h.err, h.field = ErrNUL, -1
			}
			return h
		}
		if blank != nil {
			*blank = append(*blank, h.row)
		}
	}
	return h
}

// Chunks hands the file's data to a caller that parses it in parallel
// (check): the chunker and what is left of its first chunk after the
// header. Records are numbered on from HeaderRow and DataLine. A File read
// through Chunks is not read with Read.
func (f *File) Chunks() (*Chunker, []byte) { return f.chunker, f.rest }

func (f *File) reader() *Reader {
	if f.r == nil {
		f.r = &Reader{chunker: f.chunker, data: f.rest, row: f.HeaderRow, line: f.DataLine}
	}
	return f.r
}

// Read returns the next data row, as Reader.Read does: a syntax problem is
// a *ParseError with the row, and reading may go on; io.EOF at the end.
func (f *File) Read() (*Record, error) {
	if f.Empty {
		return nil, io.EOF
	}
	return f.reader().Read()
}

// ReadRaw is Read without strings (Reader.ReadRaw).
func (f *File) ReadRaw() (*RawRecord, error) {
	if f.Empty {
		return nil, io.EOF
	}
	return f.reader().ReadRaw()
}

// BlankRows lists the rows that were blank lines: before the header, and
// among the data rows read so far.
func (f *File) BlankRows() []int {
	if f.r == nil {
		return f.blank
	}
	return append(append([]int(nil), f.blank...), f.r.BlankRows...)
}

// Size is the file's size in bytes when it is a regular file, else -1.
func (f *File) Size() int64 {
	if of, ok := f.closer.(*os.File); ok {
		if st, err := of.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}

// Close closes what Open opened.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// DataErrorOf turns a reading error into a *DataError at its row when it is
// a syntax problem (*ParseError), and wraps any other with the file's name.
func (f *File) DataErrorOf(err error) error {
	var perr *ParseError
	if errors.As(err, &perr) {
		return &DataError{File: f.Name, Row: perr.Row, Err: perr.Err}
	}
	return fmt.Errorf("read %s: %w", f.Name, err)
}

// CheckHeader says, as a *DataError, why a file cannot be read as the kinds
// want: empty, or of no known kind (or of another kind when want is not 0).
func (f *File) CheckHeader(want Kind) error {
	switch {
	case f.Empty:
		return &DataError{File: f.Name, Row: 1, Err: errEmpty}
	case f.Kind == 0:
		return &DataError{File: f.Name, Row: max(f.HeaderRow, 1), Err: errNoKind}
	case want != 0 && f.Kind != want:
		return &DataError{File: f.Name, Row: f.HeaderRow, Err: fmt.Errorf("the header is that of a %s file, not a %s file", f.Kind, want)}
	}
	return nil
}
