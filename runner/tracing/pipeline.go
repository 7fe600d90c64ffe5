package tracing

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/runner"
)

// Pipeline traces one pipeline's run: a span for it, under the Tracer's,
// and one for each node and step. It is the run's runner.Reporter (with
// runner.Annotator) and runner.Observer; give it both.
type Pipeline struct {
	t    *Tracer
	p    *dag.Pipeline
	span trace.Span
	ctx  context.Context

	mu    sync.Mutex
	nodes map[string]*nodeSpan
}

// nodeSpan is a node's span and its steps' while it runs.
type nodeSpan struct {
	span  trace.Span
	ctx   context.Context
	node  *dag.Node
	steps []*stepSpan
	// used marks the node's steps already matched to a span, so two steps
	// of one name get the positions of each in turn.
	used map[int]bool
}

// stepSpan is a step's span; it ends with its node, when the node's
// result gives its exit code and outputs.
type stepSpan struct {
	name   string
	span   trace.Span
	ended  bool
	status dag.Status
	end    time.Time
	// inner is the step as the pipeline has it (nil for pre and post
	// steps).
	inner *dag.Step
}

// Pipeline starts the span of a run of p; runID names its record.
func (t *Tracer) Pipeline(ctx context.Context, p *dag.Pipeline, runID string) *Pipeline {
	attrs := []attribute.KeyValue{
		attribute.String("cicd.pipeline.name", t.masker.Mask(p.Name)),
		attribute.String("cicd.pipeline.run.id", runID),
	}
	if p.Source != nil {
		attrs = append(attrs, attribute.String("gantry.source", p.Source.Path), attribute.String("gantry.provider", p.Source.Provider))
	}
	name := p.Name
	if name == "" && p.Source != nil {
		name = p.Source.Path
	}
	pl := &Pipeline{t: t, p: p, nodes: map[string]*nodeSpan{}}
	pl.ctx, pl.span = t.tracer.Start(trace.ContextWithSpan(context.WithoutCancel(ctx), trace.SpanFromContext(ctx)), t.masker.Mask("pipeline "+name), trace.WithAttributes(attrs...))
	return pl
}

// End ends the pipeline's span with the run's result.
func (pl *Pipeline) End(res *runner.Result) {
	pl.mu.Lock()
	// Nodes that never finished (the run was interrupted) end now.
	for id, ns := range pl.nodes {
		pl.endSteps(ns, nil)
		ns.span.SetStatus(codes.Error, "did not finish")
		ns.span.End()
		delete(pl.nodes, id)
	}
	pl.mu.Unlock()
	switch {
	case res == nil:
		pl.span.SetStatus(codes.Error, "did not finish")
	case !res.Triggered:
		pl.span.SetAttributes(attribute.String("cicd.pipeline.result", "skip"), attribute.String("gantry.reason", pl.t.masker.Mask(res.Why)))
	case res.Failed || res.InfrastructureFailed:
		pl.span.SetAttributes(attribute.String("cicd.pipeline.result", "failure"))
		pl.span.SetStatus(codes.Error, "a job failed")
	default:
		pl.span.SetAttributes(attribute.String("cicd.pipeline.result", "success"))
		pl.span.SetStatus(codes.Ok, "")
	}
	pl.span.End()
}

// node is the pipeline's node of id: a node expanded at run time
// (ID.COMBINATION, whose combination may hold dots) is its matrix node's.
func (pl *Pipeline) node(id string) *dag.Node {
	for p := id; p != ""; p = parentID(p) {
		if n := pl.p.Node(p); n != nil {
			return n
		}
	}
	return nil
}

// parentID is id without its last dotted part ("" when it has none).
func parentID(id string) string {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 {
		return ""
	}
	return id[:i]
}

func posAttrs(prefix string, p diag.Pos) []attribute.KeyValue {
	if !p.IsValid() {
		return nil
	}
	return []attribute.KeyValue{
		attribute.String(prefix+"code.file.path", p.File),
		attribute.Int(prefix+"code.line.number", p.Line),
		attribute.Int(prefix+"code.column.number", p.Col),
	}
}

