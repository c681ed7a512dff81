package report

import (
	"regexp"
	"strings"
)

// Kind is what a table column holds, for a display that formats it (the
// dashboard); the table, CSV and JSON formats write the cells as they are.
type Kind int

// The kinds of column.
const (
	KindText  Kind = iota // ids, names, dates, flags: shown as they are
	KindCount             // a whole number
	KindMoney             // an amount in the row's (or the report's) currency
	KindRate              // a four-place ratio, shown as a percentage
)

var (
	moneyColumns = map[string]bool{"gross_revenue": true, "refunds": true, "refunds_konnektive_view": true, "net_revenue": true, "aov": true,
		"refund_amount": true, "chargeback_amount": true, "chargeback_amount_konnektive_view": true, "amount": true}
	countColumns = map[string]bool{"orders": true, "new_customers": true, "sales": true, "declines": true, "refund_transactions": true,
		"chargebacks": true, "chargebacks_konnektive_view": true, "sales_initial": true, "declines_initial": true, "sales_rebill": true,
		"declines_rebill": true, "customers": true, "subscriptions": true, "approvals": true, "eligible": true, "eligible_approvals": true,
		"sales_prev_month": true}
	rateColumns = map[string]bool{"approval_rate": true, "refund_rate": true, "chargeback_rate": true, "refund_rate_amount": true,
		"chargeback_rate_amount": true, "approval_rate_initial": true, "approval_rate_rebill": true, "rebill_rate": true, "retention": true,
		"retention_all": true, "visa_ratio": true, "mastercard_ratio": true}
	ltvColumn = regexp.MustCompile(`^(gross|net)_(day|month)_[0-9]+$`)
)

// ColumnKind is the kind of a column of a report Table, by its header.
func ColumnKind(header string) Kind {
	switch {
	case moneyColumns[header] || ltvColumn.MatchString(header):
		return KindMoney
	case rateColumns[header]:
		return KindRate
	case countColumns[header]:
		return KindCount
	}
	return KindText
}

// ColumnTitle is a header as a reader says it: "net_day_30" is "Net day 30".
func ColumnTitle(header string) string {
	s := strings.ReplaceAll(header, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
