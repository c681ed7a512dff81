package convert

import (
	"testing"
	"time"

	"github.com/konduit/konduit/internal/fix"
)

// TestConvertAndFixAgree calls convert's format path and fix's repair path
// on the same values and wants the same answer from both: one normaliser
// per field type (internal/normalize). "refused" means the path declined
// (convert: a bad-value problem; fix: the value is left for a person).
func TestConvertAndFixAgree(t *testing.T) {
	const refused = "refused"
	c := &converter{account: time.UTC, report: &Report{}, groups: map[string]*ProblemGroup{}}
	convertPath := func(format string, layouts ...string) func(string) string {
		return func(v string) string {
			cc := &compiledCol{spec: &ColumnSpec{Format: format}, refs: []ref{{}}, srcLoc: time.UTC}
			for _, l := range layouts {
				tl, err := compileLayout(l)
				if err != nil {
					t.Fatal(err)
				}
				cc.layouts = append(cc.layouts, tl)
			}
			out, err := c.format(cc, v, &rowCtx{})
			if err != nil {
				return refused
			}
			return out
		}
	}
	fixPath := func(fn func(string) (string, bool)) func(string) string {
		return func(v string) string {
			out, ok := fn(v)
			if !ok {
				return refused
			}
			return out
		}
	}
	// fix repairs a phone in two steps (invalid-phone, then phone-length
	// on a US/CA row); convert's phone format does both.
	fixPhoneUS := fixPath(func(v string) (string, bool) {
		p, ok := fix.Phone(v)
		if !ok {
			return "", false
		}
		if n, ok := fix.NANP(p); ok {
			return n, true
		}
		return p, true
	})
	fixMoney2 := fixPath(func(v string) (string, bool) { return fix.Decimal(v, true) })
	fixDatetime := fixPath(func(v string) (string, bool) { return fix.Datetime(v, fix.MDY) })
	fixDate := fixPath(func(v string) (string, bool) { return fix.Date(v, fix.MDY) })
	cases := []struct {
		field    string
		conv     func(string) string
		fix      func(string) string
		in, want string
	}{
		// Phone: the extension is dropped, never glued on (the spec's phone
		// column is digits only and has no extension).
		{"phone", convertPath(fmtPhone), fixPhoneUS, "555-123-4567 ext 9", "5551234567"},
		{"phone", convertPath(fmtPhone), fixPhoneUS, "555-123-4567 x12", "5551234567"},
		{"phone", convertPath(fmtPhone), fixPhoneUS, "+1 (555) 111-2222", "5551112222"},
		{"phone", convertPath(fmtPhone), fixPhoneUS, "+49 30 1234567", "49301234567"},
		{"phone", convertPath(fmtPhone), fixPhoneUS, "call me", refused},
		// Country: ISO 3166-1 through internal/geo; names and alpha-3 codes
		// read, codes ISO does not assign refused.
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "Austria", "AT"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "Brazil", "BR"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "Deutschland", "DE"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "United States", "US"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "usa", "US"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "DEU", "DE"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "uk", "GB"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "ca", "CA"},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "ZZ", refused},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "EU", refused},
		{"country", convertPath(fmtCountry), fixPath(fix.Country), "Narnia", refused},
		// Bit.
		{"bit", convertPath(fmtBit), fixPath(fix.Bit), "Yes", "1"},
		{"bit", convertPath(fmtBit), fixPath(fix.Bit), "off", "0"},
		{"bit", convertPath(fmtBit), fixPath(fix.Bit), "maybe", refused},
		// Amounts (convert writes two decimals, as fix does for Decimal
		// (xx.xx format) columns).
		{"amount", convertPath(fmtAmount), fixMoney2, "$1,234.50", "1234.50"},
		{"amount", convertPath(fmtAmount), fixMoney2, "1,234.5", "1234.50"},
		{"amount", convertPath(fmtAmount), fixMoney2, "-$3.10", "-3.10"},
		{"amount", convertPath(fmtAmount), fixMoney2, "(12.00)", "-12.00"},
		{"amount", convertPath(fmtAmount), fixMoney2, "1.500", "1.50"},
		{"amount", convertPath(fmtAmount), fixMoney2, "12,34", refused},
		{"amount", convertPath(fmtAmount), fixMoney2, "1.005", refused},
		{"amount", convertPath(fmtAmount), fixMoney2, "abc", refused},
		// Card expiry.
		{"expiry month", convertPath(fmtExpMonth), fixPath(fix.ExpiryMonth), "1", "01"},
		{"expiry month", convertPath(fmtExpMonth), fixPath(fix.ExpiryMonth), "09/27", "09"},
		{"expiry month", convertPath(fmtExpMonth), fixPath(fix.ExpiryMonth), "13", refused},
		{"expiry year", convertPath(fmtExpYear), fixPath(fix.ExpiryYear), "27", "2027"},
		{"expiry year", convertPath(fmtExpYear), fixPath(fix.ExpiryYear), "09/27", "2027"},
		{"expiry year", convertPath(fmtExpYear), fixPath(fix.ExpiryYear), "x", refused},
		// Dates: convert reads the layouts a mapping names, fix the forms
		// it can decide; on the forms both read they agree.
		{"datetime", convertPath(fmtDatetime, "iso8601", "M/D/YYYY h:mm A"), fixDatetime, "2024-11-05T15:04:05Z", "2024-11-05 15:04:05"},
		{"datetime", convertPath(fmtDatetime, "iso8601", "M/D/YYYY h:mm A"), fixDatetime, "11/05/2024 3:04 PM", "2024-11-05 15:04:00"},
		{"datetime", convertPath(fmtDatetime, "iso8601", "M/D/YYYY h:mm A"), fixDatetime, "2/30/2024 10:00 AM", refused},
		{"date", convertPath(fmtDate, "M/D/YYYY", "YYYY-M-D"), fixDate, "1/5/2024", "2024-01-05"},
		{"date", convertPath(fmtDate, "M/D/YYYY", "YYYY-M-D"), fixDate, "2024-1-5", "2024-01-05"},
		{"date", convertPath(fmtDate, "M/D/YYYY", "YYYY-M-D"), fixDate, "2/29/2023", refused},
	}
	for _, tc := range cases {
		gotC, gotF := tc.conv(tc.in), tc.fix(tc.in)
		if gotC != tc.want || gotF != tc.want {
			t.Errorf("%s %q: convert %q, fix %q, want %q from both", tc.field, tc.in, gotC, gotF, tc.want)
		}
	}
}
