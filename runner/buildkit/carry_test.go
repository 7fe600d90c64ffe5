package buildkit_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// prepareNode makes the workspace of a node called id.
func prepareNode(t *testing.T, e runner.Executor, id, src string) runner.Workspace {
	t.Helper()
	ws, err := e.Prepare(t.Context(), &dag.Node{ID: id}, runner.WorkspaceSpec{Source: src, StateDir: filepath.Join(t.TempDir(), id)})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestArtifactCarried carries an artifact from one node's workspace to
// another's with nothing written on the host on the way, then copies it
// to the host.
func TestArtifactCarried(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	src := executortest.Source(t)
	producer := prepareNode(t, e, "build", src)
	if code, err := producer.Exec(t.Context(), runner.Command{
		Argv: []string{"sh", "-c", "mkdir -p out/sub && echo one >out/a.txt && echo two >out/sub/b.txt && echo log >out/c.log && ln -s a.txt out/link && chmod 755 out/a.txt"},
		Env:  executortest.Env(producer),
	}); err != nil || code != 0 {
		t.Fatalf("producing: %d, %v", code, err)
	}
	ca := producer.(runner.ArtifactCarrier)
	fsys, err := ca.ListFiles(t.Context(), []string{"out"})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, p := range []string{"out", "out/a.txt", "out/sub/b.txt", "out/c.log", "out/link"} {
		if _, err := fsys.Open(p); err == nil {
			listed = append(listed, p)
		}
	}
	if len(listed) != 5 {
		t.Fatalf("ListFiles(out) lists %v, want out and its four entries", listed)
	}
	a, err := ca.CarryArtifact(t.Context(), "out", []string{"a.txt", "link", "sub/b.txt"})
	if err != nil || a == nil {
		t.Fatalf("CarryArtifact: %v, %v", a, err)
	}
	// The producer's node ends; its session stays for the artifact.
	released := make(chan error, 1)
	go func() { released <- producer.Release(context.Background()) }()

	consumer := prepareNode(t, e, "test", src)
	t.Cleanup(func() { consumer.Release(context.Background()) })
	took, err := consumer.(runner.ArtifactCarrier).TakeArtifact(t.Context(), a, "got")
	if err != nil || !took {
		t.Fatalf("TakeArtifact: %v, %v", took, err)
	}
	var out strings.Builder
	if code, err := consumer.Exec(t.Context(), runner.Command{
		Argv:   []string{"sh", "-c", "cd got && find . | sort && cat a.txt sub/b.txt && readlink link && ls -l a.txt | cut -c1-10"},
		Env:    executortest.Env(consumer),
		Stdout: &out,
	}); err != nil || code != 0 {
		t.Fatalf("consuming: %d, %v", code, err)
	}
	want := ".\n./a.txt\n./link\n./sub\n./sub/b.txt\none\ntwo\na.txt\n-rwxr-xr-x\n"
	if out.String() != want {
		t.Errorf("the consumer sees\n%s\nwant\n%s", out.String(), want)
	}
	select {
	case err := <-released:
		t.Fatalf("the producer's session ended (%v) while it carried an artifact", err)
	default:
	}

	// Another executor's artifact is not taken: the host copy serves.
	other := newExecutor(t, buildkit.Options{})
	ows := prepareNode(t, other, "other", src)
	t.Cleanup(func() { ows.Release(context.Background()) })
	if took, err := ows.(runner.ArtifactCarrier).TakeArtifact(t.Context(), a, "got"); err != nil || took {
		t.Errorf("another executor's workspace took the artifact: %v, %v", took, err)
	}

	dst := filepath.Join(t.TempDir(), "artifact")
	for range 2 { // the second export reuses the first's files
		if err := a.Export(t.Context(), dst); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, p)
			files = append(files, rel)
		}
		return err
	})
	slices.Sort(files)
	if !slices.Equal(files, []string{"a.txt", "link", "sub/b.txt"}) {
		t.Errorf("exported %v", files)
	}
	if data, _ := os.ReadFile(filepath.Join(dst, "sub", "b.txt")); string(data) != "two\n" {
		t.Errorf("exported sub/b.txt holds %q", data)
	}
	if link, _ := os.Readlink(filepath.Join(dst, "link")); link != "a.txt" {
		t.Errorf("exported link points to %q", link)
	}
	a.Release()
	a.Release()
	if err := <-released; err != nil {
		t.Errorf("Release: %v", err)
	}
}

