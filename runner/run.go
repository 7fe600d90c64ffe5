package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// Options tune a run. Executor, Source and RunDir are required.
type Options struct {
	Executor Executor
	// Source is the repository root.
	Source string
	// RunDir is where this run keeps its records, artifacts and state
	// (.gantry/runs/ID).
	RunDir string
	// ScratchDir holds the nodes' state while they run: the step
	// protocol's files, scripts, RUNNER_TEMP. Default: a directory of the
	// run's in memory (/dev/shm) where the machine has one, as those files
	// are many, small and short-lived, else RunDir/nodes. A default one is
	// removed when the run ends.
	ScratchDir string
	// CacheDir keeps caches between runs (.gantry/cache).
	CacheDir string
	// ToolCache is the tool cache's directory on the host
	// (toolcache.Default()), shared by runs: setup-go provisions the
	// versions it asks for there, and steps see it as RUNNER_TOOL_CACHE.
	// Empty: the setup-* actions use what is on PATH.
	ToolCache string
	Event     Event
	// Jobs runs only these nodes (and what they need); a manual node runs
	// only when named here.
	Jobs []string
	// NoNeeds runs the Jobs without what they need: each need's Prior
	// result stands for it (its outputs; its artifacts from that run's
	// record), or, when there is none, a success with no outputs.
	NoNeeds bool
	Prior   map[string]PriorResult
	// Parallel is how many nodes run at once; default the number of CPUs.
	Parallel int
	// Secrets are the secret values by name; they are masked everywhere.
	Secrets map[string]string
	// Vars are the vars context (GitHub) and extra variables (GitLab).
	Vars map[string]string
	// Env passes these host variables to steps, beyond the allowlist.
	Env []string
	// ExtraEnv are variables every step sees (--env-file).
	ExtraEnv map[string]string
	// Matrix runs only the matrix nodes whose values match these.
	Matrix map[string]string
	// KeepGoing runs the rest of a matrix after one of its nodes failed.
	KeepGoing bool
	// PlatformHost runs nodes that ask for a container image on an
	// executor that runs on the host anyway (WorkspaceSpec.IgnoreImage),
	// and nodes whose runs-on asks for another OS or architecture.
	PlatformHost bool
	// Platforms are the runs-on labels mapped to an image (-P): their
	// nodes run whatever OS the label names.
	Platforms []string
	// Actions makes a remote action (owner/repo[/path]@ref) available on
	// this machine and returns its directory; nil runs only the built-in
	// and local actions.
	Actions  func(ctx context.Context, uses string) (string, error)
	Reporter Reporter
	// Observer, when set, gives each node and step its context and extra
	// variables as it starts (a tracer's spans); see Observer.
	Observer Observer
	Masker   *Masker
	Logger   *slog.Logger
}

// PriorResult is a node's result in an earlier run, and the record
// directory of that run, which holds its artifacts.
type PriorResult struct {
	NodeResult
	RunDir string
}

// NodeResult is what became of one node.
type NodeResult struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Status   dag.Status        `json:"status"`
	Reason   string            `json:"reason,omitempty"`
	Duration time.Duration     `json:"duration"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Steps    []StepResult      `json:"steps,omitempty"`
	// ReusedFrom is the earlier run (its record's name) whose result
	// stood for this node, not run (--no-needs).
	ReusedFrom string `json:"reused_from,omitempty"`
	// Infrastructure is true when the node failed because of what ran it
	// (the engine went away), not because of its steps.
	Infrastructure bool   `json:"infrastructure,omitempty"`
	Summary        string `json:"-"`
	// dotenv holds variables a dotenv report gives to dependents.
	dotenv map[string]string
}

// StepResult is what became of one step.
type StepResult struct {
	Name     string            `json:"name"`
	Status   dag.Status        `json:"status"`
	Outcome  dag.Status        `json:"outcome"`
	ExitCode int               `json:"exit_code"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Duration time.Duration     `json:"duration"`
	// Cached: the executor replayed the step's result from its cache
	// (BuildKit) instead of running its command.
	Cached bool `json:"cached,omitempty"`
	// why says how a failed step failed when its exit code does not
	// (timed out, could not run); "" for an exit code.
	why string
}

