package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

type atomicInt = atomic.Int64

// row is one transactions row: its fields by header position.
type row struct {
	file   string
	n      int // spreadsheet row
	fields []string
	col    legacy.Columns
}

func (r *row) get(name string) string {
	return strings.TrimSpace(r.col.Get(r.fields, name))
}

// readFile streams in's rows to fn. A file that is not a transactions file
// is reported as skipped.
func (v *verifier) readFile(ctx context.Context, in Input, fn func(*row)) (bool, error) {
	f, err := legacy.Open(ctx, in)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if f.Kind != legacy.Transactions {
		return true, nil
	}
	// Card and bank columns are never read.
	col := legacy.Columns{}
	for name, i := range f.Columns {
		col[name] = i
	}
	for _, s := range []string{legacy.FCardNumber, legacy.FACHAccountNumber, legacy.FACHRoutingNumber, legacy.FExternalToken} {
		delete(col, s)
	}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		rec, err := f.Read()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			var pe *legacy.ParseError
			if errors.As(err, &pe) {
				return false, fmt.Errorf("read %s: %w (run konduit validate first)", in.Name, err)
			}
			return false, fmt.Errorf("read %s: %w", in.Name, err)
		}
		fn(&row{file: in.Name, n: rec.Row, fields: rec.Fields, col: col})
	}
}

// index is pass 1: customers, orders, active subscriptions, the span.
func (v *verifier) index(r *row) {
	id := r.get(legacy.FCustomerID)
	ci, ok := v.custIdx[id]
	if !ok {
		ci = int32(len(v.custs))
		v.custIdx[id] = ci
		c := &fileCust{id: id}
		c.contact = [nContact]string{r.get(legacy.FFirstName), r.get(legacy.FLastName), r.get(legacy.FEmailAddress),
			r.get(legacy.FPhoneNumber), r.get(legacy.FAddress1), r.get(legacy.FAddress2), r.get(legacy.FCity),
			r.get(legacy.FState), r.get(legacy.FPostalCode), r.get(legacy.FCountry)}
		if r.get(legacy.FBillShipSame) == "0" {
			copy(c.contact[cShip1:], []string{r.get(legacy.FShipAddress1), r.get(legacy.FShipAddress2), r.get(legacy.FShipCity),
				r.get(legacy.FShipState), r.get(legacy.FShipPostalCode), r.get(legacy.FShipCountry)})
		} else {
			copy(c.contact[cShip1:], c.contact[cAddr1:cCountry+1])
		}
		v.custs = append(v.custs, c)
	}
	c := v.custs[ci]
	c.txns++
	v.fileTxns++
	if o := r.get(legacy.FOrderID); o != "" {
		if _, seen := v.fileOrders[o]; !seen {
			v.fileOrders[o] = ci
		}
	}
	created := r.get(legacy.FDateCreated)
	if _, err := time.Parse(crm.WallLayout, created); err == nil {
		day := created[:10]
		if v.d0 == "" || day < v.d0 {
			v.d0 = day
		}
		if day > v.d1 {
			v.d1 = day
		}
	}
	if r.get(legacy.FIsActiveRecurring) == "1" {
		k := subKey{cust: ci, product: r.get(legacy.FProductID)}
		s := v.subs[k]
		if s == nil {
			s = &fileSub{}
			v.subs[k] = s
			v.subOrder = append(v.subOrder, k)
		}
		if created >= s.latest {
			s.latest, s.nbd, s.merchant = created, r.get(legacy.FNextBillDate), r.get(legacy.FMerchantID)
		}
	}
}

// describe is a transaction row in a few words, without card data.
func describe(r *row) string {
	return fmt.Sprintf("%s %s %s at %s", r.get(legacy.FTxnType), r.get(legacy.FResponseType), r.get(legacy.FTotalAmount), r.get(legacy.FDateCreated))
}

