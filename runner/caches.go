package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// CacheMounter is implemented by workspaces that keep caches themselves
// (BuildKit's cache mounts): rather than files copied in and out, the
// paths are mounted from a persistent cache named id for every later
// command of the node.
type CacheMounter interface {
	MountCache(id string, paths []string) error
}

// cacheID is the cache a key and its restore keys share on a
// CacheMounter: a mount is one directory that every run changes in place,
// so the most specific restore key (the key less its lockfile hash, as
// usually written) is what keeps it warm across lockfile changes.
func cacheID(key string, restoreKeys []string) string {
	if len(restoreKeys) > 0 && restoreKeys[0] != "" {
		return restoreKeys[0]
	}
	return key
}

// cacheDir is where the host keeps the cache with this key.
func (r *run) cacheDir(key string) string {
	return filepath.Join(r.opts.CacheDir, keyUnsafe.ReplaceAllString(key, "_"))
}

// restoreCache copies the cache with key, or else the newest whose name
// starts with one of restoreKeys, into the workspace; it returns the key
// it found ("" for none).
func (j *job) restoreCache(ctx context.Context, key string, restoreKeys []string) (string, error) {
	r := j.r
	found := ""
	if _, err := os.Stat(r.cacheDir(key)); err == nil {
		found = key
	} else {
		entries, _ := os.ReadDir(r.opts.CacheDir)
		for _, prefix := range restoreKeys {
			p := keyUnsafe.ReplaceAllString(prefix, "_")
			var newest os.FileInfo
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), p) || strings.HasSuffix(e.Name(), ".tmp") {
					continue
				}
				if fi, err := e.Info(); err == nil && (newest == nil || fi.ModTime().After(newest.ModTime())) {
					newest = fi
				}
			}
			if newest != nil {
				found = newest.Name()
				break
			}
		}
	}
	if found == "" {
		return "", nil
	}
	return found, j.putInto(ctx, r.cacheDir(found), ".")
}

// saveCache keeps the workspace's files matching paths as the cache key.
func (j *job) saveCache(ctx context.Context, key string, paths []string) error {
	r := j.r
	root, err := j.hostRoot(ctx, paths)
	if err != nil {
		return err
	}
	tmp := r.cacheDir(key) + ".tmp"
	_ = os.RemoveAll(tmp)
	if _, err := copyGlobs(root, paths, nil, tmp); err != nil {
		return err
	}
	_ = os.RemoveAll(r.cacheDir(key))
	return os.Rename(tmp, r.cacheDir(key))
}

// nodeCaches brings a node's caches (GitLab's cache:) into its workspace
// before its steps, and returns what saves them when it ends.
func (j *job) nodeCaches(ctx context.Context) func(status dag.Status) {
	r, n, ws, say := j.r, j.n, j.ws, j.say
	if len(n.Caches) == 0 {
		return func(dag.Status) {}
	}
	vars := mergeMaps(j.nodeEnv, j.exported)
	env := j.contexts.exprEnv(vars)
	type saved struct {
		cache dag.Cache
		key   string
	}
	var toSave []saved
	for _, c := range n.Caches {
		key, err := expr.Interpolate(c.Key, n.Pos.Pos, env)
		if err != nil {
			say("cache %q: %v", c.Key, err)
			continue
		}
		key = expandDollar(key, func(name string) string { return vars[name] })
		if cm, ok := ws.(CacheMounter); ok {
			id := cacheID(key, c.RestoreKeys)
			if err := cm.MountCache(id, c.Paths); err != nil {
				say("cache %s: %v", key, err)
			} else {
				say("cache %s: %s mounted from the engine's cache", id, strings.Join(c.Paths, ", "))
			}
			continue
		}
		if r.opts.CacheDir == "" {
			continue
		}
		if c.Policy != "push" {
			found, err := j.restoreCache(ctx, key, c.RestoreKeys)
			switch {
			case err != nil:
				say("cache %s: %v", key, err)
			case found != "":
				say("cache restored from key %s", found)
			default:
				say("cache not found for key %s", key)
			}
		}
		if c.Policy != "pull" {
			toSave = append(toSave, saved{cache: c, key: key})
		}
	}
	return func(status dag.Status) {
		for _, s := range toSave {
			if !whenApplies(s.cache.When, status) {
				continue
			}
			if err := j.saveCache(context.WithoutCancel(ctx), s.key, s.cache.Paths); err != nil {
				say("cache %s not saved: %v", s.key, err)
			} else {
				say("cache saved with key %s", s.key)
			}
		}
	}
}
