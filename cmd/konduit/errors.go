package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/exitcode"
)

// Exit statuses, documented in the root command's help and in README.md;
// their one home is internal/exitcode.
const (
	exitOK          = exitcode.OK
	exitDataErrors  = exitcode.DataErrors
	exitUsage       = exitcode.Usage
	exitRemote      = exitcode.Remote
	exitInterrupted = exitcode.Interrupted
)

// usageErrorf is a mistake on the command line (exitcode.Usagef).
func usageErrorf(format string, args ...any) error { return exitcode.Usagef(format, args...) }

// withHint attaches a next step to an error (exitcode.WithHint).
func withHint(err error, hint string) error { return exitcode.WithHint(err, hint) }

// dataError says the command ran and found errors in the data; the command
// has already printed them, so report prints nothing more than the summary.
type dataError struct{ msg string }

func (e *dataError) Error() string { return e.msg }
func (e *dataError) ExitCode() int { return exitDataErrors }

// report is the one place that turns an error into a message, a hint and an
// exit status.
func report(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitcode.Of(err)
	var de *dataError
	if errors.As(err, &de) {
		// The findings were printed already; one line says why the status is 1.
		fmt.Fprintf(w, "konduit: %s\n", cardnum.MaskText(de.msg))
		return code
	}
	// An error can quote input (a cell, a header, a path): card numbers in
	// it are masked here, the one place errors are printed.
	fmt.Fprintf(w, "konduit: %s\n", cardnum.MaskText(err.Error()))
	if h := exitcode.HintOf(err); h != "" {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
	return code
}
