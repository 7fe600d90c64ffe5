package runner

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
	"github.com/gantry-ci/gantry/runner/toolcache"
	"github.com/gantry-ci/gantry/runner/toolcache/golang"
	"github.com/gantry-ci/gantry/runner/toolcache/node"
)

// ToolMounter is implemented by workspaces whose steps do not see the
// host's files (containers): a toolchain of the host's tool cache is
// mounted read-only into them, at the same TOOL/VERSION/ARCH under
// ToolCacheDir, for the node's later commands.
type ToolMounter interface {
	// ToolCacheDir is RUNNER_TOOL_CACHE as steps see it.
	ToolCacheDir() string
	// MountTool mounts the host directory dir at rel (TOOL/VERSION/ARCH)
	// under ToolCacheDir.
	MountTool(dir, rel string) error
}

// goCacheDir holds GOMODCACHE and GOCACHE in a container, where setup-go
// mounts them from the engine's cache.
const goCacheDir = "/gantry/cache/go"

// toolCacheDir is RUNNER_TOOL_CACHE as the node's steps see it, or ""
// when the run has no tool cache.
func (j *job) toolCacheDir() string {
	if j.r.opts.ToolCache == "" {
		return ""
	}
	if tm, ok := j.ws.(ToolMounter); ok {
		return tm.ToolCacheDir()
	}
	if j.ws.HostDir() != "" {
		return j.r.opts.ToolCache
	}
	return ""
}

