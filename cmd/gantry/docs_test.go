package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateDoc migrates gantry's own CI example as docs/migrate.md does,
// and checks that the trigger file the page shows is the one written.
func TestMigrateDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/migrate.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- test: the trigger file gantry migrate writes for examples/ci.yml -->\n```yaml\n"
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatal("docs/migrate.md lost its tested trigger file block")
	}
	want, _, _ := strings.Cut(rest, "```\n")
	example, err := os.ReadFile("../../examples/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows", "ci.yml")
	if err := os.MkdirAll(filepath.Dir(wf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wf, example, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"migrate", "--dir", dir, "--gantry-version", "v0.1.0", "--engine-secret", "GANTRY_BUILDKIT_HOST"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("gantry migrate: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	got, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("the trigger file differs from docs/migrate.md:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(string(doc), strings.SplitN(out.String(), "\n", 2)[0]) {
		t.Errorf("docs/migrate.md does not show the audit line gantry printed:\n%s", out.String())
	}
}
