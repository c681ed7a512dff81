package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// konduitBin is the real binary, built once for the CLI tests.
var konduitBin string

// The slowest tests that share nothing (their own directories, databases,
// ports and TMPDIR) call t.Parallel: they run two at a time at the
// package's end, when CI's other packages are done and a core is free. The
// browser tests stay sequential: their waits are timed.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "konduit-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	konduitBin = filepath.Join(dir, "konduit")
	build := exec.Command("go", "build", "-race", "-o", konduitBin, ".")
	if os.Getenv("KONDUIT_TEST_NORACE") != "" {
		build = exec.Command("go", "build", "-o", konduitBin, ".")
	}
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build konduit:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is what one run of the binary produced.
type cliResult struct {
	stdout, stderr string
	code           int
	signal         syscall.Signal // the signal that ended the process, or 0
}

// runCLI runs the real binary with args in dir (the test's temp dir when
// empty) and extra environment variables ("K=V").
func runCLI(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(konduitBin, args...)
	cmd.Dir = dir
	// the default database lives under the test's directory, never in the
	// user's home (a test may set XDG_DATA_HOME or KONDUIT_DB itself)
	cmd.Env = append(append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, ".data")), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	} else if err != nil {
		t.Fatalf("run konduit %v: %v", args, err)
	}
	return r
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	r := runCLI(t, "", nil, "no-such-command")
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr %s", r.code, exitUsage, r.stderr)
	}
}
