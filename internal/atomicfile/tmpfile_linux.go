//go:build linux

package atomicfile

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createUnnamed opens an unnamed file in dir (O_TMPFILE): it has no name
// until link gives it one, so if the process dies first the kernel frees it
// and nothing (no partial file, no plaintext) is left on disk.
func createUnnamed(dir string, perm os.FileMode) (*os.File, bool) {
	fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return nil, false // the filesystem or kernel lacks O_TMPFILE
	}
	return os.NewFile(uintptr(fd), dir), true
}

// link gives an unnamed file the name tmp.
func link(f *os.File, tmp string) error {
	err := unix.Linkat(int(f.Fd()), "", unix.AT_FDCWD, tmp, unix.AT_EMPTY_PATH)
	if err == nil {
		return nil
	}
	// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works without it.
	if err2 := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unix.AT_FDCWD, tmp, unix.AT_SYMLINK_FOLLOW); err2 != nil {
		return fmt.Errorf("link unnamed file: %w", err)
	}
	return nil
}
