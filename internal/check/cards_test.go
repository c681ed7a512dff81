package check

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
)

// TestCardRunLongDigitRuns: runs longer than 19 digits (a 22-digit USPS
// tracking number) are no card number and never crash the scanner.
func TestCardRunLongDigitRuns(t *testing.T) {
	for n := 1; n <= 300; n++ {
		d := luhnNumber("94", n)
		got := cardRun([]byte("tracking " + d + " shipped"))
		if want := n >= 13 && n <= 19; got != want {
			t.Errorf("%d-digit Luhn-valid run: cardRun = %v, want %v", n, got, want)
		}
		spaced := group4(d, " ")
		if got := cardRun([]byte(spaced)); got != (n >= 13 && n <= 19) {
			t.Errorf("%d digits in groups: cardRun = %v", n, got)
		}
	}
	card := luhnNumber("4", 16)
	for _, s := range []string{
		"94" + card + "0123",             // a 22-digit run holds a card-shaped window
		card + "123",                     // 19 digits, not Luhn-valid as a whole
		strings.Repeat("7", 1<<16),       // huge
		"\xff" + strings.Repeat("1", 40), // invalid UTF-8 then a long run
	} {
		if cardRun([]byte(s)) && !cardnum.Luhn(s) {
			t.Errorf("cardRun flags a run that is part of a longer digit run (%d bytes)", len(s))
		}
	}
}

// group4 writes digits in groups of four joined by sep.
func group4(d, sep string) string {
	var parts []string
	for len(d) > 4 {
		parts = append(parts, d[:4])
		d = d[4:]
	}
	return strings.Join(append(parts, d), sep)
}

// TestValidateTrackingNumbers: the crash of issue 12 (index out of range in
// cardRun on a run of more than 20 digits), through the whole validator:
// every column of every kind holds a 22-digit tracking number.
func TestValidateTrackingNumbers(t *testing.T) {
	tracking := luhnNumber("9400", 22)
	for _, kind := range legacy.Kinds {
		spec := legacy.SpecFor(kind)
		r := row{}
		if kind == legacy.Transactions {
			r = baseRow(1)
		}
		for _, c := range spec.Columns {
			if c.Type == legacy.Varchar || c.Type == legacy.Integer || c.Type == legacy.Phone {
				r[c.Name] = tracking
			}
		}
		rep := validate(t, Options{}, file{"f.csv", csvOf(kind, r)})
		for _, f := range rep.Findings {
			if f.Rule == RuleCardNumberElsewhere {
				t.Errorf("%s: a tracking number raised card-number-elsewhere in %s", kind, f.Field)
			}
		}
	}
}

// TestFindingsMaskCardNumbers: a card number in any value that a message
// quotes is masked in every output format, also when the value is cut
// short, quoted with escapes, or reaches the message unquoted.
func TestFindingsMaskCardNumbers(t *testing.T) {
	rnd := rand.New(rand.NewPCG(12, 12))
	var cards []string
	card := func() string {
		b := []byte("4")
		for len(b) < 15 {
			b = append(b, byte('0'+rnd.IntN(10)))
		}
		s := string(append(b, cardnum.CheckDigit(b)))
		cards = append(cards, s)
		return s
	}
	r1, r2 := baseRow(1), baseRow(2)
	r1[legacy.FState] = "\x01" + card()                                                   // quoted with an escape next to it
	r1[legacy.FShipPostalCode] = strings.Repeat("é", 30) + card()                         // cut short at 40 characters
	r1[legacy.FPostalCode] = card()                                                       // the ZIP rule quotes it
	r1[legacy.FCampaignID] = "x" + card()                                                 // invalid integer
	r1[legacy.FAddress2] = group4(card(), "-")                                            // card-number-elsewhere
	r1[legacy.FTotalAmount] = card()                                                      // total mismatch prints amounts unquoted
	r1[legacy.FMerchantTxnID] = card()                                                    // duplicate merchantTxnId
	r2[legacy.FMerchantTxnID] = r1[legacy.FMerchantTxnID]                                 //
	r1[legacy.FOrderID], r2[legacy.FOrderID] = card(), ""                                 // one order, two customers
	r2[legacy.FOrderID] = r1[legacy.FOrderID]                                             //
	r2[legacy.FCustomerID] = card()                                                       //
	r2[legacy.FParentTxnID], r2[legacy.FTxnType] = card(), "REFUND"                       // parent missing
	header := strings.Replace(csvOf(legacy.Details), legacy.FCustom1, "custom"+card(), 1) // unknown column
	rep := validate(t, Options{}, file{"t.csv", csvOf(legacy.Transactions, r1, r2)},
		file{"n.csv", csvOf(legacy.Notes, row{legacy.FCustomerID: card(), legacy.FDateCreated: "2025-01-01 00:00:00", legacy.FNoteText: "call back " + card()})},
		file{"d.csv", header})
	var out bytes.Buffer
	WriteJSON(&out, rep)
	WriteCSV(&out, rep)
	WriteText(&out, rep, false)
	for _, s := range cards {
		if bytes.Contains(out.Bytes(), []byte(s[:12])) || bytes.Contains(out.Bytes(), []byte(s[4:])) {
			t.Errorf("output holds card %s (or most of it)", legacy.Mask(s))
		}
	}
	if cardnum.HasCard(out.Bytes()) {
		t.Error("output holds a card number")
	}
	if len(rep.Findings) < 10 {
		t.Fatalf("expected findings quoting the cards: %v", keys(rep))
	}
}

// TestCardRunAllocatesNothing keeps the scanner off the heap.
func TestCardRunAllocatesNothing(t *testing.T) {
	b := []byte("note " + luhnNumber("94", 22) + " " + luhnNumber("4", 16))
	if n := testing.AllocsPerRun(100, func() { cardRun(b) }); n != 0 {
		t.Errorf("cardRun allocates %v times", n)
	}
}

// TestFuzzCorpusHoldsNoCardNumber keeps card-number-shaped literals out of
// the committed corpora: Luhn-valid seeds are made at run time.
func TestFuzzCorpusHoldsNoCardNumber(t *testing.T) {
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	if len(files) == 0 {
		t.Fatal("no committed fuzz corpus")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if cardnum.HasCard(b) {
			t.Errorf("%s holds a card number", name)
		}
	}
}

// TestMaskTextAgreesWithLegacyMask: the two halves of the masking rule give
// a bare card number the same face.
func TestMaskTextAgreesWithLegacyMask(t *testing.T) {
	for n := 13; n <= 19; n++ {
		c := luhnNumber("5", n)
		if a, b := cardnum.MaskText(c), legacy.Mask(c); a != b {
			t.Errorf("%d digits: MaskText %s, legacy.Mask %s", n, a, b)
		}
	}
}
