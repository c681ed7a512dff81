package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/store"
	ksync "github.com/konduit/konduit/internal/sync"
	"github.com/konduit/konduit/internal/verify"
)

type verifyOptions struct {
	db          string
	integration string
	apiFlags
	format   string
	strategy string
	today    string
	parallel int
}

func init() { register(newVerifyCmd) }

func newVerifyCmd(g *globalOptions) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify [flags] FILE...",
		Short: "Check that Konnektive holds what legacy import files say (step 7 of the import)",
		Long: `Verify compares every customer of legacy transactions files with what the
Konnektive query API returns: the customer (name, email, phone, billing and
shipping address), every transaction (type, amount, time, response, parent,
chargeback), every order, and every active subscription (a purchase with the
product, merchant and nextBillDate), and reports anything extra.

Konnektive assigns its own ids: transactions match on merchantTxnId, orders on
the client order id (the file's orderId), customers on the Konnektive customer
that owns their transactions and orders (else email and name). DECLINE matches
HARD_DECLINE and SOFT_DECLINE; times compare as instants in the account zone.
Notes and details files are accepted and skipped.

Use a saved integration (--integration, --db) or ad hoc --api-url, --login-id
and --timezone with the password in $KONNEKTIVE_PASSWORD. The default range
strategy walks each endpoint over the files' date span (a few hundred pages
for 10,000 customers); --strategy customer queries each customer (about four
requests a customer).

Exit status: 0 no differences, 1 differences, 2 usage or I/O trouble,
3 Konnektive refused or failed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database of the saved integration: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.StringVar(&o.integration, "integration", "", "saved integration to verify against (default: the only one)")
	o.apiFlags.add(f)
	f.StringVar(&o.format, "format", "text", "report format: text or json")
	f.StringVar(&o.strategy, "strategy", verify.ByRange, "query strategy: range (walk the files' date span) or customer (query each customer)")
	f.StringVar(&o.today, "to", "", "last day to walk for customers, orders and purchases created on import, YYYY-MM-DD (default today)")
	f.IntVar(&o.parallel, "parallel", 4, "concurrent walks")
	return cmd
}

func runVerify(ctx context.Context, g *globalOptions, o verifyOptions, paths []string) error {
	if o.format != "text" && o.format != "json" {
		return usageErrorf("--format %q: want text or json", o.format)
	}
	if o.strategy != verify.ByRange && o.strategy != verify.ByCustomer {
		return usageErrorf("--strategy %q: want %s or %s", o.strategy, verify.ByRange, verify.ByCustomer)
	}
	if o.parallel < 1 || o.parallel > 32 {
		return usageErrorf("--parallel must be 1..32")
	}
	if o.rate < 0 {
		return usageErrorf("--rate must not be negative")
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil {
			return fmt.Errorf("verify: %w", err)
		} else if st.IsDir() {
			return usageErrorf("verify: %s is a directory; name the files", p)
		}
	}
	var today crm.Date
	if o.today != "" {
		d, err := parseDay("to", o.today)
		if err != nil {
			return err
		}
		today = d
	}
	baseURL, loginID, password, loc, err := verifyTarget(ctx, o)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * o.parallel
	meter := &ksync.Meter{Next: tr}
	client, err := konnektive.New(konnektive.Config{BaseURL: baseURL, LoginID: loginID, Password: password, Location: loc,
		Rate: o.rate, Burst: o.parallel, PageSize: o.pageSize, HTTPClient: &http.Client{Transport: meter}, Logger: slog.Default()})
	if err != nil {
		return usageErrorf("%v", err)
	}
	rep, err := verify.Run(ctx, legacy.FileInputs(paths), verify.Options{API: client, Location: loc, Strategy: o.strategy,
		Today: today, Parallel: o.parallel, Requests: func() int64 { n, _, _ := meter.Stats(); return n }})
	if err != nil {
		return err
	}
	if o.format == "json" {
		err = verify.WriteJSON(g.stdout, rep)
	} else {
		err = verify.WriteText(g.stdout, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return &dataError{msg: fmt.Sprintf("%d differences in %d customers: Konnektive does not hold what the files say", rep.Differences, len(rep.Customers))}
	}
	return nil
}

// verifyTarget is the API URL, login, password and account zone: ad hoc
// flags, or a saved integration.
func verifyTarget(ctx context.Context, o verifyOptions) (string, string, string, *time.Location, error) {
	if o.apiURL != "" || o.loginID != "" {
		if o.apiURL == "" || o.loginID == "" || o.timezone == "" {
			return "", "", "", nil, usageErrorf("an ad hoc verify needs --api-url, --login-id and --timezone (password in $%s)", envKonnektivePassword)
		}
		loc, err := loadZone(o.timezone)
		if err != nil {
			return "", "", "", nil, err
		}
		pw := os.Getenv(envKonnektivePassword)
		if pw == "" {
			return "", "", "", nil, usageErrorf("set the API user's password in $%s", envKonnektivePassword)
		}
		return o.apiURL, o.loginID, pw, loc, nil
	}
	if o.timezone != "" {
		return "", "", "", nil, usageErrorf("--timezone is for an ad hoc verify (with --api-url and --login-id); a saved integration keeps its own")
	}
	s, dsn, err := openStore(ctx, o.db)
	if err != nil {
		return "", "", "", nil, err
	}
	defer s.Close()
	var in *store.Integration
	if in, err = findIntegration(ctx, s, o.integration); err != nil {
		return "", "", "", nil, err
	}
	loc, err := in.Location()
	if err != nil {
		return "", "", "", nil, err
	}
	pw, err := syncPassword(ctx, dsn, in)
	if err != nil {
		return "", "", "", nil, err
	}
	return in.BaseURL, in.LoginID, pw, loc, nil
}
