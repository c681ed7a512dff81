package konnektive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/crm"
)

// Date range types.
const (
	DateCreated = "dateCreated"
	DateUpdated = "dateUpdated"
)

// Query selects the rows of one walk. StartDate and EndDate are whole days
// in the account time zone, both included; Konnektive ignores times.
type Query struct {
	StartDate, EndDate crm.Date
	DateRangeType      string     // DateCreated (Konnektive's default) or DateUpdated
	Params             url.Values // more filters, e.g. customerId, txnType
	FromPage           int        // resume at this page (1 when 0)
}

// Page is one page of a walk.
type Page struct {
	Endpoint     Endpoint
	Number       int // 1-based
	PerPage      int
	TotalResults int  // Konnektive's count for the whole query
	Pass         int  // 1, or more when the walk restarted after page drift
	Last         bool // no page follows in this pass (a hint: Walk returning nil is what says the window is complete)

	Raw          []json.RawMessage // every row read, sensitive keys removed
	Transactions []crm.Transaction // for Transactions, in Raw's order
	Orders       []crm.Order       // for Orders
	Customers    []crm.Customer    // for Customers
	Purchases    []crm.Purchase    // for Purchases
	Bad          []BadRow          // rows that could not be read, in page order
	// Same are the ids of the rows the caller already holds, decoded from
	// exactly these bytes (see Known): they were not decoded again.
	Same []string

	ids     []string // ids of the rows read, in Raw's order
	digests []Digest // the rows' digests, in Raw's order, when a Known was given
}

// BadRow is a row of a page that could not be read: a date form or an
// amount konduit will not guess at, a missing id or date. It is kept (raw,
// sensitive keys removed) so it can be quarantined rather than stop a sync.
type BadRow struct {
	Index  int             // 0-based position in the page
	ID     string          // the row's id, when it could be read
	Field  string          // the field that failed, or "(row)"
	Reason string          // what was wrong, without the value
	Raw    json.RawMessage // the row, sensitive keys removed; nil when it was not JSON
}

// Len is the number of rows in the page, read, held already or not read:
// a walk ends on a page shorter than its page size, whatever its rows held.
func (p *Page) Len() int { return len(p.Raw) + len(p.Same) + len(p.Bad) }

