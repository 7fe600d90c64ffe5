package dag

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// Node returns the node with the given id, or nil.
func (p *Pipeline) Node(id string) *Node {
	for _, n := range p.Nodes {
		if n != nil && n.ID == id {
			return n
		}
	}
	return nil
}

// Ancestors returns every node id that id needs, directly or not.
func (p *Pipeline) Ancestors(id string) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(id string) {
		n := p.Node(id)
		if n == nil {
			return
		}
		for _, need := range n.Needs {
			if !out[need] {
				out[need] = true
				walk(need)
			}
		}
	}
	walk(id)
	return out
}

// Levels groups node ids by depth: level 0 needs nothing, level k needs
// only nodes of lower levels and at least one of level k-1. Ids within a
// level are sorted. It fails on a cycle or an unknown need.
func (p *Pipeline) Levels() ([][]string, error) {
	index := map[string]*Node{}
	for _, n := range p.Nodes {
		index[n.ID] = n
	}
	depth := map[string]int{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case 1:
			return fmt.Errorf("needs form a cycle: %s → %s", strings.Join(path, " → "), id)
		case 2:
			return nil
		}
		n, ok := index[id]
		if !ok {
			return fmt.Errorf("node %q needs %q, which is not a node of this pipeline", path[len(path)-1], id)
		}
		state[id] = 1
		d := 0
		for _, need := range n.Needs {
			if err := visit(need, append(path, id)); err != nil {
				return err
			}
			d = max(d, depth[need]+1)
		}
		depth[id] = d
		state[id] = 2
		return nil
	}
	for _, id := range p.ids() {
		if err := visit(id, nil); err != nil {
			return nil, err
		}
	}
	var levels [][]string
	for _, id := range p.ids() {
		d := depth[id]
		for len(levels) <= d {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], id)
	}
	return levels, nil
}

// TopoOrder returns node ids so that every node comes after all it needs;
// among nodes free to go, the order is by level, then by id.
func (p *Pipeline) TopoOrder() ([]string, error) {
	levels, err := p.Levels()
	if err != nil {
		return nil, err
	}
	return slices.Concat(levels...), nil
}

// Subset returns a copy of the pipeline holding only the named nodes and
// everything they need, in the original order. Unknown ids are an error.
func (p *Pipeline) Subset(ids ...string) (*Pipeline, error) {
	keep := map[string]bool{}
	for _, id := range ids {
		if p.Node(id) == nil {
			msg := fmt.Sprintf("no node %q in this pipeline", id)
			if s := diag.Closest(id, p.ids()); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, fmt.Errorf("%s", msg)
		}
		keep[id] = true
		for a := range p.Ancestors(id) {
			keep[a] = true
		}
	}
	q := *p
	q.Nodes = nil
	for _, n := range p.Nodes {
		if keep[n.ID] {
			q.Nodes = append(q.Nodes, n)
		}
	}
	return &q, nil
}
