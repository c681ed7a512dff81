//go:build !linux

package atomicfile

import (
	"errors"
	"os"
)

func createUnnamed(dir string, perm os.FileMode) (*os.File, bool) { return nil, false }

func link(f *os.File, tmp string) error { return errors.New("unnamed files are not supported") }
