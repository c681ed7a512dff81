package report

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/rollup"
)

// Filter keeps the figures of the transactions whose breakdown By (one of
// ByValues) is one of Values, each an id or a name (Match). Filters on
// different breakdowns all apply (campaign Foo and merchant 12); several
// values of one breakdown, or several filters on it, keep any of them.
//
// A filter means what a breakdown's group means in each report, so a
// filter on one breakdown gives exactly that group's figures:
//   - summary, reconcile, chargebacks: the events of matching transactions
//     (new customers: those whose first sale matches);
//   - lifetime value: the customers whose first sale matches, with all
//     their later events (as a cohort's group is its first sale's);
//   - retention: the subscriptions whose cycle-1 sale matches (the
//     products' billing intervals stay those of every subscription).
//
// A currency filter is --currency (Query.Currency): one currency at a time.
type Filter struct {
	By     string
	Values []string
}

// String is "campaign=Foo" (values joined by "|").
func (f Filter) String() string { return f.By + "=" + strings.Join(f.Values, "|") }

// filterAliases are other names a filter accepts for a breakdown.
var filterAliases = map[string]string{"mid": "merchant", "aff": "affiliate", "subaff": "subaffiliate", "card_brand": "brand"}

// FilterBy is the breakdown a filter's dimension names: a breakdown name,
// its transactions column (campaign_id) or an alias (mid).
func FilterBy(dim string) (string, error) {
	dim = strings.ToLower(strings.TrimSpace(dim))
	if a, ok := filterAliases[dim]; ok {
		dim = a
	}
	for _, b := range crm.Breakdowns {
		if dim == b.Name || dim == b.Column {
			return b.Name, nil
		}
	}
	return "", fmt.Errorf("unknown filter dimension %q (want %s, or mid)", dim, strings.Join(ByValues, ", "))
}

// ParseFilter reads "dimension=value", e.g. "campaign=Summer Trial" or
// "mid=12".
func ParseFilter(s string) (Filter, error) {
	dim, val, ok := strings.Cut(s, "=")
	if !ok {
		return Filter{}, fmt.Errorf("filter %q: want dimension=value, e.g. campaign=Foo or mid=12", s)
	}
	by, err := FilterBy(dim)
	if err != nil {
		return Filter{}, err
	}
	val = strings.TrimSpace(val)
	if val == "" {
		return Filter{}, fmt.Errorf("filter %q: the value is empty", s)
	}
	return Filter{By: by, Values: []string{val}}, nil
}

// rfilter is a filter resolved to ids: one per transactions column.
type rfilter struct {
	by, column string
	ids        []string // sorted
	set        map[string]bool
}

