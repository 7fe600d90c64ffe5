package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
	"github.com/gantry-ci/gantry/runner"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// onDefinition, when set (by tests), sees every definition solved.
var onDefinition func(*llb.Definition)

// Paths inside the container.
const (
	workDir   = "/workspace"
	stateDir  = "/gantry/state"
	recordDir = "/gantry/record"
	keyDir    = "/gantry/key"
	// containerHome is a job container's HOME, as GitHub's runner sets it.
	containerHome = "/github/home"
)

// wrapper runs a step's command and records how it went in recordDir: the
// exit code (in a file's name, read with the listing: a round trip less
// a step) or the missing program, and a copy of stdout and stderr for
// replaying a cached step. It always exits 0 so that the step's changes
// are kept when the command fails. $2 names the variables the wrapping
// shell may have exported on its own (PWD, SHLVL, _) that the command must
// not see. $3 counts the variables whose names are no shell names
// (INPUT_GITHUB-TOKEN, as GitHub's runner names inputs): a POSIX shell
// drops those from what it passes on, so they come in as pairs of shell
// names (envAlias) and go to the command as env's NAME=VALUE arguments.
// $4, when not empty, is the state directory, copied into the record as
// state/ once the command has ended: the step's changes to it then come
// back with the record, in one result (on an engine that imported the
// step from a shared cache, each result read back is a layer pulled and
// unpacked). Where the image has no cp, no state/ is left and the state
// mount is read instead.
const wrapper = `r=$1 u=$2 n=$3 s=$4; shift 4
if ! command -v "$1" >/dev/null 2>&1; then printf '%s' "$1" >"$r/missing"; exit 0; fi
mkfifo "$r/o" "$r/e" || exit 0
tee "$r/stdout" <"$r/o" &
tee "$r/stderr" <"$r/e" >&2 &
while [ "$n" -gt 0 ]; do
	n=$((n-1))
	eval "set -- \"\$` + envAlias + `NAME_$n=\$` + envAlias + `VALUE_$n\" \"\$@\""
	u="$u ` + envAlias + `NAME_$n ` + envAlias + `VALUE_$n"
done
set -- $(for v in $u; do printf '%s %s ' -u "$v"; done) -- "$@"
env "$@" >"$r/o" 2>"$r/e" </dev/null
: >"$r/exit-$?"
wait
rm -f "$r/o" "$r/e"
[ -z "$s" ] || cp -pR "$s" "$r/state" 2>/dev/null || rm -rf "$r/state"
exit 0`

// envAlias prefixes the pairs of variables that carry a variable whose
// name is no shell name through the wrapper: NAME_i holds the name,
// VALUE_i the value.
const envAlias = "GANTRY_ENV_"

