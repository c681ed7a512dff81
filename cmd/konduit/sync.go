package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/schedule"
	"github.com/konduit/konduit/internal/store"
	ksync "github.com/konduit/konduit/internal/sync"
)

// envKonnektivePassword holds the Konnektive API user's password.
const envKonnektivePassword = integration.EnvPassword

// openStore opens --db, or the default database every command shares
// (integration.Open).
func openStore(ctx context.Context, dsn string) (*store.Store, string, error) {
	return integration.Open(ctx, dsn)
}

// findIntegration is the named Konnektive integration, or the only one
// (integration.Find).
func findIntegration(ctx context.Context, s *store.Store, name string) (*store.Integration, error) {
	return integration.Find(ctx, s, name, store.KindKonnektive)
}

func parseDay(flag, v string) (crm.Date, error) {
	d, err := crm.ParseDate(v)
	if err != nil {
		return crm.Date{}, usageErrorf("--%s: want YYYY-MM-DD, got %q", flag, v)
	}
	return d, nil
}

func loadZone(v string) (*time.Location, error) {
	if v == "" {
		return nil, usageErrorf("--timezone is required: the IANA name of the Konnektive account's time zone (Account Information > Timezone), e.g. America/New_York")
	}
	loc, err := time.LoadLocation(v)
	if err != nil || v == "Local" {
		return nil, usageErrorf("--timezone %q is not an IANA time zone name such as America/New_York", v)
	}
	return loc, nil
}

// apiFlags are the flags that reach Konnektive without a saved
// integration, and pace the requests: sync and verify share them.
type apiFlags struct {
	apiURL   string
	loginID  string
	timezone string
	rate     float64
	pageSize int
}

func (a *apiFlags) add(f *pflag.FlagSet) {
	f.StringVar(&a.apiURL, "api-url", "", "ad hoc: the Konnektive API URL, e.g. https://api.konnektive.com")
	f.StringVar(&a.loginID, "login-id", "", "ad hoc: the API username (loginId)")
	f.StringVar(&a.timezone, "timezone", "", "ad hoc: the account time zone (IANA name)")
	f.Float64Var(&a.rate, "rate", 5, "requests per second to Konnektive; 0 for no limit")
	f.IntVar(&a.pageSize, "page-size", konnektive.MaxPageSize, "rows per page (at most 200)")
}

type syncOptions struct {
	db          string
	integration string
	apiFlags
	from, to string
	lookback int
	watch    bool
	wait     bool
}

func init() { register(newSyncCmd) }

