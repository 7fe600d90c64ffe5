package runner

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner/toolcache/installed"
)

// builtin runs the stand-ins for the actions nearly every workflow uses,
// so that workflows run offline.
func (j *job) builtin(ctx context.Context, s *dag.Step, index int, with, outputs map[string]string, se *stepEnv, cmds *commands) (int, error) {
	r, ws, say := j.r, j.ws, j.say
	name, _, _ := strings.Cut(s.Uses, "@")
	switch strings.ToLower(name) {
	case "gantry/outputs":
		for k, v := range with {
			outputs[k] = v
		}
		return 0, nil
	case "actions/checkout":
		// The workspace is already a copy of the repository.
		if p := with["path"]; p != "" {
			if ws.HostDir() == "" {
				return 1, fmt.Errorf("checkout with path %q: on the %s executor the workspace is the repository at %s; check out to a path on the host executor, or drop path:", p, r.opts.Executor.Name(), ws.Dir())
			}
			if err := copyTree(r.opts.Source, filepath.Join(ws.HostDir(), p)); err != nil {
				return 1, err
			}
		}
		say("checkout: the workspace is a copy of %s", r.opts.Source)
		return 0, nil
	case "actions/upload-artifact":
		art := cmp.Or(with["name"], "artifact")
		// As upload-artifact does, files are stored relative to the
		// deepest directory common to the paths.
		var globs, excludes []string
		for _, p := range lines(with["path"]) {
			if ex, ok := strings.CutPrefix(p, "!"); ok {
				excludes = append(excludes, ex)
			} else {
				globs = append(globs, p)
			}
		}
		count, carried, err := j.uploadArtifact(ctx, art, globs, excludes)
		if err != nil {
			return 1, err
		}
		if count == 0 && with["if-no-files-found"] == "error" {
			return 1, fmt.Errorf("upload-artifact %q: no file matches %s", art, with["path"])
		}
		if carried {
			say("uploaded %d file(s) as artifact %q (kept in the engine for the jobs after this one; copied to the run's record in the background)", count, art)
		} else {
			say("uploaded %d file(s) as artifact %q", count, art)
		}
		return 0, nil
	case "actions/download-artifact":
		return 0, j.downloadArtifact(ctx, with["name"], with["path"])
	case "actions/cache", "actions/cache/restore", "actions/cache/save":
		return j.cache(ctx, name, with, outputs)
	}
	if strings.ToLower(name) == "actions/setup-go" && r.opts.ToolCache != "" {
		return j.setupGo(ctx, s, index, with, se, outputs, cmds)
	}
	if strings.ToLower(name) == "actions/setup-node" && r.opts.ToolCache != "" {
		return j.setupNode(ctx, s, index, with, se, outputs, cmds)
	}
	if _, ok := installed.Tools[strings.ToLower(name)]; ok {
		return j.setupInstalled(ctx, s, index, with, se, outputs, cmds)
	}
	return j.runAction(ctx, s, index, with, se, outputs, cmds)
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var keyUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// cache restores a cache by key or restore-keys prefix, and saves it when
// the job ends if it was not an exact hit. A workspace that mounts caches
// itself gets the paths mounted instead.
func (j *job) cache(ctx context.Context, name string, with, outputs map[string]string) (int, error) {
	r, ws, say := j.r, j.ws, j.say
	key := with["key"]
	if key == "" {
		return 1, fmt.Errorf("cache: key is required")
	}
	paths := lines(with["path"])
	restoreKeys := lines(with["restore-keys"])
	outputs["cache-hit"] = "false"
	if cm, ok := ws.(CacheMounter); ok {
		if name == "actions/cache/save" {
			return 0, nil // what the mount holds is kept as it changes
		}
		id := cacheID(key, restoreKeys)
		if err := cm.MountCache(id, paths); err != nil {
			return 1, err
		}
		say("cache: %s mounted from the engine's cache %s (cache-hit is false: a mount is never an exact hit)", strings.Join(paths, ", "), id)
		return 0, nil
	}
	if r.opts.CacheDir == "" {
		say("cache: no cache directory; nothing restored or saved")
		return 0, nil
	}
	hit := false
	if name != "actions/cache/save" {
		found, err := j.restoreCache(ctx, key, restoreKeys)
		if err != nil {
			return 1, err
		}
		if found != "" {
			say("cache restored from key %s", found)
		} else {
			say("cache not found for key %s", key)
		}
		hit = found == key
		outputs["cache-hit"] = fmt.Sprint(hit)
		outputs["cache-matched-key"] = found
	}
	if name != "actions/cache/restore" && !hit {
		save := func(ctx context.Context) (int, error) {
			if err := j.saveCache(ctx, key, paths); err != nil {
				say("cache not saved: %v", err)
			} else {
				say("cache saved with key %s", key)
			}
			return 0, nil
		}
		if name == "actions/cache/save" {
			return save(ctx)
		}
		// As actions/cache's own post-if says: saved when the job succeeded.
		j.addPost(post{label: "Post " + name, cond: "success()", run: save})
	}
	return 0, nil
}

// commonBase is the deepest directory (relative to the root of fsys) that
// holds every path the globs name: a directory named outright, else the
// part of each glob before its first wildcard.
func commonBase(fsys fs.FS, globs []string) string {
	var bases [][]string
	for _, g := range globs {
		g = filepath.ToSlash(filepath.Clean(g))
		dir := g
		if i := strings.IndexAny(g, "*?[{"); i >= 0 {
			dir = g[:i]
			if j := strings.LastIndexByte(dir, '/'); j >= 0 {
				dir = dir[:j]
			} else {
				dir = ""
			}
		} else if st, err := fs.Stat(fsys, g); err != nil || !st.IsDir() {
			dir = filepath.ToSlash(filepath.Dir(g))
		}
		if dir == "." {
			dir = ""
		}
		bases = append(bases, strings.Split(dir, "/"))
	}
	if len(bases) == 0 {
		return ""
	}
	common := bases[0]
	for _, b := range bases[1:] {
		n := 0
		for n < len(common) && n < len(b) && common[n] == b[n] {
			n++
		}
		common = common[:n]
	}
	return strings.Join(common, "/")
}