// shellName reports whether a POSIX shell keeps a variable of this name.
func shellName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// addedVars are the variables that reach a command without being asked
// for: the wrapping shell's own exports (PWD, SHLVL, _), BuildKit's HOME
// default and its tracing variables. The wrapper unsets those the command
// was not given.
var addedVars = []string{"PWD", "OLDPWD", "SHLVL", "_", "HOME", "HOSTNAME", "TRACEPARENT", "TRACESTATE",
	"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}

// Prepare opens a BuildKit session for the node, with its image and a copy
// of the repository.
func (e *Executor) Prepare(ctx context.Context, n *dag.Node, spec runner.WorkspaceSpec) (runner.Workspace, error) {
	ws, err := e.prepare(ctx, n, spec)
	if err != nil {
		return nil, e.lost(err)
	}
	return ws, nil
}

func (e *Executor) prepare(ctx context.Context, n *dag.Node, spec runner.WorkspaceSpec) (*workspace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(spec.StateDir, 0o755); err != nil {
		return nil, err
	}
	ref, why := e.imageRef(n)
	if r, err := imageref.Parse(ref); err == nil && e.opts.Pinned[r.Name] != "" {
		why += ", pinned by gantry.lock to " + strings.TrimPrefix(e.opts.Pinned[r.Name], r.Repository()+"@")
	}
	e.notice(n.ID, "running in %s (%s) on buildkit at %s", ref, why, e.addr)
	// The repository is listed (a git process, the first time) while the
	// image is read and the session opened.
	var src fsutil.FS
	var srcErr error
	var listed sync.WaitGroup
	listed.Go(func() { src, srcErr = e.sourceFS(ctx, spec.Source) })
	defer listed.Wait()
	img, err := e.loadImage(ref)
	if err != nil {
		return nil, err
	}
	// Service images are read now: a session's content stores are fixed
	// when it starts.
	stores := maps.Clone(img.stores)
	svcImages := make([]image, len(n.Services))
	for i, svc := range n.Services {
		ref := svc.Image
		if m, ok := e.mapImage(ref); ok {
			ref = m
		}
		if svcImages[i], err = e.loadImage(ref); err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		if stores == nil && len(svcImages[i].stores) > 0 {
			stores = map[string]content.Store{}
		}
		maps.Copy(stores, svcImages[i].stores)
	}
	// Local images mapped with -P may be named by a Docker action's FROM:
	// their stores are attached too.
	for _, ref := range e.opts.Images {
		if localImage(ref) {
			if li, err := e.loadImage(ref); err == nil {
				if stores == nil && len(li.stores) > 0 {
					stores = map[string]content.Store{}
				}
				maps.Copy(stores, li.stores)
			}
		}
	}
	caches, skipped := e.cachesFor(n)
	for _, o := range skipped {
		e.notice(n.ID, "cache: nothing imported from %s: it has no entry for this job yet (a first run?)", o)
	}
	s, err := e.session(ctx, stores, caches)
	if err != nil && caches.exporting() && ctx.Err() == nil {
		// The daemon sets a session's cache exporters up as it opens it:
		// one it cannot (a refused key, a missing bucket) would fail the
		// job, where a failed export is a notice, the results standing.
		// When the session opens without them, they were the trouble.
		var again error
		if s, again = e.session(ctx, stores, caches.withoutExports()); again == nil {
			e.exportsOff.Store(true)
			e.notice(n.ID, "cache: nothing exported in this run: the daemon could not set up the export to %s: %s", caches.describe(), briefError(err.Error()))
			err = nil
		}
	}
	if err != nil {
		return nil, e.lost(fmt.Errorf("buildkit session for %s: %w", n.ID, err))
	}
	if listed.Wait(); srcErr != nil {
		s.close()
		return nil, fmt.Errorf("reading %s: %w", spec.Source, srcErr)
	}
	w := &workspace{buildSession: s, e: e, node: n, spec: spec}
	w.dirs.add("workspace", src)
	if err := w.useCredentials(n, ref); err != nil {
		w.Release(context.Background())
		return nil, err
	}
	if err := img.config(ctx, w.gw, ref, w.auth); err != nil {
		w.Release(context.Background())
		return nil, err
	}
	w.container = e.jobContainer(n, img.cfg)
	w.root = img.state
	if u := w.container.user; u != "" {
		o, err := w.lookupUser(ctx, u)
		if err != nil {
			w.Release(context.Background())
			return nil, fmt.Errorf("the job's user %q: %w", u, err)
		}
		if o.uid != 0 {
			w.owner = &o
		}
	}
	if n.Image != "" && !hasVar(w.container.env, "HOME") {
		// GitHub's runner gives a job container, and the Docker actions
		// it runs, HOME=/github/home: one directory of the job's, mounted
		// in each.
		home, dir := llb.Scratch(), "/"
		if o := w.owner; o != nil {
			home, dir = home.File(llb.Mkdir("/h", 0o755, llb.WithUIDGID(o.uid, o.gid))), "/h"
		}
		w.home = &chain{state: home, dir: dir}
		w.container.env = append(w.container.env, "HOME="+containerHome)
	}
	// Copied into a scratch state rather than used as it is: a copy's
	// cache key is its content, where a local source's changes with every
	// session, and file operations on it (artifacts brought in) would
	// never be cache hits.
	w.files, w.filesDir = llb.Scratch(), "/"
	if o := w.owner; o != nil {
		// The workspace is a directory of the user's (a mount's root is
		// the snapshot's, root's).
		w.filesDir = "/w"
		w.files = w.files.File(llb.Mkdir(w.filesDir, 0o755, llb.WithUIDGID(o.uid, o.gid)))
	}
	w.files = sourceCopy(w.files, spec.Source, e.sourceID, w.filesDir, w.copyOptions(&llb.CopyInfo{CopyDirContentsOnly: true})...)
	if err := w.startServices(ctx, n.Services, svcImages); err != nil {
		w.Release(context.Background())
		return nil, err
	}
	return w, nil
}

// sourceCopy is files with the repository at src copied to dir. The
// local source has the run's id (Executor.sourceID), not the session's:
// every node's is then one op, which the daemon solves once while a
// session holding it is open, and again, through the node's own session
// (each serves the repository as "workspace"), only when none is. The
// nodes of a run thus see the repository as the first transfer found it.
func sourceCopy(files llb.State, src, id, dir string, opts ...llb.CopyOption) llb.State {
	local := llb.Local("workspace", llb.SharedKeyHint(src), llb.LocalUniqueID(id), llb.WithCustomName("workspace "+src))
	return files.File(llb.Copy(local, "/", dir, opts...), llb.WithCustomName("workspace "+src))
}

// workspace is one node's BuildKit session. Exec may be called by several
// goroutines at once (background steps); the session's route runs beside
// them.
type workspace struct {
	*buildSession
	e    *Executor
	node *dag.Node
	spec runner.WorkspaceSpec
	// container is how the steps run in the job's image.
	container jobContainer

	// The chains: root filesystem and workspace after the last step; the
	// workspace is filesDir of files.
	root, files llb.State
	filesDir    string
	// home is HOME's directory in a job container (nil elsewhere).
	home     *chain
	services []*service
	hosts    []*pb.HostIP
	// owner owns the workspace when the steps do not run as root.
	owner *owner
	// servicePorts are job.services.<id>.ports; forwarders publish the
	// mapped ones; shared says whether the daemon's network is this
	// machine's (nil: not checked yet).
	servicePorts map[string]map[string]string
	forwarders   []*forwarder
	shared       *bool
	caches       []llb.RunOption
	// layersMu guards the chains (root, files, home's state), gen and
	// steps: background steps run Exec beside the others.
	layersMu sync.Mutex
	gen      int
	steps    int
	imports  int
	released bool
	// sharing is what the node's cache export takes (see sharedSteps).
	sharing sharedSteps
	// listed is what ListFiles listed last; holds counts the artifacts
	// carried from this workspace that are not released, for which its
	// session stays open.
	listed *listing
	holds  sync.WaitGroup
	// secretValues are the values the workspace's steps were told are
	// secret (guarded by layersMu).
	secretValues []string
}

func (w *workspace) Dir() string      { return workDir }
func (w *workspace) StateDir() string { return stateDir }
func (w *workspace) HostDir() string  { return "" }

// ConcurrentExec says that steps may run side by side: each is its own
// exec op from the layers of its start, and its changes are merged into
// the layers when it ends (commit).
func (w *workspace) ConcurrentExec() bool { return true }

// ImageEnv is the image's own environment (PATH, ...), which steps get in
// place of the host's variables.
func (w *workspace) ImageEnv() []string { return w.container.env }

// Exec runs one command as an exec op over the chains, and reads back what
// it recorded.
func (w *workspace) Exec(ctx context.Context, c runner.Command) (int, error) {
	code, err := w.exec(ctx, c, nil)
	return code, w.e.lost(err)
}

// actionRun is a Docker action's image and the user it runs as (the
// image's: GitHub's runner passes the job's container options to none),
// with its numbers when it is not root.
type actionRun struct {
	state llb.State
	user  string
	owner *owner
}

// exec runs c over the job's root filesystem, or over a Docker action's
// image when act is set, which the job's root then does not take.
func (w *workspace) exec(ctx context.Context, c runner.Command, act *actionRun) (int, error) {
	if w.released {
		return 0, errors.New("exec in a released workspace")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(c.Argv) == 0 {
		return 0, errors.New("exec: no command")
	}
	w.layersMu.Lock()
	w.steps++
	step := w.steps
	w.layersMu.Unlock()
	base := w.current()
	// runAs writes the step's state and record.
	runAs := w.owner
	if act != nil {
		runAs = act.owner
	}
	dir := workDir
	if c.Dir != "" {
		dir = c.Dir
		if !path.IsAbs(dir) {
			dir = path.Join(workDir, dir)
		}
		if rel, ok := strings.CutPrefix(dir, workDir+"/"); ok {
			if err := w.statDir(ctx, base.files, rel); err != nil {
				return 0, err
			}
		}
	}

	// The state directory goes in afresh; files in it that hold a secret
	// (scripts with interpolated secrets) go in as secret mounts.
	stateName := fmt.Sprintf("state-%d", step)
	// With the secrets earlier steps were given: state files sent in the
	// definition must hold none, even for a caller that names none.
	w.layersMu.Lock()
	for _, v := range c.Secrets {
		if v != "" && !slices.Contains(w.secretValues, v) {
			w.secretValues = append(w.secretValues, v)
		}
	}
	known := slices.Clone(w.secretValues)
	w.layersMu.Unlock()
	secretFiles, err := w.secretFiles(known)
	if err != nil {
		return 0, err
	}
	sent, err := statTree(w.spec.StateDir)
	if err != nil {
		return 0, err
	}
	stateMnt, ok, err := inlineState(w.spec.StateDir, secretFiles, runAs)
	if err != nil {
		return 0, err
	}
	if !ok {
		stateFS, err := fsutil.NewFS(w.spec.StateDir)
		if err != nil {
			return 0, err
		}
		if len(secretFiles) > 0 {
			excl := make([]string, 0, len(secretFiles))
			for _, f := range secretFiles {
				excl = append(excl, f.rel)
			}
			if stateFS, err = fsutil.NewFilterFS(stateFS, &fsutil.FilterOpt{ExcludePatterns: excl}); err != nil {
				return 0, err
			}
		}
		w.dirs.add(stateName, stateFS)
		defer w.dirs.remove(stateName)
		stateMnt = stateMount(llb.Local(stateName, llb.SharedKeyHint("state:"+w.node.ID), llb.WithCustomName("state")), runAs)
	}

	// The state comes back in the record unless files holding a secret
	// are mounted over it (copied, they would be in the record) or it is
	// too large to go in the definition (copied, it would be in the cache
	// once more each step).
	copyState := stateDir
	if len(secretFiles) > 0 || !ok {
		copyState = ""
	}

	// The name shows in BuildKit's progress, and tells the step's output
	// from late output of the one before.
	label := c.Argv
	if c.Name != "" {
		label = []string{c.Name}
	}
	name := shortName(w.node.ID, step, label)
	unset := slices.DeleteFunc(slices.Clone(addedVars), func(v string) bool { return hasVar(c.Env, v) })
	aliased := 0
	for _, kv := range c.Env {
		if k, _, _ := strings.Cut(kv, "="); !shellName(k) {
			aliased++
		}
	}
	opts := []llb.RunOption{
		llb.Args(append([]string{"/bin/sh", "-c", wrapper, "gantry-step", recordDir, strings.Join(unset, " "), strconv.Itoa(aliased), copyState}, c.Argv...)),
		w.workspaceMount(base.files),
		stateMnt,
		recordMount(runAs),
		llb.WithCustomName(name),
	}
	w.layersMu.Lock()
	opts = append(opts, w.caches...)
	w.layersMu.Unlock()
	if w.home != nil {
		opts = append(opts, w.home.mount(containerHome, base.home))
	}
	for _, h := range w.hosts {
		opts = append(opts, llb.AddExtraHost(h.Host, net.ParseIP(h.IP)))
	}
	if act != nil {
		if act.user != "" {
			opts = append(opts, llb.With(llb.User(act.user)))
		}
	} else {
		if w.container.user != "" {
			opts = append(opts, llb.With(llb.User(w.container.user)))
		}
		if w.container.hostname != "" {
			opts = append(opts, llb.With(llb.Hostname(w.container.hostname)))
		}
		opts = append(opts, w.container.run...)
	}
	var keys []string
	alias := 0
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		name := k // as the process sees it
		if !shellName(k) {
			opts = append(opts, llb.AddEnv(fmt.Sprintf("%sNAME_%d", envAlias, alias), k))
			name = fmt.Sprintf("%sVALUE_%d", envAlias, alias)
			alias++
		}
		if slices.Contains(c.Volatile, k) || containsAny(v, c.Secrets) {
			id := "env:" + k
			w.secrets.set(id, []byte(v))
			opts = append(opts, llb.AddSecret(name, llb.SecretID(id), llb.SecretAsEnv(true)))
			if !slices.Contains(c.Volatile, k) {
				keys = append(keys, k+"="+w.e.seal(v))
			}
			continue
		}
		opts = append(opts, llb.AddEnv(name, v))
	}
	for _, f := range secretFiles {
		id := "file:" + f.rel
		w.secrets.set(id, f.data)
		uid, gid := 0, 0
		if runAs != nil {
			uid, gid = runAs.uid, runAs.gid
		}
		opts = append(opts, llb.AddSecret(path.Join(stateDir, f.rel), llb.SecretID(id), llb.SecretFileOpt(uid, gid, int(f.mode))))
		keys = append(keys, f.rel+"="+w.e.seal(string(f.data)))
	}
	if len(keys) > 0 {
		// What stands for the secret-bearing values in the cache key:
		// their HMACs under a key that never leaves this machine, so that a
		// changed script or a rotated secret misses the cache while the
		// daemon learns nothing it could guess the secret from.
		slices.Sort(keys)
		key := llb.Scratch().File(llb.Mkfile("key", 0o644, []byte(strings.Join(keys, "\n"))))
		opts = append(opts, llb.AddMount(keyDir, key, llb.Readonly))
	}
	if w.e.opts.NoCache || w.node.NoCache {
		opts = append(opts, llb.IgnoreCache)
	}
	run := func(nonce string) llb.ExecState {
		o := opts
		if nonce != "" {
			o = append(slices.Clone(opts), llb.AddMount("/gantry/rerun", llb.Scratch().File(llb.Mkdir("/"+nonce, 0o755)), llb.Readonly))
		}
		root := base.root
		if act != nil {
			root = act.state
		}
		return llb.NewState(root.Output()).Dir(dir).Run(o...)
	}
	key, err := opKey(ctx, run("").GetMount(recordDir))
	if err != nil {
		return 0, err
	}
	nonce := w.e.failures.nonce(key)
	if nonce == "" && (w.e.opts.NoCache || w.node.NoCache) {
		// IgnoreCache keeps BuildKit from loading a cached result, but a
		// result of the same cache key still in memory (the previous run's,
		// just ended) can be shared: a nonce makes the key new.
		nonce = identity.NewID()
	}
	es := run(nonce)

	var masks *maskWatch
	if w.remote.exporting() {
		masks = &maskWatch{}
		c.Stdout, c.Stderr = masks.watch(c.Stdout), masks.watch(c.Stderr)
	}
	done := w.listen(name, c.Stdout, c.Stderr)
	solved := time.Now()
	record, err := w.solve(ctx, es.GetMount(recordDir))
	streamed := done()
	if err != nil {
		return 0, err
	}
	// The state files come back from the record (copyState), else from
	// the state mount while the record is read: both are round trips to
	// the daemon.
	var state gateway.Reference
	var stateErr error
	var stateRead sync.WaitGroup
	readMount := func() {
		if state, stateErr = w.solve(ctx, es.GetMount(stateDir)); stateErr == nil {
			if err := w.readState(ctx, state, stateRoot(runAs), "", sent, secretFiles, false); err != nil {
				stateErr = fmt.Errorf("reading the step's state files: %w", err)
			}
		}
	}
	if copyState == "" {
		stateRead.Go(readMount)
	}
	defer stateRead.Wait()
	rec := func(name string) string { return recordPath(runAs, name) }
	entries, err := record.ReadDir(ctx, gateway.ReadDirRequest{Path: rec("")})
	if err != nil {
		return 0, ctxError(ctx, err)
	}
	sizes := map[string]int64{}
	var exited time.Time
	copied := false
	for _, st := range entries {
		sizes[st.Path] = st.Size
		if strings.HasPrefix(st.Path, "exit-") {
			exited = time.Unix(0, st.ModTime)
		}
		if st.Path == "state" && os.FileMode(st.Mode).IsDir() {
			copied = true
		}
	}
	if copied {
		stateRead.Go(func() {
			if err := w.readState(ctx, record, rec("state"), "", sent, secretFiles, true); err != nil {
				stateErr = fmt.Errorf("reading the step's state files: %w", err)
			}
		})
	} else if copyState != "" {
		// The copy failed (no cp in the image): the state mount, as when
		// secrets are in it.
		stateRead.Go(readMount)
	}
	if _, ok := sizes["missing"]; ok {
		missing, _ := record.ReadFile(ctx, gateway.ReadRequest{Filename: rec("missing")})
		return 0, fmt.Errorf("exec %q: no such program in the image (PATH is searched as the step sees it)", string(missing))
	}
	// What BuildKit did not show (a cached step, or a log cut short).
	for i, name := range []string{"", "stdout", "stderr"} {
		out := []io.Writer{nil, c.Stdout, c.Stderr}[i]
		if out == nil || sizes[name] <= streamed[i] {
			continue
		}
		for off := streamed[i]; off < sizes[name]; off += 1 << 20 {
			data, err := record.ReadFile(ctx, gateway.ReadRequest{Filename: rec(name), Range: &gateway.FileRange{Offset: int(off), Length: 1 << 20}})
			if err != nil || len(data) == 0 {
				break
			}
			out.Write(data)
		}
	}
	code := -1
	for name := range sizes {
		if text, ok := strings.CutPrefix(name, "exit-"); ok {
			if code, err = strconv.Atoi(text); err != nil {
				return 0, fmt.Errorf("exec %q: exit code %q: %w", c.Argv[0], text, err)
			}
		}
	}
	if code < 0 {
		return 0, fmt.Errorf("exec %q: the step left no exit code", c.Argv[0])
	}
	w.e.failures.record(key, nonce, code != 0)
	if c.Cached != nil {
		// A replayed step's record is the one its run wrote: its exit
		// code file was written before this solve began (BuildKit's
		// status does not say: a result the engine still holds comes
		// as completed, not cached). A second of slack for the engine's
		// clock; a step replayed from one run less than a second before
		// counts as run.
		*c.Cached = !exited.IsZero() && exited.Before(solved.Add(-time.Second))
	}

	if stateRead.Wait(); stateErr != nil {
		return 0, stateErr
	}
	next := layers{files: es.GetMount(workDir)}
	if act == nil {
		next.root = es.Root()
	}
	if w.home != nil {
		next.home = es.GetMount(containerHome)
	}
	after, alone := w.commit(base, next)
	if w.remote.exporting() {
		var why string
		switch {
		case code != 0:
			why = "it failed"
		case len(keys) > 0:
			why = "it was given a secret"
		case nonce != "":
			why = "it runs afresh (--no-cache, or it failed here last time)"
		case !alone:
			why = "it ran beside a background step"
		case masks.seen():
			why = "it masked a value (::add-mask::) its output holds"
		}
		refs := []gateway.Reference{record}
		if state != nil {
			refs = append(refs, state)
		}
		w.sharing.add(step, name, why, refs, after)
	}
	return code, nil
}

// layers are the states a step carries on from: the root filesystem, the
// workspace (filesDir of files) and HOME in a job container; gen counts
// the commits that made them. In a step's result, a zero state is one the
// step left as it was.
type layers struct {
	root, files, home llb.State
	gen               int
}

// current is what the next step starts from.
func (w *workspace) current() layers {
	w.layersMu.Lock()
	defer w.layersMu.Unlock()
	l := layers{root: w.root, files: w.files, gen: w.gen}
	if w.home != nil {
		l.home = w.home.state
	}
	return l
}

// commit makes next, the result of a step that started from base, what
// later steps start from. When other steps committed since base (a
// background step ran beside them), the step's changes are applied over
// theirs: a diff of base and next merged onto the current layers, so each
// step's writes are kept, and a later one wins where two wrote the same
// path.
//
// It returns the layers after the commit, and whether the step ran alone
// (no other committed since it started).
func (w *workspace) commit(base, next layers) (after layers, alone bool) {
	w.layersMu.Lock()
	defer w.layersMu.Unlock()
	alone = w.gen == base.gen
	merge := func(cur, b, n llb.State) llb.State {
		switch {
		case n.Output() == nil: // the step did not change it
			return cur
		case w.gen == base.gen:
			return n
		}
		return llb.Merge([]llb.State{cur, llb.Diff(b, n)}, llb.WithCustomName("background step's changes"))
	}
	w.root = merge(w.root, base.root, next.root)
	w.files = merge(w.files, base.files, next.files)
	if w.home != nil {
		w.home.state = merge(w.home.state, base.home, next.home)
	}
	w.gen++
	after = layers{root: w.root, files: w.files, gen: w.gen}
	if w.home != nil {
		after.home = w.home.state
	}
	return after, alone
}

// MountCache mounts a persistent BuildKit cache named id at each of
// paths (relative to the workspace, absolute, or under ~) for the node's
// later steps. The cache is shared by every node that names it.
func (w *workspace) MountCache(id string, paths []string) error {
	for _, p := range paths {
		if strings.ContainsAny(p, "*?[") {
			return fmt.Errorf("cache path %q: a cache mount needs a directory, not a pattern", p)
		}
		dest := p
		switch {
		case p == "~" || strings.HasPrefix(p, "~/"):
			dest = path.Join("/root", strings.TrimPrefix(p, "~"))
		case !path.IsAbs(p):
			dest = path.Join(workDir, p)
		}
		opts := []llb.MountOption{llb.AsPersistentCacheDir("gantry:"+id+":"+path.Clean(p), llb.CacheMountShared)}
		base := llb.Scratch()
		if o := w.owner; o != nil {
			// As a Dockerfile's RUN --mount=type=cache,uid=,gid= does: a
			// new cache starts as a directory of the steps' user.
			base = base.File(llb.Mkdir("/cache", 0o755, llb.WithUIDGID(o.uid, o.gid)))
			opts = append(opts, llb.SourcePath("/cache"))
		}
		w.layersMu.Lock()
		w.caches = append(w.caches, llb.AddMount(dest, base, opts...))
		w.layersMu.Unlock()
	}
	return nil
}

// solve evaluates a state in the node's session.
func (w *workspace) solve(ctx context.Context, st llb.State) (gateway.Reference, error) {
	// One unique id for the session's local sources: the same state
	// marshals to the same ops in every solve of the session (so a step is
	// never run twice), and to other ops than another session's.
	def, err := st.Marshal(ctx, llb.LocalUniqueID(w.unique))
	if err != nil {
		return nil, err
	}
	if onDefinition != nil {
		onDefinition(def)
	}
	req := gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true}
	if w.remote != nil {
		req.CacheImports = w.remote.solve
	}
	res, err := w.gw.Solve(ctx, req)
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	ref, err := res.SingleRef()
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, errors.New("buildkit returned an empty result")
	}
	return ref, nil
}

