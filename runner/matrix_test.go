package runner

import (
	"encoding/json"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// TestExpandMatrix checks GitHub's documented include example on a matrix
// that arrives at run time.
func TestExpandMatrix(t *testing.T) {
	t.Parallel()
	src := `{"fruit":["apple","pear"],"animal":["cat","dog"],
	  "include":[{"color":"green"},{"color":"pink","animal":"cat"},{"fruit":"apple","shape":"circle"},{"fruit":"banana"},{"fruit":"banana","animal":"cat"}]}`
	e, err := expr.Parse("fromJSON(m)", diag.Pos{Line: 1, Col: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Eval(&expr.Env{Contexts: map[string]expr.Value{"m": expr.String(src)}})
	if err != nil {
		t.Fatal(err)
	}
	combos, err := expandMatrix(v)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(combos)
	want := `[{"animal":"cat","color":"pink","fruit":"apple","shape":"circle"},{"animal":"dog","color":"green","fruit":"apple","shape":"circle"},{"animal":"cat","color":"pink","fruit":"pear"},{"animal":"dog","color":"green","fruit":"pear"},{"fruit":"banana"},{"animal":"cat","fruit":"banana"}]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := expandMatrix(expr.String("x")); err == nil {
		t.Error("a string matrix is no error")
	}
}
