package expr_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// TestDocsExamples evaluates every "| `expression` | `result` |" row of
// docs/expressions.md's operator and function tables.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../docs/expressions.md")
	if err != nil {
		t.Fatal(err)
	}
	env := &expr.Env{Contexts: map[string]expr.Value{
		"github": expr.FromGo(map[string]any{"ref": "refs/heads/main"}),
		"matrix": expr.FromGo(map[string]any{"os": "linux"}),
		"env":    expr.FromGo(map[string]any{"CI_COMMIT_BRANCH": "main"}),
	}}
	checked := 0
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## GitLab") {
			break
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) != 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		src := strings.ReplaceAll(strings.Trim(strings.TrimSpace(cells[1]), "`"), "\x00", "|")
		want := strings.ReplaceAll(strings.Trim(strings.TrimSpace(cells[2]), "`"), `\n`, "\n")
		e, err := expr.Parse(src, diag.Pos{File: "docs/expressions.md", Line: i + 1, Col: 1})
		if err != nil {
			t.Errorf("docs/expressions.md:%d: %v", i+1, err)
			continue
		}
		v, err := e.Eval(env)
		if err != nil {
			t.Errorf("docs/expressions.md:%d: %s: %v", i+1, src, err)
			continue
		}
		if got := v.String(); got != want {
			t.Errorf("docs/expressions.md:%d: %s = %q, the doc says %q", i+1, src, got, want)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d examples found in docs/expressions.md", checked)
	}
}
