package expr

import (
	"errors"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
)

type templateCase struct {
	name      string
	src       string
	want      string
	wantExprs int
}

// templateCases also seed FuzzParseEval.
var templateCases = []templateCase{
	{name: "no expression", src: "plain text", want: "plain text"},
	{name: "empty", src: "", want: ""},
	{name: "one expression", src: "${{ github.sha }}", want: "abc123", wantExprs: 1},
	{name: "text around", src: "sha=${{ github.sha }}!", want: "sha=abc123!", wantExprs: 1},
	{name: "two expressions", src: "v${{ matrix.nodeVersion }}-${{ matrix.os }}", want: "v20-ubuntu-latest", wantExprs: 2},
	{name: "adjacent expressions", src: "${{ 1 }}${{ 2 }}", want: "12", wantExprs: 2},
	{name: "no spaces", src: "${{github.ref}}", want: "refs/heads/main", wantExprs: 1},
	{name: "braces in a string literal", src: "a${{ '}}' }}b", want: "a}}b", wantExprs: 1},
	{name: "dollar brace brace in a string literal", src: "${{ '${{' }}", want: "${{", wantExprs: 1},
	{name: "single braces stay", src: "{ x } ${ y } $ {{ z }}", want: "{ x } ${ y } $ {{ z }}"},
	{name: "null becomes empty", src: "[${{ github.nope }}]", want: "[]", wantExprs: 1},
	{name: "booleans", src: "${{ true }}/${{ 1 == 2 }}", want: "true/false", wantExprs: 2},
	{name: "numbers", src: "${{ 1.50 }} ${{ 0x10 }} ${{ 1e15 }}", want: "1.5 16 1E+15", wantExprs: 3},
	{name: "object becomes JSON", src: "job=${{ job }}", want: `job={"status":"success"}`, wantExprs: 1},
	{name: "array becomes JSON", src: "n=${{ numbers }}", want: "n=[1,2,3]", wantExprs: 1},
	{name: "multi-line script", src: "echo start\necho ${{ github.sha }}\n  echo ${{ steps.build.outputs.x }}\n", want: "echo start\necho abc123\n  echo 1\n", wantExprs: 2},
	{name: "expression over lines", src: "${{\n  github.ref == 'refs/heads/main'\n  && 'prod'\n  || 'dev'\n}}", want: "prod", wantExprs: 1},
	{name: "toJSON inside", src: "${{ toJSON(job) }}", want: "{\n  \"status\": \"success\"\n}", wantExprs: 1},
}

