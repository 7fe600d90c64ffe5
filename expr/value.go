package expr

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of values, as GitHub names them in its documentation.
const (
	KindNull Kind = iota
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindBool:
		return "boolean"
	case KindNumber:
		return "number"
	case KindString:
		return "string"
	case KindArray:
		return "array"
	case KindObject:
		return "object"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a value of the expression language: null, a boolean, a number
// (float64), a string, an array or an object. The zero Value is null.
//
// Values are immutable: constructors copy what they are given, and accessors
// hand out copies, so a Value can be shared between goroutines. Arrays and
// objects have an identity: two of them are == only when they are the same
// instance, as on GitHub.
type Value struct {
	kind Kind
	b    bool
	n    float64
	s    string
	arr  *array
	obj  *object
}

type array struct {
	elems []Value
	// filtered marks the result of a '*' (an object filter): a property
	// access on it maps over its elements instead of giving null.
	filtered bool
}

type object struct {
	keys []string // in insertion order (sorted for Object)
	m    map[string]Value
}

// Null returns the null value.
func Null() Value { return Value{} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Number returns a number value.
func Number(f float64) Value { return Value{kind: KindNumber, n: f} }

// String returns a string value.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Array returns a new array holding a copy of elems.
func Array(elems ...Value) Value {
	return Value{kind: KindArray, arr: &array{elems: slices.Clone(elems)}}
}

func filteredArray(elems []Value) Value {
	return Value{kind: KindArray, arr: &array{elems: elems, filtered: true}}
}

// Object returns a new object holding a copy of fields. Its keys are kept in
// sorted order, so that toJSON and Keys are deterministic.
func Object(fields map[string]Value) Value {
	o := &object{keys: make([]string, 0, len(fields)), m: make(map[string]Value, len(fields))}
	for k, v := range fields {
		o.keys = append(o.keys, k)
		o.m[k] = v
	}
	sort.Strings(o.keys)
	return Value{kind: KindObject, obj: o}
}

// objectBuilder makes an object whose keys keep the order they were added
// in, as fromJSON does; a repeated key keeps its first place and last value.
type objectBuilder struct{ o *object }

func newObjectBuilder() objectBuilder {
	return objectBuilder{o: &object{m: map[string]Value{}}}
}

func (b objectBuilder) set(k string, v Value) {
	if _, ok := b.o.m[k]; !ok {
		b.o.keys = append(b.o.keys, k)
	}
	b.o.m[k] = v
}

func (b objectBuilder) value() Value { return Value{kind: KindObject, obj: b.o} }

// maxGoDepth bounds FromGo's recursion; anything nested deeper becomes null.
// Data decoded from JSON or YAML is never that deep (encoding/json stops at
// 10000 levels).
const maxGoDepth = 10000

// FromGo converts data decoded from JSON or YAML (nil, bool, string, float64,
// int, []any, map[string]any and the like) to a Value. Values pass through
// unchanged. Any other type goes through encoding/json; one that cannot be
// encoded becomes its fmt.Sprint string.
func FromGo(x any) Value { return fromGo(x, 0) }

func fromGo(x any, depth int) Value {
	if depth > maxGoDepth {
		return Null()
	}
	depth++
	switch x := x.(type) {
	case nil:
		return Null()
	case Value:
		return x
	case bool:
		return Bool(x)
	case string:
		return String(x)
	case float64:
		return Number(x)
	case float32:
		return Number(float64(x))
	case int:
		return Number(float64(x))
	case int8:
		return Number(float64(x))
	case int16:
		return Number(float64(x))
	case int32:
		return Number(float64(x))
	case int64:
		return Number(float64(x))
	case uint:
		return Number(float64(x))
	case uint8:
		return Number(float64(x))
	case uint16:
		return Number(float64(x))
	case uint32:
		return Number(float64(x))
	case uint64:
		return Number(float64(x))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !isRangeErr(err) {
			return String(string(x))
		}
		return Number(f)
	case []any:
		elems := make([]Value, len(x))
		for i, e := range x {
			elems[i] = fromGo(e, depth)
		}
		return Value{kind: KindArray, arr: &array{elems: elems}}
	case []string:
		elems := make([]Value, len(x))
		for i, e := range x {
			elems[i] = String(e)
		}
		return Value{kind: KindArray, arr: &array{elems: elems}}
	case []Value:
		return Array(x...)
	case map[string]any:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			m[k] = fromGo(e, depth)
		}
		return Object(m)
	case map[string]string:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			m[k] = String(e)
		}
		return Object(m)
	case map[string]Value:
		return Object(x)
	case map[any]any:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = fromGo(e, depth)
		}
		return Object(m)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return String(fmt.Sprint(x))
	}
	var v Value
	if err := v.UnmarshalJSON(b); err != nil {
		return String(fmt.Sprint(x))
	}
	return v
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Go converts v to plain Go data: nil, bool, float64, string, []any or
// map[string]any.
func (v Value) Go() any {
	switch v.kind {
	case KindBool:
		return v.b
	case KindNumber:
		return v.n
	case KindString:
		return v.s
	case KindArray:
		out := make([]any, len(v.arr.elems))
		for i, e := range v.arr.elems {
			out[i] = e.Go()
		}
		return out
	case KindObject:
		out := make(map[string]any, len(v.obj.keys))
		for _, k := range v.obj.keys {
			out[k] = v.obj.m[k].Go()
		}
		return out
	}
	return nil
}

