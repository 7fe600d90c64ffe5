package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
	"github.com/gantry-ci/gantry/lock"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/checkrun"
	"github.com/gantry-ci/gantry/runner/host"
	"github.com/gantry-ci/gantry/runner/toolcache"
	"github.com/gantry-ci/gantry/runner/tracing"
	"github.com/gantry-ci/gantry/translate"
)

type runOptions struct {
	Files        []string
	Workflows    []string
	Jobs         []string
	NoNeeds      bool
	Watch        bool
	Event        string
	eventSet     bool
	gitFacts     func() runner.GitFacts // asked at the start of runRun, before event
	InputFile    string
	VarFile      string
	EventPath    string
	Ref          string
	Base         string
	Inputs       []string
	Vars         []string
	Secrets      []string
	SecretFile   string
	Env          []string
	EnvFile      string
	Matrix       []string
	Parallel     int
	Executor     string
	Workspace    string
	Engine       engineFlags
	DryRun       bool
	JSON         bool
	KeepGoing    bool
	PlatformHost bool
	Output       string
	Report       string
	OTel         string
	UI           string
	ActionDirs   []string
	Locked       bool
	GitHub       githubFlags
	Source       sourceFlags

	// view is --ui's server, kept by the runs of a --watch (their options
	// are copies sharing it).
	view *webViewHolder
}

