package adversary

import (
	"bytes"
	"net/url"
)

// parseSummary reads /transactions/summary/'s range (whole days).
func (s *Server) parseSummary(f url.Values) (query, string) {
	q := query{ent: Summary}
	if msg := s.parseRange(f, &q, false); msg != "" {
		return q, msg
	}
	return q, ""
}

// summary answers /transactions/summary/ with one row per day of the range
// (message is a list): sales and declines by their own date, refunds and
// chargebacks booked to the date of the original sale. It counts every
// transaction held, bad rows included, at their undamaged amounts.
func (s *Server) summary(q query, req *Request) reply {
	w := s.w
	if q.empty {
		req.Outcome = "empty"
		return jsonReply(errorBody("No records matching those parameters could be found"))
	}
	type agg struct {
		newCnt, rebCnt, decCnt, rebDecCnt, refCnt, cbCnt int
		newRev, rebRev, refRev, cbRev                    int64
	}
	days := map[int]*agg{}
	at := func(n int) *agg {
		if days[n] == nil {
			days[n] = &agg{}
		}
		return days[n]
	}
	for _, x := range w.recs[Transactions] {
		n := dayOf(x.created, w.loc).num()
		switch {
		case x.txnType == "SALE" && x.response == "SUCCESS":
			if x.orderType == "RECURRING" {
				at(n).rebCnt++
				at(n).rebRev += x.amount
			} else {
				at(n).newCnt++
				at(n).newRev += x.amount
			}
			if x.chargedback {
				at(n).cbCnt++
				at(n).cbRev += x.cbAmount
			}
		case x.txnType == "SALE":
			at(n).decCnt++
			if x.orderType == "RECURRING" {
				at(n).rebDecCnt++
			}
		case x.txnType == "REFUND" && x.response == "SUCCESS":
			if p := w.byID[Transactions][x.parentID]; p != nil {
				n = dayOf(p.created, w.loc).num()
			}
			at(n).refCnt++
			at(n).refRev += x.amount
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"result":"SUCCESS","message":[`)
	for n := q.from; n <= q.to; n++ {
		a := days[n]
		if a == nil {
			a = &agg{}
		}
		if n > q.from {
			b.WriteByte(',')
		}
		o := obj{}
		o.str("date", dayFromNum(n).String())
		o.int("newSaleCnt", int64(a.newCnt))
		o.str("newSaleRev", money(a.newRev))
		o.int("rebillCnt", int64(a.rebCnt))
		o.str("rebillRev", money(a.rebRev))
		o.int("rebillDeclinesCnt", int64(a.rebDecCnt))
		o.int("declinesCnt", int64(a.decCnt))
		o.int("refundCnt", int64(a.refCnt))
		o.str("refundRev", money(a.refRev))
		o.int("chargebackCnt", int64(a.cbCnt))
		o.str("chargebackRev", money(a.cbRev))
		o.str("grossRevenue", money(a.newRev+a.rebRev))
		o.str("netRevenue", money(a.newRev+a.rebRev-a.refRev-a.cbRev))
		o.str("currencySymbol", "$")
		b.Write(o.bytes())
	}
	b.WriteString("]}")
	req.Rows = q.to - q.from + 1
	if req.Outcome == "" {
		req.Outcome = "data"
	}
	return jsonReply(b.Bytes())
}
