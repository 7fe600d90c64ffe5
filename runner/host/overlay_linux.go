package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// mountNS is a mount namespace of a job's own, held by an OS thread kept
// for it. Mounts made in it are seen by that thread and the processes it
// starts, never by the rest of the machine, gantry's other threads
// included; when the thread ends and the job's last process has exited,
// the kernel unmounts whatever is left, so nothing stays mounted after a
// run, even one that was killed.
//
// Why a thread and not a helper process: a helper would have to start
// each of the job's commands and relay their I/O and exit status, and
// gantry's own code (artifacts, hashFiles, local actions) would still need
// a way in. A thread unshares its own mount namespace (with CLONE_FS) in
// a multithreaded process, the processes it forks inherit it, and the
// rest of gantry reaches the workspace through /proc/PID/task/TID/root.
// Go starts new threads from a template thread while one is locked like
// this, so no other thread ends up in the namespace.
type mountNS struct {
	tid  int
	fns  chan func()
	done chan struct{}

	mu     sync.Mutex
	closed bool
}

func newMountNS() (*mountNS, error) {
	ns := &mountNS{fns: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	go ns.run(errc)
	if err := <-errc; err != nil {
		<-ns.done
		return nil, err
	}
	return ns, nil
}

// run is the namespace's thread. It is never the process's main thread:
// /proc/self names the main thread's view of the machine, which must stay
// the machine's, and Go cannot end the main thread when a goroutine
// locked to it returns (it parks it, in the namespace, for good).
func (ns *mountNS) run(errc chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// Hold the main thread until another goroutine, which cannot
		// run on it while it is locked here, has a thread of its own.
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(started)
			ns.run(errc)
		}()
		<-started
		runtime.UnlockOSThread()
		return
	}
	// Never unlocked: the thread ends with this goroutine, rather than
	// going back to Go's pool in another namespace.
	func() {
		defer close(ns.done)
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("%w: unshare the mount namespace: %v", errStrategy, err)
			return
		}
		// Without this, mounts would propagate to the machine's
		// namespace, / being shared under systemd.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- fmt.Errorf("%w: make the mount namespace private: %v", errStrategy, err)
			return
		}
		ns.tid = unix.Gettid()
		errc <- nil
		for f := range ns.fns {
			f()
		}
	}()
}

// do runs f on the namespace's thread: its system calls see the
// namespace's mounts, and processes it starts are in the namespace.
func (ns *mountNS) do(f func()) error {
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return errors.New("mount namespace closed")
	}
	ran := make(chan struct{})
	ns.fns <- func() { defer close(ran); f() }
	ns.mu.Unlock()
	<-ran
	return nil
}

// close ends the namespace's thread; safe to call again.
func (ns *mountNS) close() {
	ns.mu.Lock()
	if !ns.closed {
		ns.closed = true
		close(ns.fns)
	}
	ns.mu.Unlock()
	<-ns.done
}

// hostPath is where the namespace's path p is seen from the rest of
// gantry.
func (ns *mountNS) hostPath(p string) string {
	return fmt.Sprintf("/proc/%d/task/%d/root%s", os.Getpid(), ns.tid, p)
}

// overlayMount is a job's overlay: its view of the source at dir, its own
// writes in upper. As root it is in a mount namespace held by a thread
// (ns); without, in a user namespace held by a helper process (helper).
type overlayMount struct {
	ns     *mountNS
	helper *nsHelper
	dir    string
}

// mountOverlay mounts at dir, in a mount namespace of its own, the
// overlay of lower directories (uppermost first) with upper and work (on
// one filesystem, empty).
func mountOverlay(dir, upper, work string, lower ...string) (*overlayMount, error) {
	data, err := overlayData(upper, work, lower)
	if err != nil {
		return nil, err
	}
	if unprivileged {
		h, err := startHelper(dir, data)
		if err != nil {
			return nil, err
		}
		return &overlayMount{helper: h, dir: dir}, nil
	}
	ns, err := newMountNS()
	if err != nil {
		return nil, err
	}
	var merr error
	if err := ns.do(func() { merr = unix.Mount("overlay", dir, "overlay", 0, data) }); err != nil {
		merr = err
	}
	if merr != nil {
		ns.close()
		return nil, fmt.Errorf("%w: mount an overlay: %v", errStrategy, merr)
	}
	return &overlayMount{ns: ns, dir: dir}, nil
}

