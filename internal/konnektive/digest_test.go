package konnektive

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"
)

// digestRows are the rows of the digest tests: a transaction, one holding
// an ACH number, two bad ones (no date, no id).
var digestRows = []string{
	`{"transactionId":"101","customerId":7,"txnType":"SALE","responseType":"SUCCESS","totalAmount":"32.49","dateCreated":"2025-03-09 02:30:00","dateUpdated":"2025-04-20 10:00:00"}`,
	`{"transactionId":102,"totalAmount":"5.00","achAccountNumber":"000123456789","dateCreated":"2025-11-02 01:30:00"}`,
	`{"transactionId":103,"totalAmount":"5.00"}`,
	`{"totalAmount":"1.00","dateCreated":"2025-01-01 00:00:00"}`,
}

func digestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.LoginID == "" {
		cfg.LoginID = "api"
	}
	if cfg.Password == "" {
		cfg.Password = "synthetic-pw"
	}
	if cfg.Location == nil {
		cfg.Location = ny(t)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func digestBody(rows ...string) *Body {
	b := &Body{Endpoint: Transactions, Number: 1, PerPage: 200, TotalResults: len(rows)}
	for _, r := range rows {
		b.rows = append(b.rows, json.RawMessage(r))
	}
	return b
}

// holder is a Known over the digests a page read gave, as a sync keeps
// them beside its rows.
type holder map[string]Digest

func (h holder) keep(p Page) {
	for i, id := range p.ReadIDs() {
		h[id] = p.Digests()[i]
	}
}

func (h holder) known(_ context.Context, ids []string, ds []Digest) ([]bool, error) {
	out := make([]bool, len(ids))
	for i, id := range ids {
		d, ok := h[id]
		out[i] = ok && d == ds[i]
	}
	return out, nil
}

// TestDecodeHeldRows: with a Known, a row whose id and digest it holds is
// not decoded (Page.Same) but still counts for the walk; a row changed in
// place under the same id, a bad row and a row without an id are decoded
// as usual; a Known's failure fails the page.
func TestDecodeHeldRows(t *testing.T) {
	ctx := context.Background()
	c := digestClient(t, Config{})
	first, err := c.Decode(ctx, digestBody(digestRows...), holder{}.known)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Raw) != 2 || len(first.Bad) != 2 || len(first.Same) != 0 || len(first.Digests()) != 2 {
		t.Fatalf("first read: %d read, %d bad, %d held, %d digests", len(first.Raw), len(first.Bad), len(first.Same), len(first.Digests()))
	}
	// Without a Known the page is the same, without digests.
	plain, err := c.Decode(ctx, digestBody(digestRows...), nil)
	if err != nil || !reflect.DeepEqual(plain.Transactions, first.Transactions) || plain.Digests() != nil {
		t.Fatalf("without a Known: %v, %+v", err, plain.Transactions)
	}
	h := holder{}
	h.keep(first)
	changed := `{"transactionId":"101","customerId":7,"txnType":"SALE","responseType":"SUCCESS","totalAmount":"42.49","dateCreated":"2025-03-09 02:30:00","dateUpdated":"2025-04-20 10:00:00"}`
	again, err := c.Decode(ctx, digestBody(changed, digestRows[1], digestRows[2], digestRows[3]), h.known)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Same, []string{"102"}) || len(again.Raw) != 1 || again.Transactions[0].Amount != 4249 || len(again.Bad) != 2 {
		t.Errorf("read again: held %v, read %d (%+v), bad %d", again.Same, len(again.Raw), again.Transactions, len(again.Bad))
	}
	if again.Len() != 4 || !slices.Contains(again.IDs(), "102") || !slices.Contains(again.IDs(), "101") {
		t.Errorf("read again: len %d, ids %v", again.Len(), again.IDs())
	}
	if _, err := c.Decode(ctx, digestBody(digestRows...), func(context.Context, []string, []Digest) ([]bool, error) {
		return nil, errors.New("store down")
	}); err == nil {
		t.Error("a Known's failure did not fail the page")
	}
	if _, err := c.Decode(ctx, digestBody(digestRows...), func(context.Context, []string, []Digest) ([]bool, error) { return []bool{true}, nil }); err == nil {
		t.Error("a Known answering for fewer rows than asked did not fail the page")
	}
}

// TestDigestKey: the same bytes digest differently under another password,
// API user, time zone or endpoint (so rows stored under one are decoded
// again under another), and alike for two clients of the same account.
func TestDigestKey(t *testing.T) {
	row := json.RawMessage(digestRows[0])
	of := func(cfg Config, ep Endpoint) Digest {
		return rowDigest(digestClient(t, cfg).rowMAC(), ep, row)
	}
	base := of(Config{}, Transactions)
	if of(Config{}, Transactions) != base {
		t.Error("two clients of one account disagree")
	}
	utc, _ := time.LoadLocation("UTC")
	for name, d := range map[string]Digest{
		"password": of(Config{Password: "other-pw"}, Transactions),
		"login":    of(Config{LoginID: "other"}, Transactions),
		"zone":     of(Config{Location: utc}, Transactions),
		"endpoint": of(Config{}, Orders),
	} {
		if d == base {
			t.Errorf("another %s gives the same digest", name)
		}
	}
	// Keyed: not a plain hash of the bytes (which would let anyone with
	// the database test guesses of a card number in them).
	if sum := sha256.Sum256(row); string(sum[:16]) == string(base[:]) {
		t.Error("the digest is an unkeyed hash")
	}
}

// TestDecodeVersion fails when what rows decode to changes without a new
// DecodeVersion: rows stored by the old rules would be taken as held and
// never decoded by the new ones. When it fails on purpose, change
// DecodeVersion in digest.go and decodeGolden below.
func TestDecodeVersion(t *testing.T) {
	const decodeGolden = "1 4810d068c607ef5f"
	c := &Client{cfg: Config{Location: ny(t)}}
	rows := append(slices.Clone(digestRows), boundarySeeds()...)
	h := sha256.New()
	for _, ep := range []Endpoint{Transactions, Orders, Customers, Purchases} {
		for _, r := range rows {
			p := Page{Endpoint: ep}
			if err := c.decodeRows(&p, []json.RawMessage{json.RawMessage(r)}); err != nil {
				t.Fatal(err)
			}
			// Boundary seeds hold card numbers made at run time: only
			// what does not depend on them goes in.
			p.Raw = nil
			for i := range p.Bad {
				p.Bad[i].Raw = nil
			}
			b, err := json.Marshal(struct {
				T, O, C, P, Bad any
				IDs             []string
			}{p.Transactions, p.Orders, p.Customers, p.Purchases, p.Bad, p.ids})
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
	}
	got := fmt.Sprintf("%s %x", DecodeVersion, h.Sum(nil)[:8])
	if got != decodeGolden {
		t.Errorf("rows decode to %q, the golden says %q: if decoding changed, change DecodeVersion (digest.go) and the golden", got, decodeGolden)
	}
}
