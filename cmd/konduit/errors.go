package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/konduit/konduit/internal/cardnum"
)

// Exit statuses, documented in the root command's help and in README.md.
const (
	exitOK          = 0
	exitDataErrors  = 1 // the data has errors: validation findings, verify differences
	exitUsage       = 2 // usage, configuration or I/O trouble
	exitRemote      = 3 // the remote service refused or failed
	exitInterrupted = 130
)

// exitCoder is implemented by errors that choose their own exit status.
// Internal packages may implement it without importing this package.
type exitCoder interface{ ExitCode() int }

// hinter is implemented by errors that know what the user should do next.
type hinter interface{ Hint() string }

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) ExitCode() int { return exitUsage }
func (e *usageError) Hint() string  { return "run with --help for usage" }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// dataError says the command ran and found errors in the data; the command
// has already printed them, so report prints nothing more than the summary.
type dataError struct{ msg string }

func (e *dataError) Error() string { return e.msg }
func (e *dataError) ExitCode() int { return exitDataErrors }

// withHint attaches a next step to an error.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }
func (e *hintedError) Hint() string  { return e.hint }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintedError{err: err, hint: hint}
}

// report is the one place that turns an error into a message, a hint and an
// exit status.
func report(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var ec exitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		code = exitInterrupted
	}
	var de *dataError
	if errors.As(err, &de) {
		// The findings were printed already; one line says why the status is 1.
		fmt.Fprintf(w, "konduit: %s\n", cardnum.MaskText(de.msg))
		return code
	}
	// An error can quote input (a cell, a header, a path): card numbers in
	// it are masked here, the one place errors are printed.
	fmt.Fprintf(w, "konduit: %s\n", cardnum.MaskText(err.Error()))
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(w, "hint: %s\n", h.Hint())
	}
	return code
}