// filters gathers the query's filters (Filters, and Only on By) per
// breakdown; a currency filter becomes Currency.
func (q Query) gather() (Query, map[string][]string, error) {
	per := map[string][]string{}
	add := func(by, v string) {
		if v = strings.TrimSpace(v); v != "" && !contains(per[by], v) {
			per[by] = append(per[by], v)
		}
	}
	if q.Only != "" {
		if q.By == "" {
			return q, nil, fmt.Errorf("a filter needs a breakdown (--by)")
		}
		add(q.By, q.Only)
		q.Only = ""
	}
	for _, f := range q.Filters {
		by, err := FilterBy(f.By)
		if err != nil {
			return q, nil, err
		}
		for _, v := range f.Values {
			add(by, v)
		}
	}
	if cs, ok := per["currency"]; ok {
		delete(per, "currency")
		for _, c := range cs {
			c = strings.ToUpper(c)
			if q.Currency != "" && !strings.EqualFold(q.Currency, c) {
				return q, nil, fmt.Errorf("a report shows one currency at a time: filters name %s and %s", strings.ToUpper(q.Currency), c)
			}
			q.Currency = c
		}
	}
	return q, per, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// prepare readies a query for a report: its filters resolved to ids (an
// unknown id or name is an error listing the known ones) and its currency
// checked (scoped).
func (q Query) prepare(ctx context.Context, sumsMoney bool) (Query, error) {
	if q.prepared {
		return q, nil
	}
	q, per, err := q.gather()
	if err != nil {
		return q, err
	}
	q.Filters = nil
	if q, err = q.scoped(ctx, sumsMoney); err != nil {
		return q, err
	}
	q.filt = nil
	for by, vals := range per {
		set := map[string]bool{}
		for _, v := range vals {
			ids, err := Match(ctx, q, by, v)
			if err != nil {
				return q, err
			}
			for id := range ids {
				set[id] = true
			}
		}
		f := rfilter{by: by, column: mustColumn(by), set: set}
		for id := range set {
			f.ids = append(f.ids, id)
		}
		sort.Strings(f.ids)
		q.filt = append(q.filt, f)
	}
	sort.Slice(q.filt, func(i, j int) bool { return q.filt[i].column < q.filt[j].column })
	// The resolved filters stay visible to the caller as Filters (ids).
	for _, f := range q.filt {
		q.Filters = append(q.Filters, Filter{By: f.by, Values: f.ids})
	}
	q.prepared = true
	return q, nil
}

// filterSQL is the condition (" AND col IN (?, ...) ...", alias "" or
// "t.") that keeps the filtered transactions, and its arguments.
func (q *Query) filterSQL(alias string) (string, []any) {
	var b strings.Builder
	var args []any
	for _, f := range q.filt {
		b.WriteString(" AND " + alias + f.column + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(f.ids)), ", ") + ")")
		for _, id := range f.ids {
			args = append(args, id)
		}
	}
	return b.String(), args
}

// filterCols are the filtered columns as extra SELECT expressions
// (", t.campaign_id, ..."), for a report that judges a customer or a
// subscription by one of its rows (matches).
func (q *Query) filterCols(alias string) string {
	var b strings.Builder
	for _, f := range q.filt {
		b.WriteString(", " + alias + f.column)
	}
	return b.String()
}

// matches says whether a row whose filterCols hold vals passes every filter.
func (q *Query) matches(vals []string) bool {
	for i, f := range q.filt {
		if !f.set[vals[i]] {
			return false
		}
	}
	return true
}

// filterDests are scan destinations for filterCols.
func filterDests(vals []string) []any {
	out := make([]any, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out
}

// rollupPlan says whether a report may read the rollups, which are kept by
// one breakdown at a time: with no filter, or filters on the breakdown's
// own dimension, or (without a breakdown) a filter on one dimension that
// names one id. Filters on several dimensions read the transactions.
// keep is the filter on the rollups' groups; group is the group a rollup
// group is reported under ("" without a breakdown).
type rollupPlan struct {
	zone  string
	dim   int
	ok    bool
	keep  func(string) bool
	group func(string) string
}

func (q *Query) rollups(ctx context.Context) (rollupPlan, error) {
	var p rollupPlan
	if q.NoRollup || q.restrict {
		return p, nil
	}
	col, err := ByColumn(q.By)
	if err != nil {
		return p, err
	}
	switch {
	case len(q.filt) > 1:
		return p, nil
	case len(q.filt) == 1:
		f := q.filt[0]
		if col != "" && col != f.column {
			return p, nil
		}
		if col == "" && len(f.ids) != 1 {
			// Orders are counted per group: two groups of one name could
			// count an order twice.
			return p, nil
		}
		col = f.column
		p.keep = func(g string) bool { return f.set[g] }
	}
	if p.dim, err = rollup.Dim(col); err != nil {
		// A breakdown the rollups do not keep (currency, card brand) is
		// read from the transactions.
		return rollupPlan{}, nil
	}
	if p.keep == nil {
		p.keep = func(string) bool { return true }
	}
	p.group = func(g string) string { return g }
	if q.By == "" {
		p.group = func(string) string { return "" }
	}
	p.zone, p.ok, err = rollup.Ready(ctx, q.Store, q.Integration)
	return p, err
}
