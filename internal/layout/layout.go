// Package layout places the boxes and routes the edges of a directed
// graph in layers (the Sugiyama method: ranks, crossing reduction,
// coordinates), with dagre (@dagrejs/dagre 3.1.3, MIT, dagre.min.js as
// published on npm), the layout engine of Mermaid and many CI pictures.
//
// dagre runs in goja, a JavaScript interpreter in pure Go, started only
// when Layout is called: nothing of it runs at gantry's start, which
// the WebAssembly Graphviz did (114 ms at every start).
package layout

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dop251/goja"
)

//go:embed dagre.min.js
var dagreJS string

// Graph is what to lay out. Its zero spacing values take dagre's
// defaults.
type Graph struct {
	// Dir is the direction of the edges: "LR" (the default), "TB", "RL"
	// or "BT".
	Dir string
	// NodeSep is the space between boxes of one rank, RankSep between
	// ranks, EdgeSep between edges routed side by side.
	NodeSep, RankSep, EdgeSep float64
	Nodes                     []Node
	Edges                     []Edge
}

// Node is a box of a given size.
type Node struct {
	ID            string
	Width, Height float64
}

// Edge goes from the node From to the node To.
type Edge struct{ From, To string }

// Point is a position; Y grows downwards.
type Point struct{ X, Y float64 }

// Box is a placed node: its top-left corner and size.
type Box struct{ X, Y, Width, Height float64 }

// Result is the layout: the drawing's size, each node's box by id, and
// each edge's route (in Graph.Edges' order), from the border of its
// source to the border of its target, through the points dagre keeps
// clear of the boxes between.
type Result struct {
	Width, Height float64
	Boxes         map[string]Box
	Routes        [][]Point
}

// Layout places g. Its context bounds the layout's time: dagre is
// interrupted when it is done.
func Layout(ctx context.Context, g Graph) (*Result, error) {
	in, err := json.Marshal(g.input())
	if err != nil {
		return nil, err
	}
	vm := goja.New()
	stop := context.AfterFunc(ctx, func() { vm.Interrupt(context.Cause(ctx)) })
	defer stop()
	// dagre 3 calls structuredClone on arrays of strings, which goja lacks.
	if _, err := vm.RunString("var structuredClone = function (v) { return JSON.parse(JSON.stringify(v)); };\n" + dagreJS); err != nil {
		return nil, fmt.Errorf("layout: loading dagre: %w", err)
	}
	if err := vm.Set("input", string(in)); err != nil {
		return nil, err
	}
	v, err := vm.RunString(script)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	var out struct {
		Width, Height float64
		Nodes         []struct{ X, Y, W, H float64 }
		Edges         [][]Point
	}
	if err := json.Unmarshal([]byte(v.String()), &out); err != nil {
		return nil, fmt.Errorf("layout: dagre's answer: %w", err)
	}
	if len(out.Nodes) != len(g.Nodes) || len(out.Edges) != len(g.Edges) {
		return nil, fmt.Errorf("layout: dagre placed %d of %d nodes and %d of %d edges", len(out.Nodes), len(g.Nodes), len(out.Edges), len(g.Edges))
	}
	res := &Result{Width: out.Width, Height: out.Height, Boxes: map[string]Box{}, Routes: out.Edges}
	for i, n := range out.Nodes {
		// dagre gives centres.
		res.Boxes[g.Nodes[i].ID] = Box{X: n.X - n.W/2, Y: n.Y - n.H/2, Width: n.W, Height: n.H}
	}
	return res, nil
}

type input struct {
	Graph map[string]any `json:"graph"`
	Nodes [][3]any       `json:"nodes"`
	Edges [][2]string    `json:"edges"`
}

func (g Graph) input() input {
	opts := map[string]any{"rankdir": "LR"}
	if g.Dir != "" {
		opts["rankdir"] = g.Dir
	}
	for k, v := range map[string]float64{"nodesep": g.NodeSep, "ranksep": g.RankSep, "edgesep": g.EdgeSep} {
		if v > 0 {
			opts[k] = v
		}
	}
	in := input{Graph: opts, Nodes: [][3]any{}, Edges: [][2]string{}}
	for _, n := range g.Nodes {
		in.Nodes = append(in.Nodes, [3]any{n.ID, n.Width, n.Height})
	}
	for _, e := range g.Edges {
		in.Edges = append(in.Edges, [2]string{e.From, e.To})
	}
	return in
}

// script lays out the JSON in input and answers JSON. A multigraph keeps
// every edge, so routes come back one per edge asked for, in order.
const script = `(function () {
  var in_ = JSON.parse(input);
  var g = new dagre.graphlib.Graph({multigraph: true});
  g.setGraph(in_.graph);
  in_.nodes.forEach(function (n) { g.setNode(n[0], {width: n[1], height: n[2]}); });
  in_.edges.forEach(function (e, i) { g.setEdge(e[0], e[1], {}, "e" + i); });
  dagre.layout(g);
  var gl = g.graph();
  return JSON.stringify({
    width: gl.width, height: gl.height,
    nodes: in_.nodes.map(function (n) { var b = g.node(n[0]); return {x: b.x, y: b.y, w: b.width, h: b.height}; }),
    edges: in_.edges.map(function (e, i) { return g.edge(e[0], e[1], "e" + i).points; })
  });
})()`

// Timeout is a bound for a caller without its own: a pipeline of a few
// hundred nodes lays out in well under a second.
const Timeout = 30 * time.Second
