package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/store"
)

// reportsEnabled says whether the Reports pages are in the navigation.
const reportsEnabled = true

// Breakdowns and filter dimensions: internal/report groups by one of them
// (crm's one list); filters keep the transactions whose dimensions have
// the values given (ids or names), on any number of dimensions at once.
// The currency has its own control (amounts of two are never added).
var (
	filterDims = report.ByValues
	rowDims    = func() []string {
		var d []string
		for _, b := range report.ByValues {
			if b != "currency" {
				d = append(d, b)
			}
		}
		return d
	}()
)

// filterRow is one filter of the form: a dimension and a value.
type filterRow struct {
	Dim, Value string
}

// reportParams are a report page's filters, from the query string.
type reportParams struct {
	Integration string
	From, To    crm.Date
	AsOf        crm.Date
	TZ          string
	Dim         string      // the breakdown of the tables ("" for none)
	Filters     []filterRow // all apply; several on one dimension keep any of their values
	Grain       string      // the trend's: day, week or month
	Cohort      string
	Metric      string // ltv heat map: net or gross
	Month       string // chargebacks: the month the bars show
	Currency    string // the one currency of every figure ("" when the data holds one)
	Currencies  []string

	in  *store.Integration
	loc *time.Location
}

// In is the integration the report reads.
func (p *reportParams) In() *store.Integration { return p.in }

// query is the params as a query string (for links and CSV downloads).
func (p *reportParams) query() string {
	v := url.Values{}
	v.Set("integration", p.Integration)
	v.Set("from", p.From.String())
	v.Set("to", p.To.String())
	v.Set("asof", p.AsOf.String())
	v.Set("tz", p.TZ)
	if p.Dim != "" {
		v.Set("dim", p.Dim)
	}
	for _, f := range p.Filters {
		v.Add("fd", f.Dim)
		v.Add("fv", f.Value)
	}
	if p.Grain != "" {
		v.Set("grain", p.Grain)
	}
	v.Set("cohort", p.Cohort)
	v.Set("metric", p.Metric)
	if p.Month != "" {
		v.Set("month", p.Month)
	}
	if p.Currency != "" {
		v.Set("currency", p.Currency)
	}
	return v.Encode()
}

// cacheKey names a report by the parameters it depends on, so pages that
// share a report (the LTV table of two date ranges) share the cache.
func (p *reportParams) cacheKey(kind string) string {
	k := fmt.Sprintf("%s|%s|%s|%s|%q|%s", kind, p.Integration, p.TZ, p.Dim, p.filterKey(), p.Currency)
	switch kind {
	case "summary", "summary-total", "reconcile":
		k += "|" + p.From.String() + "|" + p.To.String()
	case "trend":
		k += "|" + p.From.String() + "|" + p.To.String() + "|" + p.Grain
	case "ltv":
		k += "|" + p.AsOf.String() + "|" + p.Cohort
	}
	return k
}