// overlayData is the mount's options. redirect_dir lets steps rename
// directories that come from the source, as on any filesystem; without
// it rename(2) fails with EXDEV.
func overlayData(upper, work string, lower []string) (string, error) {
	for _, p := range append([]string{upper, work}, lower...) {
		if strings.ContainsAny(p, ",:\\") {
			return "", fmt.Errorf("%w: the path %q has a comma, colon or backslash, which overlay options cannot hold", errStrategy, p)
		}
	}
	data := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if unprivileged {
		// Not redirect_dir: the kernel refuses it with userxattr.
		return data + ",userxattr", nil
	}
	return data + ",redirect_dir=on", nil
}

// do runs f where the overlay is seen: on its namespace's thread; for a
// helper's overlay, here (its commands go through enter).
func (m *overlayMount) do(f func()) error {
	if m.helper != nil {
		f()
		return nil
	}
	return m.ns.do(f)
}

// enters says whether the job's commands enter the overlay's namespaces
// through nsenter (enter), where do cannot take them: a helper's.
func (m *overlayMount) enters() bool { return m != nil && m.helper != nil }

// enter is the command line that runs argv in a helper's namespaces, in
// dir.
func (m *overlayMount) enter(dir string, argv []string) []string { return m.helper.enter(dir, argv) }

// seen is where gantry sees the namespace's path p.
func (m *overlayMount) seen(p string) string {
	if m.helper != nil {
		return m.helper.hostPath(p)
	}
	return m.ns.hostPath(p)
}

// hostDir is the overlay as the rest of gantry sees it.
func (m *overlayMount) hostDir() string { return m.seen(m.dir) }

// unmount detaches the overlay (processes of the job that are still
// running keep their view until they end) and ends the namespace's
// thread.
func (m *overlayMount) unmount() error {
	if m.helper != nil {
		return m.helper.stop()
	}
	var uerr error
	if err := m.ns.do(func() { uerr = unix.Unmount(m.dir, unix.MNT_DETACH) }); err != nil {
		return nil // closed already
	}
	m.ns.close()
	if uerr != nil && !errors.Is(uerr, unix.EINVAL) {
		return fmt.Errorf("unmount %s: %w", m.dir, uerr)
	}
	return nil
}

// probeOverlay checks that a job's overlay can be made here: a mount
// namespace, an overlay with src as its lowest layer and its upper
// directory in tmp, whiteouts and opaque directories in a layer in tmp.
func probeOverlay(src, tmp string) error {
	dir, cleanup, err := probeDir(tmp)
	if err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	defer cleanup()
	layer, upper, work, merged := filepath.Join(dir, "layer"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{layer, upper, work, merged, filepath.Join(layer, "opaque")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("%w: %v", errStrategy, err)
		}
	}
	if err := whiteout(filepath.Join(layer, "hidden")); err != nil {
		return err
	}
	if err := opaque(filepath.Join(layer, "opaque")); err != nil {
		return err
	}
	m, err := mountOverlay(merged, upper, work, layer, src)
	if err != nil {
		return err
	}
	return m.unmount()
}

// whiteout makes a whiteout at path: in an overlay, it hides what the
// layers below hold at the same path.
func whiteout(path string) error {
	if err := unix.Mknod(path, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("%w: make a whiteout: %v", errStrategy, &fs.PathError{Op: "mknod", Path: path, Err: err})
	}
	return nil
}

// opaque marks the directory dir of a layer opaque: in an overlay, it
// hides the directories below it at the same path rather than merging
// with them.
func opaque(dir string) error {
	name := "trusted.overlay.opaque"
	if unprivileged {
		name = "user.overlay.opaque"
	}
	if err := unix.Setxattr(dir, name, []byte("y"), 0); err != nil {
		return fmt.Errorf("%w: mark a directory opaque: %v", errStrategy, &fs.PathError{Op: "setxattr", Path: dir, Err: err})
	}
	return nil
}

// buildLayer makes, in the empty directory layer, the overlay layer that
// sits between the source and each job's writes, so that the overlay
// shows what copyRepo would copy: whiteouts over what the listing leaves
// out (ignored files, .gantry, the directory skip), and for the source
// and each nested repository a git directory of its own (copyGitDir)
// over the source's.
func buildLayer(ctx context.Context, src, layer, skip string, log *slog.Logger, lists *listingCache) error {
	hide := []string{".gantry"}
	if skip != "" {
		hide = append(hide, skip)
	}
	return layerRepo(ctx, src, layer, hide, log, lists)
}

