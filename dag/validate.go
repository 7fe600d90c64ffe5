package dag

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// Validate checks what the schema cannot: unique ids, needs that exist, no
// cycles, artifacts consumed from nodes that produce them and run before,
// durations that parse. Every finding is reported, each at the best
// position known: in the DAG file when it was decoded from one, else at
// the node's source position.
func (p *Pipeline) Validate() diag.List {
	var l diag.List
	index := map[string]int{}
	for i, n := range p.Nodes {
		if n == nil {
			l.Errorf(p.posOf(fmt.Sprintf("/nodes/%d", i), nil), "dag-node", "nodes[%d] is empty", i)
			continue
		}
		if n.ID == "" {
			l.Errorf(p.posOf(fmt.Sprintf("/nodes/%d", i), n), "dag-id", "nodes[%d] has no id", i)
			continue
		}
		if j, dup := index[n.ID]; dup {
			l.Errorf(p.posOf(fmt.Sprintf("/nodes/%d/id", i), n), "dag-duplicate-id",
				"duplicate node id %q (first defined at nodes[%d])", n.ID, j).
				Hint = "node ids must be unique; rename one of the jobs"
			continue
		}
		index[n.ID] = i
	}
	for i, n := range p.Nodes {
		if n == nil {
			continue
		}
		base := fmt.Sprintf("/nodes/%d", i)
		for k, need := range n.Needs {
			if _, ok := index[need]; !ok {
				d := l.Errorf(p.posOf(fmt.Sprintf("%s/needs/%d", base, k), n), "dag-unknown-need",
					"node %q needs %q, which is not a node of this pipeline", n.ID, need)
				if s := diag.Closest(need, p.ids()); s != "" {
					d.Hint = fmt.Sprintf("did you mean %q?", s)
				}
			}
			if need == n.ID {
				l.Errorf(p.posOf(fmt.Sprintf("%s/needs/%d", base, k), n), "dag-cycle", "node %q needs itself", n.ID)
			}
		}
		p.checkDurations(&l, base, n)
		if n.When != "" && !slices.Contains(Whens, n.When) {
			l.Errorf(p.posOf(base+"/when", n), "dag-enum", "node %q: when %q is not one of %s", n.ID, n.When, joinWhens())
		}
		// A node without steps that needs others is a join (an inlined
		// reusable workflow's outputs, a stage barrier); one that needs
		// nothing either does nothing.
		if len(n.Steps) == 0 && n.Uses == "" && len(n.Needs) == 0 {
			l.Warnf(p.posOf(base, n), "dag-empty-node", "node %q has no steps, uses nothing and needs nothing: it does nothing", n.ID).
				Hint = "give it at least one step with run or uses"
		}
		p.checkExpr(&l, base+"/if", n, n.If)
		p.checkExpr(&l, base+"/matrix-from", n, n.MatrixFrom)
		for k, s := range n.Steps {
			p.checkExpr(&l, fmt.Sprintf("%s/steps/%d/if", base, k), n, s.If)
			kinds := 0
			for _, set := range []bool{s.Run != "", s.Uses != "", len(s.Wait) > 0, s.WaitAll, s.Cancel != ""} {
				if set {
					kinds++
				}
			}
			if kinds != 1 {
				l.Errorf(p.posOf(fmt.Sprintf("%s/steps/%d", base, k), n), "step-run-or-uses",
					"node %q step %d must have exactly one of \"run\", \"uses\", \"wait\", \"wait-all\" or \"cancel\"", n.ID, k+1)
			}
			p.checkBackground(&l, fmt.Sprintf("%s/steps/%d", base, k), n, k)
		}
	}
	if cycle := p.findCycle(index); cycle != nil {
		first := p.Nodes[index[cycle[0]]]
		l.Errorf(p.posOf(fmt.Sprintf("/nodes/%d/needs", index[cycle[0]]), first), "dag-cycle",
			"needs form a cycle: %s", strings.Join(cycle, " → ")).
			Hint = "remove one of these needs"
	} else {
		p.checkArtifacts(&l, index)
	}
	return l
}

// checkBackground checks that a step's wait and cancel name background
// steps before it, and that a background step has an id when anything
// names it.
func (p *Pipeline) checkBackground(l *diag.List, ptr string, n *Node, k int) {
	s := n.Steps[k]
	if s.Background && s.Control() {
		l.Errorf(p.posOf(ptr, n), "step-background", "node %q step %d waits or cancels: it cannot run in the background", n.ID, k+1)
	}
	names := append(slices.Clone(s.Wait), s.Cancel)
	for _, id := range names {
		if id == "" {
			continue
		}
		found := false
		for _, before := range n.Steps[:k] {
			if before.ID == id {
				found = true
				if !before.Background {
					l.Errorf(p.posOf(ptr, n), "step-background", "node %q step %d waits for or cancels %q, which is not a background step", n.ID, k+1, id)
				}
			}
		}
		if !found {
			l.Errorf(p.posOf(ptr, n), "step-background", "node %q step %d waits for or cancels %q, which is no step before it", n.ID, k+1, id).
				Hint = "name the id of a background step that comes earlier in the node"
		}
	}
}

