package golang

import (
	"archive/zip"
	"crypto/rand"
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
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

// dist is a fake Go toolchain distribution: a GOPROXY tree of small
// golang.org/toolchain zips whose bin/go prints its version, and a
// checksum database that knows their hashes.
type dist struct {
	t      *testing.T
	root   string // the proxy's files
	srv    *httptest.Server
	vkey   string
	hashes sync.Map // module version -> h1 hash the database gives
	zips   atomic.Int32
	lists  atomic.Int32
	// cut, when set, sends only half of each zip.
	cut atomic.Bool
}

func newDist(t *testing.T, releases ...string) *dist {
	t.Helper()
	d := &dist{t: t, root: t.TempDir()}
	var list []string
	for _, rel := range releases {
		mv := "v0.0.1-go" + rel + ".linux-amd64"
		list = append(list, mv)
		file := d.zipPath(mv)
		writeToolchainZip(t, file, mv, "go"+rel)
		h, err := dirhash.HashZip(file, dirhash.Hash1)
		if err != nil {
			t.Fatal(err)
		}
		d.hashes.Store(mv, h)
	}
	// A version of another platform, which must never be picked.
	list = append(list, "v0.0.1-go1.99.0.windows-amd64")
	if err := os.WriteFile(filepath.Join(d.root, Module, "@v", "list"), []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "sum.test")
	if err != nil {
		t.Fatal(err)
	}
	d.vkey = vkey
	db := sumdb.NewServer(sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		h, ok := d.hashes.Load(vers)
		if path != Module || !ok {
			return nil, fmt.Errorf("unknown module %s@%s", path, vers)
		}
		return fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod h1:x\n", path, vers, h, path, vers), nil
	}))
	mux := http.NewServeMux()
	mux.Handle("/db/", http.StripPrefix("/db", db))
	mux.Handle("/proxy/sumdb/sum.test/", http.StripPrefix("/proxy/sumdb/sum.test", db))
	mux.HandleFunc("/proxy/sumdb/sum.test/supported", func(w http.ResponseWriter, r *http.Request) {})
	files := http.StripPrefix("/proxy", http.FileServer(http.Dir(d.root)))
	mux.HandleFunc("/proxy/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".zip"):
			d.zips.Add(1)
			if d.cut.Load() {
				data, err := os.ReadFile(filepath.Join(d.root, strings.TrimPrefix(r.URL.Path, "/proxy/")))
				if err != nil {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				w.Write(data[:len(data)/2])
				return
			}
		case strings.HasSuffix(r.URL.Path, "/list"):
			d.lists.Add(1)
		}
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("/broken/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	return d
}

func (d *dist) zipPath(mv string) string {
	return filepath.Join(d.root, Module, "@v", mv+".zip")
}

// env is the go command's configuration for this distribution.
func (d *dist) env() *Env {
	return &Env{GOPROXY: d.srv.URL + "/proxy", GOSUMDB: d.vkey + " " + d.srv.URL + "/db"}
}

func (d *dist) installer(cache string, env *Env) *Installer {
	return &Installer{Cache: &toolcache.Cache{Dir: cache}, Env: env, GOOS: "linux", GOARCH: "amd64", Log: d.t.Logf}
}

func writeToolchainZip(t *testing.T, file, mv, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	prefix := Module + "@" + mv + "/"
	for name, body := range map[string]string{
		"bin/go":  "#!/bin/sh\necho go version " + name + " linux/amd64\n",
		"VERSION": name + "\n",
		"go.env":  "GOTOOLCHAIN=auto\n",
	} {
		w, err := zw.Create(prefix + name) // no modes: bin/ must still be executable
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func goVersion(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(dir, "bin", "go"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s/bin/go version: %v: %s", dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

var releases = []string{"1.21.13", "1.22.0", "1.22.12", "1.23rc1", "1.23.4", "1.20", "1.20.14"}

func TestInstallVersions(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	for _, tc := range []struct{ spec, want, goName string }{
		{spec: "1.22", want: "1.22.12", goName: "go1.22.12"},
		{spec: "1.22.x", want: "1.22.12", goName: "go1.22.12"},
		{spec: "^1.22", want: "1.23.4", goName: "go1.23.4"},
		{spec: ">=1.21 <1.23", want: "1.22.12", goName: "go1.22.12"},
		{spec: "~1.22.0", want: "1.22.12", goName: "go1.22.12"},
		{spec: "1.22.0", want: "1.22.0", goName: "go1.22.0"},
		{spec: "go1.21.13", want: "1.21.13", goName: "go1.21.13"},
		{spec: "stable", want: "1.23.4", goName: "go1.23.4"},
		{spec: "oldstable", want: "1.22.12", goName: "go1.22.12"},
		{spec: "1.23rc1", want: "1.23.0-rc.1", goName: "go1.23rc1"},
		{spec: "1.20", want: "1.20.14", goName: "go1.20.14"},
		{spec: "1.20.0", want: "1.20.0", goName: "go1.20"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			res, err := d.installer(t.TempDir(), d.env()).Install(t.Context(), Request{Version: tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != tc.want || !res.Downloaded {
				t.Errorf("Install(%q) = %+v, want %s downloaded", tc.spec, res, tc.want)
			}
			if got, want := goVersion(t, res.Dir), "go version "+tc.goName+" linux/amd64"; got != want {
				t.Errorf("go version = %q, want %q", got, want)
			}
			if want := filepath.Join("go", tc.want, "x64"); !strings.HasSuffix(res.Dir, want) {
				t.Errorf("dir = %q, want .../%s", res.Dir, want)
			}
		})
	}
}

func TestInstallBadVersion(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	for _, tc := range []struct{ spec, want string }{
		{spec: "1.99", want: `no Go release matches go-version "1.99" for linux/amd64 at ` + d.srv.URL + `/proxy (the latest is 1.23.4)`},
		{spec: ">=1.21 <<1.23", want: `go-version ">=1.21 <<1.23" is not a version or a range`},
		{spec: "banana", want: `go-version "banana" is not a version or a range`},
		{spec: "", want: "go-version is empty"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			cache := t.TempDir()
			_, err := d.installer(cache, d.env()).Install(t.Context(), Request{Version: tc.spec})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			assertEmpty(t, cache)
		})
	}
}

// assertEmpty checks that the cache holds no version of go, whole or
// partial (lock files and the checksum database's cache may be there).
func assertEmpty(t *testing.T, cache string) {
	t.Helper()
	filepath.WalkDir(filepath.Join(cache, "go"), func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasSuffix(p, ".lock") {
			t.Errorf("left in the cache: %s", p)
		}
		return nil
	})
}

func TestInstallChecksumMismatch(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	// The proxy serves another zip than the one the database knows.
	mv := "v0.0.1-go1.22.12.linux-amd64"
	writeToolchainZip(t, d.zipPath(mv), mv, "go1.22.12-tampered")
	cache := t.TempDir()
	_, err := d.installer(cache, d.env()).Install(t.Context(), Request{Version: "1.22.12"})
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "the download is refused") {
		t.Fatalf("err = %v, want %v", err, ErrChecksum)
	}
	assertEmpty(t, cache)
	// GONOSUMDB leaves the module unchecked, as for the go command.
	env := d.env()
	env.GONOSUMDB = "golang.org/toolchain"
	res, err := d.installer(cache, env).Install(t.Context(), Request{Version: "1.22.12"})
	if err != nil {
		t.Fatal(err)
	}
	if got := goVersion(t, res.Dir); !strings.Contains(got, "tampered") {
		t.Errorf("go version = %q", got)
	}
}

func TestInstallCutDownload(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	cache := t.TempDir()
	d.cut.Store(true)
	_, err := d.installer(cache, d.env()).Install(t.Context(), Request{Version: "1.22"})
	if err == nil {
		t.Fatal("a cut download was accepted")
	}
	t.Log(err)
	assertEmpty(t, cache)
	d.cut.Store(false)
	res, err := d.installer(cache, d.env()).Install(t.Context(), Request{Version: "1.22"})
	if err != nil || !res.Downloaded || res.Version != "1.22.12" {
		t.Fatalf("after the cut: %+v, %v", res, err)
	}
}

func TestInstallConcurrent(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	cache := t.TempDir()
	var wg sync.WaitGroup
	results := make([]Result, 6)
	errs := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = d.installer(cache, d.env()).Install(t.Context(), Request{Version: "1.23.x"})
		}()
	}
	wg.Wait()
	downloads := 0
	for i, r := range results {
		if errs[i] != nil || r.Version != "1.23.4" {
			t.Errorf("job %d: %+v, %v", i, r, errs[i])
		}
		if r.Downloaded {
			downloads++
		}
	}
	if n := d.zips.Load(); n != 1 || downloads != 1 {
		t.Errorf("%d zip requests, %d downloads; want one of each", n, downloads)
	}
}

func TestInstallFromCache(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	cache := t.TempDir()
	if _, err := d.installer(cache, d.env()).Install(t.Context(), Request{Version: "1.22.x"}); err != nil {
		t.Fatal(err)
	}
	lists, zips := d.lists.Load(), d.zips.Load()
	// A cached match needs no proxy at all: GOPROXY=off proves it.
	for _, spec := range []string{"1.22", "1.22.12", ">=1.22.1 <1.23"} {
		res, err := d.installer(cache, &Env{GOPROXY: "off", GOSUMDB: "off"}).Install(t.Context(), Request{Version: spec})
		if err != nil || res.Downloaded || res.Version != "1.22.12" {
			t.Errorf("Install(%q) offline = %+v, %v", spec, res, err)
		}
	}
	// check-latest asks the proxy for the list, and downloads nothing
	// when the latest is cached.
	res, err := d.installer(cache, d.env()).Install(t.Context(), Request{Version: "1.22", CheckLatest: true})
	if err != nil || res.Downloaded {
		t.Errorf("check-latest = %+v, %v", res, err)
	}
	if l, z := d.lists.Load()-lists, d.zips.Load()-zips; l != 1 || z != 0 {
		t.Errorf("%d list and %d zip requests for the cached runs, want 1 and 0", l, z)
	}
	// Offline, check-latest falls back on the cache.
	res, err = d.installer(cache, &Env{GOPROXY: "off"}).Install(t.Context(), Request{Version: "stable"})
	if err != nil || res.Version != "1.22.12" {
		t.Errorf("stable offline = %+v, %v", res, err)
	}
}

func TestInstallOfflineEmptyCache(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	in := &Installer{Cache: &toolcache.Cache{Dir: cache}, Env: &Env{GOPROXY: "off", GOSUMDB: "off"}}
	_, err := in.Install(t.Context(), Request{Version: "1.22"})
	if !errors.Is(err, ErrOff) || !strings.Contains(err.Error(), "go 1.22 is not in the tool cache ("+cache+")") {
		t.Fatalf("err = %v", err)
	}
}

func TestGOPROXYList(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	for _, tc := range []struct {
		name, goproxy string
		ok            bool
	}{
		{name: "not found falls through a comma", goproxy: d.srv.URL + "/missing," + d.srv.URL + "/proxy", ok: true},
		{name: "an error falls through a pipe", goproxy: d.srv.URL + "/broken|" + d.srv.URL + "/proxy", ok: true},
		{name: "an error stops at a comma", goproxy: d.srv.URL + "/broken," + d.srv.URL + "/proxy"},
		{name: "off stops", goproxy: "off," + d.srv.URL + "/proxy"},
		{name: "file URL", goproxy: "file://" + filepath.ToSlash(d.root), ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := d.env()
			env.GOPROXY = tc.goproxy
			_, err := d.installer(t.TempDir(), env).Install(t.Context(), Request{Version: "1.22"})
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestSumDBThroughProxy(t *testing.T) {
	t.Parallel()
	d := newDist(t, releases...)
	// The database named by key alone (https://sum.test does not exist) is
	// reached through the proxy, as the go command reaches it.
	res, err := d.installer(t.TempDir(), &Env{GOPROXY: d.srv.URL + "/proxy", GOSUMDB: d.vkey}).Install(t.Context(), Request{Version: "1.21"})
	if err != nil || res.Version != "1.21.13" {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestReadEnv(t *testing.T) {
	t.Parallel()
	goenv := filepath.Join(t.TempDir(), "env")
	os.WriteFile(goenv, []byte("GOPROXY=https://file.example\nGOPRIVATE=golang.org/toolchain\n"), 0o644)
	vars := map[string]string{"GOENV": goenv, "GOSUMDB": "off"}
	e := ReadEnv(func(k string) string { return vars[k] })
	want := Env{GOPROXY: "https://file.example", GOPRIVATE: "golang.org/toolchain", GONOPROXY: "golang.org/toolchain",
		GOSUMDB: "off", GONOSUMDB: "golang.org/toolchain"}
	if e != want {
		t.Errorf("ReadEnv = %+v, want %+v", e, want)
	}
	if e := ReadEnv(func(string) string { return "" }); e.GOPROXY != DefaultGOPROXY && e.GOPROXY != "" {
		t.Logf("GOPROXY from the machine's go env file: %s", e.GOPROXY)
	}
	list, _ := proxies(want)
	if len(list) != 1 || list[0].url != directURL {
		t.Errorf("GOPRIVATE=golang.org/toolchain: proxies = %+v, want direct", list)
	}
}

func TestVersionFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, body, want string }{
		{file: "go.mod", body: "module x\n\ngo 1.22\n", want: "1.22"},
		{file: "go.mod", body: "module x\n\ngo 1.22.0 // comment\n\ntoolchain go1.22.12\n", want: "1.22.12"},
		{file: "go.work", body: "go 1.23.4\n\nuse .\n", want: "1.23.4"},
		{file: ".go-version", body: "1.21.13\n", want: "1.21.13"},
		{file: ".tool-versions", body: "nodejs 20.1.0\ngolang 1.22.5 # pinned\n", want: "1.22.5"},
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
	p := filepath.Join(t.TempDir(), "go.mod")
	os.WriteFile(p, []byte("module x\n"), 0o644)
	if _, err := VersionFile(p); err == nil || !strings.Contains(err.Error(), "no Go version") {
		t.Errorf("go.mod without go: err = %v", err)
	}
}

func TestGoName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"go1.22.12", "go1.20", "go1.20.14", "go1.21.0", "go1.21rc2", "go1.18beta1", "go1.9"} {
		v, ok := Semver(name)
		if !ok {
			t.Errorf("Semver(%q) failed", name)
			continue
		}
		if got := GoName(v); got != name {
			t.Errorf("GoName(Semver(%q)) = %q (%s)", name, got, v)
		}
	}
}

func TestKnownSumDB(t *testing.T) {
	t.Parallel()
	for name, key := range knownSumDB {
		v, err := note.NewVerifier(key)
		if err != nil || v.Name() != name {
			t.Errorf("key of %s: %v (name %q)", name, err, v.Name())
		}
	}
	for _, db := range []string{"sum.golang.org", "sum.golang.google.cn", "sum.golang.org https://sum.example"} {
		c, err := (&Installer{}).newChecker(t.Context(), Env{GOSUMDB: db}, nil, t.TempDir())
		if err != nil || c == nil || c.name != "sum.golang.org" {
			t.Errorf("GOSUMDB=%s: %+v, %v", db, c, err)
		}
	}
	if _, err := (&Installer{}).newChecker(t.Context(), Env{GOSUMDB: "a b c"}, nil, t.TempDir()); err == nil {
		t.Error("GOSUMDB with three fields accepted")
	}
}

func TestSpecExact(t *testing.T) {
	t.Parallel()
	for spec, exact := range map[string]bool{"1.22.12": true, "go1.21rc2": true, "1.22": false, "1.22.x": false, "^1.22.1": false, "stable": false} {
		s, err := ParseSpec(spec)
		if err != nil || s.Exact() != exact {
			t.Errorf("ParseSpec(%q).Exact() = %v (%v), want %v", spec, s.Exact(), err, exact)
		}
	}
}

// FuzzParseSpec: any go-version parses or fails with a message, and a
// parsed one picks among versions without panicking.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"1.22", "1.22.x", "^1.22", ">=1.21 <1.23", "stable", "oldstable", "1.23rc1", "go1.20", "1.99", ">=1.21 <<1.23", "~1.22.1 || 1.20.x"} {
		f.Add(s)
	}
	var versions []*semver.Version
	for _, r := range releases {
		v, _ := Semver(r)
		versions = append(versions, v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpec(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if v := spec.Pick(versions); v != nil {
			if _, ok := Semver(strings.TrimPrefix(GoName(v), "go")); !ok {
				t.Errorf("picked %s, whose Go name %q does not parse", v, GoName(v))
			}
		}
	})
}
