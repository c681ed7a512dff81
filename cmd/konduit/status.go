package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/store"
)

type statusOptions struct {
	db     string
	errors int
	brief  bool
}

func init() { register(newStatusCmd) }

func newStatusCmd(g *globalOptions) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show every integration: last run, result, next run, lag, then each one's rows, checkpoints and errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.IntVar(&o.errors, "errors", 3, "latest sync errors shown per integration")
	f.BoolVar(&o.brief, "brief", false, "only the table: one line per integration")
	return cmd
}

func runStatus(ctx context.Context, g *globalOptions, o statusOptions) error {
	s, _, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now()
	sts, err := integration.Statuses(ctx, s, now)
	if err != nil {
		return err
	}
	w := g.stdout
	where := s.Path()
	if where == "" {
		where = "PostgreSQL"
	}
	fmt.Fprintf(w, "database: %s (%s)\n", where, s.Backend())
	if len(sts) == 0 {
		fmt.Fprintln(w, "no integrations yet: run \"konduit connect konnektive\"")
		return nil
	}
	printStatusTable(w, sts, now)
	if o.brief {
		return nil
	}
	for i := range sts {
		if err := printStatus(ctx, w, s, &sts[i].Integration, o.errors); err != nil {
			return err
		}
	}
	return nil
}

// printStatusTable prints one line per integration: its last run and
// result, its next scheduled run and the age of its data (lag).
func printStatusTable(w io.Writer, sts []integration.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nINTEGRATION\tLAST RUN\tRESULT\tNEXT RUN\tLAG")
	for _, st := range sts {
		last, result := "never", "-"
		if r := st.LastRun; r != nil {
			last, result = r.Started.Local().Format(time.DateTime), r.Status
			if r.Status == store.RunRunning && !st.SyncingSince.IsZero() {
				result = "syncing since " + st.SyncingSince.Local().Format(time.TimeOnly)
			}
		}
		next := "by hand"
		switch {
		case st.Paused:
			next = "paused"
		case st.Kind != store.KindKonnektive:
			next = "-"
		case st.SyncEvery > 0 && len(st.PasswordSealed) == 0:
			next = "no saved password"
		case !st.Next.IsZero() && !st.Next.After(now):
			next = "due now"
		case !st.Next.IsZero():
			next = st.Next.Local().Format(time.DateTime)
		}
		lag := "-"
		if !st.LastOK.IsZero() {
			lag = st.Lag.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Name, last, result, next, lag)
	}
	tw.Flush()
}

func printStatus(ctx context.Context, w io.Writer, s *store.Store, in *store.Integration, nErrors int) error {
	fmt.Fprintf(w, "\n%s (%s)\n", in.Name, in.Kind)
	if in.Kind == store.KindKonnektive {
		fmt.Fprintf(w, "  api:        %s as %s", in.BaseURL, in.LoginID)
		if in.AccountName != "" {
			fmt.Fprintf(w, ", account %s", in.AccountName)
		}
		if in.AccountUsername != "" {
			fmt.Fprintf(w, " (%s)", in.AccountUsername)
		}
		pw := "no password saved"
		if len(in.PasswordSealed) > 0 {
			pw = "password saved, encrypted"
		}
		fmt.Fprintf(w, "; %s\n", pw)
		fmt.Fprintf(w, "  import:     %s..%s, sync every %s\n", in.ImportFrom, importTo(in), in.SyncEvery)
	}
	fmt.Fprintf(w, "  time zone:  %s\n", in.TimeZone)
	if note := in.PartialNote(); note != "" {
		fmt.Fprintf(w, "  PARTIAL:    %s\n", note)
	}
	counts, err := s.Counts(ctx, in.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  rows:       %d customers, %d orders, %d purchases, %d transactions\n", counts[store.Customers], counts[store.Orders], counts[store.Purchases], counts[store.Transactions])
	runs, err := s.Runs(ctx, in.ID, 1)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(w, "  last sync:  never")
	} else {
		r := runs[0]
		took := "running"
		if !r.Finished.IsZero() {
			took = "took " + r.Finished.Sub(r.Started).String()
		}
		if r.Status == store.RunInterrupted {
			took = "did not finish"
		}
		fmt.Fprintf(w, "  last sync:  %s, %s (%s): %d rows in %d pages, %d requests, %d retries, DST %d ambiguous / %d gap\n",
			r.Started.Local().Format(time.DateTime), r.Status, took, r.Rows.Total(), r.Pages, r.Requests, r.Retries, r.DSTAmbiguous, r.DSTGap)
		if r.Status == store.RunInterrupted && r.Error != "" {
			fmt.Fprintf(w, "              %s; the next sync resumes where it stopped\n", r.Error)
		}
	}
	held, err := s.QuarantineCounts(ctx, in.ID)
	if err != nil {
		return err
	}
	if held.Total() > 0 {
		fmt.Fprintf(w, "  quarantine: %s could not be read and are kept aside (not in any report):\n", held.Phrase())
		rows, err := s.Quarantined(ctx, in.ID, 10)
		if err != nil {
			return err
		}
		for _, q := range rows {
			id := q.RowID
			if id == "" {
				id = "(no id)"
			}
			fmt.Fprintf(w, "              %s %s, %s: %s\n", q.Entity, id, q.Field, q.Reason)
		}
		if held.Total() > int64(len(rows)) {
			fmt.Fprintf(w, "              ... and %d more\n", held.Total()-int64(len(rows)))
		}
	}
	for _, e := range store.Entities {
		cp, ok, err := s.Checkpoint(ctx, in.ID, e)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch cp.Phase {
		case store.PhaseIdle:
			fmt.Fprintf(w, "  %-12s backfilled %s..%s; up to date from %s\n", e+":", cp.BackfillFrom, cp.BackfillTo, cp.Watermark)
		default:
			to := cp.WindowTo
			if to.IsZero() {
				to = cp.PassTo
			}
			fmt.Fprintf(w, "  %-12s %s %s..%s in progress at the window %s..%s, page %d\n", e+":", cp.Phase, cp.PassFrom, cp.PassTo, cp.Day, to, cp.Page)
		}
	}
	if nErrors > 0 {
		errs, err := s.Errors(ctx, in.ID, nErrors)
		if err != nil {
			return err
		}
		for _, e := range errs {
			window := e.Day.String()
			if !e.DayTo.IsZero() && e.DayTo != e.Day {
				window += ".." + e.DayTo.String()
			}
			fmt.Fprintf(w, "  error:      %s %s %s page %d: %s\n", e.At.Local().Format(time.DateTime), e.Entity, window, e.Page, e.Message)
		}
	}
	return nil
}