// Kind returns the kind of v.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Truthy reports whether v counts as true in a condition: everything but
// false, 0, -0, NaN, "" and null.
func (v Value) Truthy() bool {
	switch v.kind {
	case KindBool:
		return v.b
	case KindNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	case KindString:
		return v.s != ""
	case KindArray, KindObject:
		return true
	}
	return false
}

// Number converts v to a number the way GitHub does: null is 0, true and
// false are 1 and 0, a string is parsed (see ParseNumber), arrays and
// objects are NaN.
func (v Value) Number() float64 {
	switch v.kind {
	case KindNull:
		return 0
	case KindBool:
		if v.b {
			return 1
		}
		return 0
	case KindNumber:
		return v.n
	case KindString:
		return ParseNumber(v.s)
	}
	return math.NaN()
}

// String converts v to the text it reads as inside a string: null is "",
// booleans are "true" and "false", numbers are formatted by FormatNumber,
// and strings are themselves. Arrays and objects, which GitHub does not
// convert, become compact JSON.
func (v Value) String() string {
	switch v.kind {
	case KindArray, KindObject:
		return string(appendJSON(nil, v, "", 0))
	}
	return v.funcString()
}

// funcString is GitHub's conversion of a function argument to a string
// (format, join): like String, but arrays and objects become the words
// "Array" and "Object".
func (v Value) funcString() string {
	switch v.kind {
	case KindNull:
		return ""
	case KindBool:
		if v.b {
			return "true"
		}
		return "false"
	case KindNumber:
		return FormatNumber(v.n)
	case KindString:
		return v.s
	case KindArray:
		return "Array"
	case KindObject:
		return "Object"
	}
	return ""
}

// isPrimitive reports whether v is null, a boolean, a number or a string.
func (v Value) isPrimitive() bool { return v.kind <= KindString }

// Len returns the number of elements of an array or fields of an object,
// and 0 for anything else.
func (v Value) Len() int {
	switch v.kind {
	case KindArray:
		return len(v.arr.elems)
	case KindObject:
		return len(v.obj.keys)
	}
	return 0
}

// Index returns the i-th element of an array, or null when v is not an array
// or i is out of range.
func (v Value) Index(i int) Value {
	if v.kind != KindArray || i < 0 || i >= len(v.arr.elems) {
		return Null()
	}
	return v.arr.elems[i]
}

// Elems returns a copy of the elements of an array, or nil.
func (v Value) Elems() []Value {
	if v.kind != KindArray {
		return nil
	}
	return slices.Clone(v.arr.elems)
}

// Keys returns the keys of an object in order, or nil.
func (v Value) Keys() []string {
	if v.kind != KindObject {
		return nil
	}
	return slices.Clone(v.obj.keys)
}

