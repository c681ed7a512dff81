package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/report"
)

// Drill-down pages: from a report's cell to the rows behind it
// (report.Drill), a page at a time or as a streamed CSV, and each row's
// customer on their own page (customer.go). The cell is named by query
// parameters beside the report page's own filters, so the rows pass the
// same filters (p.rq) as the figure they came from.

// drillPageSize is the rows a drill page shows unless the query says
// (size, from 10 to maxDrillPageSize).
const (
	drillPageSize    = 100
	maxDrillPageSize = 1000
)

func (s *Server) drillRoutes(mux *routeMux, auth func(http.HandlerFunc) http.Handler) {
	mux.Handle("GET /reports/drill", auth(s.drillPage))
	mux.Handle("GET /reports/drill.csv", auth(s.drillCSV))
	mux.Handle("GET /customers/{customer}", auth(s.customerPage))
}

// parseDrillCell reads the cell from the query string: cell (the report),
// figure, group (present when the report is broken down), and the cell's
// coordinates: n and unit (LTV: day or month since the first sale;
// cohort_name), cycle (retention), merchant, ym and brand (chargebacks).
// Without a cell it is the summary's gross revenue.
func parseDrillCell(q url.Values, p *reportParams) (report.DrillCell, error) {
	c := report.DrillCell{Report: q.Get("cell"), Figure: q.Get("figure"), From: p.From, To: p.To, AsOf: p.AsOf}
	if c.Report == "" {
		c.Report, c.Figure = report.DrillSummary, "gross_revenue"
	}
	if q.Has("group") {
		g := q.Get("group")
		c.Group = &g
	}
	num := func(key string) int {
		n, err := strconv.Atoi(q.Get(key))
		if err != nil {
			return -1
		}
		return n
	}
	switch c.Report {
	case report.DrillLTV:
		c.Period, c.Cohort, c.N, c.Months = p.Cohort, q.Get("cohort_name"), num("n"), q.Get("unit") == "month"
	case report.DrillRetention:
		c.N = num("cycle")
	case report.DrillChargebacks:
		c.Merchant, c.Month, c.Brand = q.Get("merchant"), q.Get("ym"), q.Get("brand")
	}
	if c.Group != nil && p.Dim == "" && (c.Report == report.DrillSummary || c.Report == report.DrillLTV) {
		return c, fmt.Errorf("drill: a group needs a breakdown (dim)")
	}
	return c, c.Check()
}

// drillQuery is the query string of a cell (after the report's filters).
func drillQuery(c report.DrillCell) string {
	v := url.Values{}
	v.Set("cell", c.Report)
	v.Set("figure", c.Figure)
	if c.Group != nil {
		v.Set("group", *c.Group)
	}
	switch c.Report {
	case report.DrillLTV:
		v.Set("cohort_name", c.Cohort)
		v.Set("n", strconv.Itoa(c.N))
		if c.Months {
			v.Set("unit", "month")
		}
	case report.DrillRetention:
		v.Set("cycle", strconv.Itoa(c.N))
	case report.DrillChargebacks:
		v.Set("merchant", c.Merchant)
		v.Set("ym", c.Month)
		v.Set("brand", c.Brand)
	}
	return v.Encode()
}

// drillLink is the URL of a cell's drill page.
func drillLink(p *reportParams, c report.DrillCell) string {
	return "/reports/drill?" + p.query() + "&" + drillQuery(c)
}

// cellResult is the report the cell is in, from the cache when the report
// page computed it.
func (s *Server) cellResult(ctx context.Context, p *reportParams, c *report.DrillCell) (report.Result, error) {
	switch c.Report {
	case report.DrillLTV:
		return s.ltv(ctx, p)
	case report.DrillRetention:
		res, err := s.retention(ctx, p)
		if err == nil {
			c.Intervals = res.IntervalDays
		}
		return res, err
	case report.DrillChargebacks:
		return s.chargebacks(ctx, p)
	}
	if c.Group == nil && p.Dim != "" {
		// A KPI of a broken-down page: the total of the filtered data
		// (orders and customers do not add up across groups).
		return s.summaryTotal(ctx, p)
	}
	return s.summary(ctx, p)
}

