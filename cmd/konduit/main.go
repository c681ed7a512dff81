// Command konduit moves subscription-commerce data into and out of the
// Konnektive / CheckoutChamp CRM: it validates, fixes and converts legacy
// import files, handles card data safely, syncs the query API into a
// database and reports on it.
//
// This package only parses flags, wires the internal packages together and
// maps errors to exit codes and hints (errors.go). Each command lives in its
// own file and registers itself with register in an init function.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/cardnum"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	verbose bool
	quiet   bool
	// stdout and stderr are where commands write; tests may replace them.
	stdout io.Writer
	stderr io.Writer
}

// commandFactories holds the constructors that command files register.
var commandFactories []func(*globalOptions) *cobra.Command

// register adds a command constructor; call it from an init function in the
// command's own file.
func register(f func(*globalOptions) *cobra.Command) {
	commandFactories = append(commandFactories, f)
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "konduit",
		Short: "Move subscription-commerce data into and out of Konnektive / CheckoutChamp",
		Long: `konduit validates, fixes and converts Konnektive legacy import files,
tokenizes, encrypts and transfers card data, syncs the Konnektive query API
into SQLite or PostgreSQL, and reports on it.

Exit status: 0 success; 1 the data has errors (findings, differences);
2 usage, configuration or I/O trouble; 3 the remote service refused or failed;
130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			configureLogging(g)
		},
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q", args[0])
			}
			return cmd.Help()
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log debug detail to stderr")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "log only errors")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v", err)
	})
	for _, f := range commandFactories {
		root.AddCommand(f(g))
	}
	return root
}

// configureLogging sets the process-wide slog handler, once, from the flags.
func configureLogging(g *globalOptions) {
	level := slog.LevelInfo
	switch {
	case g.verbose:
		level = slog.LevelDebug
	case g.quiet:
		level = slog.LevelError
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: maskLogAttr})))
}

// maskLogAttr masks the card numbers in a log record's message and in its
// string and error values (cardnum.MaskText): a logged error or value can
// quote input.
func maskLogAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(cardnum.MaskText(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(cardnum.MaskText(err.Error()))
		}
	}
	return a
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globalOptions{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A command that leaves something behind when stopped says what.
		var p interface{ Partial() string }
		if errors.As(err, &p) {
			fmt.Fprintln(stderr, "konduit: interrupted; "+p.Partial())
		} else {
			fmt.Fprintln(stderr, "konduit: interrupted; no partial output was left behind")
		}
		return exitInterrupted
	}
	return report(stderr, err)
}
