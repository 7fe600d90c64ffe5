package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner/toolcache"
	"github.com/gantry-ci/gantry/runner/toolcache/golang"
	"github.com/gantry-ci/gantry/runner/toolcache/installed"
	"github.com/gantry-ci/gantry/runner/toolcache/node"
)

// setupInstalled serves a setup action with the toolchain the job already
// has, on the host's PATH or in its image, when that satisfies the
// version asked for. Otherwise it runs the real action (fetched like any
// other, or given with --action-dir), which downloads the toolchain
// itself, as it does on GitHub; when that action cannot be had either, it
// fails naming what was asked, what was found and what to do.
func (j *job) setupInstalled(ctx context.Context, s *dag.Step, index int, with map[string]string, se *stepEnv, outputs map[string]string, cmds *commands) (int, error) {
	name, _, _ := strings.Cut(strings.ToLower(s.Uses), "@")
	short := strings.TrimPrefix(name, "actions/")
	tool := installed.Tools[name]
	specs, err := j.toolSpecs(ctx, short, tool, with)
	if err != nil {
		return 1, err
	}
	found, err := j.probeTool(ctx, tool, se.vars)
	if err != nil {
		return 1, err
	}
	picked, missing, ok, err := pickAll(tool, specs, found)
	if err != nil {
		return 1, fmt.Errorf("%s: %s: %w", short, tool.Input, err)
	}
	if ok {
		j.useInstalled(short, tool, picked, specs, with, outputs)
		return 0, nil
	}
	what := fmt.Sprintf("%s %s was asked for, and %s", tool.Name, missing, j.foundText(tool, found))
	a, lerr := j.loadAction(ctx, s.Uses)
	if lerr != nil {
		host := fmt.Sprintf("install %s %s on the host", tool.Name, missing)
		if j.ws.HostDir() == "" {
			host = fmt.Sprintf("run the job on the host (--executor host) with %s %s installed", tool.Name, missing)
		}
		return 1, fmt.Errorf("%s: %s; gantry provisions only Go and Node.js itself, and %s, which would download %s, is not available (%v). "+
			"Run the job in an image that has %s %s (-P LABEL=IMAGE), give a copy of the action with --action-dir %s=DIR, or %s",
			short, what, s.Uses, tool.Name, lerr, tool.Name, missing, s.Uses, host)
	}
	j.say("%s: %s; running %s itself, which downloads it", short, what, s.Uses)
	return j.runLoaded(ctx, s, index, a, with, se, outputs, cmds)
}

// toolSpecs are the versions a setup action asks for: its version input
// (one a line: setup-python and setup-dotnet take several, the last
// being the default), else its version file; setup-python reads
// .python-version when it is given neither, as it does on GitHub.
func (j *job) toolSpecs(ctx context.Context, short string, tool installed.Tool, with map[string]string) ([]string, error) {
	if specs := lines(with[tool.Input]); len(specs) > 0 {
		return specs, nil
	}
	file := strings.TrimSpace(with[tool.FileInput])
	optional := false
	if file == "" && tool.Input == "python-version" {
		file, optional = ".python-version", true
	}
	if file == "" {
		return nil, nil
	}
	root, err := j.hostRoot(ctx, []string{file})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", short, err)
	}
	path := filepath.Join(root, filepath.FromSlash(file))
	if _, err := os.Stat(path); err != nil && optional {
		return nil, nil
	}
	var specs []string
	switch tool.Input {
	case "go-version":
		var v string
		v, err = golang.VersionFile(path)
		specs = []string{v}
	case "node-version":
		var v string
		v, err = node.VersionFile(path)
		specs = []string{v}
	default:
		specs, err = tool.VersionFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", short, err)
	}
	j.say("%s: %s asks for %s %s", short, file, tool.Name, strings.Join(specs, ", "))
	return specs, nil
}

