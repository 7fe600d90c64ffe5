package txtartest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/golden"
)

// TranslateFunc is a provider's translation of the file path (data) of a
// fixture extracted into dir.
type TranslateFunc func(t *testing.T, path string, data []byte, dir string) (*dag.Pipeline, diag.List, error)

// RunFixtures translates each testdata/fixtures/*.txtar: a small
// repository whose file target (or the file named by the archive's comment
// line "translate: PATH") is translated with the archive's root as the
// repository. The DAG and the findings are compared with NAME.golden.
func RunFixtures(t *testing.T, target string, translate TranslateFunc) {
	t.Helper()
	archives, err := filepath.Glob("testdata/fixtures/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, a := range archives {
		name := strings.TrimSuffix(filepath.Base(a), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, ar := Extract(t, a)
			path := Header(ar, "translate", target)
			data, err := os.ReadFile(filepath.Join(dir, path))
			if err != nil {
				t.Fatal(err)
			}
			p, l, err := translate(t, path, data, dir)
			if err != nil {
				t.Fatalf("internal error: %v", err)
			}
			// Findings may name files by absolute path (actionlint does).
			got := bytes.ReplaceAll(Render(t, p, l), []byte(dir+string(filepath.Separator)), nil)
			golden.Check(t, filepath.Join("testdata", "fixtures", name+".golden"), got)
		})
	}
}

// Render is a translation as golden files hold it: the DAG's YAML, then the
// findings as comments, one per line; a failed translation is the findings
// alone. The DAG must decode again.
func Render(t *testing.T, p *dag.Pipeline, l diag.List) []byte {
	t.Helper()
	var b bytes.Buffer
	if p != nil {
		if err := dag.EncodeYAML(&b, p); err != nil {
			t.Fatal(err)
		}
		if _, dl := dag.Decode(b.Bytes(), "out.yaml"); dl.HasErrors() {
			t.Errorf("translated DAG does not decode:\n%v", dl.Err())
		}
	}
	if len(l) > 0 {
		b.WriteString("# findings\n")
		var fb bytes.Buffer
		_ = diag.WriteOneLine(&fb, l)
		for _, line := range strings.SplitAfter(fb.String(), "\n") {
			if line != "" {
				b.WriteString("# " + line)
			}
		}
	}
	return b.Bytes()
}

// CheckFuzzed is the fuzz property of a translation: no internal error,
// every finding positioned, and a pipeline that encodes and decodes as a
// valid DAG.
func CheckFuzzed(t *testing.T, p *dag.Pipeline, l diag.List, err error) {
	t.Helper()
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
}
