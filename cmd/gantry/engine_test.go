package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoDaemonIsUsage: --executor buildkit at an address where no daemon
// answers is the user's to fix (exit 2, what to do), not gantry's
// internal failure (exit 3).
func TestNoDaemonIsUsage(t *testing.T) {
	t.Parallel()
	ci := filepath.Join(t.TempDir(), "ci.yml")
	if err := os.WriteFile(ci, []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--executor", "buildkit", "--addr", "tcp://127.0.0.1:1", ci},
		{"run", "--executor", "buildkit", "--addr", "unix://" + filepath.Join(t.TempDir(), "none.sock"), ci},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
		for _, want := range []string{"gantry: error: no BuildKit daemon answers at", "start buildkitd", "Run 'gantry run --help'"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, stderr.String())
			}
		}
		if strings.Contains(stderr.String(), "internal error") {
			t.Errorf("%v: called an internal error:\n%s", args, stderr.String())
		}
	}
}