func newRunCmd(io *IO) *cobra.Command {
	opts := &runOptions{view: &webViewHolder{}}
	cmd := &cobra.Command{
		Use:   "run [FILE|DAG|DIR]...",
		Short: "Run pipelines on this machine, as the CI provider would for an event",
		Long: `Run executes pipelines — GitHub workflows, .gitlab-ci.yml files or gantry
DAGs, translated on the fly — for an event (default: a push of the current
branch). With no file it runs every pipeline of the repository the event
triggers. Trigger filters, rules and conditions are evaluated against the
event, its ref and the files changed since --base; --dry-run prints the plan
and why each thing would not run.

Each job runs in its own copy-on-write view of the repository (an overlay as
root, a reflink clone on btrfs/XFS, else a copy: --workspace; without root,
--workspace=overlay makes one in a user namespace, where sudo and renaming
the repository's directories do not work; the working tree is never
changed), with a clean environment: the CI variables, the pipeline's env,
PATH, HOME and a few others, plus what --env passes. Secrets given with
--secret or --secret-file are masked in every line of output.

With --executor buildkit (or auto, when a BuildKit daemon answers) each job
runs in a container of its image (-P LABEL=IMAGE maps runs-on labels) and
unchanged steps are cache hits on the next run. Actions other than gantry's
built-in ones are fetched through the GitHub API (--offline: from the cache
only; --locked: exactly the commits of gantry.lock).

Exit codes: 0 all succeeded (allowed failures included), 1 a job failed,
2 usage error, 130 interrupted.`,
		Example: `  gantry run .github/workflows/ci.yml
  gantry run .gitlab-ci.yml --job test --dry-run
  gantry run --event pull_request --base main
  gantry run ci.yml --secret NPM_TOKEN --var REGION=eu --json
  gantry run --executor buildkit -P ubuntu-latest=oci-layout://./images/ubuntu ci.yml
  gantry run --locked --offline`,
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.Files = files
			opts.eventSet = cmd.Flags().Changed("event")
			if opts.Watch {
				return watchRun(cmd.Context(), io, opts)
			}
			return runRun(cmd.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Jobs, "job", "j", nil, "run only this job and what it needs (repeatable): a job id, a job key (all its matrix legs) or a display name, in whichever pipeline has it; manual jobs run only when named")
	f.StringArrayVarP(&opts.Workflows, "workflows", "W", nil, "a workflow file or directory to run (repeatable), as naming it does")
	f.BoolVarP(&opts.Watch, "watch", "w", false, "run again each time a file of the repository changes (until Ctrl-C)")
	f.BoolVar(&opts.NoNeeds, "no-needs", false, "with --job: run only the selected jobs, not what they need; the needs' last successful results under .gantry/runs (outputs, artifacts) stand in for them")
	f.StringVar(&opts.Event, "event", "push", "the event: push, pull_request, schedule, manual (workflow_dispatch), merge_request, ...")
	f.StringVarP(&opts.EventPath, "event-path", "e", "", "a JSON file with the event's payload (github.event)")
	f.StringVar(&opts.Ref, "ref", "", "the ref (refs/heads/BRANCH or refs/tags/TAG); default the current branch")
	f.StringVar(&opts.Base, "base", "", "compare with this ref to know the changed files (paths filters, rules:changes)")
	f.StringArrayVar(&opts.Inputs, "input", nil, "KEY=VALUE: an input of a manual run (repeatable)")
	f.StringVar(&opts.InputFile, "input-file", "", "a dotenv file of inputs (KEY=VALUE lines)")
	f.StringArrayVar(&opts.Vars, "var", nil, "KEY=VALUE: a variable (GitHub vars context, GitLab CI/CD variable) (repeatable)")
	f.StringVar(&opts.VarFile, "var-file", "", "a dotenv file of variables (KEY=VALUE lines)")
	f.StringArrayVarP(&opts.Secrets, "secret", "s", nil, "NAME or NAME=VALUE: a secret, from the environment when no value is given (repeatable)")
	f.StringVar(&opts.SecretFile, "secret-file", "", "a dotenv file of secrets (NAME=VALUE lines)")
	f.StringArrayVar(&opts.Env, "env", nil, "NAME=VALUE: a variable steps see; NAME alone passes this host environment variable (repeatable)")
	f.StringVar(&opts.EnvFile, "env-file", "", "a dotenv file of variables every step sees (NAME=VALUE lines)")
	f.StringArrayVar(&opts.Matrix, "matrix", nil, "KEY=VALUE: run only the matrix combinations with this value (repeatable)")
	f.IntVarP(&opts.Parallel, "parallel", "p", 0, "how many jobs run at once (default: the number of CPUs)")
	f.IntVar(&opts.Parallel, "jobs", 0, "how many jobs run at once")
	_ = f.MarkDeprecated("jobs", "use --parallel (-p); -j selects jobs, as in act")
	f.SetOutput(io.Err) // the deprecation notice, not in --json's stdout
	f.StringVar(&opts.Executor, "executor", "auto", "where steps run: host, buildkit, or auto (buildkit when a daemon answers, else host)")
	f.StringVar(&opts.Workspace, "workspace", cmp.Or(os.Getenv("GANTRY_WORKSPACE"), "auto"), "how the host executor makes each job's workspace: overlay, reflink, copy, or auto (the cheapest this machine allows) (default $GANTRY_WORKSPACE, then auto)")
	opts.Engine.register(cmd)
	f.StringVar(&opts.Report, "report", "auto", "report each node as a GitHub check run on the commit: github, none, or auto (github inside GitHub Actions with a GITHUB_TOKEN)")
	opts.GitHub.register(cmd)
	f.BoolVar(&opts.Locked, "locked", false, "use exactly what gantry.lock records: the actions' and includes' commits, checked against their hashes, and the images' digests (see gantry lock)")
	f.StringArrayVar(&opts.ActionDirs, "action-dir", nil, "OWNER/REPO@REF=PATH: use a local checkout for an action instead of fetching it (repeatable)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and run nothing")
	f.BoolVar(&opts.JSON, "json", false, "print one JSON event per line")
	f.BoolVar(&opts.KeepGoing, "keep-going", false, "do not cancel the rest of a matrix when one of its jobs fails")
	f.BoolVar(&opts.PlatformHost, "platform-host", false, "run jobs that ask for a container image on this machine anyway")
	f.StringVar(&opts.UI, "ui", "", "serve a live page of the run on 127.0.0.1 while it runs; --ui=open opens the browser")
	f.Lookup("ui").NoOptDefVal = "on"
	f.StringVar(&opts.OTel, "otel", "", "send the run as OpenTelemetry traces to this OTLP endpoint (http://localhost:4318; default OTEL_EXPORTER_OTLP_ENDPOINT)")
	f.StringVarP(&opts.Output, "output", "o", "", "copy the run's artifacts to this directory when it ends (DIR/NAME for upload-artifact, DIR/JOB for GitLab artifacts)")
	opts.Source.register(cmd)
	groupFlags(cmd, runFlagGroups)
	_ = cmd.RegisterFlagCompletionFunc("job", completeJobs(&opts.Source))
	_ = cmd.RegisterFlagCompletionFunc("event", fixed(knownEvents...))
	_ = cmd.RegisterFlagCompletionFunc("executor", fixed("auto", "host", "buildkit"))
	_ = cmd.RegisterFlagCompletionFunc("workspace", fixed("auto", "overlay", "reflink", "copy"))
	_ = cmd.RegisterFlagCompletionFunc("provider", fixed("github", "gitlab", "gantry"))
	return cmd
}

func runRun(ctx context.Context, io *IO, opts *runOptions) error {
	switch opts.Executor {
	case "auto", "host", "buildkit":
	default:
		return usagef("--executor %q: use host, buildkit or auto", opts.Executor)
	}
	// Bare words are an event (gantry run pull_request, as act takes it)
	// or jobs (gantry run lint, as gitlab-ci-local takes it).
	files, words := splitArgs(append(slices.Clone(opts.Files), opts.Workflows...))
	opts.Files = files
	if err := opts.readFiles(); err != nil {
		return err
	}
	opts.Source.Vars = opts.Vars
	topts, err := opts.Source.options("", opts.Files...)
	if err != nil {
		return err
	}
	strategy, err := host.ParseStrategy(opts.Workspace)
	if err != nil {
		return usagef("--workspace: %v", err)
	}
	hostExec := host.New(host.Options{Workspace: strategy})
	defer hostExec.Close()
	// What does not depend on the pipelines starts now, beside their
	// translation: the event's git questions, and the host's snapshot of
	// the source when the jobs will run here.
	opts.gitFacts = runner.AskGit(ctx, opts.Source.Dir)
	if !opts.DryRun && opts.Engine.hostOnly(opts.Executor) {
		hostExec.Warm(opts.Source.Dir)
	}
	remote, err := opts.GitHub.remote(opts.Source.Offline, opts.ActionDirs)
	if err != nil {
		return err
	}
	lf, err := lock.Read(filepath.Join(opts.Source.Dir, lock.FileName))
	if err != nil {
		return err
	}
	if opts.Locked && lf == nil {
		return usagef("--locked: there is no %s in %s; write it with gantry lock", lock.FileName, opts.Source.Dir)
	}
	warn := func(msg string) { fmt.Fprintln(io.Err, "gantry: warning: "+msg) }
	actions := lf.ResolveActions(remote, opts.Locked, warn)
	topts.Included = lf.CheckIncludes(opts.Locked, warn)
	if opts.Locked {
		// Includes are read at the commits the lock recorded.
		topts.Pinned = lf.Pinned
	}
	topts.Actions = func(uses string) (string, error) { return actions(ctx, uses) }
	if len(files) == 0 {
		files = discover(opts.Source.Dir)
		if len(files) == 0 {
			return usagef("no pipeline found: name a file, or run in a repository with .github/workflows/*.yml or .gitlab-ci.yml")
		}
	}
	pipelines, warnings, err := loadQuiet(ctx, files, topts)
	if err != nil {
		return err
	}
	if err := opts.readWords(words, pipelines); err != nil {
		return err
	}
	jobs := map[*dag.Pipeline][]string{}
	if len(opts.Jobs) > 0 {
		sel, err := selectJobs(pipelines, opts.Jobs)
		if err != nil {
			return err
		}
		// The warnings of pipelines no selected job is in are not
		// what this run is about.
		unselected := map[string]bool{}
		for _, p := range pipelines {
			if p.Source != nil {
				unselected[p.Source.Path] = true
			}
		}
		pipelines = nil
		for _, s := range sel {
			pipelines = append(pipelines, s.p)
			jobs[s.p] = s.ids
			if s.p.Source != nil {
				delete(unselected, s.p.Source.Path)
			}
		}
		warnings = slices.DeleteFunc(warnings, func(d diag.Diagnostic) bool { return unselected[d.Pos.File] })
	}
	if len(warnings) > 0 {
		io.printDiagnostics(warnings)
	}
	if err := checkMatrix(pipelines, opts.Matrix); err != nil {
		return err
	}
	if events := pipelineEvents(pipelines); len(opts.Jobs) == 0 && len(events) > 0 && !slices.Contains(events, opts.Event) && !slices.Contains(events, eventAliases[opts.Event]) {
		warn(fmt.Sprintf("no pipeline here runs for the event %q: they run for %s", opts.Event, strings.Join(events, ", ")))
	}
	event, err := opts.event(ctx)
	if err != nil {
		return err
	}
	secrets, err := readDotenv(opts.SecretFile)
	if err != nil {
		return err
	}
	if err := opts.addSecrets(secrets); err != nil {
		return err
	}
	extraEnv, err := readDotenv(opts.EnvFile)
	if err != nil {
		return err
	}
	// --env NAME=VALUE sets a value; --env NAME passes the host's.
	for _, kv := range opts.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if k == "" {
				return usagef("--env %q: expected NAME=VALUE or NAME", kv)
			}
			extraEnv[k] = v
		}
	}
	root, err := filepath.Abs(opts.Source.Dir)
	if err != nil {
		return err
	}
	masker := &runner.Masker{}
	out := masker.Writer(io.Out)
	defer out.Close()
	var rep runner.Reporter
	if opts.JSON {
		rep = &runner.JSONReporter{Out: out}
	} else {
		rep = &runner.TextReporter{Out: out, Color: io.Color && io.OutTTY, Width: prefixWidth(pipelines, jobs), Fold: io.OutTTY}
	}
	if rep, err = opts.checkRuns(ctx, io, rep, event, masker); err != nil {
		return err
	}
	if !opts.JSON {
		rep = hideInternal(rep, pipelines)
	}
	tr, ctx, err := opts.startTraces(ctx, event, masker)
	if err != nil {
		return err
	}
	view, err := opts.startUI(ctx, io, root, masker)
	if err != nil {
		return err
	}
	if !opts.Watch {
		defer view.close()
	}
	var executor runner.Executor = hostExec
	opts.Engine.secrets, opts.Engine.pipelines = secrets, pipelines
	if opts.Engine.pinned, err = lockedImages(ctx, lf, pipelines, opts.Locked, opts.Source.Offline, warn); err != nil {
		return err
	}
	if !opts.DryRun {
		bk, why, err := opts.Engine.connect(ctx, opts.Executor, masker.Writer(io.Err), func(id, msg string) { rep.Line(id, "gantry", masker.Mask(msg)) })
		if err != nil {
			return err
		}
		for _, v := range opts.Engine.cacheSecrets {
			masker.Add(v)
		}
		if bk != nil {
			defer bk.Close()
			executor = bk
			fmt.Fprintf(io.Err, "gantry: running on buildkit at %s: each job in a container%s\n", bk.Addr(), why)
		} else if err := sayWorkspaces(io, out, opts.JSON, hostExec, root, why); err != nil {
			return err
		}
	}
	if tr != nil {
		tr.Set(map[string]string{"gantry.executor": executor.Name()})
	}
	// The tool cache setup-* provision into, shared by runs (an error
	// leaves setup-* with what is on PATH).
	toolCache, _ := toolcache.Default()
	anyFailed, infraWhy := false, ""
	defer func() { endTraces(io, tr, opts.OTel, anyFailed) }()
	if opts.NoNeeds && len(opts.Jobs) == 0 {
		return usagef("--no-needs goes with --job: it runs the selected jobs without what they need")
	}
	for _, p := range pipelines {
		var prior map[string]runner.PriorResult
		if opts.NoNeeds {
			prior = lastResults(filepath.Join(root, ".gantry", "runs"), p.Name)
		}
		runDir := filepath.Join(root, ".gantry", "runs", runID())
		ropts := runner.Options{
			Executor:     executor,
			Source:       root,
			RunDir:       runDir,
			CacheDir:     filepath.Join(root, ".gantry", "cache"),
			ToolCache:    toolCache,
			Event:        event,
			Jobs:         jobs[p],
			NoNeeds:      opts.NoNeeds,
			Prior:        prior,
			Parallel:     opts.Parallel,
			Secrets:      secrets,
			Vars:         keyValues(opts.Vars),
			ExtraEnv:     extraEnv,
			Matrix:       keyValues(opts.Matrix),
			Env:          hostNames(opts.Env),
			KeepGoing:    opts.KeepGoing,
			PlatformHost: opts.PlatformHost,
			Platforms:    opts.Engine.labels(),
			Reporter:     rep,
			Masker:       masker,
			Actions:      actions,
		}
		if opts.DryRun {
			plan, err := runner.MakePlan(p, ropts)
			if err != nil {
				return err
			}
			printPlan(io, p, plan, planOptions{json: opts.JSON, executor: opts.Executor, images: opts.Engine.images()})
			continue
		}
		if err := ensureGitignored(root); err != nil {
			return err
		}
		rec, err := view.record(io, p, runDir, root, masker)
		if err != nil {
			return err
		}
		ropts.Reporter = runner.Tee{ropts.Reporter, rec}
		var traced *tracing.Pipeline
		if tr != nil {
			traced = tr.Pipeline(ctx, p, filepath.Base(runDir))
			ropts.Reporter, ropts.Observer = runner.Tee{ropts.Reporter, traced}, traced
		}
		res, err := runner.Run(ctx, p, ropts)
		if traced != nil {
			traced.End(res)
		}
		if rerr := finishRecord(rec, runDir, res); rerr != nil {
			fmt.Fprintf(io.Err, "gantry: warning: the run's record: %v\n", rerr)
		}
		if err != nil && res == nil {
			return err
		}
		if !res.Triggered {
			msg := fmt.Sprintf("%s: not triggered: %s", p.Name, res.Why)
			if opts.JSON {
				b, _ := json.Marshal(map[string]any{"event": "not-triggered", "pipeline": p.Name, "why": res.Why})
				fmt.Fprintln(out, string(b))
			} else {
				fmt.Fprintln(out, msg)
			}
			continue
		}
		record := writeRecord(root, ropts.RunDir, res, masker)
		if opts.Output != "" {
			n, err := runner.CopyArtifacts(ropts.RunDir, opts.Output)
			if err != nil {
				return fmt.Errorf("--output %s: %w", opts.Output, err)
			}
			if !opts.JSON {
				fmt.Fprintf(io.Err, "gantry: %d artifact(s) copied to %s\n", n, opts.Output)
			}
		}
		printSummary(out, res, summaryOptions{pipeline: p, json: opts.JSON, color: io.Color && io.OutTTY, record: record})
		if res.Failed {
			anyFailed = true
		}
		if res.InfrastructureFailed {
			for _, n := range res.Nodes {
				if n.Infrastructure && infraWhy == "" {
					infraWhy = n.ID + ": " + n.Reason
				}
			}
		}
		if err != nil {
			return err
		}
	}
	if anyFailed {
		return failedError{"a job failed"}
	}
	if infraWhy != "" {
		return infraError{"an infrastructure failure, not the pipeline's: " + infraWhy}
	}
	return nil
}

