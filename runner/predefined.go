package runner

import (
	"cmp"
	"fmt"
	"maps"
	"strings"

	"github.com/gantry-ci/gantry/dag"

	"github.com/gantry-ci/gantry/expr"
)

// githubContext is the github context of expressions, as its fields: a
// step's differ only in the action it runs (see withAction).
func githubContext(e Event, runID, workspace, job, workflow string) map[string]expr.Value {
	payload := e.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	refType := "branch"
	if e.Tag() != "" {
		refType = "tag"
	}
	fields := map[string]any{
		"event_name":        e.Name,
		"ref":               e.Ref,
		"ref_name":          e.RefName(),
		"ref_type":          refType,
		"sha":               e.SHA,
		"base_ref":          strings.TrimPrefix(e.BaseRef, "refs/heads/"),
		"head_ref":          "",
		"repository":        e.Repository,
		"actor":             e.Actor,
		"workspace":         workspace,
		"run_id":            runID,
		"run_number":        "1",
		"run_attempt":       "1",
		"server_url":        "https://github.com",
		"api_url":           "https://api.github.com",
		"token":             "",
		"job":               job,
		"action":            "",
		"action_path":       "",
		"action_repository": "",
		"action_ref":        "",
		"workflow":          workflow,
		"repository_owner": func() string {
			owner, _, _ := strings.Cut(e.Repository, "/")
			return owner
		}(),
	}
	out := make(map[string]expr.Value, len(fields)+1)
	for k, v := range fields {
		out[k] = expr.FromGo(v)
	}
	out["event"] = expr.FromGo(payload)
	return out
}

// withAction is a github context for a step that runs an action (or a
// script: action is then its GITHUB_ACTION name, the rest empty).
func withAction(github map[string]expr.Value, action, repo, ref string) expr.Value {
	out := maps.Clone(github)
	out["action"], out["action_repository"], out["action_ref"] = expr.String(action), expr.String(repo), expr.String(ref)
	return expr.Object(out)
}

// githubEnv is GitHub's default environment variables for a step.
func githubEnv(e Event, runID, workspace, nodeID, workflow string) map[string]string {
	refType := "branch"
	if e.Tag() != "" {
		refType = "tag"
	}
	env := map[string]string{
		"CI":                "true",
		"GITHUB_ACTIONS":    "true",
		"GITHUB_EVENT_NAME": e.Name,
		"GITHUB_REF":        e.Ref,
		"GITHUB_REF_NAME":   e.RefName(),
		"GITHUB_REF_TYPE":   refType,
		"GITHUB_SHA":        e.SHA,
		"GITHUB_REPOSITORY": e.Repository,
		"GITHUB_ACTOR":      e.Actor,
		"GITHUB_WORKSPACE":  workspace,
		"GITHUB_RUN_ID":     runID,
		"GITHUB_RUN_NUMBER": "1",
		"GITHUB_JOB":        nodeID,
		"GITHUB_WORKFLOW":   workflow,
		"RUNNER_OS":         runnerOS(),
		"RUNNER_ARCH":       runnerArch(),
		"RUNNER_TEMP":       "",
	}
	if e.BaseRef != "" {
		env["GITHUB_BASE_REF"] = strings.TrimPrefix(e.BaseRef, "refs/heads/")
	}
	return env
}

// gitlabSources maps gantry's event names to CI_PIPELINE_SOURCE.
var gitlabSources = map[string]string{
	"push": "push", "merge_request": "merge_request_event", "pull_request": "merge_request_event",
	"schedule": "schedule", "manual": "web", "api": "api", "trigger": "trigger", "pipeline": "pipeline",
}

// gitlabEnv is GitLab's predefined CI_* variables for an event.
func gitlabEnv(e Event, runID, workspace string) map[string]string {
	source := gitlabSources[e.Name]
	if source == "" {
		source = e.Name
	}
	env := map[string]string{
		"CI":                  "true",
		"GITLAB_CI":           "true",
		"CI_PIPELINE_SOURCE":  source,
		"CI_COMMIT_SHA":       e.SHA,
		"CI_COMMIT_SHORT_SHA": short(e.SHA),
		"CI_COMMIT_REF_NAME":  e.RefName(),
		"CI_COMMIT_REF_SLUG":  slug(e.RefName()),
		"CI_DEFAULT_BRANCH":   e.DefaultBranch,
		"CI_PROJECT_DIR":      workspace,
		"CI_PROJECT_PATH":     e.Repository,
		"CI_PROJECT_NAME":     e.Repository[strings.LastIndexByte(e.Repository, '/')+1:],
		"CI_PIPELINE_ID":      runID,
		"CI_JOB_ID":           runID,
		"CI_SERVER":           "yes",
		"GITLAB_USER_LOGIN":   e.Actor,
	}
	if b := e.Branch(); b != "" && source != "merge_request_event" {
		env["CI_COMMIT_BRANCH"] = b
	}
	if t := e.Tag(); t != "" {
		env["CI_COMMIT_TAG"] = t
	}
	if source == "merge_request_event" {
		env["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] = e.Branch()
		env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = strings.TrimPrefix(e.BaseRef, "refs/heads/")
	}
	return env
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// slug is GitLab's CI_COMMIT_REF_SLUG: lowercased, non-alphanumerics as
// "-", at most 63 characters, no leading or trailing "-".
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:63]
	}
	return strings.Trim(out, "-")
}

// actionNames are GITHUB_ACTION for each step of a node, as GitHub's runner
// names them: the step's id; else __run for a script (__run_2 for the
// second...), and __OWNER_REPO for an action (with _2... likewise).
func actionNames(steps []dag.Step) []string {
	names := make([]string, len(steps))
	seen := map[string]int{}
	for i, s := range steps {
		if s.ID != "" {
			names[i] = s.ID
			continue
		}
		base := "__run"
		if s.Uses != "" {
			repo, _ := actionRef(s.Uses)
			base = "__" + strings.Map(func(r rune) rune {
				switch {
				case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
					return r
				case r == '/':
					return '_'
				}
				return -1
			}, cmp.Or(repo, strings.TrimPrefix(s.Uses, "./")))
		}
		seen[base]++
		names[i] = base
		if n := seen[base]; n > 1 {
			names[i] = fmt.Sprintf("%s_%d", base, n)
		}
	}
	return names
}

// actionRef is a remote action's owner/repo and ref; "" for a local action,
// a docker:// image or a script.
func actionRef(uses string) (repo, ref string) {
	if uses == "" || localAction(uses) || strings.HasPrefix(uses, "docker://") {
		return "", ""
	}
	path, ref, _ := strings.Cut(uses, "@")
	parts := strings.SplitN(path, "/", 3)
	if len(parts) < 2 {
		return "", ""
	}
	return parts[0] + "/" + parts[1], ref
}

// actionVars are the variables that say which action a step runs.
func (j *job) actionVars(s *dag.Step, index int) map[string]string {
	if j.behavior.Predefined != dag.PredefinedGitHub {
		return nil
	}
	repo, ref := actionRef(s.Uses)
	return map[string]string{"GITHUB_ACTION": j.actionNames[index], "GITHUB_ACTION_REPOSITORY": repo, "GITHUB_ACTION_REF": ref}
}
