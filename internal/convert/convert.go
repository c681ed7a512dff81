package convert

import (
	"context"
	"errors"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"path"
	"path/filepath"
	"regexp"
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
	"github.com/konduit/konduit/internal/normalize"
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

// kindProv holds, per import row, the source row of its driving table and
// of each joined table, column by column (a few bytes per row).
type kindProv struct {
	names   []string         // table names, indexed by tab values
	nameIdx map[string]int32 // the reverse
	parts   []map[string]int // per part: import column -> slot it was read from (0: driving)
	part    []uint16         // per import row: its part
	tab     [][]uint16       // [slot][import row]: table of the source row
	row     [][]int32        // [slot][import row]: source row, 0 when a join found none
}

func (kp *kindProv) table(name string) uint16 {
	if i, ok := kp.nameIdx[name]; ok {
		return uint16(i)
	}
	kp.nameIdx[name] = int32(len(kp.names))
	kp.names = append(kp.names, name)
	return uint16(kp.nameIdx[name])
}

// add records one import row: its part, and the table and row of each slot.
func (kp *kindProv) add(part int, tables []string, rows []int32) {
	kp.part = append(kp.part, uint16(part))
	for len(kp.tab) < len(rows) {
		kp.tab = append(kp.tab, make([]uint16, len(kp.part)-1))
		kp.row = append(kp.row, make([]int32, len(kp.part)-1))
	}
	for s := range kp.tab {
		var t uint16
		var r int32
		if s < len(rows) && rows[s] > 0 {
			t, r = kp.table(tables[s]), rows[s]
		}
		kp.tab[s] = append(kp.tab[s], t)
		kp.row[s] = append(kp.row[s], r)
	}
}

// Lookup returns the source of import row outRow (the header is row 1) of
// kind, for column (or the driving row when column is "" or not sourced
// from a join).
func (p *Provenance) Lookup(k legacy.Kind, outRow int, column string) (Origin, bool) {
	kp := p.kinds[k]
	if kp == nil || outRow < 2 || outRow-2 >= len(kp.part) {
		return Origin{}, false
	}
	i := outRow - 2
	s := 0
	if j, ok := kp.parts[kp.part[i]][column]; ok && kp.row[j][i] > 0 {
		s = j
	}
	return Origin{Table: kp.names[kp.tab[s][i]], Row: int(kp.row[s][i])}, true
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
		for i := range kp.part {
			if err := lw.Write([]string{k.FileName(), fmt.Sprint(i + 2), kp.names[kp.tab[0][i]], fmt.Sprint(kp.row[0][i])}); err != nil {
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
	patches   []compiledPatch
	when      *compiledCond
	sensitive bool
	counts    map[string]int
}

type compiledPatch struct {
	value *string
	re    *regexp.Regexp
	with  string
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
	tables []string // the tables of the source, indexed by joined.table
}

type joined struct {
	table  int32
	row    int32
	values []string
}

// rowCtx is the record being converted and its joined rows.
type rowCtx struct {
	fields [][]string // [0] driving fields; [j] joined values (by kept index)
	tables []string   // [0] the driving record's table; [j] joined table
	rows   []int32    // the source row of each
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
	tables   map[string][]source.Table // source name -> its tables
	infos    map[string]*TableInfo     // table name -> info
	archives []*source.Archive
	// reported holds the joined-table values already reported bad: an
	// error in a lookup row is reported once, against that row.
	reported map[string]bool
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
		prov: &Provenance{kinds: map[legacy.Kind]*kindProv{}}, infos: map[string]*TableInfo{}, reported: map[string]bool{}}
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
		out := m.Output(k)
		if out == nil {
			continue
		}
		haveOutput = true
		spec := legacy.SpecFor(k)
		for _, o := range out.parts() {
			errs = append(errs, c.checkPart(k, spec, o, &needZone)...)
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

// checkPart checks one driving table of an output.
func (c *converter) checkPart(k legacy.Kind, spec *legacy.Spec, o *OutputSpec, needZone *bool) []string {
	m := c.m
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
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
				if tl.Clock {
					*needZone = true
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

	return errs
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
		out := c.m.Output(k)
		if out == nil {
			continue
		}
		for _, o := range out.parts() {
			joins := map[string]bool{}
			for _, j := range o.Join {
				joins[j.Source] = true
				add(j.Source, j.Key)
				if s, col, ok := strings.Cut(j.On, "."); ok && joins[s] && s != j.Source {
					add(s, col)
				} else {
					add(o.From, j.On)
				}
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

// assign opens every source file and decides which tables each source is.
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
	for _, k := range legacy.Kinds {
		if o := c.m.Output(k); o != nil {
			for _, p := range o.parts() {
				used[p.From] = true
				for _, j := range p.Join {
					used[j.Source] = true
				}
			}
		}
	}
	need := c.needed()
	c.tables = map[string][]source.Table{}
	taken := map[string]bool{}
	var pending []string
	var errs []string
	for _, name := range c.m.order {
		if !used[name] {
			continue
		}
		spec := c.m.Sources[name]
		var globs []string
		if spec != nil {
			if spec.File != "" {
				globs = append(globs, spec.File)
			}
			globs = append(globs, spec.Files...)
		}
		var cand []source.Table
		for _, t := range tables {
			if taken[t.Name()] {
				continue
			}
			if len(globs) > 0 {
				for _, g := range globs {
					if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(t.Base())); ok {
						cand = append(cand, t)
						break
					}
				}
			} else if hasAll(headers[t.Name()], need[name]) {
				cand = append(cand, t)
			}
		}
		switch {
		case len(globs) > 0 && len(cand) == 0:
			errs = append(errs, fmt.Sprintf("source %q: no source file matches %s", name, strings.Join(quoteAll(globs), ", ")))
		case len(globs) > 0:
			// Every match is part of the source: one header for all.
			first := headers[cand[0].Name()]
			for _, t := range cand[1:] {
				if !sameHeader(first, headers[t.Name()]) {
					errs = append(errs, fmt.Sprintf("source %q: %s and %s match %s but their headers differ; a source's files share one header",
						name, cand[0].Name(), t.Name(), strings.Join(quoteAll(globs), ", ")))
				}
			}
			c.tables[name] = cand
			for _, t := range cand {
				taken[t.Name()] = true
			}
		case len(cand) == 1 || len(cand) > 1 && allSameHeader(cand, headers):
			// By header: one table, or several with one header (a
			// split export).
			c.tables[name] = cand
			for _, t := range cand {
				taken[t.Name()] = true
			}
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
		if len(pending) == 1 && len(free) > 1 && allSameHeader(free, headers) {
			// One source left and several files with one header: a
			// split export.
			c.tables[pending[0]] = free
			for _, t := range free {
				taken[t.Name()] = true
			}
		} else if len(pending) == len(free) {
			for i, name := range pending {
				c.tables[name] = []source.Table{free[i]}
				taken[free[i].Name()] = true
			}
		} else {
			errs = append(errs, fmt.Sprintf("cannot tell which file is source %s among %d unmatched file(s); name them with file: globs", strings.Join(quoteAll(pending), ", "), len(free)))
		}
	}
	if len(errs) > 0 {
		return &MappingError{File: c.m.path, Problems: errs}
	}
	for name, ts := range c.tables {
		for _, t := range ts {
			c.infos[t.Name()] = &TableInfo{Name: t.Name(), Source: name}
		}
	}
	for _, t := range tables {
		if !taken[t.Name()] {
			c.infos[t.Name()] = &TableInfo{Name: t.Name()}
		}
	}
	return nil
}

func allSameHeader(ts []source.Table, headers map[string][]string) bool {
	for _, t := range ts[1:] {
		if !sameHeader(headers[ts[0].Name()], headers[t.Name()]) {
			return false
		}
	}
	return true
}

func sameHeader(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(strings.TrimSpace(a[i]), strings.TrimSpace(b[i])) {
			return false
		}
	}
	return true
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

// multiReader reads the tables of one source in order, as one table.
type multiReader struct {
	c      *converter
	ctx    context.Context
	opts   source.Options
	tables []source.Table
	i      int
	cur    *source.Reader
	name   string // the name of the table being read
	nread  int
}

func (c *converter) openTable(ctx context.Context, name string) (*multiReader, error) {
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
	mr := &multiReader{c: c, ctx: ctx, opts: opts, tables: c.tables[name]}
	if err := mr.open(); err != nil {
		return nil, err
	}
	return mr, nil
}

func (mr *multiReader) open() error {
	t := mr.tables[mr.i]
	r, err := source.NewReader(mr.ctx, t, mr.opts)
	if err != nil {
		return err
	}
	ti := mr.c.infos[t.Name()]
	ti.Encoding, ti.Delimiter, ti.Dropped = r.Encoding(), fmt.Sprintf("%q", r.Delimiter()), r.Dropped()
	mr.cur, mr.nread, mr.name = r, 0, t.Name()
	return nil
}

// Current is the name of the table the last record came from.
func (mr *multiReader) Current() string { return mr.name }

// Header is the header of the source's first table (all share it).
func (mr *multiReader) Header() []string { return mr.cur.Header() }

// Name is the first table's name, for problems about the source as a whole.
func (mr *multiReader) Name() string { return mr.tables[0].Name() }

// Read returns the next record of the source, from whichever table holds it.
func (mr *multiReader) Read() (source.Record, error) {
	for {
		rec, err := mr.cur.Read()
		if errors.Is(err, io.EOF) {
			mr.finish()
			if mr.i+1 >= len(mr.tables) {
				return source.Record{}, io.EOF
			}
			mr.cur.Close()
			mr.i++
			if err := mr.open(); err != nil {
				return source.Record{}, err
			}
			continue
		}
		if err == nil {
			mr.nread++
		}
		return rec, err
	}
}

func (mr *multiReader) finish() {
	mr.c.countTable(mr.c.infos[mr.tables[mr.i].Name()], mr.nread, mr.cur.DroppedValues())
}

// Close releases the table being read.
func (mr *multiReader) Close() error { return mr.cur.Close() }

// convertKind writes every driving table of k into w.
func (c *converter) convertKind(ctx context.Context, k legacy.Kind, w io.Writer) error {
	out := c.m.Output(k)
	spec := legacy.SpecFor(k)
	lw := legacy.NewWriter(w)
	lw.CRLF = c.opts.CRLF
	if err := lw.Write(spec.Header()); err != nil {
		return fmt.Errorf("write %s: %w", k.FileName(), err)
	}
	kp := &kindProv{nameIdx: map[string]int32{}}
	c.prov.kinds[k] = kp
	info := OutputInfo{Kind: k, Path: filepath.Join(c.opts.OutDir, k.FileName())}
	seen := map[string]bool{}
	for pi, o := range out.parts() {
		if err := c.convertPart(ctx, k, o, pi, lw, kp, &info, seen); err != nil {
			return err
		}
	}
	if err := lw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", k.FileName(), err)
	}
	c.report.Outputs = append(c.report.Outputs, info)
	return ctx.Err()
}

// convertPart streams one driving table of k (with its joins) into lw.
func (c *converter) convertPart(ctx context.Context, k legacy.Kind, o *OutputSpec, part int, lw *legacy.Writer, kp *kindProv, info *OutputInfo, seen map[string]bool) error {
	spec := legacy.SpecFor(k)
	drv, err := c.openTable(ctx, o.From)
	if err != nil {
		return err
	}
	defer drv.Close()
	drvName := drv.Name()
	slots := map[string]int{}
	kp.parts = append(kp.parts, slots)
	headers := [][]string{drv.Header()}
	// Joins: index the joined side by key, keeping only the columns used.
	joins := make([]*joinIndex, len(o.Join))
	joinNames := map[string]int{}
	for i, j := range o.Join {
		ji, err := c.buildJoin(ctx, k, o, j, drvName, drv.Header(), joins[:i], joinNames)
		if err != nil {
			return err
		}
		joins[i] = ji
		joinNames[j.Source] = i + 1
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
			if col.Required.Always && !col.Required.EmptyIsWarning && part == 0 {
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
			slots[col.Name] = cc.refs[0].t
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
	row := make([]string, len(spec.Columns))
	rc := &rowCtx{fields: make([][]string, 1+len(joins)), tables: make([]string, 1+len(joins)), rows: make([]int32, 1+len(joins))}
	distinctIdx := -1
	if o.DistinctBy != "" {
		distinctIdx = spec.Index(o.DistinctBy)
	}
	for {
		rec, err := drv.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *source.RowError
		if errors.As(err, &re) {
			c.problem(Problem{Rule: RuleSource, Kind: k, Table: re.Table, Row: re.Row, Message: re.Err.Error()})
			continue
		}
		if err != nil {
			return err
		}
		tbl := drv.Current()
		rc.fields[0], rc.tables[0], rc.rows[0] = rec.Fields, tbl, int32(rec.Row)
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
			rc.fields[i+1], rc.rows[i+1], rc.tables[i+1] = nil, 0, ""
			key := rc.get(ji.on)
			if ji.spec.IgnoreCase {
				key = strings.ToLower(key)
			}
			if j, ok := ji.byKey[key]; ok && key != "" {
				rc.fields[i+1], rc.rows[i+1], rc.tables[i+1] = j.values, j.row, ji.tables[j.table]
			} else if ji.spec.Required && !ji.broken {
				c.problem(Problem{Rule: RuleJoinMissing, Kind: k, Table: tbl, Row: rec.Row, Column: ji.spec.On,
					Message: fmt.Sprintf("no row of %s has %s equal to this row's %s", ji.table, ji.spec.Key, ji.spec.On)})
			}
		}
		for i := range row {
			row[i] = ""
		}
		for _, cc := range cols {
			row[cc.out] = c.eval(k, cc, rc)
		}
		for _, col := range condMissing {
			if conditionsHold(spec, row, col.Required.When) {
				c.problem(Problem{Rule: RuleUnmapped, Kind: k, Table: tbl, Row: rec.Row, Output: col.Name,
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
		kp.add(part, rc.tables, rc.rows)
	}
	for _, cc := range cols {
		for _, how := range []string{InventedConstant, InventedDefault, InventedDummy} {
			if n := cc.counts[how]; n > 0 {
				c.invented(Invented{Kind: k, Column: cc.name, How: how, Count: n})
			}
		}
	}
	return ctx.Err()
}

// invented adds to the count of one column's invented values.
func (c *converter) invented(iv Invented) {
	for i, have := range c.report.Invented {
		if have.Kind == iv.Kind && have.Column == iv.Column && have.How == iv.How {
			c.report.Invented[i].Count += iv.Count
			return
		}
	}
	c.report.Invented = append(c.report.Invented, iv)
}

// countTable records a table's rows and discarded (non-empty) CVV-like
// values once, however many outputs read it.
func (c *converter) countTable(ti *TableInfo, rows, dropped int) {
	if ti.counted {
		return
	}
	ti.counted = true
	ti.Rows = rows
	c.report.DroppedValues += dropped
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

func (c *converter) buildJoin(ctx context.Context, k legacy.Kind, o *OutputSpec, j JoinSpec, drvName string, drvHeader []string,
	earlier []*joinIndex, joinNames map[string]int) (*joinIndex, error) {
	r, err := c.openTable(ctx, j.Source)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	name := r.Name()
	ji := &joinIndex{spec: j, byKey: map[string]joined{}, table: name}
	for _, t := range c.tables[j.Source] {
		ji.tables = append(ji.tables, t.Name())
	}
	hdr := r.Header()
	// on: is a column of the driving source, or "source.column" of a
	// source joined before this one (a lookup of a lookup).
	ji.on = ref{t: 0, idx: findCol(drvHeader, j.On), name: j.On}
	if s, col, ok := strings.Cut(j.On, "."); ok && ji.on.idx < 0 {
		if t, ok := joinNames[s]; ok {
			ji.on = ref{t: t, idx: earlier[t-1].keptIndex(col), name: j.On}
		}
	}
	if ji.on.idx < 0 {
		ji.broken = true
		c.problem(Problem{Rule: RuleNoColumn, Kind: k, Table: drvName, Row: 1, Column: j.On,
			Message: fmt.Sprintf("join on: names column %q, which the driving source (or an earlier join) does not have", j.On)})
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
	for _, later := range o.Join { // a later join's on: may name a column here
		if col, ok := strings.CutPrefix(later.On, prefix); ok {
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
	tables := map[string]int32{}
	for i, t := range ji.tables {
		tables[t] = int32(i)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *source.RowError
		if errors.As(err, &re) {
			c.problem(Problem{Rule: RuleSource, Kind: k, Table: re.Table, Row: re.Row, Message: re.Err.Error()})
			continue
		}
		if err != nil {
			return nil, err
		}
		tbl := r.Current()
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
				c.problem(Problem{Rule: RuleJoinDup, Kind: k, Table: tbl, Row: rec.Row, Column: j.Key,
					Message: fmt.Sprintf("key repeats row %d; set duplicates: first or last to choose", first[key])})
				continue
			}
		} else {
			first[key] = int32(rec.Row)
		}
		ji.byKey[key] = joined{table: tables[tbl], row: int32(rec.Row), values: vals}
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
	if cs.When != nil {
		cc.when = compileCond(cs.When, resolve)
	}
	for _, p := range cs.Patch {
		cp := compiledPatch{with: p.With}
		if p.Value != nil {
			v := strings.TrimSpace(*p.Value)
			cp.value = &v
		} else {
			re, err := regexp.Compile("^(?:" + p.Pattern + ")$")
			if err != nil {
				return nil, err
			}
			cp.re = re
		}
		cc.patches = append(cc.patches, cp)
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

func (c *converter) eval(k legacy.Kind, cc *compiledCol, rc *rowCtx) string {
	cs := cc.spec
	bad := func(rule string, r ref, msg string) {
		// A problem is reported against the row that holds the value: a bad
		// value in a joined (lookup) row once, however many driving rows
		// read it.
		t := r.t
		if t >= len(rc.rows) || rc.rows[t] == 0 {
			t = 0
		}
		p := Problem{Rule: rule, Kind: k, Table: rc.tables[t], Row: int(rc.rows[t]), Column: r.name, Output: cc.name, Message: msg}
		if t > 0 {
			_, p.Column, _ = strings.Cut(r.name, ".")
			key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", p.Table, p.Row, p.Column, rule)
			if c.reported[key] {
				return
			}
			c.reported[key] = true
			p.Output = ""
			p.Message += fmt.Sprintf(" (a row joined as %s; reported once)", strings.SplitN(r.name, ".", 2)[0])
		}
		c.problem(p)
	}
	var v string
	if cc.when != nil && !cc.when.match(rc) {
		return ""
	}
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
	for _, p := range cc.patches {
		if p.value != nil && v == *p.value {
			v = p.with
			break
		}
		if p.re != nil && p.re.MatchString(v) {
			v = p.re.ReplaceAllString(v, p.with)
			break
		}
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
	if v != "" && (cs.Prefix != "" || cs.Suffix != "") {
		v = cs.Prefix + v + cs.Suffix
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
			if !l.Clock && !l.Zoned {
				return t.Format(crm.DateLayout), nil
			}
			return t.In(c.account).Format(crm.DateLayout), nil
		}
		if !l.Clock && !l.Zoned {
			return t.Format(crm.WallLayout), nil // a date alone: midnight
		}
		return t.In(c.account).Format(crm.WallLayout), nil
	case fmtAmount:
		return c.amount(cc, v, rc)
	case fmtPhone:
		return phone(v)
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
	case fmtState:
		return state(v)
	case fmtUpper:
		return strings.ToUpper(v), nil
	case fmtLower:
		return strings.ToLower(v), nil
	case fmtPostal:
		return normalize.Postal(v), nil
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
