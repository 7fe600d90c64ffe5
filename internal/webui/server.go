package webui

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

//go:embed assets
var assets embed.FS

// Options say what a Server shows.
type Options struct {
	// Runs is the directory of run records (.gantry/runs).
	Runs string
	// Masker masks everything sent: events, summaries, downloads.
	Masker *runner.Masker
	// Poll is how often a record that another process is still writing
	// is read again (default 300ms).
	Poll time.Duration
	// Token, when set, is asked of every request, as a token query
	// parameter (the printed address carries it) or the cookie the first
	// such request sets: loopback is open to every user of the machine,
	// and their pages, so the address alone is not enough.
	Token string
}

// tokenCookie carries Options.Token once the page has been opened.
const tokenCookie = "gantry-ui-token"

// NewToken is a random token for Options.Token.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// authorized reports whether r carries the token, and sets the cookie
// when it came as the query parameter.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	want := []byte(s.opts.Token)
	if c, err := r.Cookie(tokenCookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), want) == 1 {
		return true
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), want) == 1 {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.opts.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		return true
	}
	return false
}

// Server serves the view of the runs under Options.Runs, and of the live
// runs added to it.
type Server struct {
	opts Options
	mux  *http.ServeMux
	md   goldmark.Markdown

	mu   sync.Mutex
	live map[string]*Recorder
	// port is the one the Host header must name, once listening.
	port string
}

// New makes a Server; Listen or Handler serve it.
func New(opts Options) *Server {
	if opts.Masker == nil {
		opts.Masker = &runner.Masker{}
	}
	if opts.Poll <= 0 {
		opts.Poll = 300 * time.Millisecond
	}
	// goldmark renders no raw HTML and no javascript: links unless told
	// to (html.WithUnsafe): a summary cannot script the page.
	s := &Server{opts: opts, live: map[string]*Recorder{}, md: goldmark.New(goldmark.WithExtensions(extension.GFM))}
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/runs", s.runs)
	mux.HandleFunc("GET /api/runs/{id}", s.run)
	mux.HandleFunc("GET /api/runs/{id}/events", s.events)
	mux.HandleFunc("GET /api/runs/{id}/artifacts/{path...}", s.artifact)
	s.mux = mux
	return s
}

// Add makes a live run viewable; its events stream from memory.
func (s *Server) Add(r *Recorder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live[r.ID()] = r
}

// Listen binds to a free port of 127.0.0.1 and serves until ctx is done;
// the URL it returns is the page's.
func (s *Server) Listen(ctx context.Context) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("the web view: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.mu.Lock()
	s.port = port
	s.mu.Unlock()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(ln)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}
	return "http://127.0.0.1:" + port + "/", stop, nil
}

// Handler is the view's HTTP handler: it answers only requests whose Host
// is this machine's loopback (a page of another site that a rebinding DNS
// name points here names its own host).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowedHost(r.Host) {
			http.Error(w, "gantry's web view answers only for 127.0.0.1, localhost and [::1]", http.StatusMisdirectedRequest)
			return
		}
		if s.opts.Token != "" && !s.authorized(w, r) {
			http.Error(w, "open the address gantry printed: it carries the view's token", http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		s.mux.ServeHTTP(w, r)
	})
}

