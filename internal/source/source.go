// Package source opens merchant exports for streaming: .csv (also .tsv and
// .txt), .csv.gz and .zip archives read in place with limits. It sniffs the
// encoding (UTF-8 with or without a byte-order mark, UTF-16 with a mark,
// Windows-1252) and the delimiter (comma, semicolon, tab), reads the header
// row, and drops CVV-like columns on read: their names are counted, their
// values are never kept.
package source

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits bound what an archive may make us read.
type Limits struct {
	MaxEntries   int   // entries in a zip's central directory
	MaxEntrySize int64 // uncompressed bytes of one entry (zip or gzip)
	MaxRatio     int64 // uncompressed/compressed bytes of one entry
}

// DefaultLimits suit processor exports: a few files of at most 4 GiB each.
var DefaultLimits = Limits{MaxEntries: 1000, MaxEntrySize: 4 << 30, MaxRatio: 200}

// ratioFloor is the size below which the ratio limit does not apply: a tiny
// file of repeated commas compresses well and is harmless.
const ratioFloor = 1 << 20

// ErrLimit is wrapped by every limit violation.
var ErrLimit = errors.New("archive limit exceeded")

// Table is one delimited text inside a source file: the file itself, or one
// entry of a zip archive.
type Table struct {
	File  string // the path as given
	Entry string // the zip entry name; "" for a plain or gzip file
	open  func() (io.ReadCloser, error)
}

// Name is "file" or "file:entry", for messages.
func (t Table) Name() string {
	if t.Entry == "" {
		return t.File
	}
	return t.File + ":" + t.Entry
}

// Base is the base name of the entry or file (without .gz), for matching.
func (t Table) Base() string {
	n := t.File
	if t.Entry != "" {
		n = t.Entry
	}
	return strings.TrimSuffix(path.Base(filepath.ToSlash(n)), ".gz")
}

// Open returns the table's raw bytes (decompressed, not yet decoded).
func (t Table) Open() (io.ReadCloser, error) { return t.open() }

// Archive is an opened source file; Close releases it.
type Archive struct {
	Tables []Table
	closer io.Closer
}

// Close releases the file behind the tables.
func (a *Archive) Close() error {
	if a.closer == nil {
		return nil
	}
	return a.closer.Close()
}

func isTableName(name string) bool {
	n := strings.ToLower(name)
	n = strings.TrimSuffix(n, ".gz")
	return strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".tsv") || strings.HasSuffix(n, ".txt")
}

// Open lists the tables in the file at p. A .zip yields one table per
// .csv/.tsv/.txt entry; every entry is checked against lim and for a path
// that escapes, whether it is a table or not.
func Open(ctx context.Context, p string, lim Limits) (*Archive, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lower := strings.ToLower(p)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		return openZip(p, lim)
	case strings.HasSuffix(lower, ".gz"):
		if !isTableName(lower) {
			return nil, fmt.Errorf("open %s: a .gz source must hold a .csv (name it x.csv.gz)", p)
		}
		t := Table{File: p, open: func() (io.ReadCloser, error) { return openGzip(p, lim) }}
		return &Archive{Tables: []Table{t}}, nil
	case isTableName(lower):
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
		t := Table{File: p, open: func() (io.ReadCloser, error) { return os.Open(p) }}
		return &Archive{Tables: []Table{t}}, nil
	}
	return nil, fmt.Errorf("open %s: not a .csv, .csv.gz or .zip file", p)
}

type gzFile struct {
	io.Reader
	gz *gzip.Reader
	f  *os.File
}

func (g *gzFile) Close() error {
	g.gz.Close()
	return g.f.Close()
}

func openGzip(p string, lim Limits) (io.ReadCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	cr := &countReader{r: f}
	gz, err := gzip.NewReader(cr)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: gzip: %w", p, err)
	}
	lr := &limitReader{r: gz, name: p, max: lim.MaxEntrySize, ratio: lim.MaxRatio, compressed: func() int64 { return cr.n }}
	return &gzFile{Reader: lr, gz: gz, f: f}, nil
}

func openZip(p string, lim Limits) (*Archive, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	fail := func(err error) (*Archive, error) {
		zr.Close()
		return nil, err
	}
	if lim.MaxEntries > 0 && len(zr.File) > lim.MaxEntries {
		return fail(fmt.Errorf("open %s: %d entries, at most %d allowed: %w", p, len(zr.File), lim.MaxEntries, ErrLimit))
	}
	a := &Archive{closer: zr}
	for _, zf := range zr.File {
		name := zf.Name
		if !localName(name) {
			return fail(fmt.Errorf("open %s: entry %q escapes the archive: %w", p, name, ErrLimit))
		}
		if zf.FileInfo().IsDir() {
			continue
		}
		if lim.MaxEntrySize > 0 && zf.UncompressedSize64 > uint64(lim.MaxEntrySize) {
			return fail(fmt.Errorf("open %s: entry %q is %d bytes, at most %d allowed: %w", p, name, zf.UncompressedSize64, lim.MaxEntrySize, ErrLimit))
		}
		if lim.MaxRatio > 0 && zf.UncompressedSize64 > ratioFloor && zf.UncompressedSize64 > zf.CompressedSize64*uint64(lim.MaxRatio) {
			return fail(fmt.Errorf("open %s: entry %q compresses %d:1, at most %d:1 allowed: %w", p, name, zf.UncompressedSize64/max(zf.CompressedSize64, 1), lim.MaxRatio, ErrLimit))
		}
		base := path.Base(name)
		if strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(base, "._") || !isTableName(base) {
			continue
		}
		if strings.HasSuffix(strings.ToLower(base), ".gz") {
			return fail(fmt.Errorf("open %s: entry %q: gzip inside zip is not supported", p, name))
		}
		zf := zf
		a.Tables = append(a.Tables, Table{File: p, Entry: name, open: func() (io.ReadCloser, error) {
			rc, err := zf.Open()
			if err != nil {
				return nil, fmt.Errorf("open %s:%s: %w", p, zf.Name, err)
			}
			// The declared sizes were checked above; this guards against
			// entries that lie about them.
			lr := &limitReader{r: rc, name: p + ":" + zf.Name, max: lim.MaxEntrySize, ratio: lim.MaxRatio,
				compressed: func() int64 { return int64(zf.CompressedSize64) }}
			return struct {
				io.Reader
				io.Closer
			}{lr, rc}, nil
		}})
	}
	if len(a.Tables) == 0 {
		return fail(fmt.Errorf("open %s: no .csv entry in the archive", p))
	}
	return a, nil
}

// localName reports whether a zip entry name stays inside the archive root.
func localName(name string) bool {
	if name == "" || strings.ContainsRune(name, '\\') || strings.ContainsRune(name, 0) {
		return false
	}
	if len(name) >= 2 && name[1] == ':' {
		return false // a Windows drive letter
	}
	return filepath.IsLocal(strings.TrimSuffix(name, "/"))
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitReader fails once more than max bytes come out, or once the output
// exceeds ratio times the compressed input (past ratioFloor).
type limitReader struct {
	r          io.Reader
	name       string
	max, ratio int64
	n          int64
	compressed func() int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.max > 0 && l.n > l.max {
		return n, fmt.Errorf("read %s: more than %d bytes uncompressed: %w", l.name, l.max, ErrLimit)
	}
	if l.ratio > 0 && l.n > ratioFloor {
		if c := l.compressed(); c > 0 && l.n > c*l.ratio {
			return n, fmt.Errorf("read %s: compression ratio above %d:1: %w", l.name, l.ratio, ErrLimit)
		}
	}
	return n, err
}
