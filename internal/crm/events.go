package crm

import (
	"fmt"
	"strings"
)

// The events of metrics.md ("Events"), defined once as data: which
// transaction types count and which responses. The Go predicates
// (Transaction.IsSale, IsSaleOf...) and the SQL fragments every query uses
// (SaleSQL...) are generated from these, so the store's SQL and the code
// that reads rows one by one cannot disagree.
var (
	saleTypes    = []string{TxnSale, TxnCapture}
	declineTypes = []string{TxnSale, TxnAuthorize}
	refundTypes  = []string{TxnRefund, TxnVoid}
)

// IsSaleOf reports whether a transaction of this type and response is a
// sale: a SALE or CAPTURE with responseType SUCCESS. An AUTHORIZE is not
// revenue until its CAPTURE.
func IsSaleOf(txnType, resp string) bool {
	return in(saleTypes, txnType) && resp == RespSuccess
}

// IsDeclineOf reports whether it is a decline: a SALE or AUTHORIZE whose
// response is set and not SUCCESS (DECLINE, HARD_DECLINE, SOFT_DECLINE).
func IsDeclineOf(txnType, resp string) bool {
	return in(declineTypes, txnType) && resp != RespSuccess && resp != ""
}

// IsRefundOf reports whether it is a refund: a successful REFUND, or a
// successful VOID (the API's void of a settled sale).
func IsRefundOf(txnType, resp string) bool {
	return in(refundTypes, txnType) && resp == RespSuccess
}

// SaleSQL is IsSaleOf as a SQL condition over the transactions table's
// txn_type and response_type; alias ("" or "t.") prefixes the columns.
func SaleSQL(alias string) string {
	return fmt.Sprintf("(%stxn_type IN (%s) AND %sresponse_type = '%s')", alias, sqlList(saleTypes), alias, RespSuccess)
}

// DeclineSQL is IsDeclineOf in SQL.
func DeclineSQL(alias string) string {
	return fmt.Sprintf("(%stxn_type IN (%s) AND %sresponse_type NOT IN ('%s', ''))", alias, sqlList(declineTypes), alias, RespSuccess)
}

// RefundSQL is IsRefundOf in SQL.
func RefundSQL(alias string) string {
	return fmt.Sprintf("(%stxn_type IN (%s) AND %sresponse_type = '%s')", alias, sqlList(refundTypes), alias, RespSuccess)
}

// ChargebackSQL is a chargeback (metrics.md): a sale with isChargedback=1;
// its date is chargeback_date, its amount chargeback_cents.
func ChargebackSQL(alias string) string {
	return fmt.Sprintf("(%s AND %schargedback = 1)", SaleSQL(alias), alias)
}

// IsChargeback reports whether the transaction is a chargeback: a sale
// marked charged back.
func (t *Transaction) IsChargeback() bool { return t.IsSale() && t.Chargedback }

// RefundTypesSQL lists the refund transaction types for SQL ("'REFUND',
// 'VOID'"), for queries that select refund rows whatever their response.
func RefundTypesSQL() string { return sqlList(refundTypes) }

func in(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sqlList(list []string) string {
	q := make([]string, len(list))
	for i, v := range list {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}
