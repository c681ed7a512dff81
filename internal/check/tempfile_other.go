//go:build !linux

package check

import "os"

// openUnnamed: only Linux opens files without a name (tempfile_linux.go).
func openUnnamed() *os.File { return nil }
