package main

import (
	"io"
	"testing"

	"github.com/spf13/pflag"
)

// TestRunFlagsGrouped: every flag of gantry run is in one of its help's
// groups (a new flag otherwise lands under "Other flags"), and every name
// a group lists is a flag.
func TestRunFlagsGrouped(t *testing.T) {
	cmd := newRunCmd(&IO{Out: io.Discard, Err: io.Discard})
	grouped := map[string]string{}
	for _, g := range runFlagGroups {
		for _, name := range g.flags {
			if other, dup := grouped[name]; dup {
				t.Errorf("--%s is in %q and %q", name, other, g.title)
			}
			grouped[name] = g.title
			if cmd.LocalFlags().Lookup(name) == nil {
				t.Errorf("group %q lists --%s, which gantry run does not have", g.title, name)
			}
		}
	}
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if _, ok := grouped[f.Name]; !ok && f.Name != "help" && !f.Hidden && f.Deprecated == "" {
			t.Errorf("--%s is in no group of gantry run's help", f.Name)
		}
	})
}
