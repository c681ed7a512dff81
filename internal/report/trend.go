package report

import (
	"context"
	"fmt"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Trend grains: the calendar periods a trend adds its figures up by, in
// the display time zone. Weeks are ISO weeks (Monday to Sunday), as LTV's
// week cohorts.
const (
	GrainDay   = "day"
	GrainWeek  = "week"
	GrainMonth = "month"
)

// MaxTrendPoints bounds a trend (a day grain over years is thousands of
// points no chart can show).
const MaxTrendPoints = 400

// TrendPoint is one period of a trend: its days (the first and last
// clipped to the range) and the period figures of exactly those days, as
// Summary computes them.
type TrendPoint struct {
	Label    string
	From, To crm.Date
	Figures  Figures
}

// TrendResult is a range's summary figures per day, week or month.
//
// The points add up to the range's Summary in every figure that is a sum
// (revenue, refunds, chargebacks, sales, declines, new customers). Orders
// are distinct orders per point: an order with sales in two points counts
// in both, as it would in two summaries, so the points' orders may add up
// to more than the range's.
type TrendResult struct {
	From, To crm.Date
	TimeZone string
	Grain    string
	Currency string
	Points   []TrendPoint
}

// MarshalJSON writes {"from":..,"grain":..,"points":[{"period":..,"from":..,"to":..,<figures>}]}.
func (r *TrendResult) MarshalJSON() ([]byte, error) {
	type point struct {
		Period string `json:"period"`
		From   string `json:"from"`
		To     string `json:"to"`
		SummaryRow
	}
	pts := make([]point, len(r.Points))
	for i, p := range r.Points {
		pts[i] = point{p.Label, p.From.String(), p.To.String(), p.Figures.Row(false)}
	}
	return marshalFlat(struct {
		From     string  `json:"from"`
		To       string  `json:"to"`
		TimeZone string  `json:"time_zone"`
		Grain    string  `json:"grain"`
		Currency string  `json:"currency,omitempty"`
		Points   []point `json:"points"`
	}{r.From.String(), r.To.String(), r.TimeZone, r.Grain, r.Currency, pts})
}

// Table has one row per point.
func (r *TrendResult) Table() Table {
	t := Table{Header: append([]string{"period", "from", "to"}, summaryColumns...)}
	for _, p := range r.Points {
		t.Rows = append(t.Rows, append([]string{p.Label, p.From.String(), p.To.String()}, p.Figures.Row(false).cells()...))
	}
	return t
}

// TrendSpans cuts from..to into the grain's calendar periods, the first
// and last clipped to the range.
func TrendSpans(from, to crm.Date, grain string) ([][2]crm.Date, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("trend: --to %s is before --from %s", to, from)
	}
	var out [][2]crm.Date
	for d := from; !to.Before(d); {
		var next crm.Date // the first day of the next period
		t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		switch grain {
		case GrainDay:
			next = addDays(d, 1)
		case GrainWeek:
			wd := (int(t.Weekday()) + 6) % 7 // Monday 0
			next = addDays(d, 7-wd)
		case GrainMonth:
			next = crm.DateOf(time.Date(d.Year, d.Month+1, 1, 0, 0, 0, 0, time.UTC))
		default:
			return nil, fmt.Errorf("trend: grain %q (want day, week or month)", grain)
		}
		end := addDays(next, -1)
		if to.Before(end) {
			end = to
		}
		out = append(out, [2]crm.Date{d, end})
		if len(out) > MaxTrendPoints {
			return nil, fmt.Errorf("trend: %s to %s by %s is more than %d points; choose a longer grain", from, to, grain, MaxTrendPoints)
		}
		d = next
	}
	return out, nil
}

// Trend computes the summary figures of each day, week or month of
// from..to (filters apply; a breakdown does not: one figure per point).
func Trend(ctx context.Context, q Query, from, to crm.Date, grain string) (*TrendResult, error) {
	ds, err := TrendSpans(from, to, grain)
	if err != nil {
		return nil, err
	}
	if q.Only != "" && q.By != "" {
		q.Filters = append(q.Filters[:len(q.Filters):len(q.Filters)], Filter{By: q.By, Values: []string{q.Only}})
	}
	q.By, q.Only = "", ""
	if q, err = q.prepare(ctx, true); err != nil {
		return nil, err
	}
	spans := make([]span, len(ds))
	for i, d := range ds {
		spans[i] = newSpan(d[0], d[1], q.Loc)
	}
	figs, err := periodFigures(ctx, q, spans)
	if err != nil {
		return nil, err
	}
	res := &TrendResult{From: from, To: to, TimeZone: q.Loc.String(), Grain: grain, Currency: q.Currency}
	for i, d := range ds {
		p := TrendPoint{Label: periodLabel(grain, d[0]), From: d[0], To: d[1]}
		if f := figs[i][""]; f != nil {
			p.Figures = *f
		}
		res.Points = append(res.Points, p)
	}
	return res, nil
}

// periodLabel names a point: "2025-01-17", "2025-W03" or "2025-01".
func periodLabel(grain string, d crm.Date) string {
	switch grain {
	case GrainWeek:
		return CohortName(CohortWeek, d)
	case GrainMonth:
		return CohortName(CohortMonth, d)
	}
	return d.String()
}

// Previous is the period of the same number of days that ends the day
// before from.
func Previous(from, to crm.Date) (crm.Date, crm.Date) {
	n := dayNum(to) - dayNum(from) + 1
	return addDays(from, -n), addDays(from, -1)
}

// Preset is a named date range relative to an as-of day.
type Preset struct {
	Key, Label string
	From, To   crm.Date
}

// Presets are the usual ranges ending on (or before) asOf, a calendar day
// in the display time zone: the last 7, 30 and 90 days (asOf included),
// month to date, last month and year to date.
func Presets(asOf crm.Date) []Preset {
	first := crm.Date{Year: asOf.Year, Month: asOf.Month, Day: 1}
	lastMonthEnd := addDays(first, -1)
	return []Preset{
		{"7d", "Last 7 days", addDays(asOf, -6), asOf},
		{"30d", "Last 30 days", addDays(asOf, -29), asOf},
		{"90d", "Last 90 days", addDays(asOf, -89), asOf},
		{"mtd", "Month to date", first, asOf},
		{"lastmonth", "Last month", crm.Date{Year: lastMonthEnd.Year, Month: lastMonthEnd.Month, Day: 1}, lastMonthEnd},
		{"ytd", "Year to date", crm.Date{Year: asOf.Year, Month: time.January, Day: 1}, asOf},
	}
}
