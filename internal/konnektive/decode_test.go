package konnektive

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

func ny(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestClassify(t *testing.T) {
	tests := []struct {
		msg  string
		kind messageKind
		auth AuthKind
		ip   string
	}{
		{"No transactions matching those parameters could be found", msgEmpty, 0, ""},
		{"No records matching those parameters could be found", msgEmpty, 0, ""},
		{"No orders found", msgEmpty, 0, ""},
		{"No user found for that login", msgAuth, AuthLogin, ""},
		{"Invalid login credentials", msgAuth, AuthLogin, ""},
		{"Incorrect password", msgAuth, AuthLogin, ""},
		{"IP must be whitelisted - 203.0.113.7", msgAuth, AuthIP, "203.0.113.7"},
		{"IP must be whitelisted - 2001:db8::1", msgAuth, AuthIP, "2001:db8::1"},
		{"IP must be whitelisted", msgAuth, AuthIP, ""},
		{"API user does not have access to this endpoint", msgAuth, AuthPermission, ""},
		{"startDate is required", msgFinal, 0, ""},
		{"Invalid date format", msgFinal, 0, ""},
		{"A temporary error occurred. Please try again.", msgTransient, 0, ""},
		{"Database timeout", msgTransient, 0, ""},
	}
	for _, tt := range tests {
		kind, err := classify(Transactions, tt.msg)
		if kind != tt.kind {
			t.Errorf("classify(%q) kind = %d, want %d", tt.msg, kind, tt.kind)
			continue
		}
		var ae *AuthError
		if tt.auth != 0 {
			if !errors.As(err, &ae) || ae.Kind != tt.auth || ae.IP != tt.ip {
				t.Errorf("classify(%q) = %#v, want %v ip %q", tt.msg, err, tt.auth, tt.ip)
				continue
			}
			if ae.ExitCode() != 3 || ae.Hint() == "" {
				t.Errorf("classify(%q): exit %d hint %q", tt.msg, ae.ExitCode(), ae.Hint())
			}
			if tt.ip != "" && !strings.Contains(ae.Hint(), tt.ip) {
				t.Errorf("hint %q does not name %s", ae.Hint(), tt.ip)
			}
			if tt.auth == AuthPermission && !strings.Contains(ae.Hint(), "Transaction Query") {
				t.Errorf("hint %q does not name the permission", ae.Hint())
			}
		}
	}
}

func TestFlex(t *testing.T) {
	tests := []struct {
		in   string
		want flex
		ok   bool
	}{
		{`"12"`, "12", true},
		{`12`, "12", true},
		{`" 7 "`, "7", true},
		{`null`, "", true},
		{`true`, "1", true},
		{`false`, "0", true},
		{`29.99`, "29.99", true},
		// whole JSON numbers become their digits; strings stay as sent
		{`123.0`, "123", true},
		{`1.23e2`, "123", true},
		{`"4765949E10"`, "4765949E10", true},
		{`"123.0"`, "123.0", true},
		{`{}`, "", false},
		{`[1]`, "", false},
	}
	for _, tt := range tests {
		var f flex
		err := json.Unmarshal([]byte(tt.in), &f)
		if (err == nil) != tt.ok || (tt.ok && f != tt.want) {
			t.Errorf("flex %s = %q, %v", tt.in, f, err)
		}
	}
	ids := map[flex]string{"0": "", "": "", "123": "123", "4765949E10": "4765949E10", "ABC-1": "ABC-1"}
	for in, want := range ids {
		if got := in.id(); got != want {
			t.Errorf("id(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		in   flex
		want crm.Money
		ok   bool
	}{
		{"29.99", 2999, true},
		{"29.9900", 2999, true},
		{"29.991", 0, false},
		{"-5", -500, true},
		{"", 0, true},
		{"abc", 0, false},
	}
	for _, tt := range tests {
		got, err := tt.in.money()
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("money(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestItems(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`{"7":{"productId":3},"8":{"productId":"4"}}`, []string{"3", "4"}},
		{`[{"productId":5}]`, []string{"5"}},
		{`null`, nil},
		{`""`, nil},
		{`[]`, nil},
		{`{}`, nil},
	}
	for _, tt := range tests {
		var it items
		if err := json.Unmarshal([]byte(tt.in), &it); err != nil {
			t.Errorf("items %s: %v", tt.in, err)
			continue
		}
		var got []string
		for _, x := range it {
			got = append(got, x.ProductID.id())
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("items %s = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"b":"x"}`, `{"a":1,"b":"x"}`},
		{`{"transactionId":1,"achAccountNumber":"000123456789","achRoutingNumber":"011000015","x":[1,2]}`, `{"transactionId":1,"x":[1,2]}`},
		{`{"customerId":2,"eCommercePassword":"s3cret","notes":[{"m":"hi","cardNumber":"x"}]}`, `{"customerId":2,"notes":[{"m":"hi"}]}`},
		{`{"ACHACCOUNTNUMBER":"1","k":{"eCommercePassword":null}}`, `{"k":{}}`},
	}
	for _, tt := range tests {
		got, err := sanitize(json.RawMessage(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("sanitize(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodePageMessage(t *testing.T) {
	tests := []struct {
		in          string
		rows, total int
		perPage     int
		wantErr     bool
	}{
		{`{"totalResults":3,"resultsPerPage":200,"page":1,"data":[{},{},{}]}`, 3, 3, 200, false},
		{`{"totalResults":"3","data":[{},{},{}]}`, 3, 3, 0, false},
		{`{"totalResults":"3","data":{"1":{},"2":{},"3":{}}}`, 3, 3, 0, false},
		{`{"totalResults":5,"data":[]}`, 0, 5, 0, false},
		{`[{},{}]`, 2, -1, 0, false},
		{`{"totalResults":"many","data":[]}`, 0, 0, 0, true},
		{`{"totalResults":1,"data":"x"}`, 0, 0, 0, true},
	}
	for _, tt := range tests {
		rows, total, per, err := decodePageMessage(json.RawMessage(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v", tt.in, err)
			continue
		}
		if err == nil && (len(rows) != tt.rows || total != tt.total || per != tt.perPage) {
			t.Errorf("%s: rows %d total %d per %d", tt.in, len(rows), total, per)
		}
	}
}

func TestDecodeRows(t *testing.T) {
	loc := ny(t)
	c := &Client{cfg: Config{Location: loc}}
	txn := `{"transactionId":"101","parentTxnId":0,"orderId":"A1B2C3","customerId":7,"purchaseId":"P9",` +
		`"campaignId":3,"merchantId":"2","txnType":"sale","responseType":"SUCCESS","paySource":"CREDITCARD",` +
		`"cardType":"VISA","cardLast4":"1111","totalAmount":"32.49","salesTax":"2.50","price":"29.99","shippingCost":0,` +
		`"billingCycleNumber":"2","dateCreated":"2025-03-09 02:30:00","dateUpdated":"2025-04-20 10:00:00",` +
		`"isChargedback":"1","chargebackAmount":"32.49","chargebackDate":"2025-04-20","chargebackReasonCode":"10.4",` +
		`"achAccountNumber":"","3DTxnResult":null,"items":{"55":{"productId":12,"qty":1}},"affId":"AFF1","sourceValue1":"sub"}`
	p := Page{Endpoint: Transactions, Number: 1}
	if err := c.decodeRows(&p, []json.RawMessage{json.RawMessage(txn)}); err != nil {
		t.Fatal(err)
	}
	got := p.Transactions[0]
	if got.ID != "101" || got.ParentID != "" || got.OrderID != "A1B2C3" || got.CustomerID != "7" || got.ProductID != "12" ||
		got.TxnType != "SALE" || got.Amount != 3249 || got.SalesTax != 250 || got.SubTotal != 2999 || got.BillingCycle != 2 ||
		!got.Chargedback || got.ChargebackAmt != 3249 || got.ChargebackDay != (crm.Date{Year: 2025, Month: 4, Day: 20}) ||
		got.ChargebackWhy != "10.4" || got.SubAffID != "sub" || got.Source != crm.SourceAPI {
		t.Errorf("transaction = %+v", got)
	}
	if got.Created.Adjust != crm.Gap || got.Created.UTC.Format(crm.WallLayout) != "2025-03-09 07:30:00" {
		t.Errorf("created = %+v", got.Created)
	}
	if strings.Contains(string(got.Raw), "achAccountNumber") || !strings.Contains(string(got.Raw), "3DTxnResult") {
		t.Errorf("raw = %s", got.Raw)
	}
	if p.ids[0] != "101" {
		t.Errorf("ids = %v", p.ids)
	}

	bad := []struct {
		ep         Endpoint
		row, field string
	}{
		{Transactions, `{"transactionId":1,"totalAmount":"1.234"}`, "totalAmount"},
		{Transactions, `{"transactionId":1,"dateCreated":"yesterday"}`, "dateCreated"},
		{Transactions, `{"totalAmount":"1","dateCreated":"2025-01-01 00:00:00"}`, "transactionId"},
		{Transactions, `{"transactionId":1,"isChargedback":"maybe","dateCreated":"2025-01-01 00:00:00"}`, "isChargedback"},
		// money konduit will not guess at
		{Transactions, `{"transactionId":1,"totalAmount":"1,049.95","dateCreated":"2025-01-01 00:00:00"}`, "totalAmount"},
		{Transactions, `{"transactionId":1,"totalAmount":"10.005","dateCreated":"2025-01-01 00:00:00"}`, "totalAmount"},
		// a row no report could place
		{Transactions, `{"transactionId":1,"totalAmount":"1.00"}`, "dateCreated"},
		{Orders, `{"orderId":"X1","dateCreated":""}`, "dateCreated"},
		{Customers, `{"customerId":9,"dateCreated":"10:00"}`, "dateCreated"},
		{Purchases, `{"purchaseId":"P1","dateCreated":"0000-00-00 00:00:00"}`, "dateCreated"},
		{Orders, `{"orderId":{"x":1}}`, "orderId"},
		{Customers, `[1,2]`, "(row)"},
		{Purchases, `{"purchaseId":"1","nextBillDate":"2025-13-01"}`, "nextBillDate"},
	}
	for _, b := range bad {
		// A bad row is set aside with its reason; the page is still read.
		p := Page{Endpoint: b.ep, Number: 2, PerPage: 2}
		err := c.decodeRows(&p, []json.RawMessage{json.RawMessage(b.row)})
		if err != nil || len(p.Bad) != 1 || p.Bad[0].Field != b.field || p.Bad[0].Index != 0 || p.Len() != 1 || len(p.Raw) != 0 {
			t.Errorf("%s %s: err %v, bad %+v, want field %s", b.ep, b.row, err, p.Bad, b.field)
		}
	}

	ok := []struct {
		ep  Endpoint
		row string
	}{
		{Orders, `{"orderId":"X1","customerId":"9","orderStatus":"complete","totalAmount":10,"dateCreated":"2025-01-01 00:00:00","dateUpdated":"0000-00-00 00:00:00"}`},
		{Customers, `{"customerId":9,"firstName":"Ann","emailAddress":"a@example.com","dateCreated":"2025-01-01 00:00:00","eCommercePassword":"pw"}`},
		{Purchases, `{"purchaseId":"P1","status":"ACTIVE","price":"19.95","nextBillDate":"2025-02-01","billingCycleNumber":1,"dateCreated":"2025-01-01"}`},
		{Campaigns, `{"campaignId":3,"campaignName":"Main"}`},
	}
	// Harmless date forms are read as the documented one, and written back
	// in it, so a retime reads them alike.
	for _, form := range []string{"2026-11-30T10:00:00", "11/30/2026 10:00:00", "2026-11-30 10:00:00"} {
		p := Page{Endpoint: Orders, Number: 1}
		c.decodeRows(&p, []json.RawMessage{json.RawMessage(`{"orderId":"X1","dateCreated":"` + form + `"}`)})
		if len(p.Orders) != 1 || p.Orders[0].Created.Raw != "2026-11-30 10:00:00" {
			t.Errorf("%s: %+v %+v", form, p.Orders, p.Bad)
		}
	}
	// Refunds are positive, whatever sign the account sends.
	p = Page{Endpoint: Transactions, Number: 1}
	c.decodeRows(&p, []json.RawMessage{json.RawMessage(`{"transactionId":5,"txnType":"REFUND","totalAmount":"-29.99","dateCreated":"2025-01-01 00:00:00"}`)})
	if len(p.Transactions) != 1 || p.Transactions[0].Amount != 2999 {
		t.Errorf("negative refund: %+v %+v", p.Transactions, p.Bad)
	}
	for _, o := range ok {
		p := Page{Endpoint: o.ep, Number: 1}
		if err := c.decodeRows(&p, []json.RawMessage{json.RawMessage(o.row)}); err != nil || len(p.Bad) != 0 {
			t.Errorf("%s %s: %v %+v", o.ep, o.row, err, p.Bad)
			continue
		}
		if strings.Contains(string(p.Raw[0]), "eCommercePassword") {
			t.Errorf("raw kept the password: %s", p.Raw[0])
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"Thu, 01 Jan 2026 00:00:10 GMT", 10 * time.Second},
		{"Wed, 31 Dec 2025 00:00:10 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(10, 2)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond}
	for i, w := range want {
		if got := l.reserve(); got != w {
			t.Errorf("reserve %d = %v, want %v", i, got, w)
		}
	}
	now = now.Add(time.Second) // refills to the burst, not beyond
	if got := l.reserve(); got != 0 {
		t.Errorf("after a second: %v", got)
	}
}

func TestValidatePassword(t *testing.T) {
	if err := ValidatePassword("a&b"); err == nil || strings.Contains(err.Error(), "a&b") {
		t.Errorf("a&b: %v", err)
	}
	if ValidatePassword("") == nil || ValidatePassword("ok-pass") != nil {
		t.Error("empty or fine password misjudged")
	}
}

// hasSensitiveKey reports whether any object in v has a key sanitize drops.
func hasSensitiveKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isSensitive(k) || hasSensitiveKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasSensitiveKey(e) {
				return true
			}
		}
	}
	return false
}
