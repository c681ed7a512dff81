package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/load"
	reports "github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/store"
)

// metricsDoc is where every report's help sends the reader.
const metricsDoc = "Every figure is defined in docs/metrics.md (with a worked example)."

type reportOptions struct {
	db          string
	tz          string
	format      string
	integration string
	by          string
	only        string
	where       []string
	currency    string
	noRollup    bool
}

func init() { register(newReportCmd) }

func newReportCmd(g *globalOptions) *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report COMMAND",
		Short: "Revenue, refunds, lifetime value, retention and chargeback reports from the database",
		Long: `Report computes figures from the database "konduit sync" and "konduit load"
write: period summaries with both refund views and their reconciliation,
cohort lifetime value, subscription retention by billing cycle and chargeback
ratios per merchant account. Days are calendar days in the display time zone
(--tz, default the integration's account time zone). Money is exact and
shown to the cent; rates to four decimal places (0.1234 = 12.34%).

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	pf.StringVar(&o.tz, "tz", "", "display time zone, IANA name (default the integration's account time zone)")
	pf.StringVar(&o.format, "format", "table", "output format: table, csv or json")
	pf.StringVar(&o.integration, "integration", "", "integration to report on (default: the only one in the database)")
	pf.StringVar(&o.only, "only", "", "keep one group of the breakdown (--by; chargebacks: the merchant account), by its id or its name")
	pf.StringArrayVar(&o.where, "where", nil, "keep the figures of some transactions only: DIMENSION=VALUE, an id or a name (e.g. campaign=\"Summer Trial\", mid=12);\nrepeat for several dimensions (all apply) or several values of one (any of them); dimensions: "+strings.Join(reports.ByValues, ", "))
	pf.StringVar(&o.currency, "currency", "", "restrict every figure to one currency (ISO code such as USD); needed when the data holds several, unless --by currency")
	pf.BoolVar(&o.noRollup, "no-rollup", false, "read every transaction instead of the pre-aggregated rollups (slower; same figures)")
	// Each subcommand keeps its own --by: the defaults differ.
	byFlag := func(c *cobra.Command, def string) *string {
		v := new(string)
		c.Flags().StringVar(v, "by", def, "break down by "+strings.Join(reports.ByValues, ", "))
		return v
	}

	var summaryBy, ltvBy, retentionBy *string
	var from, to string
	summary := &cobra.Command{
		Use:   "summary --from DATE --to DATE",
		Short: "Gross and net revenue, refunds (both views), orders, new customers, approval, refund and chargeback rates",
		Long: `Summary shows the period figures for the calendar days --from..--to
