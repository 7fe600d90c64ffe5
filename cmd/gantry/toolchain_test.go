package main

import (
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

// testToolchains are the Go releases the toolchain scripts provision: CI
// downloads them into the module cache first (.ci/run).
var testToolchains = []string{"1.22.12", "1.23.12"}

// toolchainDist serves testToolchains as the Go toolchain distribution
// does, from the module cache, where go mod download left them after
// checking them against sum.golang.org: a GOPROXY file:// tree holding just
// those versions, and a checksum database of their hashes. It returns the
// GOPROXY and GOSUMDB to use, or "" when a version is not in the module
// cache.
func toolchainDist(t *testing.T) (goproxy, gosumdb string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", ""
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "cache", "download", "golang.org", "toolchain", "@v")
	dir := t.TempDir()
	dst := filepath.Join(dir, "golang.org", "toolchain", "@v")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	var list []string
	for _, v := range testToolchains {
		mv := "v0.0.1-go" + v + ".linux-amd64"
		h, err := os.ReadFile(filepath.Join(src, mv+".ziphash"))
		if err != nil {
			t.Logf("toolchain scripts skip: %s is not in the module cache (go mod download golang.org/toolchain@%s)", mv, mv)
			return "", ""
		}
		if err := os.Symlink(filepath.Join(src, mv+".zip"), filepath.Join(dst, mv+".zip")); err != nil {
			t.Fatal(err)
		}
		hashes[mv] = strings.TrimSpace(string(h))
		list = append(list, mv)
	}
	if err := os.WriteFile(filepath.Join(dst, "list"), []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "sum.test")
	if err != nil {
		t.Fatal(err)
	}
	db := httptest.NewServer(sumdb.NewServer(sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		h, ok := hashes[vers]
		if path != "golang.org/toolchain" || !ok {
			return nil, fmt.Errorf("unknown module %s@%s", path, vers)
		}
		return fmt.Appendf(nil, "%s %s %s\n", path, vers, h), nil
	})))
	t.Cleanup(db.Close)
	return "file://" + filepath.ToSlash(dir), vkey + " " + db.URL
}
