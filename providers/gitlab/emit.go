package gitlab

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/emit"
)

// EmitOptions configure Emit.
type EmitOptions = emit.Options

// registryCache is the fan-out's default cache: the project's container
// registry, which every job of the project may push to with its job's
// credentials ($CI_REGISTRY_USER, $CI_REGISTRY_PASSWORD).
const registryCache = "type=registry,ref=$CI_REGISTRY_IMAGE/cache"

// registryLogin writes the job's registry credentials where gantry reads
// them (docker login's config.json), without a docker CLI in the image.
const registryLogin = `mkdir -p ~/.docker && printf '{"auths":{"%s":{"auth":"%s"}}}' "$CI_REGISTRY" "$(printf '%s:%s' "$CI_REGISTRY_USER" "$CI_REGISTRY_PASSWORD" | base64 | tr -d '\n')" > ~/.docker/config.json`

// pipelineSources maps gantry's events to GitLab's CI_PIPELINE_SOURCE.
var pipelineSources = map[string]string{
	"push":              "push",
	"pull_request":      "merge_request_event",
	"merge_request":     "merge_request_event",
	"schedule":          "schedule",
	"manual":            "web",
	"workflow_dispatch": "web",
	"api":               "api",
	"trigger":           "trigger",
	"pipeline":          "pipeline",
	"tag":               "push",
}

// Emit writes a .gitlab-ci.yml that runs the pipeline with gantry: the
// pipeline's triggers as workflow:rules, and one job that installs gantry
// and runs the DAG for the pipeline's source. Secrets are CI/CD variables of
// the same names, passed by name; nothing of the event is interpolated into
// the script.
func Emit(p *dag.Pipeline, opts EmitOptions) ([]byte, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(opts.Header())
	if rules := workflowRules(p.Triggers); len(rules) > 0 {
		b.WriteString("workflow:\n")
		if p.Name != "" {
			fmt.Fprintf(&b, "  name: %s\n", quote(p.Name))
		}
		b.WriteString("  rules:\n")
		for _, r := range rules {
			fmt.Fprintf(&b, "    - if: %s\n", quote(r))
		}
	}
	groups := emit.FanOutGroups(p)
	if !opts.FanOut || len(groups) == 0 {
		writeJob(&b, "gantry", nil, nil, p, opts)
		return []byte(b.String()), nil
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.ID
	}
	ids := emit.JobIDs(names, gitlabJobName)
	for _, g := range groups {
		needs := make([]string, len(g.Needs))
		for i, need := range g.Needs {
			needs[i] = quote(ids[need])
		}
		writeJob(&b, ids[g.ID], g.Nodes, needs, p, opts)
	}
	return []byte(b.String()), nil
}

