package expr

import (
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/diag"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	pos := diag.Pos{File: "ci.yml", Line: 4, Col: 9}
	tests := []struct {
		name     string
		src      string
		wantLine int
		wantCol  int
		wantMsg  string
	}{
		{name: "missing operand", src: "github.ref ==", wantLine: 4, wantCol: 9 + 13, wantMsg: "unexpected end of input"},
		{name: "double quotes", src: `github.ref == "main"`, wantLine: 4, wantCol: 9 + 14, wantMsg: "only single quotes"},
		{name: "single equals", src: "a = b", wantLine: 4, wantCol: 9 + 3, wantMsg: "== operator"},
		{name: "unclosed paren", src: "(a || b", wantLine: 4, wantCol: 9 + 7, wantMsg: "closing ')'"},
		{name: "unclosed string", src: "'abc", wantLine: 4, wantCol: 9 + 4, wantMsg: "end of string literal"},
		{name: "trailing token", src: "a b", wantLine: 4, wantCol: 9 + 2, wantMsg: "did not reach end of input"},
		{name: "closing braces inside", src: "a }} b", wantLine: 4, wantCol: 9 + 2, wantMsg: `unexpected "}}" inside the expression`},
		{name: "empty", src: "   ", wantLine: 4, wantCol: 9, wantMsg: "empty expression"},
		{name: "empty braces", src: "${{ }}", wantLine: 4, wantCol: 9 + 3, wantMsg: "empty expression"},
		{name: "error inside braces", src: "${{ github.ref == }}", wantLine: 4, wantCol: 9 + 18, wantMsg: "unexpected end of input"},
		{name: "error on a later line", src: "github.ref == 'x' &&\n  startsWith(a,, b)", wantLine: 5, wantCol: 16, wantMsg: `unexpected token ","`},
		{name: "column counts characters", src: "'été' == x y", wantLine: 4, wantCol: 9 + 11, wantMsg: "did not reach end of input"},
		{name: "position after a wide integer", src: "9876543210 == x y", wantLine: 4, wantCol: 9 + 16, wantMsg: "did not reach end of input"},
		{name: "position after two wide integers", src: "0x100000000 == -9876543210 + 1", wantLine: 4, wantCol: 9 + 27, wantMsg: "unexpected character '+'"},
		{name: "hex too wide for 64 bits", src: "0x10000000000000000", wantLine: 4, wantCol: 9, wantMsg: "invalid integer literal"},
		{name: "bad character", src: "a ; b", wantLine: 4, wantCol: 9 + 2, wantMsg: "unexpected character ';'"},
		{name: "too deep", src: strings.Repeat("(", MaxDepth+1) + "1" + strings.Repeat(")", MaxDepth+1), wantLine: 4, wantCol: 9 + MaxDepth, wantMsg: "nested too deeply"},
		{name: "too long", src: strings.Repeat("!", MaxTokens) + "a", wantLine: 4, wantCol: 9 + MaxTokens, wantMsg: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.src, pos)
			d := wantDiag(t, err, CodeSyntax, tc.wantMsg)
			if want := (diag.Pos{File: "ci.yml", Line: tc.wantLine, Col: tc.wantCol}); d.Pos != want {
				t.Errorf("position = %v, want %v (%s)", d.Pos, want, d.Message)
			}
		})
	}
}

func TestParseString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		wantPos diag.Pos
	}{
		{name: "bare", src: "github.ref", wantPos: diag.Pos{Line: 2, Col: 3}},
		{name: "braces", src: "${{ github.ref }}", wantPos: diag.Pos{Line: 2, Col: 6}},
		{name: "braces with space around", src: "  ${{github.ref}} ", wantPos: diag.Pos{Line: 2, Col: 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.src, diag.Pos{Line: 2, Col: 3})
			if err != nil {
				t.Fatal(err)
			}
			if e.String() != tc.src {
				t.Errorf("String() = %q, want %q", e.String(), tc.src)
			}
			if e.Pos() != tc.wantPos {
				t.Errorf("Pos() = %v, want %v", e.Pos(), tc.wantPos)
			}
			if e.Node() == nil {
				t.Error("Node() = nil")
			}
		})
	}
}

func TestParseZeroPos(t *testing.T) {
	t.Parallel()
	_, err := Parse("a ==", diag.Pos{})
	d := wantDiag(t, err, CodeSyntax, "unexpected end of input")
	if d.Pos != (diag.Pos{Line: 1, Col: 5}) {
		t.Errorf("position = %v, want 1:5", d.Pos)
	}
}

// TestParseHostile checks that huge or deeply nested inputs fail quickly
// with a positioned error instead of exhausting the stack or memory.
func TestParseHostile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		wantMsg string
	}{
		{name: "100k open parens", src: strings.Repeat("(", 100_000), wantMsg: "nested too deeply"},
		{name: "100k brackets", src: "a" + strings.Repeat("[a", 100_000), wantMsg: "nested too deeply"},
		{name: "100k nots", src: strings.Repeat("!", 100_000) + "a", wantMsg: "too long"},
		{name: "long or chain", src: "a" + strings.Repeat(" || a", 100_000), wantMsg: "too long"},
		{name: "long comparison chain", src: "a" + strings.Repeat(" == a", 100_000), wantMsg: "too long"},
		{name: "long call nesting", src: strings.Repeat("format(", 100_000), wantMsg: "nested too deeply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Parse(tc.src, diag.Pos{File: "x.yml", Line: 1, Col: 1})
			wantDiag(t, err, CodeSyntax, tc.wantMsg)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			_, err = ParseTemplate("${{ "+tc.src+" }}", diag.Pos{File: "x.yml", Line: 1, Col: 1})
			wantDiag(t, err, CodeSyntax, tc.wantMsg)
		})
	}
}

// TestParseNearLimits checks that inputs just inside the limits parse and
// evaluate.
func TestParseNearLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want any
	}{
		{name: "deep parens", src: strings.Repeat("(", MaxDepth) + "1" + strings.Repeat(")", MaxDepth), want: 1.0},
		{name: "long or chain", src: "false" + strings.Repeat(" || false", 2000) + " || 'x'", want: "x"},
		{name: "many nots", src: strings.Repeat("!", 5000) + "true", want: true},
		{name: "long property chain", src: "github" + strings.Repeat(".a", 3000), want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.src, diag.Pos{Line: 1, Col: 1})
			if err != nil {
				t.Fatal(err)
			}
			v, err := e.Eval(testEnv(t))
			if err != nil {
				t.Fatal(err)
			}
			if v.Go() != tc.want {
				t.Errorf("got %v, want %v", v.Go(), tc.want)
			}
		})
	}
}

func TestDeepJSON(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
	env := &Env{Contexts: map[string]Value{"env": Object(map[string]Value{"DEEP": String(deep)})}}
	e, err := Parse("fromJSON(env.DEEP)", diag.Pos{Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Eval(env)
	wantDiag(t, err, CodeEval, "nested deeper than")

	ok := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	env.Contexts["env"] = Object(map[string]Value{"DEEP": String(ok)})
	e, err = Parse("toJSON(fromJSON(env.DEEP))", diag.Pos{Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Eval(env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.String(), "[\n  [\n    [") {
		t.Errorf("toJSON = %.20q...", v.String())
	}
}
