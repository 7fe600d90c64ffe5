package dag

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Status is a node's outcome in a run record, used to colour graphs.
type Status string

const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusSuccess   Status = "success"
	StatusFailure   Status = "failure"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	StatusAllowed   Status = "allowed-failure"
)

// statusColors are fill colours (light, readable in light and dark viewers).
var statusColors = map[Status]string{
	StatusPending:   "#eeeeee",
	StatusRunning:   "#cfe2ff",
	StatusSuccess:   "#c8f0c8",
	StatusFailure:   "#f8c8c8",
	StatusSkipped:   "#e0e0e0",
	StatusCancelled: "#f0e0b0",
	StatusAllowed:   "#fde5b0",
}

// GraphOptions tune graph export. The zero value draws the bare DAG.
type GraphOptions struct {
	// Status colours nodes by their outcome in a run, by node id.
	Status map[string]Status
}

// GraphNode is a node as graph exports show it.
type GraphNode struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Platform string   `json:"platform,omitempty"`
	Image    string   `json:"image,omitempty"`
	Needs    []string `json:"needs,omitempty"`
	Level    int      `json:"level"`
	Status   Status   `json:"status,omitempty"`
	// Group is the job whose matrix made this node, Leg the matrix values
	// that tell it from the job's other nodes.
	Group string `json:"group,omitempty"`
	Leg   string `json:"leg,omitempty"`
	// Barrier marks a GitLab stage barrier: gantry's plumbing between
	// stages, not a job.
	Barrier bool `json:"barrier,omitempty"`
}

// Graph is the JSON export: nodes in topological order and the edges between them.
type Graph struct {
	Name   string      `json:"name,omitempty"`
	Nodes  []GraphNode `json:"nodes"`
	Edges  [][2]string `json:"edges"`
	Levels [][]string  `json:"levels"`
}

// BuildGraph lays out the pipeline for export.
func (p *Pipeline) BuildGraph(opts GraphOptions) (*Graph, error) {
	levels, err := p.Levels()
	if err != nil {
		return nil, err
	}
	g := &Graph{Name: p.Name, Levels: levels, Edges: [][2]string{}}
	for lv, ids := range levels {
		for _, id := range ids {
			n := p.Node(id)
			needs := slices.Sorted(slices.Values(n.Needs))
			gn := GraphNode{
				ID: id, Name: n.Label(), Platform: n.Platform, Image: n.Image,
				Needs: needs, Level: lv, Status: opts.Status[id],
				Barrier: strings.HasPrefix(id, "stage.") && len(n.Steps) == 0 && n.Uses == "" && n.MatrixFrom == "",
			}
			if n.Strategy != nil && n.Strategy.Group != "" {
				gn.Group = n.Strategy.Group
				var vals []string
				for _, k := range slices.Sorted(maps.Keys(n.Matrix)) {
					v := n.Matrix[k]
					if s, ok := v.(string); ok {
						vals = append(vals, s)
					} else if b, err := json.Marshal(v); err == nil {
						vals = append(vals, string(b))
					}
				}
				gn.Leg = strings.Join(vals, ", ")
			}
			g.Nodes = append(g.Nodes, gn)
			for _, need := range slices.Compact(needs) {
				g.Edges = append(g.Edges, [2]string{need, id})
			}
		}
	}
	return g, nil
}

// WriteJSON writes the graph as indented JSON.
func (g *Graph) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

func (n GraphNode) where() string {
	if n.Image != "" {
		return n.Image
	}
	return n.Platform
}

// WriteMermaid writes a Mermaid flowchart, left to right.
func (g *Graph) WriteMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	for i, n := range g.Nodes {
		ids[n.ID] = fmt.Sprintf("n%d", i)
		label := mermaidText(n.Name)
		if n.where() != "" {
			label += "<br/><small>" + mermaidText(n.where()) + "</small>"
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[n.ID], label)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s --> %s\n", ids[e[0]], ids[e[1]])
	}
	used := map[Status][]string{}
	for _, n := range g.Nodes {
		if n.Status != "" {
			used[n.Status] = append(used[n.Status], ids[n.ID])
		}
	}
	for _, s := range slices.Sorted(maps.Keys(used)) {
		color := statusColors[s]
		if color == "" {
			continue
		}
		class := strings.ReplaceAll(string(s), "-", "_")
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:#555\n", class, color)
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(used[s], ","), class)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes a label for a quoted Mermaid node.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ")
	return r.Replace(s)
}

// WriteDOT writes a Graphviz digraph, left to right.
func (g *Graph) WriteDOT(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotString(cmp.Or(g.Name, "pipeline")))
	b.WriteString("  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n")
	for _, n := range g.Nodes {
		label := n.Name
		if n.where() != "" {
			label += "\n" + n.where()
		}
		attrs := "label=" + dotString(label)
		if c := statusColors[n.Status]; c != "" {
			attrs += ", fillcolor=" + dotString(c) + ", tooltip=" + dotString(string(n.Status))
		}
		fmt.Fprintf(&b, "  %s [%s];\n", dotString(n.ID), attrs)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s -> %s;\n", dotString(e[0]), dotString(e[1]))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