// writeJob writes one job that runs the DAG with gantry: the whole of it
// (no nodes), one node and what it needs, or the nodes of one matrix as a
// parallel:matrix over the node IDs.
func writeJob(b *strings.Builder, name string, nodes []*dag.Node, needs []string, p *dag.Pipeline, opts EmitOptions) {
	fmt.Fprintf(b, "%s:\n  image: golang:1.26\n", quote(name))
	if len(nodes) > 0 {
		fmt.Fprintf(b, "  needs: [%s]\n", strings.Join(needs, ", "))
	}
	if len(nodes) > 1 {
		list := make([]string, len(nodes))
		for i, n := range nodes {
			list[i] = quote(n.ID)
		}
		fmt.Fprintf(b, "  parallel: {matrix: [{GANTRY_NODE: [%s]}]}\n", strings.Join(list, ", "))
	}
	if opts.EngineSecret != "" {
		fmt.Fprintf(b, "  variables: {BUILDKIT_HOST: %s}\n", quote("$"+opts.EngineSecret))
	}
	cacheFrom, cacheTo := "", ""
	if len(nodes) > 0 {
		cacheFrom, cacheTo = opts.FanOutCache(registryCache)
	}
	if cacheFrom != "" {
		// An engine of the job's own, as a service (the runner must allow
		// privileged services, as docker:dind needs), its results shared
		// with the other jobs' engines through the cache.
		fmt.Fprintf(b, "  services:\n    - {name: %s, alias: buildkitd, command: [\"--addr\", \"tcp://0.0.0.0:1234\"]}\n", quote(emit.BuildKitImage))
		b.WriteString("  variables: {BUILDKIT_HOST: \"tcp://buildkitd:1234\"}\n")
	}
	cmd := fmt.Sprintf(`gantry run %s --event "$CI_PIPELINE_SOURCE" --ref "$CI_COMMIT_REF_NAME"`, emit.ShellWord(opts.DAG))
	switch {
	case len(nodes) > 1:
		cmd += ` --job "$GANTRY_NODE"`
	case len(nodes) == 1:
		cmd += " --job " + emit.ShellWord(nodes[0].ID)
	}
	for _, s := range emit.Secrets(p) {
		cmd += " --secret " + s
	}
	fmt.Fprintf(b, "  script:\n    - go install github.com/gantry-ci/gantry/cmd/gantry@%s\n", opts.GantryVersion)
	if cacheFrom != "" {
		if strings.Contains(cacheFrom, "$CI_REGISTRY_IMAGE") {
			fmt.Fprintf(b, "    - %s\n", quote(registryLogin))
		}
		word := emit.ShellWord
		if cacheFrom == registryCache {
			// The shell expands $CI_REGISTRY_IMAGE.
			word = func(s string) string { return `"` + s + `"` }
		}
		cmd += " --executor buildkit --cache-from " + word(cacheFrom) + " --cache-to " + word(cacheTo)
	}
	fmt.Fprintf(b, "    - %s\n", quote(cmd))
}

// reservedNames are the top-level keys of a .gitlab-ci.yml that cannot
// name a job.
var reservedNames = []string{"image", "services", "stages", "types", "before_script", "after_script", "variables", "cache", "include", "workflow", "default", "spec"}

// gitlabJobName makes a node ID a job name GitLab accepts: not a reserved
// key, not hidden (a leading "."), at most 255 characters.
func gitlabJobName(id string) string {
	if strings.HasPrefix(id, ".") || slices.Contains(reservedNames, id) {
		id = "job-" + strings.TrimPrefix(id, ".")
	}
	if len(id) > 255 {
		id = id[:255]
	}
	return id
}

// workflowRules are GitLab rules for the triggers: one per pipeline source,
// with the branch and tag filters that can be written as regular
// expressions. Path filters are left to gantry, which evaluates them when
// it runs.
func workflowRules(triggers []dag.Trigger) []string {
	var out []string
	for _, t := range triggers {
		source, ok := pipelineSources[t.Event]
		if !ok {
			continue // an event GitLab has no pipeline source for
		}
		cond := fmt.Sprintf("$CI_PIPELINE_SOURCE == %q", source)
		var refs []string
		if len(t.Branches) > 0 {
			v := "$CI_COMMIT_BRANCH"
			if source == "merge_request_event" {
				v = "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
			}
			refs = append(refs, v+" =~ "+globsRegexp(t.Branches))
		}
		if len(t.Tags) > 0 {
			refs = append(refs, "$CI_COMMIT_TAG =~ "+globsRegexp(t.Tags))
		}
		switch len(refs) {
		case 0:
		case 1:
			cond += " && " + refs[0]
		default:
			cond += " && (" + strings.Join(refs, " || ") + ")"
		}
		if !slices.Contains(out, cond) {
			out = append(out, cond)
		}
	}
	return out
}

// globsRegexp turns GitHub-style ref globs (*, **) into one anchored GitLab
// regular expression.
func globsRegexp(globs []string) string {
	var alts []string
	for _, g := range globs {
		var b strings.Builder
		for i := 0; i < len(g); i++ {
			switch c := g[i]; {
			case c == '*' && i+1 < len(g) && g[i+1] == '*':
				b.WriteString(".*")
				i++
			case c == '*':
				b.WriteString(`[^\/]*`)
			case c == '?':
				b.WriteString(".")
			case strings.ContainsRune(`.+()|[]{}^$\/`, rune(c)):
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		alts = append(alts, b.String())
	}
	sort.Strings(alts)
	return "/^(" + strings.Join(slices.Compact(alts), "|") + ")$/"
}
