package checkrun

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// Options configure a Reporter. Owner, Repo and SHA are required.
type Options struct {
	// Token authenticates to the API (GITHUB_TOKEN, which needs the
	// checks: write permission); "" for none.
	Token string
	// BaseURL is a GitHub Enterprise (or test) API address; "" for
	// api.github.com.
	BaseURL string
	// HTTPClient is the client under the API's (default
	// http.DefaultClient).
	HTTPClient *http.Client
	// Owner and Repo name the repository, SHA the commit the check runs
	// are reported on.
	Owner, Repo, SHA string
	// Warn receives the one message saying that the API failed and check
	// runs are not reported any more; nil drops it.
	Warn func(string)
}

// Reporter reports each node of a run as a check run. API errors and rate
// limits become one warning, and the run goes on unreported, never failed.
// It is safe for concurrent use, as the runner's reporters must be.
type Reporter struct {
	api              *gogithub.Client
	owner, repo, sha string
	warn             func(string)
	// ctx is the one the Reporter was made with, without its cancellation:
	// the runner's reporter methods take none, and a cancelled run's nodes
	// are still reported as cancelled.
	ctx context.Context

	mu          sync.Mutex
	ids         map[string]int64
	names       map[string]string
	annotations map[string][]*gogithub.CheckRunAnnotation
	failed      bool
}

// maxAnnotations is how many annotations GitHub takes in one request.
const maxAnnotations = 50

// New makes a check-run Reporter.
func New(ctx context.Context, opts Options) (*Reporter, error) {
	if opts.Owner == "" || opts.Repo == "" || opts.SHA == "" {
		return nil, fmt.Errorf("check runs need the repository and the commit (owner %q, repo %q, sha %q)", opts.Owner, opts.Repo, opts.SHA)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	api := gogithub.NewClient(hc)
	if opts.Token != "" {
		api = api.WithAuthToken(opts.Token)
	}
	if opts.BaseURL != "" {
		var err error
		if api, err = api.WithEnterpriseURLs(opts.BaseURL, opts.BaseURL); err != nil {
			return nil, fmt.Errorf("github api %q: %w", opts.BaseURL, err)
		}
	}
	return &Reporter{api: api, owner: opts.Owner, repo: opts.Repo, sha: opts.SHA, warn: opts.Warn, ctx: context.WithoutCancel(ctx),
		ids: map[string]int64{}, names: map[string]string{}, annotations: map[string][]*gogithub.CheckRunAnnotation{}}, nil
}

// fail records that the API failed, warning once.
func (r *Reporter) fail(err error) {
	if !r.failed {
		r.failed = true
		if r.warn != nil {
			r.warn(fmt.Sprintf("check runs are not reported any more: %v", err))
		}
	}
}

func (r *Reporter) NodeStarted(id, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return
	}
	now := gogithub.Timestamp{Time: time.Now()}
	run, _, err := r.api.Checks.CreateCheckRun(r.ctx, r.owner, r.repo, gogithub.CreateCheckRunOptions{
		Name: name, HeadSHA: r.sha, Status: gogithub.String("in_progress"), StartedAt: &now, ExternalID: gogithub.String(id),
	})
	if err != nil {
		r.fail(err)
		return
	}
	r.ids[id], r.names[id] = run.GetID(), name
}

func (r *Reporter) StepStarted(node, step string)  {}
func (r *Reporter) Line(node, stream, text string) {}
func (r *Reporter) Group(node, title string)       {}
func (r *Reporter) EndGroup(node string)           {}
func (r *Reporter) StepFinished(string, string, dag.Status, time.Duration) {
}

// Annotation keeps an ::error::/::warning::/::notice:: with a file for the
// node's check run.
func (r *Reporter) Annotation(node string, a runner.Annotation) {
	if a.File == "" {
		return
	}
	level := map[string]string{"error": "failure", "warning": "warning", "notice": "notice"}[a.Level]
	line := max(a.Line, 1)
	ann := &gogithub.CheckRunAnnotation{Path: gogithub.String(a.File), StartLine: gogithub.Int(line), EndLine: gogithub.Int(line),
		AnnotationLevel: gogithub.String(level), Message: gogithub.String(a.Message)}
	if a.Col > 0 {
		ann.StartColumn, ann.EndColumn = gogithub.Int(a.Col), gogithub.Int(a.Col)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.annotations[node]) < maxAnnotations {
		r.annotations[node] = append(r.annotations[node], ann)
	}
}

func (r *Reporter) NodeFinished(res runner.NodeResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return
	}
	conclusion := map[dag.Status]string{
		dag.StatusSuccess: "success", dag.StatusFailure: "failure", dag.StatusSkipped: "skipped",
		dag.StatusCancelled: "cancelled", dag.StatusAllowed: "neutral",
	}[res.Status]
	if conclusion == "" {
		conclusion = "neutral"
	}
	summary := fmt.Sprintf("%s in %s", res.Status, res.Duration.Round(time.Millisecond))
	if res.Reason != "" {
		summary += ": " + res.Reason
	}
	var steps strings.Builder
	for _, s := range res.Steps {
		fmt.Fprintf(&steps, "- %s: %s\n", s.Name, s.Status)
	}
	text := steps.String()
	if res.Summary != "" {
		text += "\n" + res.Summary
	}
	now := gogithub.Timestamp{Time: time.Now()}
	out := &gogithub.CheckRunOutput{Title: gogithub.String(res.Name + ": " + string(res.Status)), Summary: gogithub.String(summary),
		Text: gogithub.String(text), Annotations: r.annotations[res.ID]}
	id, ok := r.ids[res.ID]
	var err error
	if ok {
		_, _, err = r.api.Checks.UpdateCheckRun(r.ctx, r.owner, r.repo, id, gogithub.UpdateCheckRunOptions{
			Name: r.names[res.ID], Status: gogithub.String("completed"), Conclusion: gogithub.String(conclusion), CompletedAt: &now, Output: out,
		})
	} else {
		// A node that never started (skipped) is reported completed at once.
		_, _, err = r.api.Checks.CreateCheckRun(r.ctx, r.owner, r.repo, gogithub.CreateCheckRunOptions{
			Name: res.Name, HeadSHA: r.sha, Status: gogithub.String("completed"), Conclusion: gogithub.String(conclusion),
			CompletedAt: &now, ExternalID: gogithub.String(res.ID), Output: out,
		})
	}
	if err != nil {
		r.fail(err)
	}
}

var _ runner.Annotator = (*Reporter)(nil)
var _ runner.Reporter = (*Reporter)(nil)
