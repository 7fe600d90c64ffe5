package golang

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/gantry-ci/gantry/runner/toolcache"
	"golang.org/x/mod/sumdb/dirhash"
)

// Installer provisions Go toolchains into a tool cache.
type Installer struct {
	// Cache is the tool cache; its zero value is the default one.
	Cache *toolcache.Cache
	// Env is where versions come from; ReadEnv(os.Getenv) when zero.
	Env *Env
	// HTTP is the client for proxies and the checksum database;
	// http.DefaultClient when nil.
	HTTP *http.Client
	// GOOS and GOARCH are the platform of the toolchain; the running
	// program's when empty.
	GOOS, GOARCH string
	// Log, when set, is told what is done (found, downloaded, verified).
	Log func(format string, args ...any)
}

// Request and Result are the tool cache's: go-version (ParseSpec) in, the
// toolchain's root (GOROOT: Dir/bin/go) out.
type (
	Request = toolcache.Request
	Result  = toolcache.Result
)

func (in *Installer) platform() (goos, goarch string) {
	goos, goarch = in.GOOS, in.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	return goos, goarch
}

func (in *Installer) env() Env {
	if in.Env != nil {
		return *in.Env
	}
	return ReadEnv(os.Getenv)
}

func (in *Installer) logf(format string, args ...any) {
	if in.Log != nil {
		in.Log(format, args...)
	}
}

// Install resolves req to a version and returns it from the cache,
// downloading it first when needed. Without CheckLatest, a matching
// version already in the cache is used without asking any proxy, as
// setup-go looks in the runner's tool cache first.
func (in *Installer) Install(ctx context.Context, req Request) (Result, error) {
	spec, err := ParseSpec(req.Version)
	if err != nil {
		return Result{}, err
	}
	goos, goarch := in.platform()
	arch := toolcache.Arch(goarch)
	var cached []*semver.Version
	for _, name := range in.Cache.Versions("go", arch) {
		if v, err := semver.StrictNewVersion(name); err == nil {
			cached = append(cached, v)
		}
	}
	local := spec.Pick(cached)
	if local != nil && (spec.Exact() || !req.CheckLatest && spec.Alias == "") {
		dir, _ := in.Cache.Find("go", local.String(), arch)
		in.logf("found go %s in the tool cache", local)
		return Result{Version: local.String(), Dir: dir}, nil
	}
	env := in.env()
	list, err := proxies(env)
	if err != nil {
		return Result{}, err
	}
	remote, names, from, err := in.versions(ctx, list, goos, goarch)
	if err != nil {
		if local != nil {
			in.logf("could not list Go versions (%v); using go %s from the tool cache", err, local)
			dir, _ := in.Cache.Find("go", local.String(), arch)
			return Result{Version: local.String(), Dir: dir}, nil
		}
		return Result{}, fmt.Errorf("go %s is not in the tool cache (%s), and the Go versions could not be listed: %w",
			req.Version, in.cacheDir(), err)
	}
	v := spec.Pick(remote)
	if v == nil {
		latest := "none"
		if l := (Spec{Alias: "stable"}).Pick(remote); l != nil {
			latest = l.String()
		}
		return Result{}, fmt.Errorf("no Go release matches go-version %q for %s/%s at %s (the latest is %s)", req.Version, goos, goarch, from, latest)
	}
	dir, fresh, err := in.Cache.Install(ctx, "go", v.String(), arch, func(ctx context.Context, dir string) error {
		return in.download(ctx, env, list, names[v.String()], dir)
	})
	if err != nil {
		return Result{}, err
	}
	if !fresh {
		in.logf("found go %s in the tool cache", v)
	}
	return Result{Version: v.String(), Dir: dir, Downloaded: fresh}, nil
}

func (in *Installer) cacheDir() string {
	if in.Cache != nil && in.Cache.Dir != "" {
		return in.Cache.Dir
	}
	d, _ := toolcache.Default()
	return d
}

