package host_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/internal/mounts"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/executortest"
	"github.com/gantry-ci/gantry/runner/host"
)

// TestStrategies runs this package's tests again with each workspace
// strategy forced (GANTRY_TEST_WORKSPACE), the plain run having used the
// cheapest: Copy always, Overlay where this machine allows it, Reflink on
// XFS and btrfs images made and loop-mounted for the purpose (as root,
// with mkfs.xfs and mkfs.btrfs), the tests' temp directories on them.
func TestStrategies(t *testing.T) {
	if os.Getenv("GANTRY_TEST_WORKSPACE") != "" {
		t.Skip("running with one strategy already")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tc := range []struct {
		strategy string
		fs       string // for the temp directory: "" for the default
		run      string
		// nobody runs the tests as uid and gid 65534 (from root): an
		// overlay without root, skipping the conformance cases it is
		// documented to differ in.
		nobody bool
		skip   string
	}{
		{strategy: "copy"},
		{strategy: "overlay"},
		{strategy: "overlay", nobody: true, skip: "|^TestConformance$/^(Rename|HardLink)$"},
		{strategy: "reflink", fs: "xfs"},
		{strategy: "reflink", fs: "btrfs", run: "^TestConformance$"},
	} {
		name := tc.strategy
		if tc.fs != "" {
			name += "-" + tc.fs
		}
		if tc.nobody {
			name += "-without-root"
		}
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			if tc.fs != "" {
				tmp = loopMount(t, tc.fs)
			}
			bin, pre := os.Args[0], []string(nil)
			if tc.nobody {
				tmp, bin, pre = asNobody(t)
			}
			s, err := host.ParseStrategy(tc.strategy)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.nobody {
				e := host.New(host.Options{TempDir: tmp, Workspace: s})
				src := filepath.Join(tmp, "probe-src")
				if err := os.Mkdir(src, 0o755); err != nil {
					t.Fatal(err)
				}
				if _, _, err := e.Workspaces(src); err != nil {
					t.Skipf("cannot run here: %v", err)
				}
			}
			args := append(pre, "-test.count=1", "-test.skip=^TestStrategies$"+tc.skip)
			if tc.run != "" {
				args = append(args, "-test.run="+tc.run)
			}
			if testing.Verbose() {
				args = append(args, "-test.v")
			}
			cmd := exec.CommandContext(t.Context(), bin, args...)
			cmd.Env = append(os.Environ(), "GANTRY_TEST_WORKSPACE="+tc.strategy, "TMPDIR="+tmp, "HOME="+tmp)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("the tests with --workspace=%s: %v\n%s", tc.strategy, err, out.String())
			}
			if testing.Verbose() {
				t.Log(out.String())
			}
		})
	}
}

// asNobody makes a temp directory for the tests run as uid and gid 65534
// (t.TempDir's parent is root's alone) and returns it with the program
// and arguments that run this test binary so: a copy of it that user can
// read (go test's build directory is root's too), under setpriv. It
// skips where that cannot run, or where the kernel gives that user no
// overlay (unprivileged user namespaces, Linux 5.11).
func asNobody(t *testing.T) (tmp, bin string, pre []string) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Getuid() != 0 {
		t.Skip("running the tests as another user needs root on Linux")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	tmp, err = os.MkdirTemp("", "gantry-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(tmp, "host.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	pre = []string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}
	// The kernel's answer, as that user.
	probe := exec.Command(setpriv, append(pre, "-test.run=^TestUnprivilegedOverlay$", "-test.count=1", "-test.v")...)
	probe.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp)
	out, err := probe.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("no overlay without root here:\n%s", out)
	}
	return tmp, setpriv, pre
}