// discover finds the repository's pipelines (see translate.Discover).
func discover(dir string) []string {
	var files []string
	for _, f := range translate.Discover(dir) {
		files = append(files, f.Path)
	}
	return files
}

// checkRuns adds check-run reporting to rep when --report asks for it.
func (o *runOptions) checkRuns(ctx context.Context, io *IO, rep runner.Reporter, e runner.Event, m *runner.Masker) (runner.Reporter, error) {
	switch o.Report {
	case "none":
		return rep, nil
	case "auto":
		if os.Getenv("GITHUB_ACTIONS") != "true" || (o.GitHub.Token == "" && os.Getenv("GITHUB_TOKEN") == "") || o.DryRun {
			return rep, nil
		}
	case "github":
	default:
		return nil, usagef("--report %q: use github, none or auto", o.Report)
	}
	repo := os.Getenv("GITHUB_REPOSITORY")
	if repo == "" {
		repo = e.Repository
	}
	owner, name, ok := strings.Cut(repo, "/")
	sha := os.Getenv("GITHUB_SHA")
	if sha == "" {
		sha = e.SHA
	}
	if !ok || owner == "" || name == "" || sha == "" {
		return nil, usagef("--report github needs the repository (GITHUB_REPOSITORY=owner/name, or a github.com remote) and the commit (GITHUB_SHA)")
	}
	token, api := o.GitHub.api()
	checks, err := checkrun.New(ctx, checkrun.Options{Token: token, BaseURL: api, Owner: owner, Repo: name, SHA: sha,
		Warn: func(msg string) { fmt.Fprintln(io.Err, "gantry: warning: "+m.Mask(msg)) }})
	if err != nil {
		return nil, err
	}
	return runner.Tee{rep, checks}, nil
}

