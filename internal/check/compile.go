package check

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/geo"
	"github.com/konduit/konduit/internal/legacy"
)

// emit records one finding about a cell or a row of the current chunk.
type emitter interface {
	emit(rel int, col int, rule string, msg string)
}

// cellCheck is one column's compiled type check.
type cellCheck struct {
	idx    int // canonical index
	col    legacy.Column
	fast   fastCheck           // common checks done inline, without a call
	maxLen int                 // for fastVarchar
	typeOK func(v []byte) bool // nil: the column's checks are in the row rules
	rule   string              // the rule a failed type check reports
	text   bool                // free text: formula-injection applies
	opt    bool                // optional: an empty value is fine
	scan   bool                // card-number-elsewhere applies
	idScan bool                // ...to the whole value only: an identifier a carrier or processor assigns
	sheet  bool                // spreadsheet-number applies
	ident  bool                // digits-only values are identifiers: a trailing .0 is a spreadsheet's
	// special: the row rules check the value (rows.go); checkCells only
	// reports spreadsheet-number for it
	special bool
	// conditions for a conditional requirement, compiled to indexes
	conds []compiledCond
}

type compiledCond struct {
	idx    int
	values [][]byte
}

func (c compiledCond) holds(vals [][]byte) bool {
	for _, v := range c.values {
		if bytes.Equal(vals[c.idx], v) {
			return true
		}
	}
	return false
}

// compiled is a file's rules compiled from its header.
type compiled struct {
	spec    *legacy.Spec
	kind    legacy.Kind
	pos     []int  // header position -> canonical index, -1 for unknown or duplicate
	present []bool // canonical index -> named in the header
	checks  []cellCheck
	opts    *Options
	asOf    []byte // YYYY-MM-DD
}

// columns whose values are checked by the row rules rather than by type.
var specialColumns = map[string]bool{
	legacy.FCardNumber:       true,
	legacy.FCardExpiryMonth:  true,
	legacy.FCardExpiryYear:   true,
	legacy.FACHRoutingNumber: true,
	legacy.FQuantity:         true,
}

// columns exempt from card-number-elsewhere: they hold numbers by design.
var noCardScan = map[string]bool{
	legacy.FCardNumber:       true,
	legacy.FACHAccountNumber: true,
	legacy.FACHRoutingNumber: true,
	legacy.FExternalToken:    true,
}

// assignedIDColumns hold identifiers a carrier or a processor assigns: long
// digit strings by design, one in ten of them Luhn-valid. card-number-elsewhere
// flags a value there only when the whole value is a card number of a known
// scheme (cardnum.KnownCard). parentTxnId holds merchantTxnIds.
var assignedIDColumns = map[string]bool{
	legacy.FTrackingNumber: true,
	legacy.FMerchantTxnID:  true,
	legacy.FParentTxnID:    true,
	legacy.FAuthCode:       true,
}

// fastCheck names the checks checkCells runs inline.
type fastCheck uint8

const (
	fastNone    fastCheck = iota
	fastVarchar           // at most maxLen code points: len(v) <= maxLen is enough for most
	fastBit               // 0 or 1
	fastDigits            // integer, phone
)

// cannotHoldCard: a valid value of these types has no 13-digit run, so
// card-number-elsewhere need not scan it.
func cannotHoldCard(t legacy.Type) bool {
	switch t {
	case legacy.Date, legacy.Datetime, legacy.Bit, legacy.Enum, legacy.Country:
		return true
	}
	return false
}

func compile(spec *legacy.Spec, pos []int, opts *Options) *compiled {
	c := &compiled{spec: spec, kind: spec.Kind, pos: pos, present: make([]bool, len(spec.Columns)), opts: opts, asOf: []byte(opts.AsOf)}
	for _, i := range pos {
		if i >= 0 {
			c.present[i] = true
		}
	}
	for i, col := range spec.Columns {
		if !c.present[i] {
			continue
		}
		ch := cellCheck{idx: i, col: col, scan: !noCardScan[col.Name], opt: col.Required.Optional(),
			sheet: !noSpreadsheetCheck[col.Name], ident: isIdentifier(col)}
		if ch.scan && assignedIDColumns[col.Name] {
			ch.scan, ch.idScan = false, true
		}
		for _, cond := range col.Required.When {
			cc := compiledCond{idx: spec.Index(cond.Field)}
			for _, v := range cond.Values {
				cc.values = append(cc.values, []byte(v))
			}
			ch.conds = append(ch.conds, cc)
		}
		ch.special = specialColumns[col.Name] && spec.Kind == legacy.Transactions
		if !ch.special {
			ch.typeOK, ch.rule = typeCheck(col)
			switch col.Type {
			case legacy.Varchar:
				ch.fast, ch.maxLen = fastVarchar, col.MaxLen
			case legacy.Bit:
				ch.fast = fastBit
			case legacy.Integer, legacy.Phone:
				ch.fast = fastDigits
			}
		}
		ch.text = col.Type == legacy.Varchar
		c.checks = append(c.checks, ch)
	}
	return c
}

