package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MixedCurrencies is the refusal of a report that would add amounts of
// several currencies (metrics.md "Money and currency"): the data holds
// Currencies and the report was neither restricted to one (--currency) nor
// broken down by currency (--by currency).
type MixedCurrencies struct {
	Currencies []string
}

func (e *MixedCurrencies) Error() string {
	return fmt.Sprintf("the data holds amounts in %s and a report never adds two currencies: choose one with --currency (%s) or break the report down with --by currency",
		strings.Join(shown(e.Currencies), " and "), strings.Join(shown(e.Currencies), ", "))
}

// shown names the unknown currency ("": legacy files say none).
func shown(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c
		if c == "" {
			out[i] = "(none)"
		}
	}
	return out
}

// Currencies lists the currencies of an integration's transactions,
// sorted ("" for rows that name none, as legacy files). It walks the
// (integration_id, currency) index one value at a time.
func Currencies(ctx context.Context, q Query) ([]string, error) {
	var out []string
	stmt := q.Store.Rebind("SELECT MIN(currency) FROM transactions WHERE integration_id = ? AND currency > ?")
	first := q.Store.Rebind("SELECT MIN(currency) FROM transactions WHERE integration_id = ?")
	var cur *string
	if err := q.Store.DB().QueryRowContext(ctx, first, q.Integration).Scan(&cur); err != nil {
		return nil, fmt.Errorf("currencies: %w", err)
	}
	for cur != nil {
		out = append(out, *cur)
		next := new(*string)
		if err := q.Store.DB().QueryRowContext(ctx, stmt, q.Integration, *cur).Scan(next); err != nil {
			return nil, fmt.Errorf("currencies: %w", err)
		}
		cur = *next
	}
	return out, nil
}

// scoped checks the query's currency: a report that sums money over
// several currencies without --by currency is refused (MixedCurrencies);
// --currency restricts every figure to that currency (and the report then
// reads the transactions: the rollups keep no currency), unless it is the
// only one the data holds.
func (q Query) scoped(ctx context.Context, sumsMoney bool) (Query, error) {
	cs, err := Currencies(ctx, q)
	if err != nil {
		return q, err
	}
	if q.Currency != "" {
		q.Currency = strings.ToUpper(strings.TrimSpace(q.Currency))
		found := false
		for _, c := range cs {
			found = found || c == q.Currency
		}
		if !found {
			return q, fmt.Errorf("no transactions in %s (the data holds %s)", q.Currency, strings.Join(shown(cs), ", "))
		}
		q.restrict = len(cs) > 1
		return q, nil
	}
	if sumsMoney && len(cs) > 1 && q.By != "currency" {
		return q, &MixedCurrencies{Currencies: cs}
	}
	return q, nil
}

// scope is the SQL condition that picks the query's rows: its integration
// and, when restricted, its currency (alias "" or "t."); scopeArgs are its
// arguments.
func (q *Query) scope(alias string) string {
	if q.restrict {
		return alias + "integration_id = ? AND " + alias + "currency = ?"
	}
	return alias + "integration_id = ?"
}

func (q *Query) scopeArgs(rest ...any) []any {
	a := []any{q.Integration}
	if q.restrict {
		a = append(a, q.Currency)
	}
	return append(a, rest...)
}

// IsMixedCurrencies reports whether err is a MixedCurrencies refusal.
func IsMixedCurrencies(err error) bool {
	var m *MixedCurrencies
	return errors.As(err, &m)
}
