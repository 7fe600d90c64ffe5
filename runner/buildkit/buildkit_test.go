package buildkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
	controlapi "github.com/moby/buildkit/api/services/control"
)

// newExecutor connects to the daemon of BUILDKIT_HOST with the busybox
// root filesystem of GANTRY_TEST_ROOTFS as the default image (both set by
// scripts/buildkit-up). Without them the test skips, unless
// GANTRY_REQUIRE_BUILDKIT is set, as in CI, where it fails.
func newExecutor(t *testing.T, opts buildkit.Options) *buildkit.Executor {
	t.Helper()
	required := os.Getenv("GANTRY_REQUIRE_BUILDKIT") != ""
	rootfs := os.Getenv("GANTRY_TEST_ROOTFS")
	if rootfs == "" || os.Getenv("BUILDKIT_HOST") == "" {
		if required {
			t.Fatal("GANTRY_REQUIRE_BUILDKIT is set but BUILDKIT_HOST or GANTRY_TEST_ROOTFS is not: run eval \"$(scripts/buildkit-up)\"")
		}
		t.Skip("no BuildKit daemon (eval \"$(scripts/buildkit-up)\" starts one)")
	}
	if opts.Images == nil {
		opts.Images = map[string]string{"default": "rootfs://" + rootfs}
	}
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	e, err := buildkit.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestConformance(t *testing.T) {
	executortest.Run(t, func(t *testing.T) runner.Executor { return newExecutor(t, buildkit.Options{}) })
}

// session runs scripts one after the other in one workspace and returns
// their stdout.
// lastCached is what the executor said of each command of the last
// session: replayed from its cache or not.
var lastCached []bool

func session(t *testing.T, e runner.Executor, src string, env []string, secrets []string, scripts ...string) []string {
	t.Helper()
	lastCached = nil
	ws, spec := executortest.Prepare(t, e, src)
	_ = spec
	var outs []string
	for _, s := range scripts {
		var stdout, stderr strings.Builder
		var cached bool
		code, err := ws.Exec(t.Context(), runner.Command{
			Argv: []string{"sh", "-c", s}, Env: append(executortest.Env(ws), env...),
			Stdout: &stdout, Stderr: &stderr, Secrets: secrets, Volatile: []string{"RUN_ID"}, Cached: &cached,
		})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		lastCached = append(lastCached, cached)
		outs = append(outs, fmt.Sprintf("%d:%s", code, stdout.String()))
	}
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	return outs
}

// A nanosecond clock reading differs on every run: a step that prints one
// shows whether it ran or was replayed from the cache.
const clock = `od -An -N8 -tx8 /dev/urandom`

func TestCache(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	src := executortest.Source(t)
	// A fresh step: no earlier test run can have cached it.
	unique := fmt.Sprintf("echo %d; %s", time.Now().UnixNano(), clock)
	first := session(t, e, src, []string{"RUN_ID=1"}, nil, unique+" > t", "cat t", "cat t")
	if first[1] != first[2] {
		t.Errorf("a step ran twice in one session: the file it wrote changed between two reads: %q then %q", first[1], first[2])
	}
	if lastCached[0] {
		t.Errorf("a step no run can have cached was reported cached")
	}
	time.Sleep(1100 * time.Millisecond) // past the second of slack Cached allows the engine's clock
	second := session(t, e, src, []string{"RUN_ID=2"}, nil, unique+" > t", "cat t", "cat t")
	if second[1] != first[1] {
		t.Errorf("an unchanged step with only a volatile variable changed ran again: %q, first run %q", second[1], first[1])
	}
	if !lastCached[0] {
		t.Errorf("the replayed step was not reported cached (Command.Cached)")
	}
	// A change in the repository misses the cache.
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := session(t, e, src, nil, nil, unique+" > t", "cat t")
	if third[1] == first[1] {
		t.Errorf("a step whose workspace changed was a cache hit")
	}
	// Output is replayed on a hit.
	replay := session(t, e, src, nil, nil, "echo replayed; "+unique)
	again := session(t, e, src, nil, nil, "echo replayed; "+unique)
	if replay[0] != again[0] || !strings.HasPrefix(again[0], "0:replayed\n") {
		t.Errorf("a cached step's output was not replayed: first %q, cached %q", replay[0], again[0])
	}
}

func TestNoCache(t *testing.T) {
	e := newExecutor(t, buildkit.Options{NoCache: true})
	src := executortest.Source(t)
	first := session(t, e, src, nil, nil, clock+" > t", "cat t", "cat t")
	if first[1] != first[2] {
		t.Errorf("with NoCache a step ran again when the next one was solved: %q then %q", first[1], first[2])
	}
	second := session(t, e, src, nil, nil, clock+" > t", "cat t")
	if second[1] == first[1] {
		t.Errorf("with NoCache a step was a cache hit: %q", second[1])
	}
}

func TestFailedStepRunsAgain(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	src := executortest.Source(t)
	step := fmt.Sprintf("echo %d; %s; exit 3", time.Now().UnixNano(), clock)
	first := session(t, e, src, nil, nil, step)
	if !strings.HasPrefix(first[0], "3:") {
		t.Fatalf("exit code: %q, want 3", first[0])
	}
	second := session(t, e, src, nil, nil, step)
	if second[0] == first[0] {
		t.Errorf("a step that failed was replayed from the cache instead of run again: %q", second[0])
	}
	// The executor remembers across instances (runs).
	other := newExecutor(t, buildkit.Options{StateDir: e.StateDir()})
	third := session(t, other, src, nil, nil, step)
	if third[0] == second[0] {
		t.Errorf("a failed step was replayed on the next run")
	}
}

func TestSecretsStayOutOfDefinitions(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	secret := fmt.Sprintf("s3cr3t-%d", time.Now().UnixNano())
	stop := buildkit.RecordDefinitions()
	ws, spec := executortest.Prepare(t, e, "")
	// A script with the secret interpolated into it, as GitHub's
	// ${{ secrets.X }} does, and the secret in a variable.
	if err := os.WriteFile(filepath.Join(spec.StateDir, "script.sh"), []byte("echo \"$TOKEN\" > token.txt\necho inline "+secret+" | wc -c\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	code, err := ws.Exec(t.Context(), runner.Command{
		Argv:    []string{"sh", ws.StateDir() + "/script.sh"},
		Env:     append(executortest.Env(ws), "TOKEN="+secret, "WRAPPED=x"+secret+"y"),
		Stdout:  &stdout,
		Secrets: []string{secret},
	})
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
	if got := executortest.MustSh(t, ws, `cat token.txt`); got != secret+"\n" {
		t.Errorf("the step did not get the secret: %q", got)
	}
	defs := stop()
	if len(defs) == 0 {
		t.Fatal("no definition recorded")
	}
	for _, d := range defs {
		if bytes.Contains(d, []byte(secret)) {
			t.Fatalf("the secret is in a solved LLB definition: %q", d)
		}
	}
	// The cache keys live in the daemon's databases.
	if root := os.Getenv("GANTRY_BUILDKITD_ROOT"); root != "" {
		dbs := 0
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !strings.HasSuffix(p, ".db") {
				return nil
			}
			dbs++
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the secret is in the daemon's database %s", p)
			}
			return nil
		})
		if dbs == 0 {
			t.Errorf("no database under GANTRY_BUILDKITD_ROOT=%s to look in", root)
		}
	}
}

