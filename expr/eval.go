package expr

import (
	"math"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/diag"
	"github.com/rhysd/actionlint"
)

// Status is the status of the job (or of the steps so far) that the status
// functions success(), failure() and cancelled() look at.
type Status string

// The statuses. The zero Status counts as StatusSuccess.
const (
	StatusSuccess   Status = "success"
	StatusFailure   Status = "failure"
	StatusCancelled Status = "cancelled"
)

func (s Status) String() string {
	if s == "" {
		return string(StatusSuccess)
	}
	return string(s)
}

// Env is what an expression is evaluated against. The zero Env has no
// contexts, a successful status and no hashFiles.
type Env struct {
	// Contexts holds the named values: github, env, vars, secrets, matrix,
	// needs, steps, job, jobs, runner, inputs, strategy, or any other name.
	// Names are looked up without regard to case. A well-known context
	// (see DefaultContexts) that is missing is null; any other missing
	// name is an error.
	Contexts map[string]Value
	// Status is what success(), failure() and cancelled() report on.
	Status Status
	// HashFiles computes hashFiles(patterns...); see HashFilesIn. When it is
	// nil, calling hashFiles is an error.
	HashFiles func(patterns []string) (string, error)
}

// DefaultContexts returns the names of GitHub's contexts, which Check
// accepts when it is given no list of its own.
func DefaultContexts() []string {
	return []string{"env", "github", "inputs", "job", "jobs", "matrix", "needs", "runner", "secrets", "steps", "strategy", "vars"}
}

func isDefaultContext(name string) bool {
	return slices.ContainsFunc(DefaultContexts(), func(c string) bool { return strings.EqualFold(c, name) })
}

// lookup finds a context by name: an exact match first, then the first in
// sorted order that matches without regard to case.
func (env *Env) lookup(name string) (Value, bool) {
	if v, ok := env.Contexts[name]; ok {
		return v, true
	}
	var keys []string
	for k := range env.Contexts {
		if foldEqual(k, name) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return Null(), false
	}
	slices.Sort(keys)
	return env.Contexts[keys[0]], true
}

// Eval evaluates e against env (nil means the zero Env). An error is a
// diag.Diagnostic with code CodeEval, positioned at the part of the
// expression that failed.
func (e *Expr) Eval(env *Env) (Value, error) {
	if env == nil {
		env = &Env{}
	}
	ev := &evaluator{e: e, env: env}
	return ev.eval(e.node)
}

// EvalBool evaluates e and reports whether the result is truthy, as an if:
// condition does.
func (e *Expr) EvalBool(env *Env) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	return v.Truthy(), nil
}

type evaluator struct {
	e   *Expr
	env *Env
}

func (ev *evaluator) errorf(n actionlint.ExprNode, format string, args ...any) diag.Diagnostic {
	return diag.Errorf(ev.e.posOf(n), CodeEval, format, args...)
}

