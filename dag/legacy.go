package dag

import "strings"

// GitLabDefaults are the Defaults that make the runner behave as GitLab's
// runner does. The GitLab translator writes them into every pipeline.
func GitLabDefaults() *Defaults {
	no, yes := false, true
	return &Defaults{
		Script:           ScriptLines,
		Expressions:      &no,
		WorkflowCommands: &no,
		ExpandVariables:  &yes,
		Predefined:       PredefinedGitLab,
		ExportVars:       &yes,
		SkippedNeeds:     SkippedNeedsRun,
	}
}

// upgradeLegacy reads a file written before the format said how steps run
// as the runner then ran it. Those files left GitLab's behaviour implied by
// source.provider and kept inherit:variables in meta; the runner reads
// neither, so they are written out here, once, at decoding. Files that say
// anything of their own are left as they are.
func upgradeLegacy(p *Pipeline) {
	if p.Source == nil || p.Source.Provider != "gitlab" {
		return
	}
	if p.Defaults == nil {
		p.Defaults = &Defaults{}
	}
	d, g := p.Defaults, GitLabDefaults()
	if d.Script != "" || d.Expressions != nil || d.WorkflowCommands != nil || d.ExpandVariables != nil ||
		d.Predefined != "" || d.ExportVars != nil || d.SkippedNeeds != "" {
		return
	}
	g.Shell, g.WorkingDirectory = d.Shell, d.WorkingDirectory
	p.Defaults = g
	for _, n := range p.Nodes {
		inh, ok := n.Meta["inherit-variables"]
		if !ok || n.InheritEnv != nil {
			continue
		}
		names := []string{}
		if inh != "false" {
			names = strings.Split(inh, ",")
		}
		n.InheritEnv = &names
		delete(n.Meta, "inherit-variables")
		if len(n.Meta) == 0 {
			n.Meta = nil
		}
	}
}
