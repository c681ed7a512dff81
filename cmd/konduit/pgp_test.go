package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gpgIn returns a function running gpg in a fresh GNUPGHOME. Without gpg
// the test fails in CI and skips elsewhere.
func gpgIn(t *testing.T) func(stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is required in CI (apt-get install -y gnupg)")
		}
		t.Skip("gpg not installed")
	}
	home, err := os.MkdirTemp("", "g") // short: gpg-agent's socket path is limited
	if err != nil {
		t.Fatal(err)
	}
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
		c.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			return nil, errors.New(err.Error() + ": " + errb.String())
		}
		return out.Bytes(), nil
	}
}

const testPGPPass = "pgp test passphrase"

var pgpEnv = []string{envPGPPassphrase + "=" + testPGPPass}

// cliKeygen makes a Curve25519 key pair with the CLI in dir.
func cliKeygen(t *testing.T, dir, prefix string) (pub, sec, fingerprint string) {
	t.Helper()
	r := runCLI(t, dir, pgpEnv, "pgp", "keygen", "--name", "Receiver", "--email", "recv@example.test", "--algo", "curve25519", "-o", prefix)
	if r.code != 0 {
		t.Fatalf("keygen: %d %s", r.code, r.stderr)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if f, ok := strings.CutPrefix(l, "fingerprint: "); ok {
			fingerprint = strings.ReplaceAll(f, " ", "")
		}
	}
	if len(fingerprint) != 40 {
		t.Fatalf("keygen printed no fingerprint: %s", r.stdout)
	}
	return filepath.Join(dir, prefix+".pub.asc"), filepath.Join(dir, prefix+".sec.asc"), fingerprint
}

func TestPGPCLIWithGnuPG(t *testing.T) {
	gpg := gpgIn(t)
	dir := t.TempDir()
	pub, sec, fpr := cliKeygen(t, dir, "recv")
	if st, _ := os.Stat(sec); st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %o", st.Mode().Perm())
	}
	r := runCLI(t, dir, nil, "pgp", "inspect", pub)
	if r.code != 0 || !strings.Contains(strings.ReplaceAll(r.stdout, " ", ""), fpr) || !strings.Contains(r.stdout, "cv25519") {
		t.Fatalf("inspect: %d %s", r.code, r.stdout)
	}
	in := filepath.Join(dir, "legacy_transactions.csv")
	sec2 := writeTransactions(t, in, 30)

	// konduit encrypts, gpg decrypts with the exported private key.
	r = runCLI(t, dir, nil, "pgp", "encrypt", "-r", pub, "--armor", in)
	if r.code != 0 || !strings.Contains(r.stderr, "encrypted to") {
		t.Fatalf("encrypt: %d %s", r.code, r.stderr)
	}
	secKey, _ := os.ReadFile(sec)
	if _, err := gpg(secKey, "--passphrase", testPGPPass, "--import"); err != nil {
		t.Fatal(err)
	}
	ct, _ := os.ReadFile(in + ".asc")
	plain, err := gpg(ct, "--passphrase", testPGPPass, "--decrypt")
	want, _ := os.ReadFile(in)
	if err != nil || !bytes.Equal(plain, want) {
		t.Fatalf("gpg --decrypt of konduit output: %v", err)
	}

	// gpg encrypts, konduit decrypts.
	ct, err = gpg(want, "-r", fpr, "--encrypt")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "from-gpg.csv.gpg"), ct, 0o644)
	r = runCLI(t, dir, pgpEnv, "pgp", "decrypt", "-k", sec, "from-gpg.csv.gpg")
	if r.code != 0 || !strings.Contains(r.stdout, "integrity verified") {
		t.Fatalf("decrypt: %d %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "from-gpg.csv"))
	if !bytes.Equal(got, want) {
		t.Fatal("konduit decrypted gpg's message wrongly")
	}
	if st, _ := os.Stat(filepath.Join(dir, "from-gpg.csv")); st.Mode().Perm() != 0o600 {
		t.Fatalf("decrypted file mode %o, want 600", st.Mode().Perm())
	}

	// A modified message fails and leaves no output file.
	ct[len(ct)-30] ^= 0x40
	os.WriteFile(filepath.Join(dir, "bad.csv.gpg"), ct, 0o644)
	r = runCLI(t, dir, pgpEnv, "pgp", "decrypt", "-k", sec, "bad.csv.gpg")
	if r.code == 0 {
		t.Fatal("a modified message decrypted")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.csv")); err == nil {
		t.Fatal("a failed decrypt left bad.csv behind")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".bad.csv.tmp-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	// Without the passphrase (and no terminal) decrypt says what to do.
	r = runCLI(t, dir, []string{envPGPPassphrase + "="}, "pgp", "decrypt", "-k", sec, "-o", "x.csv", "from-gpg.csv.gpg")
	if r.code != exitUsage || !strings.Contains(r.stderr, envPGPPassphrase) {
		t.Fatalf("no passphrase: %d %s", r.code, r.stderr)
	}
	// Everything the commands wrote, minus the plaintext files this test
	// asked for, holds no card number.
	os.Remove(filepath.Join(dir, "from-gpg.csv"))
	os.Remove(in)
	scanForSecrets(t, sec2.all(), r.stdout+r.stderr, dir)
}

func TestPGPCLIUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"pgp", "encrypt", "x"},
		{"pgp", "decrypt", "x.pgp"},
		{"pgp", "keygen", "-o", "k"},
		{"pgp", "keygen", "--name", "n", "--algo", "dsa", "-o", "k"},
	} {
		if r := runCLI(t, dir, pgpEnv, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, r.code, exitUsage, r.stderr)
		}
	}
}

// TestPGPKeygenCommentRefused: a name with a comment in parentheses (which
// the OpenPGP library rejects with a bare "invalid argument") is refused
// before anything is asked or written, with a message naming the character.
func TestPGPKeygenCommentRefused(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--name", "Acme Payments (card data)", "--email", "ops@example.test"},
		{"--name", "Acme", "--email", "<ops@example.test>"},
	} {
		r := runCLI(t, dir, pgpEnv, append(append([]string{"pgp", "keygen"}, args...), "-o", "k")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "OpenPGP user ids reserve ( ) < >") || strings.Contains(r.stderr, "invalid argument") {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%v: wrote %v", args, ents)
		}
	}
}

// TestPGPDecryptRefusesHugeArmorHeader: a dropped file with a 4 MiB armor
// header line (about 50 s in the OpenPGP library unguarded) is refused at
// once, with a message and a hint, and leaves no output.
func TestPGPDecryptRefusesHugeArmorHeader(t *testing.T) {
	dir := t.TempDir()
	_, sec, _ := cliKeygen(t, dir, "recv")
	msg := "-----BEGIN PGP MESSAGE-----\nComment: " + strings.Repeat("A", 4<<20) + "\n\nwcBMA\n-----END PGP MESSAGE-----\n"
	if err := os.WriteFile(filepath.Join(dir, "drop.csv.asc"), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := runCLI(t, dir, pgpEnv, "pgp", "decrypt", "-k", sec, "drop.csv.asc")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("refused after %v", took)
	}
	if r.code != exitUsage || !strings.Contains(r.stderr, "armor header line 2 is longer than 8192 bytes") || !strings.Contains(r.stderr, "encrypt the file again") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*drop.csv*")); len(left) != 1 {
		t.Fatalf("files left: %v", left)
	}
}