func layerRepo(ctx context.Context, src, dst string, hide []string, log *slog.Logger, lists *listingCache) error {
	// The ignored files are listed beside the listing (which is two git
	// processes itself): this is on the first job's critical path.
	type ignoredList struct {
		ran   bool
		paths []string
		err   error
	}
	ig := make(chan ignoredList, 1)
	go func() {
		var l ignoredList
		if _, err := os.Lstat(filepath.Join(src, ".git")); err == nil || repoAbove(src) {
			l.ran = true
			l.paths, l.err = gitIgnored(ctx, src)
		}
		ig <- l
	}()
	repo, paths, err := lists.list(ctx, src)
	ignored := <-ig
	if err != nil {
		return err
	}
	l := &layerMaker{src: src, dst: dst, real: map[string]bool{".": true}}
	if repo != nil {
		if !ignored.ran {
			ignored.paths, ignored.err = gitIgnored(ctx, src)
		}
		if ignored.err != nil {
			return ignored.err
		}
		hide = append(hide, ignored.paths...)
		if repo.top == src {
			// The source's .git (a directory, or a file in a linked
			// work tree or submodule) is replaced by a copy of its
			// own.
			git := filepath.Join(dst, ".git")
			if err := copyGitDir(ctx, repo, git, log); err != nil {
				return fmt.Errorf("copy git metadata of %q: %w", src, err)
			}
			if err := opaque(git); err != nil {
				return err
			}
		} else {
			hide = append(hide, ".git")
		}
	} else {
		gits, err := gitDirs(src)
		if err != nil {
			return err
		}
		hide = append(hide, gits...)
	}
	// Listed paths that copyRepo would not copy as they are: special
	// files (hidden) and nested repositories (copied as repositories).
	var nested []string
	for i, rel := range paths {
		if i%256 == 0 {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		if !l.realDir(filepath.Dir(rel)) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(src, rel))
		if err != nil {
			continue
		}
		switch mode := fi.Mode(); {
		case mode.IsRegular(), mode&fs.ModeSymlink != 0:
		case mode.IsDir():
			if repo != nil {
				if _, err := os.Lstat(filepath.Join(src, rel, ".git")); err == nil {
					nested = append(nested, rel)
				}
			}
		default:
			hide = append(hide, rel)
		}
	}
	slices.Sort(hide)
	var last string
	for _, rel := range hide {
		rel = filepath.Clean(rel)
		if last != "" && under(rel, last) {
			continue // below a path hidden already
		}
		if _, err := os.Lstat(filepath.Join(src, rel)); err != nil {
			continue // nothing to hide
		}
		if err := l.mkdirs(filepath.Dir(rel)); err != nil {
			return err
		}
		if err := whiteout(filepath.Join(dst, rel)); err != nil {
			return err
		}
		last = rel
	}
	for _, rel := range nested {
		if err := l.mkdirs(rel); err != nil {
			return err
		}
		if err := layerRepo(ctx, filepath.Join(src, rel), filepath.Join(dst, rel), nil, log, lists); err != nil {
			return err
		}
	}
	return nil
}

// layerMaker makes a layer's directories as the source has them: the
// overlay shows a directory with the mode and owner of the uppermost
// layer that has it.
type layerMaker struct {
	src, dst string
	real     map[string]bool
}

func (l *layerMaker) mkdirs(rel string) error {
	if rel == "." {
		return nil
	}
	if err := l.mkdirs(filepath.Dir(rel)); err != nil {
		return err
	}
	d := filepath.Join(l.dst, rel)
	if _, err := os.Lstat(d); err == nil {
		return nil
	}
	fi, err := os.Lstat(filepath.Join(l.src, rel))
	if err != nil {
		return err
	}
	if err := os.Mkdir(d, 0o700); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		if err := os.Lchown(d, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(d, fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky))
}

// realDir reports whether the source directory rel and its parents are
// directories, not symbolic links.
func (l *layerMaker) realDir(rel string) bool {
	if ok, seen := l.real[rel]; seen {
		return ok
	}
	ok := l.realDir(filepath.Dir(rel))
	if ok {
		fi, err := os.Lstat(filepath.Join(l.src, rel))
		ok = err == nil && fi.IsDir()
	}
	l.real[rel] = ok
	return ok
}

// repoAbove reports whether a directory above dir has a .git: dir may be
// in a work tree without being its top.
func repoAbove(dir string) bool {
	for d := filepath.Dir(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
	}
	return false
}

// gitIgnored lists a work tree's ignored files and directories (a
// directory once, not what is in it).
func gitIgnored(ctx context.Context, dir string) ([]string, error) {
	out, err := runGit(ctx, dir, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory")
	if err != nil {
		return nil, err
	}
	var paths []string
	for p := range strings.SplitSeq(string(out), "\x00") {
		if p != "" {
			paths = append(paths, filepath.FromSlash(strings.TrimSuffix(p, "/")))
		}
	}
	return paths, nil
}

// gitDirs lists the .git directories and files below a directory that is
// not a git work tree.
func gitDirs(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" && path != dir {
			paths = append(paths, path[len(dir)+1:])
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return paths, err
}
