package executortest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// Path is the PATH the suite's commands get: the usual directories of a
// container image, then the test process's own PATH for the host.
func Path() string {
	p := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if own := os.Getenv("PATH"); own != "" {
		p += ":" + own
	}
	return p
}

// Run runs the conformance suite against the executors newExecutor makes;
// it may be called once per subtest or share one executor. Subtests run in
// parallel.
func Run(t *testing.T, newExecutor func(t *testing.T) runner.Executor) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, e runner.Executor)
	}{
		{name: "Name", run: testName},
		{name: "Source", run: testSource},
		{name: "SourceUntouched", run: testSourceUntouched},
		{name: "StepsShareWorkspace", run: testStepsShareWorkspace},
		{name: "WorkspacesIsolated", run: testWorkspacesIsolated},
		{name: "Output", run: testOutput},
		{name: "LargeOutput", run: testLargeOutput},
		{name: "NilWriters", run: testNilWriters},
		{name: "EmptyStdin", run: testEmptyStdin},
		{name: "ExitCode", run: testExitCode},
		{name: "Env", run: testEnv},
		{name: "MissingProgram", run: testMissingProgram},
		{name: "WorkingDir", run: testWorkingDir},
		{name: "StateDir", run: testStateDir},
		{name: "HostDir", run: testHostDir},
		{name: "Cancel", run: testCancel},
		{name: "CancelledBeforeStart", run: testCancelledBeforeStart},
		{name: "PrepareCancelled", run: testPrepareCancelled},
		{name: "Release", run: testRelease},
		{name: "Concurrent", run: testConcurrent},
		{name: "InPlaceWrite", run: testInPlaceWrite},
		{name: "Delete", run: testDelete},
		{name: "Rename", run: testRename},
		{name: "HardLink", run: testHardLink},
		{name: "Symlink", run: testSymlink},
		{name: "Permissions", run: testPermissions},
		{name: "ReleaseWhileRunning", run: testReleaseWhileRunning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newExecutor(t))
		})
	}
}

// Source makes the repository the suite's workspaces copy: a plain
// directory with a file, a hidden file, an executable script in a
// subdirectory and a symbolic link.
func Source(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "hello.txt"), "hello\n", 0o644)
	write(t, filepath.Join(dir, ".hidden"), "hidden\n", 0o600)
	write(t, filepath.Join(dir, "sub", "data.txt"), "data\n", 0o644)
	write(t, filepath.Join(dir, "sub", "script.sh"), "#!/bin/sh\necho script \"$@\"\n", 0o755)
	if err := os.Symlink("hello.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t *testing.T, name, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// Prepare makes a workspace of source (Source(t) when ""), with a state
// directory that does not exist yet, and releases it when the test ends.
func Prepare(t *testing.T, e runner.Executor, source string) (runner.Workspace, runner.WorkspaceSpec) {
	t.Helper()
	if source == "" {
		source = Source(t)
	}
	spec := runner.WorkspaceSpec{
		Source:   source,
		StateDir: filepath.Join(t.TempDir(), "state", "node"),
	}
	n := &dag.Node{ID: "test (" + t.Name() + ")"}
	ws, err := e.Prepare(t.Context(), n, spec)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(func() {
		if err := ws.Release(context.Background()); err != nil {
			t.Errorf("Release: %v", err)
		}
	})
	return ws, spec
}

// Result is what a command did.
type Result struct {
	Stdout, Stderr string
	Code           int
	Err            error
}

// Env is the environment the suite's commands get: PATH and STATE (the
// workspace's state directory).
func Env(ws runner.Workspace, extra ...string) []string {
	return append([]string{"PATH=" + Path(), "STATE=" + ws.StateDir()}, extra...)
}

// Sh runs script with sh -c in the workspace's directory and Env.
func Sh(ctx context.Context, ws runner.Workspace, script string) Result {
	return Exec(ctx, ws, runner.Command{Argv: []string{"sh", "-c", script}, Env: Env(ws)})
}

// Exec runs c with buffers for its output.
func Exec(ctx context.Context, ws runner.Workspace, c runner.Command) Result {
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	code, err := ws.Exec(ctx, c)
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code, Err: err}
}