// parseReportParams reads the filters, with defaults: the first
// integration, its account time zone, the last 30 days to today.
func (s *Server) parseReportParams(ctx context.Context, q url.Values) (*reportParams, []store.Integration, string, error) {
	all, err := s.st.Integrations(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	p := &reportParams{Integration: q.Get("integration"), TZ: q.Get("tz"), Dim: q.Get("dim"), Grain: q.Get("grain"),
		Cohort: q.Get("cohort"), Metric: q.Get("metric"), Month: q.Get("month"), Currency: strings.ToUpper(strings.TrimSpace(q.Get("currency")))}
	if len(all) == 0 {
		return p, all, "", nil
	}
	for i := range all {
		if all[i].Name == p.Integration {
			p.in = &all[i]
		}
	}
	var chose string
	if p.in == nil {
		// integration.Find's rule: the only one, or say which to choose
		if _, err := integration.Find(ctx, s.st, "", ""); err != nil {
			chose = fmt.Sprintf("Showing %s: %v (Data, above).", all[0].Name, err)
		}
		p.in = &all[0]
		p.Integration = p.in.Name
	}
	if p.TZ == "" {
		p.TZ = p.in.TimeZone
	}
	if p.loc, err = time.LoadLocation(p.TZ); err != nil || p.TZ == "Local" {
		p.TZ = p.in.TimeZone
		p.loc, _ = time.LoadLocation(p.TZ)
		return p, all, fmt.Sprintf("%q is not a time zone; showing %s.", q.Get("tz"), p.TZ), nil
	}
	var msgs []string
	if chose != "" {
		msgs = append(msgs, chose)
	}
	today := crm.DateOf(s.opts.Now().In(p.loc))
	date := func(key string, def crm.Date) crm.Date {
		v := q.Get(key)
		if v == "" {
			return def
		}
		d, err := crm.ParseDate(v)
		if err != nil || d.IsZero() {
			msgs = append(msgs, fmt.Sprintf("%s %q is not a date (YYYY-MM-DD).", key, v))
			return def
		}
		return d
	}
	p.AsOf = date("asof", today)
	p.To = date("to", p.AsOf)
	p.From = date("from", crm.DateOf(p.To.In(time.UTC).AddDate(0, 0, -29)))
	if p.To.Before(p.From) {
		msgs = append(msgs, "The range ends before it starts; showing the 30 days to its end.")
		p.From = crm.DateOf(p.To.In(time.UTC).AddDate(0, 0, -29))
	}
	if p.Dim != "" && !contains(filterDims, p.Dim) {
		msgs = append(msgs, fmt.Sprintf("Unknown breakdown %q.", p.Dim))
		p.Dim = ""
	}
	// Filters: pairs of fd (dimension) and fv (value), in order; a row
	// left empty is no filter. The older dim=X&value=Y is the filter X=Y
	// with the breakdown X.
	fds, fvs := q["fd"], q["fv"]
	if v := strings.TrimSpace(q.Get("value")); v != "" && p.Dim != "" {
		fds, fvs = append([]string{p.Dim}, fds...), append([]string{v}, fvs...)
	}
	for i := 0; i < len(fds) && i < len(fvs); i++ {
		d, v := strings.TrimSpace(fds[i]), strings.TrimSpace(fvs[i])
		if d == "" || v == "" {
			continue
		}
		by, err := report.FilterBy(d)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("Unknown filter %q.", d))
			continue
		}
		if by == "currency" {
			p.Currency = strings.ToUpper(v)
			continue
		}
		if f := (filterRow{by, v}); !slices.Contains(p.Filters, f) {
			p.Filters = append(p.Filters, f)
		}
	}
	switch p.Grain {
	case report.GrainDay, report.GrainWeek, report.GrainMonth:
	default:
		p.Grain = defaultGrain(p.From, p.To)
	}
	if _, err := report.TrendSpans(p.From, p.To, p.Grain); err != nil {
		p.Grain = defaultGrain(p.From, p.To)
	}
	switch p.Cohort {
	case report.CohortDay, report.CohortWeek, report.CohortMonth:
	default:
		p.Cohort = report.CohortMonth
	}
	if p.Metric != "gross" {
		p.Metric = "net"
	}
	// Amounts of two currencies are never added: with several, the page
	// shows one (USD when there is, else the first) and says so.
	if p.Currencies, err = report.Currencies(ctx, report.Query{Store: s.st, Integration: p.in.ID}); err != nil {
		return nil, nil, "", err
	}
	if p.Currency != "" && !contains(p.Currencies, p.Currency) {
		msgs = append(msgs, fmt.Sprintf("No transactions in %q.", p.Currency))
		p.Currency = ""
	}
	if len(p.Currencies) > 1 && p.Currency == "" && p.Dim != "currency" {
		p.Currency = p.Currencies[0]
		if contains(p.Currencies, "USD") {
			p.Currency = "USD"
		}
		msgs = append(msgs, fmt.Sprintf("The data holds amounts in %s, which are never added together: showing %s; choose another currency above.",
			strings.Join(p.Currencies, " and "), p.Currency))
	}
	if len(p.Currencies) <= 1 {
		p.Currency = ""
	}
	return p, all, strings.Join(msgs, " "), nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (p *reportParams) rq(st *store.Store) report.Query {
	return report.Query{Store: st, Integration: p.in.ID, Loc: p.loc, By: p.Dim, Filters: p.reportFilters(), Currency: p.Currency}
}