(inclusive) in the display time zone: gross revenue, refunds as the LTV seed
defines them (refunds dated in the range plus chargebacks received in the
range) and as Konnektive shows them (chargebacks of the range's sales), net
revenue, orders, new customers, sales, declines, approval rate (also initial
and rebill), refund and chargeback rates by count and by amount, and AOV.

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.by = *summaryBy
			return runReportCommand(cmd.Context(), g, o, func(ctx context.Context, q reports.Query) (reports.Result, error) {
				f, t, err := reportRange(from, to)
				if err != nil {
					return nil, err
				}
				return reports.Summary(ctx, q, f, t)
			})
		},
	}
	summaryBy = byFlag(summary, "")
	summary.Flags().StringVar(&from, "from", "", "first day YYYY-MM-DD (required)")
	summary.Flags().StringVar(&to, "to", "", "last day YYYY-MM-DD, inclusive (required)")

	var grain string
	trend := &cobra.Command{
		Use:   "trend --from DATE --to DATE [--grain day|week|month]",
		Short: "The summary figures per day, week or month of a range (the dashboard's trend)",
		Long: `Trend shows the summary's figures for each calendar day, ISO week (Monday to
Sunday) or month of --from..--to in the display time zone, the first and last
clipped to the range. Each row is exactly "konduit report summary" for its
days, so the rows add up to the range's summary (orders are distinct per row:
an order with sales in two rows counts in both). Filters (--where, --currency)
apply; a breakdown does not.

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReportCommand(cmd.Context(), g, o, func(ctx context.Context, q reports.Query) (reports.Result, error) {
				f, t, err := reportRange(from, to)
				if err != nil {
					return nil, err
				}
				switch grain {
				case reports.GrainDay, reports.GrainWeek, reports.GrainMonth:
				default:
					return nil, usageErrorf("--grain %q: want day, week or month", grain)
				}
				if _, err := reports.TrendSpans(f, t, grain); err != nil {
					return nil, usageErrorf("%v", err)
				}
				return reports.Trend(ctx, q, f, t, grain)
			})
		},
	}
	trend.Flags().StringVar(&from, "from", "", "first day YYYY-MM-DD (required)")
	trend.Flags().StringVar(&to, "to", "", "last day YYYY-MM-DD, inclusive (required)")
	trend.Flags().StringVar(&grain, "grain", reports.GrainDay, "day, week or month")

	reconcile := &cobra.Command{
		Use:   "reconcile --from DATE --to DATE",
		Short: "Why refunds and Konnektive's refunds + chargebacks differ, chargeback by chargeback",
		Long: `Reconcile lists every chargeback one of the two refund views counts for the
days --from..--to: "default" ones were received in the range for a sale
outside it, "konnektive" ones belong to a sale in the range and were received
outside it, "both" are counted by both. Their totals explain
refunds − refunds_konnektive_view exactly.

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReportCommand(cmd.Context(), g, o, func(ctx context.Context, q reports.Query) (reports.Result, error) {
				f, t, err := reportRange(from, to)
				if err != nil {
					return nil, err
				}
				return reports.Reconcile(ctx, q, f, t)
			})
		},
	}
	reconcile.Flags().StringVar(&from, "from", "", "first day YYYY-MM-DD (required)")
	reconcile.Flags().StringVar(&to, "to", "", "last day YYYY-MM-DD, inclusive (required)")

	var cohort, days, months, asOf string
	ltv := &cobra.Command{
		Use:   "ltv [--cohort day|week|month] [--days 0,7,30,... | --months 0,1,2,...] [--as-of DATE]",
		Short: "Gross and net lifetime value per customer by cohort, days or months since the first sale",
		Long: `LTV groups customers by the day, ISO week or month of their first sale (the
cohort) and shows, for each column, the cohort's sales (gross) and sales minus
refunds and chargebacks (net) up to that day since the first sale, divided by
the number of customers in the cohort. --months counts calendar months since
the first sale instead of days (month 0 is the first month). Nothing dated
after --as-of (default today) counts; a cell some customer of the cohort has
not reached yet is partial (marked * in the table, "partial": true in JSON).

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.by = *ltvBy
			return runReportCommand(cmd.Context(), g, o, func(ctx context.Context, q reports.Query) (reports.Result, error) {
				lo := reports.LTVOptions{Cohort: cohort, Days: reports.DefaultDays}
				var err error
				if cmd.Flags().Changed("days") && months != "" {
					return nil, usageErrorf("--days and --months exclude each other")
				}
				if months != "" {
					if lo.Months, err = reports.ParseCells(months); err != nil {
						return nil, usageErrorf("--months: %v", err)
					}
				} else if lo.Days, err = reports.ParseCells(days); err != nil {
					return nil, usageErrorf("--days: %v", err)
				}
				switch cohort {
				case reports.CohortDay, reports.CohortWeek, reports.CohortMonth:
				default:
					return nil, usageErrorf("--cohort %q: want day, week or month", cohort)
				}
				if asOf == "" {
					lo.AsOf = crm.DateOf(time.Now().In(q.Loc))
				} else if lo.AsOf, err = reportDay("as-of", asOf); err != nil {
					return nil, err
				}
				return reports.LTV(ctx, q, lo)
			})
		},
	}
	ltvBy = byFlag(ltv, "")
	ltv.Flags().StringVar(&cohort, "cohort", reports.CohortMonth, "cohort period: day, week or month")
	ltv.Flags().StringVar(&days, "days", "0,7,30,60,90,180,365", "columns: days since the first sale")
	ltv.Flags().StringVar(&months, "months", "", "columns: calendar months since the first sale (instead of --days), e.g. 0,1,2,3,6,12")
	ltv.Flags().StringVar(&asOf, "as-of", "", "the report's today, YYYY-MM-DD (default today in the display time zone)")

	var retFrom, retTo, retAsOf string
	retention := &cobra.Command{
		Use:   "retention [--by product|campaign] [--from DATE] [--to DATE] [--as-of DATE]",
		Short: "Subscription cycle table: approvals, declines, rebill rate and retention per billing cycle, with maturity",
		Long: `Retention shows, per product (or campaign, ...), each billing cycle in
Konnektive's numbering (the initial sale is cycle 1; Sticky.io counts from 0)
for the subscriptions whose cycle 1 falls in --from..--to (default: all):
subscriptions with an approved sale in the cycle, declined attempts, and
among the subscriptions old enough at --as-of (default today) for the cycle
to have been attempted ((N−1) billing intervals + 3 days; the interval is the
product's median gap between approved cycles): rebill rate (approved cycle N ÷
approved cycle N−1) and retention (approved cycle N ÷ eligible). A cycle some
subscriptions have not reached yet is partial (* in the table, a partial
column in CSV, "partial": true in JSON); retention_all ignores maturity.

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.by = *retentionBy
			return runReportCommand(cmd.Context(), g, o, func(ctx context.Context, q reports.Query) (reports.Result, error) {
				var ro reports.RetentionOptions
				var err error
				if retFrom != "" {
					if ro.From, err = reportDay("from", retFrom); err != nil {
						return nil, err
					}
				}
				if retTo != "" {
					if ro.To, err = reportDay("to", retTo); err != nil {
						return nil, err
					}
				}
				if !ro.From.IsZero() && !ro.To.IsZero() && ro.To.Before(ro.From) {
					return nil, usageErrorf("--to %s is before --from %s", ro.To, ro.From)
				}
				if retAsOf == "" {
					ro.AsOf = crm.DateOf(time.Now().In(q.Loc))
				} else if ro.AsOf, err = reportDay("as-of", retAsOf); err != nil {
					return nil, err
				}
				return reports.Retention(ctx, q, ro)
			})
		},
	}
	retentionBy = byFlag(retention, "product")
	retention.Flags().StringVar(&retFrom, "from", "", "first cycle-1 day YYYY-MM-DD (default: the first)")
	retention.Flags().StringVar(&retTo, "to", "", "last cycle-1 day YYYY-MM-DD, inclusive (default: the last)")
	retention.Flags().StringVar(&retAsOf, "as-of", "", "the report's today, YYYY-MM-DD (default today in the display time zone)")

	var visaRatio, mcRatio, earlyRatio string
	var visaCount, mcCount int64
	chargebacks := &cobra.Command{
		Use:   "chargebacks",
		Short: "Visa- and Mastercard-style chargeback ratios per merchant account, month and card brand, flagged over thresholds",
		Long: `Chargebacks shows, per merchant account (MID), calendar month M of the
display time zone and card brand (from each sale's BIN, else its card type),
with an "all cards" row first: chargebacks received in M (by chargebackDate),
sales in M and in M−1, the Visa-style ratio (chargebacks received in M ÷ sales
in M) and the Mastercard-style ratio (÷ sales in M−1). The Visa row is flagged
VISA when its Visa-style ratio is at or above --visa-ratio with at least
--visa-count chargebacks, the Mastercard row MC likewise; either is flagged
EARLY at --early-ratio whatever the count. The rule that raised each flag is
printed beside it.

` + metricsDoc,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReportCommand(cmd.Context(), g, o, func(ctx context.Context, q reports.Query) (reports.Result, error) {
				visa, err := reportThresholds("visa", visaRatio, visaCount)
				if err != nil {
					return nil, err
				}
				mc, err := reportThresholds("mastercard", mcRatio, mcCount)
				if err != nil {
					return nil, err
				}
				early, err := reportThresholds("early", earlyRatio, 0)
				if err != nil {
					return nil, err
				}
				return reports.Chargebacks(ctx, q, visa, mc, early)
			})
		},
	}
	chargebacks.Flags().StringVar(&visaRatio, "visa-ratio", "0.9%", "Visa-style threshold ratio (a percentage like 0.9% or a fraction like 0.009)")
	chargebacks.Flags().Int64Var(&visaCount, "visa-count", 100, "Visa-style threshold: minimum chargebacks in the month")
	chargebacks.Flags().StringVar(&mcRatio, "mastercard-ratio", "1.5%", "Mastercard-style threshold ratio")
	chargebacks.Flags().Int64Var(&mcCount, "mastercard-count", 100, "Mastercard-style threshold: minimum chargebacks in the month")
	chargebacks.Flags().StringVar(&earlyRatio, "early-ratio", "0.65%", "early-warning level, whatever the count")

	cmd.AddCommand(summary, trend, reconcile, ltv, retention, chargebacks)
	return cmd
}

