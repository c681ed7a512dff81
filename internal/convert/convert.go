package convert

import (
	"context"
	"errors"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
	// Mappings name IANA zones; embed the database so a minimal container
	// without /usr/share/zoneinfo converts the same way.
	_ "time/tzdata"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/source"
	"github.com/shopspring/decimal"
)

// Options tune Run.
type Options struct {
	Sources []string // source files as given on the command line
	OutDir  string   // where the import files go
	Limits  source.Limits
	CRLF    bool
	// Examples is how many rows each kind of problem keeps (default 20);
	// every occurrence is counted.
	Examples int
}

// How a value was invented by the mapping rather than read from a source.
const (
	InventedConstant = "constant"
	InventedDefault  = "default"
	InventedDummy    = "dummy"
)

// Rule ids of conversion problems.
const (
	RuleUnmapped    = "unmapped"       // a required import column has no mapping
	RuleNotInMap    = "not-in-map"     // a source value is missing from a value map
	RuleNoColumn    = "no-such-column" // the mapping names a column the source lacks
	RuleBadValue    = "bad-value"      // a value the format cannot read
	RuleJoinMissing = "join-missing"   // a required join found no row
	RuleJoinDup     = "join-duplicate" // a join key appears twice in the joined source
	RuleSource      = "source"         // the source file itself is malformed
)

// Problem is one conversion error, positioned in the source.
type Problem struct {
	Rule    string
	Kind    legacy.Kind // the import file being made
	Table   string      // source file (or file:entry); "" for the mapping itself
	Row     int         // spreadsheet row in the source; 0 when not about a row
	Column  string      // source column, when one is involved
	Output  string      // import column, when one is involved
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Table != "" {
		b.WriteString(p.Table)
		if p.Row > 0 {
			fmt.Fprintf(&b, " row %d", p.Row)
		}
	} else {
		b.WriteString("mapping")
	}
	if p.Column != "" {
		fmt.Fprintf(&b, " column %q", p.Column)
	}
	if p.Output != "" {
		fmt.Fprintf(&b, " -> %s.%s", p.Kind, p.Output)
	}
	fmt.Fprintf(&b, ": %s [%s]", p.Message, p.Rule)
	return b.String()
}

// ProblemGroup is every occurrence of one problem: the first Examples kept.
type ProblemGroup struct {
	Examples []Problem
	Count    int
}

// Invented counts the values one import column got from the mapping.
type Invented struct {
	Kind   legacy.Kind
	Column string
	How    string
	Count  int
}

// TableInfo describes one source table read.
type TableInfo struct {
	Name      string
	Source    string // the mapping's name for it, "" when unused
	Encoding  string
	Delimiter string
	Rows      int
	Dropped   []string // CVV-like columns dropped on read
	counted   bool
}

// OutputInfo describes one import file written.
type OutputInfo struct {
	Kind    legacy.Kind
	Path    string
	Rows    int
	Skipped int // rows the skip rules or distinct_by left out
}

// Report is what a conversion did.
type Report struct {
	Tables   []TableInfo
	Outputs  []OutputInfo
	Invented []Invented
	// Adjusted counts source times that fell in a DST gap or overlap.
	Adjusted int
	Problems []*ProblemGroup
	// ProblemCount is the number of problem occurrences in all groups.
	ProblemCount int
	// DroppedValues counts CVV-like values discarded on read.
	DroppedValues int
	Written       bool
}

// ConversionError says the sources did not convert cleanly; nothing was
// written. The report holds every problem.
type ConversionError struct{ Count int }

func (e *ConversionError) Error() string {
	return fmt.Sprintf("conversion found %d problem(s); no import file was written", e.Count)
}

// ExitCode makes conversion problems data errors.
func (e *ConversionError) ExitCode() int { return exitcode.DataErrors }

// Origin is where an import row (or one of its values) came from.
type Origin struct {
	Table string
	Row   int
}

// Provenance maps import rows back to source rows.
type Provenance struct {
	kinds map[legacy.Kind]*kindProv
}

type kindProv struct {
	tables  []string       // 0: driving table; 1..: joined tables
	rows    [][]int32      // rows[t][outputRowIndex]: source row, 0 when no match
	columns map[string]int // import column -> table index it was read from
}

// Lookup returns the source of import row outRow (the header is row 1) of
// kind, for column (or the driving row when column is "" or not sourced
// from a join).
func (p *Provenance) Lookup(k legacy.Kind, outRow int, column string) (Origin, bool) {
	kp := p.kinds[k]
	if kp == nil || outRow < 2 || outRow-2 >= len(kp.rows[0]) {
		return Origin{}, false
	}
	t := 0
	if i, ok := kp.columns[column]; ok {
		t = i
	}
	r := int(kp.rows[t][outRow-2])
	if r == 0 {
		t, r = 0, int(kp.rows[0][outRow-2])
	}
	return Origin{Table: kp.tables[t], Row: r}, true
}

// WriteCSV writes the provenance table: kind, import row, source, source row.
func (p *Provenance) WriteCSV(w io.Writer) error {
	lw := legacy.NewWriter(w)
	if err := lw.Write([]string{"file", "row", "source", "sourceRow"}); err != nil {
		return err
	}
	for _, k := range legacy.Kinds {
		kp := p.kinds[k]
		if kp == nil {
			continue
		}
		for i, r := range kp.rows[0] {
			if err := lw.Write([]string{k.FileName(), fmt.Sprint(i + 2), kp.tables[0], fmt.Sprint(r)}); err != nil {
				return err
			}
		}
	}
	return lw.Flush()
}

