package report

import "testing"

func TestColumnKind(t *testing.T) {
	for _, tc := range []struct {
		h    string
		want Kind
	}{
		{"gross_revenue", KindMoney}, {"aov", KindMoney}, {"net_day_30", KindMoney}, {"gross_month_12", KindMoney}, {"amount", KindMoney},
		{"approval_rate", KindRate}, {"retention_all", KindRate}, {"visa_ratio", KindRate}, {"rebill_rate", KindRate},
		{"orders", KindCount}, {"customers", KindCount}, {"sales_prev_month", KindCount},
		{"merchant", KindText}, {"cohort", KindText}, {"cycle", KindText}, {"currency", KindText}, {"partial_day_30", KindText}, {"net_day_x", KindText},
	} {
		if got := ColumnKind(tc.h); got != tc.want {
			t.Errorf("ColumnKind(%q) = %d, want %d", tc.h, got, tc.want)
		}
	}
}

// Every column the reports write has a kind; only ids, names, dates and
// words are text.
func TestEveryColumnHasAKind(t *testing.T) {
	text := map[string]bool{"merchant": true, "merchant_name": true, "month": true, "brand": true, "currency": true, "flags": true, "rule": true,
		"cohort": true, "cycle": true, "transaction_id": true, "customer_id": true, "sale_date": true, "chargeback_date": true, "counted_in": true}
	var headers []string
	headers = append(headers, summaryColumns...)
	headers = append(headers, (&ChargebacksResult{}).Table().Header...)
	headers = append(headers, (&RetentionResult{}).Table().Header...)
	headers = append(headers, (&ReconcileResult{}).Table().Header...)
	headers = append(headers, (&LTVResult{}).Table().Header...)
	for _, h := range headers {
		if h != "" && ColumnKind(h) == KindText && !text[h] {
			t.Errorf("column %q has no kind: add it to columns.go", h)
		}
	}
}