func TestTemplateEval(t *testing.T) {
	t.Parallel()
	for _, tc := range templateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := ParseTemplate(tc.src, diag.Pos{File: "ci.yml", Line: 3, Col: 5})
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tc.src, err)
			}
			if tpl.String() != tc.src {
				t.Errorf("String() = %q, want %q", tpl.String(), tc.src)
			}
			if n := len(tpl.Exprs()); n != tc.wantExprs {
				t.Errorf("%d expressions, want %d", n, tc.wantExprs)
			}
			got, err := tpl.Eval(testEnv(t))
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != tc.want {
				t.Errorf("Eval = %q, want %q", got, tc.want)
			}
			if HasExpr(tc.src) != (tc.wantExprs > 0) {
				t.Errorf("HasExpr = %v", HasExpr(tc.src))
			}
			got, err = Interpolate(tc.src, diag.Pos{Line: 1, Col: 1}, testEnv(t))
			if err != nil || got != tc.want {
				t.Errorf("Interpolate = %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestTemplateValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src      string
		want     any
		wantKind Kind
		single   bool
	}{
		{name: "single expression keeps its value", src: "${{ fromJSON('[1, 2]') }}", want: []any{1.0, 2.0}, wantKind: KindArray, single: true},
		{name: "single boolean", src: "${{ github.ref == 'refs/heads/main' }}", want: true, wantKind: KindBool, single: true},
		{name: "single number", src: "${{ matrix.nodeVersion }}", want: 20.0, wantKind: KindNumber, single: true},
		{name: "single object", src: "${{ job }}", want: map[string]any{"status": "success"}, wantKind: KindObject, single: true},
		{name: "text around makes a string", src: " ${{ matrix.nodeVersion }}", want: " 20", wantKind: KindString},
		{name: "two expressions make a string", src: "${{ true }}${{ false }}", want: "truefalse", wantKind: KindString},
		{name: "literal", src: "false", want: "false", wantKind: KindString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := ParseTemplate(tc.src, diag.Pos{Line: 1, Col: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Single() != nil; got != tc.single {
				t.Errorf("Single() != nil is %v, want %v", got, tc.single)
			}
			v, err := tpl.Value(testEnv(t))
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind() != tc.wantKind {
				t.Errorf("kind = %v, want %v", v.Kind(), tc.wantKind)
			}
			if got := v.Go(); !equalGo(got, tc.want) {
				t.Errorf("Value = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	pos := diag.Pos{File: "w.yml", Line: 20, Col: 9}
	tests := []struct {
		name string
		src  string
		want []diag.Pos
		msgs []string
	}{
		{
			name: "error on the first line",
			src:  "echo ${{ github.ref == }}",
			want: []diag.Pos{{File: "w.yml", Line: 20, Col: 9 + 23}},
			msgs: []string{"unexpected end of input"},
		},
		{
			name: "error on a later line",
			src:  "a\nb ${{ github.ref == }}",
			want: []diag.Pos{{File: "w.yml", Line: 21, Col: 21}},
			msgs: []string{"unexpected end of input"},
		},
		{
			name: "characters not bytes",
			src:  "é\nü${{ github.ref == }}",
			want: []diag.Pos{{File: "w.yml", Line: 21, Col: 20}},
			msgs: []string{"unexpected end of input"},
		},
		{
			name: "unclosed",
			src:  "run: |\n  echo ${{ github.sha",
			want: []diag.Pos{{File: "w.yml", Line: 21, Col: 8}},
			msgs: []string{`"${{" is not closed`},
		},
		{
			name: "unclosed string",
			src:  "x ${{ 'abc }}",
			want: []diag.Pos{{File: "w.yml", Line: 20, Col: 11}},
			msgs: []string{`"${{" is not closed`},
		},
		{
			name: "bad character, then another error",
			src:  "${{ a ; b }}\nline two ${{ c = d }}",
			want: []diag.Pos{{File: "w.yml", Line: 20, Col: 15}, {File: "w.yml", Line: 21, Col: 17}},
			msgs: []string{"unexpected character ';'", "== operator"},
		},
		{
			name: "two bad expressions",
			src:  "${{ 1 == }} and\n\n   ${{ (a }}",
			want: []diag.Pos{{File: "w.yml", Line: 20, Col: 18}, {File: "w.yml", Line: 22, Col: 11}},
			msgs: []string{"unexpected end of input", "closing ')'"},
		},
		{
			name: "empty expression",
			src:  "a ${{ }} b",
			want: []diag.Pos{{File: "w.yml", Line: 20, Col: 14}},
			msgs: []string{"empty expression"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTemplate(tc.src, pos)
			if err == nil {
				t.Fatal("no error")
			}
			list := diag.AsList(err)
			if len(list) != len(tc.want) {
				t.Fatalf("got %d diagnostics, want %d: %v", len(list), len(tc.want), err)
			}
			if len(list) == 1 {
				var d diag.Diagnostic
				if !errors.As(err, &d) {
					t.Errorf("a single error is %T, want diag.Diagnostic", err)
				}
			}
			for i, d := range list {
				if d.Pos != tc.want[i] {
					t.Errorf("diagnostic %d at %v, want %v (%s)", i, d.Pos, tc.want[i], d.Message)
				}
				if d.Code != CodeSyntax {
					t.Errorf("diagnostic %d code %q", i, d.Code)
				}
				if !strings.Contains(d.Message, tc.msgs[i]) {
					t.Errorf("diagnostic %d message %q, want %q in it", i, d.Message, tc.msgs[i])
				}
			}
		})
	}
}

// TestTemplateEvalErrorPosition checks that an evaluation error deep in a
// multi-line script points at the right line and column of the file.
func TestTemplateEvalErrorPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		start diag.Pos
		block bool
		want  diag.Pos
	}{
		{
			name:  "flow string",
			src:   "echo start\necho ${{ github.sha }}\n  echo ${{ fromJSON('{') }}\n",
			start: diag.Pos{File: "w.yml", Line: 20, Col: 9},
			want:  diag.Pos{File: "w.yml", Line: 22, Col: 21},
		},
		{
			name:  "block scalar keeps the indentation",
			src:   "echo start\necho ${{ github.sha }}\n  echo ${{ fromJSON('{') }}\n",
			start: diag.Pos{File: "w.yml", Line: 20, Col: 9},
			block: true,
			want:  diag.Pos{File: "w.yml", Line: 22, Col: 29},
		},
		{
			name:  "first line of a block",
			src:   "echo ${{ nope.x }}",
			start: diag.Pos{File: "w.yml", Line: 5, Col: 7},
			block: true,
			want:  diag.Pos{File: "w.yml", Line: 5, Col: 16},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := FlowPos(tc.src, tc.start)
			if tc.block {
				at = BlockPos(tc.src, tc.start)
			}
			tpl, err := ParseTemplateAt(tc.src, at)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Eval(testEnv(t))
			d := wantDiag(t, err, CodeEval, "")
			if d.Pos != tc.want {
				t.Errorf("position = %v, want %v (%s)", d.Pos, tc.want, d.Message)
			}
			_, err = tpl.Value(testEnv(t))
			if err == nil {
				t.Error("Value: no error")
			}
		})
	}
}

func TestTemplateCheck(t *testing.T) {
	t.Parallel()
	tpl, err := ParseTemplate("${{ github.sha }}\n${{ nope.x }} ${{ contain('a', 'b') }}", diag.Pos{File: "w.yml", Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	l := tpl.Check(nil)
	want := []struct {
		pos  diag.Pos
		code string
	}{
		{diag.Pos{File: "w.yml", Line: 2, Col: 5}, CodeContext},
		{diag.Pos{File: "w.yml", Line: 2, Col: 19}, CodeFunc},
	}
	if len(l) != len(want) {
		t.Fatalf("got %v, want %d diagnostics", l, len(want))
	}
	for i, w := range want {
		if l[i].Pos != w.pos || l[i].Code != w.code {
			t.Errorf("diagnostic %d = %v, want %s at %v", i, l[i], w.code, w.pos)
		}
	}
}

func TestInterpolateError(t *testing.T) {
	t.Parallel()
	_, err := Interpolate("x ${{ 1 = }}", diag.Pos{Line: 1, Col: 1}, nil)
	wantDiag(t, err, CodeSyntax, "== operator")
	_, err = Interpolate("x ${{ fromJSON('') }}", diag.Pos{Line: 1, Col: 1}, nil)
	wantDiag(t, err, CodeEval, "empty input")
}
