package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/konduit/konduit/internal/cardnum"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/shipment"
	"github.com/konduit/konduit/internal/vault"
)

// digitRun is a run of 13 to 19 digits, possibly split by single spaces or
// dashes, standing alone (no letter or digit right before or after it).
var digitRun = regexp.MustCompile(`(^|[^0-9A-Za-z])([0-9](?:[ -]?[0-9]){12,18})($|[^0-9A-Za-z])`)

// luhnRuns returns the masked Luhn-valid card-like runs in b.
func luhnRuns(b []byte) []string {
	var found []string
	for _, m := range digitRun.FindAllSubmatch(b, -1) {
		d := strings.NewReplacer(" ", "", "-", "").Replace(string(m[2]))
		if len(d) >= 13 && len(d) <= 19 && cardnum.Luhn(d) {
			found = append(found, "****"+d[len(d)-4:])
		}
	}
	return found
}

// scanForSecrets fails the test when text, or any file under paths (files
// or directories, walked), holds one of the secrets or a Luhn-valid card
// number. It prints at most last fours.
func scanForSecrets(t testing.TB, secrets []string, text string, paths ...string) {
	t.Helper()
	check := func(where string, b []byte) {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a canary number (last four %s)", where, s[len(s)-4:])
			}
		}
		if runs := luhnRuns(b); len(runs) > 0 {
			t.Errorf("%s holds %d Luhn-valid card-like numbers, e.g. %s", where, len(runs), runs[0])
		}
	}
	check("output text", []byte(text))
	for _, p := range paths {
		filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err == nil {
				check(path, b)
			}
			return nil
		})
	}
}

func TestScannerFindsCards(t *testing.T) {
	card := luhnNumber(t, "4", 16)
	for _, text := range []string{
		"x " + card + " y",
		`"` + card + `"`,
		card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:],
		card[:4] + "-" + card[4:8] + "-" + card[8:12] + "-" + card[12:],
	} {
		if len(luhnRuns([]byte(text))) != 1 {
			t.Errorf("scanner missed a card in %q", legacyMaskAll(text))
		}
	}
	if len(luhnRuns([]byte("ab"+card+"cd"))) != 0 {
		t.Error("a run inside a word (hex) should not count")
	}
}

// legacyMaskAll masks every digit but the last four of a string.
func legacyMaskAll(s string) string {
	b := []byte(s)
	n := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] >= '0' && b[i] <= '9' {
			if n >= 4 {
				b[i] = '*'
			}
			n++
		}
	}
	return string(b)
}

// cardFlow is a working directory with a vault, keys and a tokenized file.
type cardFlow struct {
	dir, in, tokenized, pub, sec, fpr string
	env                               []string
	secrets                           canaries
}

func newCardFlow(t *testing.T, rows int) *cardFlow {
	t.Helper()
	dir := t.TempDir()
	f := &cardFlow{dir: dir}
	tmp := filepath.Join(dir, "tmp")
	os.MkdirAll(filepath.Join(dir, "input"), 0o700)
	os.MkdirAll(tmp, 0o700)
	f.in = filepath.Join(dir, "input", "legacy_transactions.csv")
	f.secrets = writeTransactions(t, f.in, rows)
	k, _ := vault.NewKey()
	f.env = append([]string{envVaultKey + "=" + k.String(), "TMPDIR=" + tmp}, pgpEnv...)
	f.pub, f.sec, f.fpr = cliKeygen(t, dir, "recv")
	r := runCLI(t, dir, f.env, "tokenize", "--vault", "vault.db", "-o", "tok", f.in)
	if r.code != 0 {
		t.Fatalf("tokenize: %d %s", r.code, r.stderr)
	}
	f.tokenized = filepath.Join(dir, "tok", "legacy_transactions.csv")
	return f
}