// Result is a whole run.
type Result struct {
	Pipeline  string       `json:"pipeline"`
	Triggered bool         `json:"triggered"`
	Why       string       `json:"why,omitempty"`
	Nodes     []NodeResult `json:"nodes"`
	// Failed is true when a node's work failed (allowed failures and
	// infrastructure failures do not count).
	Failed bool `json:"failed"`
	// InfrastructureFailed is true when a node failed because of what ran
	// it (see InfraError).
	InfrastructureFailed bool `json:"infrastructure_failed,omitempty"`
}

// InfraError is a failure of what runs the steps, not of a step: the
// engine went away mid-step, the workspace could not be made. Executors
// return it (wrapped) from Prepare and Exec; the run reports such nodes
// apart, and gantry exits 3 when nothing else failed.
type InfraError struct {
	// What went wrong, for people: "the BuildKit engine at unix:///run/buildkit/buildkitd.sock was lost".
	What string
	Err  error
}

func (e *InfraError) Error() string {
	if e.Err == nil {
		return e.What
	}
	return e.What + ": " + e.Err.Error()
}

func (e *InfraError) Unwrap() error { return e.Err }

// ErrNeedsContainer is returned (wrapped) by an executor's Prepare when a
// node asks for what it cannot give on this machine: an image or services.
var ErrNeedsContainer = errors.New("the job runs in a container")

// errFailFast is the cause of the cancellation of a matrix's other nodes
// when one fails under fail-fast.
var errFailFast = errors.New("fail-fast")

// run is the state of one pipeline's run.
type run struct {
	p       *dag.Pipeline
	opts    Options
	runID   string
	plan    *Plan
	mu      sync.Mutex
	results map[string]*NodeResult
	done    map[string]chan struct{}
	// groups hold what the nodes of one matrix share: fail-fast's context
	// and max-parallel's slots.
	groups map[string]*matrixGroup
	failed bool
	infra  bool
	// releases tracks workspaces being removed in the background.
	releases sync.WaitGroup
	// carried are the artifacts an engine carries between nodes.
	carried carried
	// host holds the allowlisted host variables steps see.
	host map[string]string
	// scratch is Options.ScratchDir, or the default one.
	scratch string
}

// matrixGroup is what the nodes of one matrix share while they run.
type matrixGroup struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	slots  chan struct{}
	// failFast is the strategy's fail-fast as it evaluated; err says why
	// the strategy could not be evaluated (its nodes then fail).
	failFast bool
	err      error
}

