//go:build unix

package vault

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// setUmask sets the process's umask and returns the old one. The umask is
// process-wide: tests that use it must not run in parallel.
func setUmask(m int) int { return syscall.Umask(m) }

// TestVaultModeUnderUmask0: the vault is 0600 whatever the umask.
func TestVaultModeUnderUmask0(t *testing.T) {
	old := setUmask(0)
	defer setUmask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "v")
	v, err := Open(path, Options{Key: testKey(t), Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.Tokenize(Card, cardNumber(t, 16))
	if err := v.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".lock"} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", filepath.Base(p), st.Mode().Perm(), err)
		}
	}
}