func (s *Server) allowedHost(host string) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, ""
	}
	s.mu.Lock()
	want := s.port
	s.mu.Unlock()
	if want != "" && port != want {
		return false
	}
	switch strings.ToLower(name) {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// runID is a record's directory name as runID() makes them.
var runID = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]*$`)

// record is one run the view knows: live, or a directory of Runs.
type record struct {
	ID       string `json:"id"`
	Pipeline string `json:"pipeline"`
	Source   string `json:"source,omitempty"`
	Status   string `json:"status"`
	Started  string `json:"started,omitempty"`
	Live     bool   `json:"live"`
	dir      string
}

// lookup finds a run by id: only a directory directly under Runs (no
// link, no path), or a live run.
func (s *Server) lookup(id string) (*record, *Recorder, bool) {
	if !runID.MatchString(id) {
		return nil, nil, false
	}
	s.mu.Lock()
	live := s.live[id]
	s.mu.Unlock()
	dir := filepath.Join(s.opts.Runs, id)
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return nil, nil, false
	}
	rec := &record{ID: id, dir: dir, Live: live != nil && !live.finished(), Status: "incomplete"}
	first, last := s.firstLast(id, live)
	if first != nil {
		rec.Pipeline, rec.Source, rec.Started = first.Pipeline, first.Source, first.Time
	}
	switch {
	case last != nil && last.Event == "run-finished" && last.Failed:
		rec.Status = "failure"
	case last != nil && last.Event == "run-finished":
		rec.Status = "success"
	case rec.Live:
		rec.Status = "running"
	}
	if first == nil {
		// A record from before the view: its result only.
		var res runner.Result
		if b, err := os.ReadFile(filepath.Join(dir, ResultFile)); err == nil && json.Unmarshal(b, &res) == nil {
			rec.Pipeline, rec.Status = res.Pipeline, "success"
			if res.Failed || res.InfrastructureFailed {
				rec.Status = "failure"
			}
		}
	}
	rec.Pipeline = s.opts.Masker.Mask(rec.Pipeline)
	return rec, live, true
}

func (r *Recorder) finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// header is what the list needs of a run's first and last events.
type header struct {
	Event    string `json:"event"`
	Pipeline string `json:"pipeline"`
	Source   string `json:"source"`
	Time     string `json:"time"`
	Failed   bool   `json:"failed"`
}

func (s *Server) firstLast(id string, live *Recorder) (first, last *header) {
	var f, l header
	if live != nil {
		lines, _, _ := live.since(0)
		if len(lines) == 0 || json.Unmarshal(lines[0], &f) != nil {
			return nil, nil
		}
		_ = json.Unmarshal(lines[len(lines)-1], &l)
		return &f, &l
	}
	// A record's file may be large (its logs): only its ends are read.
	file, err := os.Open(filepath.Join(s.opts.Runs, id, EventsFile))
	if err != nil {
		return nil, nil
	}
	defer file.Close()
	line, err := bufio.NewReaderSize(file, 4096).ReadSlice('\n')
	if err != nil || json.Unmarshal(line, &f) != nil {
		return nil, nil
	}
	if fi, err := file.Stat(); err == nil {
		const tailSize = 64 << 10
		off := max(0, fi.Size()-tailSize)
		buf := make([]byte, fi.Size()-off)
		if n, _ := file.ReadAt(buf, off); n > 0 {
			buf = bytes.TrimRight(buf[:n], "\n")
			_ = json.Unmarshal(buf[bytes.LastIndexByte(buf, '\n')+1:], &l)
		}
	}
	return &f, &l
}

// readEvents reads a record's complete lines from byte offset off (a
// line being written has no newline yet): the lines, and the offset after
// the last.
func readEvents(file string, off int64) ([][]byte, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, off, err
	}
	var out [][]byte
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			// EOF, and what follows the last newline is not a line yet.
			return out, off, nil
		}
		off += int64(len(line))
		out = append(out, line[:len(line)-1])
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// runs lists the runs, newest first.
func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	entries, _ := os.ReadDir(s.opts.Runs)
	list := []*record{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if rec, _, ok := s.lookup(e.Name()); ok {
			list = append(list, rec)
		}
	}
	// Run ids start with their time (20261201-095331-...).
	slices.SortFunc(list, func(a, b *record) int { return strings.Compare(b.ID, a.ID) })
	writeJSON(w, list)
}

// node is what the page shows of a node besides its events.
type node struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Needs []string `json:"needs,omitempty"`
	Pos   string   `json:"pos,omitempty"`
	Image string   `json:"image,omitempty"`
	Steps []step   `json:"steps,omitempty"`
}

type step struct {
	Name string `json:"name"`
	Pos  string `json:"pos,omitempty"`
}

type artifactFile struct {
	Node string `json:"node"`
	Name string `json:"name"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

// run is a run's DAG (drawn, and its nodes) and artifacts.
func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	rec, _, ok := s.lookup(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	out := struct {
		*record
		SVG       string          `json:"svg"`
		Nodes     []node          `json:"nodes"`
		Artifacts []artifactFile  `json:"artifacts"`
		Result    json.RawMessage `json:"result,omitempty"`
	}{record: rec, Nodes: []node{}, Artifacts: s.artifacts(rec)}
	// The run's result, for a record from before events were kept.
	if b, err := os.ReadFile(filepath.Join(rec.dir, ResultFile)); err == nil {
		if m := []byte(s.opts.Masker.Mask(string(b))); json.Valid(m) {
			out.Result = m
		}
	}
	if b, err := os.ReadFile(filepath.Join(rec.dir, DAGFile)); err == nil {
		if p, l := dag.Decode(b, DAGFile); p != nil && !l.HasErrors() {
			if g, err := p.BuildGraph(dag.GraphOptions{}); err == nil {
				var svg strings.Builder
				if g.WriteSVG(&svg) == nil {
					out.SVG = s.opts.Masker.Mask(svg.String())
				}
			}
			for _, n := range p.Nodes {
				nd := node{ID: n.ID, Name: s.opts.Masker.Mask(n.Label()), Needs: n.Needs, Image: s.opts.Masker.Mask(n.Image)}
				if n.Pos.IsValid() {
					nd.Pos = n.Pos.String()
				}
				for i := range n.Steps {
					st := step{Name: s.opts.Masker.Mask(n.Steps[i].Label())}
					if n.Steps[i].Pos.IsValid() {
						st.Pos = n.Steps[i].Pos.String()
					}
					nd.Steps = append(nd.Steps, st)
				}
				out.Nodes = append(out.Nodes, nd)
			}
		}
	}
	writeJSON(w, out)
}