// ctxError makes an error of the daemon's that a cancelled or expired
// context caused say so (errors.Is context.Canceled or DeadlineExceeded):
// the daemon can give up on a deadline it was sent a moment before the
// context's own timer fires.
func ctxError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ctx.Err(), err)
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	case codes.Canceled:
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < time.Second {
			<-ctx.Done() // the deadline fires in a moment
			return fmt.Errorf("%w: %v", ctx.Err(), err)
		}
	}
	if strings.Contains(err.Error(), "DeadlineExceeded") {
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return err
}

// statDir checks that a directory of the workspace exists, as BuildKit
// would otherwise create a missing working directory.
func (w *workspace) statDir(ctx context.Context, files llb.State, rel string) error {
	ref, err := w.solve(ctx, files)
	if err != nil {
		return err
	}
	st, err := ref.StatFile(ctx, gateway.StatRequest{Path: path.Join(w.filesDir, rel)})
	if err != nil || !os.FileMode(st.Mode).IsDir() {
		return fmt.Errorf("working directory %q does not exist in the workspace", rel)
	}
	return nil
}

type secretFile struct {
	rel  string
	data []byte
	mode os.FileMode
}

// secretFiles lists the state directory's files that hold a secret.
func (w *workspace) secretFiles(values []string) ([]secretFile, error) {
	if len(values) == 0 {
		return nil, nil
	}
	var out []secretFile
	err := filepath.WalkDir(w.spec.StateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if containsAny(string(data), values) {
			rel, _ := filepath.Rel(w.spec.StateDir, p)
			fi, _ := d.Info()
			out = append(out, secretFile{rel: filepath.ToSlash(rel), data: data, mode: fi.Mode().Perm()})
		}
		return nil
	})
	return out, err
}