// reportFilters are the filters as the report package takes them.
func (p *reportParams) reportFilters() []report.Filter {
	var out []report.Filter
	for _, f := range p.Filters {
		out = append(out, report.Filter{By: f.Dim, Values: []string{f.Value}})
	}
	return out
}

// filterKey is the filters in a canonical order, for cache keys.
func (p *reportParams) filterKey() string {
	var s []string
	for _, f := range p.Filters {
		s = append(s, f.Dim+"="+f.Value)
	}
	slices.Sort(s)
	return strings.Join(s, "\x00")
}

// FilterText summarises the filters: "campaign Foo, merchant 12".
func (p *reportParams) FilterText() string {
	var s []string
	for _, f := range p.Filters {
		s = append(s, f.Dim+" "+f.Value)
	}
	return strings.Join(s, ", ")
}

// defaultGrain is the trend's grain for a range: days up to two months,
// weeks up to a year, then months.
func defaultGrain(from, to crm.Date) string {
	days := to.In(time.UTC).Sub(from.In(time.UTC)).Hours() / 24
	switch {
	case days <= 62:
		return report.GrainDay
	case days <= 366:
		return report.GrainWeek
	}
	return report.GrainMonth
}

// with is a copy of the params with another range.
func (p *reportParams) with(from, to crm.Date) *reportParams {
	c := *p
	c.From, c.To = from, to
	if c.Grain != "" {
		c.Grain = defaultGrain(from, to)
	}
	return &c
}

// reportCache keeps computed reports until the integration's data changes
// (a sync run, a new time zone) or five minutes pass (a `konduit load` from
// another process does not tell us).
type reportCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	order   []string
}

type cacheEntry struct {
	version string
	at      time.Time
	val     any
}

const (
	cacheSize = 64
	cacheTTL  = 5 * time.Minute
)

func (c *reportCache) get(key, version string, now time.Time) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version || now.Sub(e.at) > cacheTTL {
		return nil, false
	}
	return e.val, true
}

func (c *reportCache) put(key, version string, now time.Time, val any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cacheEntry{}
	}
	if _, ok := c.entries[key]; !ok {
		c.order = append(c.order, key)
	}
	c.entries[key] = cacheEntry{version, now, val}
	for len(c.order) > cacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

func (s *Server) cache() *reportCache { return &s.reports }

// dataVersion changes whenever the integration's rows may have: a sync run
// starts, commits or ends, or the integration is saved (time zone).
func (s *Server) dataVersion(ctx context.Context, in *store.Integration) (string, error) {
	runs, err := s.st.Runs(ctx, in.ID, 1)
	if err != nil {
		return "", err
	}
	v := fmt.Sprintf("%d/%d/%s", in.ID, in.Updated.Unix(), in.TimeZone)
	if len(runs) > 0 {
		r := runs[0]
		v += fmt.Sprintf("/%d/%s/%d/%d", r.ID, r.Status, r.Finished.Unix(), r.Pages)
	}
	return v, nil
}

// cacheOnly, as a context key, makes cachedFor answer from the cache or
// fail with errNotCached rather than compute.
type cacheOnly struct{}

var errNotCached = errors.New("not cached")

// cached computes a report once per data version.
func cached[T any](s *Server, ctx context.Context, p *reportParams, kind string, f func() (T, error)) (T, error) {
	return cachedFor(s, ctx, p.in, p.cacheKey(kind), f)
}

