package konnektive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// A page of 200 rows is about 300 KB. encoding/json reads it several times
// over (validation, then each RawMessage level, then reflection per row);
// the client instead validates the body once and walks it with the small
// scanner below, which only slices bytes that are known to be valid JSON.

// scanObject calls fn with each key and raw value of the JSON object b,
// which must be valid JSON.
func scanObject(b []byte, fn func(key string, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fmt.Errorf("want an object")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return errSyntax
		}
		ke, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : ke-1]
		var k string
		if bytes.IndexByte(key, '\\') >= 0 {
			if err := json.Unmarshal(b[i:ke], &k); err != nil {
				return err
			}
		} else {
			k = string(key)
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return errSyntax
		}
		i = skipWS(b, i+1)
		ve, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(k, b[i:ve]); err != nil {
			return err
		}
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return nil
		}
		return errSyntax
	}
	return errSyntax
}

// flexOf reads a scalar value as text.
func flexOf(v []byte) (flex, error) {
	var f flex
	err := f.UnmarshalJSON(v)
	return f, err
}

// rowFields maps the JSON keys of a row struct to its field indexes.
var rowFields sync.Map // reflect.Type -> map[string]int

func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := rowFields.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("json"); tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	rowFields.Store(t, m)
	return m
}

var (
	flexType  = reflect.TypeFor[flex]()
	itemsType = reflect.TypeFor[items]()
)

// decodeRow fills the row struct dst (a pointer) from the valid JSON object
// b: keys match the json tags exactly; other keys are ignored.
func decodeRow(b []byte, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	fields := fieldsOf(rv.Type())
	return scanObject(b, func(key string, val []byte) error {
		idx, ok := fields[key]
		if !ok {
			return nil
		}
		fv := rv.Field(idx)
		switch fv.Type() {
		case flexType:
			f, err := flexOf(val)
			if err != nil {
				return &fieldErr{key, err}
			}
			fv.SetString(string(f))
		case itemsType:
			var it items
			if err := it.UnmarshalJSON(val); err != nil {
				return &fieldErr{key, err}
			}
			fv.Set(reflect.ValueOf(it))
		}
		return nil
	})
}

// maxDepth is encoding/json's limit on nested objects and arrays.
const maxDepth = 10000

// validJSON reports whether b is one valid JSON value (surrounded by
// whitespace at most): exactly what json.Valid reports (invalid UTF-8 in
// strings included, as encoding/json accepts it), several times faster. A
// page's body is checked once before the scanners above slice it.
func validJSON(b []byte) bool {
	var stack []byte // the open '{' and '[', innermost last
	i := skipWS(b, 0)
	for {
		// A value at i.
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return false
			}
			stack = append(stack, c)
			i = skipWS(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				if i = validKey(b, i); i < 0 {
					return false
				}
			}
			continue
		case c == '"':
			if i = validString(b, i); i < 0 {
				return false
			}
		case c == '-' || c >= '0' && c <= '9':
			if i = validNumber(b, i); i < 0 {
				return false
			}
		case c == 't':
			if !bytes.HasPrefix(b[i:], []byte("true")) {
				return false
			}
			i += 4
		case c == 'f':
			if !bytes.HasPrefix(b[i:], []byte("false")) {
				return false
			}
			i += 5
		case c == 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return false
			}
			i += 4
		default:
			return false
		}
		// After a value: close what ends here, then a comma and the next.
		for {
			i = skipWS(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			if b[i] == ',' {
				i = skipWS(b, i+1)
				if top == '{' {
					if i = validKey(b, i); i < 0 {
						return false
					}
				}
				break
			}
			if top == '{' && b[i] == '}' || top == '[' && b[i] == ']' {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return false
		}
	}
}

// validKey checks `"key" :` at i and returns where its value begins, or -1.
func validKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = validString(b, i); i < 0 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

// validString checks the string starting at the quote at i and returns the
// index after its closing quote, or -1.
func validString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// validNumber checks the number starting at i and returns the index after
// it, or -1.
func validNumber(b []byte, i int) int {
	digits := func(i int) int { // one digit at least
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
	if b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if i = digits(i); i < 0 {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}
