package web

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/konduit/konduit/internal/report"
)

// The one set of display formats every page uses (template functions
// "money", "pct", "int"; report tables through shownTable): amounts with
// their currency and thousands separators, rates as percentages. Values
// arrive as the exact decimal strings the report package writes and are
// reformatted as text, never through a float. Downloads (CSV, JSON) keep
// the report's plain values.

// currencySymbols are the symbols shown before an amount; any other
// currency is written as its code and a space ("CHF 1,204.00").
var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "INR": "₹", "BRL": "R$", "MXN": "MX$"}

// money shows a decimal amount ("-12842.8") in a currency: "-$12,842.80".
// An empty currency shows no symbol; an empty amount is "–"; a value that
// is not a number is shown as it is.
func money(amount, currency string) string {
	amount = strings.TrimSpace(amount)
	if amount == "" {
		return "–"
	}
	d, err := decimal.NewFromString(amount)
	if err != nil {
		return amount
	}
	s := d.StringFixed(2)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	out := groupDigits(whole) + "." + frac
	if c := strings.ToUpper(strings.TrimSpace(currency)); c != "" {
		if sym, ok := currencySymbols[c]; ok {
			out = sym + out
		} else {
			out = c + " " + out
		}
	}
	if neg {
		out = "-" + out
	}
	return out
}

// groupDigits puts a comma between every three digits of a run of digits.
func groupDigits(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatInt writes n with thousands separators.
func formatInt(n int64) string { return count(strconv.FormatInt(n, 10)) }

// count shows a whole number written in digits with separators ("12,345");
// anything else as it is.
func count(s string) string {
	t := strings.TrimPrefix(s, "-")
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return s
	}
	if t != s {
		return "-" + groupDigits(t)
	}
	return groupDigits(t)
}

// pct shows a four-place rate string ("0.1234") as a percentage ("12.34%")
// by moving the decimal point: exact, no float. Empty (undefined) is "–".
func pct(s string) string {
	if s == "" {
		return "–"
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return d.Shift(2).StringFixed(2) + "%"
}

// shownTable is a report table as a page shows it: headers in words,
// money with its currency, rates as percentages, counts with separators;
// a partial cell keeps its "*".
type shownTable struct {
	Header []string
	Num    []bool // right-aligned numeric columns
	Rows   [][]string
	// Links make cells links (Links[row][column]; "" or missing: none):
	// a report's drillable cells to their drill pages (drillLinks), a
	// drill's customers to their pages.
	Links [][]string
}

// Link is the link of a cell, or "".
func (t shownTable) Link(row, col int) string {
	if row < len(t.Links) && col < len(t.Links[row]) {
		return t.Links[row][col]
	}
	return ""
}

// showTable formats t (already Marked). currency is the report's one
// currency ("" when unknown); a "currency" column, when the table has one,
// gives each row's own.
func showTable(t report.Table, currency string) shownTable {
	st := shownTable{Num: make([]bool, len(t.Header))}
	kinds := make([]report.Kind, len(t.Header))
	curCol := -1
	for i, h := range t.Header {
		st.Header = append(st.Header, report.ColumnTitle(h))
		kinds[i] = report.ColumnKind(h)
		st.Num[i] = kinds[i] != report.KindText
		if h == "currency" {
			curCol = i
		}
	}
	for _, row := range t.Rows {
		cur := currency
		if curCol >= 0 && curCol < len(row) && row[curCol] != "" {
			cur = row[curCol]
		}
		out := make([]string, len(row))
		for i, cell := range row {
			out[i] = cell
			if i >= len(kinds) || cell == "" {
				continue
			}
			v, mark := strings.CutSuffix(cell, "*")
			var f string
			switch kinds[i] {
			case report.KindMoney:
				f = money(v, cur)
			case report.KindRate:
				f = pct(v)
			case report.KindCount:
				f = count(v)
			default:
				continue
			}
			if mark {
				f += "*"
			}
			out[i] = f
		}
		st.Rows = append(st.Rows, out)
	}
	return st
}
