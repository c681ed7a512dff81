package konnektive

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
)

// The decoders only ever see what the HTTP layer accepted: call refuses a
// body that is not valid JSON, and hands on its "message" value; the page
// decoder splits that into rows. So a message is one valid JSON value, and
// so is every row. The fuzz targets below shape their input the same way
// (anything else is skipped) and then hold the decoders to strong
// properties on all of it.

// maxFuzzJSON bounds the inputs the fuzz targets try. The decoders are
// linear in their input; a large mutated input only makes each run and,
// worse, the minimization of an interesting one slow (a minute at a time
// on a busy machine, which is all of a short run's budget).
const maxFuzzJSON = 1 << 10

// envelopeMessage runs body through the envelope scan call uses and returns
// the message, or false when call would not have returned one.
func envelopeMessage(body []byte) (json.RawMessage, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	var msg json.RawMessage
	err := scanObject(body, func(key string, val []byte) error {
		if key == "message" {
			msg = val
		}
		return nil
	})
	return msg, err == nil && msg != nil
}

// decodeAny reads one JSON value with numbers kept as written (a float64
// cannot hold every number JSON can).
func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the value")
	}
	return v, nil
}

// boundarySeeds are rows at the edges: card and account numbers of 19, 20
// and 22 digits (Luhn-valid, made at run time so the repository holds
// none), as strings and as JSON numbers, in sensitive keys and elsewhere;
// empty values; invalid UTF-8; escaped key names.
func boundarySeeds() []string {
	seeds := []string{`{}`, `""`, ``, `{"":""}`, `null`,
		"{\"customerId\":\"\xff\xfe\",\"dateCreated\":\"2025-01-01 00:00:00\",\"notes\":\"\xc3\"}",
		`{"card\u004eumber":"1","ACHACCOUNTNUMBER":"2","eCommercePassword":""}`,
		`{"card\u004eumber":"1"}`, `{"ecommerce\u0050assword":"x"}`, `{"eCommercePaſſword":"x"}`, `{"a":[{"CardNumber":1}],"b":"\/"}`,
	}
	for _, n := range []int{19, 20, 22} {
		payload := strings.Repeat("4", n-1)
		num := payload + string(cardnum.CheckDigit(payload))
		seeds = append(seeds,
			`{"transactionId":"1","dateCreated":"2025-01-01 00:00:00","cardNumber":"`+num+`","achAccountNumber":`+num+`}`,
			`{"customerId":`+num+`,"dateCreated":"2025-01-01 00:00:00","cardLast4":"`+num[n-4:]+`","notes":[{"text":"`+num+`"}]}`,
			`{"orderId":"`+num+`","totalAmount":`+num+`,"dateCreated":"2025-01-01 00:00:00"}`,
		)
	}
	return seeds
}

// withoutSensitive is the reference for sanitize: v with every sensitive
// key removed, at any depth.
func withoutSensitive(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !isSensitive(k) {
				out[k] = withoutSensitive(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutSensitive(e)
		}
		return out
	}
	return v
}

// FuzzDecodeRow: any row production can receive (a valid JSON value, as an
// element of a page's data) decodes without failing the page, into exactly
// one row, read or set aside; what is kept of it is valid JSON equal to the
// row without its sensitive keys, and every row read has its typed record.
func FuzzDecodeRow(f *testing.F) {
	f.Add(`{"transactionId":"101","totalAmount":"32.49","dateCreated":"2025-03-09 02:30:00","items":{"1":{"productId":2}},"achAccountNumber":"1"}`)
	f.Add(`{"orderId":"X","customerId":9,"orderStatus":"COMPLETE","totalAmount":10}`)
	f.Add(`{"customerId":1,"eCommercePassword":"p","notes":[{"cardNumber":"x"}]}`)
	f.Add(`{"purchaseId":"P","nextBillDate":"0000-00-00","price":1.5}`)
	f.Add(`[]`)
	for _, seed := range boundarySeeds() {
		f.Add(seed)
	}
	loc := ny(f)
	c := &Client{cfg: Config{Location: loc}}
	f.Fuzz(func(t *testing.T, row string) {
		if len(row) > maxFuzzJSON {
			return // structure, not size, is what finds bugs; see maxFuzzJSON
		}
		// The row as the API would send it: an element of a page's data.
		msg, ok := envelopeMessage([]byte(`{"result":"SUCCESS","message":{"totalResults":1,"data":[` + row + `]}}`))
		if !ok || !json.Valid([]byte(row)) {
			return // not a row production can receive
		}
		rows, total, _, err := decodePageMessage(msg)
		if err != nil || total != 1 || len(rows) != 1 {
			t.Fatalf("a page of one row: %d rows, total %d, err %v", len(rows), total, err)
		}
		// What is kept: the row less its sensitive keys, card numbers in
		// its strings masked.
		want, err := decodeAny(cardnum.MaskJSON(rows[0]))
		if err != nil {
			t.Fatalf("the row is not JSON: %v", err)
		}
		want = withoutSensitive(want)
		for _, ep := range []Endpoint{Transactions, Orders, Customers, Purchases, Campaigns} {
			p := Page{Endpoint: ep, Number: 1}
			if err := c.decodeRows(&p, rows); err != nil {
				t.Fatalf("%s: a row failed the page: %v", ep, err)
			}
			if p.Len() != 1 {
				t.Fatalf("%s: one row became %d read and %d bad", ep, len(p.Raw), len(p.Bad))
			}
			// The id the digest lookup names a row by is the id its
			// decoder reads, unless the row holds the key twice.
			if key := ep.idKey(); len(p.ids) == 1 && ep != Campaigns {
				n := 0
				scanObject(rows[0], func(k string, _ []byte) error {
					if k == key {
						n++
					}
					return nil
				})
				if got := peekID(rows[0], key); n == 1 && got != p.ids[0] {
					t.Fatalf("%s: peekID %q, the decoder read %q", ep, got, p.ids[0])
				}
			}
			typed := map[Endpoint]int{Transactions: len(p.Transactions), Orders: len(p.Orders), Customers: len(p.Customers), Purchases: len(p.Purchases), Campaigns: len(p.Raw)}[ep]
			if typed != len(p.Raw) {
				t.Fatalf("%s: %d rows read, %d typed records", ep, len(p.Raw), typed)
			}
			kept := p.Raw
			for _, b := range p.Bad {
				if b.Raw == nil {
					t.Fatalf("%s: a JSON row was set aside as not JSON (%s: %s)", ep, b.Field, b.Reason)
				}
				if b.Index != 0 || b.Field == "" || b.Reason == "" {
					t.Fatalf("%s: bad row %+v", ep, b)
				}
				kept = append(kept, b.Raw)
			}
			for _, r := range kept {
				got, err := decodeAny(r)
				if err != nil {
					t.Fatalf("%s: sanitized raw is not JSON: %s", ep, r)
				}
				if hasSensitiveKey(got) {
					t.Fatalf("%s: sanitized raw keeps a sensitive key: %s", ep, r)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: sanitized raw %s lost or changed more than the sensitive keys of %s", ep, r, row)
				}
			}
		}
	})
}

