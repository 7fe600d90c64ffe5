package webui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// The files of a record that the view reads.
const (
	EventsFile = "events.jsonl"
	DAGFile    = "dag.json"
	ResultFile = "run.json"
)

// RecorderOptions say where a run's events go.
type RecorderOptions struct {
	// Dir is the run's record (runner.Options.RunDir).
	Dir string
	// Source is the repository root: annotations naming a file of it get
	// the lines around theirs in their event (the page never reads the
	// repository).
	Source string
	// Keep holds the events in memory too, for a live Server.
	Keep   bool
	Masker *runner.Masker
}

// Recorder records a run's events. It is a runner.Reporter and
// runner.Annotator; calls may come from many goroutines.
type Recorder struct {
	opts RecorderOptions
	id   string

	mu     sync.Mutex
	file   *os.File
	w      *bufio.Writer
	lines  [][]byte
	done   bool
	notify chan struct{}
	err    error
}

// NewRecorder starts the record of a run of p: its DAG, and a
// run-started event.
func NewRecorder(p *dag.Pipeline, opts RecorderOptions) (*Recorder, error) {
	if opts.Masker == nil {
		opts.Masker = &runner.Masker{}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := dag.EncodeJSON(&b, p); err != nil {
		return nil, fmt.Errorf("recording the DAG: %w", err)
	}
	if err := os.WriteFile(filepath.Join(opts.Dir, DAGFile), []byte(opts.Masker.Mask(b.String())), 0o644); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(opts.Dir, EventsFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	r := &Recorder{opts: opts, id: filepath.Base(opts.Dir), file: f, w: bufio.NewWriterSize(f, 32<<10), notify: make(chan struct{})}
	ev := map[string]any{"event": "run-started", "run": r.id, "pipeline": p.Name}
	if p.Source != nil {
		ev["source"] = p.Source.Path
	}
	r.emit(ev)
	return r, nil
}

// ID is the run's id: its record's directory name.
func (r *Recorder) ID() string { return r.id }

func (r *Recorder) emit(v map[string]any) {
	v["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	line := []byte(r.opts.Masker.Mask(string(b)))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	if _, err := r.w.Write(append(line, '\n')); err != nil && r.err == nil {
		r.err = err
	}
	// The file is flushed at each node's end and the run's: the record
	// is for after the run; the live page reads memory.
	if ev := v["event"]; ev == "node-finished" || ev == "run-finished" {
		if err := r.w.Flush(); err != nil && r.err == nil {
			r.err = err
		}
	}
	if r.opts.Keep {
		r.lines = append(r.lines, line)
		close(r.notify)
		r.notify = make(chan struct{})
	}
}

// since are the events after the first n, a channel closed when there
// are more, and whether the run has ended.
func (r *Recorder) since(n int) ([][]byte, <-chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	if n < len(r.lines) {
		out = r.lines[n:len(r.lines):len(r.lines)]
	}
	return out, r.notify, r.done
}

func (r *Recorder) NodeStarted(id, name string) {
	r.emit(map[string]any{"event": "node-started", "node": id, "name": name})
}
func (r *Recorder) StepStarted(node, step string) {
	r.emit(map[string]any{"event": "step-started", "node": node, "step": step})
}
func (r *Recorder) Line(node, stream, text string) {
	r.emit(map[string]any{"event": "log", "node": node, "stream": stream, "text": text})
}
func (r *Recorder) Group(node, title string) {
	r.emit(map[string]any{"event": "group", "node": node, "title": title})
}
func (r *Recorder) EndGroup(node string) {
	r.emit(map[string]any{"event": "endgroup", "node": node})
}
func (r *Recorder) StepFinished(node, step string, status dag.Status, took time.Duration) {
	r.emit(map[string]any{"event": "step-finished", "node": node, "step": step, "status": status, "duration_ms": took.Milliseconds()})
}

// NodeFinished is --json's node-finished with the node's steps (exit
// codes, outputs) and step summary besides.
func (r *Recorder) NodeFinished(res runner.NodeResult) {
	ev := map[string]any{"event": "node-finished", "node": res.ID, "name": res.Name, "status": res.Status, "reason": res.Reason,
		"duration_ms": res.Duration.Milliseconds(), "outputs": res.Outputs}
	if len(res.Steps) > 0 {
		ev["steps"] = res.Steps
	}
	if res.Summary != "" {
		ev["summary"] = res.Summary
	}
	if res.Infrastructure {
		ev["infrastructure"] = true
	}
	r.emit(ev)
}

// Annotation records an annotation with the lines of the repository's
// file around the one it names.
func (r *Recorder) Annotation(node string, a runner.Annotation) {
	ev := map[string]any{"event": "annotation", "node": node, "level": a.Level, "message": a.Message}
	if a.File != "" {
		ev["file"], ev["line"], ev["col"] = a.File, a.Line, a.Col
		if first, lines := r.excerpt(a.File, a.Line); len(lines) > 0 {
			ev["excerpt"], ev["excerpt_line"] = lines, first
		}
	}
	r.emit(ev)
}

// excerpt are up to 3 lines either side of line in the repository's
// file, and the first one's number; nothing for a file outside it.
func (r *Recorder) excerpt(file string, line int) (int, []string) {
	if r.opts.Source == "" || line < 1 {
		return 0, nil
	}
	root, err := os.OpenRoot(r.opts.Source)
	if err != nil {
		return 0, nil
	}
	defer root.Close()
	rel := file
	if filepath.IsAbs(rel) {
		if rel, err = filepath.Rel(r.opts.Source, file); err != nil {
			return 0, nil
		}
	}
	f, err := root.Open(filepath.Clean(rel))
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	first := max(1, line-3)
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan() && n <= line+3; n++ {
		if n >= first {
			out = append(out, strings.TrimRight(sc.Text(), "\r"))
		}
	}
	return first, out
}

// Finish records the run's end (res nil: it did not finish) and closes
// the record.
func (r *Recorder) Finish(res *runner.Result) error {
	ev := map[string]any{"event": "run-finished"}
	if res != nil {
		ev["failed"], ev["triggered"], ev["why"] = res.Failed || res.InfrastructureFailed, res.Triggered, res.Why
	} else {
		ev["failed"] = true
	}
	r.emit(ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.err
	}
	r.done = true
	close(r.notify)
	r.notify = make(chan struct{})
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	if err := r.file.Close(); err != nil && r.err == nil {
		r.err = err
	}
	return r.err
}
