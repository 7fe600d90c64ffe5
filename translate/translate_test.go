package translate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/translate"
)

func TestIsDAG(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data string
		want bool
	}{
		{name: "yaml", data: "# c\nversion: gantry/v1\nnodes: []\n", want: true},
		{name: "quoted", data: "version: \"gantry/v1\"\n", want: true},
		{name: "json", data: `{"version": "gantry/v1", "nodes": []}`, want: true},
		{name: "indented version is not top-level", data: "jobs:\n  x:\n    version: gantry/v1\n"},
		{name: "compose file", data: "version: '3'\nservices: {}\n"},
		{name: "workflow", data: "on: push\njobs: {}\n"},
	} {
		if got := translate.IsDAG("f.yaml", []byte(tc.data)); got != tc.want {
			t.Errorf("%s: IsDAG = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("a.yaml", "version: gantry/v1\nnodes: [{id: a, steps: [{run: echo}]}]\n")
	bad := write("b.yaml", "version: gantry/v1\nnodes: [{id: b, needs: [zz], steps: [{run: echo}]}]\n")
	unknown := write("c.yml", "hello: world\n")

	ps, l, err := translate.Files(t.Context(), []string{good}, translate.Options{})
	if err != nil || len(l) > 0 || len(ps) != 1 || ps[0].Nodes[0].ID != "a" {
		t.Fatalf("good file: pipelines %v, findings %v, err %v", ps, l, err)
	}

	// All findings of all files are collected, each file named.
	ps, l, err = translate.Files(t.Context(), []string{dir}, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Errorf("got %d pipelines from the directory, want 1 (only a.yaml is valid)", len(ps))
	}
	codes := map[string]diag.Pos{}
	for _, d := range l {
		codes[d.Code] = d.Pos
	}
	if p, ok := codes["dag-unknown-need"]; !ok || p.File != bad || p.Line != 2 {
		t.Errorf("missing or misplaced dag-unknown-need: %v", l)
	}
	if p, ok := codes["unknown-provider"]; !ok || p.File != unknown {
		t.Errorf("missing unknown-provider for %s: %v", unknown, l)
	}

	_, _, err = translate.Files(t.Context(), []string{good}, translate.Options{Provider: "jenkins"})
	if err == nil || !strings.Contains(err.Error(), `unknown provider "jenkins"`) {
		t.Errorf("forcing an unknown provider: %v", err)
	}
	if _, _, err := translate.Files(t.Context(), []string{filepath.Join(dir, "nope.yml")}, translate.Options{}); err == nil {
		t.Error("a missing file is no error")
	}
}

// FuzzIsDAG: IsDAG answers as the regular expressions it replaced did.
func FuzzIsDAG(f *testing.F) {
	yamlVersion := regexp.MustCompile(`(?m)^version:[ \t]*["']?gantry/`)
	jsonVersion := regexp.MustCompile(`^\s*\{\s*"version"\s*:\s*"gantry/`)
	for _, s := range []string{"version: gantry/v1\n", "x: 1\r\nversion: 'gantry/v1'\n", " \f{ \"version\" :\n\"gantry/v1\"}",
		"version:\t\"\"gantry/", "  version: gantry/", "{\"version\":\"gantry\"}", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := jsonVersion.Match(data) || yamlVersion.Match(data)
		if got := translate.IsDAG("f.yaml", data); got != want {
			t.Errorf("IsDAG(%q) = %v, the regular expressions say %v", data, got, want)
		}
	})
}
