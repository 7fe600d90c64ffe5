package runner

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// Plan is what a run will do, decided before anything runs.
type Plan struct {
	Triggered bool
	// Why says why the pipeline is not triggered, or by what it is.
	Why string
	// Env are the variables the matching workflow rule sets.
	Env   map[string]string
	Nodes []PlannedNode
}

// PlannedNode is one node and whether it will run.
type PlannedNode struct {
	Node *dag.Node
	Run  bool
	// Why says why the node will not run.
	Why string
	// When is the node's when after its rules.
	When dag.When
	// StartIn is the delay of a delayed node, after its rules.
	StartIn dag.Duration
	// Reused, with Options.NoNeeds, is the result that stands for a need
	// of the selected jobs, which does not run.
	Reused *NodeResult
}

// MakePlan decides whether the event triggers the pipeline and which nodes
// run: trigger filters, workflow rules, node rules, manual nodes and the
// --job selection, evaluated against the event.
func MakePlan(p *dag.Pipeline, opts Options) (*Plan, error) {
	plan := &Plan{}
	sel := p
	if len(opts.Jobs) > 0 {
		var err error
		if sel, err = p.Subset(opts.Jobs...); err != nil {
			return nil, err
		}
	}
	plan.Triggered, plan.Why, plan.Env = triggered(p, opts)
	if len(opts.Jobs) > 0 && !plan.Triggered {
		plan.Triggered, plan.Why = true, "run by --job ("+plan.Why+")"
	}
	order, err := sel.TopoOrder()
	if err != nil {
		return nil, err
	}
	r := &run{p: p, opts: opts}
	for _, id := range order {
		n := sel.Node(id)
		pn := PlannedNode{Node: n, Run: true, When: n.When, StartIn: n.StartIn}
		if len(n.Rules) > 0 {
			rule, err := r.matchRules(n, n.Rules)
			if err != nil {
				return nil, err
			}
			switch {
			case rule == nil:
				pn.Run, pn.Why = false, "no rule matched"
			case rule.When == dag.WhenNever:
				pn.Run, pn.Why = false, fmt.Sprintf("rule at %s says never", rule.Pos)
			default:
				pn.When = cmp.Or(rule.When, dag.WhenOnSuccess)
				if rule.StartIn != "" {
					pn.StartIn = rule.StartIn
				}
				if rule.AllowFailure != nil || len(rule.Env) > 0 || rule.Needs != nil {
					// Apply what the rule sets to a copy of the node.
					c := *n
					if rule.AllowFailure != nil {
						c.AllowFailure = dag.FlagOf(*rule.AllowFailure)
					}
					c.Env = mergeMaps(n.Env, rule.Env)
					if rule.Needs != nil {
						c.Needs = rule.Needs
					}
					pn.Node = &c
				}
			}
		}
		if pn.Run && !matrixSelected(n, opts.Matrix) {
			pn.Run, pn.Why = false, "not selected by --matrix"
		}
		if why := platformMismatch(n.Platform, opts.Platforms); pn.Run && why != "" && !opts.PlatformHost && n.Image == "" {
			pn.Run, pn.Why = false, why
		}
		switch pn.When {
		case dag.WhenNever:
			pn.Run, pn.Why = false, "when: never"
		case dag.WhenManual:
			if !slices.Contains(opts.Jobs, n.ID) {
				pn.Run, pn.Why = false, "manual: run it with --job "+n.ID
			}
		}
		if opts.NoNeeds && len(opts.Jobs) > 0 && !slices.Contains(opts.Jobs, n.ID) {
			reused := NodeResult{ID: n.ID, Name: n.Label(), Status: dag.StatusSuccess, Reason: "not run (--no-needs): no earlier result, so no outputs or artifacts"}
			if prior, ok := opts.Prior[n.ID]; ok {
				reused = prior.NodeResult
				reused.ReusedFrom = filepath.Base(prior.RunDir)
				reused.Reason = fmt.Sprintf("not run (--no-needs): its result, outputs and artifacts from run %s", reused.ReusedFrom)
			}
			pn.Run, pn.Why, pn.Reused = false, reused.Reason, &reused
		}
		plan.Nodes = append(plan.Nodes, pn)
	}
	if cycle := plan.cycle(); cycle != nil {
		return nil, fmt.Errorf("the needs its rules give make a cycle: %s", strings.Join(cycle, " -> "))
	}
	return plan, nil
}

