package webui_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/webui"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/host"
)

const secret = "s3cr3t-value-42"

// pipeline builds an artifact holding the secret, prints it, folds a
// group, writes a step summary with raw HTML in it, and fails a test
// with an annotation; deploy is skipped.
const pipeline = `version: gantry/v1
name: demo
nodes:
  - id: build
    pos: ci.yml:3:3
    env:
      TOKEN: ${{ secrets.TOKEN }}
    artifacts:
      produces:
        - name: dist
          paths: [out/]
    steps:
      - name: compile
        pos: ci.yml:6:7
        run: |
          mkdir -p out
          echo "binary built with $TOKEN" > out/app.txt
          echo "::group::details"
          echo "inside the group"
          echo "::endgroup::"
          echo "token: $TOKEN"
          echo "## Built <script>alert(1)</script>" >> "$GITHUB_STEP_SUMMARY"
          echo "[link](javascript:alert(2))" >> "$GITHUB_STEP_SUMMARY"
  - id: test
    needs: [build]
    steps:
      - name: unit
        run: |
          echo "running unit tests"
          echo "::error file=main.go,line=2::broken"
          exit 4
  - id: deploy
    needs: [test]
    steps:
      - run: echo never
`

// runDemo runs the pipeline on the host with a Recorder under a fresh
// runs directory; it returns the directory and the recorder.
func runDemo(t *testing.T, keep bool) (string, *webui.Recorder, *runner.Masker) {
	t.Helper()
	p, l := dag.Decode([]byte(pipeline), "demo.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	runs := t.TempDir()
	dir := filepath.Join(runs, "20261201-120000-abcdef")
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	m := &runner.Masker{}
	m.Add(secret)
	rec, err := webui.NewRecorder(p, webui.RecorderOptions{Dir: dir, Source: src, Keep: keep, Masker: m})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(t.Context(), p, runner.Options{
		Executor: host.New(host.Options{TempDir: t.TempDir()}), Source: src, RunDir: dir,
		Event: runner.Event{Name: "push"}, Secrets: map[string]string{"TOKEN": secret}, Reporter: rec, Masker: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	return runs, rec, m
}

func get(t *testing.T, h http.Handler, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Host = "127.0.0.1"
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

type sse struct {
	id   int
	kind string
	data string
}

func parseSSE(t *testing.T, body string) []sse {
	t.Helper()
	var out []sse
	var cur sse
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" || cur.kind != "" {
				out = append(out, cur)
			}
			cur = sse{}
		case strings.HasPrefix(line, "id: "):
			cur.id, _ = strconv.Atoi(strings.TrimPrefix(line, "id: "))
		case strings.HasPrefix(line, "event: "):
			cur.kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}

func TestHostHeader(t *testing.T) {
	t.Parallel()
	runs, _, m := runDemo(t, false)
	h := webui.New(webui.Options{Runs: runs, Masker: m}).Handler()
	for _, tc := range []struct {
		host string
		want int
	}{
		{host: "127.0.0.1", want: http.StatusOK},
		{host: "localhost", want: http.StatusOK},
		{host: "[::1]:8080", want: http.StatusOK},
		{host: "evil.example", want: http.StatusMisdirectedRequest},
		{host: "evil.example:80", want: http.StatusMisdirectedRequest},
		{host: "127.0.0.1.evil.example", want: http.StatusMisdirectedRequest},
	} {
		for _, path := range []string{"/", "/api/runs"} {
			if w := get(t, h, path, map[string]string{"Host": tc.host}); w.Code != tc.want {
				t.Errorf("Host %s %s: %d, want %d", tc.host, path, w.Code, tc.want)
			}
		}
	}
}

func TestNothingOutsideRecords(t *testing.T) {
	t.Parallel()
	runs, _, m := runDemo(t, false)
	os.WriteFile(filepath.Join(filepath.Dir(runs), "outside.txt"), []byte("not yours"), 0o644)
	// A link inside an artifact that leads out of the record.
	link := filepath.Join(runs, "20261201-120000-abcdef", "artifacts", "build", "dist", "escape")
	if err := os.Symlink(filepath.Join(filepath.Dir(runs), "outside.txt"), link); err != nil {
		t.Fatal(err)
	}
	h := webui.New(webui.Options{Runs: runs, Masker: m}).Handler()
	for _, path := range []string{
		"/api/runs/20261201-120000-abcdef/artifacts/build/dist/../../../../outside.txt",
		"/api/runs/20261201-120000-abcdef/artifacts/..%2f..%2f..%2foutside.txt",
		"/api/runs/20261201-120000-abcdef/artifacts/build/dist/escape",
		"/api/runs/..%2f..%2f/events",
		"/api/runs/20261201-120000-abcdef/artifacts/%2Fetc%2Fpasswd",
		"/../outside.txt",
		"/api/runs/last/events",
	} {
		w := get(t, h, path, nil)
		if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "not yours") || strings.Contains(w.Body.String(), "root:") {
			t.Errorf("%s: %d %q", path, w.Code, w.Body.String())
		}
	}
	w := get(t, h, "/api/runs/20261201-120000-abcdef/artifacts/build/dist/out/app.txt", nil)
	if w.Code != http.StatusOK || w.Body.String() != "binary built with ***\n" {
		t.Errorf("the artifact: %d %q, want it masked", w.Code, w.Body.String())
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename=app.txt` {
		t.Errorf("Content-Disposition %q", cd)
	}
}

// The run's JSON: nodes with positions, the DAG drawn, the artifact
// listed with its size and link.
func TestRun(t *testing.T) {
	t.Parallel()
	runs, _, m := runDemo(t, false)
	h := webui.New(webui.Options{Runs: runs, Masker: m}).Handler()
	w := get(t, h, "/api/runs", nil)
	var list []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 1 {
		t.Fatalf("runs: %v %s", err, w.Body)
	}
	if list[0]["id"] != "20261201-120000-abcdef" || list[0]["status"] != "failure" || list[0]["pipeline"] != "demo" {
		t.Errorf("runs: %v", list[0])
	}
	w = get(t, h, "/api/runs/20261201-120000-abcdef", nil)
	var info struct {
		SVG   string
		Nodes []struct {
			ID, Pos string
			Steps   []struct{ Name, Pos string }
		}
		Artifacts []struct {
			Node, Name, Path, URL string
			Size                  int64
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.SVG, "<svg") || len(info.Nodes) != 3 || info.Nodes[0].Pos != "ci.yml:3:3" || info.Nodes[0].Steps[0].Pos != "ci.yml:6:7" {
		t.Errorf("info: %+v", info)
	}
	if len(info.Artifacts) != 1 || info.Artifacts[0].Path != "out/app.txt" || info.Artifacts[0].Size != int64(len("binary built with "+secret+"\n")) ||
		info.Artifacts[0].URL != "/api/runs/20261201-120000-abcdef/artifacts/build/dist/out/app.txt" {
		t.Errorf("artifacts: %+v", info.Artifacts)
	}
	if strings.Contains(w.Body.String(), secret) {
		t.Error("the run's JSON holds the secret")
	}
}

// Events: all of them, once each, in order; resumed after Last-Event-ID
// or ?after= with none repeated and none lost; masked; the summary
// rendered without its raw HTML.
func TestEvents(t *testing.T) {
	t.Parallel()
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "record", true: "live"}[live], func(t *testing.T) {
			t.Parallel()
			runs, rec, m := runDemo(t, live)
			srv := webui.New(webui.Options{Runs: runs, Masker: m})
			if live {
				srv.Add(rec)
			}
			h := srv.Handler()
			all := parseSSE(t, get(t, h, "/api/runs/20261201-120000-abcdef/events", nil).Body.String())
			if len(all) < 10 || all[len(all)-1].kind != "end" {
				t.Fatalf("%d events, last %+v", len(all), all[len(all)-1])
			}
			body := ""
			for i, e := range all[:len(all)-1] {
				if e.id != i+1 {
					t.Fatalf("event %d has id %d", i+1, e.id)
				}
				body += e.data + "\n"
			}
			for _, want := range []string{`"text":"token: ***"`, `"title":"details"`, `"text":"inside the group"`,
				`"event":"annotation"`, `"excerpt":["package main","","func main() {}"]`, `"event":"run-finished"`, `"exit_code":4`} {
				if !strings.Contains(body, want) {
					t.Errorf("no %s in the events", want)
				}
			}
			if strings.Contains(body, secret) {
				t.Error("an event holds the secret")
			}
			var summary string
			for _, e := range all {
				var ev map[string]any
				json.Unmarshal([]byte(e.data), &ev)
				if s, ok := ev["summary_html"].(string); ok {
					summary = s
				}
			}
			if !strings.Contains(summary, "<h2>Built") || strings.Contains(summary, "<script") || strings.Contains(summary, "javascript:") {
				t.Errorf("summary_html %q", summary)
			}
			for _, cut := range []int{1, 5, len(all) / 2, len(all) - 2} {
				for _, how := range []map[string]string{{"Last-Event-ID": strconv.Itoa(cut)}, nil} {
					url := "/api/runs/20261201-120000-abcdef/events"
					if how == nil {
						url += "?after=" + strconv.Itoa(cut)
					}
					rest := parseSSE(t, get(t, h, url, how).Body.String())
					if len(rest) != len(all)-cut {
						t.Errorf("after %d: %d events, want %d", cut, len(rest), len(all)-cut)
						continue
					}
					for i, e := range rest[:len(rest)-1] {
						if e != all[cut+i] {
							t.Errorf("after %d: event %d is %+v, want %+v", cut, i, e, all[cut+i])
							break
						}
					}
				}
			}
		})
	}
}

// A live run's stream follows it: events come as they happen, and a
// client that drops and comes back with Last-Event-ID misses none.
func TestLiveStream(t *testing.T) {
	t.Parallel()
	p, l := dag.Decode([]byte("version: gantry/v1\nname: slow\nnodes:\n  - id: a\n    steps:\n      - run: echo one\n"), "slow.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	runs := t.TempDir()
	rec, err := webui.NewRecorder(p, webui.RecorderOptions{Dir: filepath.Join(runs, "r1"), Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := webui.New(webui.Options{Runs: runs})
	srv.Add(rec)
	url, stop, err := srv.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	rec.NodeStarted("a", "a")
	read := func(lastID string, n int) []sse {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"api/runs/r1/events", nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got []sse
		var cur sse
		sc := bufio.NewScanner(resp.Body)
		for len(got) < n && sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && cur.data != "":
				got = append(got, cur)
				cur = sse{}
			case strings.HasPrefix(line, "id: "):
				cur.id, _ = strconv.Atoi(line[4:])
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
		return got
	}
	first := read("", 2) // run-started, node-started
	go func() {
		for i := range 5 {
			rec.Line("a", "stdout", "line "+strconv.Itoa(i))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	next := read(strconv.Itoa(first[len(first)-1].id), 5)
	for i, e := range next {
		if e.id != 3+i || !strings.Contains(e.data, `"text":"line `+strconv.Itoa(i)+`"`) {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	if err := rec.Finish(nil); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "api/runs/r1/events")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if evs := parseSSE(t, string(b)); len(evs) != 9 || evs[8].kind != "end" {
		t.Errorf("after the end: %d events", len(evs))
	}
}

// gantry ui follows a run that another gantry is writing: from the
// record's file, a moment after each line, to the run's end.
func TestFollowRecord(t *testing.T) {
	t.Parallel()
	p, l := dag.Decode([]byte("version: gantry/v1\nname: other\nnodes:\n  - id: a\n    steps:\n      - run: echo one\n"), "other.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	runs := t.TempDir()
	rec, err := webui.NewRecorder(p, webui.RecorderOptions{Dir: filepath.Join(runs, "r2")})
	if err != nil {
		t.Fatal(err)
	}
	srv := webui.New(webui.Options{Runs: runs, Poll: 20 * time.Millisecond})
	url, stop, err := srv.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	rec.NodeStarted("a", "a")
	rec.Line("a", "stdout", "first")
	resp, err := http.Get(url + "api/runs/r2/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return d
			}
			if sc.Text() == "event: end" {
				return "end"
			}
		}
		t.Fatal("the stream ended")
		return ""
	}
	start := time.Now()
	for _, want := range []string{`"event":"run-started"`, `"event":"node-started"`, `"text":"first"`} {
		if got := next(); !strings.Contains(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	rec.Line("a", "stdout", "second")
	if got := next(); !strings.Contains(got, `"text":"second"`) {
		t.Fatalf("got %s", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the lines took %s to show", d)
	}
	rec.Finish(&runner.Result{Triggered: true})
	if got := next(); !strings.Contains(got, `"event":"run-finished"`) {
		t.Fatalf("got %s", got)
	}
	if got := next(); got != "end" {
		t.Fatalf("got %s, want the end", got)
	}
}
