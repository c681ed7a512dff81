// Package check validates Konnektive legacy import files against every rule
// of shared/spec/legacy-import.md. Rules are compiled once per file from
// the header and the column spec in internal/legacy; files are parsed in
// parallel chunks; cross-row and cross-file rules run over id indexes whose
// size grows with the number of ids, never with the file.
package check

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/konduit/konduit/internal/cardnum"
)

// Severity of a finding.
type Severity int

// Severities.
const (
	Warning Severity = iota + 1
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// MarshalJSON writes "error" or "warning".
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads "error" or "warning".
func (s *Severity) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	default:
		return fmt.Errorf("unknown severity %q", v)
	}
	return nil
}

// Rule is one checkable rule of legacy-import.md.
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Fixable  bool     `json:"fixable"` // `konduit fix` can repair some or all cases mechanically
	Summary  string   `json:"summary"`
}

// Rule ids. They are stable: other commands, scripts and the dashboard
// match on them.
const (
	RuleFileNotCSV          = "file-not-csv"
	RuleFileEmpty           = "file-empty"
	RuleFileKindUnknown     = "file-kind-unknown"
	RuleCSVSyntax           = "csv-syntax"
	RuleCSVLineEndings      = "csv-line-endings"
	RuleCSVNUL              = "csv-nul"
	RuleCSVRecordTooLarge   = "csv-record-too-large"
	RuleCSVTooManyFields    = "csv-too-many-fields"
	RuleCSVFieldCount       = "csv-field-count"
	RuleHeaderDuplicate     = "header-duplicate"
	RuleHeaderUnknown       = "header-unknown"
	RuleHeaderMissing       = "header-missing-required"
	RuleHeaderMissingOpt    = "header-missing-optional"
	RuleHeaderOrder         = "header-order"
	RuleEncoding            = "encoding"
	RuleBOM                 = "bom"
	RuleBlankLine           = "blank-line"
	RuleTooLong             = "too-long"
	RuleInvalidCountry      = "invalid-country"
	RuleInvalidInteger      = "invalid-integer"
	RuleInvalidDecimal      = "invalid-decimal"
	RuleInvalidBit          = "invalid-bit"
	RuleInvalidDatetime     = "invalid-datetime"
	RuleInvalidDate         = "invalid-date"
	RuleInvalidEnum         = "invalid-enum"
	RuleInvalidPhone        = "invalid-phone"
	RuleInvalidEmail        = "invalid-email"
	RuleRequired            = "required"
	RuleRequiredIf          = "required-if"
	RuleAddress2Empty       = "address2-empty"
	RuleNextBillIgnored     = "next-bill-date-ignored"
	RuleNextBillPast        = "next-bill-date-past"
	RuleCardLength          = "card-length"
	RuleCardLuhn            = "card-luhn"
	RuleCardMasked          = "card-masked"
	RuleCardTruncated       = "card-truncated"
	RuleCardExpiryMonth     = "card-expiry-month"
	RuleCardExpiryYear      = "card-expiry-year"
	RuleCardExpired         = "card-expired"
	RuleABAChecksum         = "aba-checksum"
	RuleParentMissing       = "parent-missing"
	RuleParentType          = "parent-type"
	RuleRefundsExceed       = "refunds-exceed-parent"
	RuleTotalMismatch       = "total-mismatch"
	RuleNegativeAmount      = "negative-amount"
	RuleDuplicateTxnID      = "duplicate-merchant-txn-id"
	RuleOrderTwoCustomers   = "order-multiple-customers"
	RuleCustomerMismatch    = "customer-inconsistent"
	RuleStateInvalid        = "state-invalid"
	RuleStateFullName       = "state-full-name"
	RulePostalCodeUS        = "postal-code-us"
	RulePhoneLength         = "phone-length"
	RuleChargebackBefore    = "chargeback-date-before-sale"
	RuleChargebackExceeds   = "chargeback-exceeds-total"
	RuleQuantityDefault     = "quantity-default"
	RuleDateCreatedFuture   = "date-created-future"
	RuleFormulaInjection    = "formula-injection"
	RuleCardNumberElsewhere = "card-number-elsewhere"
	RuleSpreadsheetNumber   = "spreadsheet-number"
	RuleActiveNotCharge     = "active-not-charge"
	RuleActiveDuplicate     = "active-duplicate"
	RuleDoubleBilling       = "double-billing"
	RuleUnknownCustomer     = "unknown-customer"
	RuleCSVDelimiter        = "csv-delimiter"
)

