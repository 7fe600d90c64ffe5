package dag_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

// TestSVGTextInBoxes: every line of text lies inside the box it labels
// (at the length it is drawn at), however long or unbroken the names,
// every matrix leg is drawn inside its job's box, and every edge is drawn.
func TestSVGTextInBoxes(t *testing.T) {
	t.Parallel()
	long := "integration tests against every supported database engine and operating system"
	g := &dag.Graph{Name: "p", Nodes: []dag.GraphNode{
		{ID: "lint", Name: "lint", Platform: "ubuntu-latest", Status: dag.StatusSuccess},
		{ID: "a-very-long-job-identifier-without-any-spaces-at-all-anywhere", Name: long, Needs: []string{"lint"}, Status: dag.StatusFailure},
		{ID: "test.1", Name: "test (1)", Group: "test", Leg: "1", Needs: []string{"lint"}, Image: "registry.example.com/some/very/long/image/path:with-a-long-tag"},
		{ID: "test.2", Name: "test (2)", Group: "test", Leg: "2", Needs: []string{"lint"}},
		{ID: "test.3", Name: "test (3)", Group: "test", Leg: "ünïcödé 日本語のテスト名前です", Needs: []string{"lint"}},
		{ID: "stage.deploy", Name: "stage.deploy", Barrier: true, Needs: []string{"test.1", "test.2", "test.3"}},
		{ID: "deploy", Name: "deploy", Needs: []string{"stage.deploy"}, Status: dag.StatusSkipped},
		{ID: "alone", Name: "alone"},
	}, Edges: [][2]string{{"lint", "a-very-long-job-identifier-without-any-spaces-at-all-anywhere"}, {"lint", "test.1"}, {"lint", "test.2"}, {"lint", "test.3"},
		{"test.1", "stage.deploy"}, {"test.2", "stage.deploy"}, {"test.3", "stage.deploy"}, {"stage.deploy", "deploy"}}}
	var b bytes.Buffer
	if err := g.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	type rect struct{ x, y, w, h float64 }
	var svg struct {
		Groups []struct {
			Title string `xml:"title"`
			Rects []struct {
				X      string `xml:"x,attr"`
				Y      string `xml:"y,attr"`
				Width  string `xml:"width,attr"`
				Height string `xml:"height,attr"`
			} `xml:"rect"`
			Texts []struct {
				X          string `xml:"x,attr"`
				Y          string `xml:"y,attr"`
				TextLength string `xml:"textLength,attr"`
				FontSize   string `xml:"font-size,attr"`
				TextAnchor string `xml:"text-anchor,attr"`
				Text       string `xml:",chardata"`
			} `xml:"text"`
		} `xml:"g"`
		Paths []struct {
			Title string `xml:"title"`
		} `xml:"path"`
		Texts []struct {
			Text string `xml:",chardata"`
		} `xml:"text"`
	}
	if err := xml.Unmarshal(b.Bytes(), &svg); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	var matrix rect
	seen := map[string]bool{}
	for _, g := range svg.Groups {
		if len(g.Rects) != 1 {
			t.Fatalf("group %q has %d boxes", g.Title, len(g.Rects))
		}
		r := rect{f(g.Rects[0].X), f(g.Rects[0].Y), f(g.Rects[0].Width), f(g.Rects[0].Height)}
		if g.Title == "test: matrix" {
			matrix = r
		}
		id, _, _ := strings.Cut(g.Title, " ")
		seen[id] = true
		if strings.HasPrefix(id, "test.") && (r.x < matrix.x || r.y < matrix.y || r.x+r.w > matrix.x+matrix.w || r.y+r.h > matrix.y+matrix.h) {
			t.Errorf("leg %s's box %v is outside its matrix's %v", id, r, matrix)
		}
		for _, tx := range g.Texts {
			x, w, size := f(tx.X), f(tx.TextLength), f(tx.FontSize)
			left := x
			if tx.TextAnchor == "middle" {
				left = x - w/2
			}
			if w <= 0 || left < r.x+2 || left+w > r.x+r.w-2 || f(tx.Y)-size < r.y || f(tx.Y) > r.y+r.h {
				t.Errorf("%s: text %q (x %v, length %v) is not inside its box %v", g.Title, tx.Text, left, w, r)
			}
		}
	}
	for _, id := range []string{"lint", "a-very-long-job-identifier-without-any-spaces-at-all-anywhere", "test.1", "test.2", "test.3", "stage.deploy", "deploy", "alone"} {
		if !seen[id] {
			t.Errorf("no box for %s", id)
		}
	}
	edges := 0
	for _, p := range svg.Paths {
		if p.Title != "" {
			edges++
		}
	}
	// The three legs' edges to lint and to the barrier are one each for
	// the matrix box.
	if edges != 4 {
		t.Errorf("%d edges drawn, want 4 (lint to the long job and to the matrix, the matrix to its stage, the stage to deploy)", edges)
	}
	var legend []string
	for _, tx := range svg.Texts {
		legend = append(legend, tx.Text)
	}
	if got := strings.Join(legend, " "); got != "p success failure skipped no status" {
		t.Errorf("title and legend: %q, want the statuses used, in order", got)
	}
}

