package github_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/providers/github"
)

// corpusFiles lists the starter workflows; the test skips only when
// GANTRY_CORPUS is unset.
func corpusFiles(tb testing.TB) []string {
	tb.Helper()
	root := os.Getenv("GANTRY_CORPUS")
	if root == "" {
		tb.Skip("GANTRY_CORPUS is not set")
	}
	var files []string
	dir := filepath.Join(root, "github", "starter-workflows")
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no workflows under %s", dir)
	}
	return files
}

// invalidYAML are the corpus files that are not YAML at all; they must fail
// with a positioned YAML error.
var invalidYAML = map[string]bool{"nowsecure.yml": true, "nowsecure-mobile-sbom.yml": true}

// TestCorpus translates every starter workflow: each must give a pipeline
// that meets the schema, except the files that are not valid YAML, which
// must fail with a positioned syntax error.
func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	ok := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(f, filepath.Dir(filepath.Dir(f))+"/")
		p, l, err := github.Translate(t.Context(), rel, data, github.Options{Dir: t.TempDir()})
		if err != nil {
			t.Errorf("%s: internal error: %v", rel, err)
			continue
		}
		if invalidYAML[filepath.Base(f)] {
			var first *diag.Diagnostic
			for i := range l {
				if l[i].Severity == diag.Error {
					first = &l[i]
					break
				}
			}
			if p != nil || first == nil || first.Code != "syntax-check" || !first.Pos.IsValid() {
				t.Errorf("%s: want a positioned YAML syntax error, got %v", rel, l)
			} else {
				ok++
			}
			continue
		}
		if p == nil {
			t.Errorf("%s: not translated:\n%v", rel, l.Err())
			continue
		}
		if err := meetsSchema(p); err != nil {
			t.Errorf("%s: translated DAG does not meet the schema:\n%v", rel, err)
			continue
		}
		ok++
	}
	t.Logf("translated %d/%d", ok, len(files))
	if ok != len(files) {
		t.Errorf("translated %d/%d", ok, len(files))
	}
}

// BenchmarkCorpus translates (parse, lint, translate) every starter workflow.
func BenchmarkCorpus(b *testing.B) {
	files := corpusFiles(b)
	datas := make([][]byte, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		datas[i] = data
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		for i, f := range files {
			_, _, _ = github.Translate(b.Context(), f, datas[i], github.Options{Dir: dir})
		}
	}
	b.ReportMetric(float64(len(files)*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkCorpusActionlint lints the same files with actionlint's own
// linter, one file after another as BenchmarkCorpus translates them, for
// the ratio scripts/bench-github reports.
func BenchmarkCorpusActionlint(b *testing.B) {
	files := corpusFiles(b)
	datas := make([][]byte, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		datas[i] = data
	}
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: "", Pyflakes: ""})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i, f := range files {
			_, _ = linter.Lint(f, datas[i], nil)
		}
	}
	b.ReportMetric(float64(len(files)*b.N)/b.Elapsed().Seconds(), "files/s")
}
