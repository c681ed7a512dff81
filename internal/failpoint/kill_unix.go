//go:build unix

package failpoint

import "syscall"

func killSelf() {
	syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; do nothing more
}

func interruptSelf() { syscall.Kill(syscall.Getpid(), syscall.SIGINT) }
