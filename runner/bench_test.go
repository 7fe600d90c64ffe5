package runner_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// nopExecutor runs nothing: it measures the scheduler and the step
// protocol alone.
type nopExecutor struct{}

func (nopExecutor) Name() string { return "nop" }
func (nopExecutor) Prepare(_ context.Context, _ *dag.Node, spec runner.WorkspaceSpec) (runner.Workspace, error) {
	return nopWorkspace{state: spec.StateDir}, nil
}

type nopWorkspace struct{ state string }

func (w nopWorkspace) Dir() string      { return "/nonexistent" }
func (w nopWorkspace) StateDir() string { return w.state }
func (w nopWorkspace) HostDir() string  { return "" }
func (w nopWorkspace) Exec(context.Context, runner.Command) (int, error) {
	return 0, nil
}
func (w nopWorkspace) Release(context.Context) error { return nil }

// generated makes a layered DAG of n nodes, each needing up to three of
// the layer before, each with one step.
func generated(n int) *dag.Pipeline {
	p := &dag.Pipeline{Version: dag.Version, Name: "generated"}
	const width = 50
	for i := range n {
		node := &dag.Node{ID: fmt.Sprintf("n%04d", i), Steps: []dag.Step{{Run: "true"}}}
		if layer := i / width; layer > 0 {
			for k := range 3 {
				node.Needs = append(node.Needs, fmt.Sprintf("n%04d", (layer-1)*width+(i+k)%width))
			}
		}
		p.Nodes = append(p.Nodes, node)
	}
	return p
}

// BenchmarkSchedule1000 plans and schedules a generated 1,000-node DAG
// whose steps do nothing.
func BenchmarkSchedule1000(b *testing.B) {
	p := generated(1000)
	if l := p.Validate(); l.HasErrors() {
		b.Fatal(l.Err())
	}
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		res, err := runner.Run(b.Context(), p, runner.Options{
			Executor: nopExecutor{}, Source: b.TempDir(), RunDir: b.TempDir(),
			Reporter: &runner.TextReporter{Out: io.Discard},
		})
		if err != nil || res.Failed || len(res.Nodes) != 1000 {
			b.Fatalf("run: %v, failed %v, %d nodes", err, res != nil && res.Failed, len(res.Nodes))
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.ReportMetric(float64(peak)/(1<<20), "heap-MB")
}
