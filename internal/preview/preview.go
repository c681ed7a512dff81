// Package preview says what a legacy import will create, before it runs:
// customers, orders and transactions, money totals, the active
// subscriptions and when they bill, and the subscriptions that will not
// rebill or that are due so soon that the old system must stop billing them
// first (or the customer pays twice), and the people who would be billed
// twice because they are two customerIds with active subscriptions.
//
// It streams the files once. Memory grows with the customer, order and
// subscription indexes, never with the file. Money is exact (crm.Money).
package preview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/konduit/konduit/internal/cardnum"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
)

// DueWindow is how close to the reference date a rebill is "due soon".
const DueWindow = 72 * time.Hour

// Options tune a preview.
type Options struct {
	AsOf crm.Date // the reference date (the day of the import)
}

// TypeCount is the transactions of one txnType and responseType.
type TypeCount struct {
	TxnType  string    `json:"txnType"`
	Response string    `json:"responseType"`
	Count    int       `json:"count"`
	Amount   crm.Money `json:"-"`
	Total    string    `json:"totalAmount"` // Amount as written in the files
}

// Bucket counts active subscriptions by a key.
type Bucket struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// Subscription is an active subscription named in a finding. It never
// carries a card or account number.
type Subscription struct {
	CustomerID   string `json:"customerId"`
	CampaignID   string `json:"campaignId"`
	ProductID    string `json:"productId"`
	NextBillDate string `json:"nextBillDate"`
	Reason       string `json:"reason"`
}

// Twin is a customer whose active subscription shares an email address or
// a 10-digit phone number with an earlier customer's (validate's rule
// double-billing): likely one person under two customerIds, who would be
// billed twice. Email addresses and phone numbers are not printed.
type Twin struct {
	CustomerID      string `json:"customerId"`      // the later customer
	OtherCustomerID string `json:"otherCustomerId"` // the customer first seen with the address
	Shared          string `json:"shared"`          // "email", "phone" or "email and phone"
}

// Totals are the money the transactions carry, exactly.
type Totals struct {
	Sales       crm.Money `json:"-"` // successful SALE and CAPTURE
	Refunds     crm.Money `json:"-"` // successful REFUND
	Chargebacks crm.Money `json:"-"` // chargebackTotal of rows with isChargedback=1
	Declined    crm.Money `json:"-"` // declined SALE and AUTHORIZE (not money received)
}

// Report is the preview.
type Report struct {
	AsOf         string      `json:"asOf"`
	Files        []string    `json:"files"`
	Customers    int         `json:"customers"`
	Orders       int         `json:"orders"`
	Transactions int         `json:"transactions"`
	Notes        int         `json:"notes"`
	Details      int         `json:"details"`
	ByType       []TypeCount `json:"byType"`
	Totals       Totals      `json:"-"`
	// UnreadAmounts counts rows whose totalAmount is not a decimal: they
	// are left out of the totals (run konduit fix).
	UnreadAmounts int `json:"unreadAmounts"`

	ActiveSubscriptions int            `json:"activeSubscriptions"`
	ByWeek              []Bucket       `json:"byNextBillWeek"` // key: the Monday starting the week
	ByProduct           []Bucket       `json:"byProduct"`
	ByMerchant          []Bucket       `json:"byMerchant"`
	WontRebill          []Subscription `json:"wontRebill"`
	DueSoon             []Subscription `json:"dueWithin72Hours"`
	// BilledTwice lists the customers who share an email address or phone
	// number with another customer's active subscription, by customerId.
	BilledTwice []Twin `json:"billedTwice"`
}

// Input is a file to preview (legacy.Input: a name and a way to open it).
type Input = legacy.Input

type subKey struct{ customer, campaign, product string }

// sub is what the latest row of an active subscription says.
type sub struct {
	created  string
	next     string
	merchant string
	pay      string
	card     string // only "masked", "full" or "" is kept, never the number
	token    bool
	expMonth string
	expYear  string
	bank     bool
}