func (pl *Pipeline) startNode(id, name string, when time.Time) *nodeSpan {
	parent := pl.ctx
	// A combination of a matrix known only at run time runs inside its
	// matrix's node, which is running.
	for p := parentID(id); p != ""; p = parentID(p) {
		if ns := pl.nodes[p]; ns != nil {
			parent = ns.ctx
			break
		}
	}
	n := pl.node(id)
	attrs := []attribute.KeyValue{
		attribute.String("cicd.pipeline.task.name", pl.t.masker.Mask(name)),
		attribute.String("cicd.pipeline.task.run.id", id),
	}
	if n != nil {
		attrs = append(attrs, posAttrs("", n.Pos.Pos)...)
		if n.Image != "" {
			attrs = append(attrs, attribute.String("container.image.name", pl.t.masker.Mask(n.Image)))
		}
		if n.Platform != "" {
			attrs = append(attrs, attribute.String("gantry.platform", n.Platform))
		}
		if n.Stage != "" {
			attrs = append(attrs, attribute.String("gantry.stage", n.Stage))
		}
	}
	ns := &nodeSpan{node: n, used: map[int]bool{}}
	ns.ctx, ns.span = pl.t.tracer.Start(parent, pl.t.masker.Mask(name), trace.WithTimestamp(when), trace.WithAttributes(attrs...))
	pl.nodes[id] = ns
	return ns
}

func (pl *Pipeline) NodeStarted(id, name string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.startNode(id, name, time.Now())
}

func (pl *Pipeline) StepStarted(node, step string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	ns := pl.nodes[node]
	if ns == nil {
		return
	}
	attrs := []attribute.KeyValue{attribute.String("cicd.pipeline.task.name", pl.t.masker.Mask(step))}
	var inner *dag.Step
	if ns.node != nil {
		for i := range ns.node.Steps {
			if s := &ns.node.Steps[i]; !ns.used[i] && s.Label() == step {
				ns.used[i], inner = true, s
				break
			}
		}
	}
	if inner != nil {
		attrs = append(attrs, posAttrs("", inner.Pos.Pos)...)
		if inner.Uses != "" {
			attrs = append(attrs, attribute.String("gantry.uses", pl.t.masker.Mask(inner.Uses)))
		}
	}
	_, span := pl.t.tracer.Start(ns.ctx, pl.t.masker.Mask(step), trace.WithAttributes(attrs...))
	ns.steps = append(ns.steps, &stepSpan{name: step, span: span, inner: inner})
}

// open is the newest step of node named step not yet finished.
func (pl *Pipeline) open(node, step string) *stepSpan {
	ns := pl.nodes[node]
	if ns == nil {
		return nil
	}
	for i := len(ns.steps) - 1; i >= 0; i-- {
		if s := ns.steps[i]; s.name == step && !s.ended {
			return s
		}
	}
	return nil
}

func (pl *Pipeline) Line(node, stream, text string) {}
func (pl *Pipeline) Group(node, title string)       {}
func (pl *Pipeline) EndGroup(node string)           {}

func (pl *Pipeline) StepFinished(node, step string, status dag.Status, took time.Duration) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if s := pl.open(node, step); s != nil {
		s.ended, s.status, s.end = true, status, time.Now()
	}
}

// Annotation is an event on the step that printed it (the node's newest
// running step), or on the node.
func (pl *Pipeline) Annotation(node string, a runner.Annotation) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	ns := pl.nodes[node]
	if ns == nil {
		return
	}
	span := ns.span
	for i := len(ns.steps) - 1; i >= 0; i-- {
		if !ns.steps[i].ended {
			span = ns.steps[i].span
			break
		}
	}
	m := pl.t.masker
	attrs := []attribute.KeyValue{attribute.String("gantry.annotation.level", a.Level), attribute.String("gantry.annotation.message", m.Mask(a.Message))}
	if a.File != "" {
		attrs = append(attrs, attribute.String("code.file.path", m.Mask(a.File)), attribute.Int("code.line.number", a.Line), attribute.Int("code.column.number", a.Col))
	}
	span.AddEvent("annotation", trace.WithAttributes(attrs...))
}