// readState copies the state directory's files that the step changed
// (those not as they were sent) to the host, leaving alone the secret
// files mounted over it. Comparing with what was sent rather than with
// the host's files now keeps a step that ran beside another (a background
// step) from putting back the other's files as they were before it.
//
// coarse is for files that came through the wrapper's cp, which may keep
// times to the second only (busybox's): a file is unchanged when its size
// and its second are what was sent.
func (w *workspace) readState(ctx context.Context, ref gateway.Reference, root, dir string, sent map[string]fileStamp, skip []secretFile, coarse bool) error {
	entries, err := ref.ReadDir(ctx, gateway.ReadDirRequest{Path: path.Join(root, dir)})
	if err != nil {
		return err
	}
	// Directories are listed side by side: a listing is a round trip, and
	// a job's state directory has one directory a step.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	defer g.Wait()
	for _, st := range entries {
		rel := path.Join(dir, st.Path)
		mode := os.FileMode(st.Mode)
		host := filepath.Join(w.spec.StateDir, filepath.FromSlash(rel))
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(host, 0o755); err != nil {
				return err
			}
			g.Go(func() error { return w.readState(gctx, ref, root, rel, sent, skip, coarse) })
		case mode.IsRegular():
			if slices.ContainsFunc(skip, func(f secretFile) bool { return f.rel == rel }) {
				continue
			}
			// BuildKit keeps a sent file's size and time: unchanged
			// files are not read again (see sentTime).
			mtime := time.Unix(0, st.ModTime)
			if was, ok := sent[rel]; ok && was.size == st.Size && (was.mtime.Equal(mtime) || coarse && was.mtime.Unix() == mtime.Unix()) {
				continue
			}
			data, err := ref.ReadFile(ctx, gateway.ReadRequest{Filename: path.Join(root, rel)})
			if err != nil {
				return err
			}
			if err := os.WriteFile(host, data, mode.Perm()); err != nil {
				return err
			}
			if err := os.Chtimes(host, sentTime, sentTime); err != nil {
				return err
			}
		}
	}
	return g.Wait()
}

