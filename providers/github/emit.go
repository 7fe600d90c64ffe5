package github

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/emit"
)

// Actions the emitted workflows use, pinned by full commit SHA.
const (
	checkoutAction = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
	setupGoAction  = "actions/setup-go@0a12ed9d6a96ab950c8f026ed9f722fe0da7ef32 # v5.0.2"
	// githubScript reads the runtime's cache service URL and token,
	// which GitHub gives actions and not run: steps.
	githubScript = "actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1"
)

// ghaCache is the fan-out's default cache: GitHub's cache service (v2,
// the one GitHub runs since 2025), which BuildKit's gha backend speaks.
const ghaCache = "type=gha,version=2"

// fanOutEngine is the name of the BuildKit container a fan-out job starts
// on its runner, and the address gantry reaches it at.
const (
	fanOutEngine     = "gantry-buildkitd"
	fanOutEngineAddr = "docker-container://" + fanOutEngine
)

// EmitOptions configure Emit.
type EmitOptions = emit.Options

// githubEvents maps gantry's neutral events back to GitHub's.
var githubEvents = map[string]string{
	"manual":        "workflow_dispatch",
	"web":           "workflow_dispatch",
	"api":           "workflow_dispatch",
	"trigger":       "workflow_dispatch",
	"call":          "workflow_call",
	"merge_request": "pull_request",
	"tag":           "push",
}

// Emit writes a GitHub workflow that runs the pipeline with gantry: the
// pipeline's triggers, least permissions, and one job that checks out the
// code, installs gantry and runs the DAG for the event, secrets passed by
// name. Values GitHub takes from the event reach the script only through
// the environment, never interpolated into it.
func Emit(p *dag.Pipeline, opts EmitOptions) ([]byte, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(opts.Header())
	if p.Name != "" {
		fmt.Fprintf(&b, "name: %s\n", flow(p.Name))
	}
	b.WriteString("on:\n")
	for _, line := range githubOn(p.Triggers) {
		b.WriteString("  " + line + "\n")
	}
	cacheFrom, _ := opts.FanOutCache(ghaCache)
	b.WriteString("permissions: " + emitPermissions(p, ghcrCache(cacheFrom)) + "\n")
	b.WriteString("jobs:\n")
	groups := emit.FanOutGroups(p)
	if !opts.FanOut || len(groups) == 0 {
		writeJob(&b, "gantry", nil, nil, p, opts)
		return []byte(b.String()), nil
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.ID
	}
	ids := emit.JobIDs(names, githubJobID)
	for _, g := range groups {
		needs := make([]string, len(g.Needs))
		for i, need := range g.Needs {
			needs[i] = ids[need]
		}
		writeJob(&b, ids[g.ID], g.Nodes, needs, p, opts)
	}
	return []byte(b.String()), nil
}

