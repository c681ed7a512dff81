package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/vault"
)

// luhnNumber returns a random Luhn-valid number of n digits starting with
// prefix. Card-shaped test data is made at run time, never committed.
func luhnNumber(t testing.TB, prefix string, n int) string {
	t.Helper()
	b := []byte(prefix)
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

// randomDigits returns n random digits, the first not 0.
func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + d.Int64())
	}
	if b[0] == '0' {
		b[0] = '7'
	}
	return string(b)
}

// canaries are the secrets a synthetic transactions file holds.
type canaries struct {
	cards, accounts []string
}

func (c canaries) all() []string { return append(append([]string{}, c.cards...), c.accounts...) }

// writeTransactions writes a valid synthetic transactions file of rows rows
// (every third row paid by check) and returns its secrets.
func writeTransactions(t testing.TB, path string, rows int) canaries {
	t.Helper()
	var c canaries
	spec := legacy.SpecFor(legacy.Transactions)
	var buf bytes.Buffer
	w := legacy.NewWriter(&buf)
	w.Write(spec.Header())
	for i := 0; i < rows; i++ {
		rec := map[string]string{
			legacy.FCustomerID: fmt.Sprint("C", 1000+i), legacy.FOrderID: fmt.Sprint("O", 5000+i),
			legacy.FDateCreated: "2024-03-05 10:11:12", legacy.FCampaignID: "12", legacy.FProductID: "34",
			legacy.FIsActiveRecurring: "0", legacy.FMerchantID: "7", legacy.FMerchantTxnID: fmt.Sprint("T", 9000+i),
			legacy.FTxnType: legacy.ValueSale, legacy.FSubTotal: "19.99", legacy.FShipTotal: "5.00",
			legacy.FSalesTax: "0.00", legacy.FTotalAmount: "24.99", legacy.FResponseType: legacy.ValueSuccess,
			legacy.FResponseText: legacy.ValueSuccess, legacy.FFirstName: "Ada", legacy.FLastName: "Lovelace",
			legacy.FAddress1: "1 Main St", legacy.FAddress2: "Apt 2", legacy.FCity: "Springfield",
			legacy.FState: "IL", legacy.FCountry: "US", legacy.FPostalCode: "62701",
			legacy.FPhoneNumber: "5551112222", legacy.FEmailAddress: fmt.Sprintf("ada%d@example.com", i),
			legacy.FBillShipSame: "1",
		}
		if i%3 == 2 {
			acct := randomDigits(10 + i%6)
			c.accounts = append(c.accounts, acct)
			rec[legacy.FPaySource] = legacy.ValueCheck
			rec[legacy.FACHRoutingNumber] = "011000015"
			rec[legacy.FACHAccountNumber] = acct
			rec[legacy.FACHAccountType] = legacy.ValueChecking
		} else {
			card := luhnNumber(t, []string{"4", "51", "37"}[i%3], []int{16, 16, 15}[i%3])
			if i%5 == 4 {
				card = luhnNumber(t, "4", 13+i%7)
			}
			c.cards = append(c.cards, card)
			rec[legacy.FPaySource] = legacy.ValueCreditCard
			rec[legacy.FCardNumber] = card
			rec[legacy.FCardExpiryMonth] = "09"
			rec[legacy.FCardExpiryYear] = "2031"
		}
		fields := make([]string, len(spec.Columns))
		for j, col := range spec.Columns {
			fields[j] = rec[col.Name]
		}
		w.Write(fields)
	}
	w.Flush()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// readColumn returns a column's values of a CSV file.
func readColumn(t testing.TB, path, name string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := legacy.NewReader(f)
	idx := -1
	var vals []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return vals
		}
		if err != nil {
			t.Fatal(err)
		}
		if idx < 0 {
			for i, h := range rec.Fields {
				if h == name {
					idx = i
				}
			}
			continue
		}
		vals = append(vals, rec.Fields[idx])
	}
}

func TestTokenizeCLIRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "legacy_transactions.csv")
	sec := writeTransactions(t, in, 60)
	keyFile := filepath.Join(dir, "vault.key")
	if r := runCLI(t, dir, nil, "tokenize", "--generate-key", "--vault-key-file", keyFile); r.code != 0 {
		t.Fatalf("generate key: %d %s", r.code, r.stderr)
	}
	if st, _ := os.Stat(keyFile); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", st.Mode().Perm())
	}
	if r := runCLI(t, dir, nil, "tokenize", "--generate-key", "--vault-key-file", keyFile); r.code != exitUsage {
		t.Fatalf("overwriting a key: exit %d", r.code)
	}
	args := []string{"--vault", "vault.db", "--vault-key-file", keyFile}
	r := runCLI(t, dir, nil, append(append([]string{"tokenize"}, args...), "-o", "tok", in)...)
	if r.code != 0 {
		t.Fatalf("tokenize: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "60 rows, 60 numbers tokenized (60 new tokens)") {
		t.Fatalf("tokenize summary: %s", r.stdout)
	}
	tokFile := filepath.Join(dir, "tok", "legacy_transactions.csv")
	orig := readColumn(t, in, legacy.FCardNumber)
	toks := readColumn(t, tokFile, legacy.FCardNumber)
	for i := range orig {
		if orig[i] == "" {
			continue
		}
		if toks[i] == orig[i] || len(toks[i]) != len(orig[i]) || toks[i][len(toks[i])-4:] != orig[i][len(orig[i])-4:] || cardnum.Luhn(toks[i]) {
			t.Fatalf("row %d: token does not keep the shape or passes Luhn (last four %s)", i+2, legacy.Mask(toks[i]))
		}
	}
	scanForSecrets(t, sec.all(), r.stdout+r.stderr, dir+"/tok", dir+"/vault.db")

	// validate accepts the vault's tokens with --vault (no key needed) and
	// rejects them without it: tokens are never Luhn-valid.
	r = runCLI(t, dir, nil, "validate", "--as-of", "2025-01-01", "--vault", "vault.db", tokFile)
	if r.code != 0 {
		t.Fatalf("validate --vault: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "validate", "--as-of", "2025-01-01", tokFile)
	if r.code != exitDataErrors {
		t.Fatalf("validate without --vault: exit %d, want %d", r.code, exitDataErrors)
	}

	// A second run, the key from the environment this time, gives the same file.
	key, _ := os.ReadFile(keyFile)
	env := []string{envVaultKey + "=" + strings.TrimSpace(string(key))}
	r = runCLI(t, dir, env, "tokenize", "--vault", "vault.db", "-o", "tok2", in)
	if r.code != 0 {
		t.Fatalf("second tokenize: %d %s", r.code, r.stderr)
	}
	a, _ := os.ReadFile(tokFile)
	b, _ := os.ReadFile(filepath.Join(dir, "tok2", "legacy_transactions.csv"))
	if !bytes.Equal(a, b) || !strings.Contains(r.stdout, "(0 new tokens)") {
		t.Fatalf("re-run differs (stdout %s)", r.stdout)
	}
	// Tokenizing a tokenized file changes nothing.
	r = runCLI(t, dir, env, "tokenize", "--vault", "vault.db", "-o", "tok3", tokFile)
	if c, _ := os.ReadFile(filepath.Join(dir, "tok3", "legacy_transactions.csv")); r.code != 0 || !bytes.Equal(a, c) {
		t.Fatalf("tokenizing tokens changed the file: %d %s", r.code, r.stderr)
	}

	r = runCLI(t, dir, env, "detokenize", "--vault", "vault.db", "-o", "plain", tokFile)
	if r.code != 0 {
		t.Fatalf("detokenize: %d %s", r.code, r.stderr)
	}
	back := filepath.Join(dir, "plain", "legacy_transactions.csv")
	for _, col := range []string{legacy.FCardNumber, legacy.FACHAccountNumber, legacy.FCustomerID} {
		want, got := readColumn(t, in, col), readColumn(t, back, col)
		if strings.Join(want, ",") != strings.Join(got, ",") {
			t.Fatalf("detokenized column %s differs from the original", col)
		}
	}
	if st, _ := os.Stat(back); st.Mode().Perm() != 0o600 {
		t.Fatalf("detokenized file mode %o, want 600", st.Mode().Perm())
	}

	// A wrong key is refused, naming no number.
	other, _ := vault.NewKey()
	r = runCLI(t, dir, []string{envVaultKey + "=" + other.String()}, "detokenize", "--vault", "vault.db", "-o", "x", tokFile)
	if r.code != exitUsage || !strings.Contains(r.stderr, "does not match") {
		t.Fatalf("wrong key: %d %s", r.code, r.stderr)
	}
}

func TestTokenizeRejectsUnreadableNumber(t *testing.T) {
	dir := t.TempDir()
	card := luhnNumber(t, "4", 16)
	spaced := card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:]
	in := filepath.Join(dir, "t.csv")
	os.WriteFile(in, []byte("\"customerId\",\"cardNumber\"\n\"C1\",\""+spaced+"\"\n"), 0o600)
	k, _ := vault.NewKey()
	r := runCLI(t, dir, []string{envVaultKey + "=" + k.String()}, "tokenize", "--vault", "v", "-o", "out", in)
	if r.code != exitDataErrors || !strings.Contains(r.stderr, "row 2, column cardNumber") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "t.csv")); err == nil {
		t.Fatal("an output was left behind after an error")
	}
	scanForSecrets(t, []string{card}, r.stdout+r.stderr, dir+"/out")
}

