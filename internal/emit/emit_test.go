package emit_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/internal/emit"
	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"
)

// The engine a fan-out job starts is the BuildKit gantry is built with,
// and so is the one docs/running.md deploys on Kubernetes.
func TestBuildKitImage(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/moby/buildkit" {
			version = r.Mod.Version
		}
	}
	if want := "moby/buildkit:" + version; emit.BuildKitImage != want {
		t.Errorf("BuildKitImage = %q; go.mod has %s", emit.BuildKitImage, want)
	}

	doc, err := os.ReadFile("../../docs/running.md")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, block := range bytes.Split(doc, []byte("```yaml\n"))[1:] {
		block, _, _ = bytes.Cut(block, []byte("```"))
		if !bytes.Contains(block, []byte("kind: Deployment")) {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(block))
		for {
			var obj struct {
				Kind string `yaml:"kind"`
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Image string `yaml:"image"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			if err := dec.Decode(&obj); err != nil {
				if !strings.Contains(err.Error(), "EOF") {
					t.Fatalf("docs/running.md's Kubernetes manifest: %v", err)
				}
				break
			}
			kinds[obj.Kind] = true
			for _, c := range obj.Spec.Template.Spec.Containers {
				if c.Image != emit.BuildKitImage {
					t.Errorf("docs/running.md deploys %s, gantry is built with %s", c.Image, emit.BuildKitImage)
				}
			}
		}
	}
	if !kinds["Deployment"] || !kinds["Service"] {
		t.Errorf("docs/running.md's Kubernetes manifest has kinds %v, want a Deployment and a Service", kinds)
	}
}

func TestFanOutCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opts     emit.Options
		from, to string
	}{
		{name: "the provider's default", opts: emit.Options{FanOut: true}, from: "type=gha", to: "type=gha,mode=max"},
		{name: "the user's", opts: emit.Options{FanOut: true, Cache: "type=registry,ref=r/c,mode=min"}, from: "type=registry,ref=r/c,mode=min", to: "type=registry,ref=r/c,mode=min"},
		{name: "none", opts: emit.Options{FanOut: true, Cache: "none"}},
		{name: "a shared engine", opts: emit.Options{FanOut: true, EngineSecret: "E"}},
		{name: "one job", opts: emit.Options{}},
	} {
		from, to := tc.opts.FanOutCache("type=gha")
		if from != tc.from || to != tc.to {
			t.Errorf("%s: %q, %q; want %q, %q", tc.name, from, to, tc.from, tc.to)
		}
	}
	if _, err := (emit.Options{DAG: "d", Cache: "ghcr.io/x"}).Normalize(); err == nil {
		t.Error("a cache not in BuildKit's syntax was taken")
	}
}
