// Package fix repairs what legacy-import.md marks fixable in Konnektive
// legacy import files, and nothing that would need a guess: it transcodes
// Windows-1252 to UTF-8, strips a byte-order mark, reads CR-only line
// endings and files separated by semicolons or tabs, skips blank lines,
// adds missing columns and writes the canonical column order, and
// normalises values (country names, currency amounts, booleans, dates and
// times, enum case, phone punctuation, card expiry, state names, ZIP codes)
// that fail their column's check. A value a spreadsheet rewrote (scientific
// notation, an identifier ending in .0) is left alone: its digits are lost.
// Every change is reported to a ChangeLog. Fixing a fixed file changes
// nothing.
//
// Each file is read twice, streaming both times: the first pass decides the
// file's encoding and, for each date column, whether its slashed dates are
// month-first or day-first; the second pass writes the canonical file.
// Memory does not grow with the file.
package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/geo"
	"github.com/konduit/konduit/internal/legacy"
)

// Options tune a fix.
type Options struct {
	// DateOrder decides slashed dates of a column whose values fit both
	// orders (every day part is 12 or less). OrderUnknown leaves such a
	// column as it is, and reports it.
	DateOrder Order
	// Fill gives a value for empty cells of a column where the row requires
	// one (the FAQ's phoneNumber=1111111111), by column name.
	Fill map[string]string
	// CRLF writes "\r\n" line endings (default "\n").
	CRLF bool
}

// Change is one repaired cell (or, with Row 1 and no Field, the file).
type Change struct {
	File   string `json:"file"`
	Row    int    `json:"row"`    // the input's spreadsheet row: header = 1
	Column string `json:"column"` // the seed's letter; "" for the file
	Field  string `json:"field"`
	Rule   string `json:"rule"` // the check rule id the change repairs
	Before string `json:"before"`
	After  string `json:"after"`
}

// ChangeLog receives every change, in file and row order.
type ChangeLog interface {
	Add(Change) error
}

