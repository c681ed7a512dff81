package report

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/konduit/konduit/internal/store"
)

// names are the display names of a breakdown's ids (the names tables the
// sync fills, migration 0010). A breakdown without names (country,
// currency, ...) has none, and neither do legacy loads: their files carry
// ids only.
type names struct {
	column string
	named  bool
	m      map[string]string
}

// namesOf reads the names of a transactions column.
func namesOf(ctx context.Context, q Query, column string) (names, error) {
	n := names{column: column, named: store.Named(column)}
	if !n.named {
		return n, nil
	}
	m, err := q.Store.Names(ctx, q.Integration, column)
	if err != nil {
		return n, err
	}
	n.m = m
	return n, nil
}

// of is an id's name ("" when it has none).
func (n names) of(id string) string { return n.m[id] }

// ptr is the name for JSON: nil (left out) when the breakdown has no names.
func (n names) ptr(id string) *string {
	if !n.named {
		return nil
	}
	s := n.m[id]
	return &s
}

// NamesNote says why a report shows ids without names, or "": the
// breakdown has names but none are stored (legacy import files carry ids
// only; an API account whose rows give no names).
func NamesNote(ctx context.Context, q Query, by string) (string, error) {
	col, err := ByColumn(by)
	if err != nil || col == "" {
		return "", err
	}
	n, err := namesOf(ctx, q, col)
	if err != nil || !n.named || len(n.m) > 0 {
		return "", err
	}
	return fmt.Sprintf("no %s names are stored (legacy import files carry ids only): %s ids are shown without names", by, by), nil
}

// Match finds the ids of a breakdown a value names: the id itself, or the
// name (case and surrounding spaces ignored). An id matches before a
// name. The error for no match lists what there is, so a filter never
// silently shows an empty table.
func Match(ctx context.Context, q Query, by, value string) (map[string]bool, error) {
	col, err := ByColumn(by)
	if err != nil {
		return nil, err
	}
	if col == "" {
		return nil, fmt.Errorf("a filter needs a breakdown (--by)")
	}
	value = strings.TrimSpace(value)
	if col == "currency" || col == "country" {
		value = strings.ToUpper(value) // codes are stored in capitals
	}
	n, err := namesOf(ctx, q, col)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	var cnt int64
	if err := q.Store.DB().QueryRowContext(ctx, q.Store.Rebind("SELECT COUNT(*) FROM (SELECT 1 FROM transactions WHERE integration_id = ? AND "+col+" = ? LIMIT 1) x"),
		q.Integration, value).Scan(ints(&cnt)...); err != nil {
		return nil, fmt.Errorf("match %s: %w", by, err)
	}
	if cnt > 0 {
		ids[value] = true
		return ids, nil
	}
	for id, name := range n.m {
		if strings.EqualFold(strings.TrimSpace(name), value) {
			ids[id] = true
		}
	}
	if len(ids) > 0 {
		return ids, nil
	}
	var known []string
	for id, name := range n.m {
		known = append(known, fmt.Sprintf("%s (%s)", id, name))
	}
	sort.Strings(known)
	hint := ""
	if len(known) > 0 {
		if len(known) > 10 {
			known = append(known[:10], "...")
		}
		hint = ": known are " + strings.Join(known, ", ")
	}
	return nil, fmt.Errorf("no %s has the id or name %q%s", by, value, hint)
}

// nameHeader is the table header of the names column of a breakdown, or ""
// when the breakdown has none.
func (n names) header(by string) string {
	if !n.named {
		return ""
	}
	return by + "_name"
}

// groupHeader is the table header of a group: its id, then its name when
// the breakdown has names.
func groupHeader(by string, n names) []string {
	if h := n.header(by); h != "" {
		return []string{by, h}
	}
	return []string{by}
}

// groupCells are a group's id and, when the breakdown has names, its name.
func groupCells(id string, n names) []string {
	if n.named {
		return []string{id, n.of(id)}
	}
	return []string{id}
}

// mustColumn is ByColumn for a breakdown already checked ("" otherwise).
func mustColumn(by string) string {
	c, _ := ByColumn(by)
	return c
}
