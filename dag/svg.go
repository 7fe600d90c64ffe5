package dag

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/internal/layout"
)

// The picture's measures, in pixels.
const (
	svgMargin    = 20
	svgPad       = 10  // inside a box, around its text
	svgMaxText   = 220 // the widest a box's text runs before it wraps
	svgMinBox    = 110
	svgNameSize  = 13
	svgSmallSize = 11
	svgLine      = 1.3 // line height, in font sizes
	svgCellGap   = 8   // between the legs of a matrix
	svgPackGap   = 40  // between parts of the graph that no edge joins
)

// WriteSVG draws the graph as a standalone SVG image, left to right: each
// box holds a job's name, wrapped to fit, its id when the name is not
// its id, and its platform or image; the legs of a matrix sit in a box
// of their job; GitLab's stage barriers are small stage marks; with
// statuses, boxes are coloured and a legend says what each colour is.
// The boxes are placed and the edges routed around them by dagre
// (internal/layout), each part of the graph that no edge joins laid out
// on its own and the parts packed into rows, so a wide pipeline reads as
// a page rather than one long column.
func (g *Graph) WriteSVG(w io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), layout.Timeout)
	defer cancel()
	return g.WriteSVGContext(ctx, w)
}

// WriteSVGContext is WriteSVG with a context bounding the layout.
func (g *Graph) WriteSVGContext(ctx context.Context, w io.Writer) error {
	d := newDrawing(g)
	if err := d.place(ctx); err != nil {
		return err
	}
	_, err := io.WriteString(w, d.svg())
	return err
}

// svgText is one line of text to draw.
type svgText struct {
	s    string
	size float64
	bold bool
	fill string
	// class says what the line is (name, id, where), for pages that
	// restyle or replace a line.
	class string
}

func (t svgText) width() float64 { return layout.TextWidth(t.s, t.size, t.bold) }

// item is what the layout places: a node's box, a matrix job's box of
// legs, or a stage mark.
type item struct {
	id    string
	w, h  float64
	node  *GraphNode   // a single node or stage mark
	legs  []*GraphNode // a matrix job's legs
	title []svgText    // a matrix box's heading
	cols  int          // legs per row
	cellW float64
	rowH  []float64
	x, y  float64 // placed top-left corner
	texts map[string][]svgText
}

type drawing struct {
	g      *Graph
	items  []*item
	of     map[string]*item // node id to the item that holds it
	edges  [][2]*item
	routes [][]layout.Point
	width  float64
	height float64
	top    float64 // where the graph starts, under the title and legend
	legend []Status
}

func newDrawing(g *Graph) *drawing {
	d := &drawing{g: g, of: map[string]*item{}}
	groups := map[string]*item{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Group != "" && g.groupSize(n.Group) > 1 {
			it := groups[n.Group]
			if it == nil {
				it = &item{id: "group " + n.Group, texts: map[string][]svgText{}}
				groups[n.Group] = it
				d.items = append(d.items, it)
			}
			it.legs = append(it.legs, n)
			d.of[n.ID] = it
			continue
		}
		it := &item{id: n.ID, node: n, texts: map[string][]svgText{}}
		d.items = append(d.items, it)
		d.of[n.ID] = it
	}
	for _, it := range d.items {
		it.measure()
	}
	seen := map[[2]*item]bool{}
	for _, e := range g.Edges {
		from, to := d.of[e[0]], d.of[e[1]]
		if from == nil || to == nil || from == to || seen[[2]*item{from, to}] {
			continue // within a matrix, or drawn already
		}
		seen[[2]*item{from, to}] = true
		d.edges = append(d.edges, [2]*item{from, to})
	}
	used := map[Status]bool{}
	for _, n := range g.Nodes {
		if n.Status != "" {
			used[n.Status] = true
		}
	}
	for _, s := range []Status{StatusSuccess, StatusFailure, StatusAllowed, StatusCancelled, StatusSkipped, StatusRunning, StatusPending} {
		if used[s] {
			d.legend = append(d.legend, s)
		}
	}
	if len(d.legend) > 0 && slices.ContainsFunc(g.Nodes, func(n GraphNode) bool { return n.Status == "" && !n.Barrier }) {
		d.legend = append(d.legend, "") // the white of a node the run has no status for
	}
	return d
}

