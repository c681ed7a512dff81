package pgp

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

var (
	keyOnce sync.Once
	keys    map[Algorithm]*Key
	keyErr  error
)

const testPass = "correct horse battery staple"

// testKeys generates one locked key per algorithm, once per test binary.
func testKeys(t testing.TB) map[Algorithm]*Key {
	t.Helper()
	keyOnce.Do(func() {
		keys = map[Algorithm]*Key{}
		for _, alg := range []Algorithm{RSA4096, Curve25519} {
			k, err := Generate(GenerateOptions{Name: "Receiver " + string(alg), Email: "receiver@example.test", Algorithm: alg, Passphrase: []byte(testPass)})
			if err != nil {
				keyErr = err
				return
			}
			keys[alg] = k
		}
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return keys
}

func unlocked(t *testing.T, k *Key) *Key {
	t.Helper()
	u, err := k.Unlock([]byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestGenerateKinds(t *testing.T) {
	for alg, k := range testKeys(t) {
		info := k.Info()
		if info.Version != 4 {
			t.Errorf("%s: key version %d, want 4", alg, info.Version)
		}
		if !info.Private || !info.Locked {
			t.Errorf("%s: private %v locked %v, want both", alg, info.Private, info.Locked)
		}
		if len(info.Subkeys) != 1 || !strings.Contains(info.Subkeys[0].Usage, "encrypt") {
			t.Errorf("%s: subkeys %+v, want one encryption subkey", alg, info.Subkeys)
		}
		if len(k.Fingerprint()) != 40 {
			t.Errorf("%s: fingerprint %q", alg, k.Fingerprint())
		}
		want := map[Algorithm]string{RSA4096: "rsa", Curve25519: "ed25519"}[alg]
		if info.Primary.Algorithm != want {
			t.Errorf("%s: primary algorithm %s, want %s", alg, info.Primary.Algorithm, want)
		}
		if alg == RSA4096 && info.Primary.Bits != 4096 {
			t.Errorf("rsa key has %d bits", info.Primary.Bits)
		}
	}
}

func TestUnlockWrongPassphrase(t *testing.T) {
	k := testKeys(t)[Curve25519]
	if _, err := k.Unlock([]byte("wrong")); err == nil {
		t.Fatal("unlock with a wrong passphrase succeeded")
	}
	var out bytes.Buffer
	_, err := Decrypt(context.Background(), &out, strings.NewReader("x"), k, DecryptOptions{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("decrypt with a locked key: %v, want ErrLocked", err)
	}
}

func TestRoundTrip(t *testing.T) {
	plain := make([]byte, 3<<20+17)
	rand.Read(plain[:1<<20]) // part random, part compressible
	for alg, k := range testKeys(t) {
		for _, tc := range []struct {
			name string
			opts EncryptOptions
		}{
			{"armored", EncryptOptions{Armor: true}},
			{"binary", EncryptOptions{}},
			{"uncompressed", EncryptOptions{NoCompress: true}},
		} {
			t.Run(string(alg)+"/"+tc.name, func(t *testing.T) {
				var ct bytes.Buffer
				n, err := Encrypt(context.Background(), &ct, bytes.NewReader(plain), []*Key{k}, tc.opts)
				if err != nil || n != int64(len(plain)) {
					t.Fatalf("encrypt: n=%d err=%v", n, err)
				}
				if IsArmored(ct.Bytes()) != tc.opts.Armor {
					t.Fatalf("armored output %v, want %v", IsArmored(ct.Bytes()), tc.opts.Armor)
				}
				var pt bytes.Buffer
				res, err := Decrypt(context.Background(), &pt, &ct, unlocked(t, k), DecryptOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Bytes != int64(len(plain)) || !bytes.Equal(pt.Bytes(), plain) {
					t.Fatalf("round trip differs: got %d bytes", res.Bytes)
				}
			})
		}
	}
}

func TestTamperedMessageFails(t *testing.T) {
	k := testKeys(t)[Curve25519]
	var ct bytes.Buffer
	if _, err := Encrypt(context.Background(), &ct, strings.NewReader(strings.Repeat("row,of,data\n", 1000)), []*Key{k}, EncryptOptions{NoCompress: true}); err != nil {
		t.Fatal(err)
	}
	b := ct.Bytes()
	b[len(b)-40] ^= 0x01
	_, err := Decrypt(context.Background(), io.Discard, bytes.NewReader(b), unlocked(t, k), DecryptOptions{})
	if err == nil {
		t.Fatal("a modified message decrypted without error")
	}
}

func TestDecryptCapsPlaintext(t *testing.T) {
	k := testKeys(t)[Curve25519]
	for _, compress := range []bool{true, false} {
		var ct bytes.Buffer
		if _, err := Encrypt(context.Background(), &ct, io.LimitReader(zeros{}, 4<<20), []*Key{k}, EncryptOptions{NoCompress: !compress}); err != nil {
			t.Fatal(err)
		}
		_, err := Decrypt(context.Background(), io.Discard, &ct, unlocked(t, k), DecryptOptions{MaxSize: 1 << 20})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("compress=%v: err %v, want ErrTooLarge", compress, err)
		}
	}
}

// TestCompressionBomb: a message of about 3 MiB that inflates to 3 GiB of
// zeros. Decrypting it with the default cap must stop at the cap, in bounded
// memory.
func TestCompressionBomb(t *testing.T) {
	k := testKeys(t)[Curve25519]
	bomb := bombMessage(t, k, 3<<30)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := Decrypt(context.Background(), io.Discard, bytes.NewReader(bomb), unlocked(t, k), DecryptOptions{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: err %v after %d bytes, want ErrTooLarge", err, n.Bytes)
	}
	if n.Bytes > DefaultMinCap+1 {
		t.Fatalf("read %d bytes past a cap of %d", n.Bytes, DefaultMinCap)
	}
	if after.HeapInuse > before.HeapInuse+64<<20 {
		t.Fatalf("heap grew from %d to %d bytes while decrypting a bomb", before.HeapInuse, after.HeapInuse)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// bombMessage builds, by hand, a message to k whose compressed packet
// inflates to a literal data packet of size zero bytes. Deflate blocks of
// zeros after a sync flush repeat byte for byte, so the stream is built from
// one block copied many times (its checksum is wrong, but the cap must fire
// long before the end).
func bombMessage(t *testing.T, k *Key, size uint32) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	litLen := size + 6
	zw.Write([]byte{0xc0 | 11, 0xff, byte(litLen >> 24), byte(litLen >> 16), byte(litLen >> 8), byte(litLen), 'b', 0, 0, 0, 0, 0})
	mib := make([]byte, 1<<20)
	zw.Write(mib)
	zw.Flush()
	head := z.Len()
	zw.Write(mib)
	zw.Flush()
	block := append([]byte(nil), z.Bytes()[head:]...)
	var stream bytes.Buffer
	stream.Write(z.Bytes()[:head])
	for i := 1; i < int(size>>20); i++ {
		stream.Write(block)
	}
	var inner bytes.Buffer
	n := stream.Len() + 1
	inner.Write([]byte{0xc0 | 8, 0xff, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), 2})
	inner.Write(stream.Bytes())

	cfg := &packet.Config{DefaultCipher: packet.CipherAES256}
	key := make([]byte, 32)
	rand.Read(key)
	var out bytes.Buffer
	sub := k.k.GetEntity().Subkeys[0].PublicKey
	if err := packet.SerializeEncryptedKeyAEAD(&out, sub, packet.CipherAES256, false, key, cfg); err != nil {
		t.Fatal(err)
	}
	w, err := packet.SerializeSymmetricallyEncrypted(&out, packet.CipherAES256, false, packet.CipherSuite{}, key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(inner.Bytes())
	w.Close()
	return out.Bytes()
}

func TestFormatFingerprint(t *testing.T) {
	got := FormatFingerprint("0123456789ABCDEF0123456789ABCDEF01234567")
	want := "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567"
	if got != want {
		t.Fatalf("FormatFingerprint = %q, want %q", got, want)
	}
}

// --- GnuPG interop -------------------------------------------------------

// gpgHome returns a fresh GNUPGHOME and a function that runs gpg in it.
func gpgHome(t *testing.T) func(stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is required in CI: apt-get install -y gnupg")
		}
		t.Skip("gpg not installed")
	}
	// A short path: gpg-agent's socket path has a length limit.
	home, err := os.MkdirTemp("", "g")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	env := append(os.Environ(), "GNUPGHOME="+home)
	t.Cleanup(func() {
		c := exec.Command("gpgconf", "--kill", "all")
		c.Env = env
		c.Run()
		os.RemoveAll(home)
	})
	return func(stdin []byte, args ...string) ([]byte, error) {
		c := exec.Command("gpg", append([]string{"--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", "--trust-model", "always"}, args...)...)
		c.Env = env
		c.Dir = home
		if stdin != nil {
			c.Stdin = bytes.NewReader(stdin)
		}
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			return out.Bytes(), errors.New(err.Error() + ": " + errb.String())
		}
		return out.Bytes(), nil
	}
}

func TestGnuPGReadsOurKeysAndMessages(t *testing.T) {
	plain := []byte(strings.Repeat("customerId,orderId\n", 5000))
	for alg, k := range testKeys(t) {
		t.Run(string(alg), func(t *testing.T) {
			gpg := gpgHome(t)
			var priv bytes.Buffer
			if err := k.WritePrivate(&priv, true); err != nil {
				t.Fatal(err)
			}
			if _, err := gpg(priv.Bytes(), "--passphrase", testPass, "--import"); err != nil {
				t.Fatalf("gpg --import our key: %v", err)
			}
			list, err := gpg(nil, "--with-colons", "--list-secret-keys")
			if err != nil || !strings.Contains(string(list), k.Fingerprint()) {
				t.Fatalf("gpg does not list our fingerprint: %v\n%s", err, list)
			}
			for _, armor := range []bool{true, false} {
				var ct bytes.Buffer
				if _, err := Encrypt(context.Background(), &ct, bytes.NewReader(plain), []*Key{k}, EncryptOptions{Armor: armor, FileName: "x.csv"}); err != nil {
					t.Fatal(err)
				}
				pkts, err := gpg(ct.Bytes(), "--passphrase", testPass, "--list-packets")
				if err != nil {
					t.Fatalf("gpg --list-packets: %v", err)
				}
				if !strings.Contains(string(pkts), "mdc_method: 2") {
					t.Fatalf("message is not SEIPDv1 with MDC:\n%s", pkts)
				}
				out, err := gpg(ct.Bytes(), "--passphrase", testPass, "--decrypt")
				if err != nil {
					t.Fatalf("gpg --decrypt (armor=%v): %v", armor, err)
				}
				if !bytes.Equal(out, plain) {
					t.Fatalf("gpg decrypted %d bytes, want %d", len(out), len(plain))
				}
			}
		})
	}
}

func TestWeReadGnuPGKeysAndMessages(t *testing.T) {
	gpg := gpgHome(t)
	plain := []byte(strings.Repeat("a,b,c\n", 10000))
	for _, algo := range []string{"rsa4096", "future-default"} {
		uid := "GPG " + algo + " <gpg-" + algo + "@example.test>"
		if algo == "rsa4096" {
			if _, err := gpg(nil, "--passphrase", testPass, "--quick-gen-key", uid, algo, "sign,cert", "never"); err != nil {
				t.Fatalf("gpg keygen: %v", err)
			}
			fpr, err := gpg(nil, "--with-colons", "--list-keys", uid)
			if err != nil {
				t.Fatal(err)
			}
			f := fingerprintFromColons(string(fpr))
			if _, err := gpg(nil, "--passphrase", testPass, "--quick-add-key", f, "rsa4096", "encr", "never"); err != nil {
				t.Fatalf("gpg add subkey: %v", err)
			}
		} else if _, err := gpg(nil, "--passphrase", testPass, "--quick-gen-key", uid, algo, "default", "never"); err != nil {
			t.Fatalf("gpg keygen: %v", err)
		}
		pub, err := gpg(nil, "--armor", "--export", uid)
		if err != nil {
			t.Fatal(err)
		}
		sec, err := gpg(nil, "--passphrase", testPass, "--export-secret-keys", uid)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := ReadKey(bytes.NewReader(pub))
		if err != nil {
			t.Fatalf("read gpg public key: %v", err)
		}
		sk, err := ReadKey(bytes.NewReader(sec))
		if err != nil {
			t.Fatalf("read gpg secret key (binary): %v", err)
		}
		if !sk.IsLocked() {
			t.Fatal("gpg's exported secret key should be locked")
		}
		usk := unlocked(t, sk)
		// gpg encrypts, we decrypt.
		path := filepath.Join(t.TempDir(), "p.csv")
		os.WriteFile(path, plain, 0o600)
		for _, armor := range []string{"--armor", "--no-armor"} {
			ct, err := gpg(nil, armor, "-r", pk.Fingerprint(), "--encrypt", "-o", "-", path)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := Decrypt(context.Background(), &out, bytes.NewReader(ct), usk, DecryptOptions{}); err != nil {
				t.Fatalf("%s %s: decrypt gpg message: %v", algo, armor, err)
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("%s: decrypted text differs", algo)
			}
		}
		// We encrypt to gpg's public key, gpg decrypts.
		var ct bytes.Buffer
		if _, err := Encrypt(context.Background(), &ct, bytes.NewReader(plain), []*Key{pk}, EncryptOptions{Armor: true}); err != nil {
			t.Fatal(err)
		}
		out, err := gpg(ct.Bytes(), "--passphrase", testPass, "--decrypt")
		if err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("%s: gpg decrypt of our message: %v", algo, err)
		}
	}
}

func TestRefusesMessageWithoutIntegrity(t *testing.T) {
	gpg := gpgHome(t)
	k := testKeys(t)[RSA4096]
	var pub bytes.Buffer
	k.WritePublic(&pub, true)
	if _, err := gpg(pub.Bytes(), "--import"); err != nil {
		t.Fatal(err)
	}
	// --rfc2440 makes GnuPG write a symmetrically encrypted packet without
	// a modification detection code (tag 9).
	ct, err := gpg([]byte("secret rows\n"), "--rfc2440", "--cipher-algo", "AES256", "-r", k.Fingerprint(), "--encrypt")
	if err != nil {
		t.Fatal(err)
	}
	pkts, _ := gpg(ct, "--list-packets")
	if !strings.Contains(string(pkts), "tag=9") {
		t.Fatalf("fixture is not a tag 9 packet:\n%s", pkts)
	}
	var out bytes.Buffer
	_, err = Decrypt(context.Background(), &out, bytes.NewReader(ct), unlocked(t, k), DecryptOptions{})
	if !errors.Is(err, ErrNoIntegrity) {
		t.Fatalf("err %v, want ErrNoIntegrity", err)
	}
	if out.Len() != 0 {
		t.Fatalf("%d plaintext bytes leaked from an unprotected message", out.Len())
	}
}

func TestDecryptCancelled(t *testing.T) {
	k := testKeys(t)[Curve25519]
	var ct bytes.Buffer
	if _, err := Encrypt(context.Background(), &ct, io.LimitReader(zeros{}, 1<<20), []*Key{k}, EncryptOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Decrypt(ctx, io.Discard, &ct, unlocked(t, k), DecryptOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// fingerprintFromColons returns the first fpr record of gpg --with-colons.
func fingerprintFromColons(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9]
		}
	}
	return ""
}

func TestTwoRecipients(t *testing.T) {
	ks := testKeys(t)
	var ct bytes.Buffer
	plain := []byte("customerId\nC1\n")
	if _, err := Encrypt(context.Background(), &ct, bytes.NewReader(plain), []*Key{ks[RSA4096], ks[Curve25519]}, EncryptOptions{Armor: true}); err != nil {
		t.Fatal(err)
	}
	for alg, k := range ks {
		var out bytes.Buffer
		if _, err := Decrypt(context.Background(), &out, bytes.NewReader(ct.Bytes()), unlocked(t, k), DecryptOptions{}); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("%s cannot decrypt a message to two recipients: %v", alg, err)
		}
	}
	if _, err := Encrypt(context.Background(), io.Discard, bytes.NewReader(plain), nil, EncryptOptions{}); err == nil {
		t.Fatal("encrypting to nobody succeeded")
	}
}

func TestGenerateRefusesReservedCharacters(t *testing.T) {
	for _, c := range []struct{ name, email string }{{"Ann (work)", "a@example.test"}, {"Ann", "Ann <a@example.test>"}, {"A>b", ""}, {"", ""}} {
		_, err := Generate(GenerateOptions{Name: c.name, Email: c.email, Algorithm: Curve25519})
		if err == nil || !strings.HasPrefix(err.Error(), "generate key: ") {
			t.Errorf("%q %q: %v", c.name, c.email, err)
		}
	}
	if err := CheckUserID("Ann Example", "ann@example.test"); err != nil {
		t.Error(err)
	}
}
