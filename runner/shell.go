package runner

import (
	"fmt"

	"github.com/gantry-ci/gantry/expr"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry/dag"
)

// shellCommand writes a run step's script to a file in its protocol
// directory and returns the argv that runs it with the step's shell, as
// GitHub's runner runs scripts: {0} is the file's path as the step sees it.
// With ScriptLines the file runs the text line by line as GitLab's runner
// does.
func (j *job) shellCommand(b dag.Behavior, script, dir string, index int, env *expr.Env) ([]string, error) {
	_, seen := j.stepDir(index)
	if strings.Contains(b.Shell, "${{") {
		// shell: ${{ matrix.shell }} and the like, known only now.
		shell, err := j.interpolate(b.Shell, &j.n.Steps[index], env)
		if err != nil {
			return nil, fmt.Errorf("shell: %w", err)
		}
		b.Shell = shell
	}
	return shellArgv(b, script, dir, seen, j.ws.HostDir() != "")
}

// shellArgv writes script into dir (which steps see as seen) and returns
// the argv that runs it as b says; onHost is whether the step runs on this
// machine rather than in a container.
func shellArgv(b dag.Behavior, script, dir, seen string, onHost bool) ([]string, error) {
	if b.Script == dag.ScriptLines && b.Shell == "" {
		script = linesScript(script)
	}
	ext := ".sh"
	var template []string
	switch b.Shell {
	case "", "bash":
		template = []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"}
		switch {
		case b.Shell != "":
		case !onHost:
			// In a container, as GitHub does: bash when the image has it.
			template = []string{"sh", "-c", `if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -eo pipefail "$0"; else exec sh -e "$0"; fi`, "{0}"}
		case !onPath("bash"):
			template = []string{"sh", "-e", "{0}"}
		}
	case "sh":
		template = []string{"sh", "-e", "{0}"}
	case "python":
		template, ext = []string{"python3", "{0}"}, ".py"
	case "pwsh", "powershell":
		template, ext = []string{"pwsh", "-command", ". '{0}'"}, ".ps1"
	default:
		if !strings.Contains(b.Shell, "{0}") {
			return nil, fmt.Errorf("shell %q: gantry runs bash, sh, python, pwsh, or a command with {0} for the script", b.Shell)
		}
		template = strings.Fields(b.Shell)
	}
	if err := os.WriteFile(filepath.Join(dir, "script"+ext), []byte(script), 0o755); err != nil {
		return nil, err
	}
	inStep := filepath.Join(seen, "script"+ext)
	argv := make([]string, len(template))
	for i, a := range template {
		argv[i] = strings.ReplaceAll(a, "{0}", inStep)
	}
	return argv, nil
}

// linesScript runs script lines as GitLab's runner does: each echoed with
// "$ " before it runs, stopping at the first that fails.
func linesScript(script string) string {
	var b strings.Builder
	b.WriteString("set -eo pipefail 2>/dev/null || set -e\n")
	for _, line := range strings.Split(script, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintf(&b, "printf '%%s\\n' %s\n%s\n", shellQuote("$ "+line), line)
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func onPath(prog string) bool {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(dir, prog)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}
