package pgp

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// FuzzDecrypt: arbitrary input never panics, never yields plaintext without
// an error unless it is a real message to the key, and stays within the cap.
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
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		res, err := Decrypt(context.Background(), &out, bytes.NewReader(data), u, DecryptOptions{MaxSize: 1 << 20})
		if err == nil && res.Bytes != int64(out.Len()) {
			t.Fatalf("reported %d bytes, wrote %d", res.Bytes, out.Len())
		}
		if out.Len() > 1<<20+1 {
			t.Fatalf("wrote %d bytes past the cap", out.Len())
		}
		_, _ = io.Copy(io.Discard, &out)
	})
}
