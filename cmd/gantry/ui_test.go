package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uiWorkflow has jobs that succeed (build, once the test has seen it
// running, and lint), one
// that fails after printing the secret and a folded group (test), one
// skipped because of it (deploy), and one that holds the run open until
// the test has looked (hold), so that the page is seen live.
const uiWorkflow = `name: web view
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: compile
        run: |
          echo "compiling"
          for i in $(seq 600); do [ -f "$GO" ] && break; sleep 0.1; done
          echo "compiled"
      - name: summary
        run: |
          mkdir -p dist && echo "the binary" > dist/app
          echo "## Build ✓" >> "$GITHUB_STEP_SUMMARY"
          echo "| os | result |" >> "$GITHUB_STEP_SUMMARY"
          echo "|----|--------|" >> "$GITHUB_STEP_SUMMARY"
          echo "| linux | ok |" >> "$GITHUB_STEP_SUMMARY"
      - uses: actions/upload-artifact@v4
        with:
          name: app
          path: dist/
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo "lint ok"
  test:
    needs: build
    runs-on: ubuntu-latest
    env:
      TOKEN: ${{ secrets.TOKEN }}
    steps:
      - name: unit tests
        run: |
          echo "::group::set up the database"
          echo "creating tables"
          echo "::endgroup::"
          echo "using token $TOKEN"
          echo "--- FAIL: TestAnswer (want 42, got 41)"
          echo "::error file=calc.go,line=3,col=21::the answer is wrong"
          exit 1
  deploy:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - run: echo never
  hold:
    needs: [build, lint]
    runs-on: ubuntu-latest
    steps:
      - name: wait for the browser
        run: for i in $(seq 600); do [ -f "$HOLD" ] && exit 0; sleep 0.1; done; exit 1
`

const uiSecret = "tok-Zq8vX2-secret"

// chromium is the browser the test drives: Debian's, or $CHROMIUM.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("GANTRY_REQUIRE_BROWSER") != "" {
		t.Fatal("GANTRY_REQUIRE_BROWSER is set and there is no chromium (apt-get install chromium)")
	}
	t.Skip("no chromium (apt-get install chromium, or set CHROMIUM)")
	return ""
}

