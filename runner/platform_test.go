package runner

import (
	"runtime"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

func TestWantedPlatform(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ labels, goos, goarch string }{
		{"ubuntu-latest", "linux", ""},
		{"ubuntu-24.04-arm", "linux", "arm64"},
		{"windows-2022", "windows", ""},
		{"macos-latest", "darwin", "arm64"},
		{"macos-13", "darwin", "amd64"},
		{"macos-14-large", "darwin", "amd64"},
		{"self-hosted,linux,ARM64", "linux", "arm64"},
		{"self-hosted,Linux,X64", "linux", "amd64"},
		{"group:builders,self-hosted", "", ""},
		{"my-runner", "", ""},
	} {
		goos, goarch := wantedPlatform(tc.labels)
		if goos != tc.goos || goarch != tc.goarch {
			t.Errorf("%q: %s/%s, want %s/%s", tc.labels, goos, goarch, tc.goos, tc.goarch)
		}
	}
}

// A job for another OS is skipped with the reason; -P or --platform-host
// run it.
func TestPlanPlatforms(t *testing.T) {
	t.Parallel()
	other := "windows-latest"
	if runtime.GOOS == "windows" {
		other = "macos-latest"
	}
	p := &dag.Pipeline{Version: dag.Version, Nodes: []*dag.Node{
		{ID: "here", Platform: "ubuntu-latest", Steps: []dag.Step{{Run: "true"}}},
		{ID: "there", Platform: other, Steps: []dag.Step{{Run: "true"}}},
	}}
	if runtime.GOOS != "linux" {
		p.Nodes[0].Platform = ""
	}
	runs := func(opts Options) map[string]PlannedNode {
		opts.Source = t.TempDir()
		plan, err := MakePlan(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]PlannedNode{}
		for _, pn := range plan.Nodes {
			out[pn.Node.ID] = pn
		}
		return out
	}
	got := runs(Options{})
	if !got["here"].Run {
		t.Errorf("the job for this machine does not run: %s", got["here"].Why)
	}
	if got["there"].Run || !strings.Contains(got["there"].Why, "-P "+other+"=IMAGE") {
		t.Errorf("the %s job: run %v, why %q", other, got["there"].Run, got["there"].Why)
	}
	if got := runs(Options{Platforms: []string{other}}); !got["there"].Run {
		t.Errorf("-P %s=... does not run it: %s", other, got["there"].Why)
	}
	if got := runs(Options{PlatformHost: true}); !got["there"].Run {
		t.Errorf("--platform-host does not run it: %s", got["there"].Why)
	}
}
