package expr

import (
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	type finding struct {
		col  int
		code string
		msg  string
		hint string
	}
	tests := []struct {
		name  string
		src   string
		known []string
		want  []finding
	}{
		{name: "clean", src: "success() && contains(github.event.issue.labels.*.name, 'bug') && matrix.os == 'x'"},
		{name: "function names ignore case", src: "TOJSON(github) && FromJson('1') && startswith('a', 'b')"},
		{name: "all functions", src: "format('{0}{1}', join(fromJSON('[]')), toJSON(1)) && hashFiles('a', 'b') && case(true, 1, false, 2, 3) && matches('a', '/a/i') && endsWith('a', 'b') && failure() && always() && cancelled()"},
		{name: "unknown context", src: "1 == foo.bar", want: []finding{{col: 6, code: CodeContext, msg: `unknown context "foo"`, hint: "available here: env, github"}}},
		{name: "context typo", src: "githb.ref", want: []finding{{col: 1, code: CodeContext, msg: `unknown context "githb"`, hint: `did you mean "github"?`}}},
		{name: "context not available here", src: "matrix.os", known: []string{"github", "env"}, want: []finding{{col: 1, code: CodeContext, msg: `unknown context "matrix"`, hint: "available here: github, env"}}},
		{name: "no context available", src: "github.ref", known: []string{}, want: []finding{{col: 1, code: CodeContext, msg: `unknown context "github"`, hint: "no context is available here"}}},
		{name: "context names ignore case", src: "GITHUB.ref", known: []string{"github"}},
		{name: "unknown function", src: "contain('a', 'b')", want: []finding{{col: 1, code: CodeFunc, msg: `unknown function "contain"`, hint: `did you mean "contains"?`}}},
		{name: "unknown function far from any", src: "frobnicate()", want: []finding{{col: 1, code: CodeFunc, msg: `unknown function "frobnicate"`, hint: "functions: always, cancelled, case"}}},
		{name: "too few arguments", src: "x || startsWith('a')", known: []string{"x"}, want: []finding{{col: 6, code: CodeFunc, msg: "startsWith takes 2 arguments, got 1", hint: "usage: startsWith(searchString, searchValue)"}}},
		{name: "too many arguments", src: "toJSON(1, 2)", want: []finding{{col: 1, code: CodeFunc, msg: "toJSON takes 1 argument, got 2"}}},
		{name: "join range", src: "join(1, 2, 3)", want: []finding{{col: 1, code: CodeFunc, msg: "join takes 1 to 2 arguments, got 3"}}},
		{name: "format needs a string", src: "format()", want: []finding{{col: 1, code: CodeFunc, msg: "format takes at least 1 argument, got 0"}}},
		{name: "status function with argument", src: "success(1)", want: []finding{{col: 1, code: CodeFunc, msg: "success takes no arguments, got 1"}}},
		{name: "case too short", src: "case(true, 'a')", want: []finding{{col: 1, code: CodeFunc, msg: "case takes at least 3 arguments, got 2"}}},
		{name: "case even", src: "case(true, 'a', false, 'b')", want: []finding{{col: 1, code: CodeFunc, msg: "case takes an odd number of arguments"}}},
		{name: "format literal refers too far", src: "format('{0} {1}', 'a')", want: []finding{{col: 8, code: CodeFunc, msg: `refers to {1} but only 1 value given`}}},
		{name: "format literal invalid", src: "format('{', 'a')", want: []finding{{col: 8, code: CodeFunc, msg: "invalid format string"}}},
		{name: "format dynamic string is not checked", src: "format(env.F, 'a')"},
		{name: "matches bad literal pattern", src: "matches(env.X, '/a(/i')", want: []finding{{col: 16, code: CodeFunc, msg: "missing closing )"}}},
		{name: "several findings in order", src: "nope(foo.x, startsWith(1))", want: []finding{
			{col: 1, code: CodeFunc, msg: `unknown function "nope"`},
			{col: 6, code: CodeContext, msg: `unknown context "foo"`},
			{col: 13, code: CodeFunc, msg: "startsWith takes 2 arguments"},
		}},
		{name: "syntax error", src: "a ==", want: []finding{{col: 5, code: CodeSyntax, msg: "unexpected end of input"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := Check(tc.src, diag.Pos{File: "ci.yml", Line: 3, Col: 1}, tc.known)
			if len(l) != len(tc.want) {
				t.Fatalf("got %d findings, want %d:\n%v", len(l), len(tc.want), l.Err())
			}
			for i, w := range tc.want {
				d := l[i]
				if d.Pos != (diag.Pos{File: "ci.yml", Line: 3, Col: w.col}) {
					t.Errorf("finding %d at %v, want col %d (%s)", i, d.Pos, w.col, d.Message)
				}
				if d.Code != w.code {
					t.Errorf("finding %d code %q, want %q", i, d.Code, w.code)
				}
				if !strings.Contains(d.Message, w.msg) {
					t.Errorf("finding %d message %q, want %q in it", i, d.Message, w.msg)
				}
				if !strings.Contains(d.Hint, w.hint) {
					t.Errorf("finding %d hint %q, want %q in it", i, d.Hint, w.hint)
				}
				if d.Severity != diag.Error {
					t.Errorf("finding %d severity %v", i, d.Severity)
				}
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	want := []string{"always", "cancelled", "case", "contains", "endsWith", "failure", "format", "fromJSON", "hashFiles", "join", "matches", "startsWith", "success", "toJSON"}
	if got := Functions(); !equalGo(got, want) {
		t.Errorf("Functions() = %v, want %v", got, want)
	}
}