// TestSVGEdgesAroundBoxes: no edge runs over a box, not even a long one
// past a tall matrix box, and every edge ends at its target's left side.
func TestSVGEdgesAroundBoxes(t *testing.T) {
	t.Parallel()
	g := &dag.Graph{Name: "p", Nodes: []dag.GraphNode{{ID: "setup", Name: "setup"}}}
	add := func(n dag.GraphNode) {
		g.Nodes = append(g.Nodes, n)
		for _, need := range n.Needs {
			g.Edges = append(g.Edges, [2]string{need, n.ID})
		}
	}
	for i := range 11 {
		add(dag.GraphNode{ID: fmt.Sprintf("build.%d", i), Name: fmt.Sprintf("build (%d)", i), Group: "build", Leg: strconv.Itoa(i), Needs: []string{"setup"}})
	}
	for i := range 7 {
		add(dag.GraphNode{ID: fmt.Sprintf("win.%d", i), Name: fmt.Sprintf("win (%d)", i), Group: "win", Leg: strconv.Itoa(i), Needs: []string{"setup"}})
	}
	add(dag.GraphNode{ID: "darwin", Name: "darwin", Needs: []string{"setup"}})
	add(dag.GraphNode{ID: "push", Name: "push", Needs: []string{"build.0", "build.3"}})
	add(dag.GraphNode{ID: "app", Name: "app", Needs: []string{"win.1", "setup"}})
	add(dag.GraphNode{ID: "release", Name: "release", Needs: []string{"push", "app", "darwin", "setup"}})
	var b bytes.Buffer
	if err := g.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	var svg struct {
		Groups []struct {
			Title string `xml:"title"`
			Rect  struct {
				X      float64 `xml:"x,attr"`
				Y      float64 `xml:"y,attr"`
				Width  float64 `xml:"width,attr"`
				Height float64 `xml:"height,attr"`
			} `xml:"rect"`
		} `xml:"g"`
		Paths []struct {
			D     string `xml:"d,attr"`
			Title string `xml:"title"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(b.Bytes(), &svg); err != nil {
		t.Fatal(err)
	}
	type box struct{ x, y, w, h float64 }
	boxes := map[string]box{}
	for _, g := range svg.Groups {
		id, _, _ := strings.Cut(g.Title, " ")
		if strings.HasSuffix(g.Title, ": matrix") {
			id = "group " + strings.TrimSuffix(g.Title, ": matrix")
		}
		boxes[id] = box{g.Rect.X, g.Rect.Y, g.Rect.Width, g.Rect.Height}
	}
	edges := 0
	for _, p := range svg.Paths {
		from, to, ok := strings.Cut(p.Title, " → ")
		if !ok {
			continue // an arrowhead
		}
		edges++
		var pts [][2]float64
		for _, f := range strings.Fields(strings.NewReplacer("M", " ", "L", " ", "Q", " ").Replace(p.D)) {
			xs, ys, _ := strings.Cut(f, ",")
			x, _ := strconv.ParseFloat(xs, 64)
			y, _ := strconv.ParseFloat(ys, 64)
			pts = append(pts, [2]float64{x, y})
		}
		if tb, last := boxes[to], pts[len(pts)-1]; last[0] < tb.x-0.5 || last[0] > tb.x+0.5 || last[1] < tb.y || last[1] > tb.y+tb.h {
			t.Errorf("%s: ends at %v, not on its target's left side %v", p.Title, last, tb)
		}
		for i := 1; i < len(pts); i++ {
			for k := 0.0; k <= 1; k += 0.02 {
				x := pts[i-1][0] + (pts[i][0]-pts[i-1][0])*k
				y := pts[i-1][1] + (pts[i][1]-pts[i-1][1])*k
				for id, bx := range boxes {
					if x > bx.x+1 && x < bx.x+bx.w-1 && y > bx.y+1 && y < bx.y+bx.h-1 {
						t.Errorf("%s runs over %s at (%.0f, %.0f)", p.Title, id, x, y)
						k = 2
						break
					}
				}
			}
		}
		if _, ok := boxes[from]; !ok {
			t.Errorf("%s: no box for its source", p.Title)
		}
	}
	if edges != 10 {
		t.Errorf("%d edges drawn, want 10", edges)
	}
}