// TestUnprivilegedOverlay: without root, --workspace=overlay works where
// the kernel allows unprivileged overlays, with the two differences
// docs/running.md names: rename(2) of a directory from the repository
// fails with EXDEV (mv copies it instead), and a hard link to a file of
// the repository has another inode number than the file, though it is
// the same file. --workspace=auto does not choose it.
func TestUnprivilegedOverlay(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("as root, overlays are made the privileged way (TestStrategies runs this as another user)")
	}
	t.Parallel()
	tmp := t.TempDir()
	src := executortest.Source(t)
	auto := host.New(host.Options{TempDir: tmp})
	if s, why, _ := auto.Workspaces(src); s == host.Overlay || !strings.Contains(why, "without root") {
		t.Errorf("auto chose %v (%q); want another strategy and why", s, why)
	}
	e := host.New(host.Options{TempDir: tmp, Workspace: host.Overlay})
	defer e.Close()
	s, why, err := e.Workspaces(src)
	if err != nil {
		t.Skipf("no overlay without root here: %v", err)
	}
	if s != host.Overlay || !strings.Contains(why, "EXDEV") {
		t.Errorf("forced: %v, %q; want overlay and the difference it makes", s, why)
	}
	ws, _ := executortest.Prepare(t, e, src)
	err = os.Rename(filepath.Join(ws.HostDir(), "sub"), filepath.Join(ws.HostDir(), "again"))
	if !errors.Is(err, syscall.EXDEV) {
		t.Errorf("rename(2) of a directory from the repository: %v, want EXDEV", err)
	}
	r := executortest.Sh(t.Context(), ws, `mv sub again && cat again/data.txt && ln hello.txt hard.txt && echo more >>hard.txt && cat hello.txt && id -u`)
	if want := "data\nhello\nmore\n" + strconv.Itoa(os.Getuid()) + "\n"; r.Code != 0 || r.Stdout != want {
		t.Errorf("mv, ln and id in the overlay: exit %d, %q (%s); want %q", r.Code, r.Stdout, r.Stderr, want)
	}
	if got, err := os.ReadFile(filepath.Join(src, "hello.txt")); err != nil || string(got) != "hello\n" {
		t.Errorf("the repository's file is now %q, %v", got, err)
	}
}

// loopMount makes a filesystem image of the kind and mounts it for the
// test, or skips saying why it cannot.
func loopMount(t *testing.T, kind string) string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Getuid() != 0 {
		t.Skipf("a loop-mounted %s image needs root on Linux", kind)
	}
	mkfs, err := exec.LookPath("mkfs." + kind)
	if err != nil {
		t.Skipf("mkfs.%s is not installed (apt-get install xfsprogs btrfs-progs)", kind)
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, kind+".img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: only what the tests write takes room.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	args := []string{"-q", img}
	if kind == "btrfs" {
		args = []string{"-q", "-f", img}
	}
	if out, err := exec.Command(mkfs, args...).CombinedOutput(); err != nil {
		t.Skipf("mkfs.%s: %v\n%s", kind, err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot loop-mount a %s image here: %v\n%s", kind, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt
}

func needOverlay(t *testing.T, tmp string) *host.Executor {
	t.Helper()
	e := host.New(host.Options{TempDir: tmp, KillGrace: time.Second, Workspace: host.Overlay})
	if _, _, err := e.Workspaces(t.TempDir()); err != nil {
		t.Skipf("no overlay here: %v", err)
	}
	return e
}

// TestOverlayMountsNothingOutside: a job's overlay is in a mount
// namespace of its own: the machine's never sees it, and after Release
// nothing of it is left, also with a process that left the job's process
// group (setsid) still running in it.
func TestOverlayMountsNothingOutside(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	e := needOverlay(t, tmp)
	defer e.Close()
	ws, _ := executortest.Prepare(t, e, "")
	if m, _ := mounts.Under(tmp); len(m) != 0 {
		t.Errorf("the machine's mount namespace has %v", m)
	}
	r := executortest.Sh(t.Context(), ws, `setsid sh -c 'cd sub && exec sleep 30' </dev/null >/dev/null 2>&1 & echo $!`)
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("exit %d, %v, %s", r.Code, r.Err, r.Stderr)
	}
	pid := strings.TrimSpace(r.Stdout)
	defer exec.Command("kill", "-9", pid).Run()
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if m, _ := mounts.Under(tmp); len(m) != 0 {
		t.Errorf("after Release the machine's mount namespace has %v", m)
	}
	// The escaped process's namespace no longer has the overlay either:
	// it was detached, the process keeps only its working directory.
	if b, err := os.ReadFile("/proc/" + pid + "/mountinfo"); err == nil && strings.Contains(string(b), tmp) {
		t.Errorf("the escaped process still sees a mount under %s", tmp)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("after Release and Close the temp directory has %v", left)
	}
}

// TestOverlayAsCopy: the overlay shows what the copy copies: the same
// names, types, modes, contents and links, in a repository with ignored,
// untracked, deleted and staged files, links and a submodule.
func TestOverlayAsCopy(t *testing.T) {
	t.Parallel()
	e := needOverlay(t, t.TempDir())
	defer e.Close()
	src := gitSource(t)
	write(t, filepath.Join(src, "vendor", "keep.txt"), "kept\n", 0o644)
	write(t, filepath.Join(src, ".gitignore"), "*.ignored\nignored-dir/\nvendor/\n", 0o644)
	git(t, src, "add", "-f", "vendor/keep.txt")
	write(t, filepath.Join(src, "vendor", "other.txt"), "ignored\n", 0o644)
	write(t, filepath.Join(src, "only-ignored", "x.ignored"), "ignored\n", 0o644)
	copyExec := host.New(host.Options{TempDir: t.TempDir(), Workspace: host.Copy})
	a, _ := executortest.Prepare(t, copyExec, src)
	b, _ := executortest.Prepare(t, e, src)
	hash := func(ws runner.Workspace) string {
		// .git differs in what git writes as it reads (the index's
		// stat data); the work tree must not.
		var keep []string
		for line := range strings.SplitSeq(executortest.TreeHash(t, ws.HostDir()), "\n") {
			if line != "" && !strings.HasPrefix(line, ".git") && !strings.HasPrefix(line, ". ") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, "\n")
	}
	if got, want := hash(b), hash(a); got != want {
		t.Errorf("the overlay shows:\n%s\nthe copy has:\n%s", got, want)
	}
	if got, want := status(t, b.Dir(), b), status(t, a.Dir(), a); got != want {
		t.Errorf("git status in the overlay:\n%s\nin the copy:\n%s", got, want)
	}
}

// TestForcedStrategyUnavailable: a forced strategy that cannot run here
// is an error that says why, at Workspaces and at Prepare.
func TestForcedStrategyUnavailable(t *testing.T) {
	t.Parallel()
	src := executortest.Source(t)
	tmp := filepath.Join(src, "tmp") // inside the source: no overlay
	e := host.New(host.Options{TempDir: tmp, Workspace: host.Overlay})
	if _, _, err := e.Workspaces(src); err == nil || !strings.Contains(err.Error(), "inside the source") {
		t.Errorf("Workspaces: %v; want an error saying the temp directory is inside the source", err)
	}
	if _, err := e.Prepare(t.Context(), nil, runner.WorkspaceSpec{Source: src, StateDir: t.TempDir()}); err == nil {
		t.Error("Prepare succeeded")
	}
	auto := host.New(host.Options{TempDir: tmp})
	// Without root, auto does not try an overlay: it says that instead.
	want := "inside the source"
	if os.Geteuid() != 0 {
		want = "without root"
	}
	if s, why, err := auto.Workspaces(src); err != nil || s == host.Overlay || !strings.Contains(why, want) {
		t.Errorf("auto: %v, %q, %v; want another strategy and why", s, why, err)
	}
}

func TestParseStrategy(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"auto", "overlay", "reflink", "copy"} {
		s, err := host.ParseStrategy(name)
		if err != nil || s.String() != name {
			t.Errorf("ParseStrategy(%q) = %v, %v", name, s, err)
		}
	}
	if _, err := host.ParseStrategy("fuse"); err == nil || !strings.Contains(err.Error(), `"fuse"`) {
		t.Errorf("ParseStrategy(fuse): %v", err)
	}
}

