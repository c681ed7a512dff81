package pgp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzDecrypt: arbitrary input never panics, never yields plaintext without
// an error unless it is a real message to the key, stays within the cap, and
// writes nothing when its armor header is refused.
func FuzzDecrypt(f *testing.F) {
	k := testKeys(f)[Curve25519]
	u, err := k.Unlock([]byte(testPass))
	if err != nil {
		f.Fatal(err)
	}
	var ct bytes.Buffer
	Encrypt(context.Background(), &ct, bytes.NewReader([]byte("a,b\n1,2\n")), []*Key{k}, EncryptOptions{})
	f.Add(ct.Bytes())
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\nwcBMA\n-----END PGP MESSAGE-----\n"))
	f.Add([]byte{0xc1, 0x0c, 0x03})
	// Boundaries: empty, invalid UTF-8, armor headers just under and just
	// over MaxArmorHeader (made at run time), a real armored message with
	// headers.
	f.Add([]byte{})
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\xff\xfe: \xc3\n\n\xff\n-----END PGP MESSAGE-----\n"))
	begin := "-----BEGIN PGP MESSAGE-----\n"
	for _, n := range []int{MaxArmorHeader - len(begin) - 2, MaxArmorHeader - len(begin) - 1, MaxArmorHeader} {
		f.Add([]byte(begin + "C:" + strings.Repeat("x", n-3) + "\n\nwcBMA\n-----END PGP MESSAGE-----\n"))
	}
	var armored bytes.Buffer
	Encrypt(context.Background(), &armored, strings.NewReader("a,b\n"), []*Key{k}, EncryptOptions{Armor: true})
	f.Add(bytes.Replace(armored.Bytes(), []byte("-----\n"), []byte("-----\nVersion: x\nComment: y\n"), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		res, err := Decrypt(context.Background(), &out, bytes.NewReader(data), u, DecryptOptions{MaxSize: 1 << 20})
		if err == nil && res.Bytes != int64(out.Len()) {
			t.Fatalf("reported %d bytes, wrote %d", res.Bytes, out.Len())
		}
		if errors.Is(err, ErrArmorHeader) && out.Len() != 0 {
			t.Fatalf("%d bytes written before the armor header was refused", out.Len())
		}
		if out.Len() > 1<<20+1 {
			t.Fatalf("wrote %d bytes past the cap", out.Len())
		}
		_, _ = io.Copy(io.Discard, &out)
	})
}
