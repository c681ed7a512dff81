package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type remote struct{}

func (remote) Error() string { return "remote" }
func (remote) ExitCode() int { return Remote }

func TestOf(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", errors.New("x"), Usage},
		{"usage", Usagef("bad %s", "flag"), Usage},
		{"wrapped coder", fmt.Errorf("sync: %w", remote{}), Remote},
		{"hinted coder", WithHint(remote{}, "try again"), Remote},
		{"cancelled", fmt.Errorf("sync: %w", context.Canceled), Interrupted},
	} {
		if got := Of(c.err); got != c.want {
			t.Errorf("%s: Of = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestHint(t *testing.T) {
	if WithHint(nil, "x") != nil {
		t.Fatal("WithHint(nil) is not nil")
	}
	err := fmt.Errorf("outer: %w", WithHint(errors.New("inner"), "do this"))
	if got := HintOf(err); got != "do this" {
		t.Fatalf("HintOf = %q", got)
	}
	if got := HintOf(Usagef("x")); got != "run with --help for usage" {
		t.Fatalf("usage hint = %q", got)
	}
	if got := HintOf(errors.New("x")); got != "" {
		t.Fatalf("no hint = %q", got)
	}
}
