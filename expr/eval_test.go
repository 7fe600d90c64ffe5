package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
)

type evalCase struct {
	name   string
	expr   string
	status Status
	want   any // as Value.Go gives it
}

// evalCases are GitHub's documented examples and the corner cases of its
// coercion rules; they also seed FuzzParseEval.
var evalCases = []evalCase{
	// Literals.
	{name: "null literal", expr: "null", want: nil},
	{name: "bool literal", expr: "false", want: false},
	{name: "integer literal", expr: "711", want: 711.0},
	{name: "float literal", expr: "-9.2", want: -9.2},
	{name: "hex literal", expr: "0xff", want: 255.0},
	{name: "exponent literal", expr: "-2.99e-2", want: -0.0299},
	{name: "string literal with quote", expr: "'It''s open source!'", want: "It's open source!"},
	{name: "braces are accepted", expr: "${{ 1 == 1 }}", want: true},
	{name: "integer wider than 32 bits", expr: "3000000000 > 2147483647", want: true},
	{name: "negative wide integer", expr: "-3000000000 < -2147483648", want: true},
	{name: "wide hex integer", expr: "0xFFFFFFFF == 4294967295", want: true},
	{name: "wide integer against an id", expr: "github.run_id == 9876543210", want: true},
	{name: "wide integer formatted", expr: "format('{0}', 9876543210)", want: "9876543210"},

	// Loose equality: numbers, with the documented coercions.
	{name: "null equals 0", expr: "null == 0", want: true},
	{name: "empty string equals 0", expr: "'' == 0", want: true},
	{name: "empty string equals null", expr: "'' == null", want: true},
	{name: "true equals 1", expr: "true == 1", want: true},
	{name: "false equals 0", expr: "false == 0", want: true},
	{name: "true equals string 1", expr: "true == '1'", want: true},
	{name: "numeric string equals number", expr: "'1' == 1", want: true},
	{name: "numeric string is trimmed", expr: "' 1.5 ' == 1.5", want: true},
	{name: "hex string equals number", expr: "'0x10' == 16", want: true},
	{name: "exponent string equals number", expr: "'1e3' == 1000", want: true},
	{name: "non-numeric string is NaN", expr: "'abc' == 0", want: false},
	{name: "NaN is not equal to itself", expr: "'abc' == 'x' || 1 == 'abc'", want: false},
	{name: "NaN is unequal", expr: "'abc' != 1", want: true},
	{name: "strings ignore case", expr: "'abc' == 'ABC'", want: true},
	{name: "strings differ", expr: "'abc' != 'abd'", want: true},
	{name: "two strings are not coerced to numbers", expr: "'1.0' == '1'", want: false},
	{name: "null equals null", expr: "null == null", want: true},
	{name: "null equals false", expr: "null == false", want: true},
	{name: "array is NaN against a number", expr: "fromJSON('[]') == 0", want: false},
	{name: "object is not a string", expr: "fromJSON('{}') == 'Object'", want: false},
	{name: "same object instance is equal", expr: "github.event == github.event", want: true},
	{name: "equal objects are not the same instance", expr: "fromJSON('{}') == fromJSON('{}')", want: false},
	{name: "same array instance is equal", expr: "numbers == numbers", want: true},
	{name: "context comparison", expr: "github.ref == 'refs/heads/main'", want: true},
	{name: "context comparison ignores case", expr: "github.event_name == 'PUSH'", want: true},

	// Ordering.
	{name: "numbers less", expr: "1 < 2", want: true},
	{name: "numbers less or equal", expr: "2 <= 2", want: true},
	{name: "numbers greater", expr: "3 > 2", want: true},
	{name: "numbers greater or equal", expr: "2 >= 3", want: false},
	{name: "strings order ignoring case", expr: "'a' < 'B'", want: true},
	{name: "strings equal ignoring case are not greater", expr: "'abc' > 'ABC'", want: false},
	{name: "strings equal ignoring case are greater or equal", expr: "'abc' >= 'ABC'", want: true},
	{name: "string against number compares numbers", expr: "'10' > 9", want: true},
	{name: "two numeric strings compare as strings", expr: "'10' > '9'", want: false},
	{name: "NaN is never less", expr: "1 < 'x'", want: false},
	{name: "NaN is never greater or equal", expr: "1 >= 'x'", want: false},
	{name: "null is less than 1", expr: "null < 1", want: true},
	{name: "null is not less than null", expr: "null < null", want: false},
	{name: "null is less or equal to null", expr: "null <= null", want: true},
	{name: "true is greater than false", expr: "true > false", want: true},
	{name: "arrays do not order", expr: "numbers < numbers", want: false},
	{name: "arrays are less or equal to themselves", expr: "numbers <= numbers", want: true},
	{name: "string output compared as number", expr: "steps.test.outputs.x > 2", want: true},

	// Not.
	{name: "not zero", expr: "!0", want: true},
	{name: "not empty string", expr: "!''", want: true},
	{name: "not string", expr: "!'a'", want: false},
	{name: "not null", expr: "!null", want: true},
	{name: "not array", expr: "!fromJSON('[]')", want: false},
	{name: "not object", expr: "!github", want: false},
	{name: "double not", expr: "!!'x'", want: true},

	// && and || give operands.
	{name: "and gives the right operand", expr: "'a' && 'b'", want: "b"},
	{name: "and gives the falsy left operand", expr: "'' && 'b'", want: ""},
	{name: "and stops at zero", expr: "0 && fromJSON('x')", want: 0.0},
	{name: "or gives the truthy left operand", expr: "'y' || 'x'", want: "y"},
	{name: "or gives the right operand", expr: "0 || 'x'", want: "x"},
	{name: "or stops at truthy", expr: "1 || fromJSON('x')", want: 1.0},
	{name: "or of nulls", expr: "null || null", want: nil},
	{name: "ternary idiom true", expr: "github.ref == 'refs/heads/main' && 'prod' || 'dev'", want: "prod"},
	{name: "ternary idiom false", expr: "github.ref == 'refs/heads/x' && 'prod' || 'dev'", want: "dev"},
	{name: "precedence and over or", expr: "true || false && false", want: true},
	{name: "grouping", expr: "(true || false) && false", want: false},
	{name: "comparison binds tighter than and", expr: "1 == 1 && 2 == 2", want: true},

	// Property and index access.
	{name: "property", expr: "github.event.issue.number", want: 42.0},
	{name: "property ignores case", expr: "GitHub.EVENT.Issue.NUMBER", want: 42.0},
	{name: "camel case key", expr: "matrix.nodeVersion", want: 20.0},
	{name: "mixed case env key", expr: "env.MIXED_CASE", want: "yes"},
	{name: "index by string", expr: "github['event']['issue']['number']", want: 42.0},
	{name: "index by string ignores case", expr: "github['EVENT_NAME']", want: "push"},
	{name: "array index", expr: "numbers[1]", want: 2.0},
	{name: "array index from a string", expr: "numbers['2']", want: 3.0},
	{name: "array index is floored", expr: "numbers[1.7]", want: 2.0},
	{name: "array index out of range", expr: "numbers[5]", want: nil},
	{name: "negative array index", expr: "numbers[-1]", want: nil},
	{name: "index into object by number", expr: "fromJSON('{\"1\": \"one\"}')[1]", want: "one"},
	{name: "missing property", expr: "github.nope", want: nil},
	{name: "deref on null", expr: "github.nope.deeper.still", want: nil},
	{name: "deref on null literal", expr: "null.x", want: nil},
	{name: "deref on string", expr: "github.ref.length", want: nil},
	{name: "property of plain array", expr: "fruits.name", want: nil},
	{name: "label of first issue label", expr: "github.event.issue.labels[0].name", want: "bug"},
	{name: "missing well-known context", expr: "inputs.level", want: nil},
	{name: "context name ignores case", expr: "MATRIX.os", want: "ubuntu-latest"},

	// Object filters.
	{name: "filter array of objects", expr: "fruits.*.name", want: []any{"apple", "orange", "pear"}},
	{name: "filter skips items without the key", expr: "github.event.issue.labels.*.name", want: []any{"bug", "help wanted"}},
	{name: "filter object values", expr: "vegetables.*.ediblePortions", want: []any{[]any{"roots", "stalks"}, []any{"roots", "stems", "leaves"}}},
	{name: "filter steps outputs", expr: "steps.*.outputs.x", want: []any{"1", "3"}},
	{name: "filter array of arrays by index", expr: "nested.*[0]", want: []any{1.0, 3.0}},
	{name: "filter twice flattens", expr: "vegetables.*.colors.*", want: []any{"green", "white", "red", "purple", "red"}},
	{name: "filter of a scalar is empty", expr: "github.ref.*", want: []any{}},
	{name: "filter of null is empty", expr: "github.nope.*", want: []any{}},
	{name: "filter of plain array", expr: "numbers.*", want: []any{1.0, 2.0, 3.0}},
	{name: "index into a filter result", expr: "fruits.*.name[1]", want: []any{}},

	// contains.
	{name: "contains substring", expr: "contains('Hello world', 'llo')", want: true},
	{name: "contains ignores case", expr: "contains('Hello world', 'LLO')", want: true},
	{name: "contains misses", expr: "contains('Hello world', 'xyz')", want: false},
	{name: "contains in array", expr: "contains(fromJSON('[\"a\",\"b\"]'), 'a')", want: true},
	{name: "contains in array ignores case", expr: "contains(fromJSON('[\"a\",\"b\"]'), 'B')", want: true},
	{name: "contains in array is loose", expr: "contains(fromJSON('[1, 2]'), '2')", want: true},
	{name: "contains event name", expr: "contains(fromJSON('[\"push\", \"pull_request\"]'), github.event_name)", want: true},
	{name: "contains on filter", expr: "contains(github.event.issue.labels.*.name, 'bug')", want: true},
	{name: "contains on object", expr: "contains(github, 'ref')", want: false},
	{name: "contains number in number", expr: "contains(123, 2)", want: true},
	{name: "contains empty in null", expr: "contains(null, '')", want: true},
	{name: "contains array in string", expr: "contains('abc', numbers)", want: false},

	// startsWith, endsWith.
	{name: "startsWith", expr: "startsWith('Hello world', 'He')", want: true},
	{name: "startsWith ignores case", expr: "startsWith('Hello world', 'he')", want: true},
	{name: "startsWith misses", expr: "startsWith('Hello world', 'world')", want: false},
	{name: "startsWith ref", expr: "startsWith(github.ref, 'refs/heads/')", want: true},
	{name: "startsWith array", expr: "startsWith(numbers, '')", want: false},
	{name: "endsWith", expr: "endsWith('Hello world', 'ld')", want: true},
	{name: "endsWith ignores case", expr: "endsWith('Hello world', 'LD')", want: true},
	{name: "endsWith number", expr: "endsWith(1.5, '.5')", want: true},

	// format.
	{name: "format", expr: "format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", want: "Hello Mona the Octocat"},
	{name: "format escaped braces", expr: "format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", want: "{Hello Mona the Octocat!}"},
	{name: "format two values", expr: "format('{0} {1}', 'a', 'b')", want: "a b"},
	{name: "format escaped placeholder", expr: "format('{{0}}', 1)", want: "{0}"},
	{name: "format reorders and repeats", expr: "format('{1}{0}{1}', 'a', 'b')", want: "bab"},
	{name: "format ignores a format specifier", expr: "format('{0:D}', 5)", want: "5"},
	{name: "format null", expr: "format('[{0}]', null)", want: "[]"},
	{name: "format booleans", expr: "format('{0} {1}', true, false)", want: "true false"},
	{name: "format whole number", expr: "format('{0}', 2.0)", want: "2"},
	{name: "format fraction", expr: "format('{0}', 0.5)", want: "0.5"},
	{name: "format 15 digits", expr: "format('{0}', 0.84551240822557006)", want: "0.84551240822557"},
	{name: "format large number", expr: "format('{0}', 1e15)", want: "1E+15"},
	{name: "format below exponent", expr: "format('{0}', 1e14)", want: "100000000000000"},
	{name: "format small number", expr: "format('{0}', 1.2e-2)", want: "0.012"},
	{name: "format negative zero", expr: "format('{0}', -0.0)", want: "0"},
	{name: "format hex", expr: "format('{0}', 0xFF)", want: "255"},
	{name: "format object", expr: "format('{0}', github)", want: "Object"},
	{name: "format array", expr: "format('{0}', numbers)", want: "Array"},
	{name: "format without placeholders", expr: "format('plain')", want: "plain"},

	// join.
	{name: "join default separator", expr: "join(fromJSON('[\"a\",\"b\"]'))", want: "a,b"},
	{name: "join labels", expr: "join(github.event.issue.labels.*.name, ', ')", want: "bug, help wanted"},
	{name: "join mixed values", expr: "join(fromJSON('[1, true, null, \"x\"]'), '-')", want: "1-true--x"},
	{name: "join string", expr: "join('abc', '-')", want: "abc"},
	{name: "join object", expr: "join(github)", want: ""},
	{name: "join empty array", expr: "join(fromJSON('[]'))", want: ""},
	{name: "join non-primitive separator", expr: "join(numbers, numbers)", want: "1,2,3"},

	// toJSON.
	{name: "toJSON null", expr: "toJSON(null)", want: "null"},
	{name: "toJSON string", expr: "toJSON('abc''def')", want: `"abc'def"`},
	{name: "toJSON escapes", expr: `toJSON('a\"b')`, want: `"a\\\"b"`},
	{name: "toJSON number", expr: "toJSON(-1234.5)", want: "-1234.5"},
	{name: "toJSON job", expr: "toJSON(job)", want: "{\n  \"status\": \"success\"\n}"},
	{name: "toJSON empty", expr: "toJSON(fromJSON('[[], {}]'))", want: "[\n  [],\n  {}\n]"},
	{name: "toJSON nested keeps key order", expr: "toJSON(needs)", want: "{\n  \"setup\": {\n    \"result\": \"success\",\n    \"outputs\": {\n      \"version\": \"1.2.3\"\n    }\n  }\n}"},
	{name: "toJSON filter", expr: "toJSON(fruits.*.quantity)", want: "[\n  1,\n  2,\n  1\n]"},

	// fromJSON.
	{name: "fromJSON number", expr: "fromJSON(env.TIME)", want: 3.0},
	{name: "fromJSON boolean", expr: "fromJSON(env.CONTINUE)", want: true},
	{name: "fromJSON null", expr: "fromJSON('null')", want: nil},
	{name: "fromJSON string", expr: "fromJSON('\"x\"')", want: "x"},
	{name: "fromJSON object", expr: "fromJSON('{\"include\":[{\"project\":\"foo\"}]}').include[0].project", want: "foo"},
	{name: "fromJSON number compares", expr: "fromJSON(env.TIME) > 2", want: true},

	// Status functions.
	{name: "success by default", expr: "success()", want: true},
	{name: "success after failure", expr: "success()", status: StatusFailure, want: false},
	{name: "failure after failure", expr: "failure()", status: StatusFailure, want: true},
	{name: "failure on success", expr: "failure()", want: false},
	{name: "cancelled", expr: "cancelled()", status: StatusCancelled, want: true},
	{name: "not cancelled", expr: "!cancelled()", status: StatusFailure, want: true},
	{name: "success when cancelled", expr: "success()", status: StatusCancelled, want: false},
	{name: "always", expr: "always()", status: StatusCancelled, want: true},
	{name: "failure with condition", expr: "failure() && steps.test.conclusion == 'failure'", status: StatusFailure, want: true},
	{name: "status names ignore case", expr: "SUCCESS()", want: true},

	// case.
	{name: "case first", expr: "case(true, 'first', 'default')", want: "first"},
	{name: "case default", expr: "case(false, 'first', 'default')", want: "default"},
	{name: "case second", expr: "case(false, 'first', true, 'second', 'default')", want: "second"},
	{name: "case none", expr: "case(false, 'first', false, 'second', 'default')", want: "default"},
	{name: "case on ref", expr: "case(github.ref == 'refs/heads/main', 'production', 'development')", want: "production"},
	{name: "case on event", expr: "case(github.event_name == 'pull_request', 'pr', startsWith(github.ref, 'refs/heads/'), 'branch', 'other')", want: "branch"},
	{name: "case returns any value", expr: "case(true, fromJSON('[1,2]'), 'default')", want: []any{1.0, 2.0}},
	{name: "case returns falsy values", expr: "case(true, '', 'default')", want: ""},
	{name: "case evaluates only what it returns", expr: "case(true, 'x', fromJSON('not json'))", want: "x"},

	// matches (GitLab's =~).
	{name: "matches slash pattern", expr: "matches('v1.2.3', '/^v\\d+/')", want: true},
	{name: "matches is case-sensitive", expr: "matches('ABC', '/abc/')", want: false},
	{name: "matches flag i", expr: "matches('ABC', '/abc/i')", want: true},
	{name: "matches flag m", expr: "matches(env.MULTI, '/^b$/m')", want: true},
	{name: "matches without flag m", expr: "matches(env.MULTI, '/^b$/')", want: false},
	{name: "matches flag s", expr: "matches(env.MULTI, '/a.b/s')", want: true},
	{name: "matches without flag s", expr: "matches(env.MULTI, '/a.b/')", want: false},
	{name: "matches bare pattern", expr: "matches(github.ref, '^refs/heads/(main|master)$')", want: true},
	{name: "matches escaped slash", expr: "matches('a/b', '/a\\/b/')", want: true},
	{name: "matches dynamic pattern", expr: "matches(github.ref, format('/{0}$/', 'main'))", want: true},
	{name: "matches null as empty", expr: "matches(env.UNSET, '/^$/')", want: true},
	{name: "not matches", expr: "!matches(github.ref, '/tags/')", want: true},
	{name: "matches names ignore case", expr: "MATCHES('a', 'a')", want: true},
}