// cellReport is cellResult from the cache, or computed in the background
// (once, however many pages ask) while the page waits a moment (as a
// report page does): nil when it is still being computed, and the page
// shows the rows without the cell's figure. Retention's rows need its
// billing intervals: that page waits for the report.
func (s *Server) cellReport(ctx context.Context, p *reportParams, c *report.DrillCell) (report.Result, error) {
	res, err := s.cellResult(context.WithValue(ctx, cacheOnly{}, true), p, c)
	if !errors.Is(err, errNotCached) {
		return res, err
	}
	bg, bc := *p, *c
	jb := s.jobs.start(s.syncs.base, "drill-cell?"+drillQuery(*c)+"&"+p.query(), s.opts.Now, func(ctx context.Context) error {
		_, err := s.cellResult(ctx, &bg, &bc)
		return err
	})
	timer := time.NewTimer(s.reportWait())
	defer timer.Stop()
	if c.Report == report.DrillRetention {
		timer.Stop()
	}
	select {
	case <-jb.done:
		if jb.err != nil {
			return nil, jb.err
		}
		return s.cellResult(ctx, p, c) // from the cache now
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// drillView is what drill.html gets.
type drillView struct {
	P         *reportParams
	Cell      report.DrillCell
	Title     string
	Back      string // the report page the cell is on
	Total     report.DrillTotal
	Known     bool // the report has the cell (Total is its figure)
	Table     shownTable
	CellSum   string // the cell's amount, formatted
	PageSum   string // the shown rows' amounts, formatted
	First     int    // 1-based number of the first row shown
	Last      int
	Prev      string
	Next      string
	CSV       template.URL
	Empty     bool
	Computing bool // the cell's report is still being computed
}

func (s *Server) drillPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _, msg, err := s.parseReportParams(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, r, "read report filters", err)
		return
	}
	v := &drillView{P: p}
	if p.in == nil {
		v.Empty = true
		s.render(w, r, http.StatusOK, "drill", page{Title: "Drill-down", Nav: "reports", Error: msg, Data: v})
		return
	}
	c, err := parseDrillCell(r.URL.Query(), p)
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "drill", page{Title: "Drill-down", Nav: "reports", Error: strings.TrimSpace(msg + " " + err.Error()), Data: v})
		return
	}
	res, err := s.cellReport(ctx, p, &c)
	if err != nil {
		s.fail(w, r, "compute report", err)
		return
	}
	v.Cell, v.Title, v.Back = c, drillTitle(p, c), drillBack(p, c)
	if res != nil {
		v.Total, v.Known = report.CellTotal(c, res)
	} else {
		v.Computing = true
	}
	cur := p.Cur()
	if p.Dim == "currency" && c.Group != nil {
		cur = *c.Group // a row of the report by currency
	}
	v.CellSum = money(report.Money(v.Total.Cents).String(), cur)
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pageNo = max(pageNo, 1)
	size := drillPageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("size")); err == nil {
		size = min(max(n, 10), maxDrillPageSize)
	}
	offset := (pageNo - 1) * size
	kind := c.Kind()
	var rows []report.DrillRow
	err = report.Drill(ctx, p.rq(s.st), c, offset, size+1, func(r report.DrillRow) error { rows = append(rows, r); return nil })
	if err != nil {
		s.fail(w, r, "drill", err)
		return
	}
	base := "/reports/drill?" + p.query() + "&" + drillQuery(c)
	if size != drillPageSize {
		base += "&size=" + strconv.Itoa(size)
	}
	if len(rows) > size {
		rows = rows[:size]
		v.Next = base + "&page=" + strconv.Itoa(pageNo+1)
	}
	if pageNo > 1 {
		v.Prev = base + "&page=" + strconv.Itoa(pageNo-1)
	}
	v.First, v.Last = offset+1, offset+len(rows)
	v.CSV = template.URL("/reports/drill.csv?" + p.query() + "&" + drillQuery(c))
	v.Table = drillTable(p, kind, rows)
	var sum int64
	for _, r := range rows {
		sum += r.Amount
	}
	v.PageSum = money(report.Money(sum).String(), cur)
	s.render(w, r, http.StatusOK, "drill", page{Title: "Drill-down", Nav: "reports", Error: msg, Data: v})
}