func typeCheck(col legacy.Column) (func([]byte) bool, string) {
	switch col.Type {
	case legacy.Varchar:
		max := col.MaxLen
		return func(v []byte) bool { return len(v) <= max || utf8.RuneCount(v) <= max }, RuleTooLong
	case legacy.Country:
		return func(v []byte) bool { return geo.IsCountry(string(v)) }, RuleInvalidCountry
	case legacy.Integer:
		return isDigits, RuleInvalidInteger
	case legacy.Decimal, legacy.Money2:
		return isDecimal, RuleInvalidDecimal
	case legacy.Bit:
		return func(v []byte) bool { return len(v) == 1 && (v[0] == '0' || v[0] == '1') }, RuleInvalidBit
	case legacy.Datetime:
		return isDatetime, RuleInvalidDatetime
	case legacy.Date:
		return isDate, RuleInvalidDate
	case legacy.Enum:
		values := make([][]byte, len(col.Enum))
		for i, e := range col.Enum {
			values[i] = []byte(e)
		}
		return func(v []byte) bool {
			for _, e := range values {
				if bytes.Equal(v, e) {
					return true
				}
			}
			return false
		}, RuleInvalidEnum
	case legacy.Phone:
		return isDigits, RuleInvalidPhone
	case legacy.Email:
		return isEmail, RuleInvalidEmail
	}
	panic("check: column " + col.Name + " has no type")
}

