package fix

import (
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
)

func TestNormalisers(t *testing.T) {
	enum := []string{"SUCCESS", "DECLINE"}
	cases := []struct {
		name string
		fn   func(string) (string, bool)
		in   string
		want string
		ok   bool
	}{
		{"country name", Country, "United States", "US", true},
		{"country lower", Country, "us", "US", true},
		{"country alias", Country, "USA", "US", true},
		{"country unknown", Country, "Atlantis", "", false},
		{"decimal dollar", func(s string) (string, bool) { return Decimal(s, false) }, "$12.00", "12.00", true},
		{"decimal thousands", func(s string) (string, bool) { return Decimal(s, false) }, "1,234.5", "1234.5", true},
		{"decimal negative dollar", func(s string) (string, bool) { return Decimal(s, false) }, "-$3.10", "-3.10", true},
		{"decimal bad grouping", func(s string) (string, bool) { return Decimal(s, false) }, "12,34", "", false},
		{"decimal european", func(s string) (string, bool) { return Decimal(s, false) }, "1.234,50", "", false},
		{"decimal three places", func(s string) (string, bool) { return Decimal(s, false) }, "1.005", "", false},
		{"decimal trailing zero", func(s string) (string, bool) { return Decimal(s, false) }, "1.500", "1.50", true},
		{"money2 pads", func(s string) (string, bool) { return Decimal(s, true) }, "$5", "5.00", true},
		{"bit yes", Bit, "Yes", "1", true},
		{"bit false", Bit, " FALSE ", "0", true},
		{"bit maybe", Bit, "maybe", "", false},
		{"enum case", func(s string) (string, bool) { return Enum(s, enum) }, "success", "SUCCESS", true},
		{"enum unknown", func(s string) (string, bool) { return Enum(s, enum) }, "approved", "", false},
		{"phone punctuation", Phone, "(555) 111-2222", "5551112222", true},
		// normalize.Phone, shared with convert: an extension goes (the
		// import's phone column holds the number alone).
		{"phone plus", Phone, "+1 555.111.2222", "15551112222", true},
		{"phone extension", Phone, "555-111-2222 x12", "5551112222", true},
		{"phone words", Phone, "call me", "", false},
		{"nanp", NANP, "15551112222", "5551112222", true},
		{"nanp other", NANP, "25551112222", "", false},
		{"month", ExpiryMonth, "1", "01", true},
		{"month zero", ExpiryMonth, "0", "", false},
		{"month 13", ExpiryMonth, "13", "", false},
		{"year", ExpiryYear, "27", "2027", true},
		{"year 3", ExpiryYear, "202", "", false},
		{"zip", ZipUS, "2134", "02134", true},
		{"zip 3", ZipUS, "213", "", false},
		{"state", func(s string) (string, bool) { return State("US", s) }, "california", "CA", true},
		{"province", func(s string) (string, bool) { return State("CA", s) }, "Quebec", "QC", true},
		{"state unknown", func(s string) (string, bool) { return State("US", s) }, "Narnia", "", false},
		{"datetime T Z", func(s string) (string, bool) { return Datetime(s, OrderUnknown) }, "2024-11-05T15:04:05Z", "2024-11-05 15:04:05", true},
		{"datetime fraction", func(s string) (string, bool) { return Datetime(s, OrderUnknown) }, "2024-11-05T15:04:05.123Z", "2024-11-05 15:04:05", true},
		{"datetime offset", func(s string) (string, bool) { return Datetime(s, OrderUnknown) }, "2024-11-05T15:04:05+02:00", "", false},
		{"datetime 12h mdy", func(s string) (string, bool) { return Datetime(s, MDY) }, "11/05/2024 3:04 PM", "2024-11-05 15:04:00", true},
		{"datetime 12h dmy", func(s string) (string, bool) { return Datetime(s, DMY) }, "11/05/2024 3:04 pm", "2024-05-11 15:04:00", true},
		{"datetime slashed needs order", func(s string) (string, bool) { return Datetime(s, OrderUnknown) }, "11/05/2024 3:04 PM", "", false},
		{"datetime no time", func(s string) (string, bool) { return Datetime(s, MDY) }, "11/05/2024", "", false},
		{"datetime 13 PM", func(s string) (string, bool) { return Datetime(s, MDY) }, "11/05/2024 13:04 PM", "", false},
		{"datetime not real", func(s string) (string, bool) { return Datetime(s, MDY) }, "2/30/2024 10:00", "", false},
		{"date pad", func(s string) (string, bool) { return Date(s, OrderUnknown) }, "2024-1-5", "2024-01-05", true},
		{"date slashes ymd", func(s string) (string, bool) { return Date(s, OrderUnknown) }, "2024/01/05", "2024-01-05", true},
		{"date midnight", func(s string) (string, bool) { return Date(s, OrderUnknown) }, "2024-01-05 00:00:00", "2024-01-05", true},
		{"date not midnight", func(s string) (string, bool) { return Date(s, OrderUnknown) }, "2024-01-05 10:00:00", "", false},
		{"date mdy", func(s string) (string, bool) { return Date(s, MDY) }, "1/5/2024", "2024-01-05", true},
		{"date leap", func(s string) (string, bool) { return Date(s, MDY) }, "2/29/2023", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.fn(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("%q -> %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSafeAndPrintable(t *testing.T) {
	// Built at run time: no card-number-shaped literal in the repository.
	payload := "412345678901234"
	card := payload + string(cardnum.CheckDigit(payload))
	if got := safe("card " + card + " ok"); got != "card ************"+card[12:]+" ok" {
		t.Fatalf("safe: %q", got)
	}
	if got := safe("order 123456789012"); got != "order 123456789012" {
		t.Fatalf("safe touched a short run: %q", got)
	}
	// A byte that is not UTF-8 next to the number: masked before the
	// escape's hex digits could join the run.
	if got := safe("\x95" + card); got != `\x95************`+card[12:] {
		t.Fatalf("safe: %q", got)
	}
	if got := printable("Ren\xe9"); got != `Ren\xE9` {
		t.Fatalf("printable: %q", got)
	}
}

var fuzzCols = func() []legacy.Column {
	tx := legacy.SpecFor(legacy.Transactions)
	var cols []legacy.Column
	for _, name := range []string{legacy.FCountry, legacy.FSubTotal, legacy.FChargebackTotal, legacy.FIsActiveRecurring,
		legacy.FDateCreated, legacy.FNextBillDate, legacy.FTxnType, legacy.FPhoneNumber} {
		c, _ := tx.Column(name)
		cols = append(cols, c)
	}
	return cols
}()

// FuzzNormalise: whatever the value, every normaliser either declines or
// returns a value its column accepts, and normalising that value again
// returns it unchanged.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"$1,234.50", "United States", "yes", "11/05/2024 3:04 PM", "2024-11-05T15:04:05Z",
		"2024-1-5", "success", "(555) 111-2222", "1", "27", "-$0.5", "13/13/2024 25:00", "\xe9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, col := range fuzzCols {
			for _, order := range []Order{OrderUnknown, MDY, DMY} {
				fx := &fixer{p: &plan{orders: map[int]Order{col.Index: order}}}
				out, _, ok := fx.value(col, col.Index, v)
				if !ok {
					continue
				}
				if !valid(col, out) {
					t.Fatalf("%s: %q -> %q, which the column rejects", col.Name, v, out)
				}
				if again, _, ok := fx.value(col, col.Index, out); ok {
					t.Fatalf("%s: %q -> %q -> %q: not idempotent", col.Name, v, out, again)
				}
			}
		}
		for _, fn := range []func(string) (string, bool){ExpiryMonth, ExpiryYear, ZipUS, NANP} {
			out, ok := fn(v)
			if !ok {
				continue
			}
			if again, ok := fn(out); ok && again != out && len(out) != 11 {
				t.Fatalf("%q -> %q -> %q", v, out, again)
			}
		}
	})
}