// fileStamp is a file's size and modification time.
type fileStamp struct {
	size  int64
	mtime time.Time
}

// sentTime is the modification time of the state files a step is sent.
// A file the step leaves alone comes back with it, in the step's result
// of this run or of the run that cached it, and is not read again; one it
// writes comes back with the time it was written. Without it, a cached
// step's files would come back with the times of the run that cached them
// and all be read again: a round trip per file and per step.
var sentTime = time.Date(2000, 1, 1, 0, 0, 0, 123456789, time.UTC)

// statTree stamps the regular files under dir, by slash path, after
// giving them sentTime.
func statTree(dir string) (map[string]fileStamp, error) {
	out := map[string]fileStamp{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while walking
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		mtime := fi.ModTime()
		if !mtime.Equal(sentTime) && os.Chtimes(p, sentTime, sentTime) == nil {
			mtime = sentTime
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = fileStamp{size: fi.Size(), mtime: mtime}
		return nil
	})
	return out, err
}

// Release ends the node's session; safe to call again.
func (w *workspace) Release(ctx context.Context) error {
	if w.released {
		return nil
	}
	w.released = true
	w.stopServices(ctx)
	// Nodes after this one copy the artifacts it carries from its
	// session's results.
	w.holds.Wait()
	w.exportCache(ctx)
	w.cancel(errors.New("workspace released"))
	saveErr := w.e.failures.save()
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if w.buildErr != nil && !errors.Is(w.buildErr, context.Canceled) && !strings.Contains(w.buildErr.Error(), "context canceled") && !strings.Contains(w.buildErr.Error(), "workspace released") {
		return w.buildErr
	}
	return saveErr
}