// IDs are the ids of the rows read, of the rows held already and of the bad
// rows whose id could be read, for a walk's own checks.
func (p *Page) IDs() []string {
	ids := append(p.ids[:len(p.ids):len(p.ids)], p.Same...)
	for _, b := range p.Bad {
		if b.ID != "" {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// ReadIDs are the ids of the rows read (decoded), in Raw's order.
func (p *Page) ReadIDs() []string { return p.ids }

// Digests are the digests of the rows read, in Raw's order; nil when the
// page was decoded without a Known.
func (p *Page) Digests() []Digest { return p.digests }

// Walk calls fn with every page of the query, in order. See the package
// comment for empty windows and page drift. An error from fn stops the walk
// and is returned as is.
func (c *Client) Walk(ctx context.Context, ep Endpoint, q Query, fn func(Page) error) error {
	if ep == Summary {
		return errors.New("walk: use Summary for /transactions/summary/")
	}
	from := max(q.FromPage, 1)
	for pass := 1; ; pass++ {
		err := c.walkPass(ctx, ep, q, from, pass, fn)
		if !errors.Is(err, errDrifted) {
			return err
		}
		if pass > c.cfg.MaxRewalks {
			return fmt.Errorf("walk /%s/ %s..%s: %w", ep, q.StartDate, q.EndDate, ErrDrift)
		}
		c.log.InfoContext(ctx, "konnektive rows shifted between pages; walking the window again", "endpoint", ep, "from", q.StartDate.String(), "to", q.EndDate.String(), "pass", pass+1)
		from = 1
	}
}

var errDrifted = errors.New("drifted")

func (c *Client) walkPass(ctx context.Context, ep Endpoint, q Query, from, pass int, fn func(Page) error) error {
	seen := map[string]struct{}{}
	lastTotal := -1
	drift := false
	countable := ep.idKey() != ""
	var perPage int
	for n := from; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := c.FetchPage(ctx, ep, q, n)
		if err != nil {
			return err
		}
		p.Pass = pass
		perPage = p.PerPage
		// Rows appended at the end (new or updated rows of an ascending
		// walk) only raise the total; a falling total means rows left the
		// window and later rows moved up past the page already read.
		if p.Len() > 0 && lastTotal >= 0 && p.TotalResults < lastTotal {
			drift = true
		}
		if p.Len() > 0 || lastTotal < 0 {
			lastTotal = p.TotalResults
		}
		for _, id := range p.ids {
			if id == "" {
				countable = false
			}
			seen[id] = struct{}{}
		}
		// Only a short page ends a walk: a count can lie (dtex saw counts that
		// disagree with the rows), and ending on it would drop rows.
		p.Last = p.Len() < p.PerPage
		// An empty page past page 1 is not worth a call: the walk is over.
		if p.Len() > 0 || n == from {
			if err := fn(p); err != nil {
				return err
			}
		}
		if p.Last {
			break
		}
	}
	want := lastTotal - (from-1)*perPage
	if drift || (countable && len(seen) < want) {
		return errDrifted
	}
	return nil
}

// rowID reads a row's id field as text.
func rowID(r json.RawMessage, key string) string {
	var one map[string]json.RawMessage
	if json.Unmarshal(r, &one) != nil {
		return ""
	}
	var f flex
	if v, ok := one[key]; ok && json.Unmarshal(v, &f) == nil {
		return f.id()
	}
	return ""
}

// params is the form of a page request, without credentials.
func (c *Client) params(q Query, page, perPage int) url.Values {
	v := url.Values{}
	for k, vals := range q.Params {
		v[k] = vals
	}
	if !q.StartDate.IsZero() {
		v.Set("startDate", usDate(q.StartDate))
	}
	if !q.EndDate.IsZero() {
		v.Set("endDate", usDate(q.EndDate))
	}
	if q.DateRangeType != "" {
		v.Set("dateRangeType", q.DateRangeType)
	}
	v.Set("resultsPerPage", strconv.Itoa(perPage))
	v.Set("page", strconv.Itoa(page))
	return v
}

// usDate writes MM/DD/YYYY, the format every public source sends.
func usDate(d crm.Date) string {
	return fmt.Sprintf("%02d/%02d/%04d", int(d.Month), d.Day, d.Year)
}

// FetchPage reads page n of a query: one request (with its retries). Its
// rows are decoded, bad rows set aside in Page.Bad; an empty result
// ("No ... matching") is a page without rows.
func (c *Client) FetchPage(ctx context.Context, ep Endpoint, q Query, n int) (Page, error) {
	b, err := c.Fetch(ctx, ep, q, n)
	if err != nil {
		return Page{Endpoint: ep, Number: n, PerPage: c.cfg.PageSize}, err
	}
	return c.Decode(ctx, b, nil)
}

// Body is one page as the server sent it: the request answered, its JSON
// checked and cut into rows, nothing decoded yet. Decode makes it a Page.
// Fetch and Decode apart let a walk ask for the next page while it decodes
// this one.
type Body struct {
	Endpoint     Endpoint
	Number       int
	PerPage      int
	TotalResults int

	rows []json.RawMessage
	took time.Duration
}

// Len is the number of rows in the page.
func (b *Body) Len() int { return len(b.rows) }

// Last says no page follows: the page is shorter than its page size. Only
// this ends a walk (totalResults can lie).
func (b *Body) Last() bool { return b.Len() < b.PerPage }

// Fetch reads page n of a query without decoding its rows: one request
// (with its retries); an empty result ("No ... matching") is a page
// without rows.
func (c *Client) Fetch(ctx context.Context, ep Endpoint, q Query, n int) (*Body, error) {
	b := &Body{Endpoint: ep, Number: n, PerPage: c.cfg.PageSize}
	start := time.Now()
	msg, err := c.call(ctx, ep, c.params(q, n, c.cfg.PageSize))
	b.took = time.Since(start)
	if err != nil {
		return nil, err
	}
	if msg == nil {
		return b, nil
	}
	rows, total, per, err := decodePageMessage(msg)
	if err != nil {
		return nil, &DecodeError{Endpoint: ep, Page: n, Row: -1, Err: err}
	}
	if per > 0 && per < b.PerPage {
		// The server clamped the page size: number the pages its way.
		b.PerPage = per
	}
	b.TotalResults = total
	if b.TotalResults < 0 {
		// A list without a count: this is all there is.
		b.TotalResults = (n-1)*b.PerPage + len(rows)
		b.PerPage = max(b.PerPage, len(rows)+1)
	}
	b.rows = rows
	return b, nil
}

// Known tells which rows of a page the caller already holds, decoded from
// exactly the bytes the server sent now: held[i] for the row with id
// ids[i] and digest digests[i]. Those rows are not decoded again; they
// arrive in Page.Same.
type Known func(ctx context.Context, ids []string, digests []Digest) (held []bool, err error)

// Decode reads a fetched page's rows into a Page: bad rows set aside in
// Page.Bad; with known, the rows it holds already in Page.Same, not
// decoded, and every row read with its digest (Page.Digests).
func (c *Client) Decode(ctx context.Context, b *Body, known Known) (Page, error) {
	p := Page{Endpoint: b.Endpoint, Number: b.Number, PerPage: b.PerPage, TotalResults: b.TotalResults}
	var skip []bool
	var digests []Digest
	if known != nil && len(b.rows) > 0 {
		key := b.Endpoint.idKey()
		digests = make([]Digest, len(b.rows))
		ids := make([]string, 0, len(b.rows))
		ds := make([]Digest, 0, len(b.rows))
		at := make([]int, 0, len(b.rows))
		mac := c.rowMAC()
		for i, r := range b.rows {
			digests[i] = rowDigest(mac, b.Endpoint, r)
			if id := peekID(r, key); id != "" {
				ids, ds, at = append(ids, id), append(ds, digests[i]), append(at, i)
			}
		}
		if len(ids) > 0 {
			held, err := known(ctx, ids, ds)
			if err == nil && len(held) != len(ids) {
				err = fmt.Errorf("%d answers for %d rows", len(held), len(ids))
			}
			if err != nil {
				return p, fmt.Errorf("page %d of /%s/: rows held already: %w", b.Number, b.Endpoint, err)
			}
			skip = make([]bool, len(b.rows))
			for j, h := range held {
				if h {
					skip[at[j]] = true
					p.Same = append(p.Same, ids[j])
				}
			}
		}
	}
	if err := c.decodeSome(&p, b.rows, skip, digests); err != nil {
		return p, err
	}
	c.log.DebugContext(ctx, "konnektive page", "endpoint", b.Endpoint, "page", b.Number, "rows", len(b.rows), "same", len(p.Same), "total", p.TotalResults, "took", b.took)
	return p, nil
}

// decodePageMessage reads {totalResults, resultsPerPage, data} or a bare
// list of rows (total -1 then). msg is valid JSON (the envelope was
// validated).
func decodePageMessage(msg json.RawMessage) (rows []json.RawMessage, total, perPage int, err error) {
	msg = bytes.TrimSpace(msg)
	if len(msg) > 0 && msg[0] == '[' {
		rows, err := splitRows(msg)
		return rows, -1, 0, err
	}
	var totalF, perF flex
	var data []byte
	err = scanObject(msg, func(key string, val []byte) error {
		var err error
		switch key {
		case "totalResults":
			totalF, err = flexOf(val)
		case "resultsPerPage":
			perF, _ = flexOf(val)
		case "data":
			data = val
		}
		return err
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read message: %w", err)
	}
	if rows, err = splitRows(data); err != nil {
		return nil, 0, 0, fmt.Errorf("read data: %w", err)
	}
	total = -1
	if totalF != "" {
		if total, err = totalF.int(); err != nil || total < 0 {
			return nil, 0, 0, fmt.Errorf("read totalResults %q: not a count", string(totalF))
		}
	}
	perPage, _ = perF.int()
	return rows, total, perPage, nil
}

// decodeRows fills p's raw and typed rows. A row that cannot be read goes
// to p.Bad with its reason; the rest of the page is read as usual.
func (c *Client) decodeRows(p *Page, rows []json.RawMessage) error {
	return c.decodeSome(p, rows, nil, nil)
}

// decodeSome is decodeRows for the rows not marked in skip (all when skip
// is nil); digests, when set, are every row's, and those of the rows read
// go to p.digests.
func (c *Client) decodeSome(p *Page, rows []json.RawMessage, skip []bool, digests []Digest) error {
	loc := c.cfg.Location
	p.Raw = make([]json.RawMessage, 0, len(rows)-len(p.Same))
	for i, r := range rows {
		if skip != nil && skip[i] {
			continue
		}
		clean, err := sanitize(r)
		if err != nil {
			p.Bad = append(p.Bad, BadRow{Index: i, Field: "(row)", Reason: "not a JSON object"})
			continue
		}
		// The row is kept as sent, less its sensitive keys and with any card
		// number in its text masked (a number typed into a note).
		clean = cardnum.MaskJSON(clean)
		var derr error
		var id string
		switch p.Endpoint {
		case Transactions:
			var x txnRow
			if derr = unmarshalRow(r, &x); derr == nil {
				var t crm.Transaction
				if t, derr = x.toCRM(loc, clean); derr == nil {
					p.Transactions = append(p.Transactions, t)
				}
				id = t.ID
			}
		case Orders:
			var x orderRow
			if derr = unmarshalRow(r, &x); derr == nil {
				var o crm.Order
				if o, derr = x.toCRM(loc, clean); derr == nil {
					p.Orders = append(p.Orders, o)
				}
				id = o.ID
			}
		case Customers:
			var x customerRow
			if derr = unmarshalRow(r, &x); derr == nil {
				var cu crm.Customer
				if cu, derr = x.toCRM(loc, clean); derr == nil {
					p.Customers = append(p.Customers, cu)
				}
				id = cu.ID
			}
		case Purchases:
			var x purchaseRow
			if derr = unmarshalRow(r, &x); derr == nil {
				var pu crm.Purchase
				if pu, derr = x.toCRM(loc, clean); derr == nil {
					p.Purchases = append(p.Purchases, pu)
				}
				id = pu.ID
			}
		default:
			if !json.Valid(r) {
				derr = errors.New("not JSON")
			}
			id = rowID(r, p.Endpoint.idKey())
		}
		if derr != nil {
			field := "(row)"
			var fe *fieldErr
			if errors.As(derr, &fe) {
				field, derr = fe.field, fe.err
			}
			var ute *json.UnmarshalTypeError
			if errors.As(derr, &ute) && ute.Field != "" {
				field = ute.Field
			}
			if id == "" {
				id = rowID(r, p.Endpoint.idKey())
			}
			p.Bad = append(p.Bad, BadRow{Index: i, ID: id, Field: field, Reason: derr.Error(), Raw: clean})
			continue
		}
		p.Raw = append(p.Raw, clean)
		p.ids = append(p.ids, id)
		if digests != nil {
			p.digests = append(p.digests, digests[i])
		}
	}
	return nil
}

func unmarshalRow(r json.RawMessage, v any) error {
	if err := decodeRow(r, v); err != nil {
		if _, ok := err.(*fieldErr); ok {
			return err
		}
		return fmt.Errorf("row is not a JSON object: %w", err)
	}
	return nil
}

// SummaryRow is one day of /transactions/summary/.
type SummaryRow struct {
	Date crm.Date
	Raw  json.RawMessage
}

// Summary reads the daily transactions summary (reportType=date,
// dateRangeType=txnDate) of the days start..end in the account zone.
func (c *Client) Summary(ctx context.Context, start, end crm.Date) ([]SummaryRow, error) {
	v := url.Values{}
	v.Set("reportType", "date")
	v.Set("dateRangeType", "txnDate")
	v.Set("startDate", usDate(start))
	v.Set("endDate", usDate(end))
	msg, err := c.call(ctx, Summary, v)
	if err != nil || msg == nil {
		return nil, err
	}
	msg = bytes.TrimSpace(msg)
	var rows []json.RawMessage
	if len(msg) > 0 && msg[0] == '{' {
		// Tolerate the paged shape too.
		rows, _, _, err = decodePageMessage(msg)
	} else {
		rows, err = splitRows(msg)
	}
	if err != nil {
		return nil, &DecodeError{Endpoint: Summary, Page: 1, Row: -1, Err: err}
	}
	out := make([]SummaryRow, 0, len(rows))
	for i, r := range rows {
		var x struct {
			Date flex `json:"date"`
		}
		if err := json.Unmarshal(r, &x); err != nil {
			return nil, &DecodeError{Endpoint: Summary, Page: 1, Row: i, Field: "date", Err: err}
		}
		d, err := date(x.Date)
		if err != nil {
			return nil, &DecodeError{Endpoint: Summary, Page: 1, Row: i, Field: "date", Err: err}
		}
		out = append(out, SummaryRow{Date: d, Raw: r})
	}
	return out, nil
}

// Ping asks each sync endpoint for one row of today (in the account zone),
// cheaply checking the login, the IP allow-list and the permissions. It
// returns the first refusal of the login or the address, or one *AuthError
// naming every endpoint the API user may not query.
func (c *Client) Ping(ctx context.Context) error {
	today := crm.DateOf(time.Now().In(c.cfg.Location))
	var denied *AuthError
	for _, ep := range SyncEndpoints {
		q := Query{StartDate: today, EndDate: today}
		_, err := c.call(ctx, ep, c.params(q, 1, 1))
		var ae *AuthError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Kind == AuthPermission:
			if denied == nil {
				denied = &AuthError{Kind: AuthPermission, Message: ae.Message}
			}
			denied.Endpoints = append(denied.Endpoints, ep)
		default:
			return fmt.Errorf("ping konnektive: %w", err)
		}
	}
	if denied != nil {
		return fmt.Errorf("ping konnektive: %w", denied)
	}
	return nil
}
