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
	StepFinished(node, step string, status dag.Status, took time.Duration)
	NodeFinished(r NodeResult)
}

// TextReporter prints lines prefixed with the node's name, aligned, in
// colour when Color is set.
type TextReporter struct {
	Out   io.Writer
	Color bool
	// Width is the prefix width; names are padded to it.
	Width int

	mu     sync.Mutex
	colors map[string]int
}

var palette = []int{36, 33, 35, 32, 34, 96, 93, 95, 92, 94}

func (r *TextReporter) prefix(node string) string {
	name := node
	if r.Width > 0 && len(name) < r.Width {
		name += strings.Repeat(" ", r.Width-len(name))
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
	fmt.Fprintf(r.Out, "%s"+format+"\n", append([]any{r.prefix(node)}, args...)...)
}

func (r *TextReporter) NodeStarted(id, name string) { r.printf(id, "▶ %s", name) }
func (r *TextReporter) StepStarted(node, step string) {
	r.printf(node, "  ⭒ %s", step)
}
func (r *TextReporter) Line(node, stream, text string) { r.printf(node, "  | %s", text) }
func (r *TextReporter) StepFinished(node, step string, status dag.Status, took time.Duration) {
	if status != dag.StatusSuccess {
		r.printf(node, "  %s %s (%s)", mark(status), step, status)
	}
}
func (r *TextReporter) NodeFinished(res NodeResult) {
	msg := fmt.Sprintf("%s %s: %s in %s", mark(res.Status), res.Name, res.Status, res.Duration.Round(time.Millisecond))
	if res.Reason != "" {
		msg += " (" + res.Reason + ")"
	}
	r.printf(res.ID, "%s", msg)
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
	mu  sync.Mutex
}

func (r *JSONReporter) emit(v map[string]any) {
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
func (r *JSONReporter) StepFinished(node, step string, status dag.Status, took time.Duration) {
	r.emit(map[string]any{"event": "step-finished", "node": node, "step": step, "status": status, "duration_ms": took.Milliseconds()})
}
func (r *JSONReporter) NodeFinished(res NodeResult) {
	r.emit(map[string]any{"event": "node-finished", "node": res.ID, "status": res.Status, "reason": res.Reason,
		"duration_ms": res.Duration.Milliseconds(), "outputs": res.Outputs})
}
