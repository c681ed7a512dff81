package check

import (
	"bytes"
	"cmp"

	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/legacy"
)

// Options tune validation.
type Options struct {
	// AsOf is the reference date (YYYY-MM-DD) for the past and future rules;
	// empty turns those rules off.
	AsOf string
	// MaxFindings caps the examples kept per rule (never the counts);
	// negative keeps every finding.
	MaxFindings int
	// Strict turns warnings into errors.
	Strict bool
	// CardTokens: cardNumber holds tokens from a tokenization service, so
	// the Luhn checks stop being errors; the shape checks stay.
	CardTokens bool
	// IsToken, when set, accepts a card number that is a known vault token.
	IsToken func(string) bool
	// Workers parsing chunks in parallel (default GOMAXPROCS).
	Workers int
	// MaxRecordBytes caps one record (default legacy.DefaultMaxRecordBytes).
	MaxRecordBytes int

	passes int // tests: the passes over the inputs (default: by their size)
}

// ReadError is an I/O failure reading an input (not a finding about its data).
type ReadError struct {
	File string
	Err  error
}

func (e *ReadError) Error() string { return fmt.Sprintf("read %s: %v", e.File, e.Err) }
func (e *ReadError) Unwrap() error { return e.Err }

// Validate checks every input and returns the report. Transactions files
// are checked first, so that notes and details can be checked against their
// customers. An error is returned only for I/O failures and cancellation.
//
// The cross-row rules index ids; their memory is bounded by reading the
// files in passes (see passes): each pass indexes only the ids whose hash
// falls in its part, and only the first pass runs the per-row rules.
func Validate(ctx context.Context, inputs []legacy.Input, opts Options) (*Report, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = legacy.DefaultMaxRecordBytes
	}
	v := &validator{
		opts:   &opts,
		col:    newCollector(opts.MaxFindings, opts.Strict),
		files:  make([]FileSummary, len(inputs)),
		passes: opts.passes,
		phones: &spill{},
	}
	defer v.phones.close()
	for i, in := range inputs {
		v.files[i] = FileSummary{Path: in.Name, Kind: "unknown"}
	}
	if v.passes <= 0 {
		v.passes = passes(ctx, inputs, &opts)
	}
	for v.pass = 0; v.pass < v.passes; v.pass++ {
		if err := v.run(ctx, inputs); err != nil {
			return nil, err
		}
	}
	v.finishPhones()
	if v.phones.err != nil {
		return nil, v.phones.err
	}
	return v.col.report(v.files), nil
}

// run is one pass over the inputs: the transactions files, then the notes
// and details files.
func (v *validator) run(ctx context.Context, inputs []legacy.Input) error {
	sp := &spill{}
	defer sp.close()
	v.sp, v.customers, v.twins, v.haveTx = sp, newIDIndex(0, 16, sp), twins{}, false
	defer v.customers.free()
	defer v.twins.free()
	var later []int
	for i, in := range inputs {
		deferred, err := v.file(ctx, i, in, true)
		if err != nil {
			return err
		}
		if deferred {
			later = append(later, i)
		}
	}
	for _, i := range later {
		if _, err := v.file(ctx, i, inputs[i], false); err != nil {
			return err
		}
	}
	return sp.err
}

// rowsPerPass is about how many transaction rows' ids one pass indexes: at
// most about 84 MiB of tables (a 4M-slot table for the merchantTxnIds and
// one for the orderIds, smaller ones for the customers, subscriptions and
// addresses). A file up to it is read once.
var rowsPerPass int64 = 3 << 20

// passes is how many passes the inputs need: their transaction rows,
// estimated from each file's size and its first MiB, over rowsPerPass.
// An input whose size is unknown (a stream) counts for nothing, so streams
// are read once, whatever their size.
func passes(ctx context.Context, inputs []legacy.Input, opts *Options) int {
	// A transactions row is at least its 58 columns' separators: inputs
	// smaller than rowsPerPass such rows are read once, without a look
	// inside them.
	var size int64
	for _, in := range inputs {
		size += sizeOf(in)
	}
	if size < rowsPerPass*int64(len(legacy.SpecFor(legacy.Transactions).Columns)) {
		return 1
	}
	var rows int64
	for _, in := range inputs {
		lf, err := legacy.OpenMax(ctx, in, opts.MaxRecordBytes)
		if err != nil {
			continue // the first pass reports it
		}
		if lf.Kind == legacy.Transactions && !lf.Empty {
			rows += estimateRows(lf)
		}
		lf.Close()
	}
	return int(max(1, (rows+rowsPerPass-1)/rowsPerPass))
}

