package runner_test

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/host"
)

// annotations is a recorder that keeps annotations too.
type annotations struct {
	recorder
	amu sync.Mutex
	got []runner.Annotation
}

func (a *annotations) Annotation(node string, an runner.Annotation) {
	a.amu.Lock()
	defer a.amu.Unlock()
	a.got = append(a.got, an)
}

// runOnHost runs a DAG written in YAML with the host executor.
func runOnHost(t *testing.T, doc string) (*runner.Result, *annotations) {
	t.Helper()
	p, l := dag.Decode([]byte(doc), "test.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	rep := &annotations{}
	res, err := runner.Run(t.Context(), p, runner.Options{
		Executor: host.New(host.Options{TempDir: t.TempDir()}), Source: t.TempDir(), RunDir: t.TempDir(), Reporter: rep, Event: runner.Event{Name: "push"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, rep
}

// The workflow commands as GitHub's runner handles them
// (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands,
// and actions/runner's ActionCommandManager): the deprecated set-output and
// save-state are honoured with a warning; set-env and add-path fail the
// step unless ACTIONS_ALLOW_UNSECURE_COMMANDS is true in its env.
func TestWorkflowCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		steps  string
		status dag.Status
		// stdout are lines step 2 prints, in order.
		stdout []string
		// say are substrings of gantry's own lines.
		say     []string
		warning string
		// local cases hold only outside a real CI job.
		local bool
	}{{
		name: "set-output is honoured with GitHub's warning",
		steps: `
      - {id: a, run: 'echo "::set-output name=v::hello%0Aworld"'}
      - {run: 'echo "got ${{ steps.a.outputs.v }}"'}`,
		status:  dag.StatusSuccess,
		stdout:  []string{"got hello", "world"},
		warning: "The `set-output` command is deprecated and will be disabled soon",
	}, {
		name: "GITHUB_OUTPUT wins over set-output of the same step",
		steps: `
      - {id: a, run: 'echo "::set-output name=v::old"; echo "v=new" >> "$GITHUB_OUTPUT"'}
      - {run: 'echo "${{ steps.a.outputs.v }}"'}`,
		status: dag.StatusSuccess,
		stdout: []string{"new"},
	}, {
		name: "set-env is refused and fails the step",
		steps: `
      - {run: 'echo "::set-env name=X::1"'}
      - {run: 'echo "X=$X"', if: always()}`,
		status: dag.StatusFailure,
		stdout: []string{"X="},
		say:    []string{"The `set-env` command is disabled", "unable to process command"},
	}, {
		name: "set-env and add-path are honoured when the step's env allows them",
		steps: `
      - run: 'echo "::set-env name=X::1"; echo "::add-path::/opt/gantry-test/bin"'
        env: {ACTIONS_ALLOW_UNSECURE_COMMANDS: "true"}
      - {run: 'echo "X=$X ${PATH%%:*} ${{ env.X }}"'}`,
		status: dag.StatusSuccess,
		stdout: []string{"X=1 /opt/gantry-test/bin 1"},
	}, {
		name: "NODE_OPTIONS cannot be set with set-env",
		steps: `
      - run: 'echo "::set-env name=NODE_OPTIONS::--inspect"'
        env: {ACTIONS_ALLOW_UNSECURE_COMMANDS: "true"}
      - {run: 'echo "NODE_OPTIONS=$NODE_OPTIONS"'}`,
		status: dag.StatusSuccess,
		stdout: []string{"NODE_OPTIONS="},
		say:    []string{"Can't update NODE_OPTIONS"},
	}, {
		name: "GITHUB_ENV reaches later steps' env context and if",
		steps: `
      - {run: 'echo "X=from-env-file" >> "$GITHUB_ENV"'}
      - {run: 'echo "${{ env.X }} $X"', if: "env.X == 'from-env-file'"}`,
		status: dag.StatusSuccess,
		stdout: []string{"from-env-file from-env-file"},
	}, {
		name: "the protocol's files exist, empty, before every step",
		steps: `
      - {run: 'echo "A=1" >> "$GITHUB_ENV"; echo "/x" >> "$GITHUB_PATH"'}
      - run: |
          for f in "$GITHUB_OUTPUT" "$GITHUB_ENV" "$GITHUB_PATH" "$GITHUB_STEP_SUMMARY" "$GITHUB_STATE"; do
            test -f "$f" && ! test -s "$f" || { echo "missing or not empty: $f"; exit 1; }
          done
          cat "$GITHUB_ENV"; echo ok`,
		status: dag.StatusSuccess,
		stdout: []string{"ok"},
	}, {
		name: "a local run says so: GANTRY and ACT",
		steps: `
      - {run: 'echo "$GANTRY $ACT"', if: "env.ACT"}`,
		status: dag.StatusSuccess,
		stdout: []string{"true true"},
		local:  true,
	}, {
		name: "a step's own env is in its run, with and if",
		steps: `
      - {run: 'echo "${{ env.OWN }}"', if: "env.OWN == 'mine'", env: {OWN: mine}}`,
		status: dag.StatusSuccess,
		stdout: []string{"mine"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.local && (os.Getenv("GITHUB_ACTIONS") == "true" || os.Getenv("GITLAB_CI") == "true") {
				t.Skip("inside a real CI job gantry does not set ACT")
			}
			res, rep := runOnHost(t, "version: gantry/v1\nnodes:\n  - id: j\n    steps:"+tc.steps+"\n")
			if got := res.Nodes[0].Status; got != tc.status {
				t.Errorf("status %s (%s), want %s\n%v", got, res.Nodes[0].Reason, tc.status, rep.text("j", "gantry"))
			}
			if tc.stdout != nil {
				out := rep.text("j", "stdout")
				if len(out) < len(tc.stdout) || !slices.Equal(out[len(out)-len(tc.stdout):], tc.stdout) {
					t.Errorf("stdout %q, want it to end with %q", out, tc.stdout)
				}
			}
			said := strings.Join(rep.text("j", "gantry"), "\n")
			for _, s := range tc.say {
				if !strings.Contains(said, s) {
					t.Errorf("gantry's lines do not say %q:\n%s", s, said)
				}
			}
			if tc.warning != "" {
				found := false
				for _, a := range rep.got {
					found = found || a.Level == "warning" && strings.Contains(a.Message, tc.warning)
				}
				if !found {
					t.Errorf("no warning annotation %q in %+v", tc.warning, rep.got)
				}
			}
		})
	}
}

// Workflow and job env values are expressions, evaluated in order: the
// job's see the workflow's
// (https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#env-context).
func TestEnvExpressions(t *testing.T) {
	t.Parallel()
	res, rep := runOnHost(t, `version: gantry/v1
env: {EVENT: "${{ github.event_name }}", W: workflow}
nodes:
  - id: j
    env: {J: "${{ env.W }}-job"}
    steps:
      - run: echo "$EVENT $J ${{ env.J }}"
`)
	if res.Nodes[0].Status != dag.StatusSuccess {
		t.Fatalf("%s: %s", res.Nodes[0].Status, res.Nodes[0].Reason)
	}
	if got := rep.text("j", "stdout"); !slices.Equal(got, []string{"push workflow-job workflow-job"}) {
		t.Errorf("stdout %q", got)
	}
}

// GitHub's default variables are not in the env context and cannot be
// overwritten
// (https://docs.github.com/en/actions/reference/workflows-and-actions/variables#default-environment-variables);
// GITHUB_ACTION names the step (__run, __run_2, the id) and
// GITHUB_ACTION_REPOSITORY/REF are empty for scripts and local actions.
func TestPredefinedVariables(t *testing.T) {
	t.Parallel()
	res, rep := runOnHost(t, `version: gantry/v1
nodes:
  - id: j
    env: {GITHUB_EVENT_NAME: overwritten, CI: mine}
    steps:
      - run: echo "ctx=[${{ env.GITHUB_EVENT_NAME }}] var=[$GITHUB_EVENT_NAME] ci=[$CI]"
      - run: echo "$GITHUB_ACTION ${{ github.action }} [$GITHUB_ACTION_REPOSITORY] [${{ github.action_repository }}]"
      - {id: named, run: 'echo "$GITHUB_ACTION ${{ github.job }}"'}
`)
	if res.Nodes[0].Status != dag.StatusSuccess {
		t.Fatalf("%s: %s", res.Nodes[0].Status, res.Nodes[0].Reason)
	}
	want := []string{"ctx=[overwritten] var=[push] ci=[mine]", "__run_2 __run_2 [] []", "named j"}
	if got := rep.text("j", "stdout"); !slices.Equal(got, want) {
		t.Errorf("stdout\n%q\nwant\n%q", got, want)
	}
}

// Manual inputs are typed as GitHub types them: defaults applied, booleans
// and numbers not strings
// (https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#inputs-context).
func TestTypedInputs(t *testing.T) {
	t.Parallel()
	p, l := dag.Decode([]byte(`version: gantry/v1
triggers:
  - event: manual
    inputs:
      debug: {type: boolean, default: false}
      level: {type: number, default: 2}
      name: {type: string, default: world}
nodes:
  - id: j
    steps:
      - run: echo '${{ toJSON(inputs) }}' ${{ inputs.debug && 'on' || 'off' }} ${{ inputs.level == 2 }}
`), "test.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	rep := &annotations{}
	res, err := runner.Run(t.Context(), p, runner.Options{
		Executor: host.New(host.Options{TempDir: t.TempDir()}), Source: t.TempDir(), RunDir: t.TempDir(), Reporter: rep,
		Event: runner.Event{Name: "manual", Inputs: map[string]string{"debug": "true"}},
	})
	if err != nil || res.Nodes[0].Status != dag.StatusSuccess {
		t.Fatalf("%v %+v", err, res)
	}
	want := `{ "debug": true, "level": 2, "name": "world" } on true`
	if got := strings.Join(rep.text("j", "stdout"), " "); strings.Join(strings.Fields(got), " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Keys GitHub evaluates when a job or step starts
// (https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#context-availability):
// timeouts, shell, service images (one that comes out empty is left out).
func TestRunTimeKeys(t *testing.T) {
	t.Parallel()
	res, rep := runOnHost(t, `version: gantry/v1
env: {NODE_T: 30s, STEP_T: "300", SH: sh, DB_IMAGE: ""}
nodes:
  - id: j
    timeout: "${{ env.NODE_T }}"
    services: [{name: db, image: "${{ env.DB_IMAGE }}"}]
    steps:
      - {run: 'echo "shell is $0"', shell: "${{ env.SH }} -e {0}"}
      - {run: sleep 5, timeout: "${{ env.STEP_T }}ms", continue-on-error: true}
      - {run: echo after}
`)
	n := res.Nodes[0]
	if n.Status != dag.StatusSuccess {
		t.Fatalf("%s: %s\n%v", n.Status, n.Reason, rep.text("j", "gantry"))
	}
	if n.Steps[1].Outcome != dag.StatusFailure || n.Steps[1].Duration > 3*time.Second {
		t.Errorf("the 300ms step: %s after %s", n.Steps[1].Outcome, n.Steps[1].Duration)
	}
	if out := strings.Join(rep.text("j", "stdout"), "\n"); !strings.Contains(out, "shell is ") || !strings.Contains(out, "after") {
		t.Errorf("stdout %q", out)
	}
}

// env: ${{ fromJSON(...) }} as a whole mapping, for a job and a step
// (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#env).
func TestEnvFrom(t *testing.T) {
	t.Parallel()
	res, rep := runOnHost(t, `version: gantry/v1
env: {JSON: '{"A": "from-node", "N": 2}'}
nodes:
  - id: j
    env-from: "${{ fromJSON(env.JSON) }}"
    env: {B: own}
    steps:
      - run: echo "$A $N $B $C"
        env-from: "${{ fromJSON('{\"C\": \"from-step\"}') }}"
`)
	if res.Nodes[0].Status != dag.StatusSuccess {
		t.Fatalf("%s: %s", res.Nodes[0].Status, res.Nodes[0].Reason)
	}
	if got := rep.text("j", "stdout"); !slices.Equal(got, []string{"from-node 2 own from-step"}) {
		t.Errorf("stdout %q", got)
	}
}

// A step's continue-on-error and a job's may be expressions, evaluated
// when the step or job fails (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepscontinue-on-error).
func TestContinueOnErrorExpr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		optional string
		status   dag.Status
	}{{"yes", dag.StatusSuccess}, {"no", dag.StatusFailure}} {
		res, _ := runOnHost(t, `version: gantry/v1
env: {OPTIONAL: `+tc.optional+`}
nodes:
  - id: j
    steps:
      - {run: exit 1, continue-on-error: "${{ env.OPTIONAL == 'yes' }}"}
  - id: job
    allow-failure: "${{ env.OPTIONAL == 'yes' }}"
    steps:
      - {run: exit 1}
`)
		if got := res.Nodes[0].Status; got != tc.status {
			t.Errorf("OPTIONAL=%s: step: %s (%s), want %s", tc.optional, got, res.Nodes[0].Reason, tc.status)
		}
		want := dag.StatusFailure
		if tc.status == dag.StatusSuccess {
			want = dag.StatusAllowed
		}
		if got := res.Nodes[1].Status; got != want {
			t.Errorf("OPTIONAL=%s: job: %s, want %s", tc.optional, got, want)
		}
	}
}