// eventAliases are the providers' own names for gantry's events, as the
// emitted trigger files pass them ($GITHUB_EVENT_NAME, $CI_PIPELINE_SOURCE).
var eventAliases = map[string]string{
	"workflow_dispatch":   "manual",
	"workflow_call":       "call",
	"web":                 "manual",
	"merge_request_event": "merge_request",
}

func (o *runOptions) event(ctx context.Context) (runner.Event, error) {
	name := o.Event
	if n, ok := eventAliases[name]; ok {
		name = n
	}
	e := runner.Event{Name: name, Ref: o.Ref, Inputs: keyValues(o.Inputs)}
	if e.Ref != "" && !strings.HasPrefix(e.Ref, "refs/") {
		e.Ref = "refs/heads/" + e.Ref
	}
	if o.EventPath != "" {
		data, err := os.ReadFile(o.EventPath)
		if err != nil {
			return e, err
		}
		if err := json.Unmarshal(data, &e.Payload); err != nil {
			return e, fmt.Errorf("%s: not a JSON event payload: %w", o.EventPath, err)
		}
	}
	if o.Base != "" {
		e.BaseRef = "refs/heads/" + strings.TrimPrefix(o.Base, "refs/heads/")
	}
	return runner.FillEvent(ctx, o.Source.Dir, e, o.Base, o.gitFacts), nil
}

