package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/rollup"
)

type rollupOptions struct {
	db          string
	integration string
}

func init() { register(newRollupCmd) }

func newRollupCmd(g *globalOptions) *cobra.Command {
	var o rollupOptions
	cmd := &cobra.Command{
		Use:   "rollup [flags]",
		Short: "Bring the reports' pre-aggregated rollups up to date",
		Long: `Rollup refreshes the pre-aggregated figures the reports read (docs/schema.md,
"Rollups"): only what changed since the last refresh, or everything when
they were never built. "konduit load", "konduit sync" and "konduit retime"
do this themselves when they finish; run it after a sync that stopped
early, or on a database written by an older konduit. Until then the
reports read every transaction: the same figures, more slowly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRollup(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.StringVar(&o.integration, "integration", "", "integration (default: the only one in the database)")
	return cmd
}

func runRollup(ctx context.Context, g *globalOptions, o rollupOptions) error {
	st, in, err := openReportIntegration(ctx, o.db, o.integration)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := rollup.Refresh(ctx, st, in)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%d changed customers (%d shards), %d buckets, %d chargeback days", res.Customers, res.Shards, res.Buckets, res.Days)
	if res.Full {
		what = fmt.Sprintf("rebuilt from all %d customers", res.Customers)
	}
	fmt.Fprintf(g.stdout, "%s: rollups up to date: %s in %.1fs\n", in.Name, what, res.Took.Seconds())
	return nil
}
