package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
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
	// CacheDir keeps caches between runs (.gantry/cache).
	CacheDir string
	Event    Event
	// Jobs runs only these nodes (and what they need); a manual node runs
	// only when named here.
	Jobs []string
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
	// PlatformHost runs nodes that ask for a container image on the host
	// anyway (the host executor refuses them otherwise).
	PlatformHost bool
	// Actions makes a remote action (owner/repo[/path]@ref) available on
	// this machine and returns its directory; nil runs only the built-in
	// and local actions.
	Actions  func(ctx context.Context, uses string) (string, error)
	Reporter Reporter
	Masker   *Masker
	Logger   *slog.Logger
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
	Summary  string            `json:"-"`
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
}

// Result is a whole run.
type Result struct {
	Pipeline  string       `json:"pipeline"`
	Triggered bool         `json:"triggered"`
	Why       string       `json:"why,omitempty"`
	Nodes     []NodeResult `json:"nodes"`
	// Failed is true when a node failed (allowed failures do not count).
	Failed bool `json:"failed"`
}

// run is the state of one pipeline's run.
type run struct {
	p       *dag.Pipeline
	opts    Options
	runID   string
	plan    *Plan
	mu      sync.Mutex
	results map[string]*NodeResult
	done    map[string]chan struct{}
	// groupSlots limit how many nodes of a matrix run at once (max-parallel).
	groupSlots map[string]chan struct{}
	failed     bool
	// releases tracks workspaces being removed in the background.
	releases sync.WaitGroup
	// host holds the allowlisted host variables steps see.
	host map[string]string
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
		groupSlots: map[string]chan struct{}{}, host: hostEnv(opts.Env),
	}
	for _, pn := range plan.Nodes {
		r.done[pn.Node.ID] = make(chan struct{})
	}
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
			nr := r.runNode(ctx, pn, slots)
			r.mu.Lock()
			r.results[pn.Node.ID] = nr
			if nr.Status == dag.StatusFailure && (len(pn.Node.Steps) > 0 || pn.Node.Uses != "") {
				r.failed = true
			}
			r.mu.Unlock()
			opts.Reporter.NodeFinished(*nr)
			return nil
		})
	}
	_ = g.Wait()
	r.releases.Wait()
	for _, pn := range plan.Nodes {
		res.Nodes = append(res.Nodes, *r.results[pn.Node.ID])
	}
	res.Failed = r.failed
	return res, ctx.Err()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

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

// skippedNeed reports whether a need was skipped, which skips a GitHub
// node unless its condition says otherwise.
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

