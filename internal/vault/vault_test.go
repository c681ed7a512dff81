package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"github.com/konduit/konduit/internal/cardnum"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cardNumber returns a random Luhn-valid number of n digits (test data is
// generated at run time; the repository holds no card-number literals).
func cardNumber(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := 0; i < n-1; i++ {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + d.Int64())
	}
	b[0] = '4'
	for c := byte('0'); c <= '9'; c++ {
		b[n-1] = c
		if cardnum.Luhn(string(b)) {
			return string(b)
		}
	}
	t.Fatal("no check digit")
	return ""
}

func testKey(t testing.TB) *Key {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return &k
}

func TestTokenShape(t *testing.T) {
	for _, tc := range []struct {
		kind     Kind
		n        int
		keepLast bool
	}{
		{Card, 13, true}, {Card, 15, true}, {Card, 16, true}, {Card, 19, true},
		{ACH, 4, false}, {ACH, 7, false}, {ACH, 8, true}, {ACH, 17, true},
	} {
		path := filepath.Join(t.TempDir(), "v")
		v, err := Open(path, Options{Key: testKey(t), Write: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 200 {
			num := cardNumber(t, tc.n)
			if seen[num] {
				continue // short numbers repeat
			}
			seen[num] = true
			tok, created, err := v.Tokenize(tc.kind, num)
			if err != nil || !created {
				t.Fatalf("%s/%d: created=%v err=%v", tc.kind, tc.n, created, err)
			}
			switch {
			case len(tok) != tc.n || !digits(tok):
				t.Fatalf("%s/%d: token %q is not %d digits", tc.kind, tc.n, tok, tc.n)
			case tok == num:
				t.Fatalf("%s/%d: token equals the number", tc.kind, tc.n)
			case cardnum.Luhn(tok):
				t.Fatalf("%s/%d: token passes Luhn", tc.kind, tc.n)
			case tok[0] == '0':
				t.Fatalf("%s/%d: token starts with 0", tc.kind, tc.n)
			case tc.keepLast && tok[tc.n-4:] != num[tc.n-4:]:
				t.Fatalf("%s/%d: last four differ", tc.kind, tc.n)
			case !v.IsToken(tok):
				t.Fatalf("IsToken(new token) = false")
			}
		}
		v.Close()
	}
}

func TestBadNumbers(t *testing.T) {
	v, err := Open(filepath.Join(t.TempDir(), "v"), Options{Key: testKey(t), Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, s := range []string{"", "123", "12345678901234567890", "4111 1111", "abcd1234", "-1234567"} {
		if _, _, err := v.Tokenize(Card, s); !errors.Is(err, ErrBadNumber) {
			t.Errorf("Tokenize(%q): %v, want ErrBadNumber", s, err)
		}
	}
}

func TestReopenGivesSameToken(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vault")
	key := testKey(t)
	card, ach := cardNumber(t, 16), cardNumber(t, 10)
	v, err := Open(path, Options{Key: key, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	t1, _, _ := v.Tokenize(Card, card)
	a1, _, _ := v.Tokenize(ACH, ach)
	same, created, _ := v.Tokenize(Card, card)
	if same != t1 || created {
		t.Fatalf("second Tokenize gave %q created=%v", same, created)
	}
	if err := v.Save(ctx); err != nil {
		t.Fatal(err)
	}
	v.Close()
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("vault mode %o, want 600", st.Mode().Perm())
	}

	v, err = Open(path, Options{Key: key, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	t2, created, err := v.Tokenize(Card, card)
	if err != nil || t2 != t1 || created {
		t.Fatalf("after reopen: %q created=%v err=%v; want %q", t2, created, err, t1)
	}
	for tok, want := range map[string]string{t1: card, a1: ach} {
		got, _, ok, err := v.Detokenize(tok)
		if err != nil || !ok || got != want {
			t.Fatalf("Detokenize: ok=%v err=%v match=%v", ok, err, got == want)
		}
	}
	if _, _, ok, err := v.Detokenize("1234567812345678"); ok || err != nil {
		t.Fatalf("unknown token: ok=%v err=%v", ok, err)
	}
}

func TestVaultFileRevealsNoNumber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault")
	v, err := Open(path, Options{Key: testKey(t), Write: true})
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for range 50 {
		n := cardNumber(t, 16)
		nums = append(nums, n)
		v.Tokenize(Card, n)
	}
	v.Save(context.Background())
	v.Close()
	b, _ := os.ReadFile(path)
	for _, n := range nums {
		if bytes.Contains(b, []byte(n)) || bytes.Contains(b, []byte(n[:12])) {
			t.Fatal("the vault file holds a number or its first twelve digits in clear")
		}
	}
	// Without the key: tokens only.
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 50 {
		t.Fatalf("Len %d", r.Len())
	}
	for tok := range r.byToken {
		if !r.IsToken(tok) {
			t.Fatal("IsToken false for a vault token")
		}
		if _, _, _, err := r.Detokenize(tok); !errors.Is(err, ErrNoKey) {
			t.Fatalf("Detokenize without key: %v", err)
		}
	}
	if _, _, err := r.Tokenize(Card, nums[0]); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Tokenize without key: %v", err)
	}
	if r.IsToken(nums[0]) {
		t.Fatal("a card number is reported as a token")
	}
	// A wrong key is told apart.
	if _, err := Open(path, Options{Key: testKey(t)}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	// A read-only vault with the key detokenizes but makes no tokens.
	ro, err := Open(path, Options{Key: nil})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Save(context.Background()); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Save read-only: %v", err)
	}
}

func TestSwappedEntriesAreDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault")
	key := testKey(t)
	v, _ := Open(path, Options{Key: key, Write: true})
	a, _, _ := v.Tokenize(Card, cardNumber(t, 16))
	v.Tokenize(Card, cardNumber(t, 16))
	v.Save(context.Background())
	v.Close()
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// Move entry 2's ciphertext and nonce under entry 1's token.
	field := func(l, name string) string {
		i := strings.Index(l, `"`+name+`":"`) + len(name) + 4
		return l[i : i+strings.Index(l[i:], `"`)]
	}
	l1, l2 := lines[1], lines[2]
	l1 = strings.Replace(l1, field(l1, "c"), field(l2, "c"), 1)
	l1 = strings.Replace(l1, field(l1, "n"), field(l2, "n"), 1)
	lines[1] = l1
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	v, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := v.Detokenize(a); !errors.Is(err, ErrDamaged) {
		t.Fatalf("swapped entry: %v, want ErrDamaged", err)
	}
}

func TestWritersExcludeEachOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault")
	key := testKey(t)
	v, err := Open(path, Options{Key: key, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := v.Tokenize(Card, cardNumber(t, 16))
	done := make(chan *Vault)
	go func() {
		w, err := Open(path, Options{Key: key, Write: true})
		if err != nil {
			t.Error(err)
		}
		done <- w
	}()
	select {
	case <-done:
		t.Fatal("a second writer opened the vault while the first held it")
	case <-time.After(200 * time.Millisecond):
	}
	v.Save(context.Background())
	v.Close()
	w := <-done
	defer w.Close()
	if !w.IsToken(tok) {
		t.Fatal("the second writer does not see the first writer's token")
	}
}

func TestLuhn(t *testing.T) {
	for range 100 {
		n := cardNumber(t, 16)
		if !cardnum.Luhn(n) {
			t.Fatal("generated number fails Luhn")
		}
		b := []byte(n)
		b[7] = '0' + (b[7]-'0'+3)%10
		if cardnum.Luhn(string(b)) {
			t.Fatal("a one-digit change still passes Luhn")
		}
	}
	for _, s := range []string{"", "abc", "0"} {
		if s != "0" && cardnum.Luhn(s) {
			t.Errorf("cardnum.Luhn(%q)", s)
		}
	}
}

func TestParseKey(t *testing.T) {
	k := testKey(t)
	got, err := ParseKey(" " + k.String() + "\n")
	if err != nil || got != *k {
		t.Fatalf("ParseKey round trip: %v", err)
	}
	for _, s := range []string{"", "abcd", strings.Repeat("zz", 32), strings.Repeat("00", 31)} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	os.WriteFile(p, []byte(k.String()), 0o644)
	if _, err := ReadKeyFile(p); err == nil {
		t.Fatal("a group-readable key file was accepted")
	}
	os.Chmod(p, 0o600)
	if got, err := ReadKeyFile(p); err != nil || got != *k {
		t.Fatalf("ReadKeyFile: %v", err)
	}
}

// FuzzLoad: the vault file parser never panics and never accepts an entry
// that breaks the format's invariants.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("{\"konduit_vault\":1,\"check\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}\n"))
	f.Add([]byte("{\"konduit_vault\":1}\n{\"t\":\"1234\",\"k\":\"card\",\"f\":\"\",\"n\":\"\",\"c\":\"\"}\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v := &Vault{byToken: map[string]int{}, byFP: map[string]int{}}
		if err := v.load(bytes.NewReader(data)); err != nil {
			return
		}
		for _, e := range v.entries {
			if validEntry(e) != nil {
				t.Fatal("load accepted an invalid entry")
			}
		}
		if len(v.byToken) != len(v.entries) || len(v.byFP) != len(v.entries) {
			t.Fatal("indexes disagree with entries")
		}
	})
}

func TestMasked(t *testing.T) {
	for s, want := range map[string]bool{
		"XXXXXXXXXXXX1234": true, "************1234": true, "411111xxxxxx1234": true,
		"X" + strings.Repeat("4", 15): false, "1234": false, "12-34": false, "": false,
	} {
		if masked(s) != want {
			t.Errorf("masked(%q) = %v, want %v", legacyMaskAll(s), !want, want)
		}
	}
}

func legacyMaskAll(s string) string {
	if len(s) <= 4 {
		return s
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// FuzzTokenizeCSV: for any input the reader accepts, tokenizing then
// restoring gives back exactly what a plain copy through the reader and
// writer gives, and the tokenized copy holds no Luhn-valid card number.
func FuzzTokenizeCSV(f *testing.F) {
	f.Add([]byte("\"cardNumber\",\"achAccountNumber\"\n\"" + cardNumber(f, 16) + "\",\"123456789\"\n"))
	f.Add([]byte("cardNumber,x\n************1234,a\n,b\n"))
	f.Add([]byte("a,cardNumber\n\"q\"\"\",12 34\n"))
	c := cardNumber(f, 16)
	f.Add([]byte("id,note\n1,\"card " + c[:4] + " " + c[4:8] + "-" + c[8:12] + " " + c[12:] + " 09/27\"\n"))
	f.Add([]byte(cardNumber(f, 15) + ",x\n" + cardNumber(f, 19) + "," + cardNumber(f, 13) + "\n"))
	key := testKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Open(filepath.Join(t.TempDir(), "v"), Options{Key: key, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		ctx := context.Background()
		var tok, back bytes.Buffer
		if _, err := v.TokenizeCSV(ctx, bytes.NewReader(data), &tok); err != nil {
			return
		}
		if runs := luhnRuns(tok.String()); len(runs) > 0 {
			t.Fatalf("the tokenized copy holds a Luhn-valid run ending %s", runs[0])
		}
		if _, err := v.RestoreCSV(ctx, bytes.NewReader(tok.Bytes()), &back, CSVOptions{}); err != nil {
			t.Fatalf("restore what tokenize wrote: %v", err)
		}
		if !bytes.Equal(back.Bytes(), plainCopy(t, data)) {
			t.Fatal("tokenize+restore is not the identity")
		}
	})
}

func TestWaitingWriterGivesUpWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault")
	key := testKey(t)
	v, err := Open(path, Options{Key: key, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := OpenContext(ctx, path, Options{Key: key, Write: true}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
}