func (pl *Pipeline) NodeFinished(r runner.NodeResult) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	now := time.Now()
	ns := pl.nodes[r.ID]
	if ns == nil {
		// Skipped, cancelled before it started, or reused: a span of no
		// length says so.
		ns = pl.startNode(r.ID, r.Name, now)
	}
	delete(pl.nodes, r.ID)
	pl.endSteps(ns, r.Steps)
	m := pl.t.masker
	ns.span.SetAttributes(attribute.String("cicd.pipeline.task.run.result", taskResult(r.Status)), attribute.String("gantry.status", string(r.Status)))
	if r.Reason != "" {
		ns.span.SetAttributes(attribute.String("gantry.reason", m.Mask(r.Reason)))
	}
	if r.Infrastructure {
		ns.span.SetAttributes(attribute.Bool("gantry.infrastructure", true))
	}
	for k, v := range r.Outputs {
		ns.span.SetAttributes(attribute.String("gantry.output."+k, m.Mask(v)))
	}
	switch r.Status {
	case dag.StatusFailure:
		pl.t.errorEvent(ns.span, r.Reason, now)
	case dag.StatusSuccess, dag.StatusAllowed:
		ns.span.SetStatus(codes.Ok, "")
	}
	ns.span.End(trace.WithTimestamp(now))
}

// endSteps ends a node's step spans with what the node's result says of
// each (matched in order by name).
func (pl *Pipeline) endSteps(ns *nodeSpan, results []runner.StepResult) {
	used := make([]bool, len(results))
	for _, s := range ns.steps {
		var sr *runner.StepResult
		for i := range results {
			if !used[i] && results[i].Name == s.name {
				used[i], sr = true, &results[i]
				break
			}
		}
		end := s.end
		if !s.ended {
			end = time.Now()
		}
		status := s.status
		if sr != nil {
			status = sr.Status
			s.span.SetAttributes(attribute.Int("process.exit.code", sr.ExitCode), attribute.String("gantry.outcome", string(sr.Outcome)))
			if hit, ok := sr.Outputs["cache-hit"]; ok {
				s.span.SetAttributes(attribute.Bool("gantry.cache_hit", hit == "true"))
			}
			if sr.Cached {
				// Replayed by the executor (BuildKit) rather than run.
				s.span.SetAttributes(attribute.Bool("gantry.step.cached", true))
			}
		}
		s.span.SetAttributes(attribute.String("cicd.pipeline.task.run.result", taskResult(status)), attribute.String("gantry.status", string(status)))
		switch {
		case status == dag.StatusFailure || (sr != nil && sr.Outcome == dag.StatusFailure):
			why := "failed"
			if sr != nil && sr.ExitCode != 0 {
				why = fmt.Sprintf("exit code %d", sr.ExitCode)
			}
			pl.t.errorEvent(s.span, why, end)
			if status != dag.StatusFailure {
				// continue-on-error: the error is recorded, the step counts
				// as a success.
				s.span.SetStatus(codes.Ok, "")
			}
		case status == dag.StatusSuccess:
			s.span.SetStatus(codes.Ok, "")
		}
		s.span.End(trace.WithTimestamp(end))
	}
	ns.steps = nil
}

// taskResult is the CI/CD semantic conventions' word for a status.
func taskResult(s dag.Status) string {
	switch s {
	case dag.StatusSuccess, dag.StatusAllowed:
		return "success"
	case dag.StatusFailure:
		return "failure"
	case dag.StatusCancelled:
		return "cancellation"
	case dag.StatusSkipped:
		return "skip"
	}
	return string(s)
}

// Node gives a node's context its span.
func (pl *Pipeline) Node(ctx context.Context, node string) context.Context {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if ns := pl.nodes[node]; ns != nil {
		return trace.ContextWithSpan(ctx, ns.span)
	}
	return ctx
}

// Step gives a step's context its span, and the step TRACEPARENT (and
// TRACESTATE) naming it, as the OpenTelemetry environment carrier does.
func (pl *Pipeline) Step(ctx context.Context, node, step string) (context.Context, map[string]string) {
	pl.mu.Lock()
	s := pl.open(node, step)
	pl.mu.Unlock()
	if s == nil {
		return ctx, nil
	}
	ctx = trace.ContextWithSpan(ctx, s.span)
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	env := map[string]string{}
	for k, v := range carrier {
		env[strings.ToUpper(k)] = v
	}
	return ctx, env
}