// artifactsDir is where the test keeps its screenshot:
// $GANTRY_TEST_ARTIFACTS, else the test's artifact directory (kept with
// go test -artifacts -outputdir DIR).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GANTRY_TEST_ARTIFACTS")
	if dir == "" {
		return t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUIBrowser runs a pipeline with --ui and watches it in headless
// Chromium: the nodes turn green while it runs, the failed node's panel
// shows its log lines and folded group, no secret is in the page, the
// summary and artifact are there, and the page stays when the run ends.
func TestUIBrowser(t *testing.T) {
	browser := chromium(t)
	repo := t.TempDir()
	for _, c := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.email", "t@example.com"}, {"config", "user.name", "t"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, c...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", c, err, out)
		}
	}
	wf := filepath.Join(repo, ".github", "workflows", "ci.yml")
	os.MkdirAll(filepath.Dir(wf), 0o755)
	os.WriteFile(wf, []byte(uiWorkflow), 0o644)
	os.WriteFile(filepath.Join(repo, "calc.go"), []byte("package calc\n\nfunc Answer() int { return 41 }\n"), 0o644)
	hold := filepath.Join(t.TempDir(), "hold")
	goOn := filepath.Join(t.TempDir(), "go")

	errR, errW := io.Pipe()
	var stdout strings.Builder
	exit := make(chan int, 1)
	go func() {
		code := run([]string{"run", "--executor", "host", "--ui", "--dir", repo, "--secret", "TOKEN=" + uiSecret, "--env", "HOLD=" + hold, "--env", "GO=" + goOn, wf},
			strings.NewReader(""), &stdout, errW)
		errW.Close()
		exit <- code
	}()
	t.Cleanup(func() { os.WriteFile(hold, nil, 0o644); os.WriteFile(goOn, nil, 0o644) })
	// The address is printed once, on stderr.
	urls := make(chan string, 1)
	var stderr lockedBuilder
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(errR)
		re := regexp.MustCompile(`the run's page: (http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{32})$`)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	var url string
	select {
	case url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatalf("no address printed: %s", stderr.String())
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-gpu", true))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	wait := func(what, expr string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(wctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage:\n%s\nstderr:\n%s", what, err, html, stderr.String())
		}
	}
	// Live: build is seen running before it succeeds.
	wait("build running", `!!document.querySelector('#graph g[data-node="build"][data-status="running"]')`)
	// The running step's log streams: its first line shows while it runs.
	if err := chromedp.Do(ctx, chromedp.Click(`#graph g[data-node="build"] rect`)); err != nil {
		t.Fatal(err)
	}
	wait("compile's first line, live", `(() => { const p = document.querySelector('#panel').innerText; return p.includes('compiling') && !p.includes('compiled') && p.includes('running'); })()`)
	os.WriteFile(goOn, nil, 0o644)
	wait("compile's last line", `document.querySelector('#panel').innerText.includes('compiled')`)
	wait("build and lint green", `['build','lint'].every(id => !!document.querySelector('#graph g[data-node="'+id+'"][data-status="success"]'))`)
	wait("test failed", `!!document.querySelector('#graph g[data-node="test"][data-status="failure"]')`)
	wait("deploy skipped", `!!document.querySelector('#graph g[data-node="deploy"][data-status="skipped"]')`)
	wait("hold running", `!!document.querySelector('#graph g[data-node="hold"][data-status="running"]')`)

	if err := chromedp.Do(ctx, chromedp.Click(`#graph g[data-node="test"] rect`)); err != nil {
		t.Fatal(err)
	}
	wait("the test panel", `document.querySelector('#panel h3') && document.querySelector('#panel h3').textContent.startsWith('test')`)
	panel, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#panel').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"unit tests", "exit 1", "--- FAIL: TestAnswer (want 42, got 41)", "using token ***", "set up the database"} {
		if !strings.Contains(panel, want) {
			t.Errorf("the failed node's panel has no %q:\n%s", want, panel)
		}
	}
	// The group is folded: its title shows, its lines do not.
	folded, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('#panel .log details')].some(d => !d.open && d.textContent.includes('creating tables'))`))
	if !folded {
		t.Error("the ::group:: is not folded")
	}
	wait("the annotation with its source line", `[...document.querySelectorAll('.annotation')].some(a => a.textContent.includes("calc.go:3:21") && a.querySelector('.hit') && a.querySelector('.hit').textContent.includes('func Answer'))`)
	wait("the artifact", `[...document.querySelectorAll('#artifacts a')].some(a => a.textContent === 'app' && a.getAttribute('href').endsWith('/artifacts/_named/app/app'))`)

	if err := chromedp.Do(ctx, chromedp.Click(`#graph g[data-node="build"] rect`)); err != nil {
		t.Fatal(err)
	}
	wait("build's summary", `!!document.querySelector('#panel .summary h2') && !!document.querySelector('#panel .summary table')`)
	if err := chromedp.Do(ctx, chromedp.Click(`#graph g[data-node="test"] rect`)); err != nil {
		t.Fatal(err)
	}
	wait("the test panel again", `document.querySelector('#panel h3').textContent.startsWith('test')`)

	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, uiSecret) {
		t.Error("the secret is in the page")
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifactsDir(t), "ui-run.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)

	// The run ends; the page stays, as the record.
	os.WriteFile(hold, nil, 0o644)
	wait("the run's end", `document.body.dataset.run === 'ended' && !!document.querySelector('#graph g[data-node="hold"][data-status="success"]')`)
	code := <-exit
	<-scanned
	if code != exitFindings {
		t.Errorf("exit code %d, want 1 (a job failed)\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "gantry: the run's page stopped with the run; gantry ui shows its record") {
		t.Errorf("gantry did not say the page stopped:\n%s", stderr.String())
	}
	if n := strings.Count(stderr.String(), "the run's page:"); n != 1 {
		t.Errorf("the address was printed %d times", n)
	}
	if strings.Contains(stdout.String(), uiSecret) {
		t.Error("the secret is in the output")
	}
}

// TestUICommand serves the records of earlier runs with gantry ui: the
// list, a record's events to their end, the Host check.
func TestUICommand(t *testing.T) {
	repo := t.TempDir()
	wf := filepath.Join(repo, "ci.yml")
	os.WriteFile(wf, []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hello from a\n"), 0o644)
	var out, errOut strings.Builder
	if code := run([]string{"run", "--executor", "host", "--dir", repo, wf}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("gantry run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if _, err := findRuns(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no run records in") {
		t.Errorf("findRuns in an empty directory: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runUI(ctx, &IO{Out: io.Discard, Err: errW}, &uiOptions{Dir: filepath.Join(repo, ".gantry")})
		errW.Close()
	}()
	line, err := bufio.NewReader(errR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, errR)
	m := regexp.MustCompile(`gantry: the runs of (.*): (http://127\.0\.0\.1:\d+/)\?token=([0-9a-f]{32}) \(Ctrl-C to stop\)`).FindStringSubmatch(line)
	if m == nil || m[1] != repo {
		t.Fatalf("printed %q", line)
	}
	token := m[3]
	fetch := func(path, host string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", m[2]+path, nil)
		if host != "" {
			req.Host = host
		}
		if token != "" {
			req.AddCookie(&http.Cookie{Name: "gantry-ui-token", Value: token})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Without the printed address's token, nothing: another user of the
	// machine reaches loopback too.
	real := token
	for _, bad := range []string{"", strings.Repeat("0", 32)} {
		token = bad
		if code, body := fetch("api/runs", ""); code != http.StatusUnauthorized || !strings.Contains(body, "carries the view's token") {
			t.Errorf("token %q: %d %s", bad, code, body)
		}
	}
	token = real
	code, body := fetch("api/runs", "")
	var runs []struct{ ID, Pipeline, Status string }
	if err := json.Unmarshal([]byte(body), &runs); code != 200 || err != nil || len(runs) != 1 || runs[0].Status != "success" {
		t.Fatalf("runs: %d %s", code, body)
	}
	if code, body = fetch("api/runs/"+runs[0].ID+"/events", ""); code != 200 || !strings.Contains(body, `"text":"hello from a"`) || !strings.HasSuffix(body, "event: end\ndata: {}\n\n") {
		t.Errorf("events: %d %s", code, body)
	}
	if code, _ = fetch("", "evil.example:"+strings.TrimSuffix(strings.Split(m[2], ":")[2], "/")); code != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example: %d", code)
	}
	if code, body = fetch("", ""); code != 200 || !strings.Contains(body, `<script src="app.js">`) {
		t.Errorf("the page: %d %s", code, body)
	}
	// A record from before the view: its result only.
	dir := filepath.Join(repo, ".gantry", "runs", runs[0].ID)
	os.Remove(filepath.Join(dir, "events.jsonl"))
	os.Remove(filepath.Join(dir, "dag.json"))
	code, body = fetch("api/runs/"+runs[0].ID, "")
	var info struct {
		Status string
		Result struct{ Nodes []struct{ ID, Status string } }
	}
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil || info.Status != "success" || len(info.Result.Nodes) != 1 || info.Result.Nodes[0].Status != "success" {
		t.Errorf("an old record: %d %s", code, body)
	}
	if code, body = fetch("api/runs/"+runs[0].ID+"/events", ""); code != 200 || !strings.HasSuffix(body, "event: end\ndata: {}\n\n") {
		t.Errorf("an old record's events: %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// lockedBuilder is a strings.Builder that one goroutine writes while
// another reads.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
