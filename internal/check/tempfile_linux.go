//go:build linux

package check

import (
	"os"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a 0600 file in the temporary directory that has no
// name at all (O_TMPFILE): it is gone when closed, and no one can open it
// meanwhile. Nil where the file system cannot.
func openUnnamed() *os.File {
	fd, err := unix.Open(os.TempDir(), unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), "konduit-check (unnamed)")
}
