// Package report computes the figures of shared/spec/metrics.md (user
// documentation: docs/metrics.md) from the store both roads write: period
// summaries with both refund views and their reconciliation, cohort
// lifetime value by day or month since the first sale, subscription
// retention by billing cycle, and chargeback monitoring per merchant
// account.
//
// SQL does what is identical on SQLite and PostgreSQL (filters, integer
// sums, counts, grouping by a column); everything that depends on the
// display time zone (calendar days, weeks, months) is done in Go from UTC
// instants, or by handing SQL the UTC bounds of each local day or month.
// Money is integer cents; ratios are exact decimals rounded half away from
// zero only when shown: money to cents, rates to four places.
package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/store"
)

// Query says which data a report reads and how it is shown.
type Query struct {
	Store       *store.Store
	Integration int64
	Loc         *time.Location // the display time zone
	By          string         // "" or one of ByValues
	// Only keeps the group of the breakdown whose id or name is this value
	// (Match); "" keeps every group. It is the filter By=Only.
	Only string
	// Currency restricts the figures to one currency (ISO code, as the
	// transactions hold it); "" is every currency, which a report summing
	// money accepts only when the data holds one or it is broken down by
	// currency.
	Currency string
	restrict bool // the data holds several currencies and Currency picks one
	// NoRollup makes the reports read the transactions even when the
	// rollups (internal/rollup) are current: slower, for cross-checks.
	NoRollup bool
	// Filters keep the figures of some transactions only (Filter), on any
	// number of breakdowns at once.
	Filters []Filter

	filt     []rfilter // the filters resolved to ids (prepare)
	prepared bool
}

// ByValues are the breakdowns a report may group by (crm.Breakdowns).
var ByValues = func() []string {
	var v []string
	for _, b := range crm.Breakdowns {
		v = append(v, b.Name)
	}
	return v
}()

// ByColumn is the transactions column a breakdown groups by; "" for none.
func ByColumn(by string) (string, error) {
	if by == "" {
		return "", nil
	}
	b, ok := crm.BreakdownByName(by)
	if !ok {
		return "", fmt.Errorf("unknown breakdown %q (want %s)", by, strings.Join(ByValues, ", "))
	}
	return b.Column, nil
}

// groupExpr is the SELECT expression of the group, prefixed by alias.
func (q *Query) groupExpr(alias string) (string, error) {
	c, err := ByColumn(q.By)
	if err != nil {
		return "", err
	}
	if c == "" {
		return "''", nil
	}
	if alias != "" {
		c = alias + "." + c
	}
	return c, nil
}

// SQL spellings of metrics.md's events (columns unprefixed or prefixed):
// crm's, the one definition.
var (
	saleCond    = crm.SaleSQL
	declineCond = crm.DeclineSQL
	refundCond  = crm.RefundSQL
)

// dayBounds is [start of from, start of the day after to) in loc, as Unix
// seconds.
func dayBounds(from, to crm.Date, loc *time.Location) (int64, int64) {
	return from.In(loc).Unix(), addDays(to, 1).In(loc).Unix()
}

func addDays(d crm.Date, n int) crm.Date {
	return crm.DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

// dayNum numbers calendar dates consecutively (days since 1970-01-01).
func dayNum(d crm.Date) int {
	return int(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dateOfNum(n int) crm.Date {
	return crm.DateOf(time.Unix(int64(n)*86400, 0).UTC())
}

// localDay is the calendar day of a Unix instant in loc.
func localDay(unix int64, loc *time.Location) crm.Date {
	return crm.DateOf(time.Unix(unix, 0).In(loc))
}

// Rate is an exact ratio a/b; shown with four decimals, or "" when b is 0.
type Rate struct{ Num, Den int64 }

// Decimal is the ratio rounded half away from zero to four places; ok is
// false when the denominator is zero.
func (r Rate) Decimal() (decimal.Decimal, bool) {
	if r.Den == 0 {
		return decimal.Decimal{}, false
	}
	return decimal.NewFromInt(r.Num).DivRound(decimal.NewFromInt(r.Den), 4), true
}

// String is "0.1234", or "" when undefined.
func (r Rate) String() string {
	d, ok := r.Decimal()
	if !ok {
		return ""
	}
	return d.StringFixed(4)
}

// MarshalJSON writes the rate as a string, or null when undefined.
func (r Rate) MarshalJSON() ([]byte, error) {
	if r.Den == 0 {
		return []byte("null"), nil
	}
	return []byte(`"` + r.String() + `"`), nil
}

// PerHead is an amount in cents divided by a count, shown in money units to
// the cent, or "" when the count is zero.
type PerHead struct {
	Cents int64
	N     int64
}

// String is "12.34" or "".
func (p PerHead) String() string {
	if p.N == 0 {
		return ""
	}
	return decimal.New(p.Cents, -2).DivRound(decimal.NewFromInt(p.N), 2).StringFixed(2)
}

// MarshalJSON writes the amount as a string, or null when undefined.
func (p PerHead) MarshalJSON() ([]byte, error) {
	if p.N == 0 {
		return []byte("null"), nil
	}
	return []byte(`"` + p.String() + `"`), nil
}

// Money marshals crm.Money as a decimal string.
type Money crm.Money

// String is "1234.50".
func (m Money) String() string { return crm.Money(m).String() }

// MarshalJSON writes "1234.50".
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

// Table is a report as rows for the table and CSV formats.
type Table struct {
	Header []string
	Rows   [][]string
	// Marks flag partial cells (Marks[row][column]; may be shorter than
	// a row). The table format ends a marked cell in "*"; CSV writes, after
	// each column c of Flags, a column named Flags[c] holding true or false
	// (whether cell c is marked), so every cell stays a number.
	Marks [][]bool
	Flags map[int]string
}

// Result is any report: JSON by its fields, table and CSV by Table.
type Result interface {
	Table() Table
}

// scanInt reads a nullable integer aggregate.
type nullInt struct{ v *int64 }

func (n nullInt) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*n.v = 0
	case int64:
		*n.v = x
	case int32:
		*n.v = int64(x)
	case float64:
		return fmt.Errorf("aggregate came back as a float")
	case []byte:
		_, err := fmt.Sscan(string(x), n.v)
		return err
	case string:
		_, err := fmt.Sscan(x, n.v)
		return err
	default:
		return fmt.Errorf("aggregate of type %T", src)
	}
	return nil
}

func ints(ps ...*int64) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = nullInt{p}
	}
	return out
}

// ctxErr is checked between rows of long scans.
func ctxErr(ctx context.Context, n int) error {
	if n&0xfff == 0 {
		return ctx.Err()
	}
	return nil
}
