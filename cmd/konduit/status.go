package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/store"
)

type statusOptions struct {
	db     string
	errors int
}

func init() { register(newStatusCmd) }

func newStatusCmd(g *globalOptions) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show saved integrations, their last sync, row counts and errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.IntVar(&o.errors, "errors", 3, "latest sync errors shown per integration")
	return cmd
}

func runStatus(ctx context.Context, g *globalOptions, o statusOptions) error {
	s, _, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	all, err := s.Integrations(ctx)
	if err != nil {
		return err
	}
	w := g.stdout
	where := s.Path()
	if where == "" {
		where = "PostgreSQL"
	}
	fmt.Fprintf(w, "database: %s (%s)\n", where, s.Backend())
	if len(all) == 0 {
		fmt.Fprintln(w, "no integrations yet: run \"konduit connect konnektive\"")
		return nil
	}
	for i := range all {
		if err := printStatus(ctx, w, s, &all[i], o.errors); err != nil {
			return err
		}
	}
	return nil
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
