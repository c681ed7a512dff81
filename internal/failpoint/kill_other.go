//go:build !unix

package failpoint

import "os"

func killSelf() { os.Exit(137) }

func interruptSelf() { os.Exit(130) }
