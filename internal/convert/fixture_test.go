package convert

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// cardNumber makes a Luhn-valid test card number at run time.
func cardNumber(rng *rand.Rand, prefix string, length int) string {
	b := []byte(prefix)
	for len(b) < length-1 {
		b = append(b, byte('0'+rng.IntN(10)))
	}
	for c := byte('0'); c <= '9'; c++ {
		if cardnum.Luhn(string(append(b, c))) {
			return string(append(b, c))
		}
	}
	panic("unreachable")
}

func csvBytes(t testing.TB, comma rune, crlf bool, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma, w.UseCRLF = comma, crlf
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// customFixture writes the made-up German shop export that
// testdata/custom/mapping.yaml describes: bestellungen.csv (semicolon,
// Windows-1252, CRLF) and kunden.txt (tab, UTF-16LE with a BOM, with a CVC
// column). It returns the paths and the card numbers it generated.
func customFixture(t testing.TB, dir string, customers int, seed uint64) (paths []string, cards []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	kunden := [][]string{{"Kundennr", "Name", "Strasse", "Hausnr", "Zusatz", "PLZ", "Ort", "Land", "Bundesstaat", "Telefon", "E-Mail", "Karte", "Gueltig", "CVC"}}
	orders := [][]string{{"Bestellnr", "Kundennr", "Datum", "Artikel", "Betrag", "Versand", "MwSt", "Status", "Art", "Referenz", "Genehmigung", "Bezug", "Abo", "Naechste", "Zahlungsweg", "Notiz"}}
	names := []string{"Müller, José", "Anna Schmidt", "Jürgen Groß", "Zoë O'Brien", "Karl-Heinz Weiß Jr."}
	nOrder, nTxn := 0, 0
	for c := 1; c <= customers; c++ {
		id := fmt.Sprintf("K%05d", c)
		card := cardNumber(rng, "4", 16)
		cards = append(cards, card)
		spaced := card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:]
		name := names[c%len(names)]
		email := strings.ReplaceAll(strings.ReplaceAll(fmt.Sprintf("Kunde.%d@Example.com", c), " ", ""), ",", "")
		if c%3 == 0 {
			kunden = append(kunden, []string{id, name, "Main Street", fmt.Sprint(c), "", fmt.Sprintf("%05d", 10000+c), "Springfield", "United States", "CA",
				"+1 (555) 111-2222", email, spaced, "12/30", fmt.Sprintf("%03d", rng.IntN(1000))})
		} else {
			phone := "+49 30 1234567"
			if c%4 == 0 {
				phone = "" // the FAQ's dummy fills it
			}
			kunden = append(kunden, []string{id, name, "Hauptstraße", fmt.Sprint(c), "Hinterhaus", fmt.Sprintf("%05d", 10000+c), "Berlin", "Germany", "",
				phone, email, spaced, "1/2031", fmt.Sprintf("%03d", rng.IntN(1000))})
		}
		for o := 0; o < 1+c%3; o++ {
			nOrder++
			nTxn++
			sku := []string{"ABO-M", "ABO-Y"}[o%2]
			// 30.03.2025 02:30 does not exist in Berlin (spring forward).
			day := fmt.Sprintf("%02d.%02d.2025 %02d:%02d", 1+rng.IntN(28), 1+rng.IntN(12), rng.IntN(24), rng.IntN(60))
			if c == 1 && o == 0 {
				day = "30.03.2025 02:30"
			}
			cents := 1000 + rng.IntN(200000)
			ship, tax := 495, 1900
			total := cents + ship + tax
			amount := germanAmount(total)
			ref := fmt.Sprintf("TX%08d", nTxn)
			status, abo, next := "bezahlt", "ja", "15.01.2027"
			if o == 1 {
				abo, next = "nein", ""
			}
			if c%7 == 0 && o == 0 {
				// A declined order starts no subscription (the import's
				// active-not-charge rule).
				status, abo, next = "abgelehnt", "nein", ""
			}
			note := ""
			if c%5 == 0 {
				note = "Rückruf erwünscht, Kunde zufrieden"
			}
			gw := []string{"stripe-eu", "paypal"}[c%2]
			orders = append(orders, []string{fmt.Sprintf("B%06d", nOrder), id, day, sku, amount + " €", germanAmount(ship), germanAmount(tax),
				status, "Kauf", ref, fmt.Sprintf("A%05d", nTxn), "", abo, next, gw, note})
			if c%6 == 0 && o == 0 && status == "bezahlt" {
				nTxn++
				orders = append(orders, []string{fmt.Sprintf("B%06d", nOrder), id, day, sku, amount, germanAmount(ship), germanAmount(tax),
					"erstattet", "Erstattung", fmt.Sprintf("TX%08d", nTxn), "", ref, "", "", gw, ""})
			}
		}
	}
	orders = append(orders, []string{"B999999", "K00001", "01.01.2025 00:00", "TEST", "0,00", "0,00", "0,00", "bezahlt", "Kauf", "TXTEST", "", "", "nein", "", "stripe-eu", ""})
	ob, err := charmap.Windows1252.NewEncoder().Bytes(csvBytes(t, ';', true, orders))
	if err != nil {
		t.Fatal(err)
	}
	kb, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(csvBytes(t, '\t', false, kunden))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, writeFile(t, filepath.Join(dir, "bestellungen_2025.csv"), ob))
	paths = append(paths, writeFile(t, filepath.Join(dir, "kunden.txt"), kb))
	return paths, cards
}

// germanAmount writes cents as "1.234,50".
func germanAmount(cents int) string {
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s,%02d", b.String(), cents%100)
}
