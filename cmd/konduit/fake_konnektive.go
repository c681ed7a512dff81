package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/synth"
)

type fakeKonnektiveOptions struct {
	addr      string
	customers int
	seed      uint64
	timezone  string
	loginID   string
	asOf      string
	months    int
	now       string
	allowIPs  []string
	deny      []string
	rateLimit float64
	times     bool
	faults    fake.Faults
	imports   []string
	impFaults bool
}

func init() { register(newFakeKonnektiveCmd) }

func newFakeKonnektiveCmd(g *globalOptions) *cobra.Command {
	o := &fakeKonnektiveOptions{}
	cmd := &cobra.Command{
		Use:   "fake-konnektive --login-id ID [flags]",
		Short: "Serve a fake Konnektive query API with a generated merchant (tests, benchmarks, demo)",
		Long: `fake-konnektive serves a faithful fake of the Konnektive / CheckoutChamp query
API on 127.0.0.1, with a merchant generated as "konduit synth" generates one
(the same --seed, --customers, --as-of, --months and --timezone give the same
rows). The API user is --login-id with the password in $KONNEKTIVE_PASSWORD.

It follows the fake-server checklist of the API notes: the query routes,
GET and POST, the {result, message} envelope, whole-day date filters,
dateCreated/dateUpdated, pages of 25 by default and at most 200, the API's
output conventions, the IP allow-list (--allow-ip) and per-endpoint
permissions (--deny). A chargeback restates its sale with a new dateUpdated
only once the fake's clock (real time, or from --now on) reaches it.

Faults fire on every Nth request: --drop-every, --html-every, --429-every,
--error-every, --slow-every; --drift-every moves a row to the end of a
dateUpdated walk every Nth page. --rate-limit answers 429 beyond N requests a
second.

Import mode: --import FILE... serves what a correct import of those legacy
files holds (Konnektive-assigned ids, the file's orderId as clientOrderId,
DECLINE as HARD_DECLINE or SOFT_DECLINE, the file's wall times in the account
zone, an ACTIVE purchase per active subscription, chargebacks on their sales)
instead of a generated merchant. --import-faults breaks that import in one
customer each: a missing customer, times read in a wrong time zone, a lost
nextBillDate, a refund without its parent and a duplicated transaction; each
fault is printed ("import fault: ...") after the listening line, so a test
knows what "konduit verify" must report. Stop it with Ctrl-C. This is a test double: konduit itself always
talks to the URL it is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFakeKonnektive(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8477", "address to listen on (loopback only; port 0 picks one)")
	f.IntVar(&o.customers, "customers", 1000, "number of generated customers")
	f.Uint64Var(&o.seed, "seed", 1, "random seed of the merchant")
	f.StringVar(&o.timezone, "timezone", synth.DefaultTimeZone, "account time zone (IANA name)")
	f.StringVar(&o.loginID, "login-id", "", "the API user's username (loginId), required")
	f.StringVar(&o.asOf, "as-of", "", "the merchant's last day of data, YYYY-MM-DD (default today in --timezone)")
	f.IntVar(&o.months, "months", 12, "months of history before --as-of")
	f.StringVar(&o.now, "now", "", "start the fake's clock here (YYYY-MM-DD[ HH:MM:SS] in --timezone) instead of now; it runs on from there")
	f.StringSliceVar(&o.allowIPs, "allow-ip", nil, "the API user's IP allow-list: addresses or CIDR prefixes (default: any)")
	f.StringSliceVar(&o.deny, "deny", nil, "endpoints the API user may not query, e.g. transactions/query")
	f.BoolVar(&o.times, "honour-times", false, "filter on startTime/endTime (HH:MM) too (default: ignored, whole days)")
	f.Float64Var(&o.rateLimit, "rate-limit", 0, "answer 429 beyond this many requests a second (0: no limit)")
	f.IntVar(&o.faults.DropEvery, "drop-every", 0, "drop the connection on every Nth request")
	f.IntVar(&o.faults.HTML502Every, "html-every", 0, "answer an HTML 502 page on every Nth request")
	f.IntVar(&o.faults.RateLimitEvery, "429-every", 0, "answer 429 with Retry-After on every Nth request")
	f.IntVar(&o.faults.TransientEvery, "error-every", 0, "answer a transient ERROR on every Nth request")
	f.IntVar(&o.faults.SlowEvery, "slow-every", 0, "answer slowly (--slow) on every Nth request")
	f.DurationVar(&o.faults.Slow, "slow", 2*time.Second, "how slow a slow answer is")
	f.DurationVar(&o.faults.RetryAfter, "retry-after", time.Second, "Retry-After of 429 answers (whole seconds)")
	f.IntVar(&o.faults.DriftEvery, "drift-every", 0, "move a served row to the end of a dateUpdated walk on every Nth page")
	f.IntVar(&o.faults.DriftLimit, "drift-limit", 0, "move at most this many rows (0: no limit)")
	f.StringSliceVar(&o.imports, "import", nil, "serve a correct import of these legacy files instead of a generated merchant")
	f.BoolVar(&o.impFaults, "import-faults", false, "with --import: serve a plausibly broken import (faults listed on stdout)")
	return cmd
}

func runFakeKonnektive(ctx context.Context, g *globalOptions, o *fakeKonnektiveOptions) error {
	if o.loginID == "" {
		return usageErrorf("fake-konnektive: --login-id is required")
	}
	password := os.Getenv("KONNEKTIVE_PASSWORD")
	if password == "" {
		return usageErrorf("fake-konnektive: set the API user's password in $KONNEKTIVE_PASSWORD")
	}
	if o.customers < 0 {
		return usageErrorf("fake-konnektive: --customers must not be negative")
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return usageErrorf("fake-konnektive: --addr %q: want HOST:PORT", o.addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageErrorf("fake-konnektive: --addr %q: the fake listens on a loopback address only (127.0.0.1)", o.addr)
	}
	loc, err := time.LoadLocation(o.timezone)
	if err != nil {
		return usageErrorf("fake-konnektive: --timezone %q: %v", o.timezone, err)
	}
	asOf := crm.DateOf(time.Now().In(loc))
	if o.asOf != "" {
		if asOf, err = crm.ParseDate(o.asOf); err != nil || asOf.IsZero() {
			return usageErrorf("fake-konnektive: --as-of %q: want YYYY-MM-DD", o.asOf)
		}
	}
	clock := time.Now
	if o.now != "" {
		start, err := fakeKonnektiveParseNow(o.now, loc)
		if err != nil {
			return usageErrorf("fake-konnektive: --now %q: want YYYY-MM-DD[ HH:MM:SS]", o.now)
		}
		began := time.Now()
		clock = func() time.Time { return start.Add(time.Since(began)) }
	}
	srv, err := fake.New(fake.Options{
		LoginID: o.loginID, Password: password, Location: loc,
		AllowIPs: o.allowIPs, Denied: o.deny, Clock: clock, RateLimit: o.rateLimit, Faults: o.faults, HonourTimes: o.times,
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	if o.impFaults && len(o.imports) == 0 {
		return usageErrorf("fake-konnektive: --import-faults needs --import FILE...")
	}
	began := time.Now()
	var imported *fake.ImportResult
	if len(o.imports) > 0 {
		if imported, err = fakeKonnektiveImport(ctx, srv, o); err != nil {
			return err
		}
	} else if err = fake.Generate(ctx, srv, synth.Options{Customers: o.customers, Seed: o.seed, AsOf: asOf, Months: o.months, TimeZone: loc}); err != nil {
		return err
	}
	customers, orders, purchases, txns := srv.Counts()
	slog.Info("fake-konnektive: merchant generated", "customers", customers, "orders", orders, "purchases", purchases,
		"transactions", txns, "as_of", asOf.String(), "took", time.Since(began).Round(time.Millisecond))

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("fake-konnektive: listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(g.stdout, "fake Konnektive API listening on http://%s (login id %s, password from $KONNEKTIVE_PASSWORD)\n", ln.Addr(), o.loginID)
	if imported != nil {
		for _, f := range imported.Faults {
			fmt.Fprintf(g.stdout, "import fault: %s\n", f)
		}
		fmt.Fprintf(g.stdout, "import: %d customers, %d orders, %d purchases, %d transactions, %d faults\n",
			imported.Customers, imported.Orders, imported.Purchases, imported.Transactions, len(imported.Faults))
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("fake-konnektive: serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("fake-konnektive: shut down: %w", err)
	}
	slog.Info("fake-konnektive: stopped", "requests", srv.Requests())
	return nil
}

// fakeKonnektiveImport loads the --import files into srv.
func fakeKonnektiveImport(ctx context.Context, srv *fake.Server, o *fakeKonnektiveOptions) (*fake.ImportResult, error) {
	var inputs []fake.ImportInput
	for _, p := range o.imports {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("fake-konnektive: %w", err)
		}
		defer f.Close()
		inputs = append(inputs, fake.ImportInput{Name: p, R: f})
	}
	res, err := fake.ImportLegacy(ctx, srv, inputs, fake.ImportOptions{Faults: o.impFaults})
	if err != nil {
		return nil, fmt.Errorf("fake-konnektive: import: %w", err)
	}
	for _, s := range res.Skipped {
		slog.Info("fake-konnektive: not a transactions file, skipped", "file", s)
	}
	return res, nil
}

// fakeKonnektiveParseNow reads a wall-clock time or a date in loc.
func fakeKonnektiveParseNow(s string, loc *time.Location) (time.Time, error) {
	if len(s) == len(crm.DateLayout) {
		s += " 00:00:00"
	}
	w, err := crm.ParseWall(s, loc)
	if err != nil {
		return time.Time{}, err
	}
	return w.UTC, nil
}
