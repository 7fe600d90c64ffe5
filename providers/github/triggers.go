package github

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/dag"
)

// Provider-neutral names of GitHub events; other events keep their names.
var neutralEvents = map[string]string{
	"workflow_dispatch": "manual",
	"workflow_call":     "call",
}

func (t *translator) triggers(events []actionlint.Event) []dag.Trigger {
	var out []dag.Trigger
	for _, ev := range events {
		switch e := ev.(type) {
		case *actionlint.WebhookEvent:
			tr := dag.Trigger{
				Event:          e.Hook.Value,
				Types:          values(e.Types),
				Branches:       filter(e.Branches),
				BranchesIgnore: filter(e.BranchesIgnore),
				Tags:           filter(e.Tags),
				TagsIgnore:     filter(e.TagsIgnore),
				Paths:          filter(e.Paths),
				PathsIgnore:    filter(e.PathsIgnore),
				Workflows:      values(e.Workflows),
				Pos:            t.srcPos(e.Pos),
			}
			out = append(out, tr)
		case *actionlint.ScheduledEvent:
			for _, s := range e.Schedules {
				tr := dag.Trigger{Event: "schedule", Cron: str(s.Cron), Pos: t.srcPos(e.Pos)}
				if s.Cron != nil {
					tr.Pos = t.srcPos(s.Cron.Pos)
				}
				if s.Timezone != nil {
					// https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows#schedule
					tr.Timezone = s.Timezone.Value
				}
				out = append(out, tr)
			}
		case *actionlint.WorkflowDispatchEvent:
			tr := dag.Trigger{Event: neutralEvents["workflow_dispatch"], Pos: t.srcPos(e.Pos)}
			for _, in := range e.Inputs {
				if tr.Inputs == nil {
					tr.Inputs = map[string]*dag.Input{}
				}
				di := &dag.Input{
					Type:        dispatchType(in.Type),
					Description: str(in.Description),
					Options:     values(in.Options),
				}
				if in.Required != nil {
					di.Required = in.Required.Value
				}
				if in.Default != nil {
					di.Default = typedDefault(di.Type, in.Default.Value)
				}
				tr.Inputs[in.Name.Value] = di
			}
			out = append(out, tr)
		case *actionlint.WorkflowCallEvent:
			tr := dag.Trigger{Event: neutralEvents["workflow_call"], Pos: t.srcPos(e.Pos)}
			for _, in := range e.Inputs {
				if tr.Inputs == nil {
					tr.Inputs = map[string]*dag.Input{}
				}
				ci := &dag.Input{Type: callType(in.Type), Description: str(in.Description)}
				if in.Required != nil {
					ci.Required = in.Required.Value
				}
				switch {
				case in.Default != nil:
					ci.Default = typedDefault(ci.Type, in.Default.Value)
				case !ci.Required:
					// "If a default parameter is not set, the default value of
					// the input is false for a boolean, 0 for a number, and ""
					// for a string."
					// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#onworkflow_callinputs
					ci.Default = map[string]any{"boolean": false, "number": 0.0, "string": ""}[ci.Type]
				}
				tr.Inputs[in.Name.Value] = ci
			}
			for _, o := range e.Outputs {
				if tr.Outputs == nil {
					tr.Outputs = map[string]string{}
				}
				tr.Outputs[o.Name.Value] = str(o.Value)
			}
			for _, s := range e.Secrets {
				spec := dag.SecretSpec{Name: s.Name.Value, Description: str(s.Description)}
				if s.Required != nil {
					spec.Required = s.Required.Value
				}
				tr.Secrets = append(tr.Secrets, spec)
			}
			slices.SortFunc(tr.Secrets, func(a, b dag.SecretSpec) int { return strings.Compare(a.Name, b.Name) })
			out = append(out, tr)
		case *actionlint.RepositoryDispatchEvent:
			out = append(out, dag.Trigger{Event: "repository_dispatch", Types: values(e.Types), Pos: t.srcPos(e.Pos)})
		case *actionlint.ImageVersionEvent:
			tr := dag.Trigger{Event: "image_version", Pos: t.srcPos(e.Pos)}
			if len(e.Names) > 0 || len(e.Versions) > 0 {
				t.warnf(e.Pos, "caveat", "image_version filters (names, versions) are kept only in the source")
			}
			out = append(out, tr)
		}
	}
	return out
}

func values(ss []*actionlint.String) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Value
	}
	return out
}

func filter(f *actionlint.WebhookEventFilter) []string {
	if f == nil {
		return nil
	}
	return values(f.Values)
}

func dispatchType(k actionlint.WorkflowDispatchEventInputType) string {
	switch k {
	case actionlint.WorkflowDispatchEventInputTypeNumber:
		return "number"
	case actionlint.WorkflowDispatchEventInputTypeBoolean:
		return "boolean"
	case actionlint.WorkflowDispatchEventInputTypeChoice:
		return "choice"
	case actionlint.WorkflowDispatchEventInputTypeEnvironment:
		return "environment"
	}
	return "string"
}

func callType(k actionlint.WorkflowCallEventInputType) string {
	switch k {
	case actionlint.WorkflowCallEventInputTypeNumber:
		return "number"
	case actionlint.WorkflowCallEventInputTypeBoolean:
		return "boolean"
	}
	return "string"
}

// typedDefault reads an input default as its declared type, so that a
// boolean input's default is false rather than "false".
func typedDefault(typ, s string) any {
	switch typ {
	case "number":
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f
		}
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	return s
}
