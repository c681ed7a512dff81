package fake

import (
	"strconv"
	"strings"

	"github.com/konduit/konduit/internal/crm"
)

// summary answers /transactions/summary/: one row per day of the range with
// transactions, by transaction date; chargebacks are booked to the date of
// the sale they reverse, as Konnektive does.
func (s *Server) summary(q *query) ([]byte, string) {
	if !q.dates {
		return nil, "startDate and endDate are required"
	}
	ix := s.created[kTxn]
	d0, d1 := ix.clamp(q.d0, q.d1)
	w := &jw{}
	w.b = append(w.b, `{"result":"SUCCESS","message":[`...)
	rows := 0
	for d := d0; d <= d1; d++ {
		b := ix.buckets[d]
		if len(b) == 0 {
			continue
		}
		var st dayStats
		for _, r := range b {
			st.add(r)
		}
		if rows > 0 {
			w.b = append(w.b, ',')
		}
		rows++
		st.write(w, b[0].created.Raw[:10])
	}
	if rows == 0 {
		return nil, noMatch[pathSummary]
	}
	w.b = append(w.b, "]}"...)
	return w.b, ""
}

type dayStats struct {
	newCnt, rebillCnt, rebillDecl, decl, refundCnt, cbCnt int64
	newRev, rebillRev, refundRev, cbRev, tax              crm.Money
}

func (st *dayStats) add(r *rec) {
	t := r.txn
	switch {
	case t.IsSale():
		if t.BillingCycle > 1 {
			st.rebillCnt++
			st.rebillRev += t.Amount
		} else {
			st.newCnt++
			st.newRev += t.Amount
		}
		st.tax += t.SalesTax
		if chargedBack(r) {
			st.cbCnt++
			st.cbRev += t.ChargebackAmt
		}
	case t.IsDecline():
		st.decl++
		if t.BillingCycle > 1 {
			st.rebillDecl++
		}
	case t.IsRefund():
		st.refundCnt++
		st.refundRev += abs(t.Amount)
	}
}

// perc is 100*a/b with two decimals, rounded half up; "0.00" when b is 0.
func perc(a, b int64) string {
	if b == 0 {
		return "0.00"
	}
	h := (a*20000 + b) / (2 * b) // hundredths of a percent
	return strconv.FormatInt(h/100, 10) + "." + pad2(h%100)
}

func pad2(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 2-len(s)) + s
}

func (st *dayStats) write(w *jw, day string) {
	sales := st.newCnt + st.rebillCnt
	gross := st.newRev + st.rebillRev
	w.open()
	w.str("date", day)
	w.int("newSaleCnt", st.newCnt)
	w.money("newSaleRev", st.newRev)
	w.int("rebillCnt", st.rebillCnt)
	w.money("rebillRev", st.rebillRev)
	w.int("rebillDeclinesCnt", st.rebillDecl)
	w.str("rebillApprovedPerc", perc(st.rebillCnt, st.rebillCnt+st.rebillDecl))
	w.int("declinesCnt", st.decl)
	w.str("approvedPerc", perc(sales, sales+st.decl))
	w.str("totalDeclinePerc", perc(st.decl, sales+st.decl))
	w.int("refundCnt", st.refundCnt)
	w.money("refundRev", st.refundRev)
	w.str("refundPerc", perc(st.refundCnt, sales))
	w.int("chargebackCnt", st.cbCnt)
	w.money("chargebackRev", st.cbRev)
	w.str("chargebackPerc", perc(st.cbCnt, sales))
	w.money("grossRevenue", gross)
	w.money("netRevenue", gross-st.refundRev-st.cbRev)
	w.money("salesTax", st.tax)
	w.str("surcharge", "0.00")
	w.str("expenses", "0.00")
	w.raw("expenseDetails", "[]")
	w.str("currencySymbol", "$")
	w.close()
}

// catalogPage answers the campaign and product queries from the catalog.
func (s *Server) catalogPage(q *query) ([]byte, string) {
	w := &jw{}
	var rows [][]byte
	epochDay := dayOf(s.epoch.Raw)
	if q.path == pathCampaigns {
		id := q.form.Get("campaignId")
		if id == "" && !q.dates {
			return nil, "startDate and endDate are required"
		}
		for _, c := range s.catalog.Campaigns {
			if id != "" && strconv.Itoa(c.ID) != id {
				continue
			}
			if n := q.form.Get("campaignName"); n != "" && !strings.EqualFold(n, c.Name) {
				continue
			}
			if t := q.form.Get("campaignType"); t != "" && !strings.EqualFold(t, c.Type) {
				continue
			}
			if q.dates && (epochDay < q.d0 || epochDay > q.d1) {
				continue
			}
			w.b = nil
			w.open()
			w.int("campaignId", int64(c.ID))
			w.str("campaignName", c.Name)
			w.str("campaignType", c.Type)
			w.str("dateCreated", s.epoch.Raw)
			w.str("currencyCode", "USD")
			w.flag("isActive", true)
			w.key("products")
			w.open()
			for _, p := range s.catalog.Products {
				if p.CampaignID == c.ID {
					w.key(strconv.Itoa(p.ID))
					w.open()
					w.int("productId", int64(p.ID))
					w.str("productName", p.Name)
					w.close()
				}
			}
			w.close()
			w.close()
			rows = append(rows, w.b)
		}
	} else {
		id, camp := q.form.Get("productId"), q.form.Get("campaignId")
		for _, p := range s.catalog.Products {
			if (id != "" && strconv.Itoa(p.ID) != id) || (camp != "" && strconv.Itoa(p.CampaignID) != camp) {
				continue
			}
			w.b = nil
			w.open()
			w.int("productId", int64(p.ID))
			w.int("campaignId", int64(p.CampaignID))
			w.str("productName", p.Name)
			w.str("productSku", p.SKU)
			w.money("price", p.Price)
			w.money("shippingPrice", p.Shipping)
			w.str("dateCreated", s.epoch.Raw)
			w.close()
			rows = append(rows, w.b)
		}
	}
	if len(rows) == 0 {
		return nil, noMatch[q.path]
	}
	total := len(rows)
	off := (q.page - 1) * q.perPage
	out := &jw{}
	out.b = append(out.b, `{"result":"SUCCESS","message":{"totalResults":`...)
	out.b = strconv.AppendInt(out.b, int64(total), 10)
	out.b = append(out.b, `,"resultsPerPage":`...)
	out.b = strconv.AppendInt(out.b, int64(q.perPage), 10)
	out.b = append(out.b, `,"page":`...)
	out.b = strconv.AppendInt(out.b, int64(q.page), 10)
	out.b = append(out.b, `,"data":[`...)
	for i := off; i < min(total, off+q.perPage); i++ {
		if i > off {
			out.b = append(out.b, ',')
		}
		out.b = append(out.b, rows[i]...)
	}
	out.b = append(out.b, "]}}"...)
	return out.b, ""
}
