package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/legacy"
)

// Columns maps the import file columns a vault treats by name to their
// kind: every value is a number, tokenized whole.
var Columns = map[string]Kind{
	legacy.FCardNumber:       Card,
	legacy.FACHAccountNumber: ACH,
}

// CSVOptions choose the columns a file pass treats as numbers by name.
type CSVOptions struct {
	// Columns names more columns (header names) holding card numbers, like
	// cardNumber: each value must be empty, masked, a token or digits only
	// (4 to 19), and is tokenized whole even when it fails the Luhn check.
	// A named column missing from the header is an error.
	Columns []string
}

// Stats counts what a file pass did.
type Stats struct {
	Rows     int // data rows (the header excluded)
	Replaced int // numbers replaced (by a token, or by a number)
	New      int // tokens created by this pass
	Kept     int // values of named columns left as they were: already tokens, unknown digits
	// Columns are the columns named by the pass and those where numbers
	// were replaced, in header order.
	Columns []ColumnStats
}

// ColumnStats is what a pass did in one column.
type ColumnStats struct {
	Name     string
	Named    bool // cardNumber, achAccountNumber or CSVOptions.Columns
	Replaced int
	// NotLuhn counts the values of an unnamed column that are 13 to 19
	// digits (spaces and dashes allowed) failing the Luhn check: no card
	// number, so kept as they are. Name the column to tokenize them too.
	NotLuhn int
}

// ValueError is a value the pass cannot process: in a named column, a
// value neither empty, nor digits, nor masked; elsewhere, a card-like run
// that cannot be tokenized. Value is masked: last four at most.
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
func (e *ValueError) ExitCode() int { return exitcode.DataErrors }

// RefusedError lists the values a pass could not process. The pass wrote
// nothing from the first of them on: its output must not be published.
type RefusedError struct {
	Reverse  bool          // a detokenize pass
	Problems []*ValueError // the first maxProblems, in file order
	Count    int
}

// maxProblems caps the values a RefusedError lists.
const maxProblems = 10

func (e *RefusedError) Error() string {
	var b strings.Builder
	verb := "tokenized"
	if e.Reverse {
		verb = "restored"
	}
	fmt.Fprintf(&b, "%d value(s) cannot be %s, so no output is written:", e.Count, verb)
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.Error())
	}
	if e.Count > len(e.Problems) {
		fmt.Fprintf(&b, "\n  and %d more", e.Count-len(e.Problems))
	}
	return b.String()
}

// Unwrap gives errors.As the listed ValueErrors.
func (e *RefusedError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// ExitCode makes a refusal a data error (exit 1) in the CLI.
func (e *RefusedError) ExitCode() int { return exitcode.DataErrors }

// errCardLeft is a card number a tokenize pass would have written: the
// scanner and cardnum.HasCard disagree, which is a bug.
var errCardLeft = errors.New("a card number would be left in the output (a bug in konduit: please report it)")

// ErrNotDigits is a value of a named column with characters other than
// digits or masking x and *.
var ErrNotDigits = errors.New("not digits only; remove spaces and dashes first")

// TokenizeCSV copies a CSV file from r to w, replacing every card and bank
// account number with a token; see TokenizeCSVWith.
func (v *Vault) TokenizeCSV(ctx context.Context, r io.Reader, w io.Writer) (Stats, error) {
	return v.TokenizeCSVWith(ctx, r, w, CSVOptions{})
}

// TokenizeCSVWith copies any CSV file from r to w, replacing card and bank
// account numbers with tokens:
//
//   - in the named columns (cardNumber, achAccountNumber, opts.Columns),
//     every value that is digits only, whole;
//   - in every other cell, the header included, every card-number run
//     (13 to 19 digits, whole groups joined by single spaces or dashes,
//     passing the Luhn check), digit for digit, the text around it kept.
//
// So the output holds no Luhn-valid run, whatever the columns are called.
// A value it cannot process (a named column's value with other
// characters, a run it cannot tokenize) makes it return a *RefusedError
// listing them; it writes nothing from the first of them on, but reads on
// to list the others. The caller must Save the vault before it publishes w.
func (v *Vault) TokenizeCSVWith(ctx context.Context, r io.Reader, w io.Writer, opts CSVOptions) (Stats, error) {
	return v.mapCSV(ctx, r, w, opts, false, true)
}

// DetokenizeCSV copies an import file from r to w, replacing the vault's
// tokens in cardNumber and achAccountNumber with the numbers they stand
// for. Digits that are no token of this vault are left as they are (Kept).
// Tokens elsewhere stay: a number found in a note or another column is not
// needed where the file goes (konduit package); RestoreCSV restores them.
func (v *Vault) DetokenizeCSV(ctx context.Context, r io.Reader, w io.Writer) (Stats, error) {
	return v.mapCSV(ctx, r, w, CSVOptions{}, true, false)
}

// RestoreCSV reverses TokenizeCSVWith (given the same opts): the tokens of
// the named columns, and those found as runs (13 to 19 digits) in every
// other cell, are replaced by their numbers.
func (v *Vault) RestoreCSV(ctx context.Context, r io.Reader, w io.Writer, opts CSVOptions) (Stats, error) {
	return v.mapCSV(ctx, r, w, opts, true, true)
}

// csvPass is one file pass.
type csvPass struct {
	v       *Vault
	reverse bool
	text    bool // runs in unnamed cells too
	named   map[int]Kind
	cols    []ColumnStats
	st      Stats
	sc      scanner
	refused RefusedError
}

func (p *csvPass) col(i int) *ColumnStats {
	for len(p.cols) <= i {
		p.cols = append(p.cols, ColumnStats{Name: fmt.Sprintf("column %d", len(p.cols)+1)})
	}
	return &p.cols[i]
}

func (p *csvPass) problem(row, i int, value string, err error) {
	p.refused.Count++
	if len(p.refused.Problems) < maxProblems {
		p.refused.Problems = append(p.refused.Problems, &ValueError{Row: row, Column: p.col(i).Name, Value: value, Err: err})
	}
}

// mapCSV streams records from r to w.
func (v *Vault) mapCSV(ctx context.Context, r io.Reader, w io.Writer, opts CSVOptions, reverse, text bool) (Stats, error) {
	if v.aead == nil {
		return Stats{}, ErrNoKey
	}
	p := &csvPass{v: v, reverse: reverse, text: text, named: map[int]Kind{}}
	p.refused.Reverse = reverse
	cr := legacy.NewReader(r)
	cw := legacy.NewWriter(w)
	header := true
	for rows := 0; ; rows++ {
		if rows%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return p.st, err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The reader's errors carry positions only, never values.
			return p.st, fmt.Errorf("read: %w", err)
		}
		if header {
			header = false
			if err := p.header(rec, opts); err != nil {
				return p.st, err
			}
		} else {
			p.st.Rows++
			for i, val := range rec.Fields {
				rec.Fields[i] = p.cell(rec.Row, i, val)
			}
		}
		if !reverse && p.refused.Count == 0 {
			// The backstop: the project's one definition of a card
			// number in text (cardnum.HasCard) checks every cell written.
			for i, f := range rec.Fields {
				if cardnum.HasCard(f) {
					p.problem(rec.Row, i, cardnum.MaskText(f), errCardLeft)
				}
			}
		}
		if p.refused.Count == 0 {
			if err := cw.Write(rec.Fields); err != nil {
				return p.st, err
			}
		}
	}
	if header {
		return p.st, errors.New("read: the file is empty (no header row)")
	}
	for _, c := range p.cols {
		if c.Named || c.Replaced > 0 {
			p.st.Columns = append(p.st.Columns, c)
		}
	}
	if p.refused.Count > 0 {
		return p.st, &p.refused
	}
	return p.st, cw.Flush()
}

