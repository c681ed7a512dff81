// Package exitcode holds the command line's vocabulary for failure: the exit
// statuses, the interfaces an error implements to choose its status
// (Coder) and to say what to do next (Hinter), and the two errors every
// layer makes (a usage mistake, an error with a hint). It imports nothing
// from the project, so any package can use its names without a cycle;
// cmd/konduit turns errors into messages and statuses with Of.
package exitcode

import (
	"context"
	"errors"
	"fmt"
)

// Exit statuses, documented in the root command's help and in README.md.
const (
	OK          = 0
	DataErrors  = 1 // the data has errors: validation findings, verify differences
	Usage       = 2 // usage, configuration or I/O trouble
	Remote      = 3 // the remote service refused or failed
	Interrupted = 130
)

// Coder is implemented by errors that choose their own exit status.
type Coder interface{ ExitCode() int }

// Hinter is implemented by errors that know what the user should do next.
type Hinter interface{ Hint() string }

// UsageError is a mistake in what the user asked for (a flag, a name, a
// form field): exit status Usage, with a pointer to the help.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ExitCode is Usage.
func (e *UsageError) ExitCode() int { return Usage }

// Hint points to the help.
func (e *UsageError) Hint() string { return "run with --help for usage" }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// hinted attaches a next step to an error.
type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }
func (e *hinted) Hint() string  { return e.hint }

// WithHint attaches a next step to err; nil stays nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hint: hint}
}

// HintOf is the first hint in err's chain; "" when none.
func HintOf(err error) string {
	var h Hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// Of is the exit status err asks for: OK for nil, Interrupted for a
// cancelled context, the first Coder's status in its chain, else Usage.
func Of(err error) int {
	if err == nil {
		return OK
	}
	if errors.Is(err, context.Canceled) {
		return Interrupted
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return Usage
}