func TestService(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	rootfs := "rootfs://" + os.Getenv("GANTRY_TEST_ROOTFS")
	n := &dag.Node{ID: "with-service", Services: []dag.Service{{
		Name:    "web",
		Aliases: []string{"web.local"},
		Image:   rootfs,
		Command: []string{"sh", "-c", "mkdir -p /www && echo pong > /www/ping && exec httpd -f -p 18080 -h /www"},
		Ports:   []string{"18080"},
	}}}
	ws, err := e.Prepare(t.Context(), n, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Release(context.Background())
	for _, host := range []string{"web", "web.local"} {
		if got := executortest.MustSh(t, ws, "wget -qO- http://"+host+":18080/ping"); got != "pong\n" {
			t.Errorf("the step got %q from the service at %s, want %q", got, host, "pong\n")
		}
	}
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Stopped with the node: the port is free again.
	ws2, err := e.Prepare(t.Context(), &dag.Node{ID: "after"}, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Release(context.Background())
	// Not wget -T: the busybox of the tests' image crashes with it (exit
	// 139), which would pass this check whatever the port did.
	if r := executortest.Sh(t.Context(), ws2, fmt.Sprintf("echo %d; wget -qO- http://127.0.0.1:18080/ping; echo $?", time.Now().UnixNano())); !strings.HasSuffix(r.Stdout, "\n1\n") {
		t.Errorf("the service still answers after its node was released, or wget failed otherwise: %q %q", r.Stdout, r.Stderr)
	}
}

func TestServiceUnhealthy(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	n := &dag.Node{ID: "bad-service", Services: []dag.Service{{
		Name:    "db",
		Image:   "rootfs://" + os.Getenv("GANTRY_TEST_ROOTFS"),
		Command: []string{"sh", "-c", "echo starting; sleep 30"},
		Options: `--health-cmd "test -e /ready" --health-interval 100ms --health-retries 5`,
	}}}
	_, err := e.Prepare(t.Context(), n, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `service "db" is unhealthy: its health check "test -e /ready" still failed after`) {
		t.Fatalf("Prepare with a service that never gets healthy: %v", err)
	}
}

// TestCancelLeavesNothing cancels a step that sleeps, in a node with a
// service, and asks the daemon whether the node's build is still active,
// and the machine whether the step's or the service's process survived.
func TestCancelLeavesNothing(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	marker := fmt.Sprintf("%d.%d", 1000+time.Now().UnixNano()%1000, time.Now().UnixNano()%997)
	n := &dag.Node{ID: "cancelled", Services: []dag.Service{{
		Name: "sleeper", Image: "rootfs://" + os.Getenv("GANTRY_TEST_ROOTFS"),
		Command: []string{"sleep", marker + "1"},
	}}}
	ctx, cancel := context.WithCancel(t.Context())
	ws, err := e.Prepare(ctx, n, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out, started := executortest.StartSignal("started")
	done := make(chan error, 1)
	go func() {
		_, err := ws.Exec(ctx, runner.Command{Argv: []string{"sh", "-c", "echo started; sleep " + marker + "2"}, Env: executortest.Env(ws), Stdout: out})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the step ended before it was cancelled: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the step did not start in 30s")
	}
	// With a daemon on this machine, its processes are visible here: the
	// check below could see them.
	local := strings.HasPrefix(os.Getenv("BUILDKIT_HOST"), "unix://")
	if procs := processesWith(marker); local && len(procs) < 2 {
		t.Fatalf("the step's and the service's processes are not both visible before cancelling: %v", procs)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Exec of a cancelled step: %v, want context.Canceled", err)
	}
	if err := ws.Release(context.Background()); err != nil {
		t.Errorf("Release: %v", err)
	}
	ref := buildkit.BuildRef(ws)
	deadline := time.Now().Add(10 * time.Second)
	for {
		active, err := activeBuilds(t, e, ref)
		if err != nil {
			t.Fatal(err)
		}
		procs := processesWith(marker)
		if active == 0 && len(procs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s after cancelling: %d active builds named %s, processes left: %v", active, ref, procs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// activeBuilds counts the daemon's active builds named ref.
func activeBuilds(t *testing.T, e *buildkit.Executor, ref string) (int, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	stream, err := e.Client().ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{ActiveOnly: true, Ref: ref, EarlyExit: true})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if ev.Record != nil && ev.Record.CompletedAt == nil {
			n++
		}
	}
}

// processesWith lists the processes whose command line contains s.
func processesWith(s string) []string {
	var found []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, d.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

func TestCacheMount(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	id := fmt.Sprintf("test-%d", time.Now().UnixNano())
	for i, want := range []string{"1\n", "1\n2\n"} {
		ws, _ := executortest.Prepare(t, e, "")
		if err := ws.(runner.CacheMounter).MountCache(id, []string{".deps", "/var/cache/tool"}); err != nil {
			t.Fatal(err)
		}
		// The id in the commands: cache mounts are not part of a step's
		// cache key, and a cached step writes nothing to them.
		got := executortest.MustSh(t, ws, fmt.Sprintf(": %s; echo %d >> .deps/log; echo %d >> /var/cache/tool/log; cat .deps/log", id, i+1, i+1))
		if got != want {
			t.Errorf("node %d read %q from the cache mount, want %q", i+1, got, want)
		}
		if got := executortest.MustSh(t, ws, ": "+id+"; cat /var/cache/tool/log"); got != want {
			t.Errorf("node %d read %q from the absolute cache mount, want %q", i+1, got, want)
		}
	}
}

// TestOutputBeyondLogLimit prints more than BuildKit's default 2 MiB step
// log limit: what BuildKit does not stream is replayed from the step's
// record, so the output is complete either way.
func TestOutputBeyondLogLimit(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	ws, _ := executortest.Prepare(t, e, "")
	got := executortest.MustSh(t, ws, fmt.Sprintf(": %d; seq 1 400000", time.Now().UnixNano()))
	var want strings.Builder
	for i := 1; i <= 400000; i++ {
		fmt.Fprintln(&want, i)
	}
	if got != want.String() {
		t.Errorf("output of %d bytes, want %d (first difference near byte %d)", len(got), want.Len(), firstDiff(got, want.String()))
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDockerAction builds a Docker action's image from its Dockerfile (its
// FROM mapped to the local busybox image) and runs it with the job's
// workspace: the action's changes to the workspace are kept, its image does
// not become the job's.
func TestDockerAction(t *testing.T) {
	rootfs := "rootfs://" + os.Getenv("GANTRY_TEST_ROOTFS")
	e := newExecutor(t, buildkit.Options{Images: map[string]string{"default": rootfs, "base": rootfs}})
	action := t.TempDir()
	os.WriteFile(filepath.Join(action, "Dockerfile"), []byte("FROM base\nCOPY entrypoint.sh /entrypoint.sh\nENV GREETING=hello\nENTRYPOINT [\"/bin/sh\", \"/entrypoint.sh\"]\n"), 0o644)
	os.WriteFile(filepath.Join(action, "entrypoint.sh"), []byte("echo \"$GREETING $INPUT_WHO ($1) in $(pwd)\"\necho made by the action > from-action.txt\n"), 0o644)
	ws, _ := executortest.Prepare(t, e, "")
	var out strings.Builder
	code, err := ws.(runner.ImageRunner).RunImage(t.Context(), runner.ActionImage{Dockerfile: filepath.Join(action, "Dockerfile"), Args: []string{fmt.Sprint(time.Now().UnixNano())}},
		runner.Command{Env: append(executortest.Env(ws), "INPUT_WHO=gantry"), Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("RunImage: exit %d, %v", code, err)
	}
	if got := out.String(); !strings.HasPrefix(got, "hello gantry (") || !strings.HasSuffix(got, ") in /workspace\n") {
		t.Errorf("the action printed %q", got)
	}
	if got := executortest.MustSh(t, ws, "cat from-action.txt; test -e /entrypoint.sh || echo job root untouched"); got != "made by the action\njob root untouched\n" {
		t.Errorf("after the action the job saw %q", got)
	}
}