// header processes the header row: its cells are text (a file without a
// header has card numbers there), and its names choose the named columns.
func (p *csvPass) header(rec *legacy.Record, opts CSVOptions) error {
	for i, h := range rec.Fields {
		name := strings.TrimSpace(h)
		c := p.col(i)
		c.Name = name
		if k, ok := Columns[name]; ok {
			p.named[i], c.Named = k, true
		}
		for _, n := range opts.Columns {
			if strings.TrimSpace(n) == name {
				p.named[i], c.Named = Card, true
			}
		}
	}
	for _, n := range opts.Columns {
		found := false
		for _, h := range rec.Fields {
			found = found || strings.TrimSpace(n) == strings.TrimSpace(h)
		}
		if !found {
			return fmt.Errorf("no column %q in the header", strings.TrimSpace(n))
		}
	}
	for i, h := range rec.Fields {
		if _, named := p.named[i]; named {
			continue
		}
		out := p.cell(rec.Row, i, h)
		// Messages name columns as the tokenized side of the file has
		// them, and never show a card number (a header it failed on).
		name := out
		if p.reverse {
			name = h
		}
		p.col(i).Name = cardnum.MaskText(strings.TrimSpace(name))
		rec.Fields[i] = out
	}
	return nil
}

// cell returns what a cell becomes.
func (p *csvPass) cell(row, i int, val string) string {
	if kind, ok := p.named[i]; ok {
		return p.namedCell(row, i, kind, val)
	}
	if !p.text {
		return val
	}
	c := p.col(i)
	if p.reverse {
		out, n, err := p.v.restoreText(&p.sc, val)
		if err != nil {
			p.problem(row, i, err.(*textError).value, errors.Unwrap(err))
			return val
		}
		c.Replaced += n
		p.st.Replaced += n
		return out
	}
	out, n, created, err := p.v.tokenizeText(&p.sc, val)
	if err != nil {
		te := err.(*textError)
		p.problem(row, i, te.value, te.err)
		return val
	}
	if n == 0 {
		if d, ok := cardShaped(val); ok && !p.v.IsToken(d) {
			c.NotLuhn++
		}
		return val
	}
	c.Replaced += n
	p.st.Replaced += n
	p.st.New += created
	return out
}

// namedCell processes a value of a named column: the whole value is a
// number (or a token, when restoring).
func (p *csvPass) namedCell(row, i int, kind Kind, val string) string {
	if val == "" || masked(val) {
		return val
	}
	if !digits(val) {
		p.problem(row, i, legacy.Mask(val), ErrNotDigits)
		return val
	}
	c := p.col(i)
	if p.reverse {
		num, _, ok, err := p.v.Detokenize(val)
		switch {
		case err != nil:
			p.problem(row, i, legacy.Mask(val), err)
			return val
		case !ok:
			p.st.Kept++
			return val
		}
		c.Replaced++
		p.st.Replaced++
		return num
	}
	if p.v.IsToken(val) {
		p.st.Kept++ // tokenized before; a re-run keeps it
		return val
	}
	tok, created, err := p.v.Tokenize(kind, val)
	if err != nil {
		p.problem(row, i, legacy.Mask(val), err)
		return val
	}
	c.Replaced++
	p.st.Replaced++
	if created {
		p.st.New++
	}
	return tok
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
