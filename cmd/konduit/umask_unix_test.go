//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/konduit/konduit/internal/konnektive/fake"
)

// TestPrivateFilesUnderUmask0: with umask 0 (which the commands inherit),
// every file that holds card, bank or customer data is 0600 and every
// directory made for one 0700: tokenize's and detokenize's outputs, the
// vault and its key, convert's outputs, and the SQLite databases load and
// sync write (with their -wal and -shm files where SQLite left them;
// internal/store's TestSQLiteFilesArePrivate checks those while open).
func TestPrivateFilesUnderUmask0(t *testing.T) {
	old := syscall.Umask(0) // process-wide: this test must not run in parallel
	defer syscall.Umask(old)
	mode := func(path string, want os.FileMode) {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", path, st.Mode().Perm(), want)
		}
	}
	// A database and the SQLite files left beside it.
	database := func(path string) {
		t.Helper()
		mode(filepath.Dir(path), 0o700)
		mode(path, 0o600)
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(path + suffix); err == nil {
				mode(path+suffix, 0o600)
			}
		}
	}
	dir := t.TempDir()

	// tokenize, detokenize, the vault and its key.
	in := filepath.Join(dir, "legacy_transactions.csv")
	writeTransactions(t, in, 6)
	key := filepath.Join(dir, "vault.key")
	if r := runCLI(t, dir, nil, "tokenize", "--generate-key", "--vault-key-file", key); r.code != 0 {
		t.Fatalf("generate key: %d %s", r.code, r.stderr)
	}
	r := runCLI(t, dir, nil, "tokenize", "--vault", "cards.vault", "--vault-key-file", key, "-o", "tok/new", in)
	if r.code != 0 {
		t.Fatalf("tokenize: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "detokenize", "--vault", "cards.vault", "--vault-key-file", key, "-o", "plain", "tok/new/legacy_transactions.csv")
	if r.code != 0 {
		t.Fatalf("detokenize: %d %s", r.code, r.stderr)
	}
	mode(key, 0o600)
	mode(filepath.Join(dir, "cards.vault"), 0o600)
	mode(filepath.Join(dir, "tok"), 0o700)
	mode(filepath.Join(dir, "tok", "new"), 0o700)
	mode(filepath.Join(dir, "tok", "new", "legacy_transactions.csv"), 0o600)
	mode(filepath.Join(dir, "plain", "legacy_transactions.csv"), 0o600)

	// convert: the import files and the provenance.
	cdir, _, _ := convertFixture(t, 5)
	os.Mkdir(filepath.Join(cdir, "out"), 0o700)
	r = runCLI(t, cdir, nil, "convert", "--map", "map.yaml", "orders.csv", "cards.csv", "-o", "out", "--provenance", "prov.csv", "--no-validate")
	if r.code != 0 {
		t.Fatalf("convert: %d %s%s", r.code, r.stdout, r.stderr)
	}
	outs, _ := filepath.Glob(filepath.Join(cdir, "out", "*"))
	if len(outs) == 0 {
		t.Fatal("convert wrote nothing")
	}
	for _, p := range append(outs, filepath.Join(cdir, "prov.csv")) {
		mode(p, 0o600)
	}

	// load: a database in a directory it creates.
	if r := runCLI(t, dir, nil, "synth", "-o", "files", "--customers", "20", "--as-of", "2025-11-10", "--months", "2", "--timezone", "America/New_York"); r.code != 0 {
		t.Fatalf("synth: %d %s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "files", "*.csv"))
	r = runCLI(t, dir, nil, append([]string{"load", "--db", "sqlite:loaded/k.db", "--timezone", "America/New_York", "--name", "old-crm", "--as-of", "2025-11-10"}, files...)...)
	if r.code != 0 {
		t.Fatalf("load: %d %s", r.code, r.stderr)
	}
	database(filepath.Join(dir, "loaded", "k.db"))

	// sync, ad hoc, into a new database.
	url, _ := startCLIFake(t, 10, fake.Options{})
	r = runCLI(t, dir, []string{"KONNEKTIVE_PASSWORD=" + cliPassword}, "sync", "--db", "sqlite:synced/k.db", "--api-url", url,
		"--login-id", cliLogin, "--timezone", cliZone, "--from", fromDay(), "--rate", "0")
	if r.code != 0 {
		t.Fatalf("sync: %d %s%s", r.code, r.stdout, r.stderr)
	}
	database(filepath.Join(dir, "synced", "k.db"))
}