// TestArtifactRun runs upload-artifact and download-artifact on BuildKit:
// the artifact goes to the consumer as the engine holds it, and the run's
// record has its host copy when the run ends, with the paths, excludes and
// if-no-files-found of upload-artifact.
func TestArtifactRun(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	src := executortest.Source(t)
	p := &dag.Pipeline{Version: dag.Version, Nodes: []*dag.Node{
		{ID: "build", Steps: []dag.Step{
			{Run: "mkdir -p out/sub && echo one >out/a.txt && echo two >out/sub/b.txt && echo log >out/c.log"},
			{Uses: "actions/upload-artifact@v4", With: map[string]string{"name": "dist", "path": "out/\n!out/*.log"}},
			{Uses: "actions/upload-artifact@v4", With: map[string]string{"name": "one", "path": "out/sub/b.txt"}},
		}},
		{ID: "test", Needs: []string{"build"}, Steps: []dag.Step{
			{Uses: "actions/download-artifact@v4", With: map[string]string{"name": "dist", "path": "got"}},
			{Uses: "actions/download-artifact@v4", With: map[string]string{"path": "all"}},
			{Run: "find got all -type f | sort && cat got/sub/b.txt"},
		}},
		{ID: "empty", Steps: []dag.Step{
			{Uses: "actions/upload-artifact@v4", With: map[string]string{"name": "none", "path": "nothing/", "if-no-files-found": "error"}},
		}},
	}}
	var out strings.Builder
	runDir := t.TempDir()
	res, err := runner.Run(t.Context(), p, runner.Options{Executor: e, Source: src, RunDir: runDir, Parallel: 2, Reporter: &runner.TextReporter{Out: &out}})
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	status := map[string]dag.Status{}
	for _, n := range res.Nodes {
		status[n.ID] = n.Status
	}
	if status["build"] != dag.StatusSuccess || status["test"] != dag.StatusSuccess {
		t.Fatalf("build %s, test %s:\n%s", status["build"], status["test"], text)
	}
	if status["empty"] != dag.StatusFailure || !strings.Contains(text, `upload-artifact "none": no file matches nothing/`) {
		t.Errorf("an upload with if-no-files-found: error and no file: %s\n%s", res.Nodes[2].Status, text)
	}
	for _, want := range []string{
		`uploaded 2 file(s) as artifact "dist" (kept in the engine`,
		`download-artifact: "dist" taken from the engine as build left it, not through the host`,
		`download-artifact: "one" taken from the engine`,
		"all/dist/a.txt\n", "all/dist/sub/b.txt\n", "all/one/b.txt\n", "got/a.txt\n", "got/sub/b.txt\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the run's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "got/c.log") || strings.Contains(text, "dist/c.log") {
		t.Errorf("an excluded file was carried:\n%s", text)
	}
	for rel, want := range map[string]string{"dist/a.txt": "one\n", "dist/sub/b.txt": "two\n", "one/b.txt": "two\n"} {
		data, err := os.ReadFile(filepath.Join(runDir, "artifacts", "_named", filepath.FromSlash(rel)))
		if err != nil || string(data) != want {
			t.Errorf("the run's record: %s holds %q (%v), want %q", rel, data, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "artifacts", "_named", "dist", "c.log")); err == nil {
		t.Errorf("the run's record has the excluded c.log")
	}

	// --no-needs: test alone takes the artifacts of the run before from
	// its record, through the host.
	var prior runner.NodeResult
	for _, n := range res.Nodes {
		if n.ID == "build" {
			prior = n
		}
	}
	out.Reset()
	res, err = runner.Run(t.Context(), p, runner.Options{Executor: e, Source: src, RunDir: t.TempDir(), Jobs: []string{"test"}, NoNeeds: true,
		Prior: map[string]runner.PriorResult{"build": {NodeResult: prior, RunDir: runDir}}, Reporter: &runner.TextReporter{Out: &out}})
	if err != nil {
		t.Fatal(err)
	}
	text = out.String()
	if strings.Contains(text, "taken from the engine") || !strings.Contains(text, "got/sub/b.txt\n") {
		t.Errorf("test with --no-needs:\n%s", text)
	}
}
