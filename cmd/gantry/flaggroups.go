package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroup is a heading of a command's --help and the flags under it.
type flagGroup struct {
	title string
	flags []string
}

// groupFlags makes cmd's --help list its flags under the groups' headings
// (the flags no group names come last, under "Other flags"), as a long
// list of flags is read by what one wants to do.
func groupFlags(cmd *cobra.Command, groups []flagGroup) {
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage:\n  %s\n", c.UseLine())
		if c.Example != "" {
			fmt.Fprintf(&b, "\nExamples:\n%s\n", c.Example)
		}
		named := map[string]bool{}
		for _, g := range groups {
			set := pflag.NewFlagSet(g.title, pflag.ContinueOnError)
			for _, name := range g.flags {
				if f := c.Flags().Lookup(name); f != nil && !f.Hidden && f.Deprecated == "" {
					set.AddFlag(f)
					named[name] = true
				}
			}
			if set.HasFlags() {
				fmt.Fprintf(&b, "\n%s:\n%s", g.title, set.FlagUsages())
			}
		}
		rest := pflag.NewFlagSet("other", pflag.ContinueOnError)
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !named[f.Name] && !f.Hidden && f.Deprecated == "" {
				rest.AddFlag(f)
			}
		})
		if rest.HasFlags() {
			fmt.Fprintf(&b, "\nOther flags:\n%s", rest.FlagUsages())
		}
		if c.HasAvailableInheritedFlags() {
			fmt.Fprintf(&b, "\nGlobal flags:\n%s", c.InheritedFlags().FlagUsages())
		}
		_, err := fmt.Fprint(c.OutOrStdout(), b.String())
		return err
	})
}

// runFlagGroups are gantry run's.
var runFlagGroups = []flagGroup{
	{"Choosing what runs", []string{"job", "no-needs", "matrix", "workflows", "provider", "dry-run", "watch", "keep-going"}},
	{"The event", []string{"event", "event-path", "ref", "base"}},
	{"Inputs, variables and secrets", []string{"input", "input-file", "var", "var-file", "secret", "secret-file", "env", "env-file"}},
	{"Where it runs", []string{"executor", "parallel", "platform", "platform-host", "addr", "progress", "no-cache", "cache-from", "cache-to", "workspace", "tlscacert", "tlscert", "tlskey", "tlsservername"}},
	{"What it reads from elsewhere", []string{"dir", "action-dir", "locked", "offline", "github-api", "github-token", "gitlab", "project-dir", "template-dir"}},
	{"Output", []string{"json", "output", "report", "otel", "ui"}},
}
