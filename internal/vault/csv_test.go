package vault

import (
	"bytes"
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
)

// chainRe is digits joined by single spaces or dashes.
var chainRe = regexp.MustCompile(`[0-9]+(?:[ -][0-9]+)*`)

// luhnRuns returns (masked) every run of whole digit groups holding 13 to
// 19 digits and passing the Luhn check: the promise of TokenizeCSV, checked
// by brute force apart from the scanner.
func luhnRuns(s string) []string {
	var found []string
	for _, chain := range chainRe.FindAllString(s, -1) {
		groups := strings.FieldsFunc(chain, func(r rune) bool { return r == ' ' || r == '-' })
		for i := range groups {
			d := ""
			for j := i; j < len(groups); j++ {
				d += groups[j]
				if len(d) >= 13 && len(d) <= 19 && cardnum.Luhn(d) {
					found = append(found, maskRun(d))
				}
			}
		}
	}
	return found
}

// plainCopy is data through the reader and writer, untouched.
func plainCopy(t testing.TB, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	r, w := legacy.NewReader(bytes.NewReader(data)), legacy.NewWriter(&out)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plain copy: %v", err)
		}
		w.Write(rec.Fields)
	}
	w.Flush()
	return out.Bytes()
}

func csvOf(rows ...[]string) []byte {
	var b bytes.Buffer
	w := legacy.NewWriter(&b)
	for _, r := range rows {
		w.Write(r)
	}
	w.Flush()
	return b.Bytes()
}

func spaced(card, sep string) string {
	var parts []string
	for i := 0; i < len(card); i += 4 {
		parts = append(parts, card[i:min(i+4, len(card))])
	}
	return strings.Join(parts, sep)
}