// drillTable shows rows as a table, each customer linked to their page.
func drillTable(p *reportParams, kind string, rows []report.DrillRow) shownTable {
	t := report.Table{Header: report.DrillHeader(kind)}
	custCol := -1
	for i, h := range t.Header {
		if h == "customer" {
			custCol = i
		}
	}
	links := make([][]string, len(rows))
	for i, r := range rows {
		cells := r.Cells(kind)
		for j := range cells {
			cells[j] = cardnum.MaskText(cells[j])
		}
		t.Rows = append(t.Rows, cells)
		links[i] = make([]string, len(cells))
		if custCol >= 0 && r.CustomerID != "" {
			links[i][custCol] = customerLink(p, r.Source, r.CustomerID)
		}
	}
	st := showTable(t, p.Cur())
	st.Links = links
	return st
}

// customerLink is the URL of a customer's page, in the report's zone.
func customerLink(p *reportParams, source, id string) string {
	v := url.Values{}
	v.Set("integration", p.Integration)
	v.Set("tz", p.TZ)
	if source != "" {
		v.Set("source", source)
	}
	return "/customers/" + url.PathEscape(id) + "?" + v.Encode()
}

// drillTitle says which cell the rows are behind.
func drillTitle(p *reportParams, c report.DrillCell) string {
	var b strings.Builder
	switch c.Report {
	case report.DrillSummary:
		fmt.Fprintf(&b, "%s, %s to %s", report.ColumnTitle(c.Figure), c.From, c.To)
	case report.DrillLTV:
		unit := "day"
		if c.Months {
			unit = "month"
		}
		fmt.Fprintf(&b, "%s LTV to %s %d, %s cohort %s (as of %s): the cohort's customers", titleCase(c.Figure), unit, c.N, c.Period, c.Cohort, c.AsOf)
	case report.DrillRetention:
		fmt.Fprintf(&b, "Retention cycle %d, %s (as of %s): the subscriptions", c.N, strings.ReplaceAll(c.Figure, "_", " "), c.AsOf)
	case report.DrillChargebacks:
		fmt.Fprintf(&b, "MID %s, %s, %s: %s", groupLabel(c.Merchant), c.Month, c.Brand, strings.ReplaceAll(c.Figure, "_", " "))
	}
	if c.Group != nil {
		by := p.Dim
		if by == "" {
			by = "product"
		}
		fmt.Fprintf(&b, ", %s %s", by, groupLabel(*c.Group))
	}
	if f := p.FilterText(); f != "" {
		fmt.Fprintf(&b, " (filters: %s)", f)
	}
	return b.String()
}

// drillBack is the report page the cell is on.
func drillBack(p *reportParams, c report.DrillCell) string {
	tab := "/reports"
	if c.Report != report.DrillSummary {
		tab += "/" + c.Report
	}
	return tab + "?" + p.query()
}

