package legacy

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Writer writes import files the way legacy-import.md asks: every cell
// quoted, UTF-8 without a byte-order mark, "\n" line endings unless CRLF is
// set. It writes the fields it is given in the order given; use a Spec's
// Header and canonical order to write canonical files.
type Writer struct {
	CRLF bool
	w    *bufio.Writer
	rows int
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write writes one record.
func (w *Writer) Write(fields []string) error {
	for i, f := range fields {
		if i > 0 {
			w.w.WriteByte(',')
		}
		w.w.WriteByte('"')
		if strings.IndexByte(f, '"') < 0 {
			w.w.WriteString(f)
		} else {
			for j := 0; j < len(f); j++ {
				if f[j] == '"' {
					w.w.WriteByte('"')
				}
				w.w.WriteByte(f[j])
			}
		}
		w.w.WriteByte('"')
	}
	if w.CRLF {
		w.w.WriteByte('\r')
	}
	if err := w.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("write row %d: %w", w.rows+1, err)
	}
	w.rows++
	return nil
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}
