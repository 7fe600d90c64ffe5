package buildkit_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// TestEngineLost kills the daemon in the middle of a step: the step's
// error must say that the engine was lost (an InfraError naming its
// address), not look like the step failed.
func TestEngineLost(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "buildkitd.sock")
	d := startDaemon(t, addr)
	e := d.connect(t, buildkit.Options{})
	t.Cleanup(func() { e.Close() })
	// Not executortest.Prepare: releasing a workspace whose engine is gone
	// has nothing left to do, and may say so.
	ws, err := e.Prepare(t.Context(), &dag.Node{ID: "lost"}, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Release(context.Background()) })
	executortest.MustSh(t, ws, "true") // the session works
	go func() {
		time.Sleep(1500 * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
	}()
	start := time.Now()
	r := executortest.Sh(t.Context(), ws, "echo started; sleep 60")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the step went on for %s after the engine was killed", took)
	}
	var infra *runner.InfraError
	if !errors.As(r.Err, &infra) {
		t.Fatalf("the step ended with code %d and error %v (%T); want a *runner.InfraError", r.Code, r.Err, r.Err)
	}
	if !strings.Contains(infra.Error(), addr) || !strings.Contains(infra.Error(), "lost") {
		t.Errorf("the error does not say the engine at %s was lost: %v", addr, infra)
	}
}

// TestEngineLostRun runs a pipeline whose engine dies under its first
// node: the run reports an infrastructure failure, not a failed pipeline.
func TestEngineLostRun(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "buildkitd.sock")
	d := startDaemon(t, addr)
	e := d.connect(t, buildkit.Options{})
	t.Cleanup(func() { e.Close() })
	p := &dag.Pipeline{Version: dag.Version, Nodes: []*dag.Node{
		{ID: "build", Steps: []dag.Step{{Run: "echo started; sleep 60"}, {Run: "echo after", If: "always()"}}},
		{ID: "test", Needs: []string{"build"}, Steps: []dag.Step{{Run: "true"}}},
	}}
	go func() {
		time.Sleep(2 * time.Second)
		d.cmd.Process.Signal(syscall.SIGKILL)
	}()
	res, err := runner.Run(t.Context(), p, runner.Options{Executor: e, Source: executortest.Source(t), RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	build := res.Nodes[0]
	if build.Status != dag.StatusFailure || !build.Infrastructure || !strings.Contains(build.Reason, "was lost") {
		t.Errorf("build: %s, infrastructure %v, %q", build.Status, build.Infrastructure, build.Reason)
	}
	if len(build.Steps) != 1 {
		t.Errorf("build ran %d steps after its engine was lost, want only the first", len(build.Steps))
	}
	if res.Failed || !res.InfrastructureFailed {
		t.Errorf("result: failed %v, infrastructure failed %v; want false, true", res.Failed, res.InfrastructureFailed)
	}
	if res.Nodes[1].Status != dag.StatusSkipped {
		t.Errorf("test: %s, want skipped", res.Nodes[1].Status)
	}
}
