package pgp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	pgpcrypto "github.com/ProtonMail/gopenpgp/v3/crypto"
)

// patternReader streams head, then n bytes of fill, then tail, generating
// the fill on the fly (nothing of size n is ever held), and counts what was
// read from it.
type patternReader struct {
	head, tail []byte
	fill       byte
	n, read    int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	total := int64(len(p.head)) + p.n + int64(len(p.tail))
	if p.read >= total {
		return 0, io.EOF
	}
	i := 0
	for i < len(b) && p.read < total {
		switch off := p.read; {
		case off < int64(len(p.head)):
			k := copy(b[i:], p.head[off:])
			i += k
			p.read += int64(k)
		case off < int64(len(p.head))+p.n:
			k := int(min(int64(len(b)-i), int64(len(p.head))+p.n-off))
			for j := range k {
				b[i+j] = p.fill
			}
			i += k
			p.read += int64(k)
		default:
			k := copy(b[i:], p.tail[off-int64(len(p.head))-p.n:])
			i += k
			p.read += int64(k)
		}
	}
	return i, nil
}

// TestArmorHeaderLineRefusedFast: a header line of 1 MiB or 100 MiB (the
// latter streamed, never stored) is refused with ErrArmorHeader in well
// under a second, having read little more than the cap. Without the guard
// go-crypto takes 3 s for 1 MiB and over ten minutes for 100 MiB.
func TestArmorHeaderLineRefusedFast(t *testing.T) {
	key := unlocked(t, testKeys(t)[Curve25519])
	for _, tc := range []struct {
		name string
		head string
		size int64
	}{
		{"comment-1MiB", "-----BEGIN PGP MESSAGE-----\nComment: ", 1 << 20},
		{"comment-100MiB", "-----BEGIN PGP MESSAGE-----\nComment: ", 100 << 20},
		{"crlf-100MiB", "-----BEGIN PGP MESSAGE-----\r\nVersion: x\r\nComment: ", 100 << 20},
		{"no-colon-100MiB", "-----BEGIN PGP MESSAGE-----\n", 100 << 20},
		{"begin-line-100MiB", "-----BEGIN PGP MESSAGE", 100 << 20},
		{"preamble-100MiB", "-----BEGIN PGP MESSAGE----- is below\n", 100 << 20},
		// A header line without a colon sends armor.Decode back to looking
		// for a -----BEGIN line; the guard follows it there.
		{"second-block-100MiB", "-----BEGIN PGP MESSAGE-----\nnot a header\n\nwcBMA\n-----BEGIN PGP MESSAGE-----\nComment: ", 100 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &patternReader{head: []byte(tc.head), fill: 'A', n: tc.size, tail: []byte("\n\nwcBMA\n-----END PGP MESSAGE-----\n")}
			// The deadline makes a missing guard fail in seconds rather
			// than hang: the library reads through ctxReader.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			var out bytes.Buffer
			_, err := Decrypt(ctx, &out, src, key, DecryptOptions{})
			took := time.Since(start)
			var he *ArmorHeaderError
			if !errors.Is(err, ErrArmorHeader) || !errors.As(err, &he) {
				t.Fatalf("err %v, want an *ArmorHeaderError", err)
			}
			if took > time.Second {
				t.Errorf("refused after %v, want well under 1s", took)
			}
			if src.read > 2*MaxArmorHeader {
				t.Errorf("read %d bytes of the input before refusing, want at most %d", src.read, 2*MaxArmorHeader)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes", out.Len())
			}
			if he.Block || he.Line < 1 || !strings.Contains(err.Error(), "longer than 8192 bytes") {
				t.Errorf("error %q (%+v), want one line over the cap", err, *he)
			}
		})
	}
}

// TestArmorHeaderBlockCapped: many short header lines, or many lines of
// text before the -----BEGIN line, are capped as a whole.
func TestArmorHeaderBlockCapped(t *testing.T) {
	key := unlocked(t, testKeys(t)[Curve25519])
	for name, head := range map[string]string{
		"headers":    "-----BEGIN PGP MESSAGE-----\n" + strings.Repeat("Comment: 0123456789\n", 1000) + "\nwcBMA\n",
		"keys":       "-----BEGIN PGP MESSAGE-----\n" + strings.Repeat("K:\n", 5000) + "\nwcBMA\n",
		"preamble":   "-----BEGIN PGP\n" + strings.Repeat("a line of text\n", 1000),
		"blank-only": "-----BEGIN PGP\n" + strings.Repeat(" \n", 5000),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decrypt(context.Background(), io.Discard, strings.NewReader(head), key, DecryptOptions{})
			var he *ArmorHeaderError
			if !errors.As(err, &he) || !he.Block {
				t.Fatalf("err %v, want a block-sized *ArmorHeaderError", err)
			}
		})
	}
}