// readFiles adds --input-file and --var-file to the inputs and variables
// (the flags given one by one win).
func (o *runOptions) readFiles() error {
	for _, f := range []struct {
		path string
		into *[]string
	}{{o.InputFile, &o.Inputs}, {o.VarFile, &o.Vars}} {
		kv, err := readDotenv(f.path)
		if err != nil {
			return usagef("%v", err)
		}
		var from []string
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			from = append(from, k+"="+kv[k])
		}
		*f.into = append(from, *f.into...)
	}
	return nil
}

// readWords reads run's bare words: an event name (one, unless --event is
// given) or jobs.
func (o *runOptions) readWords(words []string, pipelines []*dag.Pipeline) error {
	events := pipelineEvents(pipelines)
	for _, w := range words {
		isEvent := slices.Contains(knownEvents, w) || slices.Contains(events, w)
		hasJob := false
		for _, p := range pipelines {
			hasJob = hasJob || len(matchJob(p, w)) > 0
		}
		switch {
		case hasJob:
			o.Jobs = append(o.Jobs, w)
		case isEvent && !o.eventSet:
			o.Event, o.eventSet = w, true
		case isEvent:
			return usagef("%q and --event %s: name one event", w, o.Event)
		default:
			// Neither: --job's message lists what is close.
			o.Jobs = append(o.Jobs, w)
		}
	}
	return nil
}

