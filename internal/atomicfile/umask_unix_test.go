//go:build unix

package atomicfile

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestModeIgnoresUmask: the mode is exact whatever the umask, and 0600
// unless the caller asks for another.
func TestModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0) // process-wide: this test must not run in parallel
	defer syscall.Umask(old)
	dir := t.TempDir()
	for _, tc := range []struct {
		perm, want os.FileMode
	}{{0, 0o600}, {0o600, 0o600}, {0o644, 0o644}} {
		path := filepath.Join(dir, fmt.Sprintf("f%o", tc.perm))
		if err := Write(context.Background(), path, Options{Perm: tc.perm}, func(w io.Writer) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != tc.want {
			t.Errorf("Perm %o: mode %v, %v; want %o", tc.perm, st.Mode().Perm(), err, tc.want)
		}
	}
}
