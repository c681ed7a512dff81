// Package vault replaces card and bank account numbers with tokens and keeps
// the numbers, encrypted, so that whoever holds the vault key can reverse it.
//
// # Tokens
//
// A token has the number's shape so an import file's column types still
// hold: ASCII digits, the same length and, for numbers of 8 digits or more,
// the same last four (shorter bank account numbers are replaced entirely).
// The other digits come from crypto/rand, the first is never 0, and a token
// never passes the Luhn check, so a token can never be mistaken for a card.
// The same number in the same vault always gets the same token, so running
// tokenize twice gives the same file and imports stay idempotent.
//
// # Keys
//
// The vault key is 32 random bytes, written as 64 hex digits, from the
// environment (KONDUIT_VAULT_KEY in the CLI) or a 0600 key file, never a
// flag. HKDF-SHA256 derives two keys from it: an AES-256-GCM key that
// encrypts each number (random 96-bit nonce, the token and kind as
// additional data, so entries cannot be swapped) and an HMAC-SHA256 key
// whose output on the number is the entry's fingerprint: the lookup that
// finds an existing token without deterministic encryption. A vault read
// without the key shows tokens and fingerprints only; neither reveals a
// number without the key.
//
// # File format
//
// Text, one JSON object per line. The first line is the header:
//
//	{"konduit_vault":1,"check":"<base64 HMAC of a constant, 16 bytes>"}
//
// "check" lets Open tell a wrong key from a damaged entry. Every other line
// is one entry:
//
//	{"t":"<token>","k":"card"|"ach","f":"<base64 fingerprint>","n":"<base64 nonce>","c":"<base64 ciphertext>"}
//
// An entry may also carry "v": N (1 to 64), a variant: another token for
// the same number, random in every digit (the last four included), whose
// fingerprint covers N too. Tokenizing free text uses one where the
// number's first token would form a Luhn-valid run with the digits around
// it (see TokenizeCSVWith).
//
// # Concurrency and saving
//
// A writer holds an exclusive advisory lock on PATH.lock (flock) from Open
// to Close, so two tokenize runs never lose each other's tokens; readers
// take no lock and need no write access. Save rewrites the whole file under a temporary name and renames it into
// place (internal/atomicfile, mode 0600): a crash leaves the previous vault.
// Callers save the vault before they publish output that uses new tokens.
package vault

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/konduit/konduit/internal/cardnum"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/konduit/konduit/internal/atomicfile"
)

// Kind says which column a number came from.
type Kind string

// The kinds of number a vault holds.
const (
	Card Kind = "card"
	ACH  Kind = "ach"
)

// KeySize is the vault key's length in bytes.
const KeySize = 32

// Key is a vault key.
type Key [KeySize]byte

// NewKey returns a random key.
func NewKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return k, fmt.Errorf("generate vault key: %w", err)
	}
	return k, nil
}

// ParseKey reads a key written as 64 hex digits (surrounding space ignored).
func ParseKey(s string) (Key, error) {
	var k Key
	s = strings.TrimSpace(s)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != KeySize {
		return k, errors.New("parse vault key: want 64 hex digits (32 random bytes)")
	}
	copy(k[:], b)
	return k, nil
}

// String returns the key as 64 hex digits.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ReadKeyFile reads a key from a file that only its owner may read.
func ReadKeyFile(path string) (Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("read vault key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("read vault key: %s has mode %o; it must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("read vault key: %w", err)
	}
	return ParseKey(string(b))
}

// Errors of Open and the lookups.
var (
	ErrWrongKey  = errors.New("the vault key does not match this vault")
	ErrNoKey     = errors.New("the vault was opened without its key")
	ErrReadOnly  = errors.New("the vault was opened read-only")
	ErrBadNumber = errors.New("not a number that can be tokenized (digits only, 4 to 19 of them)")
	ErrDamaged   = errors.New("vault entry is damaged or was altered")
)

// Options tune Open.
type Options struct {
	// Key decrypts and creates entries; nil opens the vault for IsToken only.
	Key *Key
	// Write allows new tokens and Save; the vault file is created when
	// missing. It takes an exclusive lock.
	Write bool
}

type entry struct {
	Token string `json:"t"`
	Kind  Kind   `json:"k"`
	V     int    `json:"v,omitempty"` // variant, see tokenVariant
	FP    []byte `json:"f"`
	Nonce []byte `json:"n"`
	CT    []byte `json:"c"`
}

type header struct {
	Version int    `json:"konduit_vault"`
	Check   []byte `json:"check"`
}

// Vault is an open vault. Its methods are not safe for concurrent use.
type Vault struct {
	path    string
	opts    Options
	aead    cipher.AEAD
	macKey  []byte
	check   []byte
	entries []entry
	byToken map[string]int
	byFP    map[string]int
	dirty   bool
	unlock  func()
}