// hostNames are the --env entries that pass a host variable (NAME alone).
func hostNames(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.Contains(e, "=") {
			out = append(out, e)
		}
	}
	return out
}

// checkMatrix refuses a --matrix KEY=VALUE that selects no matrix leg of
// the pipelines (it would run nothing of the matrix, silently).
func checkMatrix(pipelines []*dag.Pipeline, matrix []string) error {
	for _, kv := range matrix {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--matrix %q: expected KEY=VALUE", kv)
		}
		var seen []string
		dynamic := false
		for _, p := range pipelines {
			for _, n := range p.Nodes {
				dynamic = dynamic || n.MatrixFrom != ""
				if mv, ok := n.Matrix[k]; ok {
					seen = append(seen, expr.FromGo(mv).String())
				}
			}
		}
		if dynamic || slices.Contains(seen, v) {
			continue
		}
		slices.Sort(seen)
		if seen = slices.Compact(seen); len(seen) == 0 {
			return usagef("--matrix %s: no matrix of these pipelines has the key %s", kv, k)
		}
		return usagef("--matrix %s matches no matrix leg: %s is one of %s", kv, k, strings.Join(seen, ", "))
	}
	return nil
}

// readDotenv reads NAME=VALUE lines (comments, blank lines, "export "
// and quotes allowed); an empty path gives an empty map.
func readDotenv(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return nil, usagef("%s:%d: expected NAME=VALUE", path, i+1)
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return out, nil
}

