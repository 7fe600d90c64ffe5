package buildkit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// TestStateBack: what a step writes to its state directory (new files,
// changed ones, one changed to the same size) reaches the host and the
// next step, whether it comes back in the record (the wrapper's cp) or
// from the state mount, as when the copy fails (here a file the step puts
// where the copy goes; in an image without cp, its absence); what it
// leaves alone is left as the host has it.
func TestStateBack(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	for name, breakCopy := range map[string]string{"copied": "", "copy failed": ": >/gantry/record/state; "} {
		t.Run(name, func(t *testing.T) {
			ws, spec := executortest.Prepare(t, e, "")
			write := func(rel, data string) {
				if err := os.WriteFile(filepath.Join(spec.StateDir, rel), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			read := func(rel string) string {
				b, err := os.ReadFile(filepath.Join(spec.StateDir, rel))
				if err != nil {
					return "(" + err.Error() + ")"
				}
				return string(b)
			}
			// A value no earlier run can have cached.
			nonce := fmt.Sprint(time.Now().UnixNano())
			write("same-size", "aaaa\n")
			write("left", "left alone\n")
			run := func(script string) string {
				var out strings.Builder
				code, err := ws.Exec(t.Context(), runner.Command{Argv: []string{"sh", "-c", breakCopy + script}, Env: executortest.Env(ws), Stdout: &out, Stderr: &out})
				if err != nil || code != 0 {
					t.Fatalf("%q: exit %d, %v: %s", script, code, err, out.String())
				}
				return out.String()
			}
			run(`echo "v=` + nonce + `" >>"$STATE/outputs"; echo bbbb >"$STATE/same-size"; mkdir -p "$STATE/dir"; echo deep >"$STATE/dir/f"`)
			// The host has the step's writes and kept its own file.
			write("left", "changed on the host\n")
			for rel, want := range map[string]string{"outputs": "v=" + nonce + "\n", "same-size": "bbbb\n", "dir/f": "deep\n"} {
				if got := read(rel); got != want {
					t.Errorf("after the step, %s is %q, want %q", rel, got, want)
				}
			}
			if got := run(`cat "$STATE/outputs" "$STATE/same-size" "$STATE/left"`); got != "v="+nonce+"\nbbbb\nchanged on the host\n" {
				t.Errorf("the next step sees %q", got)
			}
			if got := read("left"); got != "changed on the host\n" {
				t.Errorf("a file no step wrote came back as %q", got)
			}
		})
	}
}
