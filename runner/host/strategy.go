package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Strategy is how a job's workspace is made from the run's snapshot of
// the source: the cheapest the machine allows, unless Options.Workspace
// forces one.
type Strategy int

const (
	// Auto picks Overlay where the kernel lets gantry mount, else Reflink
	// where the source and the temp directory share a filesystem that
	// clones files (btrfs, XFS), else Copy.
	Auto Strategy = iota
	// Overlay gives each job an overlayfs view of the source, mounted in
	// a mount namespace of its own, which its processes run in: the
	// source is the read-only lower layer, the job's writes go to a
	// directory of its own. A job costs the same whatever the size of the
	// repository. It needs CAP_SYS_ADMIN (root).
	Overlay
	// Reflink copies the source's files for each job as clones (FICLONE),
	// which share their data with the source until written.
	Reflink
	// Copy copies the source's files for each job.
	Copy
)

var strategyNames = []string{"auto", "overlay", "reflink", "copy"}

func (s Strategy) String() string {
	if s < 0 || int(s) >= len(strategyNames) {
		return fmt.Sprintf("Strategy(%d)", int(s))
	}
	return strategyNames[s]
}

// ParseStrategy reads a strategy's name: auto, overlay, reflink or copy.
func ParseStrategy(s string) (Strategy, error) {
	for i, name := range strategyNames {
		if s == name {
			return Strategy(i), nil
		}
	}
	return Auto, fmt.Errorf("unknown workspace strategy %q: use auto, overlay, reflink or copy", s)
}

// errStrategy is why a strategy cannot be used here.
var errStrategy = errors.New("workspace strategy not available")

// snapshot is what the run's jobs share of one source: the strategy that
// makes their workspaces and, for Overlay, the layer that sits between
// the source and each job's own writes.
type snapshot struct {
	strategy Strategy
	why      string // why this strategy, for the run's line
	// layer (Overlay) hides what the listing leaves out of the source
	// (ignored files, .gantry) with whiteouts and holds the copies of the
	// git metadata; removed by Close.
	layer string
}

// snapshots are an executor's snapshots, one per source and temp
// directory.
type snapshots struct {
	mu      sync.Mutex
	m       map[snapshotKey]*snapshotEntry
	warming []context.CancelFunc // Warm's, called by Close
}

type snapshotKey struct{ src, tmp, skip string }

type snapshotEntry struct {
	once sync.Once
	snap *snapshot
	err  error
}

// entry is the snapshot entry of src for workspaces in tmp, added when
// missing.
func (e *Executor) entry(k snapshotKey) *snapshotEntry {
	e.snaps.mu.Lock()
	defer e.snaps.mu.Unlock()
	if e.snaps.m == nil {
		e.snaps.m = map[snapshotKey]*snapshotEntry{}
	}
	ent, ok := e.snaps.m[k]
	if !ok {
		ent = &snapshotEntry{}
		e.snaps.m[k] = ent
	}
	return ent
}

// Warm starts making the snapshot of source in the background, so that
// the first job does not wait for it: a run calls it as soon as it knows
// its source and that this executor runs its jobs, before it reads its
// pipelines and asks git about the event. What fails is left for Prepare,
// which reports it and tries again; Close stops a warm-up still running.
func (e *Executor) Warm(source string) {
	src, err := realDir(source)
	if err != nil {
		return
	}
	tmp, skip, err := e.tempDir(src)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.snaps.mu.Lock()
	e.snaps.warming = append(e.snaps.warming, cancel)
	e.snaps.mu.Unlock()
	// The entry exists before Warm returns: a Close after it waits for
	// the layer and removes it.
	ent := e.entry(snapshotKey{src, tmp, skip})
	go func() {
		defer cancel()
		// A copy's (or clone's) listing of the tree too: the overlay's
		// layer has made it already. (No snapshot: Close came first.)
		if snap, err := e.snapshotOnce(ctx, ent, src, tmp, skip); err == nil && snap != nil && snap.strategy != Overlay {
			_, _, _ = e.lists.list(ctx, src)
		}
	}()
}

// snapshot returns the snapshot of src for workspaces in tmp, making it
// at the first call: one per run, whatever the number of jobs.
func (e *Executor) snapshot(ctx context.Context, src, tmp, skip string) (*snapshot, error) {
	return e.snapshotOnce(ctx, e.entry(snapshotKey{src, tmp, skip}), src, tmp, skip)
}

func (e *Executor) snapshotOnce(ctx context.Context, ent *snapshotEntry, src, tmp, skip string) (*snapshot, error) {
	k := snapshotKey{src, tmp, skip}
	ent.once.Do(func() {
		ent.snap, ent.err = e.makeSnapshot(ctx, src, tmp, skip)
	})
	if ent.err != nil {
		// A cancelled or failed snapshot is not kept: the next Prepare
		// tries again.
		e.snaps.mu.Lock()
		if e.snaps.m[k] == ent {
			delete(e.snaps.m, k)
		}
		e.snaps.mu.Unlock()
	}
	return ent.snap, ent.err
}