// writeJob writes one job that runs the DAG with gantry: the whole of it
// (no nodes), one node and what it needs, or the nodes of one matrix as
// this job's own matrix. What a node needs runs again in its job; a shared
// BuildKit cache makes that a cache hit when the jobs it needs ran first.
func writeJob(b *strings.Builder, id string, nodes []*dag.Node, needs []string, p *dag.Pipeline, opts EmitOptions) {
	fmt.Fprintf(b, "  %s:\n", id)
	switch {
	case len(nodes) > 1:
		list := make([]string, len(nodes))
		for i, n := range nodes {
			list[i] = flow(n.ID)
		}
		b.WriteString("    name: ${{ matrix.node }}\n")
		fmt.Fprintf(b, "    strategy: {fail-fast: false, matrix: {node: [%s]}}\n", strings.Join(list, ", "))
	case len(nodes) == 1 && nodes[0].ID != id:
		fmt.Fprintf(b, "    name: %s\n", flow(nodes[0].ID))
	}
	b.WriteString("    runs-on: ubuntu-latest\n")
	if len(needs) > 0 {
		fmt.Fprintf(b, "    needs: [%s]\n", strings.Join(needs, ", "))
	}
	b.WriteString("    steps:\n")
	fmt.Fprintf(b, "      - uses: %s\n", checkoutAction)
	fmt.Fprintf(b, "      - uses: %s\n        with: {go-version: \"1.26\"}\n", setupGoAction)
	fmt.Fprintf(b, "      - run: go install github.com/gantry-ci/gantry/cmd/gantry@%s\n", opts.GantryVersion)
	var cacheEnv []string
	cacheFrom, cacheTo := "", ""
	if len(nodes) > 0 {
		cacheFrom, cacheTo = opts.FanOutCache(ghaCache)
	}
	if cacheFrom != "" {
		// An engine of the runner's own (its Docker, privileged as
		// BuildKit's OCI worker needs), its results shared with the other
		// jobs' engines through the cache.
		fmt.Fprintf(b, "      - run: docker run -d --name %s --privileged %s && timeout 60 sh -c 'until docker exec %s buildctl debug workers >/dev/null 2>&1; do sleep 1; done'\n", fanOutEngine, emit.BuildKitImage, fanOutEngine)
		switch {
		case strings.HasPrefix(cacheFrom, "type=gha"):
			// The cache service's URL and token go to gantry's step alone,
			// as outputs of this one, not to every later step's
			// environment.
			fmt.Fprintf(b, "      - id: cache\n        uses: %s\n", githubScript)
			b.WriteString("        with:\n          script: |\n")
			b.WriteString("            core.setOutput('url', process.env.ACTIONS_RESULTS_URL || '')\n")
			b.WriteString("            core.setOutput('token', process.env.ACTIONS_RUNTIME_TOKEN || '')\n")
			cacheEnv = append(cacheEnv, `ACTIONS_RESULTS_URL: "${{ steps.cache.outputs.url }}"`, `ACTIONS_RUNTIME_TOKEN: "${{ steps.cache.outputs.token }}"`)
		case ghcrCache(cacheFrom):
			// GitHub's registry takes the run's token (packages: write).
			b.WriteString("      - run: echo \"$GITHUB_TOKEN\" | docker login ghcr.io -u \"$GITHUB_ACTOR\" --password-stdin\n")
			b.WriteString("        env: {GITHUB_TOKEN: \"${{ github.token }}\"}\n")
		}
	}
	secrets := emit.Secrets(p)
	cmd := fmt.Sprintf("gantry run %s --event \"$GITHUB_EVENT_NAME\" --event-path \"$GITHUB_EVENT_PATH\" --ref \"$GITHUB_REF\"", emit.ShellWord(opts.DAG))
	var env []string
	switch {
	case len(nodes) > 1:
		cmd += ` --job "$GANTRY_NODE"`
		env = append(env, `GANTRY_NODE: "${{ matrix.node }}"`)
	case len(nodes) == 1:
		cmd += " --job " + emit.ShellWord(nodes[0].ID)
	}
	if emit.UsesGitHubToken(p) {
		// The run's token, for steps' github.token and actions' token
		// inputs; the workflow's permissions: bound what it may do.
		secrets = append([]string{"GITHUB_TOKEN"}, secrets...)
	}
	for _, s := range secrets {
		cmd += " --secret " + s
	}
	if cacheFrom != "" {
		cmd += " --executor buildkit --cache-from " + emit.ShellWord(cacheFrom) + " --cache-to " + emit.ShellWord(cacheTo)
	}
	fmt.Fprintf(b, "      - run: %s\n", cmd)
	for _, s := range secrets {
		env = append(env, fmt.Sprintf("%s: \"${{ secrets.%s }}\"", s, s))
	}
	if opts.EngineSecret != "" {
		env = append(env, fmt.Sprintf("BUILDKIT_HOST: \"${{ secrets.%s }}\"", opts.EngineSecret))
	}
	if cacheFrom != "" {
		env = append(env, "BUILDKIT_HOST: "+fanOutEngineAddr)
		env = append(env, cacheEnv...)
	}
	if len(env) > 0 {
		fmt.Fprintf(b, "        env: {%s}\n", strings.Join(env, ", "))
	}
}

// githubJobID makes a node ID a valid GitHub job ID: letters, digits, "-"
// and "_", starting with a letter or "_".
func githubJobID(id string) string {
	out := []byte(id)
	for i, c := range out {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			out[i] = '-'
		}
	}
	if len(out) == 0 || !(out[0] == '_' || out[0] >= 'a' && out[0] <= 'z' || out[0] >= 'A' && out[0] <= 'Z') {
		out = append([]byte("job-"), out...)
	}
	return string(out)
}