// Run executes a pipeline for an event and returns what became of each
// node. The error is for gantry's own failures and cancellation; failed
// nodes are in the result.
func Run(ctx context.Context, p *dag.Pipeline, opts Options) (*Result, error) {
	if opts.Executor == nil || opts.Source == "" || opts.RunDir == "" {
		return nil, errors.New("runner: Executor, Source and RunDir are required")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.NumCPU()
	}
	if opts.Masker == nil {
		opts.Masker = &Masker{}
	}
	for _, v := range opts.Secrets {
		opts.Masker.Add(v)
	}
	if opts.Reporter == nil {
		opts.Reporter = &TextReporter{Out: discard{}}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	plan, err := MakePlan(p, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Pipeline: p.Name, Triggered: plan.Triggered, Why: plan.Why}
	if !plan.Triggered {
		return res, nil
	}
	if err := os.MkdirAll(opts.RunDir, 0o755); err != nil {
		return nil, err
	}
	r := &run{
		p: p, opts: opts, plan: plan, runID: filepath.Base(opts.RunDir),
		results: map[string]*NodeResult{}, done: map[string]chan struct{}{},
		groups: map[string]*matrixGroup{}, host: hostEnv(opts.Env),
	}
	for _, pn := range plan.Nodes {
		r.done[pn.Node.ID] = make(chan struct{})
	}
	if r.scratch = opts.ScratchDir; r.scratch == "" {
		var cleanup func()
		r.scratch, cleanup = scratchDir(opts.RunDir)
		defer cleanup()
	}
	defer func() {
		for _, g := range r.groups {
			g.cancel(nil)
		}
	}()
	var g errgroup.Group
	slots := make(chan struct{}, opts.Parallel)
	for _, pn := range plan.Nodes {
		g.Go(func() error {
			defer close(r.done[pn.Node.ID])
			// A node starts the moment its needs finish.
			for _, need := range pn.Node.Needs {
				if ch, ok := r.done[need]; ok {
					<-ch
				}
			}
			group := r.group(ctx, pn.Node)
			nctx := ctx
			if group != nil {
				nctx = group.ctx
			}
			nr := r.runNode(nctx, pn, group, slots)
			r.mu.Lock()
			r.results[pn.Node.ID] = nr
			if nr.Status == dag.StatusFailure && (len(pn.Node.Steps) > 0 || pn.Node.Uses != "" || pn.Node.MatrixFrom != "") {
				if nr.Infrastructure {
					r.infra = true
				} else {
					r.failed = true
				}
			}
			r.mu.Unlock()
			opts.Reporter.NodeFinished(*nr)
			return nil
		})
	}
	_ = g.Wait()
	// Before the workspaces are gone: an engine may keep a workspace's
	// session open for the artifacts it carries.
	r.endCarried()
	r.releases.Wait()
	for _, pn := range plan.Nodes {
		res.Nodes = append(res.Nodes, *r.results[pn.Node.ID])
	}
	res.Failed, res.InfrastructureFailed = r.failed, r.infra
	return res, ctx.Err()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// group is what n shares with the other nodes of its matrix, or nil. The
// strategy is evaluated when its first node is about to run: GitHub lets
// fail-fast and max-parallel name needs, inputs and vars.
func (r *run) group(ctx context.Context, n *dag.Node) *matrixGroup {
	if n.Strategy == nil || n.Strategy.Group == "" {
		return nil
	}
	r.mu.Lock()
	g := r.groups[n.Strategy.Group]
	r.mu.Unlock()
	if g != nil {
		return g
	}
	g = &matrixGroup{}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	var max int
	max, g.failFast, g.err = r.strategy(n)
	if max > 0 {
		g.slots = make(chan struct{}, max)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if first := r.groups[n.Strategy.Group]; first != nil {
		g.cancel(nil)
		return first
	}
	r.groups[n.Strategy.Group] = g
	return g
}

// strategy evaluates a node's max-parallel and fail-fast (true when
// absent).
func (r *run) strategy(n *dag.Node) (maxParallel int, failFast bool, err error) {
	s := n.Strategy
	if s == nil {
		return 0, true, nil
	}
	maxParallel, maxKnown := s.MaxParallel.Static()
	failFast, ffKnown := true, true
	if s.FailFast != nil {
		failFast, ffKnown = s.FailFast.Static()
	}
	if maxKnown && ffKnown {
		return maxParallel, failFast, nil
	}
	env, err := r.nodeExprEnv(n, nil)
	if err != nil {
		return 0, true, fmt.Errorf("strategy: %w", err)
	}
	if !ffKnown {
		if failFast, err = evalFlag(*s.FailFast, n.Pos, env); err != nil {
			return 0, true, fmt.Errorf("strategy.fail-fast: %w", err)
		}
	}
	if !maxKnown {
		v, err := expr.Interpolate(s.MaxParallel.Expr, n.Pos.Pos, env)
		if err != nil {
			return 0, failFast, fmt.Errorf("strategy.max-parallel: %w", err)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, failFast, fmt.Errorf("strategy.max-parallel: %s gave %q, not a number", s.MaxParallel.Expr, v)
		}
		// As GitHub's schema takes it: 0 or less is no limit.
		maxParallel = int(f)
	}
	return maxParallel, failFast, nil
}

// failFast reports whether a failure of n cancels the rest of its matrix.
func (r *run) failFast(group *matrixGroup) bool {
	return !r.opts.KeepGoing && group != nil && group.failFast
}

// cancelled is why a node whose context is done did not run to its end.
func cancelled(ctx context.Context) string {
	if cause := context.Cause(ctx); errors.Is(cause, errFailFast) {
		return fmt.Sprintf("cancelled: another job of its matrix failed (%v)", cause)
	} else if errors.Is(cause, errStopped) {
		return "stopped by a cancel: step"
	}
	return "the run was cancelled"
}

// needsStatus summarises the results of a node's needs for its conditions.
func (r *run) needsStatus(n *dag.Node) (expr.Status, map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	status := expr.StatusSuccess
	needs := map[string]any{}
	for _, id := range n.Needs {
		res := r.results[id]
		if res == nil {
			continue
		}
		result := string(res.Status)
		switch res.Status {
		case dag.StatusFailure:
			status = expr.StatusFailure
		case dag.StatusCancelled:
			if status != expr.StatusFailure {
				status = expr.StatusCancelled
			}
		case dag.StatusAllowed:
			result = "success"
		}
		outputs := map[string]any{}
		for k, v := range res.Outputs {
			outputs[k] = v
		}
		entry := map[string]any{"result": result, "outputs": outputs}
		needs[id] = entry
		// Matrix nodes and inlined jobs are also reachable by their group.
		if nd := r.p.Node(id); nd != nil && nd.Strategy != nil && nd.Strategy.Group != "" && nd.Strategy.Group != id {
			needs[nd.Strategy.Group] = entry
		}
	}
	return status, needs
}

// skippedNeed reports whether one of a node's needs was skipped.
func (r *run) skippedNeed(n *dag.Node) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range n.Needs {
		if res := r.results[id]; res != nil && res.Status == dag.StatusSkipped {
			return true
		}
	}
	return false
}

// runNode decides whether a node runs, from its plan, its condition and
// its needs' results, and runs it when it does.
func (r *run) runNode(ctx context.Context, pn PlannedNode, group *matrixGroup, slots chan struct{}) *NodeResult {
	n := pn.Node
	res := &NodeResult{ID: n.ID, Name: n.Label()}
	if pn.Reused != nil {
		*res = *pn.Reused
		return res
	}
	if !pn.Run {
		res.Status, res.Reason = dag.StatusSkipped, pn.Why
		return res
	}
	if ctx.Err() != nil {
		res.Status, res.Reason = dag.StatusCancelled, cancelled(ctx)
		return res
	}
	status, needs := r.needsStatus(n)
	if len(n.Steps) == 0 && n.Uses == "" && n.MatrixFrom == "" {
		// A join node (a stage barrier, an inlined workflow's outputs): it
		// fails when something it waits for failed, and runs nothing.
		res.Outputs = r.nodeOutputs(n, needs, nil)
		if status == expr.StatusSuccess {
			res.Status = dag.StatusSuccess
		} else {
			res.Status, res.Reason = dag.StatusFailure, "a job it waits for did not succeed"
		}
		return res
	}
	when := pn.When
	switch {
	case n.If != "":
		e, err := expr.Parse(n.If, n.Pos.Pos)
		if err != nil {
			res.Status, res.Reason = dag.StatusFailure, err.Error()
			return res
		}
		if why := r.impliedSuccess(n, status); why != "" && !expr.UsesStatusFunc(e) {
			res.Status, res.Reason = dag.StatusSkipped, why
			return res
		}
		ok, err := r.evalCondition(e, n, status, needs)
		if err != nil {
			res.Status, res.Reason = dag.StatusFailure, err.Error()
			return res
		}
		if !ok {
			res.Status, res.Reason = dag.StatusSkipped, "its if: is false"
			return res
		}
	case when == dag.WhenAlways:
	case when == dag.WhenOnFailure:
		if status != expr.StatusFailure {
			res.Status, res.Reason = dag.StatusSkipped, "when: on_failure and nothing before it failed"
			return res
		}
	default:
		if why := r.impliedSuccess(n, status); why != "" {
			res.Status, res.Reason = dag.StatusSkipped, why
			return res
		}
	}
	if n.Uses != "" {
		res.Status, res.Reason = dag.StatusFailure, fmt.Sprintf("%s is a reference gantry cannot run offline yet", n.Uses)
		return res
	}
	if when == dag.WhenDelayed {
		d, _ := pn.StartIn.Parse()
		r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("delayed: starts in %s", d))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			res.Status, res.Reason = dag.StatusCancelled, cancelled(ctx)
			return res
		}
	}
	if group != nil && group.err != nil {
		res.Status, res.Reason = dag.StatusFailure, group.err.Error()
		return res
	}
	// max-parallel limits how many nodes of a matrix run at once.
	if group != nil && group.slots != nil {
		select {
		case group.slots <- struct{}{}:
			defer func() { <-group.slots }()
		case <-ctx.Done():
			res.Status, res.Reason = dag.StatusCancelled, cancelled(ctx)
			return res
		}
	}
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		res.Status, res.Reason = dag.StatusCancelled, cancelled(ctx)
		return res
	}
	defer func() { <-slots }()
	if ctx.Err() != nil {
		res.Status, res.Reason = dag.StatusCancelled, cancelled(ctx)
		return res
	}
	r.opts.Reporter.NodeStarted(n.ID, n.Label())
	ctx = r.observeNode(ctx, n.ID)
	start := time.Now()
	attempts := 1
	if n.Retry != nil {
		attempts += n.Retry.Max
	}
	if n.MatrixFrom != "" {
		*res = r.runMatrix(ctx, n, needs, attempts)
	} else {
		*res = r.attempt(ctx, n, needs, attempts)
	}
	res.Duration = time.Since(start)
	if res.Status == dag.StatusFailure && !res.Infrastructure && r.allowed(n, needs) && allowedExit(n, res) {
		res.Status = dag.StatusAllowed
	}
	if res.Status == dag.StatusFailure && r.failFast(group) {
		// Before the slots are given back: a sibling waiting for this
		// node's max-parallel slot must find the group cancelled.
		group.cancel(fmt.Errorf("%w: %s failed", errFailFast, n.ID))
	}
	return res
}