const checkLabel = "konduit vault key check"

// Open reads the vault at path; see OpenContext.
func Open(path string, opts Options) (*Vault, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext reads the vault at path. A writer waits for another writer
// to close the vault, until ctx ends.
func OpenContext(ctx context.Context, path string, opts Options) (*Vault, error) {
	v := &Vault{path: path, opts: opts, byToken: map[string]int{}, byFP: map[string]int{}}
	if opts.Write && opts.Key == nil {
		return nil, fmt.Errorf("open vault: %w", ErrNoKey)
	}
	if opts.Key != nil {
		if err := v.deriveKeys(*opts.Key); err != nil {
			return nil, err
		}
	}
	if opts.Write {
		unlock, err := lockFile(ctx, path+".lock")
		if err != nil {
			return nil, fmt.Errorf("lock vault: %w", err)
		}
		v.unlock = unlock
	}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && opts.Write:
		v.dirty = true
		return v, nil
	case err != nil:
		v.Close()
		return nil, fmt.Errorf("open vault: %w", err)
	}
	defer f.Close()
	if err := v.load(f); err != nil {
		v.Close()
		return nil, fmt.Errorf("open vault %s: %w", path, err)
	}
	return v, nil
}

func (v *Vault) deriveKeys(k Key) error {
	encKey, err := hkdf.Key(sha256.New, k[:], nil, "konduit vault v1 aes-256-gcm", 32)
	if err != nil {
		return fmt.Errorf("derive vault keys: %w", err)
	}
	v.macKey, err = hkdf.Key(sha256.New, k[:], nil, "konduit vault v1 hmac-sha256", 32)
	if err != nil {
		return fmt.Errorf("derive vault keys: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return fmt.Errorf("derive vault keys: %w", err)
	}
	v.aead, err = cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("derive vault keys: %w", err)
	}
	v.check = v.mac([]byte(checkLabel))[:16]
	return nil
}

func (v *Vault) mac(b []byte) []byte {
	m := hmac.New(sha256.New, v.macKey)
	m.Write(b)
	return m.Sum(nil)
}

// maxLine caps one line of the vault file.
const maxLine = 4096

// load parses a vault file. It is the parser FuzzLoad exercises.
func (v *Vault) load(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			var h header
			if err := strictUnmarshal(b, &h); err != nil || h.Version != 1 {
				return fmt.Errorf("line 1: not a konduit vault (version 1) header")
			}
			if v.check != nil && subtle.ConstantTimeCompare(h.Check, v.check) != 1 {
				return ErrWrongKey
			}
			v.check = h.Check
			continue
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var e entry
		if err := strictUnmarshal(b, &e); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := validEntry(e); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if _, dup := v.byToken[e.Token]; dup {
			return fmt.Errorf("line %d: token appears twice", line)
		}
		fp := string(e.FP)
		if _, dup := v.byFP[fp]; dup {
			return fmt.Errorf("line %d: number appears twice", line)
		}
		v.byToken[e.Token] = len(v.entries)
		v.byFP[fp] = len(v.entries)
		v.entries = append(v.entries, e)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	if line == 0 {
		return errors.New("empty file: not a konduit vault")
	}
	return nil
}

func strictUnmarshal(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	if d.More() {
		return errors.New("parse: text after the object")
	}
	return nil
}

func validEntry(e entry) error {
	switch {
	case e.Kind != Card && e.Kind != ACH:
		return fmt.Errorf("unknown kind %q", e.Kind)
	case !digits(e.Token) || len(e.Token) < 4 || len(e.Token) > 19:
		return errors.New("token is not 4 to 19 digits")
	case len(e.FP) != sha256.Size:
		return errors.New("fingerprint is not 32 bytes")
	case len(e.Nonce) != 12:
		return errors.New("nonce is not 12 bytes")
	case len(e.CT) < 16+4 || len(e.CT) > 16+19:
		return errors.New("ciphertext has the wrong length")
	case e.V < 0 || e.V > maxVariant:
		return errors.New("variant out of range")
	}
	return nil
}

// Len is the number of tokens in the vault.
func (v *Vault) Len() int { return len(v.entries) }

// IsToken reports whether s is one of this vault's tokens. It works without
// the key: `konduit validate --vault` uses it to accept tokens where a card
// number is expected.
func (v *Vault) IsToken(s string) bool {
	_, ok := v.byToken[s]
	return ok
}

func (v *Vault) fingerprint(kind Kind, number string, variant int) []byte {
	if variant == 0 {
		return v.mac([]byte(string(kind) + "\x00" + number))
	}
	return v.mac([]byte(string(kind) + "\x00" + number + "\x00" + strconv.Itoa(variant)))
}

// maxVariant caps the variants of one number.
const maxVariant = 64

func aad(kind Kind, token string) []byte {
	return []byte("konduit-vault-v1\x00" + string(kind) + "\x00" + token)
}