func newSyncCmd(g *globalOptions) *cobra.Command {
	var o syncOptions
	cmd := &cobra.Command{
		Use:   "sync [flags]",
		Short: "Copy a Konnektive account into the database (backfill, then incremental)",
		Long: `Sync copies customers, orders, purchases and transactions of a saved
integration ("konduit connect konnektive") into the database, or ad hoc with
--api-url, --login-id, --timezone and --from (password in $KONNEKTIVE_PASSWORD).

The first sync backfills the import range by dateCreated; later syncs
re-read what was updated from the last sync minus --lookback days, so
refunds and chargebacks that restate old transactions are picked up. Both
read windows sized by the API's counts, the four tables at once within
--rate. A window is passed only once its rows agree with the API's counts
(read again, or split, when rows shifted between pages); a window that
stays inconsistent fails the run and is where the next one starts. Rows
konduit cannot read are quarantined (konduit status lists them). Each page
is committed with its checkpoint: an interrupted sync resumes where it
stopped, and running a sync twice changes nothing.

$KONNEKTIVE_PASSWORD, when set, overrides the saved password.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.StringVar(&o.integration, "integration", "", "saved integration to sync (default: the only one); with --api-url, the name to keep its state under (default adhoc)")
	o.apiFlags.add(f)
	f.StringVar(&o.from, "from", "", "ad hoc: first day to import, YYYY-MM-DD")
	f.StringVar(&o.to, "to", "", "ad hoc: last day to backfill, YYYY-MM-DD (default today)")
	f.IntVar(&o.lookback, "lookback", ksync.DefaultLookback, "days an incremental sync re-reads before the last sync")
	f.BoolVar(&o.watch, "watch", false, "keep running: sync every saved integration at its frequency (as \"konduit worker\" does), retrying after failures")
	f.BoolVar(&o.wait, "wait", false, "when the integration is already syncing (another process), wait for that sync to end and sync then, instead of exiting 0")
	return cmd
}

func runSync(ctx context.Context, g *globalOptions, o syncOptions) error {
	adhoc := o.apiURL != "" || o.loginID != ""
	if o.lookback < 0 {
		return usageErrorf("--lookback must be 0 or more days")
	}
	s, dsn, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	var in *store.Integration
	if adhoc {
		if in, err = adhocIntegration(ctx, s, dsn, o); err != nil {
			return err
		}
	} else {
		if o.timezone != "" || o.from != "" || o.to != "" {
			return usageErrorf("--timezone, --from and --to are for an ad hoc sync (with --api-url and --login-id); change a saved integration with \"konduit connect konnektive\" or \"konduit retime\"")
		}
		if in, err = findIntegration(ctx, s, o.integration); err != nil {
			return err
		}
	}
	if o.watch && (adhoc || in.SyncEvery <= 0) {
		return usageErrorf("--watch syncs saved integrations at their frequency: save %s with \"konduit connect konnektive --every 1h\" (or run \"konduit worker\")", in.Name)
	}
	password, err := syncPassword(ctx, dsn, in)
	if err != nil {
		return err
	}
	if err := syncOnce(ctx, g, o, s, in, password); err != nil || !o.watch {
		return err
	}
	// --watch: this process works the scheduler's jobs, as konduit worker
	// and serve do: every integration with a frequency, not only this one
	return runScheduler(ctx, g, s, dsn, schedule.Options{Workers: 1, Lookback: opts0(o.lookback),
		Client: integration.ClientOptions{Rate: o.rate, PageSize: o.pageSize}})
}

// opts0 is --lookback as integration.SyncOptions takes it (0: none).
func opts0(lookback int) int {
	if lookback == 0 {
		return -1
	}
	return lookback
}

// adhocIntegration saves (or reuses) the integration an ad hoc sync keeps
// its state under. Its password is never stored.
func adhocIntegration(ctx context.Context, s *store.Store, dsn string, o syncOptions) (*store.Integration, error) {
	if o.apiURL == "" || o.loginID == "" || o.timezone == "" || o.from == "" {
		return nil, usageErrorf("an ad hoc sync needs --api-url, --login-id, --timezone and --from")
	}
	loc, err := loadZone(o.timezone)
	if err != nil {
		return nil, err
	}
	from, err := parseDay("from", o.from)
	if err != nil {
		return nil, err
	}
	var to crm.Date
	if o.to != "" {
		if to, err = parseDay("to", o.to); err != nil {
			return nil, err
		}
	}
	name := o.integration
	if name == "" {
		name = "adhoc"
	}
	in, err := s.Integration(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		in = &store.Integration{Kind: store.KindKonnektive, Name: name}
	case err != nil:
		return nil, err
	case in.TimeZone != loc.String():
		return nil, withHint(fmt.Errorf("integration %s keeps its times in %s, not %s", name, in.TimeZone, loc), "run \"konduit retime --integration "+name+" --timezone "+loc.String()+"\" to change it without a re-sync")
	}
	in.BaseURL, in.LoginID, in.TimeZone, in.ImportFrom, in.ImportTo = o.apiURL, o.loginID, loc.String(), from, to
	if _, err := integration.Save(ctx, s, dsn, in, ""); err != nil {
		return nil, err
	}
	return in, nil
}

// syncPassword is $KONNEKTIVE_PASSWORD, else the integration's saved one.
func syncPassword(ctx context.Context, dsn string, in *store.Integration) (string, error) {
	return integration.Password(ctx, dsn, in)
}

func syncOnce(ctx context.Context, g *globalOptions, o syncOptions, s *store.Store, in *store.Integration, password string) error {
	bar := newProgressBar(g)
	opts := integration.SyncOptions{Store: s, Integration: in, Password: password, Lookback: opts0(o.lookback), Wait: o.wait,
		Client: integration.ClientOptions{Rate: o.rate, PageSize: o.pageSize}}
	if bar != nil {
		opts.Progress = bar.update
	}
	res, err := integration.Sync(ctx, opts)
	if bar != nil {
		bar.clear()
	}
	var busy *integration.BusyError
	if errors.As(err, &busy) {
		fmt.Fprintf(g.stdout, "%s; not starting another (--wait waits for it to end)\n", busy.Error())
		return nil
	}
	if res.RunID == 0 && err != nil {
		return err
	}
	printSyncSummary(g.stdout, in, res.Summary, res.Elapsed, res.Network, res.Bytes, err == nil)
	return err
}

func printSyncSummary(w io.Writer, in *store.Integration, sum ksync.Summary, elapsed, network time.Duration, bytes int64, ok bool) {
	verb := "synced"
	if !ok {
		verb = "sync stopped for"
	}
	fmt.Fprintf(w, "%s %s (run %d) in %s\n", verb, in.Name, sum.RunID, elapsed.Round(time.Millisecond))
	for _, e := range store.Entities {
		n := sum.Written[e]
		fmt.Fprintf(w, "  %-13s %10d rows read: %d new, %d changed, %d unchanged\n", e, sum.Rows[e], n.New, n.Changed, n.Unchanged)
	}
	if sum.Quarantined > 0 {
		fmt.Fprintf(w, "  %d rows could not be read and are quarantined; see konduit status\n", sum.Quarantined)
	}
	if len(sum.Backfilled) > 0 {
		fmt.Fprintf(w, "  backfill of %s..%s completed for %s\n", in.ImportFrom, importTo(in), strings.Join(sum.Backfilled, ", "))
	}
	for _, f := range sum.Failed {
		fmt.Fprintf(w, "  %s %s..%s could not be read completely; the next sync starts there\n", f.Entity, f.Day, f.DayTo)
	}
	fmt.Fprintf(w, "  requests %d (pages %d), retries %d, windows %d, split %d, walked again %d\n", sum.Requests, sum.Pages, sum.Retries, sum.Windows, sum.Splits, sum.Rewalks)
	fmt.Fprintf(w, "  DST: %d ambiguous wall-clock times (earlier instant taken), %d in spring-forward gaps (shifted forward)\n", sum.DSTAmbiguous, sum.DSTGap)
	if elapsed > 0 {
		pct := func(d time.Duration) float64 { return 100 * d.Seconds() / elapsed.Seconds() }
		fmt.Fprintf(w, "  time: network %s (%.0f%% of the run, %d KiB); store busy %s (%.0f%%, in parallel with fetching), fetching waited for the store %s (%.0f%%)\n",
			network.Round(time.Millisecond), pct(network), bytes/1024, sum.StoreTime.Round(time.Millisecond), pct(sum.StoreTime), sum.StoreWait.Round(time.Millisecond), pct(sum.StoreWait))
		if rows := sum.Rows.Total(); rows > 0 {
			fmt.Fprintf(w, "  %.0f rows/s\n", float64(rows)/elapsed.Seconds())
		}
	}
}

func importTo(in *store.Integration) string {
	if in.ImportTo.IsZero() {
		return "today"
	}
	return in.ImportTo.String()
}

// progressBar draws one line on a terminal's stderr: rows over the rows
// the API's counts announce, requests, and the time left at the rate so far.
type progressBar struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

// newProgressBar returns a bar when stderr is a terminal and --quiet is off.
func newProgressBar(g *globalOptions) *progressBar {
	f, ok := g.stderr.(*os.File)
	if !ok || g.quiet || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressBar{w: f, start: time.Now()}
}

func (b *progressBar) update(p ksync.Progress) {
	if time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	fmt.Fprintf(b.w, "\r\033[K%s", progressLine(p, time.Since(b.start)))
}

// progressLine is the bar's text after elapsed.
func progressLine(p ksync.Progress, elapsed time.Duration) string {
	const width = 24
	expected := max(p.Expected, p.Rows)
	filled, left := 0, "estimating"
	if expected > 0 {
		filled = int(int64(width) * p.Rows / expected)
	}
	if rest, ok := p.Left(elapsed); ok {
		left = "about " + rest.Round(time.Second).String() + " left"
	}
	return fmt.Sprintf("[%s%s] %d/%d rows, %d requests, %s (%s %s from %s)",
		strings.Repeat("#", filled), strings.Repeat("-", width-filled), p.Rows, expected, p.Requests, left, p.Entity, p.Phase, p.Day)
}

func (b *progressBar) clear() { fmt.Fprint(b.w, "\r\033[K") }
