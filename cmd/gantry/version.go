package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/gantry-ci/gantry/dag"
)

// version and commit are stamped by a build script (scripts/build):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=SHA" ./cmd/gantry
//
// Without them they come from the build information: the module version
// that go install module@version records, or the VCS stamp of a build in
// a checkout. A build with -buildvcs=false and go run have neither, so
// the commit is then read from the source tree the binary was compiled
// from, when it is still there.
var version, commit string

// buildVersion is what gantry version says about the build.
type buildVersion struct {
	Version  string // a module version, or "devel"
	Commit   string // a full or abbreviated revision; empty when unknown
	Time     time.Time
	Modified bool
	// Source is the source tree the commit was read from at run time, when
	// the build recorded none.
	Source string
}

func gantryVersion() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi, true)
}

// versionFrom reads the build information bi (nil when the binary has
// none), asking the source tree when it records no commit and source is
// set.
func versionFrom(bi *debug.BuildInfo, source bool) buildVersion {
	v := buildVersion{Version: version, Commit: commit}
	if bi != nil {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				v.Time, _ = time.Parse(time.RFC3339, s.Value)
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Commit == "" && v.Version != "" && module.IsPseudoVersion(strings.TrimSuffix(v.Version, "+dirty")) {
		// go install module@COMMIT records a pseudo-version, which ends
		// with the commit's first 12 digits.
		v.Commit, _ = module.PseudoVersionRev(strings.TrimSuffix(v.Version, "+dirty"))
	}
	if v.Commit == "" && source {
		v.fromSource()
	}
	if v.Version == "" {
		v.Version = "devel"
		if v.Commit != "" && !v.Time.IsZero() && len(v.Commit) >= 12 {
			// The pseudo-version the go command would have stamped.
			v.Version = module.PseudoVersion("v0", "", v.Time, v.Commit[:12])
			if v.Modified {
				v.Version += "+dirty"
			}
		}
	}
	return v
}

// fromSource reads the commit from the git checkout this file was
// compiled from (its path is in the binary unless -trimpath), as long as
// that checkout is gantry's module.
func (v *buildVersion) fromSource() {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // cmd/gantry/version.go
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module github.com/gantry-ci/gantry\n") {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	out, err := git("log", "-1", "--format=%H %ct")
	rev, unix, found := strings.Cut(out, " ")
	if err != nil || !found {
		return
	}
	secs, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return
	}
	v.Commit, v.Time, v.Source = rev, time.Unix(secs, 0).UTC(), root
	if status, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && status != "" {
		v.Modified = true
	}
}

func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gantry %s\n", v.Version)
	if v.Commit != "" {
		fmt.Fprintf(&b, "commit %s", v.Commit)
		var notes []string
		if !v.Time.IsZero() {
			notes = append(notes, v.Time.UTC().Format(time.RFC3339))
		}
		if v.Modified {
			notes = append(notes, "modified")
		}
		if v.Source != "" {
			notes = append(notes, "read at run time from "+v.Source+": the build recorded no commit")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// installVersion is the version an emitted trigger installs: asked, the
// one --gantry-version names; else this gantry's, when it is a release
// that go install can fetch; else latest, for a development build (a
// pseudo-version may name a commit never pushed, and +dirty none at all).
func installVersion(asked string) string {
	if asked != "" {
		return asked
	}
	bi, _ := debug.ReadBuildInfo()
	return defaultGantryVersion(versionFrom(bi, false).Version)
}

func defaultGantryVersion(v string) string {
	if semver.IsValid(v) && semver.Build(v) == "" && !module.IsPseudoVersion(v) {
		return v
	}
	return "latest"
}

func newVersionCmd(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gantry's version and commit, the DAG format it reads and the Go it was built with",
		Long: `Version prints gantry's module version and the commit it was built from.
A release build stamps both (scripts/build); go install module@version
records the version; a build in a checkout records the commit, and one
with -buildvcs=false or go run reads it from the source tree at run time.`,
		Example: "  gantry version",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(io.Out, "%sformat %s\n%s %s/%s\n",
				gantryVersion(), dag.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
