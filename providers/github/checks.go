package github

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// Checks reports each node of a run as a check run on a commit: in
// progress when it starts, completed with its conclusion, duration, step
// summary and annotations when it ends. It is a runner.Reporter (and an
// Annotator); API errors and rate limits become one warning, and the run
// goes on unreported, never failed.
type Checks struct {
	api              *gogithub.Client
	owner, repo, sha string
	warn             func(string)
	mu               sync.Mutex
	ids              map[string]int64
	names            map[string]string
	annotations      map[string][]*gogithub.CheckRunAnnotation
	failed           bool
	ctx              context.Context
}

// maxAnnotations is how many annotations GitHub takes in one request.
const maxAnnotations = 50

// Checks makes a check-run reporter for owner/repo at commit sha; warn
// receives the one message about the API failing.
func (r *Remote) Checks(ctx context.Context, owner, repo, sha string, warn func(string)) *Checks {
	return &Checks{api: r.api, owner: owner, repo: repo, sha: sha, warn: warn, ctx: context.WithoutCancel(ctx),
		ids: map[string]int64{}, names: map[string]string{}, annotations: map[string][]*gogithub.CheckRunAnnotation{}}
}

// fail records that the API failed, warning once.
func (c *Checks) fail(err error) {
	if !c.failed {
		c.failed = true
		if c.warn != nil {
			c.warn(fmt.Sprintf("check runs are not reported any more: %v", err))
		}
	}
}

func (c *Checks) NodeStarted(id, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
		return
	}
	now := gogithub.Timestamp{Time: time.Now()}
	run, _, err := c.api.Checks.CreateCheckRun(c.ctx, c.owner, c.repo, gogithub.CreateCheckRunOptions{
		Name: name, HeadSHA: c.sha, Status: gogithub.String("in_progress"), StartedAt: &now, ExternalID: gogithub.String(id),
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.ids[id], c.names[id] = run.GetID(), name
}

func (c *Checks) StepStarted(node, step string)  {}
func (c *Checks) Line(node, stream, text string) {}
func (c *Checks) Group(node, title string)       {}
func (c *Checks) EndGroup(node string)           {}
func (c *Checks) StepFinished(string, string, dag.Status, time.Duration) {
}

// Annotation keeps an ::error::/::warning::/::notice:: with a file for the
// node's check run.
func (c *Checks) Annotation(node string, a runner.Annotation) {
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.annotations[node]) < maxAnnotations {
		c.annotations[node] = append(c.annotations[node], ann)
	}
}

func (c *Checks) NodeFinished(res runner.NodeResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
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
		Text: gogithub.String(text), Annotations: c.annotations[res.ID]}
	id, ok := c.ids[res.ID]
	var err error
	if ok {
		_, _, err = c.api.Checks.UpdateCheckRun(c.ctx, c.owner, c.repo, id, gogithub.UpdateCheckRunOptions{
			Name: c.names[res.ID], Status: gogithub.String("completed"), Conclusion: gogithub.String(conclusion), CompletedAt: &now, Output: out,
		})
	} else {
		// A node that never started (skipped) is reported completed at once.
		_, _, err = c.api.Checks.CreateCheckRun(c.ctx, c.owner, c.repo, gogithub.CreateCheckRunOptions{
			Name: res.Name, HeadSHA: c.sha, Status: gogithub.String("completed"), Conclusion: gogithub.String(conclusion),
			CompletedAt: &now, ExternalID: gogithub.String(res.ID), Output: out,
		})
	}
	if err != nil {
		c.fail(err)
	}
}

var _ runner.Annotator = (*Checks)(nil)
var _ runner.Reporter = (*Checks)(nil)