// Preview reads the files and builds the report.
func Preview(ctx context.Context, inputs []Input, opts Options) (*Report, error) {
	if opts.AsOf.IsZero() {
		return nil, errors.New("preview: the reference date is not set")
	}
	rep := &Report{AsOf: opts.AsOf.String()}
	customers := map[string]struct{}{}
	orders := map[string]struct{}{}
	types := map[[2]string]*TypeCount{}
	subs := map[subKey]*sub{}
	tw := newTwins()
	for _, in := range inputs {
		rep.Files = append(rep.Files, in.Name)
		err := each(ctx, in, func(kind legacy.Kind, col func(string) string) error {
			switch kind {
			case legacy.Notes:
				rep.Notes++
				return nil
			case legacy.Details:
				rep.Details++
				return nil
			}
			rep.Transactions++
			customers[col(legacy.FCustomerID)] = struct{}{}
			orders[col(legacy.FOrderID)] = struct{}{}
			k := [2]string{col(legacy.FTxnType), col(legacy.FResponseType)}
			tc := types[k]
			if tc == nil {
				tc = &TypeCount{TxnType: k[0], Response: k[1]}
				types[k] = tc
			}
			tc.Count++
			amt, err := crm.ParseMoney(col(legacy.FTotalAmount))
			if err != nil {
				rep.UnreadAmounts++
			} else {
				tc.Amount += amt
				ok := k[1] == legacy.ValueSuccess
				switch {
				case ok && (k[0] == legacy.ValueSale || k[0] == legacy.ValueCapture):
					rep.Totals.Sales += amt
				case ok && k[0] == legacy.ValueRefund:
					rep.Totals.Refunds += amt
				case !ok && (k[0] == legacy.ValueSale || k[0] == legacy.ValueAuthorize):
					rep.Totals.Declined += amt
				}
			}
			if col(legacy.FIsChargedback) == "1" {
				if cb, err := crm.ParseMoney(col(legacy.FChargebackTotal)); err == nil {
					rep.Totals.Chargebacks += cb
				}
			}
			if col(legacy.FIsActiveRecurring) == "1" && k[1] == legacy.ValueSuccess && (k[0] == legacy.ValueSale || k[0] == legacy.ValueCapture) {
				tw.add(col(legacy.FCustomerID), col(legacy.FEmailAddress), col(legacy.FPhoneNumber))
			}
			if col(legacy.FIsActiveRecurring) == "1" {
				key := subKey{col(legacy.FCustomerID), col(legacy.FCampaignID), col(legacy.FProductID)}
				created := col(legacy.FDateCreated)
				s := subs[key]
				if s != nil && created < s.created {
					return nil // an older row of the subscription
				}
				if s == nil {
					s = &sub{}
					subs[key] = s
				}
				*s = sub{created: created, next: col(legacy.FNextBillDate), merchant: col(legacy.FMerchantID),
					pay: col(legacy.FPaySource), token: col(legacy.FExternalToken) != "",
					expMonth: col(legacy.FCardExpiryMonth), expYear: col(legacy.FCardExpiryYear),
					bank: col(legacy.FACHRoutingNumber) != "" && col(legacy.FACHAccountNumber) != ""}
				switch c := col(legacy.FCardNumber); {
				case c == "":
				case cardnum.Masked(c):
					s.card = "masked"
				default:
					s.card = "full"
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	rep.Customers, rep.Orders = len(customers), len(orders)
	for _, tc := range types {
		tc.Total = tc.Amount.String()
		rep.ByType = append(rep.ByType, *tc)
	}
	sort.Slice(rep.ByType, func(i, j int) bool {
		a, b := rep.ByType[i], rep.ByType[j]
		if a.TxnType != b.TxnType {
			return a.TxnType < b.TxnType
		}
		return a.Response < b.Response
	})
	rep.subscriptions(subs, opts.AsOf)
	rep.BilledTwice = tw.list()
	return rep, nil
}

// twins finds customers billed twice as validate's double-billing rule
// does: over the rows that carry an active subscription (isActiveRecurring=1
// on a successful SALE or CAPTURE), the first customer seen with an email
// address (check.NormalEmail) or a phoneNumber (check.BillingPhone) owns
// it; another customer with it is a twin.
type twins struct {
	emails map[string]string // normal email -> owner
	phones map[uint64]string // phone -> owner
	pairs  map[[2]string]*Twin
}

func newTwins() *twins {
	return &twins{emails: map[string]string{}, phones: map[uint64]string{}, pairs: map[[2]string]*Twin{}}
}

func (t *twins) add(customer, email, phone string) {
	note := func(owner, what string) {
		if owner == customer {
			return
		}
		k := [2]string{customer, owner}
		p := t.pairs[k]
		switch {
		case p == nil:
			t.pairs[k] = &Twin{CustomerID: customer, OtherCustomerID: owner, Shared: what}
		case p.Shared != what && p.Shared != "email and phone":
			p.Shared = "email and phone"
		}
	}
	if e := check.NormalEmail(email); e != "" {
		if owner, ok := t.emails[e]; ok {
			note(owner, "email")
		} else {
			t.emails[e] = customer
		}
	}
	if n, ok := check.BillingPhone(phone); ok {
		if owner, ok := t.phones[n]; ok {
			note(owner, "phone")
		} else {
			t.phones[n] = customer
		}
	}
}

func (t *twins) list() []Twin {
	out := make([]Twin, 0, len(t.pairs))
	for _, p := range t.pairs {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CustomerID != out[j].CustomerID {
			return out[i].CustomerID < out[j].CustomerID
		}
		return out[i].OtherCustomerID < out[j].OtherCustomerID
	})
	return out
}

func (rep *Report) subscriptions(subs map[subKey]*sub, asOf crm.Date) {
	rep.ActiveSubscriptions = len(subs)
	week, product, merchant := map[string]int{}, map[string]int{}, map[string]int{}
	asOfT := time.Date(asOf.Year, asOf.Month, asOf.Day, 0, 0, 0, 0, time.UTC)
	for k, s := range subs {
		product[k.product]++
		merchant[s.merchant]++
		entry := Subscription{CustomerID: k.customer, CampaignID: k.campaign, ProductID: k.product, NextBillDate: s.next}
		next, err := time.Parse("2006-01-02", s.next)
		if err != nil {
			week["(no valid nextBillDate)"]++
			entry.Reason = "no valid nextBillDate"
			rep.WontRebill = append(rep.WontRebill, entry)
			continue
		}
		monday := next.AddDate(0, 0, -((int(next.Weekday()) + 6) % 7))
		week[monday.Format("2006-01-02")]++
		if reason := s.blocker(next); reason != "" {
			entry.Reason = reason
			rep.WontRebill = append(rep.WontRebill, entry)
		}
		if d := next.Sub(asOfT); d <= DueWindow {
			entry.Reason = "due within 72 hours: stop the old system's rebill first"
			if d < 0 {
				entry.Reason = "overdue: rebills at once on import; stop the old system's rebill first"
			}
			rep.DueSoon = append(rep.DueSoon, entry)
		}
	}
	rep.ByWeek, rep.ByProduct, rep.ByMerchant = buckets(week), buckets(product), buckets(merchant)
	bySubscription := func(l []Subscription) {
		sort.Slice(l, func(i, j int) bool {
			a, b := l[i], l[j]
			if a.CustomerID != b.CustomerID {
				return a.CustomerID < b.CustomerID
			}
			if a.CampaignID != b.CampaignID {
				return a.CampaignID < b.CampaignID
			}
			return a.ProductID < b.ProductID
		})
	}
	bySubscription(rep.WontRebill)
	bySubscription(rep.DueSoon)
}

// blocker says why the subscription's latest row cannot pay its rebill.
func (s *sub) blocker(next time.Time) string {
	switch s.pay {
	case legacy.ValueCreditCard:
		switch {
		case s.card == "" && !s.token:
			return "no payment data: no card number and no externalToken"
		case s.card == "masked" && !s.token:
			return "masked card number without externalToken"
		}
		y, err1 := strconv.Atoi(s.expYear)
		m, err2 := strconv.Atoi(s.expMonth)
		if err1 != nil || err2 != nil || len(s.expYear) != 4 || m < 1 || m > 12 {
			return "no valid card expiry"
		}
		// A card is good through the end of its expiry month.
		if y < next.Year() || (y == next.Year() && m < int(next.Month())) {
			return fmt.Sprintf("card expires %02d/%d, before nextBillDate", m, y)
		}
	case legacy.ValueCheck:
		if !s.bank {
			return "no payment data: no bank routing and account number"
		}
	case legacy.ValuePrepaid:
		return "no payment data: PREPAID has no payment method to rebill"
	default:
		return "no payment data: no paySource"
	}
	return ""
}

func buckets(m map[string]int) []Bucket {
	out := make([]Bucket, 0, len(m))
	for k, n := range m {
		out = append(out, Bucket{Key: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// each streams one file's data rows. A problem that stops the preview is a
// *legacy.DataError at its row.
func each(ctx context.Context, in Input, fn func(legacy.Kind, func(string) string) error) error {
	f, err := legacy.Open(ctx, in)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.CheckHeader(0); err != nil {
		return err
	}
	var fields []string
	col := func(name string) string { return f.Columns.Get(fields, name) }
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := f.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return f.DataErrorOf(err)
		}
		if len(rec.Fields) != len(f.Header) {
			return &legacy.DataError{File: in.Name, Row: rec.Row, Err: fmt.Errorf("the row has %d fields, the header %d", len(rec.Fields), len(f.Header))}
		}
		fields = rec.Fields
		if err := fn(f.Kind, col); err != nil {
			return err
		}
	}
}

// Net is sales less refunds.
func (r *Report) Net() crm.Money { return r.Totals.Sales - r.Totals.Refunds }