// probeTool asks the job's environment which versions of a toolchain it
// has, running the tool's probes as steps run (in the image, or on the
// host) without showing their output.
func (j *job) probeTool(ctx context.Context, tool installed.Tool, env []string) ([]installed.Found, error) {
	for _, argv := range tool.Probes {
		var out bytes.Buffer
		code, err := j.ws.Exec(ctx, Command{Argv: argv, Name: argv[0] + " (version)", Env: env, Stdout: &out, Stderr: &out,
			Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars})
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil || code != 0 {
			continue
		}
		if found := tool.Parse(out.String()); len(found) > 0 {
			return found, nil
		}
	}
	return nil, nil
}

// pickAll finds an installed version for each spec; the one picked is
// the last spec's, the action's default. When one is not satisfied, ok is
// false and missing names it.
func pickAll(tool installed.Tool, specs []string, found []installed.Found) (picked installed.Found, missing string, ok bool, err error) {
	if len(specs) == 0 {
		specs = []string{""}
	}
	for _, spec := range specs {
		f, matched, err := tool.Pick(spec, found)
		if err != nil {
			return picked, "", false, err
		}
		if !matched {
			if spec == "" {
				spec = "(any version)"
			}
			return picked, spec, false, nil
		}
		picked = f
	}
	return picked, "", true, nil
}

// foundText says what the job has of a toolchain, for messages.
func (j *job) foundText(tool installed.Tool, found []installed.Found) string {
	where := "the job's image"
	if j.ws.HostDir() != "" {
		where = "the host"
	}
	if len(found) == 0 {
		return fmt.Sprintf("%s has no %s on the job's PATH (%s)", where, tool.Name, tool.Probes[0][0])
	}
	var vs []string
	for _, f := range found {
		vs = append(vs, f.Version)
	}
	return fmt.Sprintf("%s has %s %s (%s)", where, tool.Name, strings.Join(vs, ", "), found[len(found)-1].Path)
}

// useInstalled gives the step the outputs and the job the variables the
// setup action leaves, for the toolchain found.
func (j *job) useInstalled(short string, tool installed.Tool, f installed.Found, specs []string, with, outputs map[string]string) {
	set := map[string]string{}
	switch tool.Input {
	case "python-version":
		outputs["python-version"] = f.Version
		outputs["python-path"] = f.Path
		set["pythonLocation"] = f.Home
	case "java-version":
		outputs["version"] = f.Version
		outputs["path"] = f.Home
		outputs["distribution"] = strings.ToLower(with["distribution"])
		if outputs["distribution"] == "" {
			outputs["distribution"] = f.Vendor
		}
		major, _, _ := strings.Cut(f.Version, ".")
		set["JAVA_HOME"] = f.Home
		set["JAVA_HOME_"+major+"_"+strings.ToUpper(toolcache.Arch(runtime.GOARCH))] = f.Home
		if d := with["distribution"]; d != "" && f.Vendor != "" && !strings.Contains(strings.ToLower(f.Vendor), strings.ToLower(d)) {
			j.say("%s: distribution %s was asked for; the job's Java is %s's", short, d, f.Vendor)
		}
	case "dotnet-version":
		outputs["dotnet-version"] = f.Version
		set["DOTNET_ROOT"] = f.Home
	case "go-version":
		outputs["go-version"] = f.Version
	case "node-version":
		outputs["node-version"] = "v" + f.Version
	}
	j.mu.Lock()
	for k, v := range set {
		if v != "" {
			j.exported[k] = v
		}
	}
	j.mu.Unlock()
	if c := strings.TrimSpace(with["cache"]); c != "" && c != "false" && (tool.Input == "python-version" || tool.Input == "java-version" || tool.Input == "dotnet-version") {
		// Said, not dropped: these caches would need the action's own
		// key and paths for each package manager.
		j.say("%s: cache: %s is not restored or saved by gantry's stand-in; the package manager's cache is the job's own (use actions/cache for one shared between runs)", short, c)
	}
	asked := strings.Join(specs, ", ")
	if asked == "" {
		asked = "no version"
	}
	j.say("%s: %s %s (%s), already on the job's PATH, satisfies %s", short, tool.Name, f.Version, f.Path, asked)
}