// Get returns the field of an object named key, compared without regard to
// case as GitHub does (an exact match wins). It reports false when v is not
// an object or has no such field.
func (v Value) Get(key string) (Value, bool) {
	if v.kind != KindObject {
		return Null(), false
	}
	if f, ok := v.obj.m[key]; ok {
		return f, true
	}
	for _, k := range v.obj.keys {
		if foldEqual(k, key) {
			return v.obj.m[k], true
		}
	}
	return Null(), false
}

// Equal reports whether v == w by GitHub's loose equality: values of
// different kinds are compared as numbers, strings without regard to case,
// NaN equals nothing, and arrays and objects only themselves.
func (v Value) Equal(w Value) bool {
	l, r := coerce(v, w)
	if l.kind != r.kind {
		return false
	}
	switch l.kind {
	case KindNull:
		return true
	case KindBool:
		return l.b == r.b
	case KindNumber:
		return l.n == r.n // false for NaN
	case KindString:
		return foldEqual(l.s, r.s)
	case KindArray:
		return l.arr == r.arr
	case KindObject:
		return l.obj == r.obj
	}
	return false
}

// less reports whether v < w by GitHub's rules; values that cannot be
// ordered (NaN, arrays, objects, mixed kinds after coercion) are not less.
func (v Value) less(w Value) bool {
	l, r := coerce(v, w)
	if l.kind != r.kind {
		return false
	}
	switch l.kind {
	case KindNumber:
		return l.n < r.n
	case KindString:
		return foldCompare(l.s, r.s) < 0
	case KindBool:
		return !l.b && r.b
	}
	return false
}

// coerce brings two values to one kind for comparison the way GitHub does:
// a number and a string compare as numbers, null and booleans become numbers
// when compared with anything else, and arrays and objects are left alone.
func coerce(l, r Value) (Value, Value) {
	for l.kind != r.kind {
		switch {
		case l.kind == KindNumber && r.kind == KindString:
			r = Number(r.Number())
		case l.kind == KindString && r.kind == KindNumber:
			l = Number(l.Number())
		case l.kind == KindNull || l.kind == KindBool:
			l = Number(l.Number())
		case r.kind == KindNull || r.kind == KindBool:
			r = Number(r.Number())
		default:
			return l, r
		}
	}
	return l, r
}

// upper maps s to upper case for case-insensitive comparison, rune by rune
// as GitHub does (leaving the dotless ı alone).
func upper(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	return strings.Map(func(r rune) rune {
		if r == 'ı' {
			return r
		}
		return unicode.ToUpper(r)
	}, s)
}

func foldEqual(a, b string) bool {
	if a == b {
		return true
	}
	return upper(a) == upper(b)
}

func foldCompare(a, b string) int { return cmp.Compare(upper(a), upper(b)) }

// FormatNumber formats f as GitHub does when it converts a number to a
// string: up to 15 significant digits, integers without a decimal point,
// exponential notation (1E+15) for very large and very small numbers, and
// "NaN", "Infinity", "-Infinity".
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	s := strconv.FormatFloat(f, 'g', 15, 64)
	return strings.Replace(s, "e", "E", 1)
}

// ParseNumber converts a string to a number the way GitHub does: surrounding
// white space is ignored, "" is 0, a JSON-style decimal number (with an
// optional sign, fraction and exponent), a 0x hexadecimal, 0o octal or 0b
// binary integer, or Infinity is read as such, and anything else is NaN.
func ParseNumber(s string) float64 {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			return parseRadix(s[2:], base)
		}
	}
	body := s
	neg := false
	if body[0] == '+' || body[0] == '-' {
		neg = body[0] == '-'
		body = body[1:]
	}
	if body == "Infinity" {
		if neg {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimal(body) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return math.NaN()
	}
	return f
}

func parseRadix(digits string, base int) float64 {
	if digits == "" {
		return math.NaN()
	}
	var f float64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d int
		switch {
		case '0' <= c && c <= '9':
			d = int(c - '0')
		case 'a' <= c && c <= 'f':
			d = int(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = int(c-'A') + 10
		default:
			return math.NaN()
		}
		if d >= base {
			return math.NaN()
		}
		f = f*float64(base) + float64(d)
	}
	return f
}

// isDecimal reports whether s is digits, an optional fraction and an
// optional exponent, with at least one digit before the exponent.
func isDecimal(s string) bool {
	i, digits := 0, 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
