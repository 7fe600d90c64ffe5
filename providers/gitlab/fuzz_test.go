package gitlab_test

import (
	"testing"

	"github.com/gantry-ci/gantry/internal/txtartest"
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
		p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", data, gitlab.Options{Dir: dir})
		txtartest.CheckFuzzed(t, p, l, err)
	})
}