func TestPackageCLIToDirectoryAndSFTP(t *testing.T) {
	f := newCardFlow(t, 40)
	var out strings.Builder
	r := runCLI(t, f.dir, f.env, "package", "--vault", "vault.db", "-r", f.pub, "-o", "ship", f.tokenized)
	out.WriteString(r.stdout + r.stderr)
	before := time.Now().UTC().Format("2006-01-02")
	if r.code != 0 || !strings.Contains(r.stdout, "validated: 0 errors") || !strings.Contains(r.stdout, "40 rows, 40 numbers restored") {
		t.Fatalf("package: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Without --as-of the date rules run as of today, in UTC, and say so.
	if after := time.Now().UTC().Format("2006-01-02"); !strings.Contains(r.stdout, "date rules as of "+before+" (today in UTC") && !strings.Contains(r.stdout, "date rules as of "+after+" (today in UTC") {
		t.Fatalf("package without --as-of: %s", r.stdout)
	}
	var m shipment.Manifest
	mb, err := os.ReadFile(filepath.Join(f.dir, "ship", shipment.ManifestName))
	if err != nil || json.Unmarshal(mb, &m) != nil || m.Recipients[0].Fingerprint != f.fpr || m.Files[0].Rows != 40 || m.Validation.AsOf == "" {
		t.Fatalf("manifest: %v %s", err, mb)
	}
	// The receiver decrypts and gets the original file back.
	r = runCLI(t, f.dir, f.env, "pgp", "decrypt", "-k", f.sec, "-o", "input/received.csv", "ship/legacy_transactions.csv.pgp")
	if r.code != 0 {
		t.Fatalf("decrypt: %d %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(f.dir, "input", "received.csv"))
	want, _ := os.ReadFile(f.in)
	if !bytes.Equal(got, want) {
		t.Fatal("the packaged file does not decrypt to the original")
	}
	if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != m.Files[0].PlaintextSHA256 {
		t.Fatal("manifest plaintext checksum differs")
	}

	// The same over SFTP into a drop box.
	srv := startServe(t, f.dir, "--upload-only")
	os.WriteFile(filepath.Join(f.dir, "pw"), []byte("s3cret drop box pw"), 0o600)
	r = runCLI(t, f.dir, f.env, "package", "--vault", "vault.db", "-r", f.pub, "--armor",
		"--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--host-key-fingerprint", srv.fingerprint,
		"--password-file", "pw", "--remote-dir", "/", f.tokenized)
	out.WriteString(r.stdout + r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, "sftp://127.0.0.1:"+srv.port+"/legacy_transactions.csv.asc") {
		t.Fatalf("package over sftp: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, name := range []string{"legacy_transactions.csv.asc", shipment.ManifestName} {
		if _, err := os.Stat(filepath.Join(srv.root, name)); err != nil {
			t.Fatalf("drop box lacks %s", name)
		}
	}
	// A relative --remote-dir is under the login's home ("/" in the drop
	// box); the location is a well-formed URL with the port.
	os.MkdirAll(filepath.Join(srv.root, "incoming"), 0o700)
	r = runCLI(t, f.dir, f.env, "package", "--vault", "vault.db", "-r", f.pub, "--as-of", "2025-06-30",
		"--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--host-key-fingerprint", srv.fingerprint,
		"--password-file", "pw", "--remote-dir", "incoming", f.tokenized)
	out.WriteString(r.stdout + r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, " -> sftp://127.0.0.1:"+srv.port+"/incoming/legacy_transactions.csv.pgp\n") || !strings.Contains(r.stdout, "as of 2025-06-30 (--as-of)") {
		t.Fatalf("package over sftp into a relative directory: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(srv.root, "incoming", "legacy_transactions.csv.pgp")); err != nil {
		t.Fatal("drop box lacks incoming/legacy_transactions.csv.pgp")
	}
	scanForSecrets(t, f.secrets.all(), out.String(), filepath.Join(f.dir, "ship"), filepath.Join(f.dir, "tmp"), srv.root)
}

func TestPackageCLIStopsOnValidationErrors(t *testing.T) {
	f := newCardFlow(t, 10)
	// Break one amount in the tokenized file: totalAmount no longer adds up.
	b, _ := os.ReadFile(f.tokenized)
	b = bytes.Replace(b, []byte(`"24.99"`), []byte(`"99.99"`), 1)
	os.WriteFile(f.tokenized, b, 0o600)
	r := runCLI(t, f.dir, f.env, "package", "--vault", "vault.db", "-r", f.pub, "-o", "ship", f.tokenized)
	if r.code != exitDataErrors || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.dir, "ship")); len(entries) != 0 {
		t.Fatalf("files were shipped despite errors: %v", entries)
	}
	scanForSecrets(t, f.secrets.all(), r.stdout+r.stderr, filepath.Join(f.dir, "tmp"))
}

// TestCardCommandsLeakNothing runs every command of the card data flow with
// canary numbers and scans all they printed and wrote, the temporary
// directory included. Files that hold plaintext by request (pgp decrypt and
// detokenize outputs) are checked for correctness, then removed before the
// scan; the test's own input is not scanned.
func TestCardCommandsLeakNothing(t *testing.T) {
	f := newCardFlow(t, 60)
	var out strings.Builder
	run := func(want int, args ...string) cliResult {
		t.Helper()
		r := runCLI(t, f.dir, f.env, args...)
		out.WriteString(r.stdout + r.stderr)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d: %s", args, r.code, want, r.stderr)
		}
		return r
	}
	orig, _ := os.ReadFile(f.in)
	os.MkdirAll(filepath.Join(f.dir, "work"), 0o700)
	os.MkdirAll(filepath.Join(f.dir, "plain"), 0o700)
	run(0, "pgp", "inspect", f.pub, f.sec)
	run(0, "pgp", "encrypt", "-r", f.pub, "-o", "work/tok.pgp", f.tokenized)
	run(0, "pgp", "encrypt", "-r", f.pub, "--armor", "-o", "work/plain.asc", f.in)
	run(0, "pgp", "decrypt", "-k", f.sec, "-o", "plain/dec.csv", "work/plain.asc")
	run(0, "detokenize", "--vault", "vault.db", "-o", "plain", f.tokenized)
	for _, p := range []string{"plain/dec.csv", "plain/legacy_transactions.csv"} {
		if b, _ := os.ReadFile(filepath.Join(f.dir, p)); !bytes.Equal(b, orig) {
			t.Fatalf("%s does not match the original", p)
		}
	}
	os.RemoveAll(filepath.Join(f.dir, "plain"))
	// A bad value: reported by position, masked.
	os.WriteFile(filepath.Join(f.dir, "input", "bad.csv"), []byte("\"cardNumber\"\n\"X"+f.secrets.cards[0]+"\"\n"), 0o600)
	run(exitDataErrors, "tokenize", "--vault", "vault.db", "-o", "work", "input/bad.csv")

	srv := startServe(t, f.dir)
	os.WriteFile(filepath.Join(f.dir, "pw"), []byte("s3cret drop box pw"), 0o600)
	conn := []string{"--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--host-key-fingerprint", srv.fingerprint, "--password-file", "pw"}
	run(0, append(append([]string{"sftp", "put"}, conn...), "work/plain.asc", "/plain.asc")...)
	run(0, append(append([]string{"sftp", "get"}, conn...), "/plain.asc", "work/back.asc")...)
	os.WriteFile(filepath.Join(f.dir, "aoc.pdf"), []byte("%PDF"), 0o644)
	run(0, "kit", "--public-key", f.pub, "--aoc", "aoc.pdf", "--host", "127.0.0.1", "--port", srv.port, "--user", "processor",
		"--host-key-fingerprint", srv.fingerprint, "-o", "work/kit.zip")
	run(0, "package", "--vault", "vault.db", "-r", f.pub, "-o", "ship", f.tokenized)
	run(0, append(append([]string{"package", "--vault", "vault.db", "-r", f.pub, "--remote-dir", "/"}, conn...), f.tokenized)...)

	var paths []string
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if e.Name() != "input" {
			paths = append(paths, filepath.Join(f.dir, e.Name()))
		}
	}
	scanForSecrets(t, f.secrets.all(), out.String()+srv.stdout.String(), paths...)
}

// bigCopy writes a file of the header of src and its body repeated n times.
func bigCopy(t *testing.T, src, dst string, n int) {
	t.Helper()
	b, _ := os.ReadFile(src)
	i := bytes.IndexByte(b, '\n') + 1
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b[:i])
	for range n {
		out.Write(b[i:])
	}
	out.Close()
}

// killAt runs konduit with a failpoint armed: the process kills itself
// with SIGKILL when it reaches point (atomicfile.filled: an output is
// complete but not yet named; transfer.written: an upload is complete but not
// yet renamed). The test fails unless the process died of that signal.
func killAt(t *testing.T, f *cardFlow, point string, args ...string) {
	t.Helper()
	r := runCLI(t, f.dir, append(f.env[:len(f.env):len(f.env)], failpoint.Env+"="+point), args...)
	if r.signal != syscall.SIGKILL {
		t.Fatalf("%v: not killed at %s (exit %d)\n%s", args, point, r.code, r.stderr)
	}
}

func TestKillMidwayLeavesNoFinalFile(t *testing.T) {
	f := newCardFlow(t, 60)
	bigPlain := filepath.Join(f.dir, "input", "big.csv")
	bigTok := filepath.Join(f.dir, "tok", "big.csv")
	bigCopy(t, f.in, bigPlain, 20)
	bigCopy(t, f.tokenized, bigTok, 20)

	killAt(t, f, "atomicfile.filled", "tokenize", "--vault", "vault.db", "-o", "tok2", bigPlain)
	killAt(t, f, "atomicfile.filled", "package", "--no-validate", "--vault", "vault.db", "-r", f.pub, "-o", "ship", bigTok)
	os.MkdirAll(filepath.Join(f.dir, "enc"), 0o700)
	killAt(t, f, "atomicfile.filled", "pgp", "encrypt", "-r", f.pub, "-o", "enc/big.csv.pgp", bigPlain)
	// An upload killed midway leaves only its .part file in the drop box.
	srv := startServe(t, f.dir)
	os.WriteFile(filepath.Join(f.dir, "pw"), []byte("s3cret drop box pw"), 0o600)
	killAt(t, f, "transfer.written", "package", "--no-validate", "--vault", "vault.db", "-r", f.pub,
		"--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--host-key-fingerprint", srv.fingerprint,
		"--password-file", "pw", "--remote-dir", "/", bigTok)
	if _, err := os.Stat(filepath.Join(srv.root, "big.csv.pgp")); err == nil {
		t.Error("a killed upload appeared under its final name")
	}
	scanForSecrets(t, f.secrets.all(), "", srv.root)
	for _, p := range []string{"tok2/big.csv", "ship/big.csv.pgp", "ship/manifest.json", "enc/big.csv.pgp"} {
		if _, err := os.Stat(filepath.Join(f.dir, p)); err == nil {
			t.Errorf("%s exists after a kill", p)
		}
	}
	// What a kill leaves behind (hidden temporary files) holds no plaintext
	// card number: tokens in tokenize's, ciphertext in package's and pgp's.
	scanForSecrets(t, f.secrets.all(), "", filepath.Join(f.dir, "tok2"), filepath.Join(f.dir, "ship"), filepath.Join(f.dir, "enc"), filepath.Join(f.dir, "tmp"))
	// The vault is intact after the kill: a re-run completes with the same tokens.
	r := runCLI(t, f.dir, f.env, "tokenize", "--vault", "vault.db", "-o", "tok3", f.in)
	a, _ := os.ReadFile(f.tokenized)
	b, _ := os.ReadFile(filepath.Join(f.dir, "tok3", "legacy_transactions.csv"))
	if r.code != 0 || !bytes.Equal(a, b) {
		t.Fatalf("re-run after kill: %d %s", r.code, r.stderr)
	}
}
