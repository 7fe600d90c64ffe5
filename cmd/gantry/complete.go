package main

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/translate"
)

// Shell completion (gantry completion bash|zsh|fish|powershell) of what
// the flags take: the repository's job ids, event names, formats,
// executors.

func fixed(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeJobs offers the job ids and keys of the repository's pipelines
// (those named on the command line, else all), translated quietly.
func completeJobs(src *sourceFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		files, _ := splitArgs(args)
		topts, err := src.options("", files...)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if len(files) == 0 {
			for _, f := range translate.Discover(src.Dir) {
				files = append(files, f.Path)
			}
		}
		pipelines, _, err := loadQuiet(context.Background(), files, topts)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, p := range pipelines {
			for _, n := range p.Nodes {
				if internalNode(n) {
					continue
				}
				out = append(out, n.ID)
				if n.Strategy != nil && n.Strategy.Group != "" {
					out = append(out, n.Strategy.Group)
				}
			}
		}
		slices.Sort(out)
		out = slices.DeleteFunc(slices.Compact(out), func(s string) bool { return !strings.HasPrefix(s, prefix) })
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