// sizeOf is the size of an input that is a regular file, else 0.
func sizeOf(in legacy.Input) int64 {
	rc, err := in.Open()
	if err != nil {
		return 0
	}
	defer rc.Close()
	if f, ok := rc.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return 0
}

// estimateRows estimates a file's data rows from its size and the records
// in its first bytes; 0 when its size is unknown.
func estimateRows(lf *legacy.File) int64 {
	size := lf.Size()
	chunker, first := lf.Chunks()
	if size <= 0 || len(first) == 0 {
		return 0
	}
	n := int64(bytes.Count(first, []byte{chunker.Term}))
	return size * max(n, 1) / int64(len(first))
}

type validator struct {
	opts   *Options
	col    *collector
	files  []FileSummary
	passes int // how many passes read the inputs
	pass   int // this pass: it indexes the ids whose part (v.mine) is pass
	// The indexes of one pass.
	sp        *spill   // the indexes' records
	customers *idIndex // customerIds of the transactions files; payload: identity, first row
	haveTx    bool
	twins     twins // addresses of active subscriptions (double-billing)
	// Across passes: the rows whose email address is another customer's
	// (by file), and the rows whose phoneNumber is (a record each, in
	// phones): a row sharing both is reported once, for its email address.
	emailShared map[int][]uint64
	phones      *spill
}

// mine reports whether an id whose hash is h is indexed in this pass.
// The hash is mixed first: the tables take their slots from its high bits.
func (v *validator) mine(h uint64) bool {
	return v.passes == 1 || int((h*0x9e3779b97f4a7c15)>>32%uint64(v.passes)) == v.pass
}

// file validates one input. In the first pass, a notes or details file is
// only recognised and deferred (deferred=true) to the second pass.
func (v *validator) file(ctx context.Context, seq int, in legacy.Input, first bool) (deferred bool, err error) {
	lf, err := legacy.OpenMax(ctx, in, v.opts.MaxRecordBytes)
	if err != nil {
		return false, &ReadError{File: in.Name, Err: errors.Unwrap(err)}
	}
	defer lf.Close()
	v.col.setFile(&v.files[seq], seq)
	// Findings about the file and its header, and the per-row rules, are
	// the first pass's.
	quiet := v.pass > 0
	fileFinding := func(row int, rule, msg string) {
		if !quiet {
			v.col.add(Finding{Row: row, Rule: rule, Severity: rulesByID[rule].Severity, Message: msg, col: -1})
		}
	}
	if lf.Empty {
		if first {
			checkExtension(in.Name, fileFinding)
			fileFinding(1, RuleFileEmpty, "the file is empty: it needs at least the header row (konduit template writes one)")
		}
		return false, nil
	}
	kind, names, row := lf.Kind, lf.Header, lf.HeaderRow
	if first && kind != legacy.Transactions && kind != 0 {
		return true, nil
	}
	sum := &v.files[seq]
	sum.Kind = "unknown"
	checkExtension(in.Name, fileFinding)
	if lf.BOM {
		fileFinding(1, RuleBOM, "the file starts with a byte-order mark; konduit fix writes UTF-8 without one")
	}
	if d := lf.Delim; d != 0 {
		fileFinding(max(row, 1), RuleCSVDelimiter, fmt.Sprintf("the header is one cell holding the column names joined by %s: the file is separated by %s, not by commas (a European or tab-separated export); it was read with that delimiter for the findings below; konduit fix rewrites it comma-separated", legacy.DelimiterName(d), legacy.DelimiterName(d)))
	}
	if lf.CROnly {
		fileFinding(1, RuleCSVLineEndings, "lines end in CR alone (Excel for Mac's \"CSV\"); save as \"CSV UTF-8\" or run konduit fix")
	}
	if kind == 0 {
		what := "its header names none of the columns of a transactions, notes or details file"
		if bytes.IndexByte(lf.Start, 0) >= 0 || !validUTF8Prefix(lf.Start) {
			what = "it does not look like a CSV text file"
		}
		fileFinding(max(row, 1), RuleFileKindUnknown, what+"; the first row must be the header (konduit template writes one)")
		return false, nil
	}
	sum.Kind = kind.String()
	spec := legacy.SpecFor(kind)
	for _, i := range lf.BlankRows() {
		fileFinding(i, RuleBlankLine, "a blank line before the header (skipped)")
	}
	colPos := v.header(spec, names, row, func(row int, field, rule, msg string) {
		if !quiet {
			v.col.add(Finding{Row: row, Field: field, Rule: rule, Severity: rulesByID[rule].Severity, Message: msg, col: -1})
		}
	})
	chunker, rest := lf.Chunks()
	expect := 0
	if kind == legacy.Transactions {
		expect = int(min(estimateRows(lf)/int64(v.passes), 1<<24))
	}
	orders := newIDIndex(expect, 8, v.sp) // up to an order a row: growing would hold both tables at once
	orders.tails = true
	run := &fileRun{
		compiled: compile(spec, colPos, v.opts),
		v:        v,
		quiet:    quiet,
		nFields:  len(names),
		term:     chunker.Term,
		names:    names,
		txIndex:  newIDIndex(expect, 16, v.sp),
		orders:   orders,
		refs:     &spill{},
		rowBase:  row,
		lineBase: lf.DataLine - 1,
	}
	defer run.free()
	if err := run.pipeline(ctx, chunker, rest); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false, err
		}
		return false, &ReadError{File: in.Name, Err: err}
	}
	run.finish()
	if err := cmp.Or(v.sp.err, run.refs.err); err != nil {
		return false, err
	}
	if kind == legacy.Transactions {
		v.haveTx = true
	}
	return false, nil
}