func (g *Graph) groupSize(group string) int {
	n := 0
	for _, gn := range g.Nodes {
		if gn.Group == group {
			n++
		}
	}
	return n
}

// nodeTexts are the lines of a node's box: its name (or, in a matrix
// box, its matrix values), its id, its platform or image.
func nodeTexts(n *GraphNode, inGroup bool) []svgText {
	name := n.Name
	if inGroup && n.Leg != "" {
		name = n.Leg
	}
	var out []svgText
	for _, l := range layout.Wrap(name, svgNameSize, svgMaxText, true, 3) {
		out = append(out, svgText{s: l, size: svgNameSize, bold: true, fill: "#1f2328", class: "name"})
	}
	if n.ID != n.Name {
		for _, l := range layout.Wrap(n.ID, svgSmallSize, svgMaxText, false, 2) {
			out = append(out, svgText{s: l, size: svgSmallSize, fill: "#57606a", class: "id"})
		}
	}
	if where := n.where(); where != "" {
		for _, l := range layout.Wrap(where, svgSmallSize, svgMaxText, false, 1) {
			out = append(out, svgText{s: l, size: svgSmallSize, fill: "#57606a", class: "where"})
		}
	}
	return out
}

func textsSize(ts []svgText) (w, h float64) {
	for _, t := range ts {
		w = max(w, t.width())
		h += t.size * svgLine
	}
	return w, h
}

// measure sizes an item's box around its text.
func (it *item) measure() {
	switch {
	case it.node != nil && it.node.Barrier:
		stage := strings.TrimPrefix(it.node.ID, "stage.")
		ts := []svgText{{s: "end of stage " + stage, size: svgSmallSize, fill: "#57606a"}}
		it.texts[it.node.ID] = ts
		w, h := textsSize(ts)
		it.w, it.h = w+2*svgPad, h+svgPad
	case it.node != nil:
		ts := nodeTexts(it.node, false)
		it.texts[it.node.ID] = ts
		w, h := textsSize(ts)
		it.w, it.h = max(w+2*svgPad, svgMinBox), h+2*svgPad
	default:
		for _, leg := range it.legs {
			ts := nodeTexts(leg, true)
			it.texts[leg.ID] = ts
			w, _ := textsSize(ts)
			it.cellW = max(it.cellW, w+2*svgPad, svgMinBox)
		}
		// Near square in cells, a little taller than wide: the graph runs
		// left to right. Cells are as wide as the widest, rows as tall as
		// their tallest.
		it.cols = max(1, int(math.Ceil(math.Sqrt(float64(len(it.legs))/2))))
		rows := (len(it.legs) + it.cols - 1) / it.cols
		it.rowH = make([]float64, rows)
		for k, leg := range it.legs {
			_, h := textsSize(it.texts[leg.ID])
			it.rowH[k/it.cols] = max(it.rowH[k/it.cols], h+2*svgPad)
		}
		gridH := float64(rows-1) * svgCellGap
		for _, h := range it.rowH {
			gridH += h
		}
		group := it.legs[0].Group
		it.title = []svgText{{s: group, size: svgNameSize, bold: true, fill: "#1f2328"},
			{s: fmt.Sprintf("matrix: %d jobs", len(it.legs)), size: svgSmallSize, fill: "#57606a"}}
		tw, th := textsSize(it.title)
		it.w = max(float64(it.cols)*it.cellW+float64(it.cols-1)*svgCellGap, tw) + 2*svgPad
		it.h = th + svgPad + gridH + 2*svgPad
	}
}