// Result is a finished conversion.
type Result struct {
	Report     Report
	Provenance *Provenance
	Paths      map[legacy.Kind]string
}

// ref is a resolved source column: table t (0 driving, 1.. joins), field idx.
type ref struct {
	t    int
	idx  int // -1: the column is missing (reported once)
	name string
}

type compiledCol struct {
	out       int
	name      string
	spec      *ColumnSpec
	refs      []ref
	sep       string
	vmap      ValueMap
	mapName   string
	field     string
	layouts   []timeLayout
	srcLoc    *time.Location
	fallback  []ref
	plus      []ref
	minus     []ref
	defaults  []compiledDefault
	sensitive bool
	counts    map[string]int
}

type compiledDefault struct {
	when  *compiledCond
	value string
}

type compiledCond struct {
	r     ref
	in    map[string]bool
	notIn map[string]bool
	empty *bool
}

type joinIndex struct {
	broken bool // the key or on column is missing (reported once)
	kept   []string
	spec   JoinSpec
	on     ref
	byKey  map[string]joined
	fields []int // source field indexes kept, in order; refs index into this
	table  string
}

type joined struct {
	row    int32
	values []string
}

// rowCtx is the record being converted and its joined rows.
type rowCtx struct {
	fields [][]string // [0] driving fields; [j] joined values (by kept index)
}

func (c *rowCtx) get(r ref) string {
	if r.idx < 0 || c.fields[r.t] == nil {
		return ""
	}
	return strings.TrimSpace(c.fields[r.t][r.idx])
}

func (c *compiledCond) match(ctx *rowCtx) bool {
	v := strings.ToLower(ctx.get(c.r))
	if c.empty != nil && (v == "") != *c.empty {
		return false
	}
	if c.in != nil && !c.in[v] {
		return false
	}
	if c.notIn != nil && c.notIn[v] {
		return false
	}
	return true
}

// converter holds one run.
type converter struct {
	m        *Mapping
	opts     Options
	account  *time.Location
	srcLoc   *time.Location
	report   *Report
	groups   map[string]*ProblemGroup
	prov     *Provenance
	tables   map[string]source.Table // source name -> table
	infos    map[string]*TableInfo   // table name -> info
	archives []*source.Archive
}

func (c *converter) problem(p Problem) {
	key := p.Rule + "\x00" + p.Kind.String() + "\x00" + p.Output + "\x00" + p.Column + "\x00" + p.Table
	if p.Rule == RuleNotInMap || p.Rule == RuleSource {
		key += "\x00" + p.Message
	}
	g := c.groups[key]
	if g == nil {
		if len(c.groups) >= 1000 {
			key = "\x00overflow"
			if g = c.groups[key]; g == nil {
				g = &ProblemGroup{}
				c.groups[key] = g
				c.report.Problems = append(c.report.Problems, g)
			}
		} else {
			g = &ProblemGroup{}
			c.groups[key] = g
			c.report.Problems = append(c.report.Problems, g)
		}
	}
	g.Count++
	c.report.ProblemCount++
	if len(g.Examples) < c.opts.Examples {
		// Values reach messages through show; this is the backstop for
		// source text that reaches one another way (a column name, a
		// reader's error).
		p.Message, p.Column = cardnum.MaskText(p.Message), cardnum.MaskText(p.Column)
		g.Examples = append(g.Examples, p)
	}
}

// Run converts the sources through m into the import files in opts.OutDir.
// Nothing is written when any problem is found; the result's report lists
// them all. A *MappingError means the mapping itself cannot be used.
func Run(ctx context.Context, m *Mapping, opts Options) (*Result, error) {
	if opts.Examples <= 0 {
		opts.Examples = 20
	}
	if opts.Limits == (source.Limits{}) {
		opts.Limits = source.DefaultLimits
	}
	c := &converter{m: m, opts: opts, report: &Report{}, groups: map[string]*ProblemGroup{},
		prov: &Provenance{kinds: map[legacy.Kind]*kindProv{}}, infos: map[string]*TableInfo{}}
	defer func() {
		for _, a := range c.archives {
			a.Close()
		}
	}()
	if err := c.checkMapping(); err != nil {
		return nil, err
	}
	if err := c.assign(ctx); err != nil {
		return nil, err
	}
	var kinds []legacy.Kind
	for _, k := range legacy.Kinds {
		if m.Output(k) != nil {
			kinds = append(kinds, k)
		}
	}
	res := &Result{Provenance: c.prov, Paths: map[legacy.Kind]string{}}
	for _, k := range kinds {
		res.Paths[k] = filepath.Join(opts.OutDir, k.FileName())
	}
	errProblems := errors.New("problems found")
	var write func(i int) error
	write = func(i int) error {
		if i == len(kinds) {
			if c.report.ProblemCount > 0 {
				return errProblems
			}
			return nil
		}
		k := kinds[i]
		// Import files hold customers and card numbers: 0600 whatever the umask.
		return atomicfile.Write(ctx, res.Paths[k], atomicfile.Options{Perm: 0o600, Inputs: opts.Sources}, func(w io.Writer) error {
			if err := c.convertKind(ctx, k, w); err != nil {
				return err
			}
			return write(i + 1)
		})
	}
	err := write(0)
	c.finishReport()
	res.Report = *c.report
	switch {
	case errors.Is(err, errProblems):
		return res, &ConversionError{Count: c.report.ProblemCount}
	case err != nil:
		return res, err
	}
	res.Report.Written = true
	return res, nil
}

