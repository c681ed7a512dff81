package report

import (
	"context"
	"fmt"
	"sort"

	"github.com/konduit/konduit/internal/rollup"
)

// CycleRow is one billing cycle of a group, Konnektive numbering (the
// initial sale is cycle 1).
type CycleRow struct {
	Cycle     int   `json:"cycle"`
	Approvals int64 `json:"approvals"` // subscriptions with an approved sale in this cycle
	Declines  int64 `json:"declines"`  // declined attempts at this cycle
	// RebillRate is approvals ÷ the previous cycle's approvals (undefined
	// for cycle 1); Retention is approvals ÷ cycle 1's approvals.
	RebillRate Rate `json:"rebill_rate"`
	Retention  Rate `json:"retention"`
}

// RetentionGroup is one product's (or campaign's...) cycle table.
type RetentionGroup struct {
	Group  string     `json:"group"`
	Cycles []CycleRow `json:"cycles"`
}

// RetentionResult is the retention report.
type RetentionResult struct {
	By     string           `json:"by"`
	Groups []RetentionGroup `json:"groups"`
}

// Table has one row per group and cycle.
func (r *RetentionResult) Table() Table {
	t := Table{Header: []string{r.By, "cycle", "approvals", "declines", "rebill_rate", "retention"}}
	for _, g := range r.Groups {
		for _, c := range g.Cycles {
			t.Rows = append(t.Rows, []string{g.Group, fmt.Sprint(c.Cycle), fmt.Sprint(c.Approvals), fmt.Sprint(c.Declines), c.RebillRate.String(), c.Retention.String()})
		}
	}
	return t
}

// Retention computes the cycle table per group (default product). A
// subscription is a purchase; rows without one (legacy files) form one per
// customer and product, as metrics.md says.
func Retention(ctx context.Context, q Query) (*RetentionResult, error) {
	if q.By == "" {
		q.By = "product"
	}
	_, dim, ok, err := q.rollups(ctx)
	if err != nil {
		return nil, err
	}
	groups := map[string]map[int]*CycleRow{}
	if ok {
		err := rollup.Cycles(ctx, q.Store, q.Integration, dim, func(g string, c int, ap, de int64) {
			if groups[g] == nil {
				groups[g] = map[int]*CycleRow{}
			}
			groups[g][c] = &CycleRow{Cycle: c, Approvals: ap, Declines: de}
		})
		if err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		}
		return retentionTable(q.By, groups), nil
	}
	grp, err := q.groupExpr("")
	if err != nil {
		return nil, err
	}
	sub := "COALESCE(NULLIF(purchase_id, ''), source || ':' || customer_id || '|' || product_id)"
	stmt := "SELECT " + grp + ", billing_cycle, COUNT(DISTINCT CASE WHEN " + saleCond("") + " THEN " + sub + " END), " +
		"CAST(COALESCE(SUM(CASE WHEN " + declineCond("") + " THEN 1 ELSE 0 END), 0) AS BIGINT)" +
		" FROM transactions WHERE integration_id = ? AND billing_cycle > 0 GROUP BY " + grp + ", billing_cycle"
	rows, err := q.Store.DB().QueryContext(ctx, q.Store.Rebind(stmt), q.Integration)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var c int
		var ap, de int64
		if err := rows.Scan(append([]any{&g, &c}, ints(&ap, &de)...)...); err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		}
		if groups[g] == nil {
			groups[g] = map[int]*CycleRow{}
		}
		groups[g][c] = &CycleRow{Cycle: c, Approvals: ap, Declines: de}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return retentionTable(q.By, groups), nil
}

// retentionTable fills in each group's cycles from 1 to the highest, with
// the rates.
func retentionTable(by string, groups map[string]map[int]*CycleRow) *RetentionResult {
	res := &RetentionResult{By: by, Groups: []RetentionGroup{}}
	for g, cycles := range groups {
		top := 0
		for c := range cycles {
			top = max(top, c)
		}
		rg := RetentionGroup{Group: g}
		var first, prev int64
		for c := 1; c <= top; c++ {
			row := CycleRow{Cycle: c}
			if x := cycles[c]; x != nil {
				row = *x
			}
			if c == 1 {
				first = row.Approvals
			} else {
				row.RebillRate = Rate{row.Approvals, prev}
			}
			row.Retention = Rate{row.Approvals, first}
			prev = row.Approvals
			rg.Cycles = append(rg.Cycles, row)
		}
		res.Groups = append(res.Groups, rg)
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Group < res.Groups[j].Group })
	return res
}
