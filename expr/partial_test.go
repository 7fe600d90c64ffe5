package expr

import (
	"testing"

	"github.com/gantry-ci/gantry/diag"
)

func TestSubstitute(t *testing.T) {
	t.Parallel()
	values := map[string]Arg{
		"name":  ArgOf("world"),
		"count": ArgOf("${{ matrix.n }}"),
		"mixed": ArgOf("v${{ matrix.go }}-x{y}"),
		"q":     ArgOf("it's"),
	}
	for _, tc := range []struct {
		in, want string
	}{
		{in: "hello ${{ inputs.name }}", want: "hello world"},
		{in: "${{ inputs.NAME == 'world' }}", want: "${{ 'world' == 'world' }}"},
		{in: "${{ inputs['count'] }}", want: "${{ (matrix.n) }}"},
		{in: "n=${{ inputs.count > 1 && inputs.q }}", want: "n=${{ (matrix.n) > 1 && 'it''s' }}"},
		{in: "${{ inputs.mixed }}", want: "${{ (format('v{0}-x{{y}}', matrix.go)) }}"},
		{in: "${{ inputs.missing }}", want: ""},
		{in: "${{ github.event.inputs.name }}", want: "${{ github.event.inputs.name }}"},
		{in: "${{ steps.a.outputs.x }}", want: "${{ steps.a.outputs.x }}"},
	} {
		tpl, err := ParseTemplate(tc.in, diag.Pos{Line: 1, Col: 1})
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if got := tpl.Substitute("inputs", values); got != tc.want {
			t.Errorf("Substitute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPartial(t *testing.T) {
	t.Parallel()
	tpl, err := ParseTemplate("go ${{ matrix.go }} on ${{ matrix.os }} for ${{ github.ref }}", diag.Pos{Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Contexts: map[string]Value{"matrix": FromGo(map[string]any{"go": "1.22", "os": "linux"})}}
	got, err := tpl.Partial(env, func(e *Expr) bool {
		c := e.Contexts()
		return len(c) == 1 && c[0] == "matrix"
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "go 1.22 on linux for ${{ github.ref }}"; got != want {
		t.Errorf("Partial = %q, want %q", got, want)
	}
}