// opKey identifies the op under st across runs. Its digest does not: each
// session's local sources carry a unique attribute, so the key is a digest
// of the ops without it, inputs named by their own keys.
func opKey(ctx context.Context, st llb.State) (string, error) {
	def, err := st.Marshal(ctx)
	if err != nil {
		return "", err
	}
	keys := map[digest.Digest]string{}
	var last string
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return "", err
		}
		if src := op.GetSource(); src != nil {
			delete(src.Attrs, pb.AttrLocalUniqueID)
		}
		for _, in := range op.Inputs {
			in.Digest = keys[digest.Digest(in.Digest)]
		}
		b, err := op.MarshalVT()
		if err != nil {
			return "", err
		}
		last = digestOf(string(b))
		keys[digest.FromBytes(dt)] = last
	}
	return last, nil
}

func containsAny(s string, values []string) bool {
	for _, v := range values {
		if v != "" && strings.Contains(s, v) {
			return true
		}
	}
	return false
}

func digestOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// copyOptions are a copy into the workspace's: files of the steps' user
// when it is not root.
func (w *workspace) copyOptions(info *llb.CopyInfo) []llb.CopyOption {
	opts := []llb.CopyOption{info}
	if o := w.owner; o != nil {
		opts = append(opts, llb.WithUIDGID(o.uid, o.gid))
	}
	return opts
}

