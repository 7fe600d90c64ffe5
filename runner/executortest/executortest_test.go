package executortest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry/runner/executortest"
)

func TestTreeHash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(dir string) error
	}{
		{name: "content", change: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hellO\n"), 0o644)
		}},
		{name: "mode", change: func(dir string) error { return os.Chmod(filepath.Join(dir, "sub", "script.sh"), 0o744) }},
		{name: "new file", change: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "sub", "new"), nil, 0o644)
		}},
		{name: "new directory", change: func(dir string) error { return os.Mkdir(filepath.Join(dir, "empty"), 0o755) }},
		{name: "removed", change: func(dir string) error { return os.Remove(filepath.Join(dir, ".hidden")) }},
		{name: "link target", change: func(dir string) error {
			if err := os.Remove(filepath.Join(dir, "link")); err != nil {
				return err
			}
			return os.Symlink("sub", filepath.Join(dir, "link"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := executortest.Source(t)
			before := executortest.TreeHash(t, dir)
			if again := executortest.TreeHash(t, dir); again != before {
				t.Fatalf("TreeHash differs on an unchanged tree:\n%s\n%s", before, again)
			}
			if err := tc.change(dir); err != nil {
				t.Fatal(err)
			}
			if after := executortest.TreeHash(t, dir); after == before {
				t.Errorf("TreeHash did not see the change:\n%s", after)
			}
		})
	}
}
