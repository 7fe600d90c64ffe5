package github_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/providers/github"
)

// TestSelfRefRemote checks uses: $/path in files fetched from elsewhere:
// "this repository at this commit" is the repository and ref of the file
// it is in. In a remote composite action fetched at owner/tools@v2, $/sub
// is owner/tools/sub@v2; in a remote reusable workflow fetched at
// owner/wf/...@v3, $/.github/actions/x is owner/wf/.github/actions/x@v3
// and $/.github/workflows/inner.yml is owner/wf/.github/workflows/inner.yml@v3.
// A ./path there still names the caller's checkout.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#example-using-an-action-in-the-same-repository-as-the-workflow-at-the-running-commit-recommended
// https://docs.github.com/en/actions/reference/workflows-and-actions/metadata-syntax#runsstepsuses
func TestSelfRefRemote(t *testing.T) {
	t.Parallel()
	repo, remote := t.TempDir(), t.TempDir()
	writeFiles(t, repo, map[string]string{
		".github/workflows/ci.yml": `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: owner/tools@v2
  b:
    uses: owner/wf/.github/workflows/r.yml@v3
`,
		".github/actions/local/action.yml": "name: local\ndescription: l\nruns:\n  using: composite\n  steps:\n    - run: echo local\n      shell: bash\n",
	})
	writeFiles(t, remote, map[string]string{
		"tools/action.yml": `name: tools
description: t
runs:
  using: composite
  steps:
    - uses: $/sub
    - uses: ./.github/actions/local
`,
		"tools-sub/action.yml": "name: sub\ndescription: s\nruns:\n  using: node20\n  main: index.js\n",
		"wf/r.yml": `on: workflow_call
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/x
  y:
    uses: $/.github/workflows/inner.yml
`,
		"wf/inner.yml":    "on: workflow_call\njobs:\n  z:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo inner\n",
		"wf-x/action.yml": "name: x\ndescription: x\nruns:\n  using: node20\n  main: index.js\n",
	})
	var asked []string
	fetch := map[string]string{
		"owner/tools@v2":                          filepath.Join(remote, "tools"),
		"owner/tools/sub@v2":                      filepath.Join(remote, "tools-sub"),
		"owner/wf/.github/workflows/r.yml@v3":     filepath.Join(remote, "wf", "r.yml"),
		"owner/wf/.github/workflows/inner.yml@v3": filepath.Join(remote, "wf", "inner.yml"),
		"owner/wf/.github/actions/x@v3":           filepath.Join(remote, "wf-x"),
	}
	opts := github.Options{Dir: repo, NoLint: true, Actions: func(uses string) (string, error) {
		asked = append(asked, uses)
		if p, ok := fetch[uses]; ok {
			return p, nil
		}
		return "", fmt.Errorf("no %s", uses)
	}}
	data := []byte(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: owner/tools@v2
  b:
    uses: owner/wf/.github/workflows/r.yml@v3
`)
	p, l, err := github.Translate(t.Context(), ".github/workflows/ci.yml", data, opts)
	if err != nil || p == nil {
		t.Fatalf("translate: %v %v", err, l.Err())
	}
	var uses []string
	for _, n := range p.Nodes {
		for _, s := range n.Steps {
			uses = append(uses, n.ID+": "+cmpOr(s.Uses, s.Run))
		}
	}
	want := []string{
		"a: owner/tools/sub@v2",
		"a: echo local",
		"b.x: owner/wf/.github/actions/x@v3",
		"b.y.z: echo inner",
	}
	if !slices.Equal(uses, want) {
		var b bytes.Buffer
		_ = dag.EncodeYAML(&b, p)
		t.Errorf("steps:\n  %s\nwant\n  %s\n%s", strings.Join(uses, "\n  "), strings.Join(want, "\n  "), b.String())
	}
	for _, u := range asked {
		if strings.Contains(u, "$") {
			t.Errorf("the resolver was asked for %q", u)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
