package dag

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
)

// SVG layout, in pixels.
const (
	svgBoxW   = 200
	svgBoxH   = 46
	svgColGap = 70
	svgRowGap = 18
	svgMargin = 20
)

// WriteSVG draws the graph as a standalone SVG image, left to right: one
// column per level, nodes ordered to keep edges short (each by the mean
// row of what it needs), edges as curves. It is drawn here rather than by
// Graphviz so that gantry needs no layout engine at run time.
func (g *Graph) WriteSVG(w io.Writer) error {
	rows := map[string]float64{}
	cols := map[string]int{}
	byID := map[string]GraphNode{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	tallest := 0
	for lv, ids := range g.Levels {
		order := slices.Clone(ids)
		if lv > 0 {
			// Barycenter ordering: a node sits near the nodes it needs.
			key := map[string]float64{}
			for _, id := range order {
				var sum float64
				needs := byID[id].Needs
				for _, need := range needs {
					sum += rows[need]
				}
				if len(needs) > 0 {
					key[id] = sum / float64(len(needs))
				}
			}
			slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(key[a], key[b]) })
		}
		for i, id := range order {
			rows[id] = float64(i)
			cols[id] = lv
		}
		tallest = max(tallest, len(order))
	}
	width := svgMargin*2 + len(g.Levels)*svgBoxW + max(len(g.Levels)-1, 0)*svgColGap
	height := svgMargin*2 + tallest*svgBoxH + max(tallest-1, 0)*svgRowGap
	pos := func(id string) (x, y int) {
		return svgMargin + cols[id]*(svgBoxW+svgColGap), svgMargin + int(rows[id])*(svgBoxH+svgRowGap)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(cmp.Or(g.Name, "pipeline")))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>` + "\n")
	for _, e := range g.Edges {
		x1, y1 := pos(e[0])
		x2, y2 := pos(e[1])
		x1 += svgBoxW
		y1 += svgBoxH / 2
		y2 += svgBoxH / 2
		mid := (x1 + x2) / 2
		fmt.Fprintf(&b, `<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#arrow)"/>`+"\n", x1, y1, mid, y1, mid, y2, x2, y2)
	}
	for _, n := range g.Nodes {
		x, y := pos(n.ID)
		fill := cmp.Or(statusColors[n.Status], "#ffffff")
		fmt.Fprintf(&b, `<g><title>%s</title>`, html.EscapeString(strings.TrimSpace(n.ID+" "+string(n.Status))))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="%s" stroke="#555"/>`, x, y, svgBoxW, svgBoxH, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`, x+svgBoxW/2, y+19, html.EscapeString(clip(n.Name, 26)))
		if where := n.where(); where != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#444" font-size="11">%s</text>`, x+svgBoxW/2, y+36, html.EscapeString(clip(where, 30)))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// clip shortens s to n characters, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
