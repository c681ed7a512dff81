package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/konduit/konduit/internal/cardnum"
)

// sortDiffs orders a customer's differences: the customer itself, then
// contact fields, then the rest by field and row.
func sortDiffs(ds []Difference) {
	rank := func(f string) int {
		if f == "customer" || f == "customerId" {
			return 0
		}
		for _, n := range contactNames {
			if n == f {
				return 1
			}
		}
		return 2
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := &ds[i], &ds[j]
		if ra, rb := rank(a.Field), rank(b.Field); ra != rb {
			return ra < rb
		}
		if rank(a.Field) == 1 {
			return false // contact fields keep their report order
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if a.MerchantTxnID != b.MerchantTxnID {
			return a.MerchantTxnID < b.MerchantTxnID
		}
		if a.OrderID != b.OrderID {
			return a.OrderID < b.OrderID
		}
		if a.ProductID != b.ProductID {
			return a.ProductID < b.ProductID
		}
		return a.Konnektive < b.Konnektive
	})
}

// WriteText writes the report for a terminal: the verdict, then each
// customer with differences, one line per field. Values come from the files
// and the API: card numbers in them are masked (cardnum.MaskText), here and
// in WriteJSON.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintln(&b, r.Verdict)
	fmt.Fprintf(&b, "files: %d customers, %d orders, %d transactions, %d active subscriptions\n", r.File.Customers, r.File.Orders, r.File.Transactions, r.File.Subscriptions)
	fmt.Fprintf(&b, "konnektive: %d customers (%d matched, %d not in the files, not compared), %d orders, %d transactions, %d purchases\n",
		r.Konnektive.Customers, r.Matched, r.Unrelated, r.Konnektive.Orders, r.Konnektive.Transactions, r.Konnektive.Subscriptions)
	fmt.Fprintf(&b, "queries: %s strategy, %d pages", r.Strategy, r.Pages)
	if r.Requests > 0 {
		fmt.Fprintf(&b, ", %d requests", r.Requests)
	}
	fmt.Fprintf(&b, " in %s\n", r.ElapsedText)
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped %s: not a transactions file (notes and details are not compared)\n", s)
	}
	for _, c := range r.Customers {
		k := c.KonnektiveID
		if k == "" {
			k = "not found"
		}
		fmt.Fprintf(&b, "\ncustomer %s (Konnektive %s): %s\n", c.CustomerID, k, plural(len(c.Differences), "difference"))
		for _, d := range c.Differences {
			b.WriteString("  ")
			b.WriteString(d.Field)
			switch {
			case d.MerchantTxnID != "":
				b.WriteString(" [merchantTxnId " + d.MerchantTxnID + "]")
			case d.OrderID != "":
				b.WriteString(" [orderId " + d.OrderID + "]")
			case d.ProductID != "":
				b.WriteString(" [productId " + d.ProductID + "]")
			}
			fmt.Fprintf(&b, ": file %s, konnektive %s", d.File, d.Konnektive)
			if d.Note != "" {
				b.WriteString(" (" + d.Note + ")")
			}
			b.WriteByte('\n')
		}
		if b.Len() > 64<<10 {
			if _, err := io.WriteString(w, cardnum.MaskText(b.String())); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			b.Reset()
		}
	}
	if _, err := io.WriteString(w, cardnum.MaskText(b.String())); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	out := *r
	if out.Customers == nil {
		out.Customers = []CustomerResult{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if _, err := w.Write(cardnum.MaskJSON(b.Bytes())); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
