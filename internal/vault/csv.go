package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/konduit/konduit/internal/legacy"
)

// Columns maps the import file columns a vault tokenizes to their kind.
var Columns = map[string]Kind{
	legacy.FCardNumber:       Card,
	legacy.FACHAccountNumber: ACH,
}

// Stats counts what a file pass did.
type Stats struct {
	Rows     int // data rows (the header excluded)
	Replaced int // values replaced (by a token, or by a number)
	New      int // tokens created by this pass
	Kept     int // values left as they were: already tokens, masked, unknown
}

// ValueError is a value the pass will not touch: it is neither empty, nor
// digits, nor a masked number. Value is masked (legacy.Mask).
type ValueError struct {
	Row    int
	Column string
	Value  string // masked
	Err    error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("row %d, column %s: value %s: %v", e.Row, e.Column, e.Value, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// ExitCode makes a bad value a data error (exit 1) in the CLI.
func (e *ValueError) ExitCode() int { return 1 }

// ErrNotDigits is a card or account value with characters other than
// digits or masking x and *.
var ErrNotDigits = errors.New("not digits only; remove spaces and dashes first")

// TokenizeCSV copies an import file from r to w, replacing the card and
// bank account numbers with tokens. It stops at the first row it cannot
// read or value it cannot tokenize, without writing that row. The caller
// must Save the vault before it publishes w.
func (v *Vault) TokenizeCSV(ctx context.Context, r io.Reader, w io.Writer) (Stats, error) {
	return v.mapCSV(ctx, r, w, func(kind Kind, val string) (string, bool, bool, error) {
		if !digits(val) {
			return val, false, false, nil
		}
		if v.IsToken(val) {
			return val, false, false, nil // tokenized before; a re-run keeps it
		}
		tok, created, err := v.Tokenize(kind, val)
		return tok, true, created, err
	})
}

// DetokenizeCSV copies an import file from r to w, replacing the vault's
// tokens with the numbers they stand for. Digits that are no token of this
// vault are left as they are (Kept).
func (v *Vault) DetokenizeCSV(ctx context.Context, r io.Reader, w io.Writer) (Stats, error) {
	if v.aead == nil {
		return Stats{}, ErrNoKey
	}
	return v.mapCSV(ctx, r, w, func(kind Kind, val string) (string, bool, bool, error) {
		if !digits(val) {
			return val, false, false, nil
		}
		num, _, ok, err := v.Detokenize(val)
		if err != nil || !ok {
			return val, false, false, err
		}
		return num, true, false, nil
	})
}

// mapCSV streams records from r to w, passing the values of the vault's
// columns through f (new value, replaced, created, error).
func (v *Vault) mapCSV(ctx context.Context, r io.Reader, w io.Writer, f func(Kind, string) (string, bool, bool, error)) (Stats, error) {
	var st Stats
	cr := legacy.NewReader(r)
	cw := legacy.NewWriter(w)
	cols := map[int]Kind{}
	var header []string
	for {
		if st.Rows%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The reader's errors carry positions only, never values.
			return st, fmt.Errorf("read: %w", err)
		}
		if header == nil {
			header = rec.Fields
			for i, h := range header {
				if k, ok := Columns[strings.TrimSpace(h)]; ok {
					cols[i] = k
				}
			}
			if err := cw.Write(rec.Fields); err != nil {
				return st, err
			}
			continue
		}
		st.Rows++
		for i, kind := range cols {
			if i >= len(rec.Fields) {
				continue
			}
			val := rec.Fields[i]
			if val == "" || masked(val) {
				continue
			}
			nv, replaced, created, err := f(kind, val)
			if err == nil && nv == val && !replaced && !digits(val) {
				err = ErrNotDigits
			}
			if err != nil {
				return st, &ValueError{Row: rec.Row, Column: header[i], Value: legacy.Mask(val), Err: err}
			}
			rec.Fields[i] = nv
			if replaced {
				st.Replaced++
			} else {
				st.Kept++
			}
			if created {
				st.New++
			}
		}
		if err := cw.Write(rec.Fields); err != nil {
			return st, err
		}
	}
	if header == nil {
		return st, errors.New("read: the file is empty (no header row)")
	}
	return st, cw.Flush()
}

// masked reports whether s is a masked number: digits and at least one x,
// X or *, with no more than ten digits showing (first six and last four, as
// PCI DSS allows). The seed allows masked cardNumber values next to an
// externalToken. A value that masks less is not masked: it is refused.
func masked(s string) bool {
	mask, digits := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'x' || c == 'X' || c == '*':
			mask = true
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	return mask && digits <= 10
}