// TestOverlayLayersSwept: a layer left by a gantry that ended without
// Close (killed) is removed when the next run makes its own; one of a
// live process is kept.
func TestOverlayLayersSwept(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	e := needOverlay(t, tmp)
	defer e.Close()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(tmp, "gantry-layer-"+strconv.Itoa(dead.Process.Pid)+"-1")
	live := filepath.Join(tmp, "gantry-layer-1-2") // init's
	for _, d := range []string{stale, live} {
		write(t, filepath.Join(d, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	}
	executortest.Prepare(t, e, "")
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("the layer of ended process %d is still there", dead.Process.Pid)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the layer of a live process was removed: %v", err)
	}
}

// TestWarm: a snapshot started by Warm is the one the jobs use (one
// layer, made once), and Close, also while a warm-up is still running,
// leaves nothing in the temp directory.
func TestWarm(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	e := needOverlay(t, tmp)
	src := gitSource(t)
	e.Warm(src)
	layers := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "gantry-layer-*"))
		return m
	}
	a, _ := executortest.Prepare(t, e, src)
	b, _ := executortest.Prepare(t, e, src)
	if got := layers(); len(got) != 1 {
		t.Errorf("after Warm and two Prepares the temp directory has the layers %v, want one", got)
	}
	for _, ws := range []runner.Workspace{a, b} {
		if r := executortest.Sh(t.Context(), ws, "cat tool.sh"); r.Code != 0 || r.Stdout != "#!/bin/sh\necho tool\n" {
			t.Errorf("a job of the warmed snapshot: exit %d, %q, %s", r.Code, r.Stdout, r.Stderr)
		}
		if err := ws.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if got := layers(); len(got) != 0 {
		t.Errorf("after Close: %v", got)
	}

	// Close right after Warm: the warm-up is stopped or finished, its
	// layer removed either way.
	for range 20 {
		e := host.New(host.Options{TempDir: tmp, Workspace: host.Overlay})
		e.Warm(src)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("after Warm and Close at once, the temp directory has %v", left)
	}
}