// validUTF8Prefix reports whether b, the start of a text, is UTF-8: a
// character cut in two at its end does not count against it.
func validUTF8Prefix(b []byte) bool {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				b = b[:len(b)-i]
			}
			break
		}
	}
	return utf8.Valid(b)
}

func checkExtension(name string, add func(int, string, string)) {
	if !strings.EqualFold(filepath.Ext(name), ".csv") {
		add(1, RuleFileNotCSV, fmt.Sprintf("%s does not end in .csv; Konnektive's importer requires a .csv file", quote(filepath.Base(name))))
	}
}

// header checks the header row and maps each header position to its
// canonical column index (-1 for an unknown or repeated name). A finding
// about one column names it in field: as the spec names it, or for an
// unknown name, as the file writes it.
func (v *validator) header(spec *legacy.Spec, names []string, row int, add func(row int, field, rule, msg string)) []int {
	pos := make([]int, len(names))
	seen := make([]bool, len(spec.Columns))
	last, ordered := -1, true
	for i, n := range names {
		idx := spec.Index(n)
		switch {
		case idx < 0:
			pos[i] = -1
			msg := fmt.Sprintf("column %s %s is not a %s column", legacy.Letter(i), quote(n), spec.Kind)
			if s := suggest(spec, n); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			add(row, n, RuleHeaderUnknown, msg)
		case seen[idx]:
			pos[i] = -1
			add(row, n, RuleHeaderDuplicate, fmt.Sprintf("column %s appears twice (again at %s); only the first is read", quote(n), legacy.Letter(i)))
		default:
			pos[i] = idx
			seen[idx] = true
			if idx < last {
				ordered = false
			}
			last = idx
		}
	}
	for i, c := range spec.Columns {
		if seen[i] {
			continue
		}
		if c.Required.Always {
			add(row, c.Name, RuleHeaderMissing, fmt.Sprintf("required column %s %q is missing", c.Letter, c.Name))
		} else {
			add(row, c.Name, RuleHeaderMissingOpt, fmt.Sprintf("optional column %s %q is missing; konduit fix adds it, empty", c.Letter, c.Name))
		}
	}
	if !ordered {
		add(row, "", RuleHeaderOrder, "columns are not in the seed's A..BF order; konduit fix reorders them")
	}
	return pos
}

