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