// cachedFor computes f once per data version of in, under key.
func cachedFor[T any](s *Server, ctx context.Context, in *store.Integration, key string, f func() (T, error)) (T, error) {
	var zero T
	version, err := s.dataVersion(ctx, in)
	if err != nil {
		return zero, err
	}
	now := s.opts.Now()
	if v, ok := s.cache().get(key, version, now); ok {
		return v.(T), nil
	}
	if ctx.Value(cacheOnly{}) != nil {
		return zero, errNotCached
	}
	v, err := f()
	if err != nil {
		return zero, err
	}
	s.cache().put(key, version, now, v)
	return v, nil
}

func (s *Server) reportRoutes(mux *routeMux, auth func(http.HandlerFunc) http.Handler) {
	mux.Handle("GET /reports", auth(s.reportPage("summary")))
	mux.Handle("GET /reports/ltv", auth(s.reportPage("ltv")))
	mux.Handle("GET /reports/retention", auth(s.reportPage("retention")))
	mux.Handle("GET /reports/chargebacks", auth(s.reportPage("chargebacks")))
	mux.Handle("GET /reports/csv/{file}", auth(s.reportCSV))
	mux.Handle("GET /reports/status", auth(s.reportStatus))
}

// reportView is what the reports template gets.
type reportView struct {
	Tab          string
	P            *reportParams
	Query        template.URL // the filters as a query string, for links
	Integrations []store.Integration
	Zones        []string
	Dims         []string
	Groups       []string // values of the chosen dimension, for the datalist
	Empty        bool

	Summary *report.SummaryRow
	SumRows []report.SummaryRow
	// The summary page: the same figures for the previous period (same
	// length, just before), compared KPI by KPI (by the KPI's id); date
	// presets and trend grains as links; the trend.
	Prev       *report.SummaryRow
	PrevFrom   crm.Date
	PrevTo     crm.Date
	Cmp        map[string]kpiCmp
	Presets    []choice
	Grains     []choice
	Trend      *report.TrendResult
	TrendChart template.HTML
	TrendRows  []trendRow
	// The filter form: the chosen filters, each with a link that drops it.
	FilterRows []filterRowView
	RowDims    []string
	// PerCurrency: the summary is by currency over several, so it has no
	// totals (a report never adds two currencies).
	PerCurrency bool
	Reconcile   *report.ReconcileResult
	RecLines    []report.ReconcileLine
	RecMore     int
	LTV         *report.LTVResult
	Retention   *report.RetentionResult
	CB          *report.ChargebacksResult
	CBMonths    []string
	Charts      []template.HTML
	Table       shownTable
	Elapsed     time.Duration
	Computing   bool         // the report is still being computed
	StatusURL   template.URL // where the computing page polls
	Rows        int64        // transactions the report reads

	Quarantined string // rows the sync set aside, in words ("3 transactions"); empty when none
}

// Cur is the one currency the page's amounts are in: the chosen one,
// else the data's only one ("" when there is none).
func (p *reportParams) Cur() string {
	if p.Currency != "" {
		return p.Currency
	}
	if len(p.Currencies) == 1 {
		return p.Currencies[0]
	}
	return ""
}

// fill is what a report tab computes.
func (s *Server) fill(tab string) func(context.Context, *reportParams, *reportView) error {
	switch tab {
	case "ltv":
		return s.fillLTV
	case "retention":
		return s.fillRetention
	case "chargebacks":
		return s.fillChargebacks
	}
	return s.fillSummary
}

// choice is a link that sets one choice (a preset range, a grain).
type choice struct {
	Key, Label string
	URL        template.URL
	On         bool
}

// filterRowView is a filter row of the form.
type filterRowView struct {
	Dim, Value string
	Remove     template.URL // this page without the filter
}

// tabPath is the page of a tab.
func tabPath(tab string) string {
	if tab == "summary" {
		return "/reports"
	}
	return "/reports/" + tab
}

