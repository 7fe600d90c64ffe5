package runner

import "context"

// Observer follows a run from outside without the runner knowing what
// for: as each node and step starts (after the Reporter hears of it) it
// gives the context that node or step runs with, and variables the step
// sees beyond its own. A tracer hands its spans on this way: executors'
// calls (BuildKit's) carry the span in the context, steps get
// TRACEPARENT.
type Observer interface {
	Node(ctx context.Context, node string) context.Context
	Step(ctx context.Context, node, step string) (context.Context, map[string]string)
}

// observeNode is ctx as the Observer gives it for node, or ctx.
func (r *run) observeNode(ctx context.Context, node string) context.Context {
	if r.opts.Observer == nil {
		return ctx
	}
	return r.opts.Observer.Node(ctx, node)
}

// observedVars is the context key of the Observer's variables for a post
// step, whose environment is made when it runs.
type observedVars struct{}

// observed are the Observer's variables ctx carries for a post step.
func observed(ctx context.Context) []string {
	vars, _ := ctx.Value(observedVars{}).([]string)
	return vars
}

// observeStep is ctx as the Observer gives it for the step, and its
// variables as NAME=VALUE.
func (r *run) observeStep(ctx context.Context, node, step string) (context.Context, []string) {
	if r.opts.Observer == nil {
		return ctx, nil
	}
	ctx, vars := r.opts.Observer.Step(ctx, node, step)
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return ctx, env
}