// Rules lists every rule, in the order of legacy-import.md.
var Rules = []Rule{
	{RuleCSVSyntax, Error, false, "CSV syntax (RFC 4180): an unbalanced quote or a stray quote"},
	{RuleCSVLineEndings, Error, true, "lines end in CR alone (Excel for Mac), not CRLF or LF"},
	{RuleCSVNUL, Error, false, "a NUL byte: the file is not text"},
	{RuleCSVRecordTooLarge, Error, false, "a record larger than the limit (1 MiB)"},
	{RuleCSVTooManyFields, Error, false, "a record with more fields than the limit"},
	{RuleCSVFieldCount, Error, false, "a record with more or fewer fields than the header"},
	{RuleHeaderDuplicate, Error, false, "the header names a column twice"},
	{RuleHeaderUnknown, Error, false, "the header names a column that is not in the spec"},
	{RuleHeaderMissing, Error, false, "a required column is missing from the header"},
	{RuleHeaderMissingOpt, Warning, true, "an optional column is missing from the header (the writer adds it, empty)"},
	{RuleHeaderOrder, Warning, true, "columns out of the canonical order (the writer reorders)"},
	{RuleEncoding, Error, true, "bytes that are not UTF-8 (Excel's Windows-1252, Latin-1)"},
	{RuleBOM, Warning, true, "a byte-order mark"},
	{RuleBlankLine, Warning, true, "a blank line (skipped)"},
	{RuleFileNotCSV, Error, false, "the file is not .csv"},
	{RuleFileEmpty, Error, false, "the file is empty"},
	{RuleFileKindUnknown, Error, false, "the header is not that of a transactions, notes or details file"},
	{RuleCSVDelimiter, Error, true, "the header is one cell holding the column names joined by ; or a tab: the file is not comma-separated"},
	{RuleTooLong, Error, false, "a value longer than its column allows (code points)"},
	{RuleInvalidCountry, Error, true, "not an upper-case ISO 3166-1 alpha-2 country code"},
	{RuleInvalidInteger, Error, false, "not an integer (ASCII digits only: no sign, separator or decimal point)"},
	{RuleInvalidDecimal, Error, true, "not a decimal (-digits[.digits], at most 2 fractional digits)"},
	{RuleInvalidBit, Error, true, "not exactly 0 or 1"},
	{RuleInvalidDatetime, Error, true, "not a real date and time as YYYY-MM-DD HH:MM:SS"},
	{RuleInvalidDate, Error, true, "not a real date as YYYY-MM-DD"},
	{RuleInvalidEnum, Error, true, "not one of the column's words, exact case and spelling"},
	{RuleInvalidPhone, Error, true, "a phone number with characters other than digits"},
	{RuleInvalidEmail, Error, false, "not an email address local@domain.tld"},
	{RuleRequired, Error, false, "a required column is empty"},
	{RuleAddress2Empty, Warning, false, "address2 (or shipAddress2) is empty: the seed marks it required"},
	{RuleRequiredIf, Error, false, "a column required by another column's value is empty"},
	{RuleNextBillIgnored, Warning, false, "nextBillDate on a row with isActiveRecurring=0 (ignored by the import)"},
	{RuleNextBillPast, Warning, false, "nextBillDate before the reference date on an active subscription (it would rebill at once)"},
	{RuleCardLength, Error, false, "cardNumber is not 13 to 19 digits"},
	{RuleCardLuhn, Error, false, "cardNumber fails the Luhn check"},
	{RuleCardMasked, Error, false, "cardNumber is masked but externalToken is empty"},
	{RuleCardTruncated, Error, false, "cardNumber was truncated by a spreadsheet (15 significant digits, scientific notation)"},
	{RuleCardExpiryMonth, Error, true, "cardExpiryMonth is not two digits 01..12"},
	{RuleCardExpiryYear, Error, true, "cardExpiryYear is not four digits"},
	{RuleCardExpired, Warning, false, "the card expires before nextBillDate on an active subscription (the rebill will decline)"},
	{RuleABAChecksum, Error, false, "achRoutingNumber is not nine digits with a valid ABA checksum"},
	{RuleParentMissing, Error, false, "parentTxnId names no merchantTxnId of the file"},
	{RuleParentType, Warning, false, "a REFUND's parent is not a SALE or CAPTURE, or a CAPTURE's parent is not an AUTHORIZE"},
	{RuleRefundsExceed, Warning, false, "refunds of one parent add up to more than its totalAmount"},
	{RuleTotalMismatch, Error, false, "totalAmount is not subTotal + shipTotal + salesTax"},
	{RuleNegativeAmount, Warning, false, "a negative amount"},
	{RuleDuplicateTxnID, Error, false, "merchantTxnId repeated in the file"},
	{RuleOrderTwoCustomers, Error, false, "one orderId under two different customerIds"},
	{RuleCustomerMismatch, Warning, false, "one customerId with different names or email addresses"},
	{RuleStateInvalid, Error, false, "state (US/CA) is not a state or province"},
	{RuleStateFullName, Warning, true, "state (US/CA) is a full name, not the two-letter postal code"},
	{RulePostalCodeUS, Warning, true, "US postal code is not 5 or 5+4 digits"},
	{RulePhoneLength, Warning, true, "US/CA phone number is not 10 digits"},
	{RuleChargebackBefore, Warning, false, "chargebackDate before dateCreated"},
	{RuleChargebackExceeds, Warning, false, "chargebackTotal above totalAmount"},
	{RuleQuantityDefault, Warning, false, "quantity empty, 0 or negative: the import sets it to 1"},
	{RuleDateCreatedFuture, Warning, false, "dateCreated after the reference date"},
	{RuleFormulaInjection, Warning, false, "a text cell starting with =, +, - or @ (formula injection in a spreadsheet)"},
	{RuleCardNumberElsewhere, Warning, false, "a Luhn-valid 13-19 digit run outside cardNumber (in a carrier's or processor's identifier: only a whole card number of a known scheme)"},
	{RuleSpreadsheetNumber, Error, false, "a cell in scientific notation, or a digits-only identifier ending in .0: a spreadsheet rewrote it and the digits are lost"},
	{RuleActiveNotCharge, Error, false, "isActiveRecurring=1 on a row that is not a successful SALE or CAPTURE"},
	{RuleActiveDuplicate, Warning, false, "more than one isActiveRecurring=1 row for one customerId and productId (one subscription per row)"},
	{RuleDoubleBilling, Warning, false, "two customerIds with active subscriptions share an email address or a 10-digit phone number (billed twice)"},
	{RuleUnknownCustomer, Error, false, "customerId not present in the transactions file"},
}

