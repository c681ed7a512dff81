package check

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
)

// FuzzValidate: any bytes as a transactions-headed file validate without a
// panic or an error, and every finding names a known rule and a real row
// and holds no card number.
func FuzzValidate(f *testing.F) {
	clean := csvOf(legacy.Transactions, baseRow(1), baseRow(2))
	f.Add([]byte(clean))
	f.Add([]byte(strings.Replace(clean, "SUCCESS", "success", 1)))
	f.Add([]byte(strings.Replace(clean, "\n", "\r", -1)))
	f.Add([]byte("customerId,dateCreated,noteText\nC1,2025-01-01 00:00:00,\"x\n"))
	f.Add([]byte("\x00\x01\x02"))
	// Card numbers in cells, alone, in groups and inside longer runs (the
	// committed corpus holds no Luhn-valid number; these are made here).
	for _, n := range []int{13, 16, 19, 20, 21, 22} {
		r := baseRow(3)
		c := luhnNumber("4", n)
		r[legacy.FAddress2] = "\x01" + c
		r[legacy.FCity] = group4(c, " ")
		r[legacy.FState] = group4(c, "-") + " 123"
		r[legacy.FMerchantTxnID] = c
		f.Add([]byte(csvOf(legacy.Transactions, r)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := []legacy.Input{{Name: "f.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(data))), nil }}}
		rep, err := Validate(context.Background(), in, Options{AsOf: "2025-01-31", MaxFindings: -1, MaxRecordBytes: 256, Workers: 2})
		if err != nil {
			t.Fatalf("validate: %v", err)
		}
		for _, fd := range rep.Findings {
			if _, ok := RuleByID(fd.Rule); !ok {
				t.Fatalf("unknown rule %q", fd.Rule)
			}
			if fd.Row < 1 {
				t.Fatalf("finding at row %d: %+v", fd.Row, fd)
			}
			if cardnum.HasCard(fd.Message) || cardnum.HasCard(fd.Field) {
				t.Fatalf("finding %s holds a card number", fd.Rule)
			}
		}
	})
}

// FuzzCardRun: the card-number-elsewhere scanner never panics (it did on
// any run of more than 20 digits), allocates nothing, and agrees with the
// rule: a Luhn-valid run of 13 to 19 digits, single spaces or dashes
// between them, that is not part of a longer run. The committed corpus
// (testdata/fuzz/FuzzCardRun) holds 19- to 22-digit runs that are not card
// numbers; Luhn-valid ones and a huge value are made here.
func FuzzCardRun(f *testing.F) {
	for n := 13; n <= 23; n++ {
		c := luhnNumber("4", n)
		f.Add([]byte(c))
		f.Add([]byte("x " + group4(c, " ") + " y"))
		f.Add([]byte(group4(c, "-") + "-"))
		f.Add([]byte("\xff" + c + "\xc3"))
	}
	f.Add([]byte(strings.Repeat("1234 ", 1<<18)))
	f.Add([]byte(strings.Repeat("9", 1<<20)))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := cardRun(b)
		if len(b) > 1<<12 {
			return
		}
		if want := refCardRun(b); got != want {
			t.Fatalf("cardRun = %v, reference %v", got, want)
		}
	})
}

// refCardRun is cardRun's rule written plainly: split b into runs of digits
// joined by single spaces or dashes; one of 13 to 19 digits passing Luhn
// is a card number.
func refCardRun(b []byte) bool {
	digit := func(i int) bool { return i >= 0 && i < len(b) && b[i] >= '0' && b[i] <= '9' }
	var run []byte
	for i := 0; i <= len(b); i++ {
		switch {
		case digit(i):
			run = append(run, b[i])
		case i < len(b) && (b[i] == ' ' || b[i] == '-') && digit(i-1) && digit(i+1):
		default:
			if len(run) >= 13 && len(run) <= 19 && cardnum.Luhn(run) {
				return true
			}
			run = run[:0]
		}
	}
	return false
}