// formView fills what the filter form shows for any tab.
func (v *reportView) formView() {
	p := v.P
	v.RowDims = rowDims
	for i, f := range p.Filters {
		c := *p
		c.Filters = slices.Delete(slices.Clone(p.Filters), i, i+1)
		v.FilterRows = append(v.FilterRows, filterRowView{Dim: f.Dim, Value: f.Value, Remove: template.URL(tabPath(v.Tab) + "?" + c.query())})
	}
	if v.Tab != "summary" {
		return
	}
	// Date presets from the as-of day, and the trend's grains: links.
	for _, pr := range report.Presets(p.AsOf) {
		c := p.with(pr.From, pr.To)
		v.Presets = append(v.Presets, choice{Key: pr.Key, Label: pr.Label, URL: template.URL("/reports?" + c.query()), On: pr.From == p.From && pr.To == p.To})
	}
	for _, g := range []string{report.GrainDay, report.GrainWeek, report.GrainMonth} {
		if _, err := report.TrendSpans(p.From, p.To, g); err != nil {
			continue // too many points
		}
		c := *p
		c.Grain = g
		v.Grains = append(v.Grains, choice{Key: g, Label: "by " + g, URL: template.URL("/reports?" + c.query()), On: g == p.Grain})
	}
}

func (s *Server) reportPage(tab string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		began := time.Now()
		p, all, msg, err := s.parseReportParams(ctx, r.URL.Query())
		if err != nil {
			s.fail(w, r, "read report filters", err)
			return
		}
		v := &reportView{Tab: tab, P: p, Integrations: all, Zones: Zones, Dims: filterDims}
		if p.in == nil {
			v.Empty = true
			s.render(w, r, http.StatusOK, "reports", page{Title: "Reports", Nav: "reports", Error: msg, Data: v})
			return
		}
		v.Query = template.URL(p.query()) // url.Values.Encode output: already escaped
		v.formView()
		// Rows the sync could not read are in no figure: every report says so.
		held, err := s.st.QuarantineCounts(ctx, p.in.ID)
		if err != nil {
			s.fail(w, r, "count quarantined rows", err)
			return
		}
		quarantined := held.Phrase()
		v.Quarantined = quarantined
		if note := p.in.PartialNote(); note != "" {
			msg = strings.TrimSpace(msg + " Warning: " + note + ".")
		}
		fill := s.fill(tab)
		// cached: answer at once
		err = fill(context.WithValue(ctx, cacheOnly{}, true), p, v)
		if err == nil {
			v.Elapsed = time.Since(began)
			s.render(w, r, http.StatusOK, "reports", page{Title: "Reports", Nav: "reports", Error: msg, Data: v})
			return
		}
		if !errors.Is(err, errNotCached) {
			s.fail(w, r, "read report", err)
			return
		}
		*v = reportView{Tab: tab, P: p, Integrations: all, Zones: Zones, Dims: filterDims, Query: v.Query, Quarantined: quarantined}
		v.formView()
		// compute in the server's context (single flight), wait a moment
		bg := *p
		jb := s.jobs.start(s.syncs.base, tab+"?"+p.query(), s.opts.Now, func(ctx context.Context) error { return fill(ctx, &bg, &reportView{}) })
		timer := time.NewTimer(s.reportWait())
		defer timer.Stop()
		select {
		case <-jb.done:
			err = jb.err
		case <-timer.C:
			v.Computing = true
			v.StatusURL = template.URL("/reports/status?tab=" + tab + "&" + p.query())
			v.Rows = s.rowCount(ctx, p)
			s.render(w, r, http.StatusOK, "reports", page{Title: "Reports", Nav: "reports", Error: msg, Data: v})
			return
		case <-ctx.Done():
			return
		}
		if err == nil {
			err = fill(ctx, p, v) // from the cache now
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			s.log.Error("dashboard: report", "tab", tab, "err", err)
			msg = strings.TrimSpace(msg + " The report failed: " + err.Error())
		}
		v.Elapsed = time.Since(began)
		s.render(w, r, http.StatusOK, "reports", page{Title: "Reports", Nav: "reports", Error: msg, Data: v})
	}
}

