package shipment

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/pgp"
	"github.com/konduit/konduit/internal/vault"
)

func luhn(t *testing.T, n int) string {
	b := []byte("4")
	for len(b) < n-1 {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b = append(b, byte('0'+d.Int64()))
	}
	b = append(b, '0')
	for c := byte('0'); c <= '9'; c++ {
		b[n-1] = c
		if cardnum.Luhn(string(b)) {
			return string(b)
		}
	}
	t.Fatal("no check digit")
	return ""
}

// transactions returns a valid synthetic transactions file and its cards.
func transactions(t *testing.T, rows int, breakRow int) ([]byte, []string) {
	spec := legacy.SpecFor(legacy.Transactions)
	var buf bytes.Buffer
	w := legacy.NewWriter(&buf)
	w.Write(spec.Header())
	var cards []string
	for i := 0; i < rows; i++ {
		card := luhn(t, 16)
		cards = append(cards, card)
		rec := map[string]string{
			legacy.FCustomerID: fmt.Sprint("C", i), legacy.FOrderID: fmt.Sprint("O", i), legacy.FDateCreated: "2024-03-05 10:11:12",
			legacy.FCampaignID: "1", legacy.FProductID: "2", legacy.FIsActiveRecurring: "0", legacy.FPaySource: legacy.ValueCreditCard,
			legacy.FCardNumber: card, legacy.FCardExpiryMonth: "09", legacy.FCardExpiryYear: "2031", legacy.FMerchantID: "3",
			legacy.FMerchantTxnID: fmt.Sprint("T", i), legacy.FTxnType: legacy.ValueSale, legacy.FSubTotal: "10.00",
			legacy.FShipTotal: "1.00", legacy.FSalesTax: "0.50", legacy.FTotalAmount: "11.50",
			legacy.FResponseType: legacy.ValueSuccess, legacy.FResponseText: legacy.ValueSuccess, legacy.FFirstName: "Grace",
			legacy.FLastName: "Hopper", legacy.FAddress1: "2 Elm St", legacy.FAddress2: "Unit 1", legacy.FCity: "Arlington",
			legacy.FState: "VA", legacy.FCountry: "US", legacy.FPostalCode: "22201", legacy.FPhoneNumber: "5551112222",
			legacy.FEmailAddress: fmt.Sprintf("g%d@example.com", i), legacy.FBillShipSame: "1",
		}
		if i == breakRow {
			rec[legacy.FTotalAmount] = "99.99" // does not add up
		}
		f := make([]string, len(spec.Columns))
		for j, c := range spec.Columns {
			f[j] = rec[c.Name]
		}
		w.Write(f)
	}
	w.Flush()
	return buf.Bytes(), cards
}

type setup struct {
	dir, tokenized string
	plain          []byte
	cards          []string
	vault          *vault.Vault
	key            *pgp.Key // unlocked private
}

func prepare(t *testing.T, rows, breakRow int) *setup {
	t.Helper()
	s := &setup{dir: t.TempDir()}
	s.plain, s.cards = transactions(t, rows, breakRow)
	k, _ := vault.NewKey()
	v, err := vault.Open(filepath.Join(s.dir, "vault"), vault.Options{Key: &k, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	var tok bytes.Buffer
	if _, err := v.TokenizeCSV(context.Background(), bytes.NewReader(s.plain), &tok); err != nil {
		t.Fatal(err)
	}
	if err := v.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.vault = v
	s.tokenized = filepath.Join(s.dir, "legacy_transactions.csv")
	os.WriteFile(s.tokenized, tok.Bytes(), 0o600)
	s.key, err = pgp.Generate(pgp.GenerateOptions{Name: "Receiver", Algorithm: pgp.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShipToDirectory(t *testing.T) {
	s := prepare(t, 50, -1)
	out := filepath.Join(s.dir, "out")
	os.Mkdir(out, 0o700)
	m, err := Run(context.Background(), []string{s.tokenized}, DirSink{Dir: out}, Options{Vault: s.vault, Recipients: []*pgp.Key{s.key}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Validation.Ran || m.Validation.Errors != 0 || len(m.Files) != 1 {
		t.Fatalf("manifest %+v", m)
	}
	f := m.Files[0]
	if f.Rows != 50 || f.NumbersRestored != 50 || m.Recipients[0].Fingerprint != s.key.Fingerprint() {
		t.Fatalf("file %+v", f)
	}
	ct, err := os.ReadFile(filepath.Join(out, "legacy_transactions.csv.pgp"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(ct); hex.EncodeToString(sum[:]) != f.EncryptedSHA256 || int64(len(ct)) != f.EncryptedBytes {
		t.Fatal("encrypted checksum or size in the manifest is wrong")
	}
	var pt bytes.Buffer
	if _, err := pgp.Decrypt(context.Background(), &pt, bytes.NewReader(ct), s.key, pgp.DecryptOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt.Bytes(), s.plain) {
		t.Fatal("the shipped file does not decrypt to the original")
	}
	if sum := sha256.Sum256(pt.Bytes()); hex.EncodeToString(sum[:]) != f.PlaintextSHA256 {
		t.Fatal("plaintext checksum in the manifest is wrong")
	}
	var onDisk Manifest
	mb, _ := os.ReadFile(filepath.Join(out, ManifestName))
	if err := json.Unmarshal(mb, &onDisk); err != nil || onDisk.Files[0].EncryptedSHA256 != f.EncryptedSHA256 {
		t.Fatalf("manifest on disk: %v", err)
	}
	// Nothing in the directory holds a card number in clear.
	for _, name := range []string{"legacy_transactions.csv.pgp", ManifestName} {
		b, _ := os.ReadFile(filepath.Join(out, name))
		for _, c := range s.cards {
			if bytes.Contains(b, []byte(c)) {
				t.Fatalf("%s holds a card number", name)
			}
		}
	}
}

func TestValidationStopsShipment(t *testing.T) {
	s := prepare(t, 20, 7)
	out := filepath.Join(s.dir, "out")
	os.Mkdir(out, 0o700)
	_, err := Run(context.Background(), []string{s.tokenized}, DirSink{Dir: out}, Options{Vault: s.vault, Recipients: []*pgp.Key{s.key}})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err %v, want ValidationError", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("files were written despite validation errors: %v", entries)
	}
	var text strings.Builder
	for _, f := range ve.Report.Findings {
		text.WriteString(f.Message + "\n")
	}
	for _, c := range s.cards {
		if strings.Contains(text.String(), c) {
			t.Fatal("a finding shows a card number")
		}
	}
}

// failingSink fails after some bytes, as a dropped connection would.
type failingSink struct{ after int }

func (f failingSink) Deliver(ctx context.Context, name string, fill func(io.Writer) error) (Delivery, error) {
	return Delivery{}, fill(&limitWriter{n: f.after})
}

type limitWriter struct{ n int }

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errors.New("connection dropped")
	}
	l.n -= len(p)
	return len(p), nil
}

func TestDeliveryFailureIsReported(t *testing.T) {
	s := prepare(t, 200, -1)
	_, err := Run(context.Background(), []string{s.tokenized}, failingSink{after: 1000}, Options{Vault: s.vault, Recipients: []*pgp.Key{s.key}, SkipValidation: true})
	if err == nil || !strings.Contains(err.Error(), "connection dropped") {
		t.Fatalf("err %v", err)
	}
	for _, c := range s.cards {
		if strings.Contains(err.Error(), c) {
			t.Fatal("the error shows a card number")
		}
	}
}
