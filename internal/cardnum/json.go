package cardnum

import "encoding/json"

// MaskJSON returns the JSON text b with the card numbers in its strings
// (keys and values) masked as MaskText masks them. A string holding an
// escape is decoded first: the hex digits of an escape such as \u0001 next
// to a card number would join its digits into a longer run and hide it.
// Numbers and the layout are left as they are. b itself is returned when
// nothing is masked; text that is not JSON (an unterminated string) is
// masked as plain text.
func MaskJSON(b []byte) []byte {
	if len(b) < minCard {
		return b
	}
	var out []byte // nil until a string changes
	last := 0
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j, esc := i+1, false
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				esc = true
				j++
			}
			j++
		}
		if j >= len(b) {
			return []byte(MaskText(string(b)))
		}
		var repl []byte
		if lit := b[i+1 : j]; !esc {
			if HasCard(lit) {
				repl = []byte(MaskText(string(lit))) // '*' needs no escape
			}
		} else if len(lit) >= minCard {
			var s string
			if json.Unmarshal(b[i:j+1], &s) == nil && HasCard(s) {
				q, _ := json.Marshal(MaskText(s))
				repl = q[1 : len(q)-1]
			}
		}
		if repl != nil {
			out = append(append(append(out, b[last:i+1]...), repl...), '"')
			last = j + 1
		}
		i = j
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