// compareRow is pass 2: one transaction row against the API's.
func (v *verifier) compareRow(r *row) {
	ci := v.custIdx[r.get(legacy.FCustomerID)]
	c := v.custs[ci]
	mtid := r.get(legacy.FMerchantTxnID)
	var t *apiTxn
	for _, i := range v.txnByMTID[mtid] {
		if v.txns[i].fileCust < 0 {
			t = &v.txns[i]
			break
		}
	}
	if t == nil {
		note := ""
		if len(v.txnByMTID[mtid]) > 0 {
			note = "the merchantTxnId is on more than one row of the files"
		}
		c.add(Difference{Field: "transaction", MerchantTxnID: mtid, OrderID: r.get(legacy.FOrderID), File: describe(r), Konnektive: "missing", Note: note})
		return
	}
	t.fileCust = ci
	if t.cust != "" {
		if c.votes == nil {
			c.votes = map[string]int{}
		}
		c.votes[t.cust]++
	}
	diff := func(field, file, kon, note string) {
		c.add(Difference{Field: field, MerchantTxnID: mtid, File: file, Konnektive: kon, Note: note})
	}
	if ft := r.get(legacy.FTxnType); !strings.EqualFold(ft, t.typ) {
		diff("txnType", ft, t.typ, "")
	}
	if fr := r.get(legacy.FResponseType); !sameResponse(fr, t.resp) {
		diff("responseType", fr, t.resp, "")
	}
	if fa := r.get(legacy.FTotalAmount); !sameMoney(fa, t.amount) && !(t.typ == crm.TxnRefund && sameMoney(fa, -t.amount)) {
		diff("totalAmount", fa, t.amount.String(), "")
	}
	fc := r.get(legacy.FDateCreated)
	if w, err := crm.ParseWall(fc, v.opts.Location); err != nil {
		diff("dateCreated", fc, t.created.Raw, "the file's time does not parse")
	} else if !w.UTC.Equal(t.created.UTC) {
		d := t.created.UTC.Sub(w.UTC)
		note := "Konnektive is off by " + d.String()
		if d%(15*60e9) == 0 {
			note += ": a time zone applied twice or not at all?"
		}
		diff("dateCreated", fc+" ("+w.UTC.Format("2006-01-02T15:04:05Z")+")", t.created.Raw+" ("+t.created.UTC.Format("2006-01-02T15:04:05Z")+")", note)
	}
	fo := r.get(legacy.FOrderID)
	client := t.clientOrder
	if client == "" {
		if oi, ok := v.orderByID[t.order]; ok {
			client = v.orders[oi].client
		}
	}
	if client != fo {
		diff("orderId", fo, orNone(client), "Konnektive order "+orNone(t.order)+"'s client order id")
	}
	fp := r.get(legacy.FParentTxnID)
	kp := ""
	if t.parent != "" {
		kp = "transactionId " + t.parent
		if pi, ok := v.txnByID[t.parent]; ok {
			kp = v.txns[pi].mtid
		}
	}
	if fp != kp {
		note := ""
		if fp != "" && kp == "" {
			note = "the refund or capture does not hang off its parent"
		}
		diff("parentTxnId", orNone(fp), orNone(kp), note)
	}
	fcb := r.get(legacy.FIsChargedback) == "1"
	switch {
	case fcb != t.cb:
		diff("isChargedback", bit(fcb), bit(t.cb), "")
	case fcb:
		if fa := r.get(legacy.FChargebackTotal); !sameMoney(fa, t.cbAmt) {
			diff("chargebackTotal", fa, t.cbAmt.String(), "")
		}
		if fd := r.get(legacy.FChargebackDate); fd != t.cbDay.String() {
			diff("chargebackDate", fd, orNone(t.cbDay.String()), "")
		}
	}
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func orNone(s string) string {
	if s == "" || s == "0000-00-00" {
		return "(none)"
	}
	return s
}

// sameResponse: the file's DECLINE is the API's HARD_ or SOFT_DECLINE.
func sameResponse(file, api string) bool {
	file, api = strings.ToUpper(file), strings.ToUpper(api)
	if file == api {
		return true
	}
	return file == crm.RespDecline && (api == crm.RespHardDecline || api == crm.RespSoftDecline)
}

func sameMoney(file string, api crm.Money) bool {
	m, err := crm.ParseMoney(file)
	return err == nil && m == api
}
