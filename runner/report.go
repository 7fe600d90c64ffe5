package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/dag"
)

// Reporter receives a run's progress. Calls come from many goroutines;
// every text it gets is already masked.
type Reporter interface {
	NodeStarted(id, name string)
	StepStarted(node, step string)
	Line(node, stream, text string)
	// Group and EndGroup bracket a step's ::group:: of lines.
	Group(node, title string)
	EndGroup(node string)
	StepFinished(node, step string, status dag.Status, took time.Duration)
	NodeFinished(r NodeResult)
}

// Annotation is an ::error::, ::warning:: or ::notice:: a step printed.
type Annotation struct {
	Level   string // error, warning, notice
	Message string
	File    string
	Line    int
	Col     int
}

// Annotator is implemented by reporters that want annotations whole, not
// only as lines (check runs turn them into the pull request's
// annotations).
type Annotator interface {
	Annotation(node string, a Annotation)
}

// Tee is a Reporter that passes everything to each of its reporters.
type Tee []Reporter

func (t Tee) NodeStarted(id, name string) {
	for _, r := range t {
		r.NodeStarted(id, name)
	}
}
func (t Tee) StepStarted(node, step string) {
	for _, r := range t {
		r.StepStarted(node, step)
	}
}
func (t Tee) Line(node, stream, text string) {
	for _, r := range t {
		r.Line(node, stream, text)
	}
}
func (t Tee) Group(node, title string) {
	for _, r := range t {
		r.Group(node, title)
	}
}
func (t Tee) EndGroup(node string) {
	for _, r := range t {
		r.EndGroup(node)
	}
}
func (t Tee) StepFinished(node, step string, status dag.Status, took time.Duration) {
	for _, r := range t {
		r.StepFinished(node, step, status, took)
	}
}
func (t Tee) NodeFinished(res NodeResult) {
	for _, r := range t {
		r.NodeFinished(res)
	}
}
func (t Tee) Annotation(node string, a Annotation) {
	for _, r := range t {
		if an, ok := r.(Annotator); ok {
			an.Annotation(node, a)
		}
	}
}

// TextReporter prints lines prefixed with the node's name, aligned, in
// colour when Color is set.
type TextReporter struct {
	Out   io.Writer
	Color bool
	// Width is the prefix width; names are padded to it.
	Width int
	// Fold folds ::group:: sections (on a terminal): their lines are held
	// back and replaced by one line, unless the step fails.
	Fold bool

	mu     sync.Mutex
	colors map[string]int
	groups map[string]*group
}

type group struct {
	title string
	lines []string
}

// palette colours the nodes' prefixes: no green nor red, which say how a
// node went.
var palette = []int{36, 35, 34, 96, 95, 94, 33, 93}

func (r *TextReporter) prefix(node string) string {
	name := shorten(node, r.Width)
	if r.Width > 0 && len([]rune(name)) < r.Width {
		name += strings.Repeat(" ", r.Width-len([]rune(name)))
	}
	if !r.Color {
		return "[" + name + "] "
	}
	if r.colors == nil {
		r.colors = map[string]int{}
	}
	c, ok := r.colors[node]
	if !ok {
		c = palette[len(r.colors)%len(palette)]
		r.colors[node] = c
	}
	return fmt.Sprintf("\x1b[%dm[%s]\x1b[0m ", c, name)
}

func (r *TextReporter) printf(node, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.printLocked(node, fmt.Sprintf(format, args...))
}

func (r *TextReporter) printLocked(node, line string) {
	if g := r.groups[node]; g != nil {
		g.lines = append(g.lines, line)
		return
	}
	fmt.Fprintf(r.Out, "%s%s\n", r.prefix(node), line)
}

func (r *TextReporter) Group(node, title string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.Fold {
		r.printLocked(node, "▼ "+title)
		return
	}
	if r.groups == nil {
		r.groups = map[string]*group{}
	}
	r.groups[node] = &group{title: title}
}

func (r *TextReporter) EndGroup(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[node]
	if g == nil {
		return
	}
	delete(r.groups, node)
	r.printLocked(node, fmt.Sprintf("▸ %s (%d lines folded)", g.title, len(g.lines)))
}

// unfold prints what an open group of node holds back.
func (r *TextReporter) unfold(node string) {
	g := r.groups[node]
	if g == nil {
		return
	}
	delete(r.groups, node)
	r.printLocked(node, "▼ "+g.title)
	for _, l := range g.lines {
		r.printLocked(node, l)
	}
}

