package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of JSON that fromJSON and UnmarshalJSON
// accept, as encoding/json does.
const maxJSONDepth = 10000

// MarshalJSON encodes v as compact JSON. Object keys keep their order; NaN
// and the infinities, which JSON cannot hold, are written as the strings
// "NaN", "Infinity" and "-Infinity".
func (v Value) MarshalJSON() ([]byte, error) { return appendJSON(nil, v, "", 0), nil }

// UnmarshalJSON decodes any JSON document into v, keeping the order of
// object keys.
func (v *Value) UnmarshalJSON(b []byte) error {
	x, err := decodeJSON(b)
	if err != nil {
		return err
	}
	*v = x
	return nil
}

// prettyJSON is toJSON's format: two-space indentation, as GitHub prints it.
func prettyJSON(v Value) string { return string(appendJSON(nil, v, "  ", 0)) }

func appendJSON(b []byte, v Value, indent string, level int) []byte {
	switch v.kind {
	case KindNull:
		return append(b, "null"...)
	case KindBool:
		return strconv.AppendBool(b, v.b)
	case KindNumber:
		return appendJSONNumber(b, v.n)
	case KindString:
		return appendJSONString(b, v.s)
	case KindArray:
		if len(v.arr.elems) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, e := range v.arr.elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, indent, level+1)
			b = appendJSON(b, e, indent, level+1)
		}
		b = newline(b, indent, level)
		return append(b, ']')
	case KindObject:
		if len(v.obj.keys) == 0 {
			return append(b, "{}"...)
		}
		b = append(b, '{')
		for i, k := range v.obj.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, indent, level+1)
			b = appendJSONString(b, k)
			b = append(b, ':')
			if indent != "" {
				b = append(b, ' ')
			}
			b = appendJSON(b, v.obj.m[k], indent, level+1)
		}
		b = newline(b, indent, level)
		return append(b, '}')
	}
	return b
}

func newline(b []byte, indent string, level int) []byte {
	if indent == "" {
		return b
	}
	b = append(b, '\n')
	for range level {
		b = append(b, indent...)
	}
	return b
}

func appendJSONNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	case f == 0:
		return append(b, '0')
	}
	// Like encoding/json (and JavaScript): plain decimals, exponents only
	// for very small and very large magnitudes.
	abs := math.Abs(f)
	if abs < 1e-6 || abs >= 1e21 {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// Clean up e-09 to e-9, as JavaScript writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as JSON.stringify does: only the quote, the
// backslash and control characters are escaped. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// decodeJSON reads exactly one JSON document.
func decodeJSON(b []byte) (Value, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeJSONValue(d, 0)
	if err != nil {
		return Null(), err
	}
	if _, err := d.Token(); err != io.EOF {
		return Null(), errors.New("invalid JSON: unexpected data after the value")
	}
	return v, nil
}

func decodeJSONValue(d *json.Decoder, depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Null(), fmt.Errorf("invalid JSON: nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return Null(), errors.New("invalid JSON: unexpected end of input")
		}
		return Null(), fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return Null(), nil
	case bool:
		return Bool(t), nil
	case string:
		return String(t), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !isRangeErr(err) {
			return Null(), fmt.Errorf("invalid JSON number %q", string(t))
		}
		return Number(f), nil
	case json.Delim:
		switch t {
		case '[':
			var elems []Value
			for d.More() {
				e, err := decodeJSONValue(d, depth+1)
				if err != nil {
					return Null(), err
				}
				elems = append(elems, e)
			}
			if _, err := d.Token(); err != nil { // ']'
				return Null(), fmt.Errorf("invalid JSON: %w", err)
			}
			return Value{kind: KindArray, arr: &array{elems: elems}}, nil
		case '{':
			ob := newObjectBuilder()
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return Null(), fmt.Errorf("invalid JSON: %w", err)
				}
				k, ok := kt.(string)
				if !ok {
					return Null(), errors.New("invalid JSON: object key is not a string")
				}
				e, err := decodeJSONValue(d, depth+1)
				if err != nil {
					return Null(), err
				}
				ob.set(k, e)
			}
			if _, err := d.Token(); err != nil { // '}'
				return Null(), fmt.Errorf("invalid JSON: %w", err)
			}
			return ob.value(), nil
		}
	}
	return Null(), fmt.Errorf("invalid JSON: unexpected %v", tok)
}
