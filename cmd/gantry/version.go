package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func gantryVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 && (v == "" || v == "(devel)") {
				return "devel-" + s.Value[:12]
			}
		}
		if v != "" {
			return v
		}
	}
	return "devel"
}

func newVersionCmd(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print gantry's version, the DAG format it reads and the Go it was built with",
		Example: "  gantry version",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(io.Out, "gantry %s\nformat %s\n%s %s/%s\n",
				gantryVersion(), dag.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