// TestArmorHeadersWithinCapDecrypt: armored messages with ordinary headers,
// a long (but capped) comment, CRLF line ends and text before the armor
// still decrypt, as do binary messages.
func TestArmorHeadersWithinCapDecrypt(t *testing.T) {
	k := testKeys(t)[Curve25519]
	key := unlocked(t, k)
	plain := []byte(strings.Repeat("customerId,orderId\n", 2000))
	armored := encryptTo(t, k, plain, true)
	body := armored[strings.Index(armored, "\n\n")+2:]
	for name, msg := range map[string]string{
		"plain":     armored,
		"headers":   "-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v2\nComment: exported by a processor\nCharset: UTF-8\n\n" + body,
		"long":      "-----BEGIN PGP MESSAGE-----\nComment: " + strings.Repeat("x", MaxArmorHeader-100) + "\n\n" + body,
		"crlf":      strings.ReplaceAll("-----BEGIN PGP MESSAGE-----\nVersion: x\n\n"+body, "\n", "\r\n"),
		"preamble":  "Here is the export you asked for.\n\n-----BEGIN PGP MESSAGE-----\nComment: hello\n\n" + body,
		"indented":  "  -----BEGIN PGP MESSAGE-----  \n\t\n" + body,
		"colonless": "-----BEGIN PGP MESSAGE-----\nnot a header\n-----BEGIN PGP MESSAGE-----\nComment: second\n\n" + body,
		"binary":    encryptTo(t, k, plain, false),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := Decrypt(context.Background(), &out, strings.NewReader(msg), key, DecryptOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("decrypted %d bytes, want %d", out.Len(), len(plain))
			}
		})
	}
}

// TestReadKeyArmorHeaderCapped: a key file is armored text from a partner
// too; ReadKey refuses an oversized header and still reads a key with
// headers.
func TestReadKeyArmorHeaderCapped(t *testing.T) {
	var pub bytes.Buffer
	k := testKeys(t)[Curve25519]
	if err := k.WritePublic(&pub, true); err != nil {
		t.Fatal(err)
	}
	s := pub.String()
	body := s[strings.Index(s, "\n\n")+2:]
	withHeaders := "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: " + strings.Repeat("y", 2000) + "\n\n" + body
	got, err := ReadKey(strings.NewReader(withHeaders))
	if err != nil || got.Fingerprint() != k.Fingerprint() {
		t.Fatalf("read key with headers: %v", err)
	}
	// 1 MiB: ReadKey takes no context, so a missing guard must fail the
	// timing rather than hang (the library takes about 3 s on it).
	src := &patternReader{head: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: "), fill: 'z', n: 1 << 20, tail: []byte("\n\n" + body)}
	start := time.Now()
	if _, err := ReadKey(src); !errors.Is(err, ErrArmorHeader) {
		t.Fatalf("err %v, want ErrArmorHeader", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refused after %v", took)
	}
}

// TestGnuPGArmorHeadersDecrypt: gpg's armor with --emit-version and a
// --comment still decrypts.
func TestGnuPGArmorHeadersDecrypt(t *testing.T) {
	gpg := gpgHome(t)
	k := testKeys(t)[RSA4096]
	var pub bytes.Buffer
	k.WritePublic(&pub, true)
	if _, err := gpg(pub.Bytes(), "--import"); err != nil {
		t.Fatal(err)
	}
	plain := []byte(strings.Repeat("a,b,c\n", 1000))
	ct, err := gpg(plain, "--armor", "--emit-version", "--comment", "exported for Acme "+strings.Repeat("c", 200), "-r", k.Fingerprint(), "--encrypt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ct, []byte("\nComment: ")) || !bytes.Contains(ct, []byte("\nVersion: ")) {
		t.Fatalf("gpg wrote no armor headers:\n%.300s", ct)
	}
	var out bytes.Buffer
	if _, err := Decrypt(context.Background(), &out, bytes.NewReader(ct), unlocked(t, k), DecryptOptions{}); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("decrypt gpg's armored message with headers: %v", err)
	}
}

func encryptTo(t *testing.T, k *Key, plain []byte, armor bool) string {
	t.Helper()
	var ct bytes.Buffer
	if _, err := Encrypt(context.Background(), &ct, bytes.NewReader(plain), []*Key{k}, EncryptOptions{Armor: armor}); err != nil {
		t.Fatal(err)
	}
	return ct.String()
}

// TestArmorHeaderCapBoundary: a header block of exactly MaxArmorHeader
// bytes (through its blank line) passes, one byte more is refused.
func TestArmorHeaderCapBoundary(t *testing.T) {
	begin := "-----BEGIN PGP MESSAGE-----\n"
	for _, extra := range []int{0, 1} {
		fill := MaxArmorHeader - len(begin) - len("C: \n") - len("\n") + extra
		head := begin + "C: " + strings.Repeat("x", fill) + "\n\n"
		if len(head) != MaxArmorHeader+extra {
			t.Fatalf("fixture is %d bytes", len(head))
		}
		r, enc, err := guardArmor(strings.NewReader(head + "wcBMA\n-----END PGP MESSAGE-----\n"))
		if extra == 0 {
			if err != nil {
				t.Fatalf("a block of exactly the cap: %v", err)
			}
			got, _ := io.ReadAll(r)
			if enc != pgpcrypto.Armor || string(got) != begin+"\nwcBMA\n-----END PGP MESSAGE-----\n" {
				t.Fatalf("the library would get (encoding %d):\n%s", enc, got)
			}
		} else if !errors.Is(err, ErrArmorHeader) {
			t.Fatalf("a block one byte over the cap: %v", err)
		}
	}
}