func (ev *evaluator) eval(n actionlint.ExprNode) (Value, error) {
	switch n := n.(type) {
	case *actionlint.NullNode:
		return Null(), nil
	case *actionlint.BoolNode:
		return Bool(n.Value), nil
	case *actionlint.IntNode:
		return Number(float64(n.Value)), nil
	case *actionlint.FloatNode:
		return Number(n.Value), nil
	case *actionlint.StringNode:
		return String(n.Value), nil
	case *actionlint.VariableNode:
		if v, ok := ev.env.lookup(n.Name); ok {
			return v, nil
		}
		if isDefaultContext(n.Name) {
			return Null(), nil
		}
		return Null(), ev.errorf(n, "unknown context %q", n.Name)
	case *actionlint.ObjectDerefNode:
		recv, err := ev.eval(n.Receiver)
		if err != nil {
			return Null(), err
		}
		return access(recv, keyOf(String(n.Property))), nil
	case *actionlint.ArrayDerefNode:
		recv, err := ev.eval(n.Receiver)
		if err != nil {
			return Null(), err
		}
		return star(recv), nil
	case *actionlint.IndexAccessNode:
		recv, err := ev.eval(n.Operand)
		if err != nil {
			return Null(), err
		}
		idx, err := ev.eval(n.Index)
		if err != nil {
			return Null(), err
		}
		return access(recv, keyOf(idx)), nil
	case *actionlint.NotOpNode:
		v, err := ev.eval(n.Operand)
		if err != nil {
			return Null(), err
		}
		return Bool(!v.Truthy()), nil
	case *actionlint.CompareOpNode:
		l, err := ev.eval(n.Left)
		if err != nil {
			return Null(), err
		}
		r, err := ev.eval(n.Right)
		if err != nil {
			return Null(), err
		}
		return Bool(compare(n.Kind, l, r)), nil
	case *actionlint.LogicalOpNode:
		l, err := ev.eval(n.Left)
		if err != nil {
			return Null(), err
		}
		// && and || give one of their operands, not a boolean.
		if n.Kind == actionlint.LogicalOpNodeKindAnd && !l.Truthy() || n.Kind == actionlint.LogicalOpNodeKindOr && l.Truthy() {
			return l, nil
		}
		return ev.eval(n.Right)
	case *actionlint.FuncCallNode:
		return ev.call(n)
	case nil:
		return Null(), diag.Errorf(ev.e.at(0), CodeEval, "empty expression")
	}
	return Null(), ev.errorf(n, "unsupported expression %T", n)
}

func compare(k actionlint.CompareOpNodeKind, l, r Value) bool {
	switch k {
	case actionlint.CompareOpNodeKindEq:
		return l.Equal(r)
	case actionlint.CompareOpNodeKindNotEq:
		return !l.Equal(r)
	case actionlint.CompareOpNodeKindLess:
		return l.less(r)
	case actionlint.CompareOpNodeKindLessEq:
		return l.Equal(r) || l.less(r)
	case actionlint.CompareOpNodeKindGreater:
		return r.less(l)
	case actionlint.CompareOpNodeKindGreaterEq:
		return l.Equal(r) || r.less(l)
	}
	return false
}

// indexKey is an index or property name read both ways, as GitHub does: as
// a string for objects and as a non-negative integer for arrays.
type indexKey struct {
	str    string
	hasStr bool
	n      int
	hasInt bool
}

func keyOf(idx Value) indexKey {
	var k indexKey
	if idx.isPrimitive() {
		k.str, k.hasStr = idx.funcString(), true
	}
	if f := idx.Number(); !math.IsNaN(f) && f >= 0 && f < math.MaxInt32 {
		k.n, k.hasInt = int(math.Floor(f)), true
	}
	return k
}

// access is a.b and a[b]. On a filtered array (the result of '*') it
// collects the property or element from each item that has it.
func access(recv Value, k indexKey) Value {
	switch recv.kind {
	case KindArray:
		if recv.arr.filtered {
			var out []Value
			for _, item := range recv.arr.elems {
				switch item.kind {
				case KindObject:
					if k.hasStr {
						if v, ok := item.Get(k.str); ok {
							out = append(out, v)
						}
					}
				case KindArray:
					if k.hasInt && k.n < len(item.arr.elems) {
						out = append(out, item.arr.elems[k.n])
					}
				}
			}
			return filteredArray(out)
		}
		if k.hasInt && k.n < len(recv.arr.elems) {
			return recv.arr.elems[k.n]
		}
	case KindObject:
		if k.hasStr {
			v, _ := recv.Get(k.str)
			return v
		}
	}
	return Null()
}

// star is a.*: the elements of an array or the values of an object, as a
// filtered array; on a filtered array, the children of each item.
func star(recv Value) Value {
	var out []Value
	children := func(v Value) {
		switch v.kind {
		case KindArray:
			out = append(out, v.arr.elems...)
		case KindObject:
			for _, k := range v.obj.keys {
				out = append(out, v.obj.m[k])
			}
		}
	}
	if recv.kind == KindArray && recv.arr.filtered {
		for _, item := range recv.arr.elems {
			children(item)
		}
	} else {
		children(recv)
	}
	return filteredArray(out)
}
