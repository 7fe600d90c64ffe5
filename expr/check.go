package expr

import (
	"strings"

	"github.com/gantry-ci/gantry/diag"
	"github.com/rhysd/actionlint"
)

// Check parses src (as Parse does) and reports, without evaluating
// anything, the problems that can be seen statically: a syntax error
// (CodeSyntax), calls of unknown functions or with the wrong arguments
// (CodeFunc), and names of contexts that are not in known (CodeContext).
// known nil means DefaultContexts; an empty non-nil list allows no context.
func Check(src string, pos diag.Pos, known []string) diag.List {
	e, err := Parse(src, pos)
	if err != nil {
		return diag.AsList(err)
	}
	return e.Check(known)
}

// Check reports the static problems of a parsed expression; see Check.
func (e *Expr) Check(known []string) diag.List {
	if known == nil {
		known = DefaultContexts()
	}
	var l diag.List
	actionlint.VisitExprNode(e.node, func(n, _ actionlint.ExprNode, entering bool) {
		if !entering {
			return
		}
		switch n := n.(type) {
		case *actionlint.VariableNode:
			if containsFold(known, n.Name) {
				return
			}
			d := l.Errorf(e.posOf(n), CodeContext, "unknown context %q", n.Name)
			if s := closest(n.Name, known); s != "" {
				d.Hint = "did you mean \"" + s + "\"?"
			} else if len(known) > 0 {
				d.Hint = "available here: " + strings.Join(known, ", ")
			} else {
				d.Hint = "no context is available here"
			}
		case *actionlint.FuncCallNode:
			e.checkCall(&l, n)
		}
	})
	return l
}

func (e *Expr) checkCall(l *diag.List, n *actionlint.FuncCallNode) {
	f := functions[strings.ToLower(n.Callee)]
	if f == nil {
		d := l.Errorf(e.posOf(n), CodeFunc, "unknown function %q", n.Callee)
		if s := closest(n.Callee, Functions()); s != "" {
			d.Hint = "did you mean \"" + s + "\"?"
		} else {
			d.Hint = "functions: " + strings.Join(Functions(), ", ")
		}
		return
	}
	if msg := f.arityError(len(n.Args)); msg != "" {
		l.Add(diag.Errorf(e.posOf(n), CodeFunc, "%s", msg).WithHint("usage: %s", f.usage))
		return
	}
	switch strings.ToLower(n.Callee) {
	case "format":
		// A literal format string can be checked against the number of
		// values given.
		if lit, ok := n.Args[0].(*actionlint.StringNode); ok {
			if _, err := formatString(lit.Value, make([]Value, len(n.Args)-1)); err != nil {
				l.Errorf(e.posOf(lit), CodeFunc, "format: %v", err)
			}
		}
	case "matches":
		if lit, ok := n.Args[1].(*actionlint.StringNode); ok {
			if _, err := compilePattern(lit.Value); err != nil {
				l.Errorf(e.posOf(lit), CodeFunc, "matches: %v", err)
			}
		}
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// closest returns the candidate nearest to s by edit distance (ignoring
// case), when it is near enough to be a likely typo.
func closest(s string, candidates []string) string {
	best, bestD := "", 0
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(1, min(len(s), len(best))/3) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	ar, br := []rune(a), []rune(b)
	prev := make([]int, len(br)+1)
	cur := make([]int, len(br)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ar); i++ {
		cur[0] = i
		for j := 1; j <= len(br); j++ {
			cost := 1
			if ar[i-1] == br[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(br)]
}