// suggest finds the spec column a misspelt header name most likely means.
func suggest(spec *legacy.Spec, name string) string {
	t := strings.TrimSpace(name)
	best, bestD := "", 3
	for _, c := range spec.Columns {
		if strings.EqualFold(c.Name, t) {
			return c.Name
		}
		if d := distance(strings.ToLower(c.Name), strings.ToLower(t)); d < bestD && d <= len(c.Name)/4+1 {
			best, bestD = c.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// fileRun is the state of one file being validated.
type fileRun struct {
	*compiled
	v                 *validator
	quiet             bool // a later pass: only the cross-row rules run
	nFields           int
	term              byte
	names             []string
	rows              int
	rowBase, lineBase int
	// cross-row indexes (of this pass's ids: v.mine)
	txIndex  *idIndex          // merchantTxnIds; payload: txnInfo
	refunded map[int64]refunds // by txIndex record: parents refunded so far (finish)
	orders   *idIndex          // orderIds; payload: the first row; tail: its customerId
	refs     *spill            // rows naming a parent, in file order: a txnInfo and the parent
	// The previous row's customerId, and the orderId last checked: a run of
	// rows of one order and customer is checked once.
	prevCust, lastOrder []byte
	// The customer last looked up in v.customers, and what it holds of it.
	idCust     []byte
	idIdentity uint64
	idRow      int64
	subs       *idIndex             // active subscriptions (subs.go)
	promoted   map[int64]*activeSub // by subs record: those with more than one row
	dupSubs    []*activeSub         // the same, in file order
	payload    [24]byte             // scratch
	key        []byte               // scratch
}

type refunds struct {
	sum     int64
	flagged bool // refunds-exceed reported
}

func (r *fileRun) free() {
	r.txIndex.free()
	r.orders.free()
	if r.subs != nil {
		r.subs.free()
	}
	r.refs.close()
}

// txnInfo is what the parent rules need of a row, in a 16-byte payload:
// its totalAmount and, packed, its row, type and flags.
type txnInfo struct {
	total int64
	bits  int64 // row << 16 | typ << 8 | flags
}

const (
	flagTotalOK = 1 << iota
	flagSelf    // a reference naming its own merchantTxnId
	flagSuccess
)

func packRow(row int, typ uint8, flags uint8) int64 {
	return int64(row)<<16 | int64(typ)<<8 | int64(flags)
}

func readTxnInfo(p []byte) txnInfo { return txnInfo{total: word(p, 0), bits: word(p, 1)} }
func (t txnInfo) row() int         { return int(t.bits >> 16) }
func (t txnInfo) typ() uint8       { return uint8(t.bits >> 8) }
func (t txnInfo) has(f uint8) bool { return uint8(t.bits)&f != 0 }

// chunkResult is what a worker found in one chunk; rows are relative.
type chunkResult struct {
	run      *fileRun
	records  int
	lines    int
	rows     int
	findings []Finding
	skipped  []int32 // per rule index: findings counted but not kept
	facts    []txFact
	custRefs []custRef
	arena    []byte // the ids of facts and custRefs
	err      error
}

type custRef struct {
	rel int
	h   uint64
	id  span
}

// keep hashes an id and copies it into the chunk's arena.
func (r *chunkResult) keep(b []byte) (uint64, span) {
	s := span{int32(len(r.arena)), int32(len(b))}
	r.arena = append(r.arena, b...)
	return keyHash(b), s
}

func (r *chunkResult) bytes(s span) []byte { return r.arena[s.off : s.off+s.n] }

func (r *chunkResult) emit(rel, col int, rule, msg string) {
	if r.run.quiet {
		return
	}
	if idx := ruleIndex[rule]; !r.run.v.col.wants(idx) {
		if r.skipped == nil {
			r.skipped = make([]int32, len(Rules))
		}
		r.skipped[idx]++
		return
	}
	f := Finding{Row: rel, Rule: rule, Severity: rulesByID[rule].Severity, Message: msg, col: col}
	if col >= 0 {
		c := r.run.spec.Columns[col]
		f.Column, f.Field = c.Letter, c.Name
	}
	r.findings = append(r.findings, f)
}

// emitLine records a syntax finding that names the line its record starts on.
func (r *chunkResult) emitLine(rel, line int, rule, msg string) {
	r.findings = append(r.findings, Finding{Row: rel, Rule: rule, Severity: rulesByID[rule].Severity, Message: msg, col: -1, line: line})
}

// pipeline parses chunks in parallel and merges their results in order.
func (r *fileRun) pipeline(ctx context.Context, chunker *legacy.Chunker, first []byte) error {
	workers := r.v.opts.Workers
	type job struct {
		data []byte
		res  chan *chunkResult
	}
	jobs := make(chan job, workers)
	futures := make(chan chan *chunkResult, 2*workers)
	go func() {
		defer close(futures)
		defer close(jobs)
		send := func(data []byte) {
			res := make(chan *chunkResult, 1)
			futures <- res
			jobs <- job{data, res}
		}
		if len(first) > 0 {
			send(first)
		}
		for ctx.Err() == nil {
			ch, err := chunker.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				res := make(chan *chunkResult, 1)
				res <- &chunkResult{err: err}
				futures <- res
				return
			}
			if ch.Oversized {
				res := make(chan *chunkResult, 1)
				cr := &chunkResult{run: r, records: 1, lines: ch.Lines, rows: 1}
				if ch.Unclosed {
					cr.emitLine(1, 0, RuleCSVSyntax, "a quoted field opened here is never closed: the rest of the file is inside it")
				} else {
					cr.emitLine(1, 0, RuleCSVRecordTooLarge, fmt.Sprintf("the record is larger than %d bytes; it was skipped", r.v.opts.MaxRecordBytes))
				}
				res <- cr
				futures <- res
				continue
			}
			send(ch.Data)
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			for j := range jobs {
				j.res <- r.safeWork(j.data)
			}
		}()
	}
	var firstErr error
	for res := range futures {
		cr := <-res
		if firstErr != nil {
			continue // drain
		}
		if cr.err != nil {
			firstErr = cr.err
			continue
		}
		r.merge(cr)
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// safeWork is work, with a panic (a bug in a rule) turned into the file's
// error instead of ending the process: the dashboard validates uploads in
// the server's process. The error names the panic's type only: its value may
// quote the input.
func (r *fileRun) safeWork(data []byte) (res *chunkResult) {
	defer func() {
		if p := recover(); p != nil {
			res = &chunkResult{run: r, err: fmt.Errorf("check: internal error (%T); please report it", p)}
		}
	}()
	return r.work(data)
}

// work parses and checks one chunk of whole records.
func (r *fileRun) work(data []byte) *chunkResult {
	res := &chunkResult{run: r}
	if r.kind == legacy.Transactions {
		res.facts = make([]txFact, 0, len(data)/300+1)
		res.arena = make([]byte, 0, len(data)/12+64)
	}
	hasNUL := bytes.IndexByte(data, 0) >= 0
	validUTF8 := utf8.Valid(data)
	vals := make([][]byte, len(r.spec.Columns))
	var fields [][]byte
	var scratch []byte
	// Line numbers are needed only for syntax findings: lineAt counts them
	// then, instead of on every record.
	lineAt := func(off int) int { return bytes.Count(data[:off], []byte{r.term}) }
	maxFields := max(legacy.DefaultMaxFields, r.nFields+1)
	for pos := 0; pos < len(data); {
		recStart := pos
		rec, next, _ := legacy.SplitRecord(data, pos, r.term)
		pos = next
		res.records++
		rel := res.records
		if len(rec) == 0 {
			res.emit(rel, -1, RuleBlankLine, "a blank line (skipped)")
			continue
		}
		if pos-recStart > r.v.opts.MaxRecordBytes {
			res.rows++
			if legacy.OversizeError(rec) == legacy.ErrQuoteNotClosed {
				res.emitLine(rel, lineAt(recStart), RuleCSVSyntax, "a quoted field opened here is never closed")
			} else {
				res.emitLine(rel, lineAt(recStart), RuleCSVRecordTooLarge, fmt.Sprintf("the record is larger than %d bytes; it was skipped", r.v.opts.MaxRecordBytes))
			}
			continue
		}
		var err error
		var errField int
		fields, scratch, errField, err = legacy.ParseFields(rec, fields, scratch, maxFields)
		if err == nil && allEmpty(fields) {
			res.emit(rel, -1, RuleBlankLine, "an empty row (only separators); skipped")
			continue
		}
		res.rows++
		switch {
		case err == legacy.ErrTooManyFields:
			res.emitLine(rel, lineAt(recStart), RuleCSVTooManyFields, fmt.Sprintf("the record has more than %d fields; the header has %d", len(fields), r.nFields))
			continue
		case err != nil:
			where := ""
			if errField >= 0 {
				where = fmt.Sprintf(" in column %s", legacy.Letter(errField))
			}
			res.emitLine(rel, lineAt(recStart), RuleCSVSyntax, fmt.Sprintf("%v%s; quote every cell and double any quote inside one (\"\")", err, where))
			continue
		case hasNUL && bytes.IndexByte(data[recStart:pos], 0) >= 0:
			res.emitLine(rel, lineAt(recStart), RuleCSVNUL, "the record holds a NUL byte: the file is not text, or is UTF-16 (save it as CSV UTF-8)")
			continue
		case len(fields) != r.nFields:
			res.emitLine(rel, lineAt(recStart), RuleCSVFieldCount, fmt.Sprintf("the record has %d fields; the header has %d (a comma inside an unquoted cell?)", len(fields), r.nFields))
			continue
		}
		for i := range vals {
			vals[i] = nil
		}
		for i, f := range fields {
			p := r.pos[i]
			if !validUTF8 && !r.quiet && !utf8.Valid(f) {
				res.emitEncoding(rel, p, r.names[i])
			}
			if p >= 0 {
				vals[p] = f
			}
		}
		if !r.quiet {
			r.checkCells(vals, rel, res)
		}
		switch {
		case r.kind == legacy.Transactions && r.quiet:
			res.facts = append(res.facts, r.txFacts(vals, rel, res))
		case r.kind == legacy.Transactions:
			res.facts = append(res.facts, r.checkTxRow(vals, rel, res))
		default:
			if id := vals[0]; len(id) > 0 {
				h, sp := res.keep(id)
				res.custRefs = append(res.custRefs, custRef{rel: rel, h: h, id: sp})
			}
		}
	}
	res.lines = lineAt(len(data))
	return res
}

func (r *chunkResult) emitEncoding(rel, col int, name string) {
	msg := "holds bytes that are not UTF-8 (Windows-1252 or Latin-1 from Excel); konduit fix transcodes them"
	if col >= 0 {
		r.emit(rel, col, RuleEncoding, msg)
		return
	}
	r.findings = append(r.findings, Finding{Row: rel, Field: name, Rule: RuleEncoding, Severity: Error, Message: msg, col: -1})
}

func allEmpty(fields [][]byte) bool {
	for _, f := range fields {
		if len(f) > 0 {
			return false
		}
	}
	return true
}

// merge folds one chunk's results, in file order, into the report and the
// cross-row indexes.
func (r *fileRun) merge(cr *chunkResult) {
	c := r.v.col
	if r.quiet { // the first pass kept them
		cr.findings, cr.skipped = nil, nil
	}
	for _, f := range cr.findings {
		if f.Rule == RuleCSVSyntax || f.Rule == RuleCSVFieldCount || f.Rule == RuleCSVNUL || f.Rule == RuleCSVRecordTooLarge || f.Rule == RuleCSVTooManyFields {
			f.Message = fmt.Sprintf("line %d: %s", r.lineBase+f.line+1, f.Message)
		}
		f.Row += r.rowBase
		c.add(f)
	}
	for idx, n := range cr.skipped {
		if n > 0 {
			c.addCount(idx, int(n))
		}
	}
	for i := range cr.facts {
		r.crossRow(cr, &cr.facts[i])
	}
	for _, ref := range cr.custRefs {
		if !r.v.haveTx {
			break
		}
		id := cr.bytes(ref.id)
		if !r.v.mine(ref.h) {
			continue
		}
		if _, _, ok := r.v.customers.lookup(ref.h, id); !ok {
			c.add(Finding{Row: r.rowBase + ref.rel, Column: "A", Field: legacy.FCustomerID, Rule: RuleUnknownCustomer, Severity: Error, col: 0,
				Message: fmt.Sprintf("%s is not a customerId of the transactions file", quote(id))})
		}
	}
	r.rows += cr.rows
	r.rowBase += cr.records
	r.lineBase += cr.lines
}

func (r *fileRun) add(row, col int, rule, msg string) {
	c := r.spec.Columns[col]
	r.v.col.add(Finding{Row: row, Column: c.Letter, Field: c.Name, Rule: rule, Severity: rulesByID[rule].Severity, Message: msg, col: col})
}

func (r *fileRun) crossRow(cr *chunkResult, f *txFact) {
	row := r.rowBase + int(f.rel)
	v := r.v
	txn := cr.bytes(f.txn)
	if len(txn) > 0 && v.mine(f.hTxn) {
		if _, p, dup := r.txIndex.lookup(f.hTxn, txn); dup {
			r.add(row, tx.merchantTxnID, RuleDuplicateTxnID, fmt.Sprintf("%s is also on row %d; every transaction needs its own merchantTxnId", quote(txn), readTxnInfo(p).row()))
		} else {
			r.txIndex.insert(f.hTxn, txn, pack(r.payload[:], f.total, packRow(row, f.typ, f.flags())))
		}
	}
	cust := cr.bytes(f.cust)
	if len(cust) > 0 && v.mine(f.hCust) {
		if len(r.idCust) == 0 || !bytes.Equal(cust, r.idCust) {
			if _, p, ok := v.customers.lookup(f.hCust, cust); ok {
				r.idIdentity, r.idRow = uint64(word(p, 0)), word(p, 1)
			} else {
				v.customers.insert(f.hCust, cust, pack(r.payload[:], int64(f.identity), int64(row)))
				r.idIdentity, r.idRow = f.identity, int64(row)
			}
			r.idCust = append(r.idCust[:0], cust...)
		}
		if r.idIdentity != f.identity {
			r.add(row, tx.customerID, RuleCustomerMismatch, fmt.Sprintf("customer %s has a different name or email address than on row %d", quote(cust), r.idRow))
		}
	}
	if order := cr.bytes(f.order); len(order) > 0 && len(cust) > 0 && (!bytes.Equal(cust, r.prevCust) || !bytes.Equal(order, r.lastOrder)) {
		if v.mine(f.hOrder) {
			if _, p, first, ok := r.orders.find(f.hOrder, order); !ok {
				r.orders.insertTail(f.hOrder, order, pack(r.payload[:], int64(row)), cust)
			} else if !bytes.Equal(first, cust) {
				r.add(row, tx.orderID, RuleOrderTwoCustomers, fmt.Sprintf("order %s belongs to customer %s on row %d, and to customer %s here",
					quote(order), quote(first), word(p, 0), quote(cust)))
			}
		}
		r.lastOrder = append(r.lastOrder[:0], order...)
	}
	r.prevCust = append(r.prevCust[:0], cust...)
	if f.active && len(cust) > 0 {
		r.activeRow(cr, f, row, cust)
	}
	if parent := cr.bytes(f.parent); len(parent) > 0 && v.mine(f.hPar) {
		flags := f.flags()
		if bytes.Equal(parent, txn) {
			flags |= flagSelf
		}
		if f.success {
			flags |= flagSuccess
		}
		r.refs.put(pack(r.payload[:], f.total, packRow(row, f.typ, flags), int64(f.hPar)), parent)
	}
}

// finish runs the rules that need the whole file: parent references and
// repeated active subscriptions.
func (r *fileRun) finish() {
	r.v.col.file.Rows = r.rows
	r.finishActive()
	r.refs.scan(func(rec []byte) {
		ref, hParent := readTxnInfo(rec), uint64(word(rec, 2))
		parent := rec[24:] // the refs spill: lookups read the other one
		row, typ := ref.row(), ref.typ()
		i, pp, ok := r.txIndex.lookup(hParent, parent)
		if !ok || ref.has(flagSelf) {
			r.add(row, tx.parent, RuleParentMissing, fmt.Sprintf("%s is not the merchantTxnId of another row of the file; a %s needs its parent transaction in the same file", quote(parent), typeNames[typ]))
			return
		}
		p := readTxnInfo(pp)
		switch {
		case typ == typeRefund && p.typ() != typeSale && p.typ() != typeCapture:
			r.add(row, tx.parent, RuleParentType, fmt.Sprintf("this REFUND's parent on row %d is a %s, not a SALE or CAPTURE", p.row(), typeNames[p.typ()]))
		case typ == typeCapture && p.typ() != typeAuthorize:
			r.add(row, tx.parent, RuleParentType, fmt.Sprintf("this CAPTURE's parent on row %d is a %s, not an AUTHORIZE", p.row(), typeNames[p.typ()]))
		}
		if typ == typeRefund && ref.has(flagSuccess) && ref.has(flagTotalOK) {
			if r.refunded == nil {
				r.refunded = map[int64]refunds{}
			}
			rf := r.refunded[i]
			rf.sum += ref.total
			if p.has(flagTotalOK) && rf.sum > p.total && !rf.flagged {
				rf.flagged = true
				r.add(row, tx.total, RuleRefundsExceed, fmt.Sprintf("refunds of %s reach %s, more than its totalAmount %s on row %d", quote(parent), formatCents(rf.sum), formatCents(p.total), p.row()))
			}
			r.refunded[i] = rf
		}
	})
}
