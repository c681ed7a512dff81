package fake

import (
	"strconv"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/crm"
)

// jw writes one JSON object field by field, without reflection: a page of
// 200 rows is rendered in well under a millisecond.
type jw struct {
	b     []byte
	first bool
}

func (w *jw) open() {
	w.b = append(w.b, '{')
	w.first = true
}

func (w *jw) close() {
	w.b = append(w.b, '}')
	w.first = false
}

func (w *jw) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = appendString(w.b, v)
}

func (w *jw) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jw) null(k string) {
	w.key(k)
	w.b = append(w.b, "null"...)
}

func (w *jw) raw(k, v string) {
	w.key(k)
	w.b = append(w.b, v...)
}

// id writes a numeric id as a number, "" as null, anything else as a string.
func (w *jw) id(k, v string) {
	if v == "" {
		w.null(k)
		return
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		w.int(k, n)
		return
	}
	w.str(k, v)
}

func (w *jw) money(k string, m crm.Money) { w.str(k, m.String()) }

func (w *jw) flag(k string, b bool) {
	if b {
		w.int(k, 1)
	} else {
		w.int(k, 0)
	}
}

func (w *jw) date(k string, d crm.Date) {
	if d.IsZero() {
		w.null(k)
		return
	}
	w.str(k, d.String())
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
