package expr

import (
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
)

// FuzzParseEval parses, checks and evaluates arbitrary input as an
// expression and as a template. Property: nothing panics, and every error is
// one or more diag.Diagnostic values with a valid position.
func FuzzParseEval(f *testing.F) {
	for _, tc := range evalCases {
		f.Add(tc.expr)
	}
	for _, tc := range templateCases {
		f.Add(tc.src)
	}
	for _, s := range []string{
		"", "${{", "}}", "${{ }}", "a }} b", "'abc", "((((", "!!!!", "a[", "a.*.", "0x", "-", "1e", "'\xff'",
		"format('{0}{1}', 'a')", "fromJSON('[[[[')", "case(true)", "matches('a', '/[/')",
		"${{ a ; b }} ${{ c = d }}", "é\n${{ x(,) }}", strings.Repeat("(", 200), strings.Repeat("[a", 200),
	} {
		f.Add(s)
	}
	env := testEnv(f)
	env.HashFiles = func(patterns []string) (string, error) { return strings.Join(patterns, "|"), nil }
	pos := diag.Pos{File: "fuzz.yml", Line: 3, Col: 7}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src, pos)
		checkErr(t, "Parse", err)
		if err == nil {
			if e.String() != src {
				t.Errorf("String() = %q, want %q", e.String(), src)
			}
			checkList(t, "Check", e.Check(nil))
			_, err = e.Eval(env)
			checkErr(t, "Eval", err)
			_ = UsesStatusFunc(e)
		} else {
			checkList(t, "Check", Check(src, pos, nil))
		}
		tpl, err := ParseTemplate(src, pos)
		checkErr(t, "ParseTemplate", err)
		if err == nil {
			if tpl.String() != src {
				t.Errorf("template String() = %q, want %q", tpl.String(), src)
			}
			checkList(t, "Template.Check", tpl.Check(nil))
			_, err = tpl.Eval(env)
			checkErr(t, "Template.Eval", err)
			_, err = tpl.Value(env)
			checkErr(t, "Template.Value", err)
		}
	})
}

func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	l := diag.AsList(err)
	if len(l) == 0 {
		t.Fatalf("%s: error %v (%T) carries no diagnostic", what, err, err)
	}
	checkList(t, what, l)
}

func checkList(t *testing.T, what string, l diag.List) {
	t.Helper()
	for _, d := range l {
		if !d.Pos.IsValid() || d.Pos.Col < 1 || d.Pos.File != "fuzz.yml" {
			t.Fatalf("%s: diagnostic without a valid position: %#v", what, d)
		}
		if d.Code == "" || d.Message == "" {
			t.Fatalf("%s: diagnostic without code or message: %#v", what, d)
		}
	}
}