// impliedSuccess says why success() is false for a node: a need that did
// not succeed, or (as the DAG's skipped-needs says) one that was skipped;
// "" when it is true.
func (r *run) impliedSuccess(n *dag.Node, status expr.Status) string {
	switch {
	case status != expr.StatusSuccess:
		return "a job it needs did not succeed"
	case r.p.Behavior(n).SkippedNeeds == dag.SkippedNeedsSkip && r.skippedNeed(n):
		return "a job it needs was skipped"
	}
	return ""
}

// evalCondition evaluates a node's if: (the implied success() is checked
// before, by impliedSuccess).
func (r *run) evalCondition(e *expr.Expr, n *dag.Node, status expr.Status, needs map[string]any) (bool, error) {
	env, err := r.nodeExprEnv(n, needs)
	if err != nil {
		return false, err
	}
	env.Status = status
	return e.EvalBool(env)
}

// nodeOutputs evaluates a node's outputs: once its steps ran.
func (r *run) nodeOutputs(n *dag.Node, needs map[string]any, steps map[string]any) map[string]string {
	if len(n.Outputs) == 0 {
		return nil
	}
	env, err := r.nodeExprEnv(n, needs)
	if err != nil {
		r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask(fmt.Sprintf("outputs: %v", err)))
		return nil
	}
	if steps != nil {
		env.Contexts["steps"] = expr.FromGo(steps)
	}
	out := map[string]string{}
	for k, v := range n.Outputs {
		s, err := expr.Interpolate(v, n.Pos.Pos, env)
		if err != nil {
			r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask(fmt.Sprintf("output %q: %v", k, err)))
			continue
		}
		out[k] = s
	}
	return out
}