func (r *TextReporter) NodeStarted(id, name string) { r.printf(id, "▶ %s", name) }
func (r *TextReporter) StepStarted(node, step string) {
	r.printf(node, "  ⭒ %s", step)
}
func (r *TextReporter) Line(node, stream, text string) { r.printf(node, "  | %s", text) }
func (r *TextReporter) StepFinished(node, step string, status dag.Status, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if status != dag.StatusSuccess {
		// A failed step shows everything, folded or not.
		r.unfold(node)
		r.printLocked(node, fmt.Sprintf("  %s %s (%s)", r.paint(status, mark(status)), step, r.paint(status, string(status))))
		return
	}
	if g := r.groups[node]; g != nil {
		delete(r.groups, node)
		r.printLocked(node, fmt.Sprintf("▸ %s (%d lines folded)", g.title, len(g.lines)))
	}
}
func (r *TextReporter) NodeFinished(res NodeResult) {
	msg := fmt.Sprintf("%s %s: %s in %s", r.paint(res.Status, mark(res.Status)), res.Name, r.paint(res.Status, string(res.Status)), res.Duration.Round(time.Millisecond))
	if res.Reason != "" {
		msg += " (" + res.Reason + ")"
	}
	r.printf(res.ID, "%s", msg)
}

// paint colours text as its status reads (when Color is set): success
// green, failure red, an allowed failure and a cancellation yellow, a
// skip dim.
func (r *TextReporter) paint(s dag.Status, text string) string {
	if !r.Color {
		return text
	}
	return Paint(s, text)
}

// Paint colours text as the status s reads on a terminal.
func Paint(s dag.Status, text string) string {
	code := ""
	switch s {
	case dag.StatusSuccess:
		code = "32"
	case dag.StatusFailure:
		code = "31"
	case dag.StatusAllowed, dag.StatusCancelled:
		code = "33"
	case dag.StatusSkipped:
		code = "90"
	}
	if code == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// shorten cuts a name longer than width in its middle, keeping both ends
// (test-integration-…-ubuntu-24): a matrix leg's ends tell legs apart.
func shorten(name string, width int) string {
	r := []rune(name)
	if width < 5 || len(r) <= width {
		return name
	}
	head := (width - 1) / 2
	tail := width - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

func mark(s dag.Status) string {
	switch s {
	case dag.StatusSuccess:
		return "✓"
	case dag.StatusFailure:
		return "✗"
	case dag.StatusAllowed:
		return "!"
	case dag.StatusSkipped:
		return "-"
	case dag.StatusCancelled:
		return "⊘"
	}
	return "?"
}

// JSONReporter writes one JSON object per line for machines.
type JSONReporter struct {
	Out io.Writer
	// Emit, when set, is given each event instead of Out: for a
	// reporter that keeps the same events elsewhere (a run's record).
	Emit func(map[string]any)
	mu   sync.Mutex
}

func (r *JSONReporter) emit(v map[string]any) {
	if r.Emit != nil {
		r.Emit(v)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(v)
	r.Out.Write(append(b, '\n'))
}

func (r *JSONReporter) NodeStarted(id, name string) {
	r.emit(map[string]any{"event": "node-started", "node": id, "name": name})
}
func (r *JSONReporter) StepStarted(node, step string) {
	r.emit(map[string]any{"event": "step-started", "node": node, "step": step})
}
func (r *JSONReporter) Line(node, stream, text string) {
	r.emit(map[string]any{"event": "log", "node": node, "stream": stream, "text": text})
}
func (r *JSONReporter) Group(node, title string) {
	r.emit(map[string]any{"event": "group", "node": node, "title": title})
}
func (r *JSONReporter) EndGroup(node string) {
	r.emit(map[string]any{"event": "endgroup", "node": node})
}
func (r *JSONReporter) StepFinished(node, step string, status dag.Status, took time.Duration) {
	r.emit(map[string]any{"event": "step-finished", "node": node, "step": step, "status": status, "duration_ms": took.Milliseconds()})
}
func (r *JSONReporter) NodeFinished(res NodeResult) {
	r.emit(map[string]any{"event": "node-finished", "node": res.ID, "status": res.Status, "reason": res.Reason,
		"duration_ms": res.Duration.Milliseconds(), "outputs": res.Outputs})
}
