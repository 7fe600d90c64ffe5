package runner

import (
	"context"
	"errors"
	"slices"

	"github.com/gantry-ci/gantry/dag"
)

// Background steps (GitHub, 2026): a background step starts and the next
// step runs at once; wait:, wait-all: and the node's end join it, and
// cancel: stops it. Its outputs and outcome reach the steps context, and
// the job's status, when it is joined.

// ConcurrentExec is implemented by workspaces whose Exec may run several
// commands at once (each in its own process), as background steps need.
type ConcurrentExec interface {
	ConcurrentExec() bool
}

// backgroundStep is a background step while it runs.
type backgroundStep struct {
	step   *dag.Step
	cancel context.CancelFunc
	done   chan struct{}
	result StepResult
	// stopped is set when a cancel: step stopped it.
	stopped bool
}

// startBackground starts step i and returns at once.
func (j *job) startBackground(ctx context.Context, s *dag.Step, i int) {
	if c, ok := j.ws.(ConcurrentExec); !ok || !c.ConcurrentExec() {
		j.say("%s: background steps need an executor that runs commands side by side (the host executor); the %s executor runs this step in the foreground", s.Label(), j.r.opts.Executor.Name())
		sr := j.runStep(ctx, s, i)
		b := &backgroundStep{step: s, cancel: func() {}, done: make(chan struct{}), result: sr}
		close(b.done)
		j.addBackground(i, b)
		return
	}
	bctx, cancel := context.WithCancelCause(ctx)
	b := &backgroundStep{step: s, cancel: func() { cancel(errStopped) }, done: make(chan struct{})}
	j.addBackground(i, b)
	started := make(chan struct{})
	go func() {
		defer close(b.done)
		b.result = j.runStepNotify(bctx, s, i, func() { close(started) })
	}()
	// The next step starts once this one has been reported started (or
	// did not start): the log shows them in the order of the steps.
	select {
	case <-started:
	case <-b.done:
	}
}

// errStopped is why a background step a cancel: step stopped ended.
var errStopped = errors.New("stopped by a cancel: step")

func (j *job) addBackground(i int, b *backgroundStep) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.background == nil {
		j.background = map[int]*backgroundStep{}
	}
	j.background[i] = b
}

// pending are the indexes of the background steps not yet joined.
func (j *job) pending() []int {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []int
	for i := range j.background {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// byID is the index of the not yet joined background step with this id.
func (j *job) byID(id string) (int, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, b := range j.background {
		if b.step.ID == id {
			return i, true
		}
	}
	return 0, false
}

// control runs a wait:, wait-all: or cancel: step.
func (j *job) control(ctx context.Context, s *dag.Step, i int, results []StepResult) StepResult {
	sr := StepResult{Name: s.Label(), Status: dag.StatusSuccess, Outcome: dag.StatusSuccess}
	var which []int
	switch {
	case s.WaitAll:
		which = j.pending()
	case len(s.Wait) > 0:
		for _, id := range s.Wait {
			if k, ok := j.byID(id); ok {
				which = append(which, k)
			}
		}
	case s.Cancel != "":
		k, ok := j.byID(s.Cancel)
		if !ok {
			return sr // it ended and was joined already
		}
		j.mu.Lock()
		b := j.background[k]
		b.stopped = true
		j.mu.Unlock()
		j.say("cancelling %s", b.step.Label())
		b.cancel()
		which = []int{k}
	}
	j.r.opts.Reporter.StepStarted(j.n.ID, sr.Name)
	// As GitHub documents it, a wait fails when a step it waits for
	// failed, and continue-on-error on the wait keeps the job going.
	if failed := j.join(ctx, which, results, true); failed != "" && s.Cancel == "" {
		j.say("%s: %s failed", sr.Name, failed)
		sr.Outcome, sr.Status = dag.StatusFailure, dag.StatusFailure
		if keepGoing, err := j.keepGoing(s, i); err != nil {
			j.say("%s: continue-on-error: %v", sr.Name, err)
		} else if keepGoing {
			sr.Status = dag.StatusSuccess
		}
	}
	j.r.opts.Reporter.StepFinished(j.n.ID, sr.Name, sr.Status, 0)
	return sr
}

// join waits for background steps and records their results; it returns
// the name of one that failed, or "". Joined by a wait (byWait), a failure
// counts through the wait's own result rather than the step's.
func (j *job) join(ctx context.Context, which []int, results []StepResult, byWait bool) string {
	failed := ""
	for _, k := range which {
		j.mu.Lock()
		b := j.background[k]
		delete(j.background, k)
		j.mu.Unlock()
		if b == nil {
			continue
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			// A cancelled run stops its background steps too.
			b.cancel()
			<-b.done
		}
		sr := b.result
		if b.stopped && sr.Outcome == dag.StatusCancelled {
			sr.Status = dag.StatusSuccess
		}
		results[k] = sr
		j.record(ctx, b.step, sr, b.stopped || byWait)
		if sr.Status == dag.StatusFailure && !b.stopped && failed == "" {
			failed = b.step.Label()
		}
	}
	return failed
}
