package fix

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/legacy"
)

// CSVLog writes changes as CSV: file,row,column,field,rule,before,after.
type CSVLog struct {
	w      *csv.Writer
	header bool
}

// NewCSVLog returns a CSV change log writing to w. Call Close at the end.
func NewCSVLog(w io.Writer) *CSVLog { return &CSVLog{w: csv.NewWriter(w)} }

// Add writes one change.
func (l *CSVLog) Add(c Change) error {
	if !l.header {
		l.header = true
		if err := l.w.Write([]string{"file", "row", "column", "field", "rule", "before", "after"}); err != nil {
			return err
		}
	}
	return l.w.Write([]string{c.File, strconv.Itoa(c.Row), c.Column, c.Field, c.Rule, c.Before, c.After})
}

// Close writes the header of an empty log and flushes.
func (l *CSVLog) Close() error {
	if !l.header {
		l.header = true
		if err := l.w.Write([]string{"file", "row", "column", "field", "rule", "before", "after"}); err != nil {
			return err
		}
	}
	l.w.Flush()
	return l.w.Error()
}

// JSONLog writes changes as a JSON array of objects, streaming.
type JSONLog struct {
	w *bufio.Writer
	n int
}

// NewJSONLog returns a JSON change log writing to w. Call Close at the end.
func NewJSONLog(w io.Writer) *JSONLog { return &JSONLog{w: bufio.NewWriter(w)} }

// Add writes one change.
func (l *JSONLog) Add(c Change) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	sep := ",\n  "
	if l.n == 0 {
		sep = "[\n  "
	}
	l.n++
	l.w.WriteString(sep)
	_, err = l.w.Write(b)
	return err
}

// Close ends the array and flushes.
func (l *JSONLog) Close() error {
	if l.n == 0 {
		l.w.WriteString("[")
	}
	l.w.WriteString("\n]\n")
	return l.w.Flush()
}

// Result is the outcome of fixing a set of files.
type Result struct {
	Files   []FileResult    `json:"files"`
	Blocked []*BlockedError `json:"-"`
}

// ByRule sums the changes of every file by rule, in the order of
// check.Rules.
func (r *Result) ByRule() []RuleChanges {
	sum := map[string]int{}
	for _, f := range r.Files {
		for k, n := range f.Changes {
			sum[k] += n
		}
	}
	var out []RuleChanges
	for _, rule := range check.Rules {
		if n := sum[rule.ID]; n > 0 {
			out = append(out, RuleChanges{Rule: rule.ID, Count: n, Summary: rule.Summary})
		}
	}
	return out
}

// RuleChanges counts the changes made for one rule.
type RuleChanges struct {
	Rule    string `json:"rule"`
	Count   int    `json:"count"`
	Summary string `json:"summary"`
}

// Files fixes each input path into dir under the same base name. A file
// with a problem fix cannot repair is not written; its *BlockedError is in
// the result. On an I/O error or cancellation, the files this call wrote are
// removed, so no partial set is left.
func Files(ctx context.Context, paths []string, dir string, opts Options, log ChangeLog) (*Result, error) {
	seen := map[string]string{}
	for _, p := range paths {
		b := filepath.Base(p)
		if q, ok := seen[b]; ok {
			return nil, fmt.Errorf("fix: %s and %s would both be written to %s", q, p, filepath.Join(dir, b))
		}
		seen[b] = p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	res := &Result{}
	var written []string
	fail := func(err error) (*Result, error) {
		for _, w := range written {
			os.Remove(w)
		}
		return nil, err
	}
	for _, in := range legacy.FileInputs(paths) {
		out := filepath.Join(dir, filepath.Base(in.Name))
		var fr *FileResult
		err := atomicfile.Write(ctx, out, atomicfile.Options{Perm: 0o600, Inputs: paths}, func(w io.Writer) error {
			var err error
			fr, err = File(ctx, in, w, opts, log)
			return err
		})
		var be *BlockedError
		if errors.As(err, &be) {
			res.Blocked = append(res.Blocked, be)
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("fix %s: %w", in.Name, err))
		}
		fr.Output = out
		written = append(written, out)
		res.Files = append(res.Files, *fr)
	}
	sort.SliceStable(res.Blocked, func(i, j int) bool { return res.Blocked[i].File < res.Blocked[j].File })
	return res, nil
}
