package dag

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/diag"
)

// Version is the format version every pipeline file starts with.
const Version = "gantry/v1"

// Pipeline is one portable pipeline: what triggers it and the DAG of nodes
// it runs. Field order here is the key order of the encoded file.
type Pipeline struct {
	Version string `json:"version"`
	Name    string `json:"name,omitempty"`
	// RunName is the display title of a run (GitHub run-name); may hold expressions.
	RunName string  `json:"run-name,omitempty"`
	Source  *Source `json:"source,omitempty"`
	// Triggers are the events that start the pipeline, provider-neutral.
	Triggers []Trigger `json:"triggers,omitempty"`
	// If is a pipeline-wide condition evaluated against the event before any
	// node is planned (GitLab workflow:rules).
	If string `json:"if,omitempty"`
	// Rules decide, before any node is planned, whether the pipeline runs
	// (GitLab workflow:rules); see Rule.
	Rules       []Rule            `json:"rules,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Defaults    *Defaults         `json:"defaults,omitempty"`
	Permissions map[string]string `json:"permissions,omitempty"`
	Concurrency *Concurrency      `json:"concurrency,omitempty"`
	// Run holds settings of gantry run for this pipeline, used when the
	// command line and the environment give none.
	Run   *RunSettings `json:"run,omitempty"`
	Nodes []*Node      `json:"nodes"`

	// positions maps JSON pointers into the decoded document to where they
	// were in it, so that validation can point into a hand-written DAG.
	positions map[string]diag.Pos
}

// RunSettings are gantry run's settings a pipeline carries.
type RunSettings struct {
	// CacheFrom and CacheTo are BuildKit cache backends shared with other
	// engines, as gantry run --cache-from and --cache-to take them
	// (type=registry,ref=REF,mode=max).
	CacheFrom []string `json:"cache-from,omitempty"`
	CacheTo   []string `json:"cache-to,omitempty"`
}

// Source says which provider file a pipeline was translated from.
type Source struct {
	Provider string `json:"provider"`
	Path     string `json:"path"`
}

// Trigger is one event that starts the pipeline, with its filters.
type Trigger struct {
	// Event is a provider-neutral event name: push, pull_request, schedule,
	// manual, call, merge_request, tag, api... Provider-specific events are
	// kept by their provider name.
	Event          string   `json:"event"`
	Types          []string `json:"types,omitempty"`
	Branches       []string `json:"branches,omitempty"`
	BranchesIgnore []string `json:"branches-ignore,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	TagsIgnore     []string `json:"tags-ignore,omitempty"`
	Paths          []string `json:"paths,omitempty"`
	PathsIgnore    []string `json:"paths-ignore,omitempty"`
	Cron           string   `json:"cron,omitempty"`
	// Timezone is the IANA time zone Cron is read in (GitHub's
	// on.schedule[].timezone); empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Workflows names the upstream pipelines of a workflow_run trigger.
	Workflows []string          `json:"workflows,omitempty"`
	Inputs    map[string]*Input `json:"inputs,omitempty"`
	// Outputs of a callable pipeline: name -> expression.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Secrets a callable pipeline accepts, by name.
	Secrets []SecretSpec `json:"secrets,omitempty"`
	Pos     SourcePos    `json:"pos,omitzero"`
}

