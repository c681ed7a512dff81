package rollup

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleContribution() contribution {
	return contribution{
		ltv:    []ltvCell{{20000, 4999, 4999}, {20030, 0, -1500}, {-3, -1, 1 << 40}},
		cycles: []cycleCell{{0, "", 1, 1, 0}, {1, "camp-1", 2, 0, 3}, {6, "DE", 2, 1, 1}},
		spans:  []spanCell{{0, "", "order-1", 1762000200}, {2, "p\x00\xff", "order-1", -900}},
		ret:    []retCell{{0, "", "p1", 20000, 1, 20000, 1, 0}, {2, "p1", "p1", 20000, 2, 20031, 0, 2}, {6, "DE", "p\x00\xff", -4, 3, -1, 1, 1}},
		gaps:   []gapCell{{"p1", 20031, 31, 1}, {"p0", 20000, -2, -1}},
	}
}

func TestContributionRoundTrip(t *testing.T) {
	for _, k := range []contribution{{}, sampleContribution()} {
		b := k.encode()
		got, err := decodeContribution(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.ltv)+len(k.cycles)+len(k.spans)+len(k.ret)+len(k.gaps) == 0 {
			k = contribution{ltv: []ltvCell{}, cycles: []cycleCell{}, spans: []spanCell{}, ret: []retCell{}, gaps: []gapCell{}}
		}
		if !reflect.DeepEqual(got, k) {
			t.Fatalf("decoded %+v, want %+v", got, k)
		}
	}
	// Anything else is refused, never a panic.
	b := sampleContribution().encode()
	for i := 0; i < len(b); i++ {
		if _, err := decodeContribution(b[:i]); err == nil {
			t.Errorf("a contribution cut at %d bytes decoded", i)
		}
	}
	if _, err := decodeContribution(append(b, 0)); err == nil {
		t.Error("a contribution with a trailing byte decoded")
	}
}

// A customer's contribution is the same whatever the order its events are
// read in (they are sorted first) and encodes the same every time.
func TestContributeDeterministic(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	evs := []event{
		{source: "api", customer: "c", id: "1", at: 1762000000, typ: "SALE", resp: "SUCCESS", amount: 4999, cycle: 1, order: "o1", groups: [7]string{"", "camp", "p1", "a", "s", "m", "US"}},
		{source: "api", customer: "c", id: "2", at: 1762003000, typ: "CAPTURE", resp: "SUCCESS", amount: 100, cycle: 1, order: "o1", groups: [7]string{"", "camp", "p2", "a", "s", "m", "US"}},
		{source: "api", customer: "c", id: "3", at: 1764600000, typ: "SALE", resp: "DECLINE", amount: 4999, cycle: 2, order: "o2", groups: [7]string{"", "camp", "p1", "a", "s", "m", "US"}},
		{source: "api", customer: "c", id: "4", at: 1762100000, typ: "REFUND", resp: "SUCCESS", amount: 500, groups: [7]string{"", "camp", "p1", "a", "s", "m", "US"}},
	}
	sortEvents(evs)
	c, _ := summarize(evs, loc)
	k := contribute(&c, evs, loc)
	want := string(k.encode())
	for i := 0; i < 20; i++ {
		k := contribute(&c, evs, loc)
		if got := string(k.encode()); got != want {
			t.Fatal("two encodings of one contribution differ")
		}
	}
	if len(k.spans) != 2*len(Dims)-2 { // o1 spans two buckets in every breakdown but product (p1, p2)
		t.Errorf("spans: %+v", k.spans)
	}
	if len(k.ltv) != 2 || k.ltv[1].net != -500 {
		t.Errorf("lifetime value cells: %+v", k.ltv)
	}
}

func FuzzDecodeContribution(f *testing.F) {
	f.Add(sampleContribution().encode())
	f.Add((&contribution{}).encode())
	f.Add([]byte{})
	f.Add([]byte{contribVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte(strings.Repeat("\x01", 64)))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decodeContribution(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := decodeContribution(k.encode())
		if err != nil || !reflect.DeepEqual(again, k) {
			t.Fatalf("re-encoding %x: %+v, %v; want %+v", b, again, err, k)
		}
	})
}

// A subscription seen first under another product than its cycle-1 sale's
// counts its gaps under the first product until the cycle-1 sale's day,
// then under the sale's; its cells are the cycle-1 sale's day and groups.
func TestRetentionGapsFollowTheProduct(t *testing.T) {
	const x = 20000 // a day number
	ev := func(id string, day int64, cycle int64, resp, product string) event {
		return event{source: "api", customer: "c", id: id, at: day * 86400, typ: "SALE", resp: resp, cycle: cycle, purchase: "s1",
			groups: [7]string{"", "camp", product, "a", "s", "m", "US"}}
	}
	evs := []event{
		ev("1", x, 2, "SUCCESS", "pA"),
		ev("2", x+30, 3, "SUCCESS", "pA"),
		ev("3", x+45, 3, "DECLINE", "pA"),
		ev("4", x+60, 1, "SUCCESS", "pB"),
	}
	ret, gaps := retention(evs, time.UTC)
	want := []gapCell{
		{"pA", x + 30, 30, 1},
		{"pA", x + 60, 30, -1},
		{"pB", x + 60, -60, 1},
		{"pB", x + 60, 30, 1},
	}
	if !reflect.DeepEqual(gaps, want) {
		t.Errorf("gaps %+v, want %+v", gaps, want)
	}
	var dim0 []retCell
	for _, c := range ret {
		if c.dim == 0 {
			dim0 = append(dim0, c)
		}
	}
	wantRet := []retCell{
		{0, "", "pB", x + 60, 1, x + 60, 1, 0},
		{0, "", "pB", x + 60, 2, x, 1, 0},
		{0, "", "pB", x + 60, 3, x + 30, 1, 0},
		{0, "", "pB", x + 60, 3, x + 45, 0, 1},
	}
	if !reflect.DeepEqual(dim0, wantRet) {
		t.Errorf("cells %+v, want %+v", dim0, wantRet)
	}
	if len(ret) != 4*len(Dims) {
		t.Errorf("%d cells, want 4 per breakdown", len(ret))
	}
}
