package node

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/gantry-ci/gantry/runner/toolcache"
)

// DefaultMirror is Node's own distribution.
const DefaultMirror = "https://nodejs.org/dist"

// ErrChecksum is returned when a download does not match SHASUMS256.txt.
var ErrChecksum = errors.New("checksum mismatch")

// Installer provisions Node.js versions into a tool cache.
type Installer struct {
	// Cache is the tool cache; its zero value is the default one.
	Cache *toolcache.Cache
	// Mirror is the distribution's base URL (DefaultMirror when empty):
	// MIRROR/index.json, MIRROR/vX.Y.Z/SHASUMS256.txt and
	// MIRROR/vX.Y.Z/node-vX.Y.Z-linux-ARCH.tar.gz.
	Mirror string
	// HTTP is the client; http.DefaultClient when nil.
	HTTP *http.Client
	// GOARCH is the platform's architecture; the running program's when
	// empty. The OS is linux.
	GOARCH string
	// Log, when set, is told what is done.
	Log func(format string, args ...any)
}

// Request and Result are the tool cache's: node-version (ParseSpec) in,
// the version's root (Dir/bin/node) out.
type (
	Request = toolcache.Request
	Result  = toolcache.Result
)

// Spec is a parsed node-version.
type Spec struct {
	Raw string
	// Latest is true for latest, current and node.
	Latest bool
	// LTS is "*" for lts/*, a codename in lower case (lts/hydrogen), or
	// "-N" (lts/-1: the LTS line N before the latest).
	LTS        string
	Constraint *semver.Constraints
}

// ParseSpec reads node-version as setup-node reads it: a version (20,
// 20.11, 20.11.1, v20.11.1), a range (20.x, ^20.1, ">=18 <21"), lts/*,
// lts/CODENAME, lts/-N, latest, current or node.
func ParseSpec(s string) (Spec, error) {
	raw := s
	s = strings.TrimSpace(strings.ToLower(s))
	switch {
	case s == "":
		return Spec{}, errors.New("node-version is empty")
	case s == "latest" || s == "current" || s == "node":
		return Spec{Raw: raw, Latest: true}, nil
	case strings.HasPrefix(s, "lts/"):
		lts := strings.TrimPrefix(s, "lts/")
		if lts == "" {
			return Spec{}, fmt.Errorf("node-version %q names no LTS line; write lts/* or lts/CODENAME (lts/iron)", raw)
		}
		return Spec{Raw: raw, LTS: lts}, nil
	}
	s = strings.TrimPrefix(s, "v")
	if v, err := semver.StrictNewVersion(s); err == nil {
		s = "=" + v.String()
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		return Spec{}, fmt.Errorf("node-version %q is not a version or a range (%v); write 20, 20.x, 20.11.1, ^20.1, \">=18 <21\", lts/*, lts/iron or latest", raw, err)
	}
	return Spec{Raw: raw, Constraint: c}, nil
}

// release is one entry of index.json.
type release struct {
	Version string   `json:"version"`
	LTS     any      `json:"lts"` // false, or the line's codename
	Files   []string `json:"files"`
	v       *semver.Version
}

func (r release) codename() string {
	if s, ok := r.LTS.(string); ok {
		return strings.ToLower(s)
	}
	return ""
}

// pick returns the highest release the spec asks for, or nil; releases
// are sorted highest first.
func (s Spec) pick(releases []release) *release {
	if s.LTS != "" {
		var lines []string // LTS codenames, newest first
		for _, r := range releases {
			if c := r.codename(); c != "" && !contains(lines, c) {
				lines = append(lines, c)
			}
		}
		want := s.LTS
		switch {
		case want == "*":
			if len(lines) == 0 {
				return nil
			}
			want = lines[0]
		case strings.HasPrefix(want, "-"):
			var n int
			if _, err := fmt.Sscanf(want, "-%d", &n); err != nil || n >= len(lines) || n < 0 {
				return nil
			}
			want = lines[n]
		}
		for i, r := range releases {
			if r.codename() == want {
				return &releases[i]
			}
		}
		return nil
	}
	for i, r := range releases {
		if s.Latest && r.v.Prerelease() == "" || s.Constraint != nil && s.Constraint.Check(r.v) {
			return &releases[i]
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func (in *Installer) arch() string {
	a := in.GOARCH
	if a == "" {
		a = runtime.GOARCH
	}
	switch a {
	case "arm":
		return "armv7l"
	case "ppc64le", "s390x":
		return a
	}
	return toolcache.Arch(a)
}

func (in *Installer) mirror() string {
	if in.Mirror != "" {
		return strings.TrimSuffix(in.Mirror, "/")
	}
	return DefaultMirror
}

func (in *Installer) logf(format string, args ...any) {
	if in.Log != nil {
		in.Log(format, args...)
	}
}

// Install resolves req and returns the version from the cache, downloading
// it first when needed. Without CheckLatest, a version range already
// matched by the cache needs no network (lts/* and latest always read the
// index).
func (in *Installer) Install(ctx context.Context, req Request) (Result, error) {
	spec, err := ParseSpec(req.Version)
	if err != nil {
		return Result{}, err
	}
	arch := in.arch()
	if spec.Constraint != nil && !req.CheckLatest {
		var best *semver.Version
		for _, name := range in.Cache.Versions("node", arch) {
			if v, err := semver.StrictNewVersion(name); err == nil && spec.Constraint.Check(v) && (best == nil || v.GreaterThan(best)) {
				best = v
			}
		}
		if best != nil {
			dir, _ := in.Cache.Find("node", best.String(), arch)
			in.logf("found node %s in the tool cache", best)
			return Result{Version: best.String(), Dir: dir}, nil
		}
	}
	releases, err := in.index(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("node %s is not in the tool cache, and the release index could not be read: %w", req.Version, err)
	}
	var usable []release
	for _, r := range releases {
		if contains(r.Files, "linux-"+arch) {
			usable = append(usable, r)
		}
	}
	r := spec.pick(usable)
	if r == nil {
		latest := "none"
		if l := (Spec{Latest: true}).pick(usable); l != nil {
			latest = l.v.String()
		}
		return Result{}, fmt.Errorf("no Node.js release matches node-version %q for linux-%s at %s (the latest is %s)", req.Version, arch, in.mirror(), latest)
	}
	version := r.v.String()
	dir, fresh, err := in.Cache.Install(ctx, "node", version, arch, func(ctx context.Context, dir string) error {
		return in.download(ctx, "v"+version, arch, dir)
	})
	if err != nil {
		return Result{}, err
	}
	if !fresh {
		in.logf("found node %s in the tool cache", version)
	}
	return Result{Version: version, Dir: dir, Downloaded: fresh}, nil
}

func (in *Installer) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	client := in.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("reading %s: %s", url, resp.Status)
	}
	return resp, nil
}

// index reads index.json, highest version first.
func (in *Installer) index(ctx context.Context) ([]release, error) {
	resp, err := in.get(ctx, in.mirror()+"/index.json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var all []release
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&all); err != nil {
		return nil, fmt.Errorf("%s/index.json: %w", in.mirror(), err)
	}
	out := all[:0]
	for _, r := range all {
		if v, err := semver.StrictNewVersion(strings.TrimPrefix(r.Version, "v")); err == nil {
			r.v = v
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].v.GreaterThan(out[j].v) })
	return out, nil
}