func TestEval(t *testing.T) {
	t.Parallel()
	for _, tc := range evalCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.expr, diag.Pos{File: "ci.yml", Line: 1, Col: 1})
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			env := testEnv(t)
			env.Status = tc.status
			v, err := e.Eval(env)
			if err != nil {
				t.Fatalf("Eval(%q): %v", tc.expr, err)
			}
			if got := v.Go(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Eval(%q) = %#v (%s), want %#v", tc.expr, got, v.Kind(), tc.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	pos := diag.Pos{File: "ci.yml", Line: 7, Col: 11}
	tests := []struct {
		name    string
		expr    string
		env     *Env
		wantCol int // column of the error: pos.Col + offset in expr
		wantMsg string
	}{
		{name: "unknown context", expr: "1 == foo.bar", wantCol: 16, wantMsg: `unknown context "foo"`},
		{name: "unknown function", expr: "nope(1)", wantCol: 11, wantMsg: `unknown function "nope"`},
		{name: "too few arguments", expr: "startsWith('a')", wantCol: 11, wantMsg: "startsWith takes 2 arguments, got 1"},
		{name: "too many arguments", expr: "success(1)", wantCol: 11, wantMsg: "success takes no arguments, got 1"},
		{name: "case with an even number of arguments", expr: "case(true, 'a', false, 'b')", wantCol: 11, wantMsg: "case takes an odd number of arguments"},
		{name: "case predicate not boolean", expr: "case(true && 'x', 'a', 'b')", wantCol: 16, wantMsg: "case: predicate must be a boolean, got string"},
		{name: "case second predicate not boolean", expr: "case(false, 'a', null, 'b', 'c')", wantCol: 28, wantMsg: "case: predicate must be a boolean, got null"},
		{name: "format argument missing", expr: "format('{0} {1}', 'a')", wantCol: 18, wantMsg: `format: format string "{0} {1}" refers to {1} but only 1 value given`},
		{name: "format unclosed brace", expr: "format('{0', 'a')", wantCol: 18, wantMsg: "is not closed"},
		{name: "format lone closing brace", expr: "format('a}b')", wantCol: 18, wantMsg: `unmatched "}"`},
		{name: "format brace without number", expr: "format('{x}', 1)", wantCol: 18, wantMsg: "not followed by an argument number"},
		{name: "fromJSON invalid", expr: "fromJSON('{')", wantCol: 20, wantMsg: "fromJSON: invalid JSON"},
		{name: "fromJSON trailing data", expr: "fromJSON('1 2')", wantCol: 20, wantMsg: "unexpected data after the value"},
		{name: "fromJSON empty", expr: "fromJSON(env.EMPTY)", wantCol: 20, wantMsg: "fromJSON: empty input"},
		{name: "hashFiles without workspace", expr: "hashFiles('**/go.sum')", wantCol: 11, wantMsg: "hashFiles is not available here"},
		{name: "hashFiles failing", expr: "hashFiles('x')", env: &Env{HashFiles: func([]string) (string, error) { return "", errors.New("disk on fire") }}, wantCol: 11, wantMsg: "hashFiles: disk on fire"},
		{name: "matches bad pattern", expr: "matches('a', '/(/')", wantCol: 24, wantMsg: `matches: invalid regular expression "/(/": missing closing )`},
		{name: "matches bad dynamic pattern", expr: "matches('a', format('{0}', '['))", wantCol: 24, wantMsg: "missing closing ]"},
		{name: "error inside an argument", expr: "toJSON(fromJSON('x'))", wantCol: 27, wantMsg: "fromJSON: invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.expr, pos)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			env := tc.env
			if env == nil {
				env = testEnv(t)
			}
			_, err = e.Eval(env)
			d := wantDiag(t, err, CodeEval, tc.wantMsg)
			if want := (diag.Pos{File: "ci.yml", Line: 7, Col: tc.wantCol}); d.Pos != want {
				t.Errorf("position = %v, want %v (%s)", d.Pos, want, d.Message)
			}
		})
	}
}