func TestTokenizeNeedsKey(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "t.csv")
	writeTransactions(t, in, 2)
	r := runCLI(t, dir, []string{envVaultKey + "="}, "tokenize", "--vault", "v", "-o", "out", in)
	if r.code != exitUsage || !strings.Contains(r.stderr, "no vault key") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	keyFile := filepath.Join(dir, "k")
	k, _ := vault.NewKey()
	os.WriteFile(keyFile, []byte(k.String()), 0o644)
	r = runCLI(t, dir, nil, "tokenize", "--vault", "v", "--vault-key-file", keyFile, "-o", "out", in)
	if r.code != exitUsage || !strings.Contains(r.stderr, "chmod 600") {
		t.Fatalf("world-readable key: exit %d, stderr %s", r.code, r.stderr)
	}
}

// canonicalCSV is data as the legacy writer writes it (every field quoted):
// what detokenize gives back for a file tokenize read.
func canonicalCSV(t testing.TB, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	r, w := legacy.NewReader(bytes.NewReader(data)), legacy.NewWriter(&out)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(rec.Fields)
	}
	w.Flush()
	return out.Bytes()
}

// groupsOf writes a card in groups of four joined by sep.
func groupsOf(card, sep string) string {
	var parts []string
	for i := 0; i < len(card); i += 4 {
		parts = append(parts, card[i:min(i+4, len(card))])
	}
	return strings.Join(parts, sep)
}