// Input is a typed input of a manual or callable trigger.
type Input struct {
	Type        string   `json:"type,omitempty"` // string | boolean | number | choice | environment
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Default     any      `json:"default,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// SecretSpec declares a secret a callable pipeline accepts.
type SecretSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// Defaults say how the runner runs steps and nodes where CI systems
// differ. A node's Defaults override the pipeline's field by field, and a
// step's shell, working directory and script override both. Every field's
// zero value is GitHub Actions' behaviour, so that a DAG that says nothing
// runs as GitHub's runner would run it; the GitLab translator writes
// GitLab's behaviour out field by field.
type Defaults struct {
	Shell            string `json:"shell,omitempty"`
	WorkingDirectory string `json:"working-directory,omitempty"`
	// Script says how a run step's text is run: ScriptFile or ScriptLines.
	Script Script `json:"script,omitempty"`
	// Expressions says whether ${{ }} in run, env and with is evaluated
	// (default true). Conditions (if) are expressions either way.
	Expressions *bool `json:"expressions,omitempty"`
	// WorkflowCommands says whether "::name::" lines a step prints are
	// workflow commands (default true).
	WorkflowCommands *bool `json:"workflow-commands,omitempty"`
	// ExpandVariables says whether $VAR and ${VAR} in the values of the
	// pipeline's and node's env are expanded from the variables defined
	// before them, $$ standing for a literal $ (default false).
	ExpandVariables *bool `json:"expand-variables,omitempty"`
	// Predefined names the set of predefined variables steps get:
	// PredefinedGitHub (GITHUB_*, RUNNER_*) or PredefinedGitLab (CI_*).
	Predefined Predefined `json:"predefined,omitempty"`
	// ExportVars says whether the run's variables and secrets are also
	// environment variables of every step (default false: steps reach them
	// through the vars and secrets contexts only).
	ExportVars *bool `json:"export-vars,omitempty"`
	// SkippedNeeds says what a skipped need does to a node whose condition
	// calls no status function: SkippedNeedsSkip or SkippedNeedsRun.
	SkippedNeeds SkippedNeeds `json:"skipped-needs,omitempty"`
}

// Script is how a run step's text is run.
type Script string

const (
	// ScriptFile writes the text to a file and runs it with the step's
	// shell (bash -eo pipefail by default): GitHub Actions' way.
	ScriptFile Script = "file"
	// ScriptLines runs the text line by line, each echoed with "$ " first,
	// stopping at the first line that fails: GitLab CI's way.
	ScriptLines Script = "lines"
)

// Predefined is a set of predefined variables.
type Predefined string

const (
	PredefinedGitHub Predefined = "github"
	PredefinedGitLab Predefined = "gitlab"
)

// SkippedNeeds is what a skipped need does to a node.
type SkippedNeeds string

const (
	// SkippedNeedsSkip skips the node (GitHub Actions).
	SkippedNeedsSkip SkippedNeeds = "skip"
	// SkippedNeedsRun runs it as if the need had succeeded (GitLab CI,
	// where a job left out by its rules does not hold back later stages).
	SkippedNeedsRun SkippedNeeds = "run"
)

// Behavior is what a node's Defaults come to once the pipeline's and the
// node's are merged and the defaults filled in.
type Behavior struct {
	Shell            string
	WorkingDirectory string
	Script           Script
	Expressions      bool
	WorkflowCommands bool
	ExpandVariables  bool
	Predefined       Predefined
	ExportVars       bool
	SkippedNeeds     SkippedNeeds
}

// Behavior merges the pipeline's and the node's Defaults (n may be nil).
func (p *Pipeline) Behavior(n *Node) Behavior {
	b := Behavior{Script: ScriptFile, Expressions: true, WorkflowCommands: true, Predefined: PredefinedGitHub, SkippedNeeds: SkippedNeedsSkip}
	apply := func(d *Defaults) {
		if d == nil {
			return
		}
		b.Shell = cmp.Or(d.Shell, b.Shell)
		b.WorkingDirectory = cmp.Or(d.WorkingDirectory, b.WorkingDirectory)
		b.Script = cmp.Or(d.Script, b.Script)
		b.Predefined = cmp.Or(d.Predefined, b.Predefined)
		b.SkippedNeeds = cmp.Or(d.SkippedNeeds, b.SkippedNeeds)
		for _, f := range []struct {
			v   *bool
			dst *bool
		}{{d.Expressions, &b.Expressions}, {d.WorkflowCommands, &b.WorkflowCommands}, {d.ExpandVariables, &b.ExpandVariables}, {d.ExportVars, &b.ExportVars}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
	}
	if p != nil {
		apply(p.Defaults)
	}
	if n != nil {
		apply(n.Defaults)
	}
	return b
}

// Step applies a step's own shell, working directory and script.
func (b Behavior) Step(s *Step) Behavior {
	b.Shell = cmp.Or(s.Shell, b.Shell)
	b.WorkingDirectory = cmp.Or(s.WorkingDirectory, b.WorkingDirectory)
	b.Script = cmp.Or(s.Script, b.Script)
	return b
}

// Concurrency limits runs sharing a group (recorded for emitters and runners).
type Concurrency struct {
	Group            string `json:"group"`
	CancelInProgress Flag   `json:"cancel-in-progress,omitzero"`
}

// When says under which outcome of the earlier nodes a node runs.
type When string

const (
	WhenOnSuccess When = "on_success"
	WhenOnFailure When = "on_failure"
	WhenAlways    When = "always"
	WhenManual    When = "manual"
	WhenDelayed   When = "delayed"
	WhenNever     When = "never"
)

// Whens lists every valid When, in documentation order.
var Whens = []When{WhenOnSuccess, WhenOnFailure, WhenAlways, WhenManual, WhenDelayed, WhenNever}

// Node is one unit of containerized work: a job of the source pipeline with
// its matrix values fixed.
type Node struct {
	// ID is stable and unique in the pipeline: job id plus matrix values.
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Stage string   `json:"stage,omitempty"`
	Needs []string `json:"needs,omitempty"`
	// If is a condition in gantry's expression language. When it calls none
	// of success(), failure(), always() or cancelled(), success() && is implied.
	If string `json:"if,omitempty"`
	// Rules are GitLab's rules: evaluated in order, the first that matches
	// decides whether and how the node runs; when none matches it does not
	// run. A node with no rules runs as If and When say.
	Rules []Rule `json:"rules,omitempty"`
	When  When   `json:"when,omitempty"`
	// StartIn is the delay of a delayed node.
	StartIn Duration `json:"start-in,omitempty"`
	// Platform is a logical runner label (ubuntu-latest), mapped to an image at run time.
	Platform string `json:"platform,omitempty"`
	// Image is an explicit image reference; it wins over Platform.
	Image     string     `json:"image,omitempty"`
	Container *Container `json:"container,omitempty"`
	// Matrix holds the values that made this node from its job's matrix.
	Matrix map[string]any `json:"matrix,omitempty"`
	// MatrixFrom is an expression, known only at run time, whose value is the
	// job's matrix; the runner expands the node when it is known.
	MatrixFrom string            `json:"matrix-from,omitempty"`
	Strategy   *Strategy         `json:"strategy,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	// EnvFrom is an expression, known only at run time, whose value (an
	// object) is the node's env (GitHub's env: ${{ fromJSON(...) }}).
	EnvFrom string `json:"env-from,omitempty"`
	// InheritEnv limits which of the pipeline's env the node gets: nil
	// means all of it, an empty list none (GitLab inherit:variables).
	InheritEnv  *[]string         `json:"inherit-env,omitempty"`
	Defaults    *Defaults         `json:"defaults,omitempty"`
	Services    []Service         `json:"services,omitempty"`
	Steps       []Step            `json:"steps,omitempty"`
	Outputs     map[string]string `json:"outputs,omitempty"`
	Artifacts   *Artifacts        `json:"artifacts,omitempty"`
	Caches      []Cache           `json:"caches,omitempty"`
	Secrets     []string          `json:"secrets,omitempty"`
	Permissions map[string]string `json:"permissions,omitempty"`
	Environment *Environment      `json:"environment,omitempty"`
	// Snapshot asks the provider to save the runner's state as a custom
	// runner image once the node succeeds (GitHub's jobs.<id>.snapshot):
	// recorded, not done by a local run.
	Snapshot    *Snapshot    `json:"snapshot,omitempty"`
	Concurrency *Concurrency `json:"concurrency,omitempty"`
	Timeout     Duration     `json:"timeout,omitempty"`
	Retry       *Retry       `json:"retry,omitempty"`
	// AllowFailure lets the pipeline succeed when this node fails; an
	// expression is evaluated when it fails (GitHub's run-time job
	// continue-on-error).
	AllowFailure Flag `json:"allow-failure,omitzero"`
	// AllowFailureExitCodes narrows AllowFailure to these exit codes.
	AllowFailureExitCodes []int `json:"allow-failure-exit-codes,omitempty"`
	// NoCache marks nodes with side effects (deploys): never served from cache.
	NoCache bool `json:"no-cache,omitempty"`
	// Uses is a reference to work defined elsewhere (a remote reusable
	// workflow) that a resolver replaces by nodes before running.
	Uses string            `json:"uses,omitempty"`
	With map[string]any    `json:"with,omitempty"`
	Tags []string          `json:"tags,omitempty"`
	Pos  SourcePos         `json:"pos,omitzero"`
	Meta map[string]string `json:"meta,omitempty"`
}

