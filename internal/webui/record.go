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
	"unicode/utf8"

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
	// The events --json reports, in the same shapes; Recorder has its
	// own Line, NodeFinished, Annotation.
	runner.JSONReporter
	opts RecorderOptions
	id   string

	mu     sync.Mutex
	file   *os.File
	w      *bufio.Writer
	lines  [][]byte
	done   bool
	notify chan struct{}
	err    error
	// flushing is set while a flush of the file is due.
	flushing bool
}

// flushDelay is how long a line waits in the buffer at most: gantry ui
// follows a record that another gantry writes by reading its file.
const flushDelay = 250 * time.Millisecond

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
	r.JSONReporter.Emit = r.emit
	ev := map[string]any{"event": "run-started", "run": r.id, "pipeline": p.Name}
	if p.Source != nil {
		ev["source"] = p.Source.Path
	}
	r.emit(ev)
	return r, nil
}

// ID is the run's id: its record's directory name.
func (r *Recorder) ID() string { return r.id }

// timeFormat is the events' time: RFC 3339 to the millisecond.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func (r *Recorder) emit(v map[string]any) {
	v["time"] = time.Now().UTC().Format(timeFormat)
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	r.write([]byte(r.opts.Masker.Mask(string(b))), v["event"])
}

func (r *Recorder) write(line []byte, ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	r.w.Write(line)
	if err := r.w.WriteByte('\n'); err != nil && r.err == nil {
		r.err = err // bufio keeps its first error: this says it
	}
	// The file is flushed at each node's end and the run's, and a moment
	// after the first line since the last flush, rather than at each line.
	switch {
	case ev == "node-finished" || ev == "run-finished":
		r.flushLocked()
	case !r.flushing:
		r.flushing = true
		time.AfterFunc(flushDelay, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if !r.done {
				r.flushLocked()
			}
		})
	}
	if r.opts.Keep {
		r.lines = append(r.lines, line)
		close(r.notify)
		r.notify = make(chan struct{})
	}
}

func (r *Recorder) flushLocked() {
	r.flushing = false
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
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

// Line is the one event a run has thousands of: it is written without
// reflection, and not masked again (the runner masks every line it
// reports).
func (r *Recorder) Line(node, stream, text string) {
	b := make([]byte, 0, 80+len(node)+len(text))
	b = append(b, `{"event":"log","node":`...)
	b = appendJSONString(b, node)
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, stream)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, text)
	b = append(b, `,"time":"`...)
	b = time.Now().UTC().AppendFormat(b, timeFormat)
	b = append(b, `"}`...)
	r.write(b, "log")
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// (invalid UTF-8 as U+FFFD), without its HTML escapes.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		// Each invalid byte becomes one U+FFFD, as encoding/json has it
		// (ranging over a string yields RuneError for each).
		var v strings.Builder
		for _, c := range s {
			v.WriteRune(c)
		}
		s = v.String()
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
