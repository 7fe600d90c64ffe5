package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gantry-ci/gantry/runner"
)

// defaultPath is the search path for a command whose environment has no
// PATH: the one container images default to.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// workspace is one node's view of the repository: a copy, or an overlay.
type workspace struct {
	root string // the temporary directory; dir is in it
	dir  string
	// ov is the overlay mounted at dir (Overlay): commands start on its
	// namespace's thread, and the host sees dir at ov.hostDir().
	ov    *overlayMount
	home  string // the job's HOME, in root
	state string
	// caches are the shared tool caches' variables.
	caches map[string]string
	grace  time.Duration
	log    *slog.Logger

	mu       sync.Mutex
	groups   []int // process groups with processes left after their Exec
	released bool  // processes ended; root may still need removing
	removed  bool
}

var _ runner.Workspace = (*workspace)(nil)

func (w *workspace) Dir() string      { return w.dir }
func (w *workspace) StateDir() string { return w.state }

// HostDir is where gantry's own code finds the workspace: dir, or for an
// overlay the same directory seen through its mount namespace's thread.
func (w *workspace) HostDir() string {
	if w.ov != nil {
		return w.ov.hostDir()
	}
	return w.dir
}

// mount makes dir the overlay of layer over src, the job's writes going
// to root/upper.
func (w *workspace) mount(src, layer string) error {
	upper, work := filepath.Join(w.root, ".gantry-upper"), filepath.Join(w.root, ".gantry-work")
	for _, d := range []string{upper, work, w.dir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	ov, err := mountOverlay(w.dir, upper, work, layer, src)
	if err != nil {
		return err
	}
	w.ov = ov
	return nil
}

// HomeDir is the job's own home directory: removed with the workspace.
func (w *workspace) HomeDir() string { return w.home }

// SharedCaches point Go's module and build caches at the executor's
// cache directory, shared by jobs and runs (both are safe for concurrent
// use), so that a fresh home does not mean a cold build.
func (w *workspace) SharedCaches() map[string]string { return w.caches }

// ConcurrentExec says that Exec may run commands side by side (background
// steps): each runs in its own process group.
func (w *workspace) ConcurrentExec() bool { return true }

// Exec runs c in its own process group with exactly c.Env. The program is
// looked up in c.Env's PATH (defaultPath when it has none), relative
// entries and a relative program with a slash being taken from c.Dir. When
// ctx is cancelled, the group gets SIGTERM, then SIGKILL after the grace
// period, and Exec returns the exit code with an error wrapping the cause.
// A process killed by a signal has exit code 128+signal. Processes a
// command leaves running in the background are ended by Release.
func (w *workspace) Exec(ctx context.Context, c runner.Command) (int, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return -1, errors.New("exec: empty command")
	}
	name := c.Argv[0]
	if !processGroups {
		return -1, fmt.Errorf("exec %q: %w", name, errNotSupported)
	}
	w.mu.Lock()
	released := w.released
	w.mu.Unlock()
	if released {
		return -1, fmt.Errorf("exec %q: workspace released", name)
	}
	if err := ctxErr(ctx); err != nil {
		return -1, fmt.Errorf("exec %q: %w", name, err)
	}

	dir := w.dir
	if c.Dir != "" {
		dir = c.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(w.dir, dir)
		}
	}
	var (
		cmd       *exec.Cmd
		serr      error
		cancelled atomic.Bool
		ended     = make(chan struct{})
	)
	// Looking the program up and starting it happen where the workspace
	// is seen: for an overlay, on its namespace's thread.
	start := func() {
		path := name
		if !strings.Contains(name, "/") {
			lookIn := dir
			if w.ov.enters() {
				lookIn = w.ov.seen(dir)
			}
			p, err := lookPath(name, c.Env, lookIn)
			if err != nil {
				serr = err
				return
			}
			path = p
			if rel, ok := strings.CutPrefix(p, lookIn+"/"); ok {
				path = filepath.Join(dir, rel)
			}
		}
		if w.ov.enters() {
			cmd, serr = w.entered(ctx, c, name, path, dir)
			if serr != nil {
				return
			}
		} else {
			cmd = exec.CommandContext(ctx, path, c.Argv[1:]...)
			cmd.Args[0] = name
			cmd.Dir = dir
		}
		// Never nil: a nil Env would inherit gantry's.
		cmd.Env = append([]string{}, c.Env...)
		cmd.Stdout = c.Stdout
		cmd.Stderr = c.Stderr
		cmd.SysProcAttr = sysProcAttr()
		cmd.Cancel = func() error {
			pgid := cmd.Process.Pid
			err := signalGroup(pgid, sigterm)
			if err != nil {
				// os.ErrProcessDone: it has ended on its own.
				return err
			}
			cancelled.Store(true)
			go func() {
				defer close(ended)
				endGroup(context.Background(), pgid, w.grace, false)
			}()
			return nil
		}
		// After cancellation: the group is SIGKILLed at the same moment.
		// After a normal exit: how long to wait for a background process
		// to close the command's output.
		cmd.WaitDelay = w.grace
		if err := cmd.Start(); err != nil {
			if cerr := ctxErr(ctx); cerr != nil {
				err = cerr
			}
			serr = fmt.Errorf("exec %q: %w", name, err)
		}
	}
	begin := time.Now()
	if w.ov != nil {
		if err := w.ov.do(start); err != nil {
			return -1, fmt.Errorf("exec %q: workspace released", name)
		}
	} else {
		start()
	}
	if serr != nil {
		return -1, serr
	}
	pgid := cmd.Process.Pid
	werr := cmd.Wait()
	if cancelled.Load() {
		<-ended
	}
	code := -1
	if cmd.ProcessState != nil {
		code = exitCode(cmd.ProcessState)
	}
	w.log.Debug("exec", "argv", c.Argv, "dir", dir, "exit", code, "took", time.Since(begin))

	if groupAlive(pgid) {
		w.mu.Lock()
		w.groups = append(w.groups, pgid)
		w.mu.Unlock()
	}
	var exitErr *exec.ExitError
	switch {
	case cancelled.Load():
		cause := ctxErr(ctx)
		if cause == nil {
			cause = context.Canceled
		}
		return code, fmt.Errorf("exec %q: cancelled: %w", name, cause)
	case werr == nil, errors.As(werr, &exitErr):
		return code, nil
	case errors.Is(werr, exec.ErrWaitDelay):
		w.log.Warn("output still open after the command exited: a background process holds it",
			"argv", c.Argv, "waited", w.grace)
		return code, nil
	default:
		// Copying the output failed.
		return code, fmt.Errorf("exec %q: %w", name, werr)
	}
}