// Label returns the node's display name, or its id.
func (n *Node) Label() string {
	if n.Name != "" {
		return n.Name
	}
	return n.ID
}

// Rule is one of GitLab's rules. It matches when its If is true, its
// Changes name a changed file and one of its Exists globs matches a file
// (each part that is set must hold). The first matching rule of a list
// decides: When never means the node (or pipeline) does not run.
type Rule struct {
	If      string   `json:"if,omitempty"`
	Changes *Changes `json:"changes,omitempty"`
	Exists  []string `json:"exists,omitempty"`
	// When is on_success when empty.
	When         When     `json:"when,omitempty"`
	AllowFailure *bool    `json:"allow-failure,omitempty"`
	StartIn      Duration `json:"start-in,omitempty"`
	// Env sets variables when the rule matches (rules:variables).
	Env map[string]string `json:"env,omitempty"`
	// Needs replaces the node's needs when the rule matches.
	Needs []string  `json:"needs,omitempty"`
	Pos   SourcePos `json:"pos,omitzero"`
}

// Changes matches when one of the paths (globs) changed, compared with
// CompareTo (a ref) or else with the event's base.
type Changes struct {
	Paths     []string `json:"paths"`
	CompareTo string   `json:"compare-to,omitempty"`
}

// Container holds what an image reference alone cannot say.
type Container struct {
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	User        string            `json:"user,omitempty"`
	Options     string            `json:"options,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	Credentials *Credentials      `json:"credentials,omitempty"`
}

// Credentials for a private image; the password is a secret's name, never a value.
type Credentials struct {
	Username       string `json:"username,omitempty"`
	PasswordSecret string `json:"password-secret,omitempty"`
}

// Strategy says how the nodes of one matrix behave together.
type Strategy struct {
	// Group is the source job id shared by the nodes of one matrix.
	Group string `json:"group,omitempty"`
	// FailFast, when nil, is true.
	FailFast    *Flag `json:"fail-fast,omitempty"`
	MaxParallel Count `json:"max-parallel,omitzero"`
}

// Service is a long-running container beside a node's steps.
type Service struct {
	Name        string            `json:"name"`
	Image       string            `json:"image"`
	Aliases     []string          `json:"aliases,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Options     string            `json:"options,omitempty"`
	Credentials *Credentials      `json:"credentials,omitempty"`
}