func reportDay(flag, v string) (crm.Date, error) {
	d, err := crm.ParseDate(v)
	if err != nil || v == "" {
		return crm.Date{}, usageErrorf("--%s: want YYYY-MM-DD, got %q", flag, v)
	}
	return d, nil
}

func reportRange(from, to string) (crm.Date, crm.Date, error) {
	if from == "" || to == "" {
		return crm.Date{}, crm.Date{}, usageErrorf("--from and --to are required (YYYY-MM-DD, both inclusive)")
	}
	f, err := reportDay("from", from)
	if err != nil {
		return f, f, err
	}
	t, err := reportDay("to", to)
	if err != nil {
		return f, t, err
	}
	if t.Before(f) {
		return f, t, usageErrorf("--to %s is before --from %s", t, f)
	}
	return f, t, nil
}

func reportThresholds(name, ratio string, count int64) (reports.Thresholds, error) {
	s := strings.TrimSpace(ratio)
	pct := strings.HasSuffix(s, "%")
	d, err := decimal.NewFromString(strings.TrimSuffix(s, "%"))
	if err != nil || d.IsNegative() || count < 0 {
		return reports.Thresholds{}, usageErrorf("--%s-ratio %q / --%s-count %d: want a ratio like 0.9%% or 0.009 and a count ≥ 0", name, ratio, name, count)
	}
	if pct {
		d = d.Div(decimal.NewFromInt(100))
	}
	return reports.Thresholds{Ratio: d, Count: count}, nil
}

