package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/gantry-ci/gantry/runner/toolcache"
)

// dist is a fake Node distribution: index.json, and per release a tarball
// whose bin/node prints its version, and SHASUMS256.txt.
type dist struct {
	srv      *httptest.Server
	files    sync.Map // path -> []byte
	tarballs atomic.Int32
	cut      atomic.Bool
}

type fakeRelease struct {
	version string
	lts     any
}

func newDist(t *testing.T, releases ...fakeRelease) *dist {
	t.Helper()
	d := &dist{}
	var index []map[string]any
	for _, r := range releases {
		name := "node-" + r.version + "-linux-x64"
		tgz := tarball(t, name, r.version)
		sum := sha256.Sum256(tgz)
		d.files.Store("/"+r.version+"/"+name+".tar.gz", tgz)
		d.files.Store("/"+r.version+"/SHASUMS256.txt", fmt.Appendf(nil, "%s  %s.tar.xz\n%s  %s.tar.gz\n", strings.Repeat("0", 64), name, hex.EncodeToString(sum[:]), name))
		index = append(index, map[string]any{"version": r.version, "lts": r.lts, "files": []string{"linux-x64", "osx-arm64-tar"}})
	}
	data, _ := json.Marshal(index)
	d.files.Store("/index.json", data)
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := d.files.Load(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		body := v.([]byte)
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			d.tarballs.Add(1)
			if d.cut.Load() {
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.Write(body[:len(body)/2])
				return
			}
		}
		w.Write(body)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func tarball(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(h *tar.Header, body string) {
		h.Name = name + "/" + h.Name
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "bin/node", Typeflag: tar.TypeReg, Mode: 0o755}, "#!/bin/sh\necho "+version+"\n")
	add(&tar.Header{Name: "lib/node_modules/npm/bin/npm-cli.js", Typeflag: tar.TypeReg, Mode: 0o755}, "#!/bin/sh\necho npm\n")
	add(&tar.Header{Name: "bin/npm", Typeflag: tar.TypeSymlink, Linkname: "../lib/node_modules/npm/bin/npm-cli.js"}, "")
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

var releases = []fakeRelease{
	{version: "v22.1.0", lts: false},
	{version: "v20.11.1", lts: "Iron"},
	{version: "v20.10.0", lts: "Iron"},
	{version: "v18.19.1", lts: "Hydrogen"},
	{version: "v18.0.0", lts: false},
	{version: "v23.0.0-rc.1", lts: false},
}

func (d *dist) installer(t *testing.T, cache string) *Installer {
	return &Installer{Cache: &toolcache.Cache{Dir: cache}, Mirror: d.srv.URL, GOARCH: "amd64", Log: t.Logf}
}

func run(t *testing.T, dir, prog string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(dir, "bin", prog)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", prog, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestInstallVersions(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	for _, tc := range []struct{ spec, want string }{
		{spec: "20", want: "20.11.1"},
		{spec: "20.x", want: "20.11.1"},
		{spec: "20.10", want: "20.10.0"},
		{spec: "v18.19.1", want: "18.19.1"},
		{spec: "^18.1", want: "18.19.1"},
		{spec: ">=18 <21", want: "20.11.1"},
		{spec: "lts/*", want: "20.11.1"},
		{spec: "lts/hydrogen", want: "18.19.1"},
		{spec: "lts/Iron", want: "20.11.1"},
		{spec: "lts/-1", want: "18.19.1"},
		{spec: "latest", want: "22.1.0"},
		{spec: "node", want: "22.1.0"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			res, err := d.installer(t, t.TempDir()).Install(t.Context(), Request{Version: tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != tc.want || !res.Downloaded {
				t.Errorf("Install(%q) = %+v, want %s", tc.spec, res, tc.want)
			}
			if got := run(t, res.Dir, "node"); got != "v"+tc.want {
				t.Errorf("node --version = %q", got)
			}
			if got := run(t, res.Dir, "npm"); got != "npm" {
				t.Errorf("npm = %q", got)
			}
		})
	}
}

func TestInstallBadInput(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	for _, tc := range []struct{ spec, want string }{
		{spec: "99", want: `no Node.js release matches node-version "99" for linux-x64 at ` + d.srv.URL + ` (the latest is 22.1.0)`},
		{spec: "lts/argon", want: `no Node.js release matches node-version "lts/argon"`},
		{spec: ">=18 <<20", want: `node-version ">=18 <<20" is not a version or a range`},
		{spec: "lts/", want: `node-version "lts/" names no LTS line`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			cache := t.TempDir()
			_, err := d.installer(t, cache).Install(t.Context(), Request{Version: tc.spec})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			assertEmpty(t, cache)
		})
	}
}