// rowCount is the integration's transactions, for the "computing" page
// (from the cache when the integrations page has counted them).
func (s *Server) rowCount(ctx context.Context, p *reportParams) int64 {
	c, err := cachedFor(s, ctx, p.in, "counts|"+p.in.Name, func() (store.Counts, error) { return s.st.Counts(ctx, p.in.ID) })
	if err != nil {
		return 0
	}
	return c[store.Transactions]
}

// reportStatus answers a computing page's polling: ready once the report
// is no longer being computed (in the cache, or failed: the reload shows
// the error).
func (s *Server) reportStatus(w http.ResponseWriter, r *http.Request) {
	p, _, _, err := s.parseReportParams(r.Context(), r.URL.Query())
	if err != nil || p.in == nil {
		http.Error(w, "unknown report", http.StatusNotFound)
		return
	}
	tab := r.URL.Query().Get("tab")
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ready":%t}`, !s.jobs.running(tab+"?"+p.query()))
}

func groupLabel(g string) string {
	if g == "" {
		return "(none)"
	}
	return g
}

// maxHeatmapRows bounds the heat map (day cohorts over years are hundreds).
const maxHeatmapRows = 60

// rate is a report rate as a float that places a mark.
func rateF(r report.Rate) float64 {
	if r.Den == 0 {
		return math.NaN()
	}
	return float64(r.Num) / float64(r.Den)
}

// reportCSV downloads a report table: the same CSV `konduit report
// --format csv` writes.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	file := r.PathValue("file")
	name, ok := strings.CutSuffix(file, ".csv")
	if !ok {
		http.NotFound(w, r)
		return
	}
	p, _, _, err := s.parseReportParams(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, r, "read report filters", err)
		return
	}
	if p.in == nil {
		http.NotFound(w, r)
		return
	}
	var res report.Result
	switch name {
	case "summary":
		res, err = s.summary(ctx, p)
	case "trend":
		res, err = s.trend(ctx, p)
	case "reconcile":
		res, err = s.reconcile(ctx, p)
	case "ltv":
		res, err = s.ltv(ctx, p)
	case "retention":
		res, err = s.retention(ctx, p)
	case "chargebacks":
		res, err = s.chargebacks(ctx, p)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, "compute report", err)
		return
	}
	attachment(w, fmt.Sprintf("%s-%s-%s-%s.csv", p.Integration, name, p.From, p.To), "text/csv; charset=utf-8")
	if err := report.Write(w, "csv", res); err != nil {
		s.log.Error("dashboard: write csv", "err", err)
	}
}

// warmReports computes the default pages' reports after a sync, so the
// first visit is as fast as the next.
func (s *Server) warmReports(ctx context.Context, name string) {
	p, _, _, err := s.parseReportParams(ctx, url.Values{"integration": {name}})
	if err != nil || p.in == nil {
		return
	}
	if _, err := cachedFor(s, ctx, p.in, "counts|"+p.in.Name, func() (store.Counts, error) { return s.st.Counts(ctx, p.in.ID) }); err != nil {
		return
	}
	for _, f := range []func(context.Context, *reportParams, *reportView) error{s.fillSummary, s.fillLTV, s.fillRetention, s.fillChargebacks} {
		if err := f(ctx, p, &reportView{}); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("dashboard: warm reports", "integration", name, "err", err)
			return
		}
	}
}

// reportWait is how long a page waits for a report being computed before
// it answers "Computing…": Options.ReportWait, 150 ms by default, so a
// page answers within 300 ms even when its report is not cached.
func (s *Server) reportWait() time.Duration {
	if s.opts.ReportWait == 0 {
		return 150 * time.Millisecond
	}
	return max(s.opts.ReportWait, 0)
}