// allowed reports whether a node's failure is allowed: its allow-failure,
// evaluated now when it is an expression.
func (r *run) allowed(n *dag.Node, needs map[string]any) bool {
	if v, known := n.AllowFailure.Static(); known {
		return v
	}
	env, err := r.nodeExprEnv(n, needs)
	if err != nil {
		r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask("allow-failure: "+err.Error()))
		return false
	}
	v, err := evalFlag(n.AllowFailure, n.Pos, env)
	if err != nil {
		r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask("allow-failure: "+err.Error()))
	}
	return v
}

// allowedExit reports whether a failed node's exit code is one its
// allow-failure-exit-codes accept (any, when it lists none).
func allowedExit(n *dag.Node, res *NodeResult) bool {
	if len(n.AllowFailureExitCodes) == 0 {
		return true
	}
	for i := len(res.Steps) - 1; i >= 0; i-- {
		if res.Steps[i].Outcome == dag.StatusFailure {
			if res.Steps[i].why != "" {
				return false // no exit code of its own: timed out, could not run
			}
			for _, c := range n.AllowFailureExitCodes {
				if c == res.Steps[i].ExitCode {
					return true
				}
			}
			return false
		}
	}
	return false
}

// attempt runs a node, again after a failure while its retries last.
func (r *run) attempt(ctx context.Context, n *dag.Node, needs map[string]any, attempts int) NodeResult {
	var res NodeResult
	for a := 1; a <= attempts; a++ {
		res = r.execNode(ctx, n, needs)
		if res.Status != dag.StatusFailure || ctx.Err() != nil {
			break
		}
		if a < attempts {
			r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("retrying (%d of %d)", a, attempts-1))
		}
	}
	return res
}