// checkExpr reports a condition that does not parse. Braces are optional
// around a condition, as in GitHub's if:.
func (p *Pipeline) checkExpr(l *diag.List, ptr string, n *Node, src string) {
	if strings.TrimSpace(src) == "" {
		return
	}
	if _, err := expr.Parse(src, p.posOf(ptr, n)); err != nil {
		for _, d := range diag.AsList(err) {
			d.Message = fmt.Sprintf("node %q: %s", n.ID, d.Message)
			l.Add(d)
		}
	}
}

func (p *Pipeline) checkDurations(l *diag.List, base string, n *Node) {
	check := func(ptr string, d Duration) {
		if d.IsExpr() {
			if _, err := expr.ParseTemplate(string(d), p.posOf(ptr, n)); err != nil {
				l.Errorf(p.posOf(ptr, n), "dag-duration", "node %q: %v", n.ID, err)
			}
			return
		}
		if _, err := d.Parse(); err != nil {
			l.Errorf(p.posOf(ptr, n), "dag-duration", "node %q: %v", n.ID, err)
		}
	}
	check(base+"/timeout", n.Timeout)
	check(base+"/start-in", n.StartIn)
	for k, s := range n.Steps {
		check(fmt.Sprintf("%s/steps/%d/timeout", base, k), s.Timeout)
	}
	if n.Artifacts != nil {
		for k, a := range n.Artifacts.Produces {
			check(fmt.Sprintf("%s/artifacts/produces/%d/expire-in", base, k), a.ExpireIn)
		}
	}
}

func (p *Pipeline) checkArtifacts(l *diag.List, index map[string]int) {
	for i, n := range p.Nodes {
		if n == nil || n.Artifacts == nil {
			continue
		}
		var ancestors map[string]bool
		for k, c := range n.Artifacts.Consumes {
			ptr := fmt.Sprintf("/nodes/%d/artifacts/consumes/%d", i, k)
			j, ok := index[c.From]
			if !ok {
				l.Errorf(p.posOf(ptr+"/from", n), "dag-artifact", "node %q consumes artifacts from %q, which is not a node of this pipeline", n.ID, c.From)
				continue
			}
			if ancestors == nil {
				ancestors = p.Ancestors(n.ID)
			}
			if !ancestors[c.From] {
				l.Errorf(p.posOf(ptr+"/from", n), "dag-artifact", "node %q consumes artifacts from %q, which it does not need", n.ID, c.From).
					Hint = fmt.Sprintf("add %q to its needs so that it runs first", c.From)
			}
			if c.Name == "" {
				continue
			}
			from := p.Nodes[j]
			if from.Artifacts == nil || !slices.ContainsFunc(from.Artifacts.Produces, func(a Artifact) bool { return a.Name == c.Name }) {
				l.Errorf(p.posOf(ptr+"/name", n), "dag-artifact", "node %q consumes artifact %q from %q, which produces no artifact of that name", n.ID, c.Name, c.From)
			}
		}
	}
}

// findCycle returns the ids of one cycle of needs (first id repeated at the
// end), or nil. Unknown needs are ignored; they are reported elsewhere.
func (p *Pipeline) findCycle(index map[string]int) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		n := p.Nodes[index[id]]
		for _, need := range slices.Sorted(slices.Values(n.Needs)) {
			if _, ok := index[need]; !ok || need == id {
				continue
			}
			switch color[need] {
			case grey:
				start := slices.Index(stack, need)
				found = append(slices.Clone(stack[start:]), need)
				return true
			case white:
				if visit(need) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, id := range p.ids() {
		if color[id] == white && visit(id) {
			return found
		}
	}
	return nil
}

// ids returns the node ids, sorted.
func (p *Pipeline) ids() []string {
	var ids []string
	for _, n := range p.Nodes {
		if n != nil && n.ID != "" {
			ids = append(ids, n.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// posOf returns where ptr was in the decoded DAG file; for a pipeline that
// was built in memory (by a translator) it falls back to the node's source.
func (p *Pipeline) posOf(ptr string, n *Node) diag.Pos {
	if p.positions != nil {
		for {
			if pos, ok := p.positions[ptr]; ok {
				return pos
			}
			i := strings.LastIndexByte(ptr, '/')
			if i < 0 {
				break
			}
			ptr = ptr[:i]
		}
	}
	if n != nil && n.Pos.IsValid() {
		return n.Pos.Pos
	}
	if p.Source != nil {
		return diag.Pos{File: p.Source.Path}
	}
	return diag.Pos{}
}

func joinWhens() string {
	s := make([]string, len(Whens))
	for i, w := range Whens {
		s[i] = strconv.Quote(string(w))
	}
	return strings.Join(s, ", ")
}