// setupGo provisions the Go toolchain actions/setup-go asks for into the
// tool cache, and puts it first on the job's PATH, as setup-go does.
func (j *job) setupGo(ctx context.Context, s *dag.Step, index int, with map[string]string, se *stepEnv, outputs map[string]string, cmds *commands) (int, error) {
	spec := strings.TrimSpace(with["go-version"])
	if file := strings.TrimSpace(with["go-version-file"]); spec == "" && file != "" {
		root, err := j.hostRoot(ctx, []string{file})
		if err != nil {
			return 1, err
		}
		if spec, err = golang.VersionFile(filepath.Join(root, filepath.FromSlash(file))); err != nil {
			return 1, err
		}
		j.say("setup-go: %s asks for go %s", file, spec)
	}
	_, mounts := j.ws.(ToolMounter)
	if spec == "" || !mounts && j.ws.HostDir() == "" {
		// As setup-go does without a version: the go on PATH.
		return j.setupInstalled(ctx, s, index, with, se, outputs, cmds)
	}
	checkLatest, _ := strconv.ParseBool(with["check-latest"])
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if mounts {
		goos = "linux" // the job's container
	}
	lookup := func(k string) string {
		if v, ok := se.env[k]; ok {
			return v
		}
		if v, ok := j.r.opts.ExtraEnv[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	env := golang.ReadEnv(lookup)
	in := &golang.Installer{
		Cache: &toolcache.Cache{Dir: j.r.opts.ToolCache},
		Env:   &env,
		GOOS:  goos, GOARCH: goarch,
		Log: func(format string, args ...any) { j.say("setup-go: "+format, args...) },
	}
	res, bin, err := j.provision(ctx, "go", in, toolcache.Request{Version: spec, CheckLatest: checkLatest})
	if err != nil {
		return 1, fmt.Errorf("setup-go: %w", err)
	}
	set := map[string]string{}
	if _, ok := se.env["GOTOOLCHAIN"]; !ok {
		// As setup-go does when a version is asked for: that version, not
		// one go.mod's toolchain line would switch to.
		set["GOTOOLCHAIN"] = "local"
	}
	if cm, ok := j.ws.(CacheMounter); ok && with["cache"] != "false" {
		// setup-go's cache: (on by default) keeps the module and build
		// caches between runs; in a container they are the engine's cache
		// mounts, shared by the jobs (the host's jobs share the host's).
		for k, p := range map[string]string{"GOMODCACHE": goCacheDir + "/mod", "GOCACHE": goCacheDir + "/build"} {
			if _, ok := se.env[k]; ok {
				continue
			}
			if err := cm.MountCache("setup-go-"+strings.ToLower(k), []string{p}); err != nil {
				return 1, fmt.Errorf("setup-go: %w", err)
			}
			set[k] = p
		}
	}
	j.mu.Lock()
	j.paths = append([]string{bin}, j.paths...)
	maps.Copy(j.exported, set)
	j.mu.Unlock()
	outputs["go-version"] = res.Version
	if with["cache"] != "false" {
		if err := j.goCacheKey(ctx, with, res.Version, outputs); err != nil {
			return 1, fmt.Errorf("setup-go: %w", err)
		}
	}
	j.say("setup-go: go %s %s, %s on PATH", res.Version, fetched(res), bin)
	return 0, nil
}

// goCacheKey gives setup-go's cache-hit as setup-go computes it: its cache
// key is the platform, the Go version and the hash of the dependency files
// (cache-dependency-path, else go.sum at the workspace's root), and
// cache-hit says whether a job that succeeded saved that key before. The
// module and build caches themselves are shared by every job (the host's
// under the cache directory, the engine's cache mounts in a container), so
// a miss costs no download that a hit would have saved; the key only
// answers cache-hit. Without the dependency files setup-go warns and
// leaves cache-hit unset, and so does this.
func (j *job) goCacheKey(ctx context.Context, with map[string]string, version string, outputs map[string]string) error {
	if j.r.opts.CacheDir == "" {
		return nil
	}
	deps := lines(with["cache-dependency-path"])
	if len(deps) == 0 {
		deps = []string{"go.sum"}
	}
	root, err := j.hostRoot(ctx, deps)
	if err != nil {
		return err
	}
	hash, err := expr.HashFilesIn(root)(deps)
	if err != nil {
		return err
	}
	if hash == "" {
		if len(lines(with["cache-dependency-path"])) > 0 {
			j.warn("Restore cache failed: Some specified paths were not resolved, unable to cache dependencies.")
		} else {
			j.warn("Restore cache failed: Dependencies file is not found in " + j.ws.Dir() + ". Supported file pattern: go.sum")
		}
		return nil
	}
	key := "setup-go-Linux-" + toolcache.Arch(runtime.GOARCH) + "-go-" + version + "-" + hash
	marker := filepath.Join(j.r.opts.CacheDir, "setup-go", keyUnsafe.ReplaceAllString(key, "_"))
	_, err = os.Stat(marker)
	hit := err == nil
	outputs["cache-hit"] = strconv.FormatBool(hit)
	if hit {
		j.say("setup-go: cache restored from key %s", key)
		return nil
	}
	j.say("setup-go: cache is not found for key %s", key)
	// As setup-go's post step: saved when the job succeeded.
	j.addPost(post{label: "Post actions/setup-go", cond: "success()", run: func(context.Context) (int, error) {
		err := os.MkdirAll(filepath.Dir(marker), 0o755)
		if err == nil {
			err = os.WriteFile(marker, nil, 0o644)
		}
		if err != nil {
			j.warn("setup-go: cache not saved: " + err.Error())
		} else {
			j.say("setup-go: cache saved with the key: %s", key)
		}
		return 0, nil
	}})
	return nil
}

// setupNode provisions the Node.js actions/setup-node asks for into the
// tool cache, and puts it first on the job's PATH, as setup-node does.
func (j *job) setupNode(ctx context.Context, s *dag.Step, index int, with map[string]string, se *stepEnv, outputs map[string]string, cmds *commands) (int, error) {
	spec := strings.TrimSpace(with["node-version"])
	if file := strings.TrimSpace(with["node-version-file"]); spec == "" && file != "" {
		root, err := j.hostRoot(ctx, []string{file})
		if err != nil {
			return 1, err
		}
		if spec, err = node.VersionFile(filepath.Join(root, filepath.FromSlash(file))); err != nil {
			return 1, err
		}
		j.say("setup-node: %s asks for node %s", file, spec)
	}
	_, mounts := j.ws.(ToolMounter)
	if spec == "" || !mounts && j.ws.HostDir() == "" {
		// As setup-node does without a version: the node on PATH.
		if code, err := j.setupInstalled(ctx, s, index, with, se, outputs, cmds); err != nil || code != 0 {
			return code, err
		}
		return j.npmrc(with, se)
	}
	checkLatest, _ := strconv.ParseBool(with["check-latest"])
	mirror := strings.TrimSpace(with["mirror"])
	if mirror == "" {
		mirror = se.env["NODE_MIRROR"]
	}
	res, bin, err := j.provisionNode(ctx, spec, checkLatest, mirror)
	if err != nil {
		return 1, fmt.Errorf("setup-node: %w", err)
	}
	set, err := j.packageCache(strings.TrimSpace(with["cache"]), se)
	if err != nil {
		return 1, fmt.Errorf("setup-node: %w", err)
	}
	j.mu.Lock()
	j.paths = append([]string{bin}, j.paths...)
	maps.Copy(j.exported, set)
	j.mu.Unlock()
	outputs["node-version"] = "v" + res.Version
	outputs["cache-hit"] = strconv.FormatBool(!res.Downloaded)
	j.say("setup-node: node %s %s, %s on PATH", res.Version, fetched(res), bin)
	return j.npmrc(with, se)
}

// npmrc writes the .npmrc setup-node writes for registry-url, in
// RUNNER_TEMP, and points npm at it (NPM_CONFIG_USERCONFIG); the token
// comes from NODE_AUTH_TOKEN when npm runs.
func (j *job) npmrc(with map[string]string, se *stepEnv) (int, error) {
	registry := strings.TrimSpace(with["registry-url"])
	if registry == "" {
		return 0, nil
	}
	if !strings.HasSuffix(registry, "/") {
		registry += "/"
	}
	auth := strings.TrimPrefix(strings.TrimPrefix(registry, "https:"), "http:")
	var b strings.Builder
	fmt.Fprintf(&b, "%s:_authToken=${NODE_AUTH_TOKEN}\n", auth)
	if scope := strings.TrimSpace(with["scope"]); scope != "" {
		if !strings.HasPrefix(scope, "@") {
			scope = "@" + scope
		}
		fmt.Fprintf(&b, "%s:registry=%s\n", strings.ToLower(scope), registry)
	} else {
		fmt.Fprintf(&b, "registry=%s\n", registry)
	}
	if a := with["always-auth"]; a != "" {
		fmt.Fprintf(&b, "always-auth=%s\n", a)
	}
	dir := filepath.Join(j.stateDir, "tmp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 1, err
	}
	if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(b.String()), 0o644); err != nil {
		return 1, err
	}
	j.mu.Lock()
	j.exported["NPM_CONFIG_USERCONFIG"] = path.Join(filepath.ToSlash(j.ws.StateDir()), "tmp", ".npmrc")
	if _, ok := se.env["NODE_AUTH_TOKEN"]; !ok {
		j.exported["NODE_AUTH_TOKEN"] = "XXXXX-XXXXX-XXXXX-XXXXX"
	}
	j.mu.Unlock()
	j.say("setup-node: .npmrc for %s in RUNNER_TEMP (NPM_CONFIG_USERCONFIG)", registry)
	return 0, nil
}

// provisionNode installs a Node.js version into the tool cache and returns
// its bin directory as the job's commands see it.
func (j *job) provisionNode(ctx context.Context, spec string, checkLatest bool, mirror string) (toolcache.Result, string, error) {
	if mirror == "" {
		mirror = cmp.Or(j.r.opts.ExtraEnv["NODE_MIRROR"], os.Getenv("NODE_MIRROR"))
	}
	in := &node.Installer{
		Cache:  &toolcache.Cache{Dir: j.r.opts.ToolCache},
		Mirror: mirror,
		Log:    func(format string, args ...any) { j.say("setup-node: "+format, args...) },
	}
	return j.provision(ctx, "node", in, toolcache.Request{Version: spec, CheckLatest: checkLatest})
}

// provision installs a version of tool into the tool cache and returns
// its bin directory as the job's commands see it: in a container, the
// version is mounted read-only at TOOL/VERSION/ARCH under the container's
// RUNNER_TOOL_CACHE.
func (j *job) provision(ctx context.Context, tool string, in toolcache.Installer, req toolcache.Request) (toolcache.Result, string, error) {
	res, err := in.Install(ctx, req)
	if err != nil {
		return res, "", err
	}
	bin := filepath.Join(res.Dir, "bin")
	if tm, ok := j.ws.(ToolMounter); ok {
		rel := path.Join(tool, res.Version, filepath.Base(res.Dir))
		if err := tm.MountTool(res.Dir, rel); err != nil {
			return res, "", err
		}
		bin = path.Join(tm.ToolCacheDir(), rel, "bin")
	}
	return res, bin, nil
}

// fetched says where a toolchain came from, for the job's log.
func fetched(res toolcache.Result) string {
	if res.Downloaded {
		return "downloaded into the tool cache"
	}
	return "from the tool cache"
}

// actionNode is the node program a JavaScript action runs with: the job's
// own (on PATH in its image, or on the host) when it is the major version
// the action's runs.using names or newer; else, as GitHub's runner brings
// its own node, the tool cache's node of that major, provisioned when
// needed (NODE_MIRROR as for setup-node).
func (j *job) actionNode(ctx context.Context, a *action, env []string) (string, error) {
	major := strings.TrimPrefix(strings.ToLower(a.meta.Runs.Using), "node")
	j.mu.Lock()
	p, ok := j.actionNodes[major]
	j.mu.Unlock()
	if ok {
		return p, nil
	}
	err := j.checkNode(ctx, major, env)
	if err == nil {
		return "node", nil
	}
	_, mounts := j.ws.(ToolMounter)
	if ctx.Err() != nil || j.r.opts.ToolCache == "" || !mounts && j.ws.HostDir() == "" {
		return "", err
	}
	mirror := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_MIRROR="); ok {
			mirror = v
		}
	}
	res, bin, perr := j.provisionNode(ctx, major, false, mirror)
	if perr != nil {
		return "", fmt.Errorf("%w, and node %s could not be provisioned: %v", err, major, perr)
	}
	p = path.Join(filepath.ToSlash(bin), "node")
	if !mounts {
		p = filepath.Join(bin, "node")
	}
	j.say("%s: %v; it runs with node %s from the tool cache", a.uses, err, res.Version)
	j.mu.Lock()
	if j.actionNodes == nil {
		j.actionNodes = map[string]string{}
	}
	j.actionNodes[major] = p
	j.mu.Unlock()
	return p, nil
}

