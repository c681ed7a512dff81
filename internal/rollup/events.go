package rollup

import (
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// Dims are the breakdowns the rollups keep, by transactions column; index
// 0 is no breakdown. The index is the dim column of the rollup tables: the
// first six of crm.Breakdowns (the one list), whose order is stored.
var Dims = func() []string {
	d := []string{""}
	for _, b := range crm.Breakdowns[:6] {
		d = append(d, b.Column)
	}
	return d
}()

// Dim is the index in Dims of a transactions column ("" is 0).
func Dim(column string) (int, error) {
	for i, c := range Dims {
		if c == column {
			return i, nil
		}
	}
	return 0, fmt.Errorf("rollup: no breakdown by %q", column)
}

const (
	productDim  = 2
	merchantDim = 5
)

// event is one transaction as the rollups read it.
type event struct {
	source, customer, id string
	at                   int64
	typ, resp            string
	amount               int64
	cycle                int64
	chargedback          bool
	cbCents              int64
	cbDay                string // YYYY-MM-DD or ""
	order, purchase      string
	groups               [7]string // the value of each of Dims; groups[0] is ""
}

// eventCols are the columns scan reads, in order.
const eventCols = "source, customer_id, id, created_utc, txn_type, response_type, amount_cents, billing_cycle, chargedback, chargeback_cents, chargeback_date, order_id, purchase_id, campaign_id, product_id, aff_id, sub_aff_id, merchant_id, country"

// scan reads one row of eventCols; ok is false for a row without a
// dateCreated, which no report counts.
func (e *event) scan(rows *sql.Rows) (ok bool, err error) {
	var at sql.NullInt64
	var cb int64
	var day sql.NullString
	if err := rows.Scan(&e.source, &e.customer, &e.id, &at, &e.typ, &e.resp, &e.amount, &e.cycle, &cb, &e.cbCents, &day,
		&e.order, &e.purchase, &e.groups[1], &e.groups[2], &e.groups[3], &e.groups[4], &e.groups[5], &e.groups[6]); err != nil {
		return false, err
	}
	e.at, e.chargedback, e.cbDay = at.Int64, cb != 0, ""
	if day.Valid {
		e.cbDay = day.String
	}
	return at.Valid, nil
}

// metrics.md's events: crm's one definition.
func (e *event) sale() bool { return crm.IsSaleOf(e.typ, e.resp) }

func (e *event) decline() bool { return crm.IsDeclineOf(e.typ, e.resp) }

func (e *event) refund() bool { return crm.IsRefundOf(e.typ, e.resp) }

// subscription is the retention report's subscription key: the purchase,
// or for rows without one the customer's product.
func (e *event) subscription() string {
	if e.purchase != "" {
		return e.purchase
	}
	return e.source + ":" + e.customer + "|" + e.groups[productDim]
}

// sortEvents orders a customer's events by dateCreated, then id (bytes, as
// SQLite's and the C collation's ORDER BY).
func sortEvents(evs []event) {
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].id < evs[j].id
	})
}

// DayNum numbers calendar days from 1970-01-01.
func DayNum(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// localDayNum is the day number of an instant's calendar day in loc.
func localDayNum(at int64, loc *time.Location) int {
	t := time.Unix(at, 0).In(loc)
	return DayNum(t.Year(), t.Month(), t.Day())
}

// dateDayNum is the day number of a YYYY-MM-DD date.
func dateDayNum(s string) (int, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, false
	}
	return DayNum(t.Year(), t.Month(), t.Day()), true
}

// shardOf is the UTC day of an instant: a customer's shard is the day of
// their first transaction.
func shardOf(at int64) int64 {
	s := at / 86400
	if s*86400 > at {
		s--
	}
	return s
}