func (r *run) runNode(ctx context.Context, pn PlannedNode, slots chan struct{}) *NodeResult {
	n := pn.Node
	res := &NodeResult{ID: n.ID, Name: n.Label()}
	if !pn.Run {
		res.Status, res.Reason = dag.StatusSkipped, pn.Why
		return res
	}
	if ctx.Err() != nil {
		res.Status, res.Reason = dag.StatusCancelled, "the run was cancelled"
		return res
	}
	status, needs := r.needsStatus(n)
	gitlab := providerOf(r.p) == "gitlab"
	if len(n.Steps) == 0 && n.Uses == "" {
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
	// Whether the node runs, from its condition and its needs' results.
	switch {
	case n.If != "":
		ok, err := r.evalCondition(n, status, needs)
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
		if status != expr.StatusSuccess {
			res.Status, res.Reason = dag.StatusSkipped, "a job it needs did not succeed"
			return res
		}
		if !gitlab && r.skippedNeed(n) {
			res.Status, res.Reason = dag.StatusSkipped, "a job it needs was skipped"
			return res
		}
	}
	if n.Uses != "" {
		res.Status, res.Reason = dag.StatusFailure, fmt.Sprintf("%s is a reference gantry cannot run offline yet", n.Uses)
		return res
	}

	if when == dag.WhenDelayed {
		d, _ := n.StartIn.Parse()
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	// max-parallel limits how many nodes of a matrix run at once.
	if g := n.Strategy; g != nil && g.Group != "" {
		var gslot chan struct{}
		r.mu.Lock()
		if g.MaxParallel > 0 {
			if r.groupSlots[g.Group] == nil {
				r.groupSlots[g.Group] = make(chan struct{}, g.MaxParallel)
			}
			gslot = r.groupSlots[g.Group]
		}
		r.mu.Unlock()
		if gslot != nil {
			gslot <- struct{}{}
			defer func() { <-gslot }()
		}
	}
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		res.Status, res.Reason = dag.StatusCancelled, "the run was cancelled"
		return res
	}
	defer func() { <-slots }()
	if r.groupFailed(n) {
		res.Status, res.Reason = dag.StatusCancelled, "another job of its matrix failed (fail-fast)"
		return res
	}
	r.opts.Reporter.NodeStarted(n.ID, n.Label())
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
	if res.Status == dag.StatusFailure && n.AllowFailure && allowedExit(n, res) {
		res.Status = dag.StatusAllowed
	}
	return res
}

// groupFailed reports whether another node of n's matrix failed, which
// cancels n under fail-fast.
func (r *run) groupFailed(n *dag.Node) bool {
	if n.Strategy == nil || n.Strategy.Group == "" || r.opts.KeepGoing {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, res := range r.results {
		nd := r.p.Node(id)
		if res.Status != dag.StatusFailure || nd == nil || nd.Strategy == nil || nd.Strategy.Group != n.Strategy.Group {
			continue
		}
		if nd.Strategy.FailFast == nil || *nd.Strategy.FailFast {
			return true
		}
	}
	return false
}

// evalCondition evaluates a node's if: with GitHub's implicit success().
func (r *run) evalCondition(n *dag.Node, status expr.Status, needs map[string]any) (bool, error) {
	e, err := expr.Parse(n.If, n.Pos.Pos)
	if err != nil {
		return false, err
	}
	env := r.exprEnv(n, needs, nil, "")
	env.Status = status
	ok, err := e.EvalBool(env)
	if err != nil {
		return false, err
	}
	if !expr.UsesStatusFunc(e) && status != expr.StatusSuccess {
		return false, nil
	}
	return ok, nil
}

// exprEnv is the contexts expressions of a node see.
func (r *run) exprEnv(n *dag.Node, needs map[string]any, steps map[string]any, workspace string) *expr.Env {
	if needs == nil {
		_, needs = r.needsStatus(n)
	}
	if steps == nil {
		steps = map[string]any{}
	}
	secrets := map[string]string{}
	for _, name := range n.Secrets {
		if v, ok := r.opts.Secrets[name]; ok {
			secrets[name] = v
		}
	}
	for name, v := range r.opts.Secrets {
		secrets[name] = v
	}
	inputs := map[string]any{}
	for k, v := range r.opts.Event.Inputs {
		inputs[k] = v
	}
	matrix := map[string]any{}
	for k, v := range n.Matrix {
		matrix[k] = v
	}
	env := mergeMaps(r.baseEnv(n, workspace), r.inheritedEnv(n), n.Env)
	return &expr.Env{
		Contexts: map[string]expr.Value{
			"github":   githubContext(r.opts.Event, r.runID, workspace),
			"env":      stringsValue(env),
			"vars":     stringsValue(r.opts.Vars),
			"secrets":  stringsValue(secrets),
			"needs":    expr.FromGo(needs),
			"steps":    expr.FromGo(steps),
			"matrix":   expr.FromGo(matrix),
			"inputs":   expr.FromGo(inputs),
			"strategy": expr.FromGo(map[string]any{"fail-fast": true, "job-index": 0, "job-total": 1}),
			"runner":   expr.FromGo(map[string]any{"os": "Linux", "arch": "X64", "temp": os.TempDir(), "tool_cache": os.TempDir()}),
			"job":      expr.FromGo(map[string]any{"status": "success"}),
		},
		HashFiles: func(patterns []string) (string, error) {
			// Off the host (in a container) the workspace starts as the
			// source: hash the source's files.
			if workspace == "" || r.opts.Executor.Name() != "host" {
				return expr.HashFilesIn(r.opts.Source)(patterns)
			}
			return expr.HashFilesIn(workspace)(patterns)
		},
	}
}

// baseEnv is the provider's predefined variables.
func (r *run) baseEnv(n *dag.Node, workspace string) map[string]string {
	if providerOf(r.p) == "gitlab" {
		env := gitlabEnv(r.opts.Event, r.runID, workspace)
		env["CI_JOB_NAME"] = n.Label()
		env["CI_JOB_STAGE"] = n.Stage
		// GitLab gives CI/CD variables, masked ones included, to every job.
		return mergeMaps(env, r.opts.Vars, r.opts.Secrets)
	}
	return githubEnv(r.opts.Event, r.runID, workspace, n.ID, r.p.Name)
}

// nodeOutputs evaluates a node's outputs: once its steps ran.
func (r *run) nodeOutputs(n *dag.Node, needs map[string]any, steps map[string]any) map[string]string {
	if len(n.Outputs) == 0 {
		return nil
	}
	env := r.exprEnv(n, needs, steps, "")
	out := map[string]string{}
	for k, v := range n.Outputs {
		s, err := expr.Interpolate(v, n.Pos.Pos, env)
		if err != nil {
			r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("output %q: %v", k, err))
			continue
		}
		out[k] = s
	}
	return out
}

// allowedExit reports whether a failed node's exit code is one its
// allow-failure-exit-codes accept (any, when it lists none).
func allowedExit(n *dag.Node, res *NodeResult) bool {
	if len(n.AllowFailureExitCodes) == 0 {
		return true
	}
	for i := len(res.Steps) - 1; i >= 0; i-- {
		if res.Steps[i].Outcome == dag.StatusFailure {
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
	tpl, err := expr.ParseTemplate(n.MatrixFrom, n.Pos.Pos)
	if err == nil {
		var v expr.Value
		if v, err = tpl.Value(r.exprEnv(n, needs, nil, "")); err == nil {
			var combos []map[string]any
			if combos, err = expandMatrix(v); err == nil {
				failFast := n.Strategy == nil || n.Strategy.FailFast == nil || *n.Strategy.FailFast
				for _, c := range combos {
					sub := *n
					sub.ID = n.ID + "." + comboID(c)
					sub.MatrixFrom = ""
					sub.Matrix = c
					sub.Name = fmt.Sprintf("%s (%s)", n.Label(), comboID(c))
					r.opts.Reporter.NodeStarted(sub.ID, sub.Name)
					sr := r.attempt(ctx, &sub, needs, attempts)
					r.opts.Reporter.NodeFinished(sr)
					res.Steps = append(res.Steps, sr.Steps...)
					res.Outputs = sr.Outputs
					if sr.Status == dag.StatusFailure {
						res.Status, res.Reason = dag.StatusFailure, fmt.Sprintf("%s failed", sub.ID)
						if failFast && !r.opts.KeepGoing {
							break
						}
					}
				}
				if len(combos) == 0 {
					res.Status, res.Reason = dag.StatusSkipped, "its matrix has no combinations"
				}
				return res
			}
		}
	}
	res.Status, res.Reason = dag.StatusFailure, "matrix-from: "+err.Error()
	return res
}