// FuzzDecodePage: any message production can receive (the value of a
// valid envelope's "message") either fails with an error or yields exactly
// the rows of its data, in order, each valid JSON, with a count that is -1
// (none given) or what totalResults says.
func FuzzDecodePage(f *testing.F) {
	f.Add(`{"totalResults":"2","resultsPerPage":200,"page":1,"data":[{"a":1},{"b":2}]}`)
	f.Add(`{"totalResults":1,"data":{"7":{"x":1}}}`)
	f.Add(`[{"date":"2025-01-01"}]`)
	f.Add(`{"data":null}`)
	for _, seed := range boundarySeeds() {
		f.Add(`{"totalResults":1,"data":[` + seed + `]}`)
		f.Add(`{"totalResults":"1","data":{"1":` + seed + `}}`)
	}
	f.Fuzz(func(t *testing.T, message string) {
		if len(message) > maxFuzzJSON {
			return
		}
		msg, ok := envelopeMessage([]byte(`{"result":"SUCCESS","message":` + message + `}`))
		if !ok || !json.Valid([]byte(message)) {
			return // not a message production can receive
		}
		rows, total, per, err := decodePageMessage(msg)
		if err != nil {
			if rows != nil {
				t.Fatalf("rows with an error: %v", err)
			}
			return
		}
		for _, r := range rows {
			if !json.Valid(r) {
				t.Fatalf("row %q is not JSON", r)
			}
		}
		// The reference: encoding/json's reading of the same message.
		var data json.RawMessage
		var fields map[string]json.RawMessage
		switch {
		case json.Unmarshal(msg, &fields) == nil:
			data = fields["data"]
			var tr flex
			if v, ok := fields["totalResults"]; ok && json.Unmarshal(v, &tr) == nil && tr != "" {
				n, err := tr.int()
				if err != nil || n != total {
					t.Fatalf("total %d from totalResults %s", total, v)
				}
			} else if total != -1 {
				t.Fatalf("total %d without a totalResults", total)
			}
			var pr flex
			if v, ok := fields["resultsPerPage"]; ok && json.Unmarshal(v, &pr) == nil {
				if n, err := pr.int(); err == nil && n != per {
					t.Fatalf("per page %d from resultsPerPage %s", per, v)
				}
			}
		default:
			data = msg
			if total != -1 {
				t.Fatalf("a bare list with total %d", total)
			}
		}
		var list []json.RawMessage
		var obj map[string]json.RawMessage
		var want []json.RawMessage
		switch {
		case json.Unmarshal(data, &list) == nil:
			want = list
		case json.Unmarshal(data, &obj) == nil:
			if len(obj) > len(rows) {
				t.Fatalf("an object of %d rows gave %d", len(obj), len(rows))
			}
			return // rows in document order; a map cannot say which order
		}
		if len(want) != len(rows) {
			t.Fatalf("data of %d rows gave %d", len(want), len(rows))
		}
		for i := range want {
			a, aerr := decodeAny(want[i])
			b, berr := decodeAny(rows[i])
			if aerr != nil || berr != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("row %d is %s, want %s", i, rows[i], want[i])
			}
		}
	})
}

// FuzzValidJSON: the body check call uses says exactly what json.Valid
// says, on any bytes.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{``, ` `, `{}`, `[]`, `{"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]}`, `{"a":1,}`, `[1,]`, `01`, `-`, `1.`, `1e`, `"\u12"`,
		`"\x"`, "\"\xff\"", "\"a\x01\"", `{"a" 1}`, `{1:2}`, `[1 2]`, `nul`, `truex`, ` {"a":{"b":[{}]}} `, `[[[[`, `]`, `{"a":"b"}}`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)} {
		f.Add([]byte(s))
	}
	for _, seed := range boundarySeeds() {
		f.Add([]byte(`{"result":"SUCCESS","message":{"totalResults":1,"data":[` + seed + `]}}`))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