// stateMount mounts the state directory sent for a step at stateDir: as
// it is, or copied into a directory of the user the step runs as.
func stateMount(local llb.State, o *owner) llb.RunOption {
	if o != nil {
		st := llb.Scratch().File(llb.Mkdir("/s", 0o755, llb.WithUIDGID(o.uid, o.gid))).
			File(llb.Copy(local, "/", "/s", &llb.CopyInfo{CopyDirContentsOnly: true}, llb.WithUIDGID(o.uid, o.gid)), llb.WithCustomName("state"))
		return llb.AddMount(stateDir, st, llb.SourcePath("/s"))
	}
	return llb.AddMount(stateDir, local)
}

// Limits of a state directory sent in a step's definition.
const (
	inlineFiles = 256
	inlineBytes = 256 << 10
)

// inlineState mounts the state directory at stateDir as file ops that
// hold its files, when it is small and holds only directories and regular
// files: a local source costs a sync with the session, about 10 ms a step
// even when nothing changed, where file ops are a cache hit at once. The
// files holding a secret (skip) are left out, as they go in as secret
// mounts; the others hold none of the run's secrets or masked values, so
// they may be in the definition. Every file gets sentTime.
func inlineState(dir string, skip []secretFile, o *owner) (llb.RunOption, bool, error) {
	root := stateRoot(o)
	var chown []llb.ChownOption
	if o != nil {
		chown = append(chown, llb.WithUIDGID(o.uid, o.gid))
	}
	files, size := 0, int64(0)
	var actions []func(*llb.FileAction) *llb.FileAction
	if root != "/" {
		actions = append(actions, func(f *llb.FileAction) *llb.FileAction {
			return mkdir(f, root, 0o755, chown)
		})
	}
	tooMany := errors.New("too many")
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if files++; files > inlineFiles {
			return tooMany
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		at := path.Join(root, rel)
		switch {
		case d.IsDir():
			actions = append(actions, func(f *llb.FileAction) *llb.FileAction {
				return mkdir(f, at, fi.Mode().Perm(), chown)
			})
		case d.Type().IsRegular():
			if slices.ContainsFunc(skip, func(f secretFile) bool { return f.rel == rel }) {
				return nil
			}
			if size += fi.Size(); size > inlineBytes {
				return tooMany
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			opts := []llb.MkfileOption{llb.WithCreatedTime(sentTime)}
			for _, c := range chown {
				opts = append(opts, c)
			}
			actions = append(actions, func(f *llb.FileAction) *llb.FileAction {
				if f == nil {
					return llb.Mkfile(at, fi.Mode().Perm(), data, opts...)
				}
				return f.Mkfile(at, fi.Mode().Perm(), data, opts...)
			})
		default:
			return tooMany
		}
		return nil
	})
	if errors.Is(err, tooMany) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st := llb.Scratch()
	var fa *llb.FileAction
	for _, a := range actions {
		fa = a(fa)
	}
	if fa != nil {
		st = st.File(fa, llb.WithCustomName("state"))
	}
	// The files are in the definition: their op's key is their content.
	if root != "/" {
		return llb.AddMount(stateDir, st, llb.SourcePath(root), byChain), true, nil
	}
	return llb.AddMount(stateDir, st, byChain), true, nil
}