// runReportCommand opens the database, finds the integration and display zone,
// computes the report and prints it. Nothing is printed unless the whole
// report was computed.
func runReportCommand(ctx context.Context, g *globalOptions, o reportOptions, compute func(context.Context, reports.Query) (reports.Result, error)) error {
	if !slices.Contains(reports.Formats, o.format) {
		return usageErrorf("--format %q: want table, csv or json", o.format)
	}
	if _, err := reports.ByColumn(o.by); err != nil {
		return usageErrorf("--by: %v", err)
	}
	var filters []reports.Filter
	for _, w := range o.where {
		f, err := reports.ParseFilter(w)
		if err != nil {
			return usageErrorf("--where: %v", err)
		}
		filters = append(filters, f)
	}

	st, in, err := openReportIntegration(ctx, o.db, o.integration)
	if err != nil {
		return err
	}
	defer st.Close()
	zone := o.tz
	if zone == "" {
		zone = in.TimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return usageErrorf("--tz %q is not an IANA time zone name such as America/New_York", zone)
	}
	if err := load.Tune(ctx, st); err != nil {
		return err
	}
	q := reports.Query{Store: st, Integration: in.ID, Loc: loc, By: o.by, Only: o.only, Currency: o.currency, NoRollup: o.noRollup, Filters: filters}
	res, err := compute(ctx, q)
	if reports.IsMixedCurrencies(err) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	if err := reports.Write(g.stdout, o.format, res); err != nil {
		return err
	}
	// Rows the sync could not read are in no figure: say so under every
	// report (on stderr for csv and json, which programs read).
	held, err := st.QuarantineCounts(ctx, in.ID)
	if err != nil {
		return err
	}
	w := g.stderr
	if o.format == "table" {
		w = g.stdout
	}
	if held.Total() > 0 {
		fmt.Fprintf(w, "\n%s could not be read and are not in these figures; see konduit status\n", held.Phrase())
	}
	by := o.by
	if _, ok := res.(*reports.ChargebacksResult); ok {
		by = "merchant"
	}
	if note, err := reports.NamesNote(ctx, q, by); err != nil {
		return err
	} else if note != "" {
		fmt.Fprintf(w, "\nnote: %s\n", note)
	}
	if note := in.PartialNote(); note != "" {
		fmt.Fprintf(w, "\nwarning: %s\n", note)
	}
	return nil
}

// openReportIntegration opens the store and finds the integration to
// report on.
func openReportIntegration(ctx context.Context, dsn, name string) (*store.Store, *store.Integration, error) {
	st, err := openReportDB(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	in, err := reportIntegration(ctx, st, name)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, in, nil
}

// reportIntegration is the named integration, or the only one saved
// (integration.Find).
func reportIntegration(ctx context.Context, st *store.Store, name string) (*store.Integration, error) {
	return integration.Find(ctx, st, name, "")
}
