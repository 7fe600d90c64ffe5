package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/internal/golden"
	"github.com/gantry-ci/gantry/internal/svgpng"
)

// TestGraphPictures draws three pipelines with gantry graph --format svg,
// turns the pictures into PNG and compares them with the golden images
// under testdata/graph, which were looked at before they were kept
// (-update rewrites them; look at them again then). A picture may differ
// from its golden image in at most 0.02% of its pixels, by more than a
// shade in a channel: anti-aliasing may change a little (on another
// processor's floating point), a layout may not; one edge routed
// otherwise changes 0.07-0.4% of a picture.
func TestGraphPictures(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(svgpng.FontDir + "DejaVuSans.ttf"); err != nil {
		t.Skip(svgpng.ErrNoFont)
	}
	corpus := os.Getenv("GANTRY_CORPUS")
	status := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(status, []byte(`{"nodes": [{"id": "format", "status": "success"}, {"id": "build", "status": "success"},
		{"id": "test", "status": "failure"}, {"id": "smoke.version", "status": "success"},
		{"id": "smoke.graph-testdata-example.dag.yaml", "status": "cancelled"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		corpus bool
		args   []string
	}{
		// gantry's own example with a run's statuses: colours and a legend.
		{name: "example-status", args: []string{"../../examples/ci.yml", "--status", status}},
		// A wide real workflow: 19 jobs, two matrices, jobs no edge joins.
		{name: "github-wide", corpus: true, args: []string{filepath.Join(corpus, "github/real-repos/kpreid+all-is-cubes/.github/workflows/ci.yml")}},
		// A GitLab pipeline with stages, needs and a stage barrier.
		{name: "gitlab-stages", corpus: true, args: []string{"--offline", filepath.Join(corpus, "gitlab/real-repos/OpenMW+openmw/.gitlab-ci.yml")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.corpus && corpus == "" {
				t.Skip("GANTRY_CORPUS is not set")
			}
			var out, errOut bytes.Buffer
			if code := run(append([]string{"graph", "--format", "svg"}, tc.args...), strings.NewReader(""), &out, &errOut); code != 0 {
				t.Fatalf("gantry graph: exit %d\n%s", code, errOut.String())
			}
			img, err := svgpng.Render(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := png.Encode(&got, img); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "graph", tc.name+".png")
			if golden.Updating() {
				golden.Check(t, path, got.Bytes())
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it, then look at it)", err)
			}
			defer f.Close()
			want, _, err := image.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if d := svgpng.Diff(img, want, 48); d > 0.0002 {
				saved := filepath.Join(t.TempDir(), tc.name+".png")
				os.WriteFile(saved, got.Bytes(), 0o644)
				t.Errorf("%s: %.2f%% of the pixels differ from %s (%v, golden %v); the new picture is %s — look at it, and run with -update to accept it",
					tc.name, d*100, path, img.Bounds().Size(), want.Bounds().Size(), saved)
			}
		})
	}
}