func assertEmpty(t *testing.T, cache string) {
	t.Helper()
	filepath.WalkDir(cache, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasSuffix(p, ".lock") {
			t.Errorf("left in the cache: %s", p)
		}
		return nil
	})
}

func TestInstallTampered(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	d.files.Store("/v20.11.1/node-v20.11.1-linux-x64.tar.gz", tarball(t, "node-v20.11.1-linux-x64", "evil"))
	cache := t.TempDir()
	_, err := d.installer(t, cache).Install(t.Context(), Request{Version: "20"})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want %v", err, ErrChecksum)
	}
	assertEmpty(t, cache)
}

func TestInstallCut(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	cache := t.TempDir()
	d.cut.Store(true)
	if _, err := d.installer(t, cache).Install(t.Context(), Request{Version: "20"}); err == nil {
		t.Fatal("a cut download was accepted")
	}
	assertEmpty(t, cache)
	d.cut.Store(false)
	if res, err := d.installer(t, cache).Install(t.Context(), Request{Version: "20"}); err != nil || !res.Downloaded {
		t.Fatalf("after the cut: %+v, %v", res, err)
	}
}

func TestInstallConcurrentAndCached(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.installer(t, cache).Install(t.Context(), Request{Version: "18"})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := d.tarballs.Load(); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	// Offline, the cache answers a range.
	off := &Installer{Cache: &toolcache.Cache{Dir: cache}, Mirror: "http://127.0.0.1:1", GOARCH: "amd64"}
	res, err := off.Install(t.Context(), Request{Version: "18.x"})
	if err != nil || res.Downloaded || res.Version != "18.19.1" {
		t.Errorf("offline = %+v, %v", res, err)
	}
	// With nothing cached, offline says so.
	off.Cache = &toolcache.Cache{Dir: t.TempDir()}
	if _, err := off.Install(t.Context(), Request{Version: "20"}); err == nil || !strings.Contains(err.Error(), "node 20 is not in the tool cache, and the release index could not be read") {
		t.Errorf("offline, empty cache: %v", err)
	}
}

func TestVersionFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, body, want string }{
		{file: ".nvmrc", body: "v20.11.1\n", want: "20.11.1"},
		{file: ".nvmrc", body: "# comment\nlts/iron\n", want: "lts/iron"},
		{file: ".node-version", body: "18\n", want: "18"},
		{file: "package.json", body: `{"engines": {"node": ">=18"}}`, want: ">=18"},
		{file: "package.json", body: `{"engines": {"node": ">=18"}, "volta": {"node": "20.11.1"}}`, want: "20.11.1"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), tc.file)
			os.WriteFile(p, []byte(tc.body), 0o644)
			got, err := VersionFile(p)
			if err != nil || got != tc.want {
				t.Errorf("VersionFile = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestUntarRefusesEscapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hdr  tar.Header
	}{
		{name: "dotdot", hdr: tar.Header{Name: "node-v1-linux-x64/../evil", Typeflag: tar.TypeReg}},
		{name: "other top", hdr: tar.Header{Name: "elsewhere/file", Typeflag: tar.TypeReg}},
		{name: "absolute link", hdr: tar.Header{Name: "node-v1-linux-x64/bin/x", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}},
		{name: "link out", hdr: tar.Header{Name: "node-v1-linux-x64/bin/x", Typeflag: tar.TypeSymlink, Linkname: "../../../etc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			tw.WriteHeader(&tc.hdr)
			tw.Close()
			zw.Close()
			file := filepath.Join(t.TempDir(), "x.tar.gz")
			os.WriteFile(file, buf.Bytes(), 0o644)
			dir := t.TempDir()
			if err := untar(file, "node-v1-linux-x64/", dir); err == nil {
				t.Errorf("untar accepted %q -> %q", tc.hdr.Name, tc.hdr.Linkname)
			}
		})
	}
}

// FuzzParseSpec: any node-version parses or fails with a message, and a
// parsed one picks among releases without panicking.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"20", "20.x", "v18.19.1", "^18.1", ">=18 <21", "lts/*", "lts/iron", "lts/-1", "lts/-9", "latest", "node", "lts/", ">=18 <<20"} {
		f.Add(s)
	}
	var rs []release
	for _, r := range releases {
		v, err := semver.StrictNewVersion(strings.TrimPrefix(r.version, "v"))
		if err != nil {
			f.Fatal(err)
		}
		rs = append(rs, release{Version: r.version, LTS: r.lts, v: v})
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpec(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		spec.pick(rs)
	})
}
