package preview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/konduit/konduit/internal/cardnum"
)

// WriteJSON writes the report as JSON; amounts are decimal strings.
func WriteJSON(w io.Writer, r *Report) error {
	type totals struct {
		Sales       string `json:"sales"`
		Refunds     string `json:"refunds"`
		Chargebacks string `json:"chargebacks"`
		Declined    string `json:"declined"`
		Net         string `json:"net"`
	}
	out := struct {
		*Report
		Totals totals `json:"totals"`
	}{r, totals{r.Totals.Sales.String(), r.Totals.Refunds.String(), r.Totals.Chargebacks.String(), r.Totals.Declined.String(), r.Net().String()}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write preview: %w", err)
	}
	// Ids, dates and words come from the files: card numbers are masked.
	if _, err := w.Write(cardnum.MaskJSON(b.Bytes())); err != nil {
		return fmt.Errorf("write preview: %w", err)
	}
	return nil
}

// WriteText writes the report for a person to read. maxList caps the
// subscriptions listed per section (counts are always whole); <0 lists all.
func WriteText(w io.Writer, r *Report, maxList int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "import preview as of %s (%s)\n\n", r.AsOf, strings.Join(r.Files, ", "))
	fmt.Fprintf(&b, "customers      %8d\norders         %8d\ntransactions   %8d\nnotes          %8d\ndetails        %8d\n\n", r.Customers, r.Orders, r.Transactions, r.Notes, r.Details)
	b.WriteString("transactions by type and response:\n")
	for _, t := range r.ByType {
		fmt.Fprintf(&b, "  %-10s %-8s %8d  %14s\n", t.TxnType, t.Response, t.Count, t.Total)
	}
	fmt.Fprintf(&b, "\nmoney:\n  sales (SALE, CAPTURE: SUCCESS) %14s\n  refunds                        %14s\n  net                            %14s\n  chargebacks                    %14s\n  declined (not received)        %14s\n",
		r.Totals.Sales, r.Totals.Refunds, r.Net(), r.Totals.Chargebacks, r.Totals.Declined)
	if r.UnreadAmounts > 0 {
		fmt.Fprintf(&b, "  %d rows have a totalAmount that is not a decimal and are not counted (run konduit fix)\n", r.UnreadAmounts)
	}
	fmt.Fprintf(&b, "\nactive subscriptions %d\n", r.ActiveSubscriptions)
	section := func(title string, l []Bucket) {
		fmt.Fprintf(&b, "  %s:\n", title)
		for _, x := range l {
			fmt.Fprintf(&b, "    %-24s %6d\n", x.Key, x.Count)
		}
	}
	section("by nextBillDate week (starting Monday)", r.ByWeek)
	section("by productId", r.ByProduct)
	section("by merchantId", r.ByMerchant)
	list := func(title string, l []Subscription) {
		fmt.Fprintf(&b, "\n%s: %d\n", title, len(l))
		for i, s := range l {
			if maxList >= 0 && i >= maxList {
				fmt.Fprintf(&b, "  … and %d more (--max-list -1 lists all)\n", len(l)-i)
				break
			}
			fmt.Fprintf(&b, "  customer %-20s campaign %-6s product %-6s next %-10s  %s\n", s.CustomerID, s.CampaignID, s.ProductID, s.NextBillDate, s.Reason)
		}
	}
	list("active subscriptions that will not rebill", r.WontRebill)
	list("active subscriptions due within 72 hours (the old system must stop billing them first, or the customer pays twice)", r.DueSoon)
	fmt.Fprintf(&b, "\npeople who would be billed twice (two customerIds with active subscriptions and one email address or phone number): %d\n", len(r.BilledTwice))
	for i, tw := range r.BilledTwice {
		if maxList >= 0 && i >= maxList {
			fmt.Fprintf(&b, "  … and %d more (--max-list -1 lists all)\n", len(r.BilledTwice)-i)
			break
		}
		fmt.Fprintf(&b, "  customer %-20s and customer %-20s same %s\n", tw.CustomerID, tw.OtherCustomerID, tw.Shared)
	}
	// Ids, dates and words come from the files: card numbers are masked.
	if _, err := io.WriteString(w, cardnum.MaskText(b.String())); err != nil {
		return fmt.Errorf("write preview: %w", err)
	}
	return nil
}