// Step is one command or action of a node.
type Step struct {
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name,omitempty"`
	If               string            `json:"if,omitempty"`
	Run              string            `json:"run,omitempty"`
	Shell            string            `json:"shell,omitempty"`
	WorkingDirectory string            `json:"working-directory,omitempty"`
	Uses             string            `json:"uses,omitempty"`
	With             map[string]string `json:"with,omitempty"`
	Env              map[string]string `json:"env,omitempty"`
	// EnvFrom is an expression whose value (an object) is the step's env,
	// evaluated when the step starts.
	EnvFrom string `json:"env-from,omitempty"`
	// Script overrides the node's Defaults.Script for this step.
	Script Script `json:"script,omitempty"`
	// Background starts the step and goes on to the next one at once; a
	// later Wait, WaitAll or Cancel step, or the node's end, joins it.
	Background bool `json:"background,omitempty"`
	// Wait makes the step one that waits for these background steps (by
	// id) to finish; WaitAll waits for every background step started
	// before it; Cancel stops the background step with that id. Such a
	// step has neither Run nor Uses.
	Wait            []string  `json:"wait,omitempty"`
	WaitAll         bool      `json:"wait-all,omitempty"`
	Cancel          string    `json:"cancel,omitempty"`
	Timeout         Duration  `json:"timeout,omitempty"`
	ContinueOnError Flag      `json:"continue-on-error,omitzero"`
	Pos             SourcePos `json:"pos,omitzero"`
}

// Control reports whether the step controls background steps (Wait,
// WaitAll, Cancel) rather than running a command.
func (s *Step) Control() bool { return len(s.Wait) > 0 || s.WaitAll || s.Cancel != "" }