// ruleIndex numbers the rules by their place in Rules.
var ruleIndex = func() map[string]int {
	m := make(map[string]int, len(Rules))
	for i, r := range Rules {
		m[r.ID] = i
	}
	return m
}()

var rulesByID = func() map[string]Rule {
	m := make(map[string]Rule, len(Rules))
	for _, r := range Rules {
		m[r.ID] = r
	}
	return m
}()

// RuleByID returns a rule's metadata.
func RuleByID(id string) (Rule, bool) {
	r, ok := rulesByID[id]
	return r, ok
}

// Finding is one thing wrong with a file, where it is, and what to do.
type Finding struct {
	File     string   `json:"file"`
	Row      int      `json:"row"`    // spreadsheet row: header = 1
	Column   string   `json:"column"` // the seed's letter, A..BF ("" for file-level)
	Field    string   `json:"field"`  // the column's name
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	col      int      // canonical column index, for ordering
	seq      int      // file order, for ordering
	line     int      // for syntax findings: the record's first line, relative to its chunk
	ord      int      // the order the collector kept it in
}

// FileSummary is one file's outcome.
type FileSummary struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"`
	Rows     int    `json:"rows"` // data rows (header and blank lines excluded)
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
}

// RuleCount is how often a rule fired, exactly.
type RuleCount struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Count    int      `json:"count"`
}

// Report is the outcome of validating a set of files.
type Report struct {
	Files    []FileSummary `json:"files"`
	Findings []Finding     `json:"findings"` // the kept examples, at most MaxFindings per rule
	Counts   []RuleCount   `json:"-"`        // exact counts per rule and severity
}

// Errors is the exact number of errors across files.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Files {
		n += f.Errors
	}
	return n
}

// Warnings is the exact number of warnings across files.
func (r *Report) Warnings() int {
	n := 0
	for _, f := range r.Files {
		n += f.Warnings
	}
	return n
}