// byChain keys a step by the key of what a mount's input was made by
// rather than by its content (which BuildKit otherwise hashes for a
// mount of a whole state): the chains it is used on start from content
// (the repository's copy, file ops), and hashing the content means having
// it, which on an engine that imported a step's result from a shared
// cache means fetching and unpacking every layer of the workspace for a
// step that is a hit, and on any engine reading the whole workspace once
// a step. A step whose earlier step ran again and made the same files
// misses the cache now, where it hit.
var byChain = llb.ContentCache(llb.MountContentCacheOff)

func mkdir(f *llb.FileAction, at string, perm os.FileMode, chown []llb.ChownOption) *llb.FileAction {
	opts := []llb.MkdirOption{llb.WithParents(true), llb.WithCreatedTime(sentTime)}
	for _, c := range chown {
		opts = append(opts, c)
	}
	if f == nil {
		return llb.Mkdir(at, perm, opts...)
	}
	return f.Mkdir(at, perm, opts...)
}

// stateRoot is the state directory in its mount's result.
func stateRoot(o *owner) string {
	if o != nil {
		return "/s"
	}
	return "/"
}

// chain is a directory that steps carry on from one to the next: dir of
// state, mounted.
type chain struct {
	state llb.State
	dir   string
}

// mount mounts the chain's directory of st (one of its states) at dest.
func (c *chain) mount(dest string, st llb.State) llb.RunOption {
	return dirMount(dest, st, c.dir)
}

// workspaceMount mounts the workspace of files (one of its states) at
// workDir.
func (w *workspace) workspaceMount(files llb.State) llb.RunOption {
	return dirMount(workDir, files, w.filesDir)
}

func dirMount(dest string, st llb.State, dir string) llb.RunOption {
	if dir != "/" {
		return llb.AddMount(dest, st, llb.SourcePath(dir), byChain)
	}
	return llb.AddMount(dest, st, byChain)
}

// recordMount is where a step's wrapper writes its record: an empty
// directory, of the user the step runs as.
func recordMount(o *owner) llb.RunOption {
	if o != nil {
		return llb.AddMount(recordDir, llb.Scratch().File(llb.Mkdir("/r", 0o755, llb.WithUIDGID(o.uid, o.gid))), llb.SourcePath("/r"))
	}
	return llb.AddMount(recordDir, llb.Scratch())
}

// recordPath is a file of a step's record in the record mount's result.
func recordPath(o *owner, name string) string {
	if o != nil {
		return path.Join("/r", name)
	}
	return path.Join("/", name)
}

// lookupUser resolves the steps' user in the job's image.
func (w *workspace) lookupUser(ctx context.Context, user string) (owner, error) {
	return w.lookupUserIn(ctx, w.root, user)
}

// lookupUserIn resolves a user in an image.
func (w *workspace) lookupUserIn(ctx context.Context, root llb.State, user string) (owner, error) {
	ref, err := w.solve(ctx, root)
	if err != nil {
		return owner{}, err
	}
	read := func(name string) []byte {
		data, _ := ref.ReadFile(ctx, gateway.ReadRequest{Filename: name})
		return data
	}
	return lookupOwner(read("/etc/passwd"), read("/etc/group"), user)
}