func (c *converter) finishReport() {
	for _, ti := range c.infos {
		c.report.Tables = append(c.report.Tables, *ti)
	}
	sort.Slice(c.report.Tables, func(i, j int) bool { return c.report.Tables[i].Name < c.report.Tables[j].Name })
	sort.Slice(c.report.Invented, func(i, j int) bool {
		a, b := c.report.Invented[i], c.report.Invented[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		sa, sb := legacy.SpecFor(a.Kind).Index(a.Column), legacy.SpecFor(b.Kind).Index(b.Column)
		if sa != sb {
			return sa < sb
		}
		return a.How < b.How
	})
}

// checkMapping rejects a mapping that cannot run; an unmapped required
// column is a problem instead, reported with the rest.
func (c *converter) checkMapping() error {
	m := c.m
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	needZone := false
	haveOutput := false
	for _, k := range legacy.Kinds {
		o := m.Output(k)
		if o == nil {
			continue
		}
		haveOutput = true
		spec := legacy.SpecFor(k)
		if o.From == "" {
			bad("%s: from: names no source", k)
		} else if _, ok := m.Sources[o.From]; !ok {
			bad("%s: from: %q is not under sources:", k, o.From)
		}
		for _, j := range o.Join {
			if _, ok := m.Sources[j.Source]; !ok {
				bad("%s: join: source %q is not under sources:", k, j.Source)
			}
			if j.Source == o.From {
				bad("%s: join: %q joins itself", k, j.Source)
			}
			if j.Key == "" || j.On == "" {
				bad("%s: join %q needs key: and on:", k, j.Source)
			}
			switch j.Duplicates {
			case "", "error", "first", "last":
			default:
				bad("%s: join %q: duplicates: %q (want error, first or last)", k, j.Source, j.Duplicates)
			}
		}
		if o.DistinctBy != "" && spec.Index(o.DistinctBy) < 0 {
			bad("%s: distinct_by: %q is not a %s column", k, o.DistinctBy, k)
		}
		for name, cs := range o.Columns {
			if spec.Index(name) < 0 {
				bad("%s: %q is not a %s column%s", k, name, k, suggest(name, spec.Header()))
				continue
			}
			if cs.empty() {
				continue
			}
			if !knownFormats[cs.Format] {
				bad("%s.%s: unknown format %q", k, name, cs.Format)
			}
			if cs.Format == fmtDatetime || cs.Format == fmtDate {
				if len(cs.Layouts) == 0 {
					bad("%s.%s: format %s needs layouts:", k, name, cs.Format)
				}
				for _, l := range cs.Layouts {
					tl, err := compileLayout(l)
					if err != nil {
						bad("%s.%s: %v", k, name, err)
					}
					if tl.clock {
						needZone = true
					}
				}
			}
			if cs.Timezone != "" {
				if _, err := time.LoadLocation(cs.Timezone); err != nil {
					bad("%s.%s: timezone %q: %v", k, name, cs.Timezone, err)
				}
			}
			if cs.Decimal != "" && cs.Decimal != "." && cs.Decimal != "," {
				bad("%s.%s: decimal: %q (want . or ,)", k, name, cs.Decimal)
			}
			if cs.Map != nil && cs.Map.Name != "" {
				if _, ok := m.Maps[cs.Map.Name]; !ok {
					bad("%s.%s: map %q is not under maps:", k, name, cs.Map.Name)
				}
			}
			if cs.Const != nil && (cs.Column != "" || len(cs.Columns) > 0) {
				bad("%s.%s: const and column together", k, name)
			}
		}
	}
	if !haveOutput {
		bad("no transactions:, notes: or details: section")
	}
	var err error
	tz := m.Timezone
	if tz == "" && needZone {
		bad("timezone: is required (the Konnektive account's time zone, e.g. America/New_York): datetimes are written as its wall clock")
	}
	if tz == "" {
		tz = "UTC"
	}
	if c.account, err = time.LoadLocation(tz); err != nil {
		bad("timezone: %v", err)
	}
	c.srcLoc = c.account
	if m.SourceTimezone != "" {
		if c.srcLoc, err = time.LoadLocation(m.SourceTimezone); err != nil {
			bad("source_timezone: %v", err)
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return &MappingError{File: m.path, Problems: errs}
	}
	return nil
}

func suggest(name string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, name) || levenshtein(strings.ToLower(n), strings.ToLower(name)) <= 2 {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// needed lists, per source name, the columns the mapping reads from it.
func (c *converter) needed() map[string][]string {
	out := map[string][]string{}
	add := func(src, col string) {
		if col != "" {
			out[src] = append(out[src], col)
		}
	}
	for _, k := range legacy.Kinds {
		o := c.m.Output(k)
		if o == nil {
			continue
		}
		joins := map[string]bool{}
		for _, j := range o.Join {
			joins[j.Source] = true
			add(j.Source, j.Key)
			add(o.From, j.On)
		}
		refCol := func(r string) {
			if s, col, ok := strings.Cut(r, "."); ok && joins[s] {
				add(s, col)
				return
			}
			add(o.From, r)
		}
		for _, s := range o.Skip {
			refCol(s.Column)
		}
		for _, cs := range o.Columns {
			if cs.empty() {
				continue
			}
			for _, r := range cs.allRefs() {
				refCol(r)
			}
		}
	}
	return out
}

func (cs *ColumnSpec) allRefs() []string {
	var r []string
	if cs.Column != "" {
		r = append(r, cs.Column)
	}
	r = append(r, cs.Columns...)
	r = append(r, cs.Fallback...)
	r = append(r, cs.Plus...)
	r = append(r, cs.Minus...)
	for _, d := range cs.Default {
		if d.When != nil {
			r = append(r, d.When.Column)
		}
	}
	return r
}

// assign opens every source file and decides which table each source is.
func (c *converter) assign(ctx context.Context) error {
	var tables []source.Table
	headers := map[string][]string{}
	for _, p := range c.opts.Sources {
		a, err := source.Open(ctx, p, c.opts.Limits)
		if err != nil {
			return err
		}
		c.archives = append(c.archives, a)
		for _, t := range a.Tables {
			r, err := source.NewReader(ctx, t, source.Options{})
			if err != nil {
				return err
			}
			headers[t.Name()] = r.Header()
			r.Close()
			tables = append(tables, t)
		}
	}
	used := map[string]bool{}
	for _, o := range []*OutputSpec{c.m.Transactions, c.m.Notes, c.m.Details} {
		if o != nil {
			used[o.From] = true
			for _, j := range o.Join {
				used[j.Source] = true
			}
		}
	}
	need := c.needed()
	c.tables = map[string]source.Table{}
	taken := map[string]bool{}
	var pending []string
	var errs []string
	for _, name := range c.m.order {
		if !used[name] {
			continue
		}
		spec := c.m.Sources[name]
		var cand []source.Table
		for _, t := range tables {
			if taken[t.Name()] {
				continue
			}
			if spec != nil && spec.File != "" {
				if ok, _ := path.Match(strings.ToLower(spec.File), strings.ToLower(t.Base())); ok {
					cand = append(cand, t)
				}
			} else if hasAll(headers[t.Name()], need[name]) {
				cand = append(cand, t)
			}
		}
		switch {
		case len(cand) == 1:
			c.tables[name] = cand[0]
			taken[cand[0].Name()] = true
		case spec != nil && spec.File != "" && len(cand) == 0:
			errs = append(errs, fmt.Sprintf("source %q: no source file matches %q", name, spec.File))
		case spec != nil && spec.File != "":
			errs = append(errs, fmt.Sprintf("source %q: %d source files match %q; make file: narrower", name, len(cand), spec.File))
		default:
			pending = append(pending, name)
		}
	}
	// Left over: pair sources and tables in order (the header check then
	// reports the columns that are missing).
	var free []source.Table
	for _, t := range tables {
		if !taken[t.Name()] {
			free = append(free, t)
		}
	}
	if len(pending) > 0 {
		if len(pending) == len(free) {
			for i, name := range pending {
				c.tables[name] = free[i]
				taken[free[i].Name()] = true
			}
		} else {
			errs = append(errs, fmt.Sprintf("cannot tell which file is source %s among %d unmatched file(s); name them with file: globs", strings.Join(quoteAll(pending), ", "), len(free)))
		}
	}
	if len(errs) > 0 {
		return &MappingError{File: c.m.path, Problems: errs}
	}
	for name, t := range c.tables {
		c.infos[t.Name()] = &TableInfo{Name: t.Name(), Source: name}
	}
	for _, t := range tables {
		if !taken[t.Name()] {
			c.infos[t.Name()] = &TableInfo{Name: t.Name()}
		}
	}
	return nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

func hasAll(header, cols []string) bool {
	for _, c := range cols {
		if findCol(header, c) < 0 {
			return false
		}
	}
	return true
}

// findCol finds a column by exact name, else trimmed and ignoring case.
func findCol(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(name)) {
			return i
		}
	}
	return -1
}

func (c *converter) openTable(ctx context.Context, name string) (*source.Reader, error) {
	t := c.tables[name]
	opts := source.Options{}
	if s := c.m.Sources[name]; s != nil {
		opts.Encoding = s.Encoding
		switch s.Delimiter {
		case "":
		case "tab", "\\t", "\t":
			opts.Delimiter = '\t'
		default:
			opts.Delimiter = []rune(s.Delimiter)[0]
		}
	}
	r, err := source.NewReader(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	ti := c.infos[t.Name()]
	ti.Encoding, ti.Delimiter, ti.Dropped = r.Encoding(), fmt.Sprintf("%q", r.Delimiter()), r.Dropped()
	return r, nil
}

// convertKind streams the driving source of k into w.
func (c *converter) convertKind(ctx context.Context, k legacy.Kind, w io.Writer) error {
	o := c.m.Output(k)
	spec := legacy.SpecFor(k)
	drv, err := c.openTable(ctx, o.From)
	if err != nil {
		return err
	}
	defer drv.Close()
	drvName := drv.Table().Name()
	kp := &kindProv{tables: []string{drvName}, columns: map[string]int{}}
	c.prov.kinds[k] = kp
	headers := [][]string{drv.Header()}
	// Joins: index the joined side by key, keeping only the columns used.
	joins := make([]*joinIndex, len(o.Join))
	joinNames := map[string]int{}
	for i, j := range o.Join {
		joinNames[j.Source] = i + 1
	}
	for i, j := range o.Join {
		ji, err := c.buildJoin(ctx, k, o, j, drv.Header())
		if err != nil {
			return err
		}
		joins[i] = ji
		kp.tables = append(kp.tables, ji.table)
	}
	reported := map[string]bool{}
	resolve := func(r string, output string) ref {
		if i := findCol(headers[0], r); i >= 0 {
			return ref{t: 0, idx: i, name: r}
		}
		if s, col, ok := strings.Cut(r, "."); ok {
			if t, ok := joinNames[s]; ok {
				ji := joins[t-1]
				if i := ji.keptIndex(col); i >= 0 {
					return ref{t: t, idx: i, name: r}
				}
				if !reported[r] {
					reported[r] = true
					c.problem(Problem{Rule: RuleNoColumn, Kind: k, Table: ji.table, Row: 1, Column: col, Output: output,
						Message: fmt.Sprintf("the mapping names column %q, which %s does not have", col, ji.table)})
				}
				return ref{t: t, idx: -1, name: r}
			}
		}
		if !reported[r] {
			reported[r] = true
			c.problem(Problem{Rule: RuleNoColumn, Kind: k, Table: drvName, Row: 1, Column: r, Output: output,
				Message: fmt.Sprintf("the mapping names column %q, which %s does not have%s", r, drvName, suggest(r, headers[0]))})
		}
		return ref{t: 0, idx: -1, name: r}
	}
	// Compile the columns.
	cols := make([]*compiledCol, 0, len(o.Columns))
	mapped := map[string]bool{}
	for _, col := range spec.Columns {
		cs := o.Columns[col.Name]
		if cs.empty() {
			// address2 and shipAddress2: empty is only a warning
			// (legacy-import.md), so leaving them unmapped is allowed.
			if col.Required.Always && !col.Required.EmptyIsWarning {
				c.problem(Problem{Rule: RuleUnmapped, Kind: k, Output: col.Name,
					Message: fmt.Sprintf("required column %s (%s) is not mapped; map a source column, a const, or a default", col.Name, col.SeedType)})
			}
			continue
		}
		mapped[col.Name] = true
		cc, err := c.compileCol(col, cs, func(r string) ref { return resolve(r, col.Name) })
		if err != nil {
			return err
		}
		if len(cc.refs) > 0 && cc.refs[0].t > 0 {
			kp.columns[col.Name] = cc.refs[0].t
		}
		cols = append(cols, cc)
	}
	var skips []*compiledCond
	for _, s := range o.Skip {
		s := s
		skips = append(skips, compileCond(&s, func(r string) ref { return resolve(r, "") }))
	}
	// Conditionally required columns the mapping leaves out.
	var condMissing []legacy.Column
	for _, col := range spec.Columns {
		if !mapped[col.Name] && len(col.Required.When) > 0 && !col.Required.EmptyIsWarning {
			condMissing = append(condMissing, col)
		}
	}
	lw := legacy.NewWriter(w)
	lw.CRLF = c.opts.CRLF
	if err := lw.Write(spec.Header()); err != nil {
		return fmt.Errorf("write %s: %w", k.FileName(), err)
	}
	info := OutputInfo{Kind: k, Path: filepath.Join(c.opts.OutDir, k.FileName())}
	ti := c.infos[drvName]
	row := make([]string, len(spec.Columns))
	rc := &rowCtx{fields: make([][]string, 1+len(joins))}
	distinctIdx := -1
	seen := map[string]bool{}
	if o.DistinctBy != "" {
		distinctIdx = spec.Index(o.DistinctBy)
	}
	jrows := make([]int32, len(joins))
	nread := 0
	for {
		rec, err := drv.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *source.RowError
		if errors.As(err, &re) {
			c.problem(Problem{Rule: RuleSource, Kind: k, Table: drvName, Row: re.Row, Message: re.Err.Error()})
			continue
		}
		if err != nil {
			return err
		}
		nread++
		rc.fields[0] = rec.Fields
		skip := false
		for _, s := range skips {
			if s.match(rc) {
				skip = true
				break
			}
		}
		if skip {
			info.Skipped++
			continue
		}
		for i, ji := range joins {
			rc.fields[i+1] = nil
			jrows[i] = 0
			key := rc.get(ji.on)
			if ji.spec.IgnoreCase {
				key = strings.ToLower(key)
			}
			if j, ok := ji.byKey[key]; ok && key != "" {
				rc.fields[i+1] = j.values
				jrows[i] = j.row
			} else if ji.spec.Required && !ji.broken {
				c.problem(Problem{Rule: RuleJoinMissing, Kind: k, Table: drvName, Row: rec.Row, Column: ji.spec.On,
					Message: fmt.Sprintf("no row of %s has %s equal to this row's %s", ji.table, ji.spec.Key, ji.spec.On)})
			}
		}
		for i := range row {
			row[i] = ""
		}
		for _, cc := range cols {
			row[cc.out] = c.eval(k, cc, rc, drvName, rec.Row)
		}
		for _, col := range condMissing {
			if conditionsHold(spec, row, col.Required.When) {
				c.problem(Problem{Rule: RuleUnmapped, Kind: k, Table: drvName, Row: rec.Row, Output: col.Name,
					Message: fmt.Sprintf("column %s is required when %s, and the mapping does not map it", col.Name, col.Required)})
			}
		}
		if distinctIdx >= 0 {
			if seen[row[distinctIdx]] {
				info.Skipped++
				continue
			}
			seen[row[distinctIdx]] = true
		}
		if err := lw.Write(row); err != nil {
			return fmt.Errorf("write %s: %w", k.FileName(), err)
		}
		info.Rows++
		kp.rows = growRows(kp.rows, 1+len(joins))
		kp.rows[0] = append(kp.rows[0], int32(rec.Row))
		for i := range joins {
			kp.rows[i+1] = append(kp.rows[i+1], jrows[i])
		}
	}
	if err := lw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", k.FileName(), err)
	}
	c.countTable(ti, nread, len(drv.Dropped()))
	c.report.Outputs = append(c.report.Outputs, info)
	for _, cc := range cols {
		for _, how := range []string{InventedConstant, InventedDefault, InventedDummy} {
			if n := cc.counts[how]; n > 0 {
				c.report.Invented = append(c.report.Invented, Invented{Kind: k, Column: cc.name, How: how, Count: n})
			}
		}
	}
	return ctx.Err()
}

// countTable records a table's rows and dropped values once, however many
// outputs read it.
func (c *converter) countTable(ti *TableInfo, rows, dropped int) {
	if ti.counted {
		return
	}
	ti.counted = true
	ti.Rows = rows
	c.report.DroppedValues += rows * dropped
}

func growRows(r [][]int32, n int) [][]int32 {
	for len(r) < n {
		r = append(r, nil)
	}
	return r
}

func conditionsHold(spec *legacy.Spec, row []string, conds []legacy.Condition) bool {
	for _, cond := range conds {
		v := row[spec.Index(cond.Field)]
		ok := false
		for _, want := range cond.Values {
			if v == want {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (ji *joinIndex) keptIndex(col string) int {
	for i, n := range ji.names() {
		if n == col {
			return i
		}
	}
	for i, n := range ji.names() {
		if strings.EqualFold(n, col) {
			return i
		}
	}
	return -1
}

// names are the header names of the kept fields (set by buildJoin).
func (ji *joinIndex) names() []string { return ji.kept }

func (c *converter) buildJoin(ctx context.Context, k legacy.Kind, o *OutputSpec, j JoinSpec, drvHeader []string) (*joinIndex, error) {
	r, err := c.openTable(ctx, j.Source)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	name := r.Table().Name()
	ji := &joinIndex{spec: j, byKey: map[string]joined{}, table: name}
	hdr := r.Header()
	ji.on = ref{t: 0, idx: findCol(drvHeader, j.On), name: j.On}
	if ji.on.idx < 0 {
		ji.broken = true
		c.problem(Problem{Rule: RuleNoColumn, Kind: k, Table: c.tables[o.From].Name(), Row: 1, Column: j.On,
			Message: fmt.Sprintf("join on: names column %q, which the driving source does not have", j.On)})
	}
	// Keep only the columns some spec reads from this source.
	prefix := j.Source + "."
	want := map[int]bool{}
	for _, cs := range o.Columns {
		if cs.empty() {
			continue
		}
		for _, rr := range cs.allRefs() {
			if col, ok := strings.CutPrefix(rr, prefix); ok {
				if i := findCol(hdr, col); i >= 0 {
					want[i] = true
				}
			}
		}
	}
	for _, s := range o.Skip {
		if col, ok := strings.CutPrefix(s.Column, prefix); ok {
			if i := findCol(hdr, col); i >= 0 {
				want[i] = true
			}
		}
	}
	for i := range hdr {
		if want[i] {
			ji.fields = append(ji.fields, i)
			ji.kept = append(ji.kept, hdr[i])
		}
	}
	keyIdx := findCol(hdr, j.Key)
	if keyIdx < 0 {
		ji.broken = true
		c.problem(Problem{Rule: RuleNoColumn, Kind: k, Table: name, Row: 1, Column: j.Key,
			Message: fmt.Sprintf("join key: names column %q, which %s does not have", j.Key, name)})
		return ji, nil
	}
	first := map[string]int32{}
	ti := c.infos[name]
	nread := 0
	defer func() { c.countTable(ti, nread, len(r.Dropped())) }()
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *source.RowError
		if errors.As(err, &re) {
			c.problem(Problem{Rule: RuleSource, Kind: k, Table: name, Row: re.Row, Message: re.Err.Error()})
			continue
		}
		if err != nil {
			return nil, err
		}
		nread++
		key := strings.TrimSpace(rec.Fields[keyIdx])
		if j.IgnoreCase {
			key = strings.ToLower(key)
		}
		if key == "" {
			continue
		}
		vals := make([]string, len(ji.fields))
		for n, i := range ji.fields {
			vals[n] = rec.Fields[i]
		}
		if _, dup := ji.byKey[key]; dup {
			switch j.Duplicates {
			case "first":
				continue
			case "last":
			default:
				c.problem(Problem{Rule: RuleJoinDup, Kind: k, Table: name, Row: rec.Row, Column: j.Key,
					Message: fmt.Sprintf("key repeats row %d; set duplicates: first or last to choose", first[key])})
				continue
			}
		} else {
			first[key] = int32(rec.Row)
		}
		ji.byKey[key] = joined{row: int32(rec.Row), values: vals}
	}
	return ji, nil
}

func compileCond(cond *Cond, resolve func(string) ref) *compiledCond {
	cc := &compiledCond{r: resolve(cond.Column), empty: cond.Empty}
	if cond.In != nil {
		cc.in = map[string]bool{}
		for _, v := range cond.In {
			cc.in[strings.ToLower(strings.TrimSpace(v))] = true
		}
	}
	if cond.NotIn != nil {
		cc.notIn = map[string]bool{}
		for _, v := range cond.NotIn {
			cc.notIn[strings.ToLower(strings.TrimSpace(v))] = true
		}
	}
	return cc
}

func (c *converter) compileCol(col legacy.Column, cs *ColumnSpec, resolve func(string) ref) (*compiledCol, error) {
	cc := &compiledCol{out: col.Index, name: col.Name, spec: cs, sep: " ", field: col.Name,
		sensitive: col.Sensitive, counts: map[string]int{}, srcLoc: c.srcLoc}
	if cs.Separator != nil {
		cc.sep = *cs.Separator
	}
	if cs.Field != "" {
		cc.field = cs.Field
	}
	if cs.Column != "" {
		cc.refs = append(cc.refs, resolve(cs.Column))
	}
	for _, r := range cs.Columns {
		cc.refs = append(cc.refs, resolve(r))
	}
	for _, r := range cs.Fallback {
		cc.fallback = append(cc.fallback, resolve(r))
	}
	for _, r := range cs.Plus {
		cc.plus = append(cc.plus, resolve(r))
	}
	for _, r := range cs.Minus {
		cc.minus = append(cc.minus, resolve(r))
	}
	if cs.Map != nil {
		if cs.Map.Name != "" {
			cc.mapName, cc.vmap = cs.Map.Name, c.m.Maps[cs.Map.Name]
		} else {
			cc.mapName, cc.vmap = "(inline)", cs.Map.Inline
		}
		cc.vmap = foldMap(cc.vmap)
	}
	for _, l := range cs.Layouts {
		tl, err := compileLayout(l)
		if err != nil {
			return nil, err
		}
		cc.layouts = append(cc.layouts, tl)
	}
	if cs.Timezone != "" {
		loc, err := time.LoadLocation(cs.Timezone)
		if err != nil {
			return nil, err
		}
		cc.srcLoc = loc
	}
	for _, d := range cs.Default {
		cd := compiledDefault{value: d.Value}
		if d.When != nil {
			cd.when = compileCond(d.When, resolve)
		}
		cc.defaults = append(cc.defaults, cd)
	}
	return cc, nil
}

// foldMap adds a lower-cased, trimmed key for every key, so lookups ignore
// case and surrounding spaces when no exact key matches.
func foldMap(m ValueMap) ValueMap {
	out := make(ValueMap, len(m)*2)
	for k, v := range m {
		out[k] = v
	}
	for k, v := range m {
		f := "\x00" + strings.ToLower(strings.TrimSpace(k))
		if _, ok := out[f]; !ok {
			out[f] = v
		}
	}
	return out
}

// show is a value safe to print: masked whole when the column is sensitive
// or the value is a card number (dots allowed), else with any card number
// in it masked (cardnum.MaskText).
func show(v string, sensitive bool) string {
	if sensitive || looksLikeCard(v) {
		return legacy.Mask(v)
	}
	return cardnum.MaskText(v)
}

func (c *converter) eval(k legacy.Kind, cc *compiledCol, rc *rowCtx, table string, row int) string {
	cs := cc.spec
	bad := func(rule string, r ref, msg string) {
		p := Problem{Rule: rule, Kind: k, Table: table, Row: row, Column: r.name, Output: cc.name, Message: msg}
		if r.t > 0 {
			p.Message += " (from the joined row)"
		}
		c.problem(p)
	}
	var v string
	if cs.Const != nil {
		cc.counts[InventedConstant]++
		return *cs.Const
	}
	var first ref
	if len(cc.refs) > 0 {
		first = cc.refs[0]
	}
	if len(cc.refs) == 1 {
		v = rc.get(first)
	} else if len(cc.refs) > 1 {
		var parts []string
		for _, r := range cc.refs {
			if s := rc.get(r); s != "" {
				parts = append(parts, s)
			}
		}
		v = strings.Join(parts, cc.sep)
	}
	for _, r := range cc.fallback {
		if v != "" {
			break
		}
		v, first = rc.get(r), r
	}
	if v != "" && cc.vmap != nil {
		mv, ok := cc.vmap[v]
		if !ok {
			mv, ok = cc.vmap["\x00"+strings.ToLower(v)]
		}
		if !ok {
			bad(RuleNotInMap, first, fmt.Sprintf("value %q is not in map %s", show(v, cc.sensitive), cc.mapName))
			return ""
		}
		switch {
		case mv.Scalar != nil:
			v = *mv.Scalar
		case mv.Fields != nil:
			fv := mv.Fields[cc.field]
			if fv == nil {
				bad(RuleNotInMap, first, fmt.Sprintf("the entry for %q in map %s has no %s value", show(v, cc.sensitive), cc.mapName, cc.field))
				return ""
			}
			v = *fv
		default:
			bad(RuleNotInMap, first, fmt.Sprintf("the entry for %q in map %s is null: fill it in", show(v, cc.sensitive), cc.mapName))
			return ""
		}
	}
	if (v != "" || cs.Format == fmtAmount && len(cc.plus)+len(cc.minus) > 0) && cs.Format != fmtText {
		out, err := c.format(cc, v, rc)
		if err != nil {
			bad(RuleBadValue, first, fmt.Sprintf("%s value %q %v", cs.Format, show(v, cc.sensitive), err))
			return ""
		}
		v = out
	}
	if cs.KeepLast > 0 {
		if r := []rune(v); len(r) > cs.KeepLast {
			v = string(r[len(r)-cs.KeepLast:])
		}
	}
	if v == "" {
		for _, d := range cc.defaults {
			if d.when == nil || d.when.match(rc) {
				cc.counts[InventedDefault]++
				return d.value
			}
		}
		if cs.Dummy != nil {
			cc.counts[InventedDummy]++
			return *cs.Dummy
		}
	}
	return v
}

func (c *converter) format(cc *compiledCol, v string, rc *rowCtx) (string, error) {
	switch cc.spec.Format {
	case fmtDatetime, fmtDate:
		t, l, adj, err := parseTime(v, cc.layouts, cc.srcLoc)
		if err != nil {
			return "", err
		}
		if adj != crm.Exact {
			c.report.Adjusted++
		}
		if cc.spec.Format == fmtDate {
			if !l.clock && !l.zoned {
				return t.Format(crm.DateLayout), nil
			}
			return t.In(c.account).Format(crm.DateLayout), nil
		}
		if !l.clock && !l.zoned {
			return t.Format(crm.WallLayout), nil // a date alone: midnight
		}
		return t.In(c.account).Format(crm.WallLayout), nil
	case fmtAmount:
		return c.amount(cc, v, rc)
	case fmtPhone:
		return phone(v), nil
	case fmtDigits:
		return digitsOnly(v), nil
	case fmtCard:
		return cardSeparators.Replace(v), nil
	case fmtFirstName:
		f, _ := splitName(v)
		return f, nil
	case fmtLastName:
		_, l := splitName(v)
		return l, nil
	case fmtExpMonth:
		mo, _, err := expiry(v, false)
		if err == nil && mo == "" {
			err = errors.New("has no month")
		}
		return mo, err
	case fmtExpYear:
		_, y, err := expiry(v, true)
		if err == nil && y == "" {
			err = errors.New("has no year")
		}
		return y, err
	case fmtBit:
		return bit(v)
	case fmtCountry:
		return country(v)
	case fmtUpper:
		return strings.ToUpper(v), nil
	case fmtLower:
		return strings.ToLower(v), nil
	case fmtPostal:
		return strings.TrimSpace(strings.TrimPrefix(v, "'")), nil
	}
	return v, nil
}

// amount reads the value and the plus and minus columns exactly: in int64
// cents when every operand has at most two decimals, else in decimal (which
// then refuses a result with more than two).
func (c *converter) amount(cc *compiledCol, v string, rc *rowCtx) (string, error) {
	if v == "" && len(cc.refs) > 0 {
		return "", nil // no base amount: leave it to defaults
	}
	sep := cc.spec.Decimal
	if sep == "" {
		sep = "."
	}
	type operand struct {
		clean string
		sign  int64
	}
	ops := make([]operand, 0, 1+len(cc.plus)+len(cc.minus))
	add := func(raw string, sign int64, what string) error {
		if raw == "" {
			return nil // an empty plus or minus column counts as zero
		}
		cl, err := cleanAmount(raw, sep)
		if err != nil {
			if what != "" {
				return fmt.Errorf("(%s): %v", what, err)
			}
			return err
		}
		ops = append(ops, operand{cl, sign})
		return nil
	}
	if err := add(v, 1, ""); err != nil {
		return "", err
	}
	for _, r := range cc.plus {
		if err := add(rc.get(r), 1, "plus "+r.name); err != nil {
			return "", err
		}
	}
	for _, r := range cc.minus {
		if err := add(rc.get(r), -1, "minus "+r.name); err != nil {
			return "", err
		}
	}
	var sum int64
	fast := true
	for _, o := range ops {
		n, ok := amountCents(o.clean, cc.spec.Cents)
		if !ok {
			fast = false
			break
		}
		sum += o.sign * n
	}
	if fast {
		return crm.Money(sum).String(), nil
	}
	d := decimal.Zero
	for _, o := range ops {
		x, err := decimal.NewFromString(o.clean)
		if err != nil {
			return "", errors.New("not a number")
		}
		if cc.spec.Cents {
			x = x.Shift(-2)
		}
		if o.sign < 0 {
			x = x.Neg()
		}
		d = d.Add(x)
	}
	return writeAmount(d)
}

// cardSeparators are what people put between a card number's digits.
var cardSeparators = strings.NewReplacer(" ", "", "-", "", ".", "")

// looksLikeCard reports a 13-19 digit Luhn-valid run (spaces and dashes
// allowed), the shape of a card number.
func looksLikeCard(v string) bool {
	d := cardSeparators.Replace(v)
	if len(d) < 13 || len(d) > 19 || digitsOnly(d) != d {
		return false
	}
	return cardnum.Luhn(d)
}