// artifacts are the files of a run's artifacts (artifacts/NODE/NAME/...).
func (s *Server) artifacts(rec *record) []artifactFile {
	out := []artifactFile{}
	base := filepath.Join(rec.dir, "artifacts")
	_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return nil
		}
		parts := strings.SplitN(filepath.ToSlash(rel), "/", 3)
		if len(parts) < 3 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		u := "/api/runs/" + rec.ID + "/artifacts/" + escapePath(filepath.ToSlash(rel))
		out = append(out, artifactFile{Node: parts[0], Name: s.opts.Masker.Mask(parts[1]), Path: s.opts.Masker.Mask(parts[2]), Size: fi.Size(), URL: u})
		return nil
	})
	return out
}

// escapePath escapes each element of a slash-separated path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}

// artifact downloads one file of a run's artifacts, masked. The path is
// opened inside the run's artifacts directory with os.Root, which refuses
// .. and links that lead out of it.
func (s *Server) artifact(w http.ResponseWriter, r *http.Request) {
	rec, _, ok := s.lookup(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	rel := r.PathValue("path")
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, "\\") || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") || rel == ".." {
		http.Error(w, "not an artifact's path", http.StatusBadRequest)
		return
	}
	root, err := os.OpenRoot(filepath.Join(rec.dir, "artifacts"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	name := path.Base(rel)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": s.opts.Masker.Mask(name)}))
	mw := s.opts.Masker.Writer(w)
	_, _ = io.Copy(mw, f)
	_ = mw.Close()
}

// events streams a run's events as server-sent events, each with its
// number as id: a client that reconnects with Last-Event-ID (or ?after=N)
// gets those after it, none twice. A finished run's stream ends with an
// end event.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rec, live, ok := s.lookup(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	after := 0
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if n, err := strconv.Atoi(v); err == nil && n > after {
			after = n
		}
	}
	flusher, _ := w.(http.Flusher)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n\n")
	n := 0
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	// A record's file is read on from where the last read ended; its last
	// line says whether the run ended.
	var off int64
	var lastLine []byte
	file := filepath.Join(rec.dir, EventsFile)
	for {
		var lines [][]byte
		var more <-chan struct{}
		var done bool
		if live != nil {
			lines, more, done = live.since(max(n, after))
			n = max(n, after)
		} else {
			var err error
			lines, off, err = readEvents(file, off)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return
			}
			if len(lines) > 0 {
				lastLine = lines[len(lines)-1]
			}
			done = !stillWritten(file, lastLine)
			more = closeAfter(s.opts.Poll)
			// The lines the client has are read and not sent.
			skip := min(len(lines), max(after-n, 0))
			n += skip
			lines = lines[skip:]
		}
		for _, l := range lines {
			n++
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", n, s.decorate(l))
		}
		if done && len(lines) == 0 {
			fmt.Fprint(w, "event: end\ndata: {}\n\n")
			if flusher != nil {
				flusher.Flush()
			}
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if done {
			continue // send the end after what was left
		}
		select {
		case <-r.Context().Done():
			return
		case <-more:
		case <-heartbeat.C:
			fmt.Fprint(w, ": still here\n\n")
		}
	}
}

// stillWritten reports whether a record read from its file may still
// grow: its last event is not run-finished and it changed in the last
// minute (a run that was killed leaves a record that never ends).
func stillWritten(file string, lastLine []byte) bool {
	if bytes.Contains(lastLine, []byte(`"event":"run-finished"`)) {
		return false
	}
	fi, err := os.Stat(file)
	return err == nil && time.Since(fi.ModTime()) < time.Minute
}

// decorate masks an event once more (values added to the Masker since it
// was recorded) and renders a node's step summary to HTML.
func (s *Server) decorate(line []byte) []byte {
	line = []byte(s.opts.Masker.Mask(string(line)))
	if !bytes.Contains(line, []byte(`"summary":`)) {
		return line
	}
	var ev map[string]any
	if json.Unmarshal(line, &ev) != nil {
		return line
	}
	md, _ := ev["summary"].(string)
	var html bytes.Buffer
	if md != "" && s.md.Convert([]byte(md), &html) == nil {
		ev["summary_html"] = s.opts.Masker.Mask(html.String())
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return line
	}
	return b
}

// closeAfter is a channel closed after d.
func closeAfter(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}
