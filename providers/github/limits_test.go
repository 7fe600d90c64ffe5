package github_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/providers/github"
)

// writeFiles writes name → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func errorsOf(l diag.List) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range l {
		if d.Severity == diag.Error {
			out = append(out, d)
		}
	}
	return out
}

// TestReusableDepth checks GitHub's limit on nested reusable workflows:
// ten levels, the top-level caller and nine reusable workflows; one more
// is an error at the call that makes it, in the file that has it. The
// calls are written $/path, as in the repository's own workflows.
// https://docs.github.com/en/actions/how-tos/reuse-automations/reuse-workflows#nesting-reusable-workflows
func TestReusableDepth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		levels int // workflows in the chain, the caller included
		want   string
	}{
		{name: "ten levels", levels: 10},
		{name: "eleven levels", levels: 11, want: ".github/workflows/w9.yml:4:11: this call makes a chain of 11 workflows; GitHub allows 10 (the caller and 9 nested) [workflow-depth]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			files := map[string]string{
				".github/workflows/ci.yml": "on: push\njobs:\n  go:\n    uses: $/.github/workflows/w1.yml\n",
			}
			for i := 1; i < tc.levels-1; i++ {
				files[fmt.Sprintf(".github/workflows/w%d.yml", i)] = fmt.Sprintf("on: workflow_call\njobs:\n  next:\n    uses: $/.github/workflows/w%d.yml\n", i+1)
			}
			files[fmt.Sprintf(".github/workflows/w%d.yml", tc.levels-1)] = "on: workflow_call\njobs:\n  leaf:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo deep\n"
			writeFiles(t, dir, files)
			p, l, err := github.Translate(t.Context(), ".github/workflows/ci.yml", []byte(files[".github/workflows/ci.yml"]), github.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			errs := errorsOf(l)
			if tc.want == "" {
				if p == nil || len(errs) > 0 {
					t.Fatalf("want a pipeline, got %v", l.Err())
				}
				if n := len(p.Nodes); n != tc.levels {
					t.Errorf("want %d nodes (the leaf and a join per call), got %d", tc.levels, n)
				}
				return
			}
			if p != nil || len(errs) != 1 || errs[0].Error() != tc.want {
				t.Fatalf("want the error\n  %s\ngot\n  %v", tc.want, l.Err())
			}
		})
	}
}

// TestReusableCount checks GitHub's limit on distinct reusable workflows
// one workflow calls, nested calls included: 50. Calling one workflow
// twice counts once; the 51st distinct one is an error at its call (calls
// are counted in the order of the file, a nested call when its caller is).
// https://docs.github.com/en/actions/reference/workflows-and-actions/reusing-workflow-configurations#limitations-of-reusable-workflows
func TestReusableCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		distinct int
		want     string
	}{
		{name: "50", distinct: 50},
		{name: "51", distinct: 51, want: `.github/workflows/ci.yml:104:11: calling "./.github/workflows/w49.yml" makes 51 distinct reusable workflows for this workflow, nested calls included; GitHub allows 50 [workflow-limit]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			// The caller calls nested.yml and w1..w(distinct-2), and w1
			// again; nested.yml calls the last one.
			var ci strings.Builder
			ci.WriteString("on: push\njobs:\n  nested:\n    uses: ./.github/workflows/nested.yml\n  again:\n    uses: ./.github/workflows/w1.yml\n")
			files := map[string]string{}
			leaf := "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"
			for i := 1; i <= tc.distinct-2; i++ {
				fmt.Fprintf(&ci, "  w%d:\n    uses: $/.github/workflows/w%d.yml\n", i, i)
				files[fmt.Sprintf(".github/workflows/w%d.yml", i)] = leaf
			}
			last := fmt.Sprintf("w%d", tc.distinct-1)
			files[".github/workflows/nested.yml"] = "on: workflow_call\njobs:\n  last:\n    uses: ./.github/workflows/" + last + ".yml\n"
			files[".github/workflows/"+last+".yml"] = leaf
			files[".github/workflows/ci.yml"] = ci.String()
			writeFiles(t, dir, files)
			p, l, err := github.Translate(t.Context(), ".github/workflows/ci.yml", []byte(ci.String()), github.Options{Dir: dir, NoLint: true})
			if err != nil {
				t.Fatal(err)
			}
			errs := errorsOf(l)
			if tc.want == "" {
				if p == nil || len(errs) > 0 {
					t.Fatalf("want a pipeline, got %v", l.Err())
				}
				return
			}
			if p != nil || len(errs) != 1 || errs[0].Error() != tc.want {
				t.Fatalf("want the error\n  %s\ngot\n  %v", tc.want, l.Err())
			}
		})
	}
}