// runMatrix expands a matrix known only at run time, now that what it
// reads is known, and runs its combinations one after another. The node
// fails when one fails (and, with fail-fast, stops there); its outputs are
// those of the last combination, as on GitHub.
func (r *run) runMatrix(ctx context.Context, n *dag.Node, needs map[string]any, attempts int) NodeResult {
	res := NodeResult{ID: n.ID, Name: n.Label(), Status: dag.StatusSuccess}
	combos, err := r.matrixOf(n, needs)
	if err != nil {
		res.Status, res.Reason = dag.StatusFailure, "matrix-from: "+err.Error()
		return res
	}
	if len(combos) == 0 {
		res.Status, res.Reason = dag.StatusSkipped, "its matrix has no combinations"
		return res
	}
	_, failFast, err := r.strategy(n)
	if err != nil {
		res.Status, res.Reason = dag.StatusFailure, err.Error()
		return res
	}
	for _, c := range combos {
		sub := *n
		sub.ID = n.ID + "." + comboID(c)
		sub.MatrixFrom = ""
		sub.Matrix = c
		sub.Name = fmt.Sprintf("%s (%s)", n.Label(), comboID(c))
		r.opts.Reporter.NodeStarted(sub.ID, sub.Name)
		sr := r.attempt(r.observeNode(ctx, sub.ID), &sub, needs, attempts)
		r.opts.Reporter.NodeFinished(sr)
		res.Steps = append(res.Steps, sr.Steps...)
		res.Outputs = sr.Outputs
		if sr.Status == dag.StatusFailure {
			res.Status, res.Reason, res.Infrastructure = dag.StatusFailure, fmt.Sprintf("%s failed", sub.ID), sr.Infrastructure
			if failFast && !r.opts.KeepGoing {
				break
			}
		}
	}
	return res
}

// matrixOf evaluates a node's matrix-from.
func (r *run) matrixOf(n *dag.Node, needs map[string]any) ([]map[string]any, error) {
	tpl, err := expr.ParseTemplate(n.MatrixFrom, n.Pos.Pos)
	if err != nil {
		return nil, err
	}
	env, err := r.nodeExprEnv(n, needs)
	if err != nil {
		return nil, err
	}
	v, err := tpl.Value(env)
	if err != nil {
		return nil, err
	}
	return expandMatrix(v)
}