// collector counts findings exactly and keeps, per rule, the examples
// that come first in the files (by file, row and column; then in the
// order they were found), whatever order the rules find them in: the
// cross-row rules find theirs at a file's end, or in later passes. Workers
// ask wants before building a finding: once a rule holds all the examples
// it keeps, none of them after the current file, they only count.
type collector struct {
	max     int // examples kept per rule; <0: all
	strict  bool
	kept    [][]Finding   // by rule index; once it holds max, a heap whose top comes last
	full    []atomic.Bool // by rule index: wants says no
	counts  map[RuleCount]int
	found   int // findings kept so far: their order
	file    *FileSummary
	fileSeq int
}

func newCollector(max int, strict bool) *collector {
	return &collector{max: max, strict: strict, kept: make([][]Finding, len(Rules)), full: make([]atomic.Bool, len(Rules)), counts: map[RuleCount]int{}}
}

// setFile makes the file findings are added to (sum, the seq-th input)
// the current one.
func (c *collector) setFile(sum *FileSummary, seq int) {
	c.file, c.fileSeq = sum, seq
	for i := range c.kept {
		c.updateFull(i)
	}
}

// wants reports whether a finding of rule idx may still be kept.
func (c *collector) wants(idx int) bool { return !c.full[idx].Load() }

func (c *collector) updateFull(idx int) {
	k := c.kept[idx]
	c.full[idx].Store(c.max == 0 || c.max > 0 && len(k) >= c.max && k[0].seq <= c.fileSeq)
}

// before reports whether a comes before b in the report.
func before(a, b *Finding) bool {
	return cmp.Or(cmp.Compare(a.seq, b.seq), cmp.Compare(a.Row, b.Row), cmp.Compare(a.col, b.col), cmp.Compare(a.ord, b.ord)) < 0
}

// down restores the heap property of h (the top comes last) from i.
func down(h []Finding, i int) {
	for {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && before(&h[m], &h[l]) {
			m = l
		}
		if r < len(h) && before(&h[m], &h[r]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (c *collector) severity(s Severity) Severity {
	if c.strict {
		return Error
	}
	return s
}

// addCount counts n findings of a rule that are not kept.
func (c *collector) addCount(idx, n int) {
	sev := c.severity(Rules[idx].Severity)
	if sev == Error {
		c.file.Errors += n
	} else {
		c.file.Warnings += n
	}
	c.counts[RuleCount{Rule: Rules[idx].ID, Severity: sev}] += n
}

func (c *collector) add(f Finding) {
	f.Severity = c.severity(f.Severity)
	idx := ruleIndex[f.Rule]
	if f.Severity == Error {
		c.file.Errors++
	} else {
		c.file.Warnings++
	}
	c.counts[RuleCount{Rule: f.Rule, Severity: f.Severity}]++
	if c.max == 0 {
		return
	}
	f.File, f.seq, f.ord = c.file.Path, c.fileSeq, c.found
	k := c.kept[idx]
	full := c.max > 0 && len(k) >= c.max
	if full && !before(&f, &k[0]) {
		return
	}
	c.found++
	// Messages quote values through quote and show, which mask card
	// numbers; this is the backstop for any value that reaches a
	// message another way (amounts, dates, a header name in Field).
	f.Message, f.Field = cardnum.MaskText(f.Message), cardnum.MaskText(f.Field)
	if full {
		k[0] = f
		down(k, 0)
	} else {
		k = append(k, f)
		if len(k) == c.max {
			for i := len(k)/2 - 1; i >= 0; i-- {
				down(k, i)
			}
		}
		c.kept[idx] = k
	}
	c.updateFull(idx)
}

func (c *collector) report(files []FileSummary) *Report {
	var kept []Finding
	for _, k := range c.kept {
		kept = append(kept, k...)
	}
	sort.Slice(kept, func(i, j int) bool { return before(&kept[i], &kept[j]) })
	for i := range kept {
		kept[i].ord = 0 // how they were found is not part of the report
	}
	r := &Report{Files: files, Findings: kept}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for rc, n := range c.counts {
		r.Counts = append(r.Counts, RuleCount{Rule: rc.Rule, Severity: rc.Severity, Count: n})
	}
	sort.Slice(r.Counts, func(i, j int) bool {
		a, b := r.Counts[i], r.Counts[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Rule < b.Rule
	})
	return r
}
