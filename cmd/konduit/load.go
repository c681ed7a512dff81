package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/load"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
)

type loadOptions struct {
	db       string
	timezone string
	name     string
	force    bool
	asOf     string
}

func init() { register(newLoadCmd) }

func newLoadCmd(g *globalOptions) *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load --db DSN --timezone ZONE [flags] FILE...",
		Short: "Load legacy import files into the database the sync writes, for reports",
		Long: `Load puts Konnektive legacy import files (transactions, customer notes,
additional customer details; each file's kind comes from its header) into the
same database "konduit sync" writes, under an integration of kind legacy named
by --name, so every "konduit report" runs the same on the old system's data.

The files are validated first, exactly as "konduit validate" does; files with
errors are refused unless --force (rows that cannot be read are then skipped).
Wall-clock times are read in --timezone, the account time zone of the system
that wrote them. Billing cycles are derived as docs/metrics.md says: a
customer's rows for one productId, ordered by dateCreated, form the
subscription, and each approved sale is the next cycle. Card and bank numbers
are never stored, only a card's last four digits; a card number anywhere else
(a name, a note, an affiliate id, a custom field) is stored masked to its last
four, and a row with one in an id column (customerId, orderId, merchantTxnId,
parentTxnId, campaignId, productId, merchantId) is not loaded and is counted
as skipped, with or without --force. Loading the same files again
replaces their rows (rows are keyed by merchantTxnId).

Notes and additional details files are stored beside the customers
(customer_notes, customer_details); a third-party password in a details file
is never stored, only whether there was one.

Exit status: 0 loaded, 1 refused (validation errors), 2 usage or I/O trouble.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB)")
	f.StringVar(&o.timezone, "timezone", "", "the account time zone of the files' times (IANA name, e.g. America/New_York); required")
	f.StringVar(&o.name, "name", load.DefaultName, "name of the integration the rows are kept under")
	f.BoolVar(&o.force, "force", false, "load even when validation finds errors, skipping rows that cannot be read")
	f.StringVar(&o.asOf, "as-of", "", "reference date YYYY-MM-DD for the validation's past and future rules (default today)")
	return cmd
}

// openReportDB opens --db, or the default database every command shares.
func openReportDB(ctx context.Context, dsn string) (*store.Store, error) {
	s, _, err := integration.Open(ctx, dsn)
	return s, err
}

func runLoad(ctx context.Context, g *globalOptions, o loadOptions, paths []string) error {
	if o.timezone == "" {
		return usageErrorf("--timezone is required: the IANA name of the account time zone the files were written in, e.g. America/New_York")
	}
	loc, err := time.LoadLocation(o.timezone)
	if err != nil || o.timezone == "Local" {
		return usageErrorf("--timezone %q is not an IANA time zone name such as America/New_York", o.timezone)
	}
	if o.asOf != "" {
		if _, err := time.Parse("2006-01-02", o.asOf); err != nil {
			return usageErrorf("--as-of %q is not a date YYYY-MM-DD", o.asOf)
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	st, err := openReportDB(ctx, o.db)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := load.Load(ctx, st, paths, load.Options{Name: o.name, TimeZone: loc, Force: o.force,
		Check: check.Options{AsOf: o.asOf, MaxFindings: 10}})
	var refused *load.RefusedError
	if errors.As(err, &refused) && res != nil && res.Report != nil {
		if werr := check.WriteText(g.stderr, res.Report, false); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	// Statistics first: the rollup's plans follow the rows just loaded.
	if err := st.Analyze(ctx); err != nil {
		return err
	}
	if _, err := rollup.Refresh(ctx, st, res.Integration); err != nil {
		return err
	}
	if n := res.Report.Errors(); n > 0 {
		fmt.Fprintf(g.stderr, "konduit: warning: loaded despite %d validation errors (--force); %d rows skipped\n", n, res.Skipped)
	}
	fmt.Fprintf(g.stdout, "loaded into integration %q (time zone %s): %d transactions, %d customers, %d orders, %d active subscriptions",
		res.Integration.Name, res.Integration.TimeZone, res.Transactions, res.Customers, res.Orders, res.Purchases)
	if res.Skipped > 0 {
		fmt.Fprintf(g.stdout, "; %d rows skipped", res.Skipped)
	}
	fmt.Fprintln(g.stdout)
	if res.CardInID > 0 {
		fmt.Fprintf(g.stdout, "rows skipped for a card number in an id column (customerId, orderId, merchantTxnId, ...): %d, not loaded (an id that passes the card checksum cannot be told from a card number; change or mask it in the file)\n", res.CardInID)
	}
	if res.DSTAmbiguous+res.DSTGap > 0 {
		fmt.Fprintf(g.stdout, "daylight saving: %d times in a repeated hour (earlier instant taken), %d in a skipped hour (shifted forward)\n", res.DSTAmbiguous, res.DSTGap)
	}
	if res.Notes+res.Details > 0 {
		fmt.Fprintf(g.stdout, "%d customer notes, %d customers' additional details\n", res.Notes, res.Details)
	}
	return nil
}