// versions lists the toolchain's versions for a platform: their semantic
// versions, and the module version of each.
func (in *Installer) versions(ctx context.Context, list []proxy, goos, goarch string) ([]*semver.Version, map[string]string, string, error) {
	data, from, err := in.readAll(ctx, list, "/"+Module+"/@v/list")
	if err != nil {
		return nil, nil, "", err
	}
	suffix := "." + goos + "-" + goarch
	var out []*semver.Version
	names := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		mv := strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(mv, "v0.0.1-go")
		if !ok {
			continue
		}
		rel, ok := strings.CutSuffix(rest, suffix)
		if !ok {
			continue
		}
		if v, ok := Semver(rel); ok {
			if _, dup := names[v.String()]; !dup {
				out = append(out, v)
			}
			names[v.String()] = mv
		}
	}
	return out, names, from, nil
}

// download fetches a module version's zip, checks it against the checksum
// database, and extracts it into dir.
func (in *Installer) download(ctx context.Context, env Env, list []proxy, version, dir string) error {
	var want string
	check, err := in.newChecker(ctx, env, list, in.cacheDir())
	if err != nil {
		return err
	}
	if check != nil {
		if want, err = check.hash(version); err != nil {
			return err
		}
	} else {
		in.logf("not checking %s@%s against a checksum database (GOSUMDB=%s, GONOSUMDB=%s)", Module, version, env.GOSUMDB, env.GONOSUMDB)
	}
	zipFile := dir + ".zip"
	defer os.Remove(zipFile)
	body, size, from, err := in.fetch(ctx, list, "/"+Module+"/@v/"+version+".zip")
	if err != nil {
		return fmt.Errorf("downloading %s@%s: %w", Module, version, err)
	}
	in.logf("downloading %s@%s from %s", Module, version, from)
	f, err := os.Create(zipFile)
	if err != nil {
		body.Close()
		return err
	}
	n, err := io.Copy(f, body)
	body.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("got %d of %d bytes", n, size)
	}
	if err != nil {
		return fmt.Errorf("downloading %s@%s from %s: %w", Module, version, from, err)
	}
	// The zip is extracted into dir (which enters the cache only when
	// this returns nil) and hashed from there: one decompression, not two.
	prefix := Module + "@" + version + "/"
	names, err := unzip(zipFile, prefix, dir)
	if err != nil {
		return fmt.Errorf("%s@%s from %s: not a valid module zip: %w", Module, version, from, err)
	}
	got, err := dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		if strings.HasSuffix(name, "/") {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return os.Open(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(name, prefix))))
	})
	if err != nil {
		return fmt.Errorf("%s@%s from %s: %w", Module, version, from, err)
	}
	if want != "" && got != want {
		return fmt.Errorf("%s@%s from %s: %w: downloaded %s, the checksum database says %s; the download is refused",
			Module, version, from, ErrChecksum, got, want)
	}
	if want != "" {
		in.logf("verified %s@%s: %s", Module, version, got)
	}
	return nil
}

// unzip extracts a module zip's files (all under prefix) into dir, making
// the toolchain's programs executable as the go command does, and returns
// the zip's names as dirhash hashes them.
func unzip(file, prefix, dir string) ([]string, error) {
	z, err := zip.OpenReader(file)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	names := make([]string, 0, len(z.File))
	for _, zf := range z.File {
		names = append(names, zf.Name)
		rel, ok := strings.CutPrefix(zf.Name, prefix)
		if !ok || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("file %q outside %s", zf.Name, prefix)
		}
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if zf.Mode()&0o111 != 0 || path.Dir(rel) == "bin" || strings.HasPrefix(rel, "pkg/tool/") {
			mode = 0o755
		}
		if err := extract(zf, dst, mode); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func extract(zf *zip.File, dst string, mode os.FileMode) error {
	r, err := zf.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, zip.ErrChecksum) {
		return fmt.Errorf("%s: %w", zf.Name, err)
	}
	return err
}
