package expr

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

func equalGo(a, b any) bool { return reflect.DeepEqual(a, b) }

func TestParseNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want float64 // NaN means NaN
	}{
		{name: "empty", in: "", want: 0},
		{name: "blank", in: " \t\n", want: 0},
		{name: "integer", in: "42", want: 42},
		{name: "trimmed", in: "  12 ", want: 12},
		{name: "negative fraction", in: "-1.5", want: -1.5},
		{name: "plus sign", in: "+2", want: 2},
		{name: "leading dot", in: ".5", want: 0.5},
		{name: "trailing dot", in: "5.", want: 5},
		{name: "exponent", in: "1e3", want: 1000},
		{name: "negative exponent", in: "2.5E-1", want: 0.25},
		{name: "hex", in: "0x1F", want: 31},
		{name: "upper hex", in: "0XfF", want: 255},
		{name: "octal", in: "0o17", want: 15},
		{name: "binary", in: "0b101", want: 5},
		{name: "infinity", in: "Infinity", want: math.Inf(1)},
		{name: "negative infinity", in: "-Infinity", want: math.Inf(-1)},
		{name: "overflow", in: "1e400", want: math.Inf(1)},
		{name: "word", in: "abc", want: math.NaN()},
		{name: "bare prefix", in: "0x", want: math.NaN()},
		{name: "bad hex digit", in: "0xg", want: math.NaN()},
		{name: "bad octal digit", in: "0o8", want: math.NaN()},
		{name: "underscores", in: "1_000", want: math.NaN()},
		{name: "two dots", in: "1.2.3", want: math.NaN()},
		{name: "missing exponent", in: "1e", want: math.NaN()},
		{name: "lone dot", in: ".", want: math.NaN()},
		{name: "lone sign", in: "-", want: math.NaN()},
		{name: "lower-case infinity", in: "infinity", want: math.NaN()},
		{name: "go nan", in: "NaN", want: math.NaN()},
		{name: "hex float", in: "0x1p4", want: math.NaN()},
		{name: "inner space", in: "1 2", want: math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ParseNumber(tc.in)
			if math.IsNaN(tc.want) {
				if !math.IsNaN(got) {
					t.Errorf("ParseNumber(%q) = %v, want NaN", tc.in, got)
				}
				return
			}
			if got != tc.want {
				t.Errorf("ParseNumber(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{name: "zero", in: 0, want: "0"},
		{name: "negative zero", in: math.Copysign(0, -1), want: "0"},
		{name: "integer", in: 711, want: "711"},
		{name: "negative", in: -9.2, want: "-9.2"},
		{name: "fraction", in: 0.1 + 0.2, want: "0.3"},
		{name: "fifteen digits", in: 123456789012345, want: "123456789012345"},
		{name: "large", in: 1e15, want: "1E+15"},
		{name: "very large", in: 1.5e300, want: "1.5E+300"},
		{name: "small", in: 0.0001, want: "0.0001"},
		{name: "very small", in: 0.00001, want: "1E-05"},
		{name: "NaN", in: math.NaN(), want: "NaN"},
		{name: "infinity", in: math.Inf(1), want: "Infinity"},
		{name: "negative infinity", in: math.Inf(-1), want: "-Infinity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatNumber(tc.in); got != tc.want {
				t.Errorf("FormatNumber(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestValueCoercions(t *testing.T) {
	t.Parallel()
	obj := Object(map[string]Value{"a": Number(1)})
	arr := Array(Number(1), String("x"))
	tests := []struct {
		name       string
		v          Value
		wantKind   Kind
		wantTruthy bool
		wantNumber float64 // NaN means NaN
		wantString string
	}{
		{name: "null", v: Null(), wantKind: KindNull, wantTruthy: false, wantNumber: 0, wantString: ""},
		{name: "zero value is null", v: Value{}, wantKind: KindNull, wantTruthy: false, wantNumber: 0, wantString: ""},
		{name: "true", v: Bool(true), wantKind: KindBool, wantTruthy: true, wantNumber: 1, wantString: "true"},
		{name: "false", v: Bool(false), wantKind: KindBool, wantTruthy: false, wantNumber: 0, wantString: "false"},
		{name: "zero", v: Number(0), wantKind: KindNumber, wantTruthy: false, wantNumber: 0, wantString: "0"},
		{name: "negative zero", v: Number(math.Copysign(0, -1)), wantKind: KindNumber, wantTruthy: false, wantNumber: 0, wantString: "0"},
		{name: "NaN", v: Number(math.NaN()), wantKind: KindNumber, wantTruthy: false, wantNumber: math.NaN(), wantString: "NaN"},
		{name: "number", v: Number(2.5), wantKind: KindNumber, wantTruthy: true, wantNumber: 2.5, wantString: "2.5"},
		{name: "empty string", v: String(""), wantKind: KindString, wantTruthy: false, wantNumber: 0, wantString: ""},
		{name: "numeric string", v: String(" 0x10 "), wantKind: KindString, wantTruthy: true, wantNumber: 16, wantString: " 0x10 "},
		{name: "string", v: String("false"), wantKind: KindString, wantTruthy: true, wantNumber: math.NaN(), wantString: "false"},
		{name: "empty array", v: Array(), wantKind: KindArray, wantTruthy: true, wantNumber: math.NaN(), wantString: "[]"},
		{name: "array", v: arr, wantKind: KindArray, wantTruthy: true, wantNumber: math.NaN(), wantString: `[1,"x"]`},
		{name: "object", v: obj, wantKind: KindObject, wantTruthy: true, wantNumber: math.NaN(), wantString: `{"a":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.v.Kind(); got != tc.wantKind {
				t.Errorf("Kind = %v, want %v", got, tc.wantKind)
			}
			if got := tc.v.Truthy(); got != tc.wantTruthy {
				t.Errorf("Truthy = %v, want %v", got, tc.wantTruthy)
			}
			got := tc.v.Number()
			if math.IsNaN(tc.wantNumber) != math.IsNaN(got) || !math.IsNaN(got) && got != tc.wantNumber {
				t.Errorf("Number = %v, want %v", got, tc.wantNumber)
			}
			if got := tc.v.String(); got != tc.wantString {
				t.Errorf("String = %q, want %q", got, tc.wantString)
			}
		})
	}
}

func TestValueEqual(t *testing.T) {
	t.Parallel()
	obj := Object(nil)
	arr := Array()
	tests := []struct {
		name string
		a, b Value
		want bool
	}{
		{name: "same object", a: obj, b: obj, want: true},
		{name: "copied value shares the instance", a: obj, b: func() Value { c := obj; return c }(), want: true},
		{name: "different objects", a: obj, b: Object(nil), want: false},
		{name: "same array", a: arr, b: arr, want: true},
		{name: "different arrays", a: arr, b: Array(), want: false},
		{name: "array and object", a: arr, b: obj, want: false},
		{name: "null and object", a: Null(), b: obj, want: false},
		{name: "null and false", a: Null(), b: Bool(false), want: true},
		{name: "NaN", a: Number(math.NaN()), b: Number(math.NaN()), want: false},
		{name: "dotless i is not folded", a: String("ı"), b: String("I"), want: false},
		{name: "unicode folding", a: String("straße"), b: String("STRAßE"), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.a.Equal(tc.b); got != tc.want {
				t.Errorf("%v == %v is %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestFromGo(t *testing.T) {
	t.Parallel()
	type point struct {
		X int `json:"x"`
	}
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name string
		in   any
		want any // as Go gives it back
	}{
		{name: "nil", in: nil, want: nil},
		{name: "bool", in: true, want: true},
		{name: "string", in: "x", want: "x"},
		{name: "float64", in: 1.5, want: 1.5},
		{name: "int", in: 3, want: 3.0},
		{name: "int64", in: int64(-4), want: -4.0},
		{name: "uint8", in: uint8(5), want: 5.0},
		{name: "json number", in: json.Number("6.5"), want: 6.5},
		{name: "slice of any", in: []any{1, "a", nil}, want: []any{1.0, "a", nil}},
		{name: "slice of strings", in: []string{"a", "b"}, want: []any{"a", "b"}},
		{name: "map", in: map[string]any{"k": []any{true}}, want: map[string]any{"k": []any{true}}},
		{name: "string map", in: map[string]string{"k": "v"}, want: map[string]any{"k": "v"}},
		{name: "yaml v2 map", in: map[any]any{"k": 1, 2: "two"}, want: map[string]any{"k": 1.0, "2": "two"}},
		{name: "value", in: String("v"), want: "v"},
		{name: "struct through JSON", in: point{X: 7}, want: map[string]any{"x": 7.0}},
		{name: "time through JSON", in: when, want: "2024-05-06T07:08:09Z"},
		{name: "unencodable", in: make(chan int), want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := FromGo(tc.in).Go()
			if tc.name == "unencodable" {
				if _, ok := got.(string); !ok {
					t.Errorf("FromGo(chan) = %#v, want its fmt string", got)
				}
				return
			}
			if !equalGo(got, tc.want) {
				t.Errorf("FromGo(%#v).Go() = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestValueAccessors(t *testing.T) {
	t.Parallel()
	v := FromGo(map[string]any{"Name": "x", "list": []any{1, 2}})
	if got, ok := v.Get("name"); !ok || got.String() != "x" {
		t.Errorf("Get(name) = %v, %v", got, ok)
	}
	if _, ok := v.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	if got := v.Keys(); !equalGo(got, []string{"Name", "list"}) {
		t.Errorf("Keys = %v", got)
	}
	list, _ := v.Get("LIST")
	if list.Len() != 2 || list.Index(1).Number() != 2 || !list.Index(2).IsNull() || !list.Index(-1).IsNull() {
		t.Errorf("list accessors wrong: %v", list)
	}
	elems := list.Elems()
	elems[0] = String("changed")
	if list.Index(0).Number() != 1 {
		t.Error("Elems shares the array")
	}
	if String("x").Len() != 0 || String("x").Elems() != nil || String("x").Keys() != nil {
		t.Error("accessors on a string should be empty")
	}
	src := []Value{Number(1)}
	a := Array(src...)
	src[0] = Number(2)
	if a.Index(0).Number() != 1 {
		t.Error("Array shares its argument")
	}
	m := map[string]Value{"a": Number(1)}
	o := Object(m)
	m["a"] = Number(2)
	if got, _ := o.Get("a"); got.Number() != 1 {
		t.Error("Object shares its argument")
	}
}

func TestValueJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // compact, keys in input order
	}{
		{name: "scalars", in: `[null, true, false, 0, -1.5, "s"]`, want: `[null,true,false,0,-1.5,"s"]`},
		{name: "key order kept", in: `{"b": 1, "a": {"d": [], "c": {}}}`, want: `{"b":1,"a":{"d":[],"c":{}}}`},
		{name: "duplicate key keeps first place and last value", in: `{"a": 1, "b": 2, "a": 3}`, want: `{"a":3,"b":2}`},
		{name: "escapes", in: `"q\"b\\n\n\t\u0001<>&é"`, want: `"q\"b\\n\n\t\u0001<>&é"`},
		{name: "large and small numbers", in: `[1e21, 1e-7, 123456789, 0.000001]`, want: `[1e+21,1e-7,123456789,0.000001]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v Value
			if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
				t.Fatal(err)
			}
			// MarshalJSON directly: json.Marshal would also escape <, > and &.
			got, err := v.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("round trip = %s, want %s", got, tc.want)
			}
			var again Value
			if err := json.Unmarshal(got, &again); err != nil {
				t.Fatal(err)
			}
			if b, _ := again.MarshalJSON(); string(b) != tc.want {
				t.Errorf("second round trip = %s", b)
			}
		})
	}
}

func TestValueJSONSpecialNumbers(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Array(Number(math.NaN()), Number(math.Inf(1)), Number(math.Inf(-1)), Number(math.Copysign(0, -1))))
	if err != nil {
		t.Fatal(err)
	}
	if want := `["NaN","Infinity","-Infinity",0]`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	b, _ = json.Marshal(String("bad \xff byte"))
	if want := `"bad \ufffd byte"`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestValueUnmarshalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ``},
		{name: "unclosed", in: `[1, 2`},
		{name: "trailing", in: `1 2`},
		{name: "bare word", in: `nope`},
		{name: "single quotes", in: `{'a': 1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v Value
			if err := v.UnmarshalJSON([]byte(tc.in)); err == nil {
				t.Errorf("UnmarshalJSON(%q) = %v, want an error", tc.in, v)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	want := []string{"null", "boolean", "number", "string", "array", "object", "kind(9)"}
	for i, k := range []Kind{KindNull, KindBool, KindNumber, KindString, KindArray, KindObject, 9} {
		if k.String() != want[i] {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want[i])
		}
	}
}
