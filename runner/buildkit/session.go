package buildkit

import (
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/buildkit/session/secrets"
	"github.com/tonistiigi/fsutil"
)

// dirSource serves a session's local directories. Unlike the client's
// static map it can grow while the session lives: each step sends the
// state directory afresh under a new name.
type dirSource struct {
	mu   sync.Mutex
	dirs map[string]fsutil.FS
}

func (d *dirSource) LookupDir(name string) (fsutil.FS, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fs, ok := d.dirs[name]
	return fs, ok
}

func (d *dirSource) add(name string, fs fsutil.FS) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dirs == nil {
		d.dirs = map[string]fsutil.FS{}
	}
	d.dirs[name] = fs
}

func (d *dirSource) remove(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.dirs, name)
}

// secretStore serves a session's secrets: values the current step needs
// that must not enter its definition (secrets, and values that change on
// every run and would make every step miss the cache).
type secretStore struct {
	mu     sync.Mutex
	values map[string][]byte
}

func (s *secretStore) GetSecret(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[id]
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", id, secrets.ErrNotFound)
	}
	return v, nil
}

func (s *secretStore) set(id string, v []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string][]byte{}
	}
	s.values[id] = v
}

// listedFS is a directory with only the listed paths (and the directories
// holding them) in it.
type listedFS struct {
	fsutil.FS
	keep map[string]bool
}

func (l listedFS) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	return l.FS.Walk(ctx, target, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !l.keep[filepath.ToSlash(p)] {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return fn(p, d, err)
	})
}

// sourceFS is sourceFS of dir, listed once per executor: every node of a
// run copies the same checkout, and listing it costs a git process.
func (e *Executor) sourceFS(ctx context.Context, dir string) (fsutil.FS, error) {
	e.sourcesMu.Lock()
	defer e.sourcesMu.Unlock()
	e.lastSource = dir
	if fs, ok := e.sources[dir]; ok {
		return fs, nil
	}
	fs, err := sourceFS(ctx, dir)
	if err != nil {
		return nil, err
	}
	if e.sources == nil {
		e.sources = map[string]fsutil.FS{}
	}
	e.sources[dir] = fs
	return fs, nil
}

// withoutGantry is a directory without its top-level .gantry.
type withoutGantry struct{ fsutil.FS }

func (w withoutGantry) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	return w.FS.Walk(ctx, target, func(p string, d fs.DirEntry, err error) error {
		if err == nil && filepath.ToSlash(p) == ".gantry" {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return fn(p, d, err)
	})
}

// sourceFS is what a workspace copies of the repository at dir: in a git
// work tree, the tracked files and the untracked ones git does not ignore
// (not .git: it changes whenever git looks at the index, and would make
// every step miss the cache); elsewhere everything but .gantry.
func sourceFS(ctx context.Context, dir string) (fsutil.FS, error) {
	base, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// Not fsutil's filter: its patterns compile lazily and are not
		// safe for the concurrent walks of nodes sharing this listing.
		return withoutGantry{base}, nil
	}
	keep := map[string]bool{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p == "" || p == ".gantry" || strings.HasPrefix(p, ".gantry/") {
			continue
		}
		for ; p != "." && p != "/" && !keep[p]; p = filepath.ToSlash(filepath.Dir(p)) {
			keep[p] = true
		}
	}
	return listedFS{FS: base, keep: keep}, nil
}