// MustSh runs script and fails the test unless it exits 0.
func MustSh(t *testing.T, ws runner.Workspace, script string) string {
	t.Helper()
	r := Sh(t.Context(), ws, script)
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("sh -c %q: exit %d, error %v\nstdout: %s\nstderr: %s", script, r.Code, r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

func testName(t *testing.T, e runner.Executor) {
	if name := e.Name(); name == "" {
		t.Error("Name() is empty")
	}
}

func testSource(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	for _, tc := range []struct {
		name, script, want string
	}{
		{name: "file", script: "cat hello.txt", want: "hello\n"},
		{name: "hidden file", script: "cat .hidden", want: "hidden\n"},
		{name: "file in a directory", script: "cat sub/data.txt", want: "data\n"},
		{name: "executable kept", script: "./sub/script.sh a b", want: "script a b\n"},
		{name: "symbolic link kept", script: "test -L link && cat link", want: "hello\n"},
		{name: "plain file not executable", script: "test -x hello.txt || echo no", want: "no\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MustSh(t, ws, tc.script); got != tc.want {
				t.Errorf("sh -c %q printed %q, want %q", tc.script, got, tc.want)
			}
		})
	}
}

func testSourceUntouched(t *testing.T, e runner.Executor) {
	src := Source(t)
	before := TreeHash(t, src)
	ws, _ := Prepare(t, e, src)
	MustSh(t, ws, `echo changed > hello.txt; rm sub/data.txt; chmod 600 sub/script.sh
rm link; ln -s sub link; echo new > new.txt; mkdir newdir`)
	if err := ws.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if after := TreeHash(t, src); after != before {
		t.Errorf("the source changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func testStepsShareWorkspace(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	MustSh(t, ws, "echo one > step1.txt && mkdir -p out && echo two > out/step1.txt")
	if got, want := MustSh(t, ws, "cat step1.txt out/step1.txt"), "one\ntwo\n"; got != want {
		t.Errorf("second step read %q, want %q", got, want)
	}
}

func testWorkspacesIsolated(t *testing.T, e runner.Executor) {
	src := Source(t)
	a, _ := Prepare(t, e, src)
	b, _ := Prepare(t, e, src)
	var wg sync.WaitGroup
	for i, ws := range []runner.Workspace{a, b} {
		wg.Go(func() {
			r := Sh(t.Context(), ws, fmt.Sprintf("echo %d > hello.txt && echo %d > own%d.txt", i, i, i))
			if r.Err != nil || r.Code != 0 {
				t.Errorf("workspace %d: exit %d, error %v, stderr %q", i, r.Code, r.Err, r.Stderr)
			}
		})
	}
	wg.Wait()
	if got := MustSh(t, a, "cat hello.txt; test -e own1.txt || echo isolated"); got != "0\nisolated\n" {
		t.Errorf("workspace 0 printed %q, want %q", got, "0\nisolated\n")
	}
	if got := MustSh(t, b, "cat hello.txt; test -e own0.txt || echo isolated"); got != "1\nisolated\n" {
		t.Errorf("workspace 1 printed %q, want %q", got, "1\nisolated\n")
	}
}

func testOutput(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	r := Sh(t.Context(), ws, "echo out; echo err >&2; printf 'no newline'")
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("exit %d, error %v", r.Code, r.Err)
	}
	if want := "out\nno newline"; r.Stdout != want {
		t.Errorf("stdout = %q, want %q", r.Stdout, want)
	}
	if want := "err\n"; r.Stderr != want {
		t.Errorf("stderr = %q, want %q", r.Stderr, want)
	}
}

func testLargeOutput(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	const n = 20000
	r := Sh(t.Context(), ws, fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done`, n))
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("exit %d, error %v", r.Code, r.Err)
	}
	for _, s := range []struct{ name, got, prefix string }{
		{name: "stdout", got: r.Stdout, prefix: "line"},
		{name: "stderr", got: r.Stderr, prefix: "err"},
	} {
		lines := strings.Split(strings.TrimSuffix(s.got, "\n"), "\n")
		if len(lines) != n || lines[n-1] != fmt.Sprintf("%s %d", s.prefix, n-1) {
			t.Errorf("%s has %d lines ending %q, want %d ending %q", s.name, len(lines), lines[len(lines)-1], n, fmt.Sprintf("%s %d", s.prefix, n-1))
		}
	}
}

func testNilWriters(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	code, err := ws.Exec(t.Context(), runner.Command{
		Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"},
		Env:  Env(ws),
	})
	if err != nil || code != 3 {
		t.Errorf("Exec with nil writers = %d, %v; want 3, nil", code, err)
	}
}

func testEmptyStdin(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r := Exec(ctx, ws, runner.Command{Argv: []string{"cat"}, Env: Env(ws)})
	if r.Err != nil || r.Code != 0 || r.Stdout != "" {
		t.Errorf("cat = exit %d, error %v, stdout %q; want 0, nil, empty", r.Code, r.Err, r.Stdout)
	}
}

func testExitCode(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	for _, tc := range []struct {
		name   string
		script string
		want   int
	}{
		{name: "success", script: "true", want: 0},
		{name: "failure", script: "false", want: 1},
		{name: "exit 42", script: "exit 42", want: 42},
		{name: "exit 255", script: "exit 255", want: 255},
		{name: "SIGKILL", script: "kill -KILL $$", want: 128 + 9},
		{name: "SIGTERM", script: "kill -TERM $$", want: 128 + 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Sh(t.Context(), ws, tc.script)
			if r.Err != nil {
				t.Fatalf("sh -c %q: error %v; a command that runs and fails is no error", tc.script, r.Err)
			}
			if r.Code != tc.want {
				t.Errorf("sh -c %q: exit %d, want %d", tc.script, r.Code, tc.want)
			}
		})
	}
}

func testEnv(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	env := []string{
		"PATH=" + Path(),
		"GANTRY_A=1",
		"GANTRY_SPACES=a b  c",
		"GANTRY_EQUALS=x=y",
		"GANTRY_EMPTY=",
		"GANTRY_QUOTES='\"$HOME\"",
	}
	r := Exec(t.Context(), ws, runner.Command{Argv: []string{"env"}, Env: env})
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("env: exit %d, error %v, stderr %q", r.Code, r.Err, r.Stderr)
	}
	got := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	slices.Sort(got)
	want := slices.Sorted(slices.Values(env))
	if !slices.Equal(got, want) {
		t.Errorf("the command's environment is not exactly Env\ngot:\n%s\nwant:\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func testMissingProgram(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	for _, name := range []string{"gantry-no-such-program", "./gantry-no-such-program", "/gantry/no/such/program"} {
		t.Run(name, func(t *testing.T) {
			r := Exec(t.Context(), ws, runner.Command{Argv: []string{name, "arg"}, Env: Env(ws)})
			if r.Err == nil {
				t.Fatalf("Exec(%q) = exit %d and no error, want an error", name, r.Code)
			}
			if !strings.Contains(r.Err.Error(), name) {
				t.Errorf("Exec(%q) error %q does not name the program", name, r.Err)
			}
		})
	}
}

func testWorkingDir(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	for _, tc := range []struct {
		name, dir, want string
	}{
		{name: "default", dir: "", want: ws.Dir()},
		{name: "relative", dir: "sub", want: path.Join(ws.Dir(), "sub")},
		{name: "absolute", dir: path.Join(ws.Dir(), "sub"), want: path.Join(ws.Dir(), "sub")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Exec(t.Context(), ws, runner.Command{Argv: []string{"sh", "-c", "pwd && ls"}, Env: Env(ws), Dir: tc.dir})
			if r.Err != nil || r.Code != 0 {
				t.Fatalf("exit %d, error %v, stderr %q", r.Code, r.Err, r.Stderr)
			}
			if got, _, _ := strings.Cut(r.Stdout, "\n"); got != tc.want {
				t.Errorf("working directory %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		r := Exec(t.Context(), ws, runner.Command{Argv: []string{"true"}, Env: Env(ws), Dir: "no-such-dir"})
		if r.Err == nil && r.Code == 0 {
			t.Error("Exec in a missing directory succeeded")
		}
	})
}

func testStateDir(t *testing.T, e runner.Executor) {
	ws, spec := Prepare(t, e, "")
	if fi, err := os.Stat(spec.StateDir); err != nil || !fi.IsDir() {
		t.Fatalf("Prepare did not create the state directory: %v", err)
	}
	write(t, filepath.Join(spec.StateDir, "in.txt"), "from host\n", 0o644)
	if got := MustSh(t, ws, `cat "$STATE/in.txt"; echo from step > "$STATE/out.txt"`); got != "from host\n" {
		t.Errorf("the step read %q from the state directory, want %q", got, "from host\n")
	}
	b, err := os.ReadFile(filepath.Join(spec.StateDir, "out.txt"))
	if err != nil {
		t.Fatalf("the step's file is not in the state directory on the host: %v", err)
	}
	if string(b) != "from step\n" {
		t.Errorf("the host read %q, want %q", b, "from step\n")
	}
}

func testHostDir(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	if ws.HostDir() == "" {
		t.Skip("the workspace is not on the host")
	}
	MustSh(t, ws, "echo artifact > artifact.txt")
	for name, want := range map[string]string{"hello.txt": "hello\n", "artifact.txt": "artifact\n"} {
		b, err := os.ReadFile(filepath.Join(ws.HostDir(), name))
		if err != nil || string(b) != want {
			t.Errorf("%s in HostDir: %q, %v; want %q", name, b, err, want)
		}
	}
}

// signalWriter closes seen when what it is written contains want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

// StartSignal returns a writer, and a channel closed once what is written
// to it contains want.
func StartSignal(want string) (io.Writer, <-chan struct{}) {
	seen := make(chan struct{})
	return &signalWriter{want: want, seen: seen}, seen
}

func testCancel(t *testing.T, e runner.Executor) {
	ws, spec := Prepare(t, e, "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, started := StartSignal("started")
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// The background child would write its file after a second:
		// cancelling must end it too, not only the shell.
		code, err := ws.Exec(ctx, runner.Command{
			Argv: []string{"sh", "-c", `(sleep 1; echo survived > "$STATE/survivor") &
sleep 100 &
echo started
sleep 100
wait`},
			Env:    Env(ws),
			Stdout: out,
		})
		done <- result{code, err}
	}()
	select {
	case <-started:
	case r := <-done:
		t.Fatalf("the command ended before it was cancelled: exit %d, error %v", r.code, r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not start in 30s")
	}
	cancelled := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return 10s after its context was cancelled")
	}
	if took := time.Since(cancelled); took > 3*time.Second {
		t.Errorf("Exec returned %v after its context was cancelled; want it prompt", took)
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Exec of a cancelled command: exit %d, error %v; want an error wrapping context.Canceled", r.code, r.err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(spec.StateDir, "survivor")); err == nil {
		t.Error("a background child of the cancelled command survived")
	}
}

func testCancelledBeforeStart(t *testing.T, e runner.Executor) {
	ws, spec := Prepare(t, e, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := Sh(ctx, ws, `echo ran > "$STATE/ran"`)
	if r.Err == nil {
		t.Errorf("Exec with a cancelled context = exit %d and no error", r.Code)
	}
	if _, err := os.Stat(filepath.Join(spec.StateDir, "ran")); err == nil {
		t.Error("the command ran although its context was cancelled")
	}
}

func testPrepareCancelled(t *testing.T, e runner.Executor) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	spec := runner.WorkspaceSpec{Source: Source(t), StateDir: t.TempDir()}
	ws, err := e.Prepare(ctx, &dag.Node{ID: "cancelled"}, spec)
	if err == nil {
		ws.Release(context.Background())
		t.Fatal("Prepare with a cancelled context succeeded")
	}
}

func testRelease(t *testing.T, e runner.Executor) {
	ws, _ := Prepare(t, e, "")
	MustSh(t, ws, "mkdir -p ro/deep && echo x > ro/deep/f && chmod -R a-w ro")
	for i := range 3 {
		if err := ws.Release(t.Context()); err != nil {
			t.Fatalf("Release #%d: %v", i+1, err)
		}
	}
	if dir := ws.HostDir(); dir != "" {
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("HostDir %q is still there after Release: %v", dir, err)
		}
	}
	if r := Sh(t.Context(), ws, "true"); r.Err == nil {
		t.Errorf("Exec after Release = exit %d and no error", r.Code)
	}
}

// TreeHash describes everything below dir (names, types, permissions,
// contents, link targets) as text, one line per entry, for comparing a
// tree before and after.
func TreeHash(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		var what string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			what = "-> " + target
		case fi.Mode().IsRegular():
			content, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(content)
			what = hex.EncodeToString(sum[:8]) + " " + strconv.Itoa(len(content))
		}
		fmt.Fprintf(&b, "%s %v %s\n", filepath.ToSlash(rel), fi.Mode(), what)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// testConcurrent runs two commands side by side, as background steps do,
// where the workspace says it can: the second ends while the first still
// runs, and a third sees the files both wrote, changed and removed, in
// the workspace and in the state directory.
func testConcurrent(t *testing.T, e runner.Executor) {
	ws, spec := Prepare(t, e, "")
	if c, ok := ws.(runner.ConcurrentExec); !ok || !c.ConcurrentExec() {
		t.Skipf("the %s executor runs one command at a time", e.Name())
	}
	// A value of this test's own: a cached result of an earlier run would
	// end at once.
	nonce := "NONCE=" + strconv.FormatInt(time.Now().UnixNano(), 10)
	done := make(chan Result, 1)
	go func() {
		done <- Exec(t.Context(), ws, runner.Command{Argv: []string{"sh", "-c", `sleep 3; echo a > a.txt; echo changed > hello.txt; echo a > "$STATE/a"`}, Env: Env(ws, nonce)})
	}()
	MustSh(t, ws, `echo b > b.txt; rm sub/data.txt; echo b > "$STATE/b"`)
	select {
	case r := <-done:
		t.Fatalf("the first command (3 s) ended before the second did (exit %d, %v): they did not run side by side", r.Code, r.Err)
	default:
	}
	if r := <-done; r.Err != nil || r.Code != 0 {
		t.Fatalf("the first command: exit %d, error %v, stderr %s", r.Code, r.Err, r.Stderr)
	}
	got := MustSh(t, ws, `cat a.txt b.txt hello.txt; test -e sub/data.txt && echo data.txt is back; cat sub/script.sh >/dev/null && echo kept`)
	if want := "a\nb\nchanged\nkept\n"; got != want {
		t.Errorf("after both commands the workspace reads %q; want %q", got, want)
	}
	for _, f := range []string{"a", "b"} {
		if data, err := os.ReadFile(filepath.Join(spec.StateDir, f)); err != nil || string(data) != f+"\n" {
			t.Errorf("state file %s: %q, %v; want %q", f, data, err, f+"\n")
		}
	}
}

// untouched prepares two workspaces of one source, runs script in the
// first, checks what it printed, that the second still reads the source
// as it was, and after releasing both that the source is unchanged:
// whatever a copy-on-write view does, writes stay in their workspace.
func untouched(t *testing.T, e runner.Executor, script, want string) runner.Workspace {
	t.Helper()
	src := Source(t)
	before := TreeHash(t, src)
	ws, _ := Prepare(t, e, src)
	other, _ := Prepare(t, e, src)
	if got := MustSh(t, ws, script); got != want {
		t.Errorf("sh -c %q printed:\n%s\nwant:\n%s", script, got, want)
	}
	const check = `cat hello.txt sub/data.txt; ls -A . sub; readlink link; stat -c '%a' hello.txt .hidden sub/script.sh`
	const pristine = "hello\ndata\n.:\n.hidden\nhello.txt\nlink\nsub\n\nsub:\ndata.txt\nscript.sh\nhello.txt\n644\n600\n755\n"
	if got := MustSh(t, other, check); got != pristine {
		t.Errorf("another workspace of the same source reads:\n%s\nwant it as the source is:\n%s", got, pristine)
	}
	t.Cleanup(func() {
		if after := TreeHash(t, src); after != before {
			t.Errorf("the source changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
	return ws
}

// testInPlaceWrite: writes into files that came from the source, in the
// middle, at the end and truncating, are seen by later commands.
func testInPlaceWrite(t *testing.T, e runner.Executor) {
	ws := untouched(t, e, `printf J | dd of=hello.txt bs=1 seek=0 conv=notrunc 2>/dev/null
echo more >> sub/data.txt
: > .hidden
cat hello.txt sub/data.txt; wc -c < .hidden`, "Jello\ndata\nmore\n0\n")
	if got, want := MustSh(t, ws, "cat hello.txt link"), "Jello\nJello\n"; got != want {
		t.Errorf("a later command reads %q, want %q", got, want)
	}
}

// testDelete: files and directories of the source can be removed, stay
// removed, and a directory made again in a removed one's place is empty.
func testDelete(t *testing.T, e runner.Executor) {
	ws := untouched(t, e, `rm hello.txt .hidden && rm -r sub
ls -A; test -e sub/data.txt || echo gone
mkdir sub && ls -A sub && echo made`, "link\ngone\nmade\n")
	if got, want := MustSh(t, ws, "ls -A; ls -A sub; test -e link || echo dangling"), "link\nsub\ndangling\n"; got != want {
		t.Errorf("a later command sees %q, want %q", got, want)
	}
}

// testRename: files and directories of the source can be renamed, over
// other files too; where the workspace is on the host, with rename(2)
// itself too (mv falls back to copying when it fails).
func testRename(t *testing.T, e runner.Executor) {
	ws := untouched(t, e, `mv hello.txt renamed.txt && cp -R sub sub2 && mv sub2 moved && mv moved/data.txt moved/script.sh
cat renamed.txt moved/script.sh; ls -A moved`, "hello\ndata\nscript.sh\n")
	dir := ws.HostDir()
	if dir == "" {
		return
	}
	if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "again")); err != nil {
		t.Errorf("rename(2) of a directory from the source: %v", err)
	}
	if err := os.Rename(filepath.Join(dir, ".hidden"), filepath.Join(dir, "renamed.txt")); err != nil {
		t.Errorf("rename(2) of a file over another: %v", err)
	}
	if got, want := MustSh(t, ws, "cat again/data.txt renamed.txt; ls -A; ls -A again"), "data\nhidden\nagain\nlink\nmoved\nrenamed.txt\ndata.txt\nscript.sh\n"; got != want {
		t.Errorf("after renaming on the host the workspace reads %q, want %q", got, want)
	}
}

// testHardLink: a hard link to a file of the source is the same file: a
// write through one name is read through the other.
func testHardLink(t *testing.T, e runner.Executor) {
	untouched(t, e, `ln hello.txt hard.txt && echo more >> hard.txt
cat hello.txt; test hello.txt -ef hard.txt && echo same; stat -c %h hello.txt
ln sub/script.sh sub/s2 && rm sub/script.sh && ./sub/s2 x`, "hello\nmore\nsame\n2\nscript x\n")
}

// testSymlink: links of the source can be followed, replaced and
// removed; new ones to files, directories and nothing are links.
func testSymlink(t *testing.T, e runner.Executor) {
	untouched(t, e, `cat link; ln -sfn sub link && cat link/data.txt; readlink link
ln -s sub/data.txt l2 && cat l2; ln -s missing l3 && test -L l3 && ! test -e l3 && echo dangling
echo through > link/new.txt && cat sub/new.txt; rm link && test -d sub && echo kept`,
		"hello\ndata\nsub\ndata\ndangling\nthrough\nkept\n")
}

// testPermissions: modes of the source are kept, can be changed (files and
// directories), and new files follow the command's umask.
func testPermissions(t *testing.T, e runner.Executor) {
	ws := untouched(t, e, `stat -c %a hello.txt .hidden sub/script.sh
chmod 755 hello.txt && chmod 600 sub/script.sh && chmod 700 sub && chmod u+s hello.txt
umask 027 && echo x > new && mkdir newdir
stat -c %a hello.txt sub/script.sh sub new newdir; test -x hello.txt && echo runs`,
		"644\n600\n755\n4755\n600\n700\n640\n750\nruns\n")
	// Removing the workspace copes with what the job took write
	// permission from.
	MustSh(t, ws, "chmod 000 hello.txt && chmod 500 sub")
}

// testReleaseWhileRunning: processes a command left running (still in
// its process group, one with its working directory in the workspace)
// when the node ends are ended by Release, which then removes the
// workspace; nothing they would have done later happens.
func testReleaseWhileRunning(t *testing.T, e runner.Executor) {
	ws, spec := Prepare(t, e, "")
	if c, ok := ws.(runner.ConcurrentExec); !ok || !c.ConcurrentExec() {
		t.Skipf("the %s executor runs one command at a time", e.Name())
	}
	nonce := "NONCE=" + strconv.FormatInt(time.Now().UnixNano(), 10)
	r := Exec(t.Context(), ws, runner.Command{
		Argv: []string{"sh", "-c", `(cd sub && exec sleep 60) >/dev/null 2>&1 &
(sleep 2; echo late > "$STATE/late"; echo late > late.txt) >/dev/null 2>&1 &
echo started`},
		Env: Env(ws, nonce),
	})
	if r.Err != nil || r.Code != 0 || r.Stdout != "started\n" {
		t.Fatalf("exit %d, error %v, stdout %q, stderr %q", r.Code, r.Err, r.Stdout, r.Stderr)
	}
	start := time.Now()
	if err := ws.Release(t.Context()); err != nil {
		t.Fatalf("Release with processes running: %v", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("Release took %v", took)
	}
	if dir := ws.HostDir(); dir != "" {
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("HostDir %q is still there after Release: %v", dir, err)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(spec.StateDir, "late")); err == nil {
		t.Error("a process left running outlived Release")
	}
	// The executor is as good as before.
	again, _ := Prepare(t, e, "")
	if got := MustSh(t, again, "cat hello.txt"); got != "hello\n" {
		t.Errorf("a workspace prepared after printed %q", got)
	}
}