// Label returns the step's display name.
func (s *Step) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return s.Uses
	case s.ID != "":
		return s.ID
	case len(s.Wait) > 0:
		return "wait for " + strings.Join(s.Wait, ", ")
	case s.WaitAll:
		return "wait for the background steps"
	case s.Cancel != "":
		return "cancel " + s.Cancel
	}
	line, _, _ := strings.Cut(strings.TrimSpace(s.Run), "\n")
	return line
}

// Artifacts a node produces and consumes.
type Artifacts struct {
	Produces []Artifact    `json:"produces,omitempty"`
	Consumes []ArtifactRef `json:"consumes,omitempty"`
}

// Artifact is a named set of files a node leaves for later nodes.
type Artifact struct {
	Name      string   `json:"name"`
	Paths     []string `json:"paths,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	Untracked bool     `json:"untracked,omitempty"`
	// When is on_success (the default), on_failure or always.
	When     When     `json:"when,omitempty"`
	ExpireIn Duration `json:"expire-in,omitempty"`
	// Report marks a report kind (dotenv, junit, ...); dotenv variables flow to dependents.
	Report string `json:"report,omitempty"`
}

// ArtifactRef names an artifact of an upstream node.
type ArtifactRef struct {
	From string `json:"from"`
	// Name of the artifact; empty means all of From's artifacts.
	Name string `json:"name,omitempty"`
	// Path the files land under, relative to the workspace; default the workspace.
	Path string `json:"path,omitempty"`
}

// Cache is a directory kept between runs under a key.
type Cache struct {
	Key         string   `json:"key"`
	Paths       []string `json:"paths"`
	RestoreKeys []string `json:"restore-keys,omitempty"`
	// Policy is pull-push (the default), pull or push.
	Policy string `json:"policy,omitempty"`
	When   When   `json:"when,omitempty"`
}

// Environment a node deploys to (recorded).
type Environment struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	// Deployment says whether the provider records a deployment for the
	// node: "false", or an expression deciding it; empty means it does
	// (GitHub's environment.deployment, default true).
	Deployment string `json:"deployment,omitempty"`
}

// Snapshot is a custom runner image a provider makes from a node's runner
// once the node succeeds (recorded; a local run makes none).
type Snapshot struct {
	// ImageName is the image's name; may hold ${{ }}.
	ImageName string `json:"image-name"`
	// Version is the image's version pattern (GitHub: "1.*").
	Version string `json:"version,omitempty"`
	// If is a condition in gantry's expression language: the image is
	// made only when it holds.
	If string `json:"if,omitempty"`
}

// Retry reruns a failed node.
type Retry struct {
	Max int `json:"max"`
	// When lists failure kinds to retry on (GitLab retry:when); empty means any.
	When []string `json:"when,omitempty"`
}

// Duration is a Go duration string ("90s", "1h30m").
type Duration string

// IsExpr reports whether the duration is known only at run time: it holds
// ${{ }}, which the runner evaluates before parsing what it gives.
func (d Duration) IsExpr() bool { return strings.Contains(string(d), "${{") }

// Parse returns the duration; the empty Duration is zero.
func (d Duration) Parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	if d.IsExpr() {
		return 0, fmt.Errorf("duration %q holds an expression: it is known only at run time", string(d))
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: expected a number with a unit, such as \"90s\", \"30m\" or \"1h30m\"", string(d))
	}
	if v < 0 {
		return 0, fmt.Errorf("bad duration %q: must not be negative", string(d))
	}
	return v, nil
}

// DurationOf formats a duration the way the format writes it ("30m", "1h30m").
func DurationOf(v time.Duration) Duration {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return Duration(s)
}

// SourcePos points back into the user's original file. It is written as
// "path:line:col".
type SourcePos struct{ diag.Pos }

// MarshalText writes path:line:col.
func (p SourcePos) MarshalText() ([]byte, error) { return []byte(p.Pos.String()), nil }

// UnmarshalText reads path:line[:col]; the path may itself hold colons.
func (p *SourcePos) UnmarshalText(b []byte) error {
	s := string(b)
	parts := strings.Split(s, ":")
	var nums []int
	for len(parts) > 1 && len(nums) < 2 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || n < 0 {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	if len(nums) == 0 {
		return fmt.Errorf("bad source position %q: expected path:line:col", s)
	}
	p.File = strings.Join(parts, ":")
	p.Line = nums[0]
	if len(nums) > 1 {
		p.Col = nums[1]
	}
	return nil
}
