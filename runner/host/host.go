package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// Options configures the host executor. The zero value is ready to use.
type Options struct {
	// TempDir is where workspaces are made; default os.TempDir().
	TempDir string
	// KillGrace is how long a cancelled command's process group has between
	// SIGTERM and SIGKILL, and how long Exec keeps reading a finished
	// command's output that a background process still holds open;
	// default 5s.
	KillGrace time.Duration
	// Logger receives debug records (copies, commands, cleanup); default
	// discards them.
	Logger *slog.Logger
	// CacheDir holds the tool caches jobs share (Go's module and build
	// caches); default $XDG_CACHE_HOME/gantry/host. Jobs get a HOME of
	// their own, in their workspace, whatever this is.
	CacheDir string
	// Workspace forces how jobs' workspaces are made; default Auto, the
	// cheapest the machine allows. A forced strategy that cannot be used
	// here makes Prepare fail.
	Workspace Strategy
}

// DefaultKillGrace is Options.KillGrace when it is zero.
const DefaultKillGrace = 5 * time.Second

// New returns the host executor. It takes a snapshot of a checkout (which
// files it holds) at its first Prepare and gives every later node a view
// of that same snapshot, so make one executor per run, and Close it at
// the end.
func New(opts Options) *Executor {
	if opts.KillGrace <= 0 {
		opts.KillGrace = DefaultKillGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			opts.CacheDir = filepath.Join(dir, "gantry", "host")
		}
	}
	return &Executor{opts: opts}
}

// Executor is the host executor.
type Executor struct {
	opts   Options
	lists  listingCache
	snaps  snapshots
	probes struct {
		mu sync.Mutex
		m  map[snapshotKey]probe
	}
}

var _ runner.Executor = (*Executor)(nil)

func (e *Executor) Name() string { return "host" }

// Prepare makes the view of spec.Source at TempDir/gantry-NODE-RANDOM/NAME,
// NAME being the source directory's name as in a CI checkout, and creates
// spec.StateDir if it is missing. On failure it leaves nothing
// behind and returns a nil Workspace.
func (e *Executor) Prepare(ctx context.Context, n *dag.Node, spec runner.WorkspaceSpec) (runner.Workspace, error) {
	id := "workspace"
	if n != nil && n.ID != "" {
		id = n.ID
	}
	// Steps run on this machine: a node that asks for an image runs here
	// only when the caller says so, and services never do.
	if n != nil && (len(n.Services) > 0 || n.Image != "" && !spec.IgnoreImage) {
		return nil, fmt.Errorf("prepare %q: %w", id, runner.ErrNeedsContainer)
	}
	ws, err := e.prepare(ctx, id, spec)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", id, err)
	}
	return ws, nil
}

func (e *Executor) prepare(ctx context.Context, id string, spec runner.WorkspaceSpec) (*workspace, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if spec.Source == "" {
		return nil, errors.New("empty source directory")
	}
	if spec.StateDir == "" {
		return nil, errors.New("empty state directory")
	}
	src, err := realDir(spec.Source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	state, err := filepath.Abs(spec.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	tmp, skip, err := e.tempDir(src)
	if err != nil {
		return nil, err
	}
	snap, err := e.snapshot(ctx, src, tmp, skip)
	if err != nil {
		return nil, err
	}

	root, err := os.MkdirTemp(tmp, "gantry-"+slug(id)+"-")
	if err != nil {
		return nil, err
	}
	name := filepath.Base(src)
	if name == string(filepath.Separator) || name == "." {
		name = "workspace"
	}
	ws := &workspace{
		root:  root,
		dir:   filepath.Join(root, name),
		home:  filepath.Join(root, ".gantry-home"),
		state: state,
		grace: e.opts.KillGrace,
		log:   e.opts.Logger.With("node", id),
	}
	if e.opts.CacheDir != "" {
		ws.caches = map[string]string{
			"GOMODCACHE": filepath.Join(e.opts.CacheDir, "go", "mod"),
			"GOCACHE":    filepath.Join(e.opts.CacheDir, "go", "build"),
		}
	}
	if err := os.Mkdir(ws.home, 0o700); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	start := time.Now()
	var st copyStats
	if snap.strategy == Overlay {
		err = ws.mount(src, snap.layer)
	} else {
		st, err = copyRepo(ctx, src, ws.dir, skip, ws.log, &e.lists, snap.strategy == Reflink)
	}
	if err != nil {
		if rerr := ws.Release(context.WithoutCancel(ctx)); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	ws.log.Debug("workspace prepared", "source", src, "dir", ws.dir, "strategy", snap.strategy,
		"files", st.files, "git", st.git, "took", time.Since(start))
	return ws, nil
}

// realDir returns dir as an absolute path without symbolic links, and
// checks that it is a directory.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", &fs.PathError{Op: "open", Path: abs, Err: errors.New("not a directory")}
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether path is dir or below it, and its relative path.
func within(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// slug makes a node id fit in a file name: "test (1.22, linux)" becomes
// "test-1.22-linux".
func slug(id string) string {
	var b strings.Builder
	dash := false
	for _, r := range id {
		ok := r == '.' || r == '_' || r == '-' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-.")
	if s == "" {
		return "node"
	}
	return s
}

// ctxErr is nil while ctx is live, and then why it is done.
func ctxErr(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return ctx.Err()
}
