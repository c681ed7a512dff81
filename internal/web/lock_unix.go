//go:build unix

package web

import (
	"io/fs"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f without waiting (flock: the kernel
// releases it when the file is closed or the process ends, however it
// ends).
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// openNoFollow opens path for reading unless it is a symbolic link.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

// ownedByUs says whether this process's user owns the file.
func ownedByUs(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