// drillCSV streams every row behind the cell, as CSV (amounts and dates
// as plain values, card numbers masked).
func (s *Server) drillCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _, _, err := s.parseReportParams(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, r, "read report filters", err)
		return
	}
	if p.in == nil {
		http.NotFound(w, r)
		return
	}
	c, err := parseDrillCell(r.URL.Query(), p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if c.Report == report.DrillRetention {
		if _, err := s.cellResult(ctx, p, &c); err != nil {
			s.fail(w, r, "compute report", err)
			return
		}
	}
	kind := c.Kind()
	cw := csv.NewWriter(w)
	started := false
	n := 0
	write := func(row []string) error {
		if !started {
			attachment(w, fmt.Sprintf("%s-drill-%s-%s.csv", p.Integration, c.Report, c.Figure), "text/csv; charset=utf-8")
			started = true
		}
		for i := range row {
			row[i] = cardnum.MaskText(row[i])
		}
		return cw.Write(row)
	}
	err = report.Drill(ctx, p.rq(s.st), c, 0, 0, func(dr report.DrillRow) error {
		if !started {
			if err := write(report.DrillHeader(kind)); err != nil {
				return err
			}
		}
		if err := write(dr.Cells(kind)); err != nil {
			return err
		}
		if n++; n%drillPageSize == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	if err == nil && !started {
		err = write(report.DrillHeader(kind)) // no rows: the header alone
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		if !started {
			s.fail(w, r, "drill", err)
			return
		}
		if !errors.Is(err, context.Canceled) {
			s.log.Error("dashboard: drill csv", "err", err) // the download ends short
		}
	}
}

// The link of one drillable cell of each report (drillLinks sets them on
// the tables; a chart or pivot cell takes the same link).

// ltvCellLink is an LTV cell's link: the cohort's customers, figure gross
// or net.
func ltvCellLink(p *reportParams, period string, co report.Cohort, cell report.Cell, figure string) string {
	c := report.DrillCell{Report: report.DrillLTV, Figure: figure, Group: co.Group, Cohort: co.Cohort, Period: period}
	if cell.Month != nil {
		c.N, c.Months = *cell.Month, true
	} else if cell.Day != nil {
		c.N = *cell.Day
	}
	return drillLink(p, c)
}

// retentionCellLink is a retention cell's link: a group's subscriptions at
// a cycle, set approvals, eligible or eligible_approvals.
func retentionCellLink(p *reportParams, group string, cycle int, set string) string {
	return drillLink(p, report.DrillCell{Report: report.DrillRetention, Figure: set, Group: &group, N: cycle})
}

// chargebacksCellLink is a merchant account's month's link: figure
// chargebacks (or chargeback_amount), sales or sales_prev_month.
func chargebacksCellLink(p *reportParams, m report.MIDMonth, figure string) string {
	return drillLink(p, report.DrillCell{Report: report.DrillChargebacks, Figure: figure, Merchant: m.Merchant, Month: m.Month, Brand: m.Brand})
}

// drillLinks are the links of a report table's drillable cells to their
// drill pages (Links[row][column], "" where a cell lists no rows), for the
// rows of res.Table() in their order.
func drillLinks(p *reportParams, res report.Result) [][]string {
	t := res.Table()
	links := make([][]string, len(t.Rows))
	for i := range links {
		links[i] = make([]string, len(t.Header))
	}
	set := func(row int, h, link string) {
		for j, x := range t.Header {
			if x == h && row < len(links) {
				links[row][j] = link
			}
		}
	}
	switch r := res.(type) {
	case *report.SummaryResult:
		for row := range t.Rows {
			c := report.DrillCell{Report: report.DrillSummary, From: r.From, To: r.To}
			if r.By != "" {
				if row >= len(r.Groups) {
					break
				}
				g := r.Groups[row].Group
				c.Group = &g
			}
			for _, h := range t.Header {
				if report.SummaryDrillable(h) {
					c.Figure = h
					set(row, h, drillLink(p, c))
				}
			}
		}
	case *report.LTVResult:
		for row, co := range r.Cohorts {
			for _, cell := range co.Cells {
				unit, n := "day", cell.Day
				if cell.Month != nil {
					unit, n = "month", cell.Month
				}
				if n == nil {
					continue
				}
				for _, fig := range []string{"gross", "net"} {
					set(row, fmt.Sprintf("%s_%s_%d", fig, unit, *n), ltvCellLink(p, r.Period, co, cell, fig))
				}
			}
		}
	case *report.RetentionResult:
		row := 0
		for _, g := range r.Groups {
			for _, cy := range g.Cycles {
				for _, fig := range []string{"approvals", "eligible", "eligible_approvals"} {
					set(row, fig, retentionCellLink(p, g.Group, cy.Cycle, fig))
				}
				row++
			}
		}
	case *report.ChargebacksResult:
		for row, m := range r.Months {
			for _, fig := range []string{"chargebacks", "chargeback_amount", "sales", "sales_prev_month"} {
				set(row, fig, chargebacksCellLink(p, m, fig))
			}
		}
	}
	return links
}