// download fetches a release's tarball, checks it against the release's
// SHASUMS256.txt and extracts it into dir.
func (in *Installer) download(ctx context.Context, version, arch, dir string) error {
	name := "node-" + version + "-linux-" + arch
	base := in.mirror() + "/" + version + "/"
	resp, err := in.get(ctx, base+"SHASUMS256.txt")
	if err != nil {
		return err
	}
	var want string
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<20))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[1] == name+".tar.gz" {
			want = f[0]
		}
	}
	resp.Body.Close()
	if want == "" {
		return fmt.Errorf("%sSHASUMS256.txt has no %s.tar.gz", base, name)
	}
	file := dir + ".tar.gz"
	defer os.Remove(file)
	resp, err = in.get(ctx, base+name+".tar.gz")
	if err != nil {
		return err
	}
	in.logf("downloading %s%s.tar.gz", base, name)
	f, err := os.Create(file)
	if err != nil {
		resp.Body.Close()
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	resp.Body.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		return fmt.Errorf("downloading %s%s.tar.gz: %w", base, name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s%s.tar.gz: %w: downloaded sha256 %s, SHASUMS256.txt says %s; the download is refused", base, name, ErrChecksum, got, want)
	}
	in.logf("verified %s.tar.gz: sha256 %s", name, want)
	return untar(file, name+"/", dir)
}

// untar extracts a release tarball's files (all under prefix) into dir.
func untar(file, prefix, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		rel, ok := strings.CutPrefix(strings.TrimPrefix(hdr.Name, "./"), prefix)
		if !ok && strings.TrimSuffix(hdr.Name, "/")+"/" == prefix {
			continue
		}
		if !ok || rel != "" && !filepath.IsLocal(rel) {
			return fmt.Errorf("%s: file %q outside %s", file, hdr.Name, prefix)
		}
		if rel == "" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(hdr.Mode)&0o755|0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
		case tar.TypeSymlink:
			// npm, npx and corepack link into lib/: links stay inside.
			if target := path.Join(path.Dir(rel), hdr.Linkname); path.IsAbs(hdr.Linkname) || !filepath.IsLocal(target) {
				return fmt.Errorf("%s: link %q to %q leaves the release", file, hdr.Name, hdr.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(hdr.Linkname, dst); err != nil {
				return err
			}
		}
	}
}

// VersionFile reads the version a node-version-file asks for, as
// setup-node does: package.json's volta.node, else engines.node; else the
// file's first line (.nvmrc, .node-version), less a leading "v".
func VersionFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("node-version-file: %w", err)
	}
	if filepath.Base(file) == "package.json" {
		var pkg struct {
			Volta   struct{ Node string } `json:"volta"`
			Engines struct{ Node string } `json:"engines"`
		}
		if err := json.Unmarshal(data, &pkg); err != nil {
			return "", fmt.Errorf("node-version-file %s: %w", file, err)
		}
		if v := strings.TrimSpace(pkg.Volta.Node); v != "" {
			return v, nil
		}
		if v := strings.TrimSpace(pkg.Engines.Node); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("node-version-file %s: no volta.node or engines.node", file)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			return strings.TrimPrefix(line, "v"), nil
		}
	}
	return "", fmt.Errorf("node-version-file %s: no version in it", file)
}
