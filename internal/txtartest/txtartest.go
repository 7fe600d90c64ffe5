// Package txtartest reads txtar archives of test fixtures: small
// repositories that provider tests translate, and fuzz seeds.
package txtartest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Extract writes the files of the archive at path into a new temporary
// directory and returns that directory and the archive.
func Extract(t testing.TB, path string) (string, *txtar.Archive) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ar
}

// Header returns the value of a "key: value" line of the archive's
// comment, or def when there is none.
func Header(ar *txtar.Archive, key, def string) string {
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return def
}

// Files returns the contents of the files with the extension ext in every
// archive matching glob, for fuzz seeds.
func Files(glob, ext string) [][]byte {
	archives, _ := filepath.Glob(glob)
	var out [][]byte
	for _, a := range archives {
		ar, err := txtar.ParseFile(a)
		if err != nil {
			continue
		}
		for _, f := range ar.Files {
			if filepath.Ext(f.Name) == ext {
				out = append(out, f.Data)
			}
		}
	}
	return out
}
