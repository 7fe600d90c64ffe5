package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// GitHub allows expressions in keys that say how a job or step runs
// (timeout-minutes, shell, container and services images, ...), evaluated
// when the job or step starts; a translator leaves the ones it cannot
// resolve as ${{ }} in the DAG, and they are evaluated here.

// evalDuration is a duration, evaluated first when it holds ${{ }}.
func evalDuration(d dag.Duration, pos dag.SourcePos, env *expr.Env) (time.Duration, error) {
	if !d.IsExpr() {
		return d.Parse()
	}
	s, err := expr.Interpolate(string(d), pos.Pos, env)
	if err != nil {
		return 0, err
	}
	v, err := dag.Duration(strings.TrimSpace(s)).Parse()
	if err != nil {
		return 0, fmt.Errorf("%s gave %q: %w", d, s, err)
	}
	return v, nil
}

// evalFlag is a flag's value, evaluated when it is an expression.
func evalFlag(f dag.Flag, pos dag.SourcePos, env *expr.Env) (bool, error) {
	if v, known := f.Static(); known {
		return v, nil
	}
	t, err := expr.ParseTemplate(f.Expr, pos.Pos)
	if err != nil {
		return false, err
	}
	v, err := t.Value(env)
	if err != nil {
		return false, err
	}
	return v.Truthy(), nil
}

// keepGoing evaluates a step's continue-on-error in its environment as it
// is now.
func (j *job) keepGoing(s *dag.Step, index int) (bool, error) {
	if v, known := s.ContinueOnError.Static(); known {
		return v, nil
	}
	se, err := j.environ(s, index)
	if err != nil {
		return false, err
	}
	return evalFlag(s.ContinueOnError, s.Pos, se.expr)
}

// envFrom is the env an env-from expression gives: its value, an object,
// with each member's value as a string; "" gives none.
func envFrom(tpl string, pos dag.SourcePos, env *expr.Env) (map[string]string, error) {
	if tpl == "" {
		return nil, nil
	}
	t, err := expr.ParseTemplate(tpl, pos.Pos)
	if err != nil {
		return nil, err
	}
	v, err := t.Value(env)
	if err != nil {
		return nil, err
	}
	if v.IsNull() {
		return nil, nil
	}
	if v.Kind() != expr.KindObject {
		return nil, fmt.Errorf("env from %s is a %s, not an object", tpl, v.Kind())
	}
	out := map[string]string{}
	for _, k := range v.Keys() {
		m, _ := v.Get(k)
		out[k] = m.String()
	}
	return out, nil
}

// evaluated is n with what is known only when it starts evaluated: its
// timeout, its image and its services' images (a service whose image
// comes out empty is left out, as on GitHub). n itself is not changed.
func (r *run) evaluated(n *dag.Node, needs map[string]any) (*dag.Node, error) {
	dynamic := n.Timeout.IsExpr() || strings.Contains(n.Image, "${{")
	for _, s := range n.Services {
		dynamic = dynamic || strings.Contains(s.Image, "${{")
	}
	if !dynamic {
		return n, nil
	}
	env, err := r.nodeExprEnv(n, needs)
	if err != nil {
		return nil, err
	}
	c := *n
	if n.Timeout.IsExpr() {
		d, err := evalDuration(n.Timeout, n.Pos, env)
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		c.Timeout = dag.DurationOf(d)
	}
	if c.Image, err = expr.Interpolate(n.Image, n.Pos.Pos, env); err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	c.Services = nil
	for _, s := range n.Services {
		if s.Image, err = expr.Interpolate(s.Image, n.Pos.Pos, env); err != nil {
			return nil, fmt.Errorf("service %q: image: %w", s.Name, err)
		}
		if strings.TrimSpace(s.Image) != "" {
			c.Services = append(c.Services, s)
		}
	}
	return &c, nil
}
