package expr_test

import (
	"fmt"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

func ExampleParse() {
	e, err := expr.Parse("github.ref == 'refs/heads/main' && 'prod' || 'dev'", diag.Pos{File: "ci.yml", Line: 12, Col: 14})
	if err != nil {
		fmt.Println(err)
		return
	}
	env := &expr.Env{Contexts: map[string]expr.Value{
		"github": expr.FromGo(map[string]any{"ref": "refs/heads/main"}),
	}}
	v, err := e.Eval(env)
	fmt.Println(v, err)
	// Output: prod <nil>
}

func ExampleParse_error() {
	_, err := expr.Parse("github.ref == \"main\"", diag.Pos{File: "ci.yml", Line: 12, Col: 14})
	fmt.Println(err)
	// Output: ci.yml:12:28: got unexpected character '"' while lexing expression, expecting 'a'..'z', 'A'..'Z', '_', '0'..'9', ''', '}', '(', ')', '[', ']', '.', '!', '<', '>', '=', '&', '|', '*', ',', ' '. do you mean string literals? only single quotes are available for string delimiter [expr-syntax]
}

func ExampleParseTemplate() {
	script := "echo building\necho ${{ format('{0}-{1}', matrix.os, matrix.go) }}\n"
	t, err := expr.ParseTemplate(script, diag.Pos{File: "ci.yml", Line: 20, Col: 9})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := t.Eval(&expr.Env{Contexts: map[string]expr.Value{
		"matrix": expr.FromGo(map[string]any{"os": "linux", "go": "1.22"}),
	}})
	fmt.Printf("%q %v\n", out, err)
	// Output: "echo building\necho linux-1.22\n" <nil>
}

func ExampleCheck() {
	for _, d := range expr.Check("startsWith(githb.ref)", diag.Pos{File: "ci.yml", Line: 3, Col: 5}, nil) {
		fmt.Println(d, "—", d.Hint)
	}
	// Output:
	// ci.yml:3:5: startsWith takes 2 arguments, got 1 [expr-func] — usage: startsWith(searchString, searchValue)
	// ci.yml:3:16: unknown context "githb" [expr-context] — did you mean "github"?
}

func ExampleUsesStatusFunc() {
	for _, cond := range []string{"github.event_name == 'push'", "failure() || cancelled()"} {
		e, _ := expr.Parse(cond, diag.Pos{Line: 1, Col: 1})
		if !expr.UsesStatusFunc(e) {
			cond = "success() && (" + cond + ")"
		}
		fmt.Println(cond)
	}
	// Output:
	// success() && (github.event_name == 'push')
	// failure() || cancelled()
}