// lookPath finds the program name in env's PATH as a shell would: an empty
// or relative entry is relative to dir.
func lookPath(name string, env []string, dir string) (string, error) {
	path, ok := searchPath(env)
	if !ok {
		path = defaultPath
	}
	for _, d := range filepath.SplitList(path) {
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %q: %w (PATH=%q)", name, exec.ErrNotFound, path)
}

// Release ends the processes the workspace's commands left running
// (SIGTERM, then SIGKILL after the grace period or when ctx is done) and
// removes the workspace. It is safe to call again, and on a nil workspace.
func (w *workspace) Release(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.released {
		w.released = true
		var wg sync.WaitGroup
		for _, pgid := range w.groups {
			wg.Go(func() {
				w.log.Debug("ending processes left running", "pgid", pgid)
				endGroup(ctx, pgid, w.grace, true)
			})
		}
		wg.Wait()
		w.groups = nil
		if w.ov != nil {
			// Lazily: a process that left its group (setsid) may still
			// be in the namespace; it keeps its view, nothing else does.
			if err := w.ov.unmount(); err != nil {
				return fmt.Errorf("release workspace: %w", err)
			}
		}
	}
	if w.removed {
		return nil
	}
	if err := removeAll(w.root); err != nil {
		return fmt.Errorf("release workspace: %w", err)
	}
	w.removed = true
	return nil
}

// entered is the command that runs c in dir in an overlay's namespaces
// through nsenter (an overlay without root; path is the program lookPath
// found, seen from the namespace). What starting it here would refuse —
// a missing directory, a program that cannot run — is refused before
// nsenter starts, which would only exit non-zero.
func (w *workspace) entered(ctx context.Context, c runner.Command, name, path, dir string) (*exec.Cmd, error) {
	if err := statErr(w.ov.seen(dir), fs.FileInfo.IsDir, syscall.ENOTDIR); err != nil {
		return nil, fmt.Errorf("exec %q: %w", name, &fs.PathError{Op: "chdir", Path: dir, Err: err})
	}
	// nsenter looks the program up again, in the job's PATH, so that it
	// gets name as its argv[0]; with no PATH, the path.
	prog := name
	if strings.Contains(name, "/") {
		if err := executable(w.ov.seen(absIn(dir, name))); err != nil {
			return nil, fmt.Errorf("exec %q: %w", name, &fs.PathError{Op: "fork/exec", Path: name, Err: err})
		}
	} else if _, ok := searchPath(c.Env); !ok {
		prog = path
	}
	argv := w.ov.enter(dir, append([]string{prog}, c.Argv[1:]...))
	return exec.CommandContext(ctx, argv[0], argv[1:]...), nil
}

// absIn is p, relative to dir when it is relative.
func absIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// executable is why the file at p cannot be executed, as execve says it
// (ENOENT, EACCES); nil when it can.
func executable(p string) error {
	return statErr(p, func(fi fs.FileInfo) bool { return fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 }, syscall.EACCES)
}

// statErr is why p is not what ok wants, as a system call would say it:
// the error of stat(2) (ENOENT, ...), else notOK; nil when it is.
func statErr(p string, ok func(fs.FileInfo) bool, notOK syscall.Errno) error {
	fi, err := os.Stat(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if !ok(fi) {
		return notOK
	}
	return nil
}

// searchPath is the PATH of env (the last one, as in exec.Cmd), and
// whether it has one.
func searchPath(env []string) (string, bool) {
	path, ok := "", false
	for _, kv := range env {
		if v, found := strings.CutPrefix(kv, "PATH="); found {
			path, ok = v, true
		}
	}
	return path, ok
}

// removeAll removes dir even when it holds directories without write
// permission, as `go mod download` makes.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
