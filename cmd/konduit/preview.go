package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/preview"
)

type previewOptions struct {
	asOf    string
	format  string
	maxList int
}

func init() { register(newPreviewCmd) }

func newPreviewCmd(g *globalOptions) *cobra.Command {
	var o previewOptions
	cmd := &cobra.Command{
		Use:   "preview [flags] FILE...",
		Short: "Show what the import will create: counts, money, subscriptions, rebill readiness",
		Long: `Preview reads the legacy import files and says what the import will create:
customers, orders, transactions by type and response, exact money totals,
active subscriptions by nextBillDate week, product and merchantId.

It lists, by customerId (never a card number), the active subscriptions that
will not rebill (the card expires before nextBillDate, a masked card without
an externalToken, no payment data) and those due within 72 hours of --as-of:
the old system must stop billing those first, or the customer pays twice.
It lists the people who would be billed twice: a customer whose active
subscription shares an email address or a 10-digit phone number with an
earlier customer's, with both customer ids.

An active subscription is one customerId, campaignId and productId with
isActiveRecurring=1; its latest row (by dateCreated) gives its nextBillDate,
merchantId and payment data.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPreview(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.asOf, "as-of", "", "reference date YYYY-MM-DD: the day of the import (default today)")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.IntVar(&o.maxList, "max-list", 20, "subscriptions listed per section in text (counts are whole); -1 lists all")
	return cmd
}

func runPreview(ctx context.Context, g *globalOptions, o previewOptions, paths []string) error {
	asOf := crm.DateOf(time.Now())
	if o.asOf != "" {
		d, err := crm.ParseDate(o.asOf)
		if err != nil {
			return usageErrorf("--as-of %q is not a date YYYY-MM-DD", o.asOf)
		}
		asOf = d
	}
	if o.format != "text" && o.format != "json" {
		return usageErrorf("--format %q: want text or json", o.format)
	}
	rep, err := preview.Preview(ctx, legacy.FileInputs(paths), preview.Options{AsOf: asOf})
	if err != nil {
		return err
	}
	if o.format == "json" {
		return preview.WriteJSON(g.stdout, rep)
	}
	return preview.WriteText(g.stdout, rep, o.maxList)
}