// place lays each part of the graph out with dagre and packs the parts.
func (d *drawing) place(ctx context.Context) error {
	// The parts: items joined by edges.
	parent := make([]int, len(d.items))
	index := map[*item]int{}
	for i, it := range d.items {
		parent[i], index[it] = i, i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, e := range d.edges {
		parent[find(index[e[0]])] = find(index[e[1]])
	}
	type part struct {
		items []*item
		edges []int
		w, h  float64
	}
	parts := map[int]*part{}
	var order []*part
	for i, it := range d.items {
		r := find(i)
		if parts[r] == nil {
			parts[r] = &part{}
			order = append(order, parts[r])
		}
		parts[r].items = append(parts[r].items, it)
	}
	for i, e := range d.edges {
		p := parts[find(index[e[0]])]
		p.edges = append(p.edges, i)
	}
	d.routes = make([][]layout.Point, len(d.edges))
	for _, p := range order {
		if len(p.items) == 1 {
			p.w, p.h = p.items[0].w, p.items[0].h
			continue
		}
		lg := layout.Graph{NodeSep: 18, RankSep: 56, EdgeSep: 12}
		for _, it := range p.items {
			lg.Nodes = append(lg.Nodes, layout.Node{ID: it.id, Width: it.w, Height: it.h})
		}
		for _, i := range p.edges {
			lg.Edges = append(lg.Edges, layout.Edge{From: d.edges[i][0].id, To: d.edges[i][1].id})
		}
		res, err := layout.Layout(ctx, lg)
		if err != nil {
			return err
		}
		for _, it := range p.items {
			b := res.Boxes[it.id]
			it.x, it.y = b.X, b.Y
		}
		for k, i := range p.edges {
			d.routes[i] = sideways(res.Routes[k], res.Boxes[d.edges[i][0].id], res.Boxes[d.edges[i][1].id])
		}
		p.w, p.h = res.Width, res.Height
	}
	// Pack the parts into rows, the largest first, no wider than the
	// widest part or a near-square page of them all.
	slices.SortStableFunc(order, func(a, b *part) int {
		return cmp.Or(cmp.Compare(len(b.items), len(a.items)), cmp.Compare(b.h, a.h))
	})
	area, widest := 0.0, 0.0
	for _, p := range order {
		area += (p.w + svgPackGap) * (p.h + svgPackGap)
		widest = max(widest, p.w)
	}
	limit := max(widest, math.Sqrt(area)*1.4)
	d.top = svgMargin + 15*svgLine
	if len(d.legend) > 0 {
		d.top += svgSmallSize*svgLine + 8
	}
	d.top += 10
	x, y, rowH := 0.0, 0.0, 0.0
	for _, p := range order {
		if x > 0 && x+p.w > limit {
			x, y, rowH = 0, y+rowH+svgPackGap, 0
		}
		dx, dy := svgMargin+x, d.top+y
		for _, it := range p.items {
			it.x += dx
			it.y += dy
		}
		for _, i := range p.edges {
			for k := range d.routes[i] {
				d.routes[i][k].X += dx
				d.routes[i][k].Y += dy
			}
		}
		x += p.w + svgPackGap
		rowH = max(rowH, p.h)
		d.width = max(d.width, svgMargin+x-svgPackGap+svgMargin)
	}
	d.height = d.top + y + rowH + svgMargin
	title := svgText{s: cmp.Or(d.g.Name, "pipeline"), size: 15, bold: true}
	d.width = max(d.width, svgMargin*2+title.width(), svgMargin*2+d.legendWidth())
	return nil
}

func (d *drawing) legendWidth() float64 {
	w := 0.0
	for _, s := range d.legend {
		w += 14 + 6 + layout.TextWidth(legendText(s), svgSmallSize, false) + 16
	}
	return w
}

func legendText(s Status) string { return cmp.Or(string(s), "no status") }

func statusFill(s Status) string { return cmp.Or(statusColors[s], "#ffffff") }

// svg writes the placed drawing.
func (d *drawing) svg() string {
	var b strings.Builder
	w, h := math.Ceil(d.width), math.Ceil(d.height)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="%s">`+"\n", w, h, w, h, layout.Font)
	name := cmp.Or(d.g.Name, "pipeline")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(name))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%g" height="%g" fill="#ffffff"/>`+"\n", w, h)
	text(&b, svgText{s: name, size: 15, bold: true, fill: "#1f2328"}, svgMargin, svgMargin+15, "start")
	if len(d.legend) > 0 {
		x, y := float64(svgMargin), svgMargin+15*svgLine+4
		for _, s := range d.legend {
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="14" height="14" rx="3" fill="%s" stroke="#57606a"/>`+"\n", x, y, statusFill(s))
			t := svgText{s: legendText(s), size: svgSmallSize, fill: "#1f2328"}
			text(&b, t, x+20, y+11, "start")
			x += 20 + t.width() + 16
		}
	}
	// Matrix boxes first, then the edges over them, then the boxes the
	// edges are routed around.
	for _, it := range d.items {
		if it.legs == nil {
			continue
		}
		fmt.Fprintf(&b, `<g><title>%s</title>`, html.EscapeString(it.legs[0].Group+": matrix"))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="10" fill="#f6f8fa" stroke="#8c959f" stroke-dasharray="5,3"/>`, it.x, it.y, it.w, it.h)
		ty := it.y + svgPad
		for _, t := range it.title {
			ty += t.size
			text(&b, t, it.x+svgPad, ty, "start")
			ty += t.size * (svgLine - 1)
		}
		b.WriteString("</g>\n")
	}
	for i, e := range d.edges {
		edge(&b, d.routes[i], e)
	}
	for _, it := range d.items {
		switch {
		case it.node != nil:
			box(&b, it.node, it.texts[it.node.ID], it.x, it.y, it.w, it.h)
		default:
			top := it.y + svgPad
			for _, t := range it.title {
				top += t.size * svgLine
			}
			top += svgPad
			for k, leg := range it.legs {
				if k > 0 && k%it.cols == 0 {
					top += it.rowH[k/it.cols-1] + svgCellGap
				}
				cx := it.x + svgPad + float64(k%it.cols)*(it.cellW+svgCellGap)
				box(&b, leg, it.texts[leg.ID], cx, top, it.cellW, it.rowH[k/it.cols])
			}
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// box draws a node's box and its lines of text, centred.
func box(b *strings.Builder, n *GraphNode, ts []svgText, x, y, w, h float64) {
	// The id first and alone before a space: the web view finds a node's
	// box by it.
	tip := n.ID
	if n.Status != "" {
		tip += " " + string(n.Status)
	}
	fmt.Fprintf(b, `<g><title>%s</title>`, html.EscapeString(tip))
	if n.Barrier {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%.1f" fill="%s" stroke="#8c959f" stroke-dasharray="3,2"/>`, x, y, w, h, h/2, cmp.Or(statusColors[n.Status], "#f6f8fa"))
	} else {
		stroke := "#57606a"
		if n.Status == StatusFailure {
			stroke = "#cf222e"
		}
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="%s" stroke="%s" stroke-width="1.2"/>`, x, y, w, h, statusFill(n.Status), stroke)
	}
	_, th := textsSize(ts)
	ty := y + (h-th)/2
	for _, t := range ts {
		ty += t.size
		text(b, t, x+w/2, ty, "middle")
		ty += t.size * (svgLine - 1)
	}
	b.WriteString("</g>\n")
}

// text writes one line at its measured length, so that a viewer whose
// font is wider than DejaVu Sans still keeps it inside its box.
func text(b *strings.Builder, t svgText, x, y float64, anchor string) {
	weight := ""
	if t.bold {
		weight = ` font-weight="bold"`
	}
	class := ""
	if t.class != "" {
		class = ` class="` + t.class + `"`
	}
	fmt.Fprintf(b, `<text%s x="%.1f" y="%.1f" font-size="%g"%s fill="%s" text-anchor="%s" textLength="%.1f" lengthAdjust="spacingAndGlyphs">%s</text>`,
		class, x, y, t.size, weight, cmp.Or(t.fill, "#1f2328"), anchor, t.width(), html.EscapeString(t.s))
}

// edge draws a route as a smooth curve through dagre's points, with an
// arrowhead at its target.
func edge(b *strings.Builder, pts []layout.Point, e [2]*item) {
	if len(pts) < 2 {
		return
	}
	var p strings.Builder
	// Straight runs with their corners rounded, never further than the
	// radius from the route, which keeps clear of the boxes.
	fmt.Fprintf(&p, "M%.1f,%.1f", pts[0].X, pts[0].Y)
	for i := 1; i+1 < len(pts); i++ {
		prev, at, next := pts[i-1], pts[i], pts[i+1]
		in, out := math.Hypot(at.X-prev.X, at.Y-prev.Y), math.Hypot(next.X-at.X, next.Y-at.Y)
		if in == 0 || out == 0 {
			continue
		}
		r := min(8, in/2, out/2)
		fmt.Fprintf(&p, " L%.1f,%.1f Q%.1f,%.1f %.1f,%.1f",
			at.X-(at.X-prev.X)/in*r, at.Y-(at.Y-prev.Y)/in*r, at.X, at.Y,
			at.X+(next.X-at.X)/out*r, at.Y+(next.Y-at.Y)/out*r)
	}
	last := pts[len(pts)-1]
	fmt.Fprintf(&p, " L%.1f,%.1f", last.X, last.Y)
	fmt.Fprintf(b, `<path d="%s" fill="none" stroke="#6e7781" stroke-width="1.4"><title>%s</title></path>`+"\n",
		p.String(), html.EscapeString(e[0].id+" → "+e[1].id))
	// The arrowhead points along the last run.
	end, before := pts[len(pts)-1], pts[len(pts)-2]
	dx, dy := end.X-before.X, end.Y-before.Y
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	dx, dy = dx/l, dy/l
	const size = 8
	bx, by := end.X-dx*size, end.Y-dy*size
	fmt.Fprintf(b, `<path d="M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z" fill="#6e7781"/>`+"\n",
		end.X, end.Y, bx-dy*size/2, by+dx*size/2, bx+dy*size/2, by-dx*size/2)
}

// sideways turns dagre's route into one of level and upright runs, which
// keeps clear of every box: it leaves its source by the right side and
// enters its target by the left, runs upright only in the gaps between
// ranks (where dagre puts every other point of a route, the place of a
// label gantry does not draw) and level through a rank only at the height
// dagre kept free for it there. dagre's own ends lie where the line to
// the next point crosses the border, for a steep edge the top or bottom,
// and the straight lines between its points cut across boxes.
func sideways(pts []layout.Point, from, to layout.Box) []layout.Point {
	start := layout.Point{X: from.X + from.Width, Y: from.Y + from.Height/2}
	end := layout.Point{X: to.X, Y: to.Y + to.Height/2}
	var inner []layout.Point
	if len(pts) >= 3 {
		inner = pts[1 : len(pts)-1]
	}
	out := []layout.Point{start}
	y, x := start.Y, start.X
	for i := 0; i < len(inner); i += 2 {
		next := end.Y
		if i+1 < len(inner) {
			next = inner[i+1].Y
		}
		x = inner[i].X
		out = append(out, layout.Point{X: x, Y: y}, layout.Point{X: x, Y: next})
		y = next
	}
	if y != end.Y {
		// No gap before the target (dagre gave no points): turn halfway.
		x = (x + end.X) / 2
		out = append(out, layout.Point{X: x, Y: y}, layout.Point{X: x, Y: end.Y})
	}
	return append(out, end)
}