// wantDiag checks that err is a single diag.Diagnostic with the code and a
// message containing msg, and returns it.
func wantDiag(t *testing.T, err error, code, msg string) diag.Diagnostic {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", code, msg)
	}
	var d diag.Diagnostic
	if !errors.As(err, &d) {
		t.Fatalf("error %v (%T) is not a diag.Diagnostic", err, err)
	}
	if d.Code != code {
		t.Errorf("code = %q, want %q (%v)", d.Code, code, d)
	}
	if !strings.Contains(d.Message, msg) {
		t.Errorf("message = %q, want it to contain %q", d.Message, msg)
	}
	return d
}

func TestEvalNilEnv(t *testing.T) {
	t.Parallel()
	e, err := Parse("success() && github.ref == ''", diag.Pos{Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Eval(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal(Bool(true)) {
		t.Errorf("got %v, want true", v)
	}
	ok, err := e.EvalBool(nil)
	if err != nil || !ok {
		t.Errorf("EvalBool = %v, %v, want true, nil", ok, err)
	}
}

func TestEvalConcurrent(t *testing.T) {
	t.Parallel()
	e, err := Parse("matches(github.ref, '/main$/') && join(fruits.*.name, '+')", diag.Pos{Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	done := make(chan string)
	for range 8 {
		go func() {
			v, err := e.Eval(env)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- v.String()
		}()
	}
	for range 8 {
		if got := <-done; got != "apple+orange+pear" {
			t.Errorf("got %q", got)
		}
	}
}

func TestUsesStatusFunc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		expr string
		want bool
	}{
		{name: "plain condition", expr: "github.ref == 'refs/heads/main'", want: false},
		{name: "success", expr: "success()", want: true},
		{name: "nested always", expr: "github.ref == 'x' || (always() && true)", want: true},
		{name: "not cancelled", expr: "!cancelled()", want: true},
		{name: "failure in argument", expr: "format('{0}', failure())", want: true},
		{name: "upper case", expr: "FAILURE()", want: true},
		{name: "other function", expr: "contains('a', 'b')", want: false},
		{name: "word in a string", expr: "'success()' == 'x'", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.expr, diag.Pos{Line: 1, Col: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := UsesStatusFunc(e); got != tc.want {
				t.Errorf("UsesStatusFunc(%q) = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
	if UsesStatusFunc(nil) {
		t.Error("UsesStatusFunc(nil) = true")
	}
}
