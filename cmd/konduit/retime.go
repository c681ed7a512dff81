package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/integration"
)

type retimeOptions struct {
	db          string
	integration string
	timezone    string
}

func init() { register(newRetimeCmd) }

func newRetimeCmd(g *globalOptions) *cobra.Command {
	var o retimeOptions
	cmd := &cobra.Command{
		Use:   "retime --timezone ZONE [flags]",
		Short: "Change an integration's account time zone; every stored time is re-derived, no re-sync",
		Long: `Retime sets the account time zone of an integration and re-derives the UTC
instant of every stored row from its raw wall-clock string, in one
transaction: no re-sync, and nothing is lost if it fails. Use it when the
zone was set wrong, or when the Konnektive account's zone changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRetime(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.StringVar(&o.integration, "integration", "", "integration to change (default: the only one)")
	f.StringVar(&o.timezone, "timezone", "", "the new account time zone, an IANA name such as America/Chicago")
	return cmd
}

func runRetime(ctx context.Context, g *globalOptions, o retimeOptions) error {
	loc, err := loadZone(o.timezone)
	if err != nil {
		return err
	}
	s, _, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	in, err := reportIntegration(ctx, s, o.integration)
	if err != nil {
		return err
	}
	oldZone := in.TimeZone
	res, err := integration.Retime(ctx, s, in, loc)
	if err != nil {
		return err
	}
	in.TimeZone = oldZone
	fmt.Fprintf(g.stdout, "%s: time zone %s -> %s; re-derived the times of %d rows (%d ambiguous wall-clock times took the earlier instant, %d in spring-forward gaps were shifted forward)\n",
		in.Name, in.TimeZone, loc, res.Rows, res.Ambiguous, res.Gap)
	return nil
}
