package expr

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gantry-ci/gantry/diag"
)

// workspace makes a directory of files for hashFiles and returns it.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.sum":               "sum\n",
		"go.mod":               "module x\n",
		"a/b/c.txt":            "c",
		"a/x.js":               "x",
		"a/y.js":               "y",
		"vendor/v.txt":         "v",
		"vendor/deep/w.txt":    "w",
		"lib/foo/skip.rb":      "skip",
		"lib/keep.rb":          "keep",
		"lib/foo/bar/other.rb": "other",
		".hidden/h.txt":        "h",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty.txt"), 0o755); err != nil { // a directory that looks like a file
		t.Fatal(err)
	}
	return dir
}

// wantHash computes GitHub's hash of the named files, independently of the
// code under test: SHA-256 over the SHA-256 of each file, in the given order.
func wantHash(t *testing.T, dir string, names ...string) string {
	t.Helper()
	if len(names) == 0 {
		return ""
	}
	outer := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		outer.Write(sum[:])
	}
	return hex.EncodeToString(outer.Sum(nil))
}

func TestHashFilesIn(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	tests := []struct {
		name     string
		patterns []string
		want     []string // matched files, in lexical order
	}{
		{name: "one file", patterns: []string{"go.sum"}, want: []string{"go.sum"}},
		{name: "any depth", patterns: []string{"**/*.txt"}, want: []string{".hidden/h.txt", "a/b/c.txt", "vendor/deep/w.txt", "vendor/v.txt"}},
		{name: "negation", patterns: []string{"**/*.txt", "!vendor/**"}, want: []string{".hidden/h.txt", "a/b/c.txt"}},
		{name: "later pattern wins", patterns: []string{"!vendor/**", "**/*.txt"}, want: []string{".hidden/h.txt", "a/b/c.txt", "vendor/deep/w.txt", "vendor/v.txt"}},
		{name: "re-include after exclude", patterns: []string{"vendor/**", "!vendor/**", "vendor/v.txt"}, want: []string{"vendor/v.txt"}},
		{name: "directory means everything under it", patterns: []string{"a"}, want: []string{"a/b/c.txt", "a/x.js", "a/y.js"}},
		{name: "root-level glob", patterns: []string{"/a/*.js"}, want: []string{"a/x.js", "a/y.js"}},
		{name: "dot slash", patterns: []string{"./go.*"}, want: []string{"go.mod", "go.sum"}},
		{name: "documented ruby example", patterns: []string{"/lib/**/*.rb", "!/lib/foo/*.rb"}, want: []string{"lib/foo/bar/other.rb", "lib/keep.rb"}},
		{name: "several patterns in one argument", patterns: []string{"a/**\n# a comment\n\n  !a/x.js  "}, want: []string{"a/b/c.txt", "a/y.js"}},
		{name: "alternatives", patterns: []string{"a/{x,y}.js"}, want: []string{"a/x.js", "a/y.js"}},
		{name: "absolute path inside", patterns: []string{filepath.Join(dir, "go.mod")}, want: []string{"go.mod"}},
		{name: "directories are not hashed", patterns: []string{"*.txt"}, want: nil},
		{name: "no match", patterns: []string{"nothing/**"}, want: nil},
		{name: "outside the workspace", patterns: []string{"../**"}, want: nil},
		{name: "only exclusions", patterns: []string{"!**"}, want: nil},
		{name: "blank", patterns: []string{"", "  "}, want: nil},
	}
	hash := HashFilesIn(dir)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := hash(tc.patterns)
			if err != nil {
				t.Fatalf("hashFiles(%q): %v", tc.patterns, err)
			}
			if want := wantHash(t, dir, tc.want...); got != want {
				t.Errorf("hashFiles(%q) = %q, want %q (files %v)", tc.patterns, got, want, tc.want)
			}
		})
	}
}

func TestHashFilesInErrors(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	if _, err := HashFilesIn(dir)([]string{"a/[x"}); err == nil {
		t.Error("a bad pattern gave no error")
	}
	if _, err := HashFilesIn(filepath.Join(dir, "missing"))([]string{"**"}); err == nil {
		t.Error("a missing workspace gave no error")
	}
}

func TestHashFilesSymlink(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := workspace(t)
	if err := os.Symlink(filepath.Join(dir, "go.sum"), filepath.Join(dir, "link.sum")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling.sum")); err != nil {
		t.Fatal(err)
	}
	got, err := HashFilesIn(dir)([]string{"*.sum"})
	if err != nil {
		t.Fatal(err)
	}
	// link.sum has go.sum's content.
	if want := wantHash(t, dir, "go.sum", "go.sum"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHashFilesExpression(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	env := &Env{HashFiles: HashFilesIn(dir)}
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "one pattern", src: "${{ hashFiles('**/go.sum') }}", want: wantHash(t, dir, "go.sum")},
		{name: "two patterns", src: "${{ hashFiles('**/*.txt', '!vendor/**') }}", want: wantHash(t, dir, ".hidden/h.txt", "a/b/c.txt")},
		{name: "cache key", src: "go-${{ hashFiles('go.sum') }}", want: "go-" + wantHash(t, dir, "go.sum")},
		{name: "nothing matches", src: "[${{ hashFiles('*.lock') }}]", want: "[]"},
		{name: "name ignores case", src: "${{ HASHFILES('go.mod') }}", want: wantHash(t, dir, "go.mod")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Interpolate(tc.src, diag.Pos{Line: 1, Col: 1}, env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