func (e *Executor) makeSnapshot(ctx context.Context, src, tmp, skip string) (*snapshot, error) {
	s, why, err := e.probe(src, tmp, skip)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{strategy: s, why: why}
	if s != Overlay {
		return snap, nil
	}
	sweepLayers(tmp, e.opts.Logger)
	layer, err := os.MkdirTemp(tmp, fmt.Sprintf("%s%d-", layerPrefix, os.Getpid()))
	if err != nil {
		return nil, err
	}
	if err := buildLayer(ctx, src, layer, skip, e.opts.Logger, &e.lists); err != nil {
		_ = removeAll(layer)
		return nil, fmt.Errorf("overlay layer of %q: %w", src, err)
	}
	snap.layer = layer
	return snap, nil
}

// layerPrefix names the overlay layers in the temp directory, followed by
// the process id of the gantry that made them.
const layerPrefix = "gantry-layer-"

// sweepLayers removes the layers left in tmp by processes that have ended
// without Close: killed, or a library user that never calls it.
func sweepLayers(tmp string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, layerPrefix+"*"))
	for _, d := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), layerPrefix), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 || n == os.Getpid() || processAlive(n) {
			continue
		}
		log.Debug("removing a layer its process left", "dir", d)
		_ = removeAll(d)
	}
}

// choose picks the strategy for src and tmp: the forced one, when it can
// run here, or the cheapest that can.
func (e *Executor) choose(src, tmp, skip string) (Strategy, string, error) {
	want := e.opts.Workspace
	overlay := func() error {
		if skip != "" {
			return fmt.Errorf("%w: the temp directory %q is inside the source", errStrategy, tmp)
		}
		return probeOverlay(src, tmp)
	}
	reflink := func() error { return probeReflink(src, tmp) }
	switch want {
	case Overlay:
		if err := overlay(); err != nil {
			return 0, "", fmt.Errorf("--workspace=overlay: %w", err)
		}
		if unprivileged {
			return Overlay, "forced, without root: in its user namespace sudo does not work, renaming a directory that comes from the repository fails (EXDEV, as between filesystems), and a hard link to one of its files has another inode number", nil
		}
		return Overlay, "forced", nil
	case Reflink:
		if err := reflink(); err != nil {
			return 0, "", fmt.Errorf("--workspace=reflink: %w", err)
		}
		return Reflink, "forced", nil
	case Copy:
		return Copy, "forced", nil
	}
	var oerr error
	if unprivileged {
		// Not chosen for the user: its overlay cannot rename the
		// repository's directories (see userns_linux.go).
		oerr = fmt.Errorf("%w: without root, an overlay cannot rename the repository's directories (--workspace=overlay takes it anyway)", errStrategy)
	} else {
		oerr = overlay()
	}
	if oerr == nil {
		return Overlay, "", nil
	}
	rerr := reflink()
	if rerr == nil {
		return Reflink, "no overlay: " + reason(oerr), nil
	}
	return Copy, "no overlay: " + reason(oerr) + "; no reflink: " + reason(rerr), nil
}

// reason is an error's message without the sentinel's words.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), errStrategy.Error()+": ")
}

// Workspaces says which strategy the executor uses for workspaces of
// source, and why when it is not the first choice; it checks what the
// machine allows the first time and remembers it.
func (e *Executor) Workspaces(source string) (Strategy, string, error) {
	src, err := realDir(source)
	if err != nil {
		return 0, "", fmt.Errorf("source: %w", err)
	}
	tmp, skip, err := e.tempDir(src)
	if err != nil {
		return 0, "", err
	}
	return e.probe(src, tmp, skip)
}

// probe is choose, once per source and temp directory.
func (e *Executor) probe(src, tmp, skip string) (Strategy, string, error) {
	e.probes.mu.Lock()
	defer e.probes.mu.Unlock()
	k := snapshotKey{src, tmp, skip}
	if p, ok := e.probes.m[k]; ok {
		return p.s, p.why, p.err
	}
	s, why, err := e.choose(src, tmp, skip)
	if e.probes.m == nil {
		e.probes.m = map[snapshotKey]probe{}
	}
	e.probes.m[k] = probe{s, why, err}
	return s, why, err
}

type probe struct {
	s   Strategy
	why string
	err error
}

// Close removes what the executor's workspaces shared (the overlay
// layers). Call it once the run's workspaces are released; the executor
// makes new snapshots if it is used again.
func (e *Executor) Close() error {
	e.snaps.mu.Lock()
	m := e.snaps.m
	e.snaps.m = nil
	for _, cancel := range e.snaps.warming {
		cancel()
	}
	e.snaps.warming = nil
	e.snaps.mu.Unlock()
	var errs []error
	for _, ent := range m {
		ent.once.Do(func() {})
		if ent.snap != nil && ent.snap.layer != "" {
			if err := removeAll(ent.snap.layer); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// tempDir is where the workspaces of src are made, and the path of it
// relative to src when it is inside src ("" otherwise).
func (e *Executor) tempDir(src string) (tmp, skip string, err error) {
	tmp = e.opts.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", "", fmt.Errorf("temp directory: %w", err)
	}
	tmp, err = realDir(tmp)
	if err != nil {
		return "", "", fmt.Errorf("temp directory: %w", err)
	}
	// A temp directory inside the source holds other nodes' workspaces:
	// never copy it.
	if rel, ok := within(src, tmp); ok {
		if rel == "." {
			return "", "", fmt.Errorf("temp directory %q is the source directory", tmp)
		}
		skip = rel
	}
	return tmp, skip, nil
}

// probeDir makes a scratch directory in tmp for a probe.
func probeDir(tmp string) (string, func(), error) {
	dir, err := os.MkdirTemp(tmp, "gantry-probe-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = removeAll(dir) }, nil
}
