package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionFromBuildInfo: what each way of building records becomes the
// version and commit gantry version prints.
func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{name: "go install module@v1.2.3", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			want: "gantry v1.2.3\n"},
		{name: "go install module@commit", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201144450-c34eaea1482a"}},
			want: "gantry v0.0.0-20261201144450-c34eaea1482a\ncommit c34eaea1482a\n"},
		{name: "go build in a checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "c34eaea1482af414a4d653f75c3c31d2d13d5785"},
			{Key: "vcs.time", Value: "2026-12-01T14:44:50Z"}, {Key: "vcs.modified", Value: "true"}}},
			want: "gantry v0.0.0-20261201144450-c34eaea1482a+dirty\ncommit c34eaea1482af414a4d653f75c3c31d2d13d5785 (2026-12-01T14:44:50Z, modified)\n"},
		{name: "nothing recorded", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "gantry devel\n"},
		{name: "no build information", want: "gantry devel\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionFrom(tc.bi, false).String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionBuilds builds gantry as a developer and a release script do
// and asks each binary its version: with -buildvcs=false the commit comes
// from the source tree, with -ldflags -X from the stamp.
func TestVersionBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gantry twice")
	}
	t.Parallel()
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	rev := strings.TrimSpace(string(head))
	dir := t.TempDir()
	build := func(name string, args ...string) string {
		t.Helper()
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", name, err)
		}
		return string(out)
	}
	got := build("novcs", "-buildvcs=false")
	if !strings.Contains(got, "\ncommit "+rev+" (") || !strings.Contains(got, "read at run time from") {
		t.Errorf("-buildvcs=false: no commit %s from the source tree:\n%s", rev, got)
	}
	if !strings.HasPrefix(got, "gantry v0.0.0-") || !strings.Contains(got, "-"+rev[:12]) {
		t.Errorf("-buildvcs=false: no pseudo-version of %s:\n%s", rev[:12], got)
	}
	got = build("stamped", "-buildvcs=false", "-ldflags", "-X main.version=v9.8.7 -X main.commit="+rev)
	if want := "gantry v9.8.7\ncommit " + rev + "\n"; !strings.HasPrefix(got, want) {
		t.Errorf("stamped: got\n%s\nwant it to start with\n%s", got, want)
	}
}

// TestDefaultGantryVersion: an emitted trigger installs this gantry's
// release, and latest from a development build.
func TestDefaultGantryVersion(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{
		"v1.2.3": "v1.2.3", "v2.0.0-rc.1": "v2.0.0-rc.1",
		"v0.0.0-20261201144450-c34eaea1482a": "latest", "v0.0.0-20261201144450-c34eaea1482a+dirty": "latest",
		"v1.2.3+dirty": "latest", "devel": "latest", "": "latest",
	} {
		if got := defaultGantryVersion(v); got != want {
			t.Errorf("defaultGantryVersion(%q) = %q, want %q", v, got, want)
		}
	}
}
