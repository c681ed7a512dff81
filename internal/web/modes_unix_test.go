//go:build unix

package web

import (
	"io/fs"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPrivateModes: whatever the umask (none, or one that would take the
// owner's write bit), the uploads' directory and every directory under it
// are 0700, every file 0600: the lock, the uploads, the fixed files, the
// change log.
func TestPrivateModes(t *testing.T) {
	for _, mask := range []int{0, 0o277} {
		dir, names := brokenFiles(t)
		tx := filepath.Join(dir, names[0])
		old := -1
		restore := func() {
			if old >= 0 {
				syscall.Umask(old)
				old = -1
			}
		}
		// the umask is set once the test's database exists, before New
		e := newEnv(t, true, func(*Options) { old = syscall.Umask(mask) })
		e.login()
		resp, _ := e.upload(tx)
		if resp.StatusCode != 303 {
			restore()
			t.Fatalf("umask %o: upload %d", mask, resp.StatusCode)
		}
		resp, _ = e.do("POST", resp.Header.Get("Location")+"/fix", url.Values{})
		restore()
		if resp.StatusCode != 303 {
			t.Fatalf("umask %o: fix %d", mask, resp.StatusCode)
		}
		var files, dirs int
		err := filepath.WalkDir(e.srv.imports.root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
				dirs++
			} else {
				files++
			}
			if info.Mode().Perm() != want {
				t.Errorf("umask %o: %s has mode %v, want %v", mask, p, info.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// root, upload, in, out; lock, upload, fixed file, change log
		if dirs != 4 || files != 4 {
			t.Fatalf("umask %o: walked %d directories and %d files, want 4 and 4", mask, dirs, files)
		}
	}
}