// addSecrets adds the --secret flags: NAME=VALUE, or NAME read from the
// environment.
func (o *runOptions) addSecrets(into map[string]string) error {
	for _, s := range o.Secrets {
		name, value, ok := strings.Cut(s, "=")
		if !ok {
			v, found := os.LookupEnv(name)
			if !found {
				return usagef("--secret %s: no environment variable %s; give NAME=VALUE or export it", name, name)
			}
			value = v
		}
		into[name] = value
	}
	return nil
}

func keyValues(list []string) map[string]string {
	out := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func runID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// prefixWidth is the width of the progress lines' prefix: the longest id
// of the jobs that may run (those selected, when --job selects), at most
// 32 (longer ones are shortened in the middle).
func prefixWidth(ps []*dag.Pipeline, selected map[*dag.Pipeline][]string) int {
	w := 0
	for _, p := range ps {
		// The selected jobs and what they need, found once per pipeline.
		var runs map[string]bool
		if sel, ok := selected[p]; ok {
			runs = map[string]bool{}
			for _, id := range sel {
				runs[id] = true
				for a := range p.Ancestors(id) {
					runs[a] = true
				}
			}
		}
		for _, n := range p.Nodes {
			if internalNode(n) || runs != nil && !runs[n.ID] {
				continue
			}
			w = max(w, len([]rune(n.ID)))
		}
	}
	return min(w, 32)
}

// ensureGitignored keeps .gantry/ out of git status.
func ensureGitignored(root string) error {
	dir := filepath.Join(root, ".gantry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); err == nil {
		return nil
	}
	return os.WriteFile(ignore, []byte("# gantry's run records, artifacts and caches\n*\n"), 0o644)
}

// lastResults are, for each node of the pipeline, its result in the
// newest run record where it ran and succeeded, with that record's
// directory (its artifacts). A result that itself stood in for the node
// (--no-needs) is passed over for the run it came from.
func lastResults(runs, pipeline string) map[string]runner.PriorResult {
	entries, err := os.ReadDir(runs)
	if err != nil {
		return nil
	}
	type record struct {
		dir  string
		when time.Time
	}
	var recs []record
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "last" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(runs, e.Name(), "run.json")); err == nil {
			recs = append(recs, record{filepath.Join(runs, e.Name()), fi.ModTime()})
		}
	}
	slices.SortFunc(recs, func(a, b record) int { return b.when.Compare(a.when) })
	out := map[string]runner.PriorResult{}
	for _, rec := range recs {
		data, err := os.ReadFile(filepath.Join(rec.dir, "run.json"))
		if err != nil {
			continue
		}
		var res runner.Result
		if json.Unmarshal(data, &res) != nil || res.Pipeline != pipeline {
			continue
		}
		for _, n := range res.Nodes {
			if _, seen := out[n.ID]; seen || n.ReusedFrom != "" || (n.Status != dag.StatusSuccess && n.Status != dag.StatusAllowed) {
				continue
			}
			out[n.ID] = runner.PriorResult{NodeResult: n, RunDir: rec.dir}
		}
	}
	return out
}

// writeRecord writes a run's record, points .gantry/runs/last at its
// directory, and returns the record's path from root ("" when it could
// not be written).
func writeRecord(root, dir string, res *runner.Result, m *runner.Masker) string {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return ""
	}
	file := filepath.Join(dir, "run.json")
	if os.WriteFile(file, []byte(m.Mask(string(b))), 0o644) != nil {
		return ""
	}
	last := filepath.Join(filepath.Dir(dir), "last")
	tmp := last + ".tmp"
	_ = os.Remove(tmp)
	if os.Symlink(filepath.Base(dir), tmp) == nil {
		_ = os.Rename(tmp, last)
	}
	if rel, err := filepath.Rel(root, file); err == nil {
		return rel
	}
	return file
}

// planOptions say how a dry run's plan prints: which executor, and -P's
// images, decide where each job would run.
type planOptions struct {
	json     bool
	executor string
	images   map[string]string
}

// where says where a node would run: on this machine, or in which image
// on BuildKit (with --executor auto, BuildKit's when a daemon answers).
func (o planOptions) where(n *dag.Node) string {
	if o.executor == "host" {
		return "on this machine"
	}
	ref, why := buildkit.ImageFor(n, o.images)
	where := "in " + ref + " (" + why + ")"
	if o.executor == "auto" {
		where += " on BuildKit, else on this machine"
	}
	return where
}