// packageCaches are the variables that place each package manager's
// global cache, as setup-node's cache: input names them.
var packageCaches = map[string]string{"npm": "npm_config_cache", "yarn": "YARN_CACHE_FOLDER", "pnpm": "npm_config_store_dir"}

// packageCache keeps a package manager's cache (setup-node's cache: npm,
// yarn or pnpm) between jobs and runs: on the engine's cache mounts in a
// container, else in the run's cache directory (.gantry/cache), instead of
// the job's fresh HOME. It returns the variables to set; a job that sets
// the variable itself keeps its own.
func (j *job) packageCache(manager string, se *stepEnv) (map[string]string, error) {
	if manager == "" {
		return nil, nil
	}
	v, ok := packageCaches[strings.ToLower(manager)]
	if !ok {
		return nil, fmt.Errorf("cache %q: want npm, yarn or pnpm", manager)
	}
	if _, set := se.env[v]; set {
		return nil, nil
	}
	name := "setup-node-" + strings.ToLower(manager)
	var dir string
	switch cm, ok := j.ws.(CacheMounter); {
	case ok:
		dir = "/gantry/cache/" + strings.ToLower(manager)
		if err := cm.MountCache(name, []string{dir}); err != nil {
			return nil, err
		}
	case j.r.opts.CacheDir != "":
		dir = filepath.Join(j.r.opts.CacheDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	default:
		j.say("setup-node: cache %s: no cache directory; the job's own HOME keeps it", manager)
		return nil, nil
	}
	j.say("setup-node: %s's cache is %s (%s), shared by jobs and runs", manager, dir, v)
	return map[string]string{v: dir}, nil
}