// TestTokenizeProcessorExports: exports name their card column as they
// like and people write card numbers in notes; every Luhn-valid number is
// tokenized, whatever the column, and detokenize gives the file back.
func TestTokenizeProcessorExports(t *testing.T) {
	importHeader := legacy.SpecFor(legacy.Transactions).Header()
	for _, tc := range []struct {
		name, file, column string
		build              func(cards []string) string
	}{
		{"nmi", "nmi_export.csv", "cc_number", func(cards []string) string {
			s := "transaction_id,transaction_type,condition,cc_number,cc_exp,amount,first_name,last_name,order_description\n"
			for i, c := range cards {
				s += fmt.Sprintf("%d,sale,complete,%s,09%02d,%d.99,Ada,Lovelace,monthly box\n", 9000000+i, c, 27+i%5, 10+i)
			}
			return s
		}},
		{"stripe", "stripe_export.csv", "card_number", func(cards []string) string {
			s := "id,created,amount,currency,card_number,card_exp_month,card_exp_year,customer_email,description\n"
			for i, c := range cards {
				s += fmt.Sprintf("ch_%dAbC,2024-03-05 10:11:12,%d,usd,%s,9,2031,ada%d@example.com,\"order #%d\"\n", i, 1999+i, c, i, 5000+i)
			}
			return s
		}},
		{"notes", "notes_export.csv", "note", func(cards []string) string {
			s := "customer_id,note\n"
			for i, c := range cards {
				// A card joined to its expiry makes the longest runs.
				written := groupsOf(c, " ") + " 09 27"
				if i%2 == 1 {
					written = groupsOf(c, "-") + " exp 09/27"
				}
				s += fmt.Sprintf("C%d,\"customer called, new card %s, charge again\"\n", i, written)
			}
			return s
		}},
		{"import-file", "legacy_transactions.csv", legacy.FAddress2, func(cards []string) string {
			var b bytes.Buffer
			w := legacy.NewWriter(&b)
			w.Write(importHeader)
			for i, c := range cards {
				rec := make([]string, len(importHeader))
				for j, h := range importHeader {
					switch h {
					case legacy.FCustomerID:
						rec[j] = fmt.Sprint("C", i)
					case legacy.FAddress2:
						rec[j] = c // a card in a column that is no card column
					case legacy.FCardNumber:
						rec[j] = luhnNumber(t, "5", 16)
					}
				}
				w.Write(rec)
			}
			w.Flush()
			return b.String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var cards []string
			for i := range 12 {
				cards = append(cards, luhnNumber(t, []string{"4", "51", "37", "6011"}[i%4], []int{16, 16, 15, 19}[i%4]))
			}
			data := []byte(tc.build(cards))
			in := filepath.Join(dir, tc.file)
			if err := os.WriteFile(in, data, 0o600); err != nil {
				t.Fatal(err)
			}
			k, _ := vault.NewKey()
			env := []string{envVaultKey + "=" + k.String()}
			r := runCLI(t, dir, env, "tokenize", "--vault", "cards.vault", "-o", "tok", in)
			if r.code != 0 {
				t.Fatalf("tokenize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "column "+tc.column+" (found by value): 12 numbers tokenized") {
				t.Errorf("summary does not name the column:\n%s", r.stdout)
			}
			tokFile := filepath.Join(dir, "tok", tc.file)
			if st, err := os.Stat(tokFile); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("output mode: %v %v", st, err)
			}
			scanForSecrets(t, cards, r.stdout+r.stderr, filepath.Join(dir, "tok"), filepath.Join(dir, "cards.vault"))

			r = runCLI(t, dir, env, "detokenize", "--vault", "cards.vault", "-o", "plain", tokFile)
			if r.code != 0 {
				t.Fatalf("detokenize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			back, _ := os.ReadFile(filepath.Join(dir, "plain", tc.file))
			if !bytes.Equal(back, canonicalCSV(t, data)) {
				t.Fatal("detokenize does not give the file back")
			}
		})
	}
}

// TestTokenizeRefusesAndLists: values that cannot be tokenized are listed
// (rows, columns, last four only), the exit status is 1 and no output
// file appears.
func TestTokenizeRefusesAndLists(t *testing.T) {
	dir := t.TempDir()
	a, b := luhnNumber(t, "4", 16), luhnNumber(t, "4", 16)
	in := filepath.Join(dir, "export.csv")
	data := "id,cc_number,note\n1,123456789012,ok\n2," + groupsOf(a, " ") + ",ok\n3,41-11,\"" + b + "\"\n"
	os.WriteFile(in, []byte(data), 0o600)
	k, _ := vault.NewKey()
	env := []string{envVaultKey + "=" + k.String()}
	r := runCLI(t, dir, env, "tokenize", "--vault", "v", "--columns", "cc_number", "-o", "out", in)
	if r.code != exitDataErrors || !strings.Contains(r.stderr, "2 value(s) cannot be tokenized") ||
		!strings.Contains(r.stderr, "row 3, column cc_number") || !strings.Contains(r.stderr, "row 4, column cc_number") ||
		!strings.Contains(r.stderr, a[12:]) {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "export.csv")); err == nil {
		t.Fatal("an output was left behind after a refusal")
	}
	scanForSecrets(t, []string{a, b, a[:12], b[:12]}, r.stdout+r.stderr, filepath.Join(dir, "out"))

	// A --columns name the header lacks is a usage error.
	r = runCLI(t, dir, env, "tokenize", "--vault", "v", "--columns", "pan", "-o", "out", in)
	if r.code != exitUsage || !strings.Contains(r.stderr, `no column "pan"`) {
		t.Fatalf("missing column: exit %d, stderr %s", r.code, r.stderr)
	}
}

// TestTokenizeColumnsFlag: a named column is tokenized whole, values that
// fail the Luhn check included; detokenize with the same --columns
// restores them. Without it, the summary points at the column.
func TestTokenizeColumnsFlag(t *testing.T) {
	dir := t.TempDir()
	card := luhnNumber(t, "4", 16)
	typo := card[:15] + string('0'+(card[15]-'0'+1)%10)
	in := filepath.Join(dir, "export.csv")
	data := "id,pan\n1," + card + "\n2," + typo + "\n3,XXXXXXXXXXXX" + card[12:] + "\n"
	os.WriteFile(in, []byte(data), 0o600)
	k, _ := vault.NewKey()
	env := []string{envVaultKey + "=" + k.String()}
	r := runCLI(t, dir, env, "tokenize", "--vault", "v", "-o", "auto", in)
	if r.code != 0 || !strings.Contains(r.stdout, "1 values of 13 to 19 digits failing the Luhn check kept as they are: name the column with --columns pan") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, env, "tokenize", "--vault", "v", "--columns", "pan", "-o", "named", in)
	if r.code != 0 || !strings.Contains(r.stdout, "column pan (named): 2 numbers tokenized") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	scanForSecrets(t, []string{card, typo}, r.stdout+r.stderr, filepath.Join(dir, "named"))
	r = runCLI(t, dir, env, "detokenize", "--vault", "v", "--columns", "pan", "-o", "plain", filepath.Join(dir, "named", "export.csv"))
	back, _ := os.ReadFile(filepath.Join(dir, "plain", "export.csv"))
	if r.code != 0 || !bytes.Equal(back, canonicalCSV(t, []byte(data))) {
		t.Fatalf("detokenize --columns: exit %d %s", r.code, r.stderr)
	}
}