func openTestVault(t *testing.T) *Vault {
	t.Helper()
	v, err := Open(filepath.Join(t.TempDir(), "v"), Options{Key: testKey(t), Write: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// roundTrip tokenizes data, checks that no Luhn-valid run and none of the
// secrets is left, and that RestoreCSV gives the plain copy back.
func roundTrip(t *testing.T, v *Vault, data []byte, opts CSVOptions, secrets ...string) ([]byte, Stats) {
	t.Helper()
	ctx := context.Background()
	var tok, back bytes.Buffer
	st, err := v.TokenizeCSVWith(ctx, bytes.NewReader(data), &tok, opts)
	if err != nil {
		t.Fatalf("tokenize: %v", err)
	}
	if runs := luhnRuns(tok.String()); len(runs) > 0 {
		t.Fatalf("%d Luhn-valid runs left, e.g. %s", len(runs), runs[0])
	}
	for _, s := range secrets {
		if strings.Contains(tok.String(), s) {
			t.Fatalf("a number ending %s is left", s[len(s)-4:])
		}
	}
	if _, err := v.RestoreCSV(ctx, bytes.NewReader(tok.Bytes()), &back, opts); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !bytes.Equal(back.Bytes(), plainCopy(t, data)) {
		t.Fatal("restore does not give the file back")
	}
	// A second run changes nothing.
	var again bytes.Buffer
	if _, err := v.TokenizeCSVWith(ctx, bytes.NewReader(data), &again, opts); err != nil || !bytes.Equal(again.Bytes(), tok.Bytes()) {
		t.Fatalf("a second run differs (%v)", err)
	}
	return tok.Bytes(), st
}

func columnStats(st Stats, name string) ColumnStats {
	for _, c := range st.Columns {
		if c.Name == name {
			return c
		}
	}
	return ColumnStats{}
}

// TestTokenizeAnyColumn: processor exports name their card column as they
// like; every Luhn-valid number is found by its value.
func TestTokenizeAnyColumn(t *testing.T) {
	for _, col := range []string{"cc_number", "card_number", "Card Number", "pan"} {
		t.Run(col, func(t *testing.T) {
			v := openTestVault(t)
			rows := [][]string{{"transaction_id", col, "cc_exp", "amount", "first_name"}}
			var cards []string
			for i := range 40 {
				c := cardNumber(t, []int{16, 15, 13, 19}[i%4])
				cards = append(cards, c)
				rows = append(rows, []string{"T" + c[:6], c, "0927", "24.99", "Ada"})
			}
			tok, st := roundTrip(t, v, csvOf(rows...), CSVOptions{}, cards...)
			if st.Replaced != 40 || st.New != 40 || st.Rows != 40 {
				t.Fatalf("stats %+v", st)
			}
			if c := columnStats(st, col); c.Replaced != 40 || c.Named {
				t.Fatalf("column stats %+v", st.Columns)
			}
			// Whole values become tokens: digits, same length, same last four.
			recs := strings.Split(strings.TrimSpace(string(tok)), "\n")[1:]
			for i, line := range recs {
				f := strings.Split(line, ",")[1]
				f = strings.Trim(f, `"`)
				c := cards[i]
				if len(f) != len(c) || f[len(f)-4:] != c[len(c)-4:] || !v.IsToken(f) {
					t.Fatalf("row %d: not a token of the card's shape", i+2)
				}
			}
		})
	}
}

// TestTokenizeText: a card written in a note, split by spaces or dashes,
// is tokenized digit for digit; the text around it stays.
func TestTokenizeText(t *testing.T) {
	v := openTestVault(t)
	card := cardNumber(t, 16)
	for _, sep := range []string{" ", "-"} {
		note := "customer called, card " + spaced(card, sep) + " exp 09/27, ok"
		tok, st := roundTrip(t, v, csvOf([]string{"orderId", "note"}, []string{"O1", note}), CSVOptions{}, card, spaced(card, sep))
		if st.Replaced != 1 || columnStats(st, "note").Replaced != 1 {
			t.Fatalf("stats %+v", st)
		}
		got := strings.Split(strings.TrimSpace(string(tok)), "\n")[1]
		if !strings.Contains(got, "customer called, card ") || !strings.Contains(got, card[12:]+" exp 09/27, ok") || strings.Count(got, sep) < strings.Count(note, sep) {
			t.Fatalf("the note's text was not kept: %s", legacyMaskAll(got))
		}
	}
}

// TestTokenizeJoinedGroups: a card followed by more digit groups (an
// expiry, a CVV) is found; where its token forms a new Luhn-valid run with
// them, another token of the number (a variant) is used.
func TestTokenizeJoinedGroups(t *testing.T) {
	v := openTestVault(t)
	rows := [][]string{{"note"}}
	var cards []string
	for range 200 {
		c := cardNumber(t, 16)
		cards = append(cards, c)
		rows = append(rows, []string{"card " + spaced(c, " ") + " 09 27 123"})
	}
	_, st := roundTrip(t, v, csvOf(rows...), CSVOptions{}, cards...)
	if st.Replaced != 200 || st.New <= 200 {
		// The first token makes a Luhn-valid run with the groups after
		// it about two times in five: variants are needed.
		t.Fatalf("stats %+v", st)
	}
	// A phone number before the card, a long id after it.
	c := cardNumber(t, 15)
	roundTrip(t, v, csvOf([]string{"a", "b"}, []string{"555 111 2222 " + c, c + "-12345678901234567890123"}), CSVOptions{}, c)
}

// TestTokenizeImportFileOtherColumns: on an import file, cardNumber and
// achAccountNumber are taken by name, and a card anywhere else is found.
func TestTokenizeImportFileOtherColumns(t *testing.T) {
	v := openTestVault(t)
	card, other, acct := cardNumber(t, 16), cardNumber(t, 16), "7012345678"
	bad := card[:15] + string('0'+(card[15]-'0'+1)%10) // fails Luhn
	data := csvOf(
		[]string{legacy.FCustomerID, legacy.FCardNumber, legacy.FACHAccountNumber, legacy.FAddress2},
		[]string{"C1", card, "", other},
		[]string{"C2", "", acct, "Apt 2"},
		[]string{"C3", bad, "", "x"},
	)
	_, st := roundTrip(t, v, data, CSVOptions{}, card, other, acct, bad)
	if st.Replaced != 4 || columnStats(st, legacy.FAddress2).Replaced != 1 || !columnStats(st, legacy.FCardNumber).Named {
		t.Fatalf("stats %+v", st)
	}
	// konduit package restores the named columns only.
	var tok, back bytes.Buffer
	v.TokenizeCSV(context.Background(), bytes.NewReader(data), &tok)
	if _, err := v.DetokenizeCSV(context.Background(), bytes.NewReader(tok.Bytes()), &back); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(back.String(), card) || strings.Contains(back.String(), other) {
		t.Fatal("DetokenizeCSV should restore cardNumber and leave the other column's token")
	}
}

// TestTokenizeNamedColumns: --columns tokenizes every value of a column,
// Luhn-valid or not; a missing one is an error.
func TestTokenizeNamedColumns(t *testing.T) {
	v := openTestVault(t)
	card := cardNumber(t, 16)
	bad := card[:15] + string('0'+(card[15]-'0'+1)%10)
	data := csvOf([]string{"id", "cc_number"}, []string{"1", card}, []string{"2", bad}, []string{"3", "XXXXXXXXXXXX" + card[12:]})
	_, st := roundTrip(t, v, data, CSVOptions{}, card)
	if c := columnStats(st, "cc_number"); c.Replaced != 1 || c.NotLuhn != 1 {
		t.Fatalf("auto: %+v", st.Columns)
	}
	_, st = roundTrip(t, v, data, CSVOptions{Columns: []string{"cc_number"}}, card, bad)
	if c := columnStats(st, "cc_number"); c.Replaced != 2 || !c.Named {
		t.Fatalf("named: %+v", st.Columns)
	}
	_, err := v.TokenizeCSVWith(context.Background(), bytes.NewReader(data), io.Discard, CSVOptions{Columns: []string{"card"}})
	if err == nil || !strings.Contains(err.Error(), `no column "card"`) {
		t.Fatalf("missing column: %v", err)
	}
}

// TestTokenizeNoHeader: a file without a header row has a card in its
// first row; it is tokenized like any other.
func TestTokenizeNoHeader(t *testing.T) {
	v := openTestVault(t)
	a, b := cardNumber(t, 16), cardNumber(t, 16)
	roundTrip(t, v, csvOf([]string{"T1", a, "24.99"}, []string{"T2", b, "5.00"}), CSVOptions{}, a, b)
}

// TestTokenizeFalsePositive: a Luhn-valid 16-digit id (one in ten random
// ids) is tokenized too; the token keeps its length and last four, the
// same id gets the same token in every file, and restore brings it back.
func TestTokenizeFalsePositive(t *testing.T) {
	v := openTestVault(t)
	id := cardNumber(t, 16)
	data := csvOf([]string{"order_ref"}, []string{id})
	tok, _ := roundTrip(t, v, data, CSVOptions{}, id)
	tok2, _ := roundTrip(t, v, csvOf([]string{"ref", "x"}, []string{id, "y"}), CSVOptions{})
	t1 := strings.Trim(strings.Split(strings.TrimSpace(string(tok)), "\n")[1], `"`)
	if !strings.Contains(string(tok2), t1) || t1[12:] != id[12:] {
		t.Fatal("the same id got another token, or lost its last four")
	}
}

// TestTokenizeRefuses: values that cannot be tokenized are all listed,
// masked, and nothing from the first of them on is written.
func TestTokenizeRefuses(t *testing.T) {
	v := openTestVault(t)
	card, second := cardNumber(t, 16), cardNumber(t, 16)
	data := csvOf(
		[]string{"id", legacy.FCardNumber, "note"},
		[]string{"1", "", "ok"},
		[]string{"2", spaced(card, " "), "x"},
		[]string{"3", second, "y"},
		[]string{"4", spaced(second, "-") + " exp", "z"},
	)
	var out bytes.Buffer
	_, err := v.TokenizeCSV(context.Background(), bytes.NewReader(data), &out)
	var re *RefusedError
	if !errors.As(err, &re) || re.Count != 2 || re.Problems[0].Row != 3 || re.Problems[1].Row != 5 {
		t.Fatalf("err %v", err)
	}
	var ve *ValueError
	if !errors.As(err, &ve) || !errors.Is(err, ErrNotDigits) || ve.Column != legacy.FCardNumber {
		t.Fatalf("err %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "row 3, column cardNumber") || !strings.Contains(msg, card[12:]) || len(luhnRuns(msg)) > 0 ||
		strings.Contains(msg, card[:12]) || strings.Contains(msg, second[:12]) {
		t.Fatalf("message %s", legacyMaskAll(msg))
	}
	if strings.Contains(out.String(), second) || strings.Contains(out.String(), "\"3\"") {
		t.Fatal("rows from the first refused value on were written")
	}
}

// TestScannerRuns pins the run definition against the brute-force one.
func TestScannerRuns(t *testing.T) {
	var sc scanner
	c := cardNumber(t, 16)
	longer := c + "0" // 17 digits that fail the Luhn check
	for !cardnum.Luhn(longer[:16]) || cardnum.Luhn(longer) {
		longer = longer[:16] + string(longer[16]+1)
	}
	for text, want := range map[string]int{
		c: 1, "x" + c + "y": 1, spaced(c, " "): 1, spaced(c, "-"): 1, "12/" + c + ".00": 1,
		spaced(c, "  "): 0, spaced(c, "."): 0, longer: 0, c[:12]: 0,
		"99999999999999999999999" + c: 0, "555 111 2222 " + c: 1,
	} {
		got := len(sc.runs(text, luhn))
		if got != want {
			t.Errorf("runs(%s) = %d, want %d", legacyMaskAll(text), got, want)
		}
		if got == 0 && len(luhnRuns(text)) > 0 {
			t.Errorf("scanner and brute force disagree on %s", legacyMaskAll(text))
		}
	}
}

// TestTokenizeRandomText: cells made of cards (plain, spaced, dashed),
// digit groups, separators and words, in any order: no Luhn-valid run is
// left and restore gives every cell back.
func TestTokenizeRandomText(t *testing.T) {
	v := openTestVault(t)
	pick := mrand.IntN
	rows := [][]string{{"a", "b"}}
	for range 300 {
		var cell strings.Builder
		for range 1 + pick(6) {
			switch pick(7) {
			case 0, 1:
				c := cardNumber(t, 13+pick(7))
				cell.WriteString([]string{c, spaced(c, " "), spaced(c, "-")}[pick(3)])
			case 2, 3:
				cell.WriteString(cardNumber(t, 13)[:1+pick(5)])
			case 4:
				cell.WriteString(" ")
			case 5:
				cell.WriteString("-")
			case 6:
				cell.WriteString(" exp ")
			}
		}
		rows = append(rows, []string{cell.String(), "x"})
	}
	// The cards are not passed as secrets: one written next to other digits
	// is part of a longer digit run, which is not a card number (the spec's
	// rule); roundTrip still checks that no Luhn-valid run is left.
	roundTrip(t, v, csvOf(rows...), CSVOptions{})
}

// TestScannerAgreesWithCardnum: the runs tokenize replaces are the card
// numbers cardnum.HasCard finds (the project's one definition), on random
// text made of digit groups and separators.
func TestScannerAgreesWithCardnum(t *testing.T) {
	var sc scanner
	alphabet := "0123456789012345678901234567890123456789 - x"
	for range 20000 {
		b := make([]byte, 10+mrand.IntN(40))
		for i := range b {
			b[i] = alphabet[mrand.IntN(len(alphabet))]
		}
		s := string(b)
		if got, want := len(sc.runs(s, luhn)) > 0, cardnum.HasCard(s); got != want {
			t.Fatalf("scanner %v, cardnum.HasCard %v on %s", got, want, legacyMaskAll(s))
		}
	}
}