// Tokenize returns the number's token, creating one when the vault has
// none. created says whether it is new (the vault then needs Save).
func (v *Vault) Tokenize(kind Kind, number string) (token string, created bool, err error) {
	return v.tokenVariant(kind, number, 0)
}

// tokenVariant is Tokenize for one of the number's tokens: variant 0 is
// the token Tokenize gives; variants 1 to maxVariant are others, random in
// every digit, for free text (see tokenizeText).
func (v *Vault) tokenVariant(kind Kind, number string, variant int) (token string, created bool, err error) {
	if variant < 0 || variant > maxVariant {
		return "", false, fmt.Errorf("tokenize: variant %d out of range", variant)
	}
	if v.aead == nil {
		return "", false, ErrNoKey
	}
	if !digits(number) || len(number) < 4 || len(number) > 19 {
		return "", false, ErrBadNumber
	}
	fp := v.fingerprint(kind, number, variant)
	if i, ok := v.byFP[string(fp)]; ok {
		return v.entries[i].Token, false, nil
	}
	if !v.opts.Write {
		return "", false, ErrReadOnly
	}
	for range 1000 {
		t, err := newToken(number, variant == 0)
		if err != nil {
			return "", false, err
		}
		if _, taken := v.byToken[t]; taken {
			continue
		}
		nonce := make([]byte, v.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return "", false, fmt.Errorf("tokenize: %w", err)
		}
		e := entry{Token: t, Kind: kind, V: variant, FP: fp, Nonce: nonce, CT: v.aead.Seal(nil, nonce, []byte(number), aad(kind, t))}
		v.byToken[t] = len(v.entries)
		v.byFP[string(fp)] = len(v.entries)
		v.entries = append(v.entries, e)
		v.dirty = true
		return t, true, nil
	}
	return "", false, errors.New("tokenize: no free token of this length is left")
}

// Detokenize returns the number behind a token; ok is false when the vault
// does not hold the token.
func (v *Vault) Detokenize(token string) (number string, kind Kind, ok bool, err error) {
	i, found := v.byToken[token]
	if !found {
		return "", "", false, nil
	}
	if v.aead == nil {
		return "", "", false, ErrNoKey
	}
	e := v.entries[i]
	pt, err := v.aead.Open(nil, e.Nonce, e.CT, aad(e.Kind, e.Token))
	if err != nil || !hmac.Equal(v.fingerprint(e.Kind, string(pt), e.V), e.FP) {
		return "", "", false, fmt.Errorf("detokenize %s: %w", maskToken(token), ErrDamaged)
	}
	return string(pt), e.Kind, true, nil
}

func maskToken(t string) string {
	if len(t) <= 4 {
		return strings.Repeat("*", len(t))
	}
	return strings.Repeat("*", len(t)-4) + t[len(t)-4:]
}

// Save writes the vault if it changed, atomically, with mode 0600.
func (v *Vault) Save(ctx context.Context) error {
	if !v.opts.Write {
		return fmt.Errorf("save vault: %w", ErrReadOnly)
	}
	if !v.dirty {
		return nil
	}
	err := atomicfile.Write(ctx, v.path, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		if err := enc.Encode(header{Version: 1, Check: v.check}); err != nil {
			return err
		}
		for _, e := range v.entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("save vault: %w", err)
	}
	v.dirty = false
	return nil
}

// Close releases the vault's lock. Unsaved tokens are dropped.
func (v *Vault) Close() error {
	if v.unlock != nil {
		v.unlock()
		v.unlock = nil
	}
	return nil
}

// newToken draws a token for number: same length, same last four when
// keepLast and the number has 8 digits or more, first digit not 0, never
// Luhn-valid and never the number itself.
func newToken(number string, keepLast bool) (string, error) {
	n := len(number)
	keep := 0
	if keepLast && n >= 8 {
		keep = 4
	}
	for {
		b := make([]byte, n)
		for i := 0; i < n-keep; i++ {
			lim := int64(10)
			if i == 0 {
				lim = 9
			}
			d, err := rand.Int(rand.Reader, big.NewInt(lim))
			if err != nil {
				return "", fmt.Errorf("tokenize: %w", err)
			}
			b[i] = byte('0' + d.Int64())
			if i == 0 {
				b[i]++
			}
		}
		copy(b[n-keep:], number[n-keep:])
		if cardnum.Luhn(string(b)) {
			// Changing one digit always changes the Luhn sum, so bumping the
			// last random digit (never the first) makes it invalid.
			i := n - keep - 1
			if i == 0 {
				b[0] = '1' + (b[0]-'1'+1)%9
			} else {
				b[i] = '0' + (b[i]-'0'+1)%10
			}
		}
		if t := string(b); t != number && !cardnum.Luhn(t) {
			return t, nil
		}
	}
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
