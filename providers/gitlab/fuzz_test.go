package gitlab_test

import (
	"bytes"
	"testing"

	"github.com/gantry-ci/gantry/internal/txtartest"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// FuzzTranslate checks that no configuration makes loading or translation
// panic, that every finding has a position, and that every pipeline it
// gives is a valid DAG.
func FuzzTranslate(f *testing.F) {
	for _, data := range txtartest.Files("testdata/fixtures/*.txtar", ".yml") {
		f.Add(data)
	}
	f.Add([]byte("stages: [a, b]\nx:\n  stage: a\n  script: [echo]\n  rules:\n    - if: $A == \"1\" && $B =~ /x/i\ny:\n  stage: b\n  needs: [x]\n  script: echo\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", data, gitlab.Options{Dir: dir, Offline: true})
		if err != nil {
			t.Fatalf("internal error: %v", err)
		}
		for _, d := range l {
			if !d.Pos.IsValid() || d.Pos.File == "" {
				t.Fatalf("finding without a position: %#v", d)
			}
		}
		if p == nil {
			return
		}
		var b bytes.Buffer
		if err := dag.EncodeYAML(&b, p); err != nil {
			t.Fatalf("cannot encode: %v", err)
		}
		if _, dl := dag.Decode(b.Bytes(), "out.yaml"); dl.HasErrors() {
			t.Fatalf("translated pipeline is not a valid DAG:\n%v\n%s", dl.Err(), b.Bytes())
		}
	})
}
