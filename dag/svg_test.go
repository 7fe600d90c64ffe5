package dag_test

import (
	"bytes"
	"encoding/xml"
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