// show renders a value for a message: quoted and cut short, or masked for a
// sensitive column.
func show(col legacy.Column, v []byte) string {
	if col.Sensitive {
		return "ending " + strings.TrimLeft(legacy.Mask(string(v)), "*")
	}
	// Mask before cutting short: a card number cut in two is no longer
	// Luhn-valid, and would show all but its last digits.
	s := cardnum.MaskText(string(v))
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// quote renders a value from the input for a message, quoted, with any card
// number in it masked. Masking comes before quoting: an escape such as \x01
// next to a card number would join its digits into a longer run.
func quote[T ~string | ~[]byte](v T) string {
	return strconv.Quote(cardnum.MaskText(string(v)))
}

// typeMessage says what is wrong with a value and how to fix it.
func typeMessage(col legacy.Column, rule string, v []byte) string {
	sv := show(col, v)
	switch rule {
	case RuleTooLong:
		return fmt.Sprintf("%s is %d characters; %s allows at most %d", sv, utf8.RuneCount(v), col.SeedType, col.MaxLen)
	case RuleInvalidCountry:
		if code := geo.CountryCode(string(v)); code != "" {
			return fmt.Sprintf("%s is not an ISO 3166-1 alpha-2 code; write %s (konduit fix does this)", sv, code)
		}
		return fmt.Sprintf("%s is not an ISO 3166-1 alpha-2 country code (such as US, CA, GB)", sv)
	case RuleInvalidInteger:
		if isScientific(v) || bytes.HasSuffix(v, []byte(".0")) {
			return fmt.Sprintf("%s is not an integer: a spreadsheet rewrote the cell; format the column as text and re-export", sv)
		}
		return fmt.Sprintf("%s is not an integer: digits only, no sign, separator or decimal point", sv)
	case RuleInvalidDecimal:
		return fmt.Sprintf("%s is not a decimal: write digits with an optional . and at most two decimals, no currency symbol or thousands separator", sv)
	case RuleInvalidBit:
		return fmt.Sprintf("%s must be exactly 0 or 1", sv)
	case RuleInvalidDatetime:
		return fmt.Sprintf("%s is not a real date and time as YYYY-MM-DD HH:MM:SS", sv)
	case RuleInvalidDate:
		return fmt.Sprintf("%s is not a real date as YYYY-MM-DD", sv)
	case RuleInvalidEnum:
		for _, e := range col.Enum {
			if strings.EqualFold(e, strings.TrimSpace(string(v))) {
				return fmt.Sprintf("%s must be written exactly %s (konduit fix does this)", sv, e)
			}
		}
		return fmt.Sprintf("%s is not one of %s (exact case and spelling)", sv, strings.Join(col.Enum, ", "))
	case RuleInvalidPhone:
		return fmt.Sprintf("%s must be digits only, no dashes, spaces or parentheses (konduit fix does this)", sv)
	case RuleInvalidEmail:
		return fmt.Sprintf("%s is not an email address local@domain.tld", sv)
	}
	return sv
}

// checkCells runs the type, requirement and text checks of one row.
func (c *compiled) checkCells(vals [][]byte, rel int, e emitter) {
	for i := range c.checks {
		ch := &c.checks[i]
		v := vals[ch.idx]
		if len(v) == 0 {
			if !ch.opt {
				c.checkRequired(ch, vals, rel, e)
			}
			continue
		}
		valid := true
		switch ch.fast {
		case fastVarchar:
			valid = len(v) <= ch.maxLen || ch.typeOK(v)
		case fastBit:
			valid = len(v) == 1 && (v[0] == '0' || v[0] == '1')
		case fastDigits:
			valid = isDigits(v)
		default:
			valid = ch.typeOK == nil || ch.typeOK(v)
		}
		// A number a spreadsheet rewrote is reported once, as that: its
		// type, a leading minus and its digits mean nothing any more.
		// Digits-only values (valid integers, phones) cannot be one.
		if ch.sheet && (!valid || ch.text || ch.special) && len(v) >= 3 && mayBeNumber(v) && (isSpreadsheetSci(v) || ch.ident && isDotZero(v)) {
			e.emit(rel, ch.idx, RuleSpreadsheetNumber, spreadsheetMessage(ch.col, v))
			continue
		}
		if !valid {
			e.emit(rel, ch.idx, ch.rule, typeMessage(ch.col, ch.rule, v))
		}
		if ch.text && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@') {
			e.emit(rel, ch.idx, RuleFormulaInjection, fmt.Sprintf("starts with %q: a spreadsheet would run it as a formula; remove the leading character or prefix it with an apostrophe when opening", v[0]))
		}
		if ch.scan && len(v) >= 13 && !(valid && cannotHoldCard(ch.col.Type)) && cardRun(v) {
			e.emit(rel, ch.idx, RuleCardNumberElsewhere, "holds what looks like a card number (a Luhn-valid 13-19 digit run); card numbers belong only in cardNumber")
		}
		if ch.idScan && len(v) >= 13 && len(v) <= 19 && cardnum.KnownCard(v) {
			e.emit(rel, ch.idx, RuleCardNumberElsewhere, "is exactly a card number (13-19 digits of a known card scheme, Luhn-valid), not an identifier; card numbers belong only in cardNumber")
		}
	}
}

// mayBeNumber is the cheap test before the spreadsheet-number checks: a
// rewritten number starts with a digit or a minus and ends with a digit.
func mayBeNumber(v []byte) bool {
	f, l := v[0], v[len(v)-1]
	return (f >= '0' && f <= '9' || f == '-') && l >= '0' && l <= '9'
}

// spreadsheetMessage says what a spreadsheet did to a value.
func spreadsheetMessage(col legacy.Column, v []byte) string {
	if isSpreadsheetSci(v) {
		return fmt.Sprintf("%s is in scientific notation: a spreadsheet rewrote the number and its digits are lost; re-export the column as text from the source", show(col, v))
	}
	return fmt.Sprintf("%s ends in .0: a spreadsheet read the identifier as a number; re-export the column as text from the source", show(col, v))
}

func (c *compiled) checkRequired(ch *cellCheck, vals [][]byte, rel int, e emitter) {
	req := ch.col.Required
	if req.Optional() {
		return
	}
	for _, cond := range ch.conds {
		if !cond.holds(vals) {
			return
		}
	}
	switch {
	case req.EmptyIsWarning:
		e.emit(rel, ch.idx, RuleAddress2Empty, "is empty; the seed marks it required but most addresses have no second line: leave it empty if the import specialist agrees, or fill it")
	case req.Always:
		e.emit(rel, ch.idx, RuleRequired, "is required and empty")
	default:
		e.emit(rel, ch.idx, RuleRequiredIf, fmt.Sprintf("is required when %s and is empty", conditionText(req.When)))
	}
}

func conditionText(conds []legacy.Condition) string {
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = c.Field + " is " + strings.Join(c.Values, " or ")
	}
	return strings.Join(parts, " and ")
}