func printPlan(io *IO, p *dag.Pipeline, plan *runner.Plan, o planOptions) {
	asJSON := o.json
	if asJSON {
		nodes := []map[string]any{}
		for _, pn := range plan.Nodes {
			node := map[string]any{"id": pn.Node.ID, "run": pn.Run, "why": pn.Why, "needs": pn.Node.Needs}
			if pn.Run && len(pn.Node.Steps) > 0 {
				node["where"] = o.where(pn.Node)
			}
			nodes = append(nodes, node)
		}
		b, _ := json.Marshal(map[string]any{"event": "plan", "pipeline": p.Name, "triggered": plan.Triggered, "why": plan.Why, "nodes": nodes})
		fmt.Fprintln(io.Out, string(b))
		return
	}
	if !plan.Triggered {
		fmt.Fprintf(io.Out, "%s: not triggered: %s\n", p.Name, plan.Why)
		return
	}
	fmt.Fprintf(io.Out, "%s: triggered %s\n", p.Name, plan.Why)
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	i := 0
	for _, pn := range plan.Nodes {
		// GitLab's stage barriers are gantry's plumbing: their jobs
		// stand in for them.
		if internalNode(pn.Node) {
			continue
		}
		i++
		what := "run"
		if !pn.Run {
			what = "skip: " + pn.Why
		}
		needs := ""
		if vn := visibleNeeds(p, pn.Node); len(vn) > 0 {
			needs = "after " + strings.Join(vn, ", ")
		}
		where := ""
		if pn.Run && len(pn.Node.Steps) > 0 {
			where = o.where(pn.Node)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", i, pn.Node.ID, what, needs, where)
	}
	tw.Flush()
}

// summaryOptions say how a run's summary prints.
type summaryOptions struct {
	// pipeline, when set, tells gantry's plumbing nodes, which are left
	// out.
	pipeline *dag.Pipeline
	json     bool
	color    bool
	// record is the run record's path, said under the table.
	record string
}

func printSummary(w interface{ Write([]byte) (int, error) }, res *runner.Result, o summaryOptions) {
	p, asJSON := o.pipeline, o.json
	if asJSON {
		nodes := []map[string]any{}
		for _, n := range res.Nodes {
			node := map[string]any{"id": n.ID, "status": n.Status, "reason": n.Reason, "duration_ms": n.Duration.Milliseconds()}
			if n.Infrastructure {
				node["infrastructure"] = true
			}
			nodes = append(nodes, node)
		}
		b, _ := json.Marshal(map[string]any{"event": "summary", "pipeline": res.Pipeline, "failed": res.Failed,
			"infrastructure_failed": res.InfrastructureFailed, "nodes": nodes})
		fmt.Fprintln(w, string(b))
		return
	}
	fmt.Fprintf(w, "\n%s\n", res.Pipeline)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "STATUS"
	if o.color {
		// As long as a painted status (a colour code of 5 bytes and a
		// reset of 4), which tabwriter counts as wide as what shows.
		header = "\x1b[39m" + header + "\x1b[0m"
	}
	fmt.Fprintf(tw, "  NODE\t%s\tDURATION\tWHY\n", header)
	for _, n := range res.Nodes {
		if p != nil && internalNode(p.Node(n.ID)) {
			continue // a stage barrier: its jobs say how it went
		}
		status := string(n.Status)
		if n.Infrastructure {
			status += " (infrastructure)"
		}
		if o.color {
			// Every status gets a colour code of the same length, so the
			// columns stay aligned.
			status = runner.Paint(n.Status, status)
			if !strings.HasPrefix(status, "\x1b[") {
				status = "\x1b[39m" + status + "\x1b[0m"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", n.ID, status, n.Duration.Round(time.Millisecond), n.Reason)
	}
	tw.Flush()
	if o.record != "" {
		fmt.Fprintf(w, "  record: %s\n", o.record)
	}
	var summaries []string
	for _, n := range res.Nodes {
		if n.Summary != "" {
			summaries = append(summaries, "## "+n.Name+"\n\n"+n.Summary)
		}
	}
	if len(summaries) > 0 {
		fmt.Fprintf(w, "\nStep summaries:\n\n%s", strings.Join(summaries, "\n"))
	}
}