// cycle returns the ids of a cycle among the planned nodes' needs (rules
// can replace needs, so the DAG's own check is not enough), or nil.
func (p *Plan) cycle() []string {
	needs := map[string][]string{}
	for _, pn := range p.Nodes {
		needs[pn.Node.ID] = pn.Node.Needs
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var path []string
	var visit func(id string) []string
	visit = func(id string) []string {
		switch state[id] {
		case visiting:
			i := slices.Index(path, id)
			return append(slices.Clone(path[i:]), id)
		case done:
			return nil
		}
		state[id] = visiting
		path = append(path, id)
		for _, need := range needs[id] {
			if _, ok := needs[need]; ok {
				if c := visit(need); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		return nil
	}
	for _, pn := range p.Nodes {
		if c := visit(pn.Node.ID); c != nil {
			return c
		}
	}
	return nil
}

// triggered reports whether the event starts the pipeline, why not, and
// the variables its workflow rule sets.
func triggered(p *dag.Pipeline, opts Options) (bool, string, map[string]string) {
	var env map[string]string
	if len(p.Rules) > 0 {
		r := &run{p: p, opts: opts}
		rule, err := r.matchRules(&dag.Node{}, p.Rules)
		if err != nil {
			return false, err.Error(), nil
		}
		if rule == nil {
			return false, "no workflow:rules rule matched", nil
		}
		if rule.When == dag.WhenNever {
			return false, fmt.Sprintf("workflow rule at %s says never", rule.Pos), nil
		}
		env = rule.Env
	}
	if len(p.Triggers) == 0 {
		return true, "", env
	}
	var whys []string
	for _, t := range p.Triggers {
		ok, why := matchTrigger(t, opts.Event)
		if ok {
			return true, "on " + t.Event, env
		}
		if why != "" {
			whys = append(whys, fmt.Sprintf("%s trigger: %s", t.Event, why))
		}
	}
	if len(whys) == 0 {
		events := make([]string, 0, len(p.Triggers))
		for _, t := range p.Triggers {
			if !slices.Contains(events, t.Event) {
				events = append(events, t.Event)
			}
		}
		return false, fmt.Sprintf("it runs on %s, not on %s", strings.Join(events, ", "), opts.Event.Name), nil
	}
	return false, strings.Join(whys, "; "), nil
}

// matchRules returns the first rule that matches, or nil.
func (r *run) matchRules(n *dag.Node, rules []dag.Rule) (*dag.Rule, error) {
	env, err := r.nodeExprEnv(n, map[string]any{})
	if err != nil {
		return nil, err
	}
	for i := range rules {
		rule := &rules[i]
		if rule.If != "" {
			e, err := expr.Parse(rule.If, rule.Pos.Pos)
			if err != nil {
				return nil, err
			}
			ok, err := e.EvalBool(env)
			if err != nil {
				return nil, fmt.Errorf("rule at %s: %w", rule.Pos, err)
			}
			if !ok {
				continue
			}
		}
		if rule.Changes != nil && r.opts.Event.Changed != nil {
			changed := false
			for _, f := range r.opts.Event.Changed {
				for _, g := range rule.Changes.Paths {
					if globMatch(g, f) {
						changed = true
					}
				}
			}
			if !changed {
				continue
			}
		}
		if len(rule.Exists) > 0 && !r.exists(rule.Exists) {
			continue
		}
		return rule, nil
	}
	return nil, nil
}

// exists reports whether a file of the repository matches one of the globs.
func (r *run) exists(globs []string) bool {
	fsys := os.DirFS(filepath.Clean(r.opts.Source))
	for _, g := range globs {
		matches, err := doublestar.Glob(fsys, strings.TrimPrefix(g, "/"))
		if err == nil && len(matches) > 0 {
			return true
		}
	}
	return false
}

// matrixSelected reports whether a node's matrix values agree with every
// --matrix KEY=VALUE that names one of its keys.
func matrixSelected(n *dag.Node, want map[string]string) bool {
	for k, v := range want {
		if mv, ok := n.Matrix[k]; ok && expr.FromGo(mv).String() != v {
			return false
		}
	}
	return true
}
