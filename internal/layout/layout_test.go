package layout

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestLayout: boxes of their asked sizes, ranks left to right along the
// edges, boxes of one rank apart, a route per edge from the source's
// border to the target's.
func TestLayout(t *testing.T) {
	t.Parallel()
	g := Graph{NodeSep: 20, RankSep: 50, Nodes: []Node{
		{ID: "a", Width: 100, Height: 40}, {ID: "b", Width: 80, Height: 30},
		{ID: "c", Width: 120, Height: 40}, {ID: "d", Width: 60, Height: 20},
	}, Edges: []Edge{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}, {"a", "d"}}}
	res, err := Layout(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		b := res.Boxes[n.ID]
		if b.Width != n.Width || b.Height != n.Height {
			t.Errorf("%s: box %v, want %vx%v", n.ID, b, n.Width, n.Height)
		}
		if b.X < 0 || b.Y < 0 || b.X+b.Width > res.Width+0.5 || b.Y+b.Height > res.Height+0.5 {
			t.Errorf("%s: box %v outside the drawing %vx%v", n.ID, b, res.Width, res.Height)
		}
	}
	a, b, c, d := res.Boxes["a"], res.Boxes["b"], res.Boxes["c"], res.Boxes["d"]
	if !(a.X+a.Width < b.X && a.X+a.Width < c.X && b.X+b.Width < d.X && c.X+c.Width < d.X) {
		t.Errorf("ranks not left to right: %v", res.Boxes)
	}
	if b.Y+b.Height > c.Y && c.Y+c.Height > b.Y {
		t.Errorf("b and c overlap: %v %v", b, c)
	}
	if len(res.Routes) != len(g.Edges) {
		t.Fatalf("%d routes for %d edges", len(res.Routes), len(g.Edges))
	}
	for i, r := range res.Routes {
		if len(r) < 2 {
			t.Errorf("edge %v: route %v", g.Edges[i], r)
			continue
		}
		from, to := res.Boxes[g.Edges[i].From], res.Boxes[g.Edges[i].To]
		if p := r[0]; !onBorder(p, from) {
			t.Errorf("edge %v starts at %v, not on its source's border %v", g.Edges[i], p, from)
		}
		if p := r[len(r)-1]; !onBorder(p, to) {
			t.Errorf("edge %v ends at %v, not on its target's border %v", g.Edges[i], p, to)
		}
	}
}

// TestLayoutCancelled: a cancelled context interrupts dagre.
func TestLayoutCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := Layout(ctx, Graph{Nodes: []Node{{ID: "a", Width: 1, Height: 1}}}); err == nil {
		t.Fatal("a cancelled layout succeeded")
	}
}

func onBorder(p Point, b Box) bool {
	in := func(x, lo, hi float64) bool { return x >= lo && x <= hi }
	near := in(p.X, b.X-1, b.X+b.Width+1) && in(p.Y, b.Y-1, b.Y+b.Height+1)
	inside := in(p.X, b.X+1, b.X+b.Width-1) && in(p.Y, b.Y+1, b.Y+b.Height-1)
	return near && !inside
}

// FuzzWrap: every line fits the width (but a single rune wider than it),
// no more lines than asked, and without a limit nothing of the text is
// lost or reordered.
func FuzzWrap(f *testing.F) {
	for _, s := range []string{"", "lint", "integration tests against every supported database engine",
		"a-very-long-job-identifier-without-any-spaces-at-all-anywhere", "test.ubuntu-latest-3.14t-no-deprecation",
		"ünïcödé 日本語のテスト名前です", "  spaced   out  ", "x\ty\nz"} {
		f.Add(s, 100.0, uint8(0))
		f.Add(s, 30.0, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, width float64, max uint8) {
		if !utf8.ValidString(s) || width != width || width < 1 || width > 2000 || len(s) > 500 {
			t.Skip()
		}
		lines := Wrap(s, 13, width, true, int(max))
		if max > 0 && len(lines) > int(max) {
			t.Fatalf("%d lines, at most %d asked", len(lines), max)
		}
		for _, l := range lines {
			if l == "" {
				t.Fatalf("an empty line in %q", lines)
			}
			if TextWidth(l, 13, true) > width+0.01 && utf8.RuneCountInString(strings.TrimSuffix(l, "…")) > 1 {
				t.Fatalf("line %q is %.1f wide, more than %.1f", l, TextWidth(l, 13, true), width)
			}
		}
		if max == 0 {
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if got := squash(strings.Join(lines, "")); got != squash(s) {
				t.Fatalf("lines %q lose or reorder %q", lines, s)
			}
		}
	})
}

// TestWrapLong: a name of 200,000 characters wraps in one pass (cutting
// each line by trying shorter and shorter prefixes took time cubic in its
// length, which the fuzzer found as a stall).
func TestWrapLong(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200_000)
	lines := Wrap(long, 13, 30, true, 0)
	if got := strings.Join(lines, ""); got != long {
		t.Fatalf("lines lose text: %d runes of %d", len(got), len(long))
	}
	if lines := Wrap(long+" end", 13, 220, true, 3); len(lines) != 3 || !strings.HasSuffix(lines[2], "…") {
		t.Fatalf("three lines ending in …, got %d: %q", len(lines), lines[len(lines)-1])
	}
}
