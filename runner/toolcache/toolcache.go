package toolcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Request asks an Installer for a version of its tool.
type Request struct {
	// Version is the setup action's version input, in its syntax.
	Version string
	// CheckLatest asks the source for the latest matching version even
	// when one in the cache matches.
	CheckLatest bool
}

// Result is a provisioned toolchain.
type Result struct {
	// Version is the version as the setup action names it ("1.22.12").
	Version string
	// Dir is the toolchain's root in the cache: Dir/bin holds its
	// programs.
	Dir string
	// Downloaded says whether this call fetched it.
	Downloaded bool
}

// Installer provisions the versions of one tool into a Cache.
type Installer interface {
	Install(ctx context.Context, req Request) (Result, error)
}

// Cache is a tool cache rooted at Dir.
type Cache struct {
	// Dir is RUNNER_TOOL_CACHE on the host; Default() when empty.
	Dir string
}

// Default is the shared tool cache directory:
// $XDG_CACHE_HOME/gantry/toolcache (os.UserCacheDir).
func Default() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tool cache: %w", err)
	}
	return filepath.Join(dir, "gantry", "toolcache"), nil
}

func (c *Cache) dir() (string, error) {
	if c != nil && c.Dir != "" {
		return c.Dir, nil
	}
	return Default()
}

// Arch is the tool cache's name for a GOARCH, as the setup-* actions name
// them: x64, x86, arm64, arm, else the GOARCH itself.
func Arch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "x86"
	}
	return goarch
}

// Path is where a version of a tool lies (or would): DIR/TOOL/VERSION/ARCH.
func (c *Cache) Path(tool, version, arch string) (string, error) {
	dir, err := c.dir()
	if err != nil {
		return "", err
	}
	for _, part := range []string{tool, version, arch} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `/\`) {
			return "", fmt.Errorf("tool cache: bad path element %q", part)
		}
	}
	return filepath.Join(dir, tool, version, arch), nil
}

// Find returns the directory of a complete version, and whether there is
// one.
func (c *Cache) Find(tool, version, arch string) (string, bool) {
	p, err := c.Path(tool, version, arch)
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(p + ".complete"); err != nil {
		return "", false
	}
	if st, err := os.Stat(p); err != nil || !st.IsDir() {
		return "", false
	}
	return p, true
}

// Versions lists the complete versions of a tool for arch, sorted as
// strings; the caller orders them as its tool's versions order.
func (c *Cache) Versions(tool, arch string) []string {
	dir, err := c.dir()
	if err != nil {
		return nil
	}
	entries, _ := os.ReadDir(filepath.Join(dir, tool))
	var out []string
	for _, e := range entries {
		if _, ok := c.Find(tool, e.Name(), arch); ok {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Fill puts a version's files into dir, an empty directory, verifying
// them before it returns nil.
type Fill func(ctx context.Context, dir string) error

// Install returns the directory of a version, calling fill to make it when
// it is not in the cache yet. fresh says whether this call made it. While
// one caller fills a version, others of the same version wait for it (or
// for ctx). When fill fails, nothing of it is left in the cache.
func (c *Cache) Install(ctx context.Context, tool, version, arch string, fill Fill) (dir string, fresh bool, err error) {
	p, err := c.Path(tool, version, arch)
	if err != nil {
		return "", false, err
	}
	if d, ok := c.Find(tool, version, arch); ok {
		return d, false, nil
	}
	parent := filepath.Dir(p)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", false, fmt.Errorf("tool cache: %w", err)
	}
	unlock, err := lock(ctx, p+".lock")
	if err != nil {
		return "", false, fmt.Errorf("tool cache: locking %s %s: %w", tool, version, err)
	}
	defer unlock()
	// Another job may have made it while this one waited.
	if d, ok := c.Find(tool, version, arch); ok {
		return d, false, nil
	}
	// What an earlier, interrupted attempt left: a version renamed into
	// place but never marked complete, and its temporary directories.
	_ = os.RemoveAll(p)
	if old, _ := filepath.Glob(filepath.Join(parent, "."+arch+".tmp-*")); len(old) > 0 {
		for _, o := range old {
			_ = os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(parent, "."+arch+".tmp-")
	if err != nil {
		return "", false, fmt.Errorf("tool cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := fill(ctx, tmp); err != nil {
		return "", false, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", false, fmt.Errorf("tool cache: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", false, fmt.Errorf("tool cache: %w", err)
	}
	if err := os.WriteFile(p+".complete", nil, 0o644); err != nil {
		_ = os.RemoveAll(p)
		return "", false, fmt.Errorf("tool cache: %w", err)
	}
	return p, true, nil
}

// pollLock is how often a waiting caller tries the lock again.
const pollLock = 50 * time.Millisecond

var errLocked = errors.New("locked")

// lock takes an exclusive lock on file, waiting for ctx. The lock is the
// file's (flock), so it is released when its holder dies.
func lock(ctx context.Context, file string) (func(), error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := tryLock(f)
		if err == nil {
			return func() { unlockFile(f); f.Close() }, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(pollLock):
		}
	}
}