// githubOn is the on: section, one line per event.
func githubOn(triggers []dag.Trigger) []string {
	byEvent := map[string]map[string]any{}
	var order []string
	add := func(event string, key string, v any) {
		if byEvent[event] == nil {
			byEvent[event] = map[string]any{}
			order = append(order, event)
		}
		if key == "" || v == nil {
			return
		}
		if list, ok := v.([]string); ok {
			if len(list) == 0 {
				return
			}
			if old, ok := byEvent[event][key].([]string); ok {
				v = append(old, list...)
			}
		}
		byEvent[event][key] = v
	}
	for _, t := range triggers {
		event := t.Event
		if g, ok := githubEvents[event]; ok {
			event = g
		}
		add(event, "", nil)
		switch event {
		case "schedule":
			if t.Cron != "" {
				// One {cron, timezone} entry per trigger, as written.
				entry := "{cron: " + flow(t.Cron) + "}"
				if t.Timezone != "" {
					entry = "{cron: " + flow(t.Cron) + ", timezone: " + flow(t.Timezone) + "}"
				}
				old, _ := byEvent[event]["cron"].([]string)
				byEvent[event]["cron"] = append(old, entry)
			}
			continue
		case "workflow_dispatch", "workflow_call":
			if len(t.Inputs) > 0 {
				add(event, "inputs", t.Inputs)
			}
			continue
		}
		add(event, "types", t.Types)
		add(event, "branches", t.Branches)
		add(event, "branches-ignore", t.BranchesIgnore)
		add(event, "tags", t.Tags)
		add(event, "tags-ignore", t.TagsIgnore)
		add(event, "paths", t.Paths)
		add(event, "paths-ignore", t.PathsIgnore)
		add(event, "workflows", t.Workflows)
	}
	if len(order) == 0 {
		// A pipeline with no triggers (GitLab's usual case) runs on pushes
		// and pull requests, and by hand.
		order = []string{"push", "pull_request", "workflow_dispatch"}
	}
	var out []string
	for _, ev := range order {
		fields := byEvent[ev]
		if ev == "schedule" {
			crons, _ := fields["cron"].([]string)
			out = append(out, "schedule: ["+strings.Join(crons, ", ")+"]")
			continue
		}
		if len(fields) == 0 {
			out = append(out, ev+":")
			continue
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+": "+flowValue(fields[k]))
		}
		out = append(out, ev+": {"+strings.Join(parts, ", ")+"}")
	}
	return out
}

// flowValue writes v in YAML flow style (JSON is valid flow YAML).
func flowValue(v any) string {
	if inputs, ok := v.(map[string]*dag.Input); ok {
		names := make([]string, 0, len(inputs))
		for n := range inputs {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		for _, n := range names {
			in := inputs[n]
			var f []string
			if in.Type != "" {
				f = append(f, "type: "+flow(in.Type))
			}
			if in.Description != "" {
				f = append(f, "description: "+flow(in.Description))
			}
			if in.Required {
				f = append(f, "required: true")
			}
			if in.Default != nil {
				d, _ := json.Marshal(in.Default)
				f = append(f, "default: "+string(d))
			}
			if len(in.Options) > 0 {
				f = append(f, "options: "+flowValue(in.Options))
			}
			parts = append(parts, flow(n)+": {"+strings.Join(f, ", ")+"}")
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// flow quotes s as a YAML flow scalar.
func flow(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ghcrCache reports whether a cache is in GitHub's registry.
func ghcrCache(cache string) bool {
	return strings.HasPrefix(cache, "type=registry,") && strings.Contains(cache, "ref=ghcr.io/")
}

// emitPermissions are the least the pipeline needs: contents: read, plus the
// strongest access any of its nodes (or the pipeline) asks for per scope.
func emitPermissions(p *dag.Pipeline, pushPackages bool) string {
	rank := map[string]int{"none": 0, "read": 1, "write": 2}
	perms := map[string]string{"contents": "read"}
	if pushPackages {
		// The fan-out's cache in GitHub's registry.
		perms["packages"] = "write"
	}
	merge := func(m map[string]string) {
		for scope, level := range m {
			if scope == "*" { // read-all / write-all
				continue
			}
			if rank[level] > rank[perms[scope]] {
				perms[scope] = level
			}
		}
	}
	merge(p.Permissions)
	for _, n := range p.Nodes {
		merge(n.Permissions)
	}
	scopes := make([]string, 0, len(perms))
	for s := range perms {
		scopes = append(scopes, s)
	}
	sort.Strings(scopes)
	var parts []string
	for _, s := range scopes {
		parts = append(parts, s+": "+perms[s])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