// Unresolved is a column fix left as it was because repairing it would need
// a guess.
type Unresolved struct {
	File   string `json:"file"`
	Column string `json:"column"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// FileResult is the outcome of fixing one file.
type FileResult struct {
	Input      string         `json:"input"`
	Output     string         `json:"output,omitempty"`
	Kind       string         `json:"kind"`
	Rows       int            `json:"rows"`    // data rows written
	Changes    map[string]int `json:"changes"` // by rule id
	Unresolved []Unresolved   `json:"unresolved,omitempty"`
}

// BlockedError says a file has a problem fix cannot repair without losing
// or inventing data (a CSV syntax error, a row with the wrong number of
// fields, an unknown or repeated column, no recognisable header). Nothing
// is written for such a file.
type BlockedError struct {
	File   string
	Row    int
	Rule   string
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("%s row %d: %s (%s): konduit fix cannot repair this", e.File, e.Row, e.Reason, e.Rule)
}

// ExitCode makes a blocked file a data problem (status 1).
func (e *BlockedError) ExitCode() int { return exitcode.DataErrors }

// dateCol is what the first pass learns about a date or datetime column.
type dateCol struct {
	slashed     int  // values in A/B/YYYY form
	firstOver12 bool // some A > 12: day-first
	secondOver  bool // some B > 12: month-first
}

// plan is the outcome of the first pass.
type plan struct {
	delim     byte // the file is separated by ';' or a tab: read through legacy.NewCommaReader
	spec      *legacy.Spec
	pos       []int // header position -> canonical index
	header    []string
	headerRow int
	cp1252    bool
	bom, cr   bool
	blank     []int
	orders    map[int]Order // canonical index -> order of its slashed dates
	unsolved  []Unresolved
}

// survey is the first pass: it decides what the second pass does, and
// finds the problems that block the file.
func survey(ctx context.Context, in legacy.Input, opts Options) (*plan, error) {
	lf, err := legacy.Open(ctx, in)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	p := &plan{orders: map[int]Order{}, delim: lf.Delim}
	if lf.Empty {
		return nil, &BlockedError{File: in.Name, Row: 1, Rule: check.RuleFileEmpty, Reason: "the file is empty: there is no header row"}
	}
	if lf.HeaderOversized {
		return nil, &BlockedError{File: in.Name, Row: 1, Rule: check.RuleCSVSyntax, Reason: legacy.ErrRecordTooLarge.Error()}
	}
	var perr *legacy.ParseError
	if errors.As(lf.HeaderErr, &perr) {
		return nil, &BlockedError{File: in.Name, Row: perr.Row, Rule: check.RuleCSVSyntax, Reason: perr.Err.Error()}
	}
	for _, h := range lf.Header {
		p.cp1252 = p.cp1252 || !utf8.ValidString(h)
	}
	if err := p.readHeader(in.Name, lf); err != nil {
		return nil, err
	}
	dates := make([]*dateCol, len(p.spec.Columns)) // by canonical index; nil for other columns
	for i, c := range p.spec.Columns {
		if c.Type == legacy.Date || c.Type == legacy.Datetime {
			dates[i] = &dateCol{}
		}
	}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := lf.ReadRaw()
		if err == io.EOF {
			break
		}
		if errors.As(err, &perr) {
			return nil, &BlockedError{File: in.Name, Row: perr.Row, Rule: check.RuleCSVSyntax, Reason: perr.Err.Error()}
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", in.Name, err)
		}
		fields, row := rec.Fields, rec.Row
		if !p.cp1252 {
			for _, f := range fields {
				if !utf8.Valid(f) {
					p.cp1252 = true
					break
				}
			}
		}
		if len(fields) != len(p.pos) {
			return nil, &BlockedError{File: in.Name, Row: row, Rule: check.RuleCSVFieldCount,
				Reason: fmt.Sprintf("the row has %d fields, the header %d", len(fields), len(p.pos))}
		}
		for hp, ci := range p.pos {
			dc := dates[ci]
			if dc == nil || bytes.IndexByte(fields[hp], '/') < 0 {
				continue
			}
			a, b, ok := SlashedParts(string(fields[hp]))
			if !ok {
				continue
			}
			dc.slashed++
			dc.firstOver12 = dc.firstOver12 || a > 12
			dc.secondOver = dc.secondOver || b > 12
		}
	}
	p.bom, p.cr, p.blank = lf.BOM, lf.CROnly, lf.BlankRows()
	for ci, dc := range dates {
		if dc == nil || dc.slashed == 0 {
			continue
		}
		col := p.spec.Columns[ci]
		note := func(reason string) {
			p.unsolved = append(p.unsolved, Unresolved{File: in.Name, Column: col.Letter, Field: col.Name, Reason: reason})
		}
		switch {
		case dc.firstOver12 && dc.secondOver:
			note(fmt.Sprintf("%d slashed dates fit neither month-first nor day-first throughout: left as they are", dc.slashed))
		case dc.secondOver:
			p.decide(ci, MDY, opts, note)
		case dc.firstOver12:
			p.decide(ci, DMY, opts, note)
		case opts.DateOrder != OrderUnknown:
			p.orders[ci] = opts.DateOrder
		default:
			note(fmt.Sprintf("%d slashed dates are ambiguous (every day part is 12 or less): left as they are; pass --date-order mdy or dmy", dc.slashed))
		}
	}
	return p, nil
}

// decide takes the order the column's values prove, unless the user asked
// for the other one.
func (p *plan) decide(ci int, proven Order, opts Options, note func(string)) {
	if opts.DateOrder != OrderUnknown && opts.DateOrder != proven {
		note(fmt.Sprintf("the slashed dates are %s, not the --date-order %s: left as they are", proven, opts.DateOrder))
		return
	}
	p.orders[ci] = proven
}

func (p *plan) readHeader(name string, lf *legacy.File) error {
	names := lf.Header
	kind := lf.Kind
	rec := struct{ Row int }{lf.HeaderRow}
	if kind == 0 {
		return &BlockedError{File: name, Row: rec.Row, Rule: check.RuleFileKindUnknown, Reason: "the header is not that of a transactions, notes or details file"}
	}
	p.spec = legacy.SpecFor(kind)
	p.header, p.headerRow = names, rec.Row
	p.pos = make([]int, len(names))
	seen := make([]bool, len(p.spec.Columns))
	for i, n := range names {
		idx := p.spec.Index(n)
		switch {
		case idx < 0:
			return &BlockedError{File: name, Row: rec.Row, Rule: check.RuleHeaderUnknown,
				Reason: fmt.Sprintf("column %s %q is not a %s column; rename or remove it", legacy.Letter(i), safe(n), kind)}
		case seen[idx]:
			return &BlockedError{File: name, Row: rec.Row, Rule: check.RuleHeaderDuplicate,
				Reason: fmt.Sprintf("column %q appears twice; keep one", safe(n))}
		}
		seen[idx] = true
		p.pos[i] = idx
	}
	return nil
}

// File fixes one input and writes the canonical file to w. Changes go to
// log (which may be nil). A *BlockedError means nothing was written. A file
// separated by ';' or a tab (rule csv-delimiter) is read with its delimiter
// and written comma-separated.
func File(ctx context.Context, in legacy.Input, w io.Writer, opts Options, log ChangeLog) (*FileResult, error) {
	p, err := survey(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	res := &FileResult{Input: in.Name, Kind: p.spec.Kind.String(), Changes: map[string]int{}, Unresolved: p.unsolved}
	f := &fixer{p: p, opts: opts, log: log, res: res, file: in.Name}
	if f.p.cp1252 {
		f.dec = charmap.Windows1252.NewDecoder()
	}
	if err := f.fileChanges(); err != nil {
		return nil, err
	}
	lf, err := legacy.Open(ctx, in)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	lw := legacy.NewWriter(w)
	lw.CRLF = opts.CRLF
	if err := lw.Write(p.spec.Header()); err != nil {
		return nil, fmt.Errorf("write %s: %w", in.Name, err)
	}
	row := make([]string, len(p.spec.Columns))
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := lf.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The first pass read the same bytes without an error: the
			// input changed under us, or the disk failed.
			return nil, fmt.Errorf("read %s again: %w", in.Name, err)
		}
		fields, rowNum := rec.Fields, rec.Row
		if len(fields) != len(p.pos) {
			return nil, fmt.Errorf("read %s again: row %d changed since the first pass", in.Name, rowNum)
		}
		clear(row)
		for hp, ci := range p.pos {
			row[ci] = fields[hp]
		}
		if err := f.fixRow(row, rowNum); err != nil {
			return nil, err
		}
		if err := lw.Write(row); err != nil {
			return nil, fmt.Errorf("write %s: %w", in.Name, err)
		}
		res.Rows++
	}
	if err := lw.Flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", in.Name, err)
	}
	return res, nil
}

type fixer struct {
	p    *plan
	opts Options
	log  ChangeLog
	res  *FileResult
	file string
	dec  interface{ String(string) (string, error) }
}

func (f *fixer) change(c Change) error {
	f.res.Changes[c.Rule]++
	if f.log == nil {
		return nil
	}
	c.File = f.file
	if err := f.log.Add(c); err != nil {
		return fmt.Errorf("write change log: %w", err)
	}
	return nil
}

// fileChanges records the file-level repairs the first pass found.
func (f *fixer) fileChanges() error {
	p := f.p
	var cs []Change
	if p.delim != 0 {
		cs = append(cs, Change{Row: p.headerRow, Rule: check.RuleCSVDelimiter, Before: "separated by " + legacy.DelimiterName(p.delim), After: "separated by commas"})
	}
	if p.bom {
		cs = append(cs, Change{Row: 1, Rule: check.RuleBOM, Before: "byte-order mark", After: "none"})
	}
	if p.cr {
		cs = append(cs, Change{Row: 1, Rule: check.RuleCSVLineEndings, Before: "CR", After: lineEnding(f.opts.CRLF)})
	}
	headerRow := p.headerRow
	present := make([]bool, len(p.spec.Columns))
	ordered, last := true, -1
	for _, ci := range p.pos {
		present[ci] = true
		if ci < last {
			ordered = false
		}
		last = ci
	}
	for ci, c := range p.spec.Columns {
		if present[ci] {
			continue
		}
		rule := check.RuleHeaderMissingOpt
		if c.Required.Always {
			rule = check.RuleHeaderMissing
		}
		cs = append(cs, Change{Row: headerRow, Column: c.Letter, Field: c.Name, Rule: rule, Before: "(missing)", After: "(added, empty)"})
	}
	if !ordered {
		cs = append(cs, Change{Row: headerRow, Rule: check.RuleHeaderOrder, Before: safe(strings.Join(p.header, ",")), After: "canonical A.." + legacy.Letter(len(p.spec.Columns)-1) + " order"})
	}
	if p.cp1252 {
		cs = append(cs, Change{Row: 1, Rule: check.RuleEncoding, Before: "Windows-1252", After: "UTF-8"})
	}
	for _, b := range p.blank {
		cs = append(cs, Change{Row: b, Rule: check.RuleBlankLine, Before: "(blank line)", After: "(removed)"})
	}
	for _, c := range cs {
		if err := f.change(c); err != nil {
			return err
		}
	}
	return nil
}

func lineEnding(crlf bool) string {
	if crlf {
		return "CRLF"
	}
	return "LF"
}

// set records a cell change and applies it.
func (f *fixer) set(row []string, ci, rowNum int, rule, after string) error {
	col := f.p.spec.Columns[ci]
	before := row[ci]
	row[ci] = after
	return f.change(Change{Row: rowNum, Column: col.Letter, Field: col.Name, Rule: rule, Before: shown(col, before), After: shown(col, after)})
}

// shown renders a value for the change log: masked for a sensitive column,
// with any card number masked elsewhere (see safe).
func shown(col legacy.Column, v string) string {
	if col.Sensitive {
		return legacy.Mask(printable(v))
	}
	return safe(v)
}

// safe renders text from the input for the change log or a message: card
// numbers masked (cardnum.MaskText), then bytes that are not UTF-8 written
// as \xNN. Masking comes first: the hex digits of an escape next to a card
// number would join its run and hide it from the mask.
func safe(v string) string {
	return printable(cardnum.MaskText(v))
}

var (
	txSpec       = legacy.SpecFor(legacy.Transactions)
	cCountry     = txSpec.Index(legacy.FCountry)
	cShipCountry = txSpec.Index(legacy.FShipCountry)
	cState       = txSpec.Index(legacy.FState)
	cShipState   = txSpec.Index(legacy.FShipState)
	cPostal      = txSpec.Index(legacy.FPostalCode)
	cShipPostal  = txSpec.Index(legacy.FShipPostalCode)
	cExpMonth    = txSpec.Index(legacy.FCardExpiryMonth)
	cExpYear     = txSpec.Index(legacy.FCardExpiryYear)
	cCard        = txSpec.Index(legacy.FCardNumber)
	cQuantity    = txSpec.Index(legacy.FQuantity)
	phoneCols    = []int{txSpec.Index(legacy.FPhoneNumber), txSpec.Index(legacy.FHomePhone), txSpec.Index(legacy.FCellPhone), txSpec.Index(legacy.FWorkPhone)}
)

// fixRow repairs one row in canonical order, in place.
func (f *fixer) fixRow(row []string, rowNum int) error {
	spec := f.p.spec
	if f.dec != nil {
		for ci, v := range row {
			// Cell by cell: a cell that is valid UTF-8 stays as it is, so
			// a file that mixes both encodings is not garbled.
			if isASCII(v) || utf8.ValidString(v) {
				continue
			}
			s, err := f.dec.String(v)
			if err != nil {
				continue
			}
			col := spec.Columns[ci]
			before := row[ci]
			row[ci] = s
			if err := f.change(Change{Row: rowNum, Column: col.Letter, Field: col.Name, Rule: check.RuleEncoding, Before: shown(col, before), After: shown(col, s)}); err != nil {
				return err
			}
		}
	}
	tx := spec.Kind == legacy.Transactions
	for ci, col := range spec.Columns {
		v := row[ci]
		if v == "" {
			continue
		}
		if tx && (ci == cCard || ci == cQuantity) {
			continue // checked by the row rules; nothing here is mechanical
		}
		if check.SpreadsheetNumber(col, v) {
			continue // the digits are lost: only a new export has them
		}
		if tx && ci == cExpMonth {
			if nv, ok := ExpiryMonth(v); ok && nv != v {
				if err := f.set(row, ci, rowNum, check.RuleCardExpiryMonth, nv); err != nil {
					return err
				}
			}
			continue
		}
		if tx && ci == cExpYear {
			if nv, ok := ExpiryYear(v); ok && nv != v {
				if err := f.set(row, ci, rowNum, check.RuleCardExpiryYear, nv); err != nil {
					return err
				}
			}
			continue
		}
		nv, rule, ok := f.value(col, ci, v)
		if ok && nv != v {
			if err := f.set(row, ci, rowNum, rule, nv); err != nil {
				return err
			}
		}
	}
	if tx {
		if err := f.crossFields(row, rowNum); err != nil {
			return err
		}
	}
	return f.fill(row, rowNum)
}

// value normalises a cell that fails its column's type check.
func (f *fixer) value(col legacy.Column, ci int, v string) (string, string, bool) {
	switch col.Type {
	case legacy.Country:
		if !valid(col, v) {
			nv, ok := Country(v)
			return nv, check.RuleInvalidCountry, ok
		}
	case legacy.Decimal, legacy.Money2:
		if !valid(col, v) {
			nv, ok := Decimal(v, col.Type == legacy.Money2)
			return nv, check.RuleInvalidDecimal, ok
		}
	case legacy.Bit:
		if !valid(col, v) {
			nv, ok := Bit(v)
			return nv, check.RuleInvalidBit, ok
		}
	case legacy.Datetime:
		if !valid(col, v) {
			nv, ok := Datetime(v, f.p.orders[ci])
			return nv, check.RuleInvalidDatetime, ok
		}
	case legacy.Date:
		if !valid(col, v) {
			nv, ok := Date(v, f.p.orders[ci])
			return nv, check.RuleInvalidDate, ok
		}
	case legacy.Enum:
		if !valid(col, v) {
			nv, ok := Enum(v, col.Enum)
			return nv, check.RuleInvalidEnum, ok
		}
	case legacy.Phone:
		if !valid(col, v) {
			nv, ok := Phone(v)
			return nv, check.RuleInvalidPhone, ok
		}
	}
	return "", "", false
}

// crossFields repairs what depends on the row's countries: state names,
// 4-digit US ZIP codes and the country code in front of US/CA phones.
func (f *fixer) crossFields(row []string, rowNum int) error {
	country := row[cCountry]
	shipCountry := row[cShipCountry]
	if shipCountry == "" {
		shipCountry = country
	}
	for _, s := range [...]struct {
		ci      int
		country string
	}{{cState, country}, {cShipState, shipCountry}} {
		v := row[s.ci]
		if v == "" || (s.country != "US" && s.country != "CA") || isState(s.country, v) {
			continue
		}
		if nv, ok := State(s.country, v); ok {
			if err := f.set(row, s.ci, rowNum, check.RuleStateFullName, nv); err != nil {
				return err
			}
		}
	}
	if country == "US" {
		if nv, ok := ZipUS(row[cPostal]); ok {
			if err := f.set(row, cPostal, rowNum, check.RulePostalCodeUS, nv); err != nil {
				return err
			}
		}
	}
	if shipCountry == "US" && row[cShipPostal] != "" {
		if nv, ok := ZipUS(row[cShipPostal]); ok {
			if err := f.set(row, cShipPostal, rowNum, check.RulePostalCodeUS, nv); err != nil {
				return err
			}
		}
	}
	if country == "US" || country == "CA" {
		for _, ci := range phoneCols {
			if nv, ok := NANP(row[ci]); ok {
				if err := f.set(row, ci, rowNum, check.RulePhoneLength, nv); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fill puts the --fill values into empty cells the row requires.
func (f *fixer) fill(row []string, rowNum int) error {
	if len(f.opts.Fill) == 0 {
		return nil
	}
	spec := f.p.spec
	for ci, col := range spec.Columns {
		value, ok := f.opts.Fill[col.Name]
		if !ok || row[ci] != "" {
			continue
		}
		if !required(spec, col, row) {
			continue
		}
		rule := check.RuleRequired
		if !col.Required.Always {
			rule = check.RuleRequiredIf
		} else if col.Required.EmptyIsWarning {
			rule = check.RuleAddress2Empty
		}
		if err := f.set(row, ci, rowNum, rule, value); err != nil {
			return err
		}
	}
	return nil
}

// required reports whether the row requires a value in col.
func required(spec *legacy.Spec, col legacy.Column, row []string) bool {
	if col.Required.Always {
		return true
	}
	if len(col.Required.When) == 0 {
		return false
	}
	for _, c := range col.Required.When {
		i := spec.Index(c.Field)
		hit := false
		for _, v := range c.Values {
			if i >= 0 && row[i] == v {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// valid mirrors internal/check's type checks for the columns fix repairs,
// so that only values the validator rejects are touched.
func valid(col legacy.Column, v string) bool {
	switch col.Type {
	case legacy.Country:
		return geo.IsCountry(v)
	case legacy.Decimal, legacy.Money2:
		return isDecimal(v)
	case legacy.Bit:
		return v == "0" || v == "1"
	case legacy.Datetime:
		return len(v) == 19 && v[10] == ' ' && isDateTimeExact(v)
	case legacy.Date:
		return len(v) == 10 && isDateExact(v)
	case legacy.Enum:
		for _, e := range col.Enum {
			if v == e {
				return true
			}
		}
		return false
	case legacy.Phone:
		return digits(v)
	}
	return true
}

func isDecimal(v string) bool {
	s := strings.TrimPrefix(v, "-")
	whole, frac, dot := strings.Cut(s, ".")
	return digits(whole) && len(whole)+len(frac) <= 17 && (!dot || (digits(frac) && len(frac) <= 2))
}

// isDateExact reports YYYY-MM-DD, a real date (as check's isDate).
func isDateExact(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	y, ok1 := num(v[0:4])
	m, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	return ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// isDateTimeExact reports YYYY-MM-DD HH:MM:SS, a real date and time.
func isDateTimeExact(v string) bool {
	if len(v) != 19 || v[10] != ' ' || v[13] != ':' || v[16] != ':' || !isDateExact(v[:10]) {
		return false
	}
	h, ok1 := num(v[11:13])
	mi, ok2 := num(v[14:16])
	s, ok3 := num(v[17:19])
	return ok1 && ok2 && ok3 && h < 24 && mi < 60 && s < 60
}

func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func isState(country, v string) bool { return geo.IsState(country, v) }

// KnownField reports whether name is a column of any import file (for
// checking --fill).
func KnownField(name string) bool {
	for _, k := range legacy.Kinds {
		if legacy.SpecFor(k).Index(name) >= 0 {
			return true
		}
	}
	return false
}
