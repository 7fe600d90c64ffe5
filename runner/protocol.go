package runner

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The step protocol: the files a step writes its outputs, environment,
// PATH entries, summary and state to, and the workflow commands it prints.

// protocolFiles names the step protocol's files: environment variable →
// file name in the step's protocol directory.
var protocolFiles = map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_PATH": "path", "GITHUB_STEP_SUMMARY": "summary", "GITHUB_STATE": "state"}

// createProtocolFiles makes dir and the protocol's files in it, empty,
// before the step: libraries such as @actions/core refuse to write to a
// file that is missing, and scripts read them.
func createProtocolFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range protocolFiles {
		file, err := os.OpenFile(filepath.Join(dir, f), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
		if err != nil {
			return err
		}
		file.Close()
	}
	return nil
}

// commands collects what one step said through workflow commands. Its
// stdout and stderr are read concurrently, hence the lock.
type commands struct {
	mu      sync.Mutex
	outputs map[string]string
	state   map[string]string
	env     map[string]string
	paths   []string
	// unsecure is ACTIONS_ALLOW_UNSECURE_COMMANDS=true in the step's env
	// context, which lets ::set-env and ::add-path through.
	unsecure bool
	// failed is a command that could not be processed: as on GitHub, the
	// step fails.
	failed []string
	// prefix goes before each line the step prints: a background step's
	// lines are told apart from the others' by it.
	prefix string
}

func newCommands(env map[string]string) *commands {
	unsecure, _ := strconv.ParseBool(env["ACTIONS_ALLOW_UNSECURE_COMMANDS"])
	return &commands{outputs: map[string]string{}, state: map[string]string{}, env: map[string]string{}, unsecure: unsecure}
}

// readProtocolFiles takes in what a step said: its workflow commands,
// then (as GitHub's runner reads them after the step, they win) what it
// wrote to the protocol's files in dir. Outputs go into outputs, the rest
// into the job.
func (j *job) readProtocolFiles(dir string, cmds *commands, outputs map[string]string) error {
	maps.Copy(outputs, cmds.outputs)
	exported := maps.Clone(cmds.env)
	paths := slices.Clone(cmds.paths)
	defer func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		maps.Copy(j.exported, exported)
		for _, p := range paths {
			j.paths = append([]string{p}, j.paths...)
		}
	}()
	if len(cmds.failed) > 0 {
		return fmt.Errorf("unable to process command %s successfully", strings.Join(cmds.failed, ", "))
	}
	if err := readKeyValues(filepath.Join(dir, "output"), outputs); err != nil {
		return err
	}
	if err := readKeyValues(filepath.Join(dir, "env"), exported); err != nil {
		return err
	}
	if err := readKeyValues(filepath.Join(dir, "state"), cmds.state); err != nil {
		return err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "path")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				paths = append(paths, line)
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil && len(data) > 0 {
		j.mu.Lock()
		j.summary.Write(data)
		if !strings.HasSuffix(string(data), "\n") {
			j.summary.WriteByte('\n')
		}
		j.mu.Unlock()
	}
	return nil
}

// readKeyValues reads a GITHUB_OUTPUT/GITHUB_ENV file: KEY=VALUE lines and
// KEY<<DELIMITER blocks.
func readKeyValues(path string, into map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if k, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(k, "=") {
			var val []string
			j := i + 1
			for ; j < len(lines) && lines[j] != delim; j++ {
				val = append(val, lines[j])
			}
			if j >= len(lines) {
				return fmt.Errorf("%s: %q has no closing delimiter %q", filepath.Base(path), k, delim)
			}
			into[k] = strings.Join(val, "\n")
			i = j
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s: line %d is neither KEY=VALUE nor KEY<<DELIMITER: %q", filepath.Base(path), i+1, line)
		}
		into[k] = v
	}
	return nil
}

// lineWriter turns a step's output into masked lines for the reporter,
// interpreting workflow commands into cmds where the DAG says they are on.
func (j *job) lineWriter(stream string, cmds *commands) io.WriteCloser {
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	stop := ""
	rep, mask := j.r.opts.Reporter, j.r.opts.Masker
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if stop != "" {
				if line == "::"+stop+"::" {
					stop = ""
				} else {
					rep.Line(j.n.ID, stream, cmds.prefix+mask.Mask(line))
				}
				continue
			}
			if j.behavior.WorkflowCommands && strings.HasPrefix(line, "::") && j.workflowCommand(line, cmds, &stop) {
				continue
			}
			rep.Line(j.n.ID, stream, cmds.prefix+mask.Mask(line))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return &pipeCloser{pw: pw, wg: &wg}
}

type pipeCloser struct {
	pw *io.PipeWriter
	wg *sync.WaitGroup
}

func (p *pipeCloser) Write(b []byte) (int, error) { return p.pw.Write(b) }
func (p *pipeCloser) Close() error {
	err := p.pw.Close()
	p.wg.Wait()
	return err
}

// workflowCommand handles one ::command:: line; it reports whether the
// line was a command (and so is not printed as it is).
func (j *job) workflowCommand(line string, cmds *commands, stop *string) bool {
	rest := strings.TrimPrefix(line, "::")
	head, msg, ok := strings.Cut(rest, "::")
	if !ok {
		return false
	}
	cmd, props, _ := strings.Cut(head, " ")
	msg = unescapeData(msg)
	rep, mask := j.r.opts.Reporter, j.r.opts.Masker
	switch cmd {
	case "add-mask":
		mask.Add(msg)
	case "group":
		rep.Group(j.n.ID, mask.Mask(msg))
	case "endgroup":
		rep.EndGroup(j.n.ID)
	case "error", "warning", "notice":
		where := ""
		a := Annotation{Level: cmd, Message: mask.Mask(msg)}
		for _, p := range strings.Split(props, ",") {
			if k, v, ok := strings.Cut(p, "="); ok && (k == "file" || k == "line" || k == "col") {
				if where != "" {
					where += ":"
				}
				v = unescapeProperty(v)
				where += v
				switch k {
				case "file":
					a.File = mask.Mask(v)
				case "line":
					a.Line, _ = strconv.Atoi(v)
				case "col":
					a.Col, _ = strconv.Atoi(v)
				}
			}
		}
		if an, ok := rep.(Annotator); ok {
			an.Annotation(j.n.ID, a)
		}
		if where != "" {
			where = " (" + where + ")"
		}
		j.say("%s: %s%s", cmd, msg, where)
	case "debug", "echo":
	case "set-output", "save-state":
		// Deprecated in 2022, and still honoured by GitHub's runner, with
		// this warning.
		j.warn(fmt.Sprintf("The `%s` command is deprecated and will be disabled soon. Please upgrade to using Environment Files. For more information see: https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/", cmd))
		name := property(props, "name")
		if name == "" {
			j.say("Required field 'name' is missing in ##[%s] command.", cmd)
			cmds.fail(line)
			break
		}
		cmds.mu.Lock()
		if cmd == "set-output" {
			cmds.outputs[name] = msg
		} else {
			cmds.state[name] = msg
		}
		cmds.mu.Unlock()
	case "set-env", "add-path":
		// Refused unless the step's env allows them, then honoured: a
		// refused one fails the step, as on GitHub.
		if !cmds.unsecure {
			j.say("The `%s` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/", cmd)
			cmds.fail(line)
			break
		}
		cmds.mu.Lock()
		switch name := property(props, "name"); {
		case cmd == "add-path":
			cmds.paths = append(cmds.paths, msg)
		case name == "":
			j.say("Required field 'name' is missing in ##[set-env] command.")
			cmds.failed = append(cmds.failed, strconv.Quote(line))
		case strings.EqualFold(name, "NODE_OPTIONS"):
			j.say("Can't update NODE_OPTIONS environment variable using ::set-env:: command.")
		default:
			cmds.env[name] = msg
		}
		cmds.mu.Unlock()
	case "stop-commands":
		*stop = msg
	default:
		return false
	}
	return true
}

// fail notes a command that could not be processed.
func (c *commands) fail(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, strconv.Quote(line))
}

// warn prints a warning of gantry's as GitHub's runner shows its own: a
// line, and a warning annotation.
func (j *job) warn(msg string) {
	if an, ok := j.r.opts.Reporter.(Annotator); ok {
		an.Annotation(j.n.ID, Annotation{Level: "warning", Message: msg})
	}
	j.say("warning: %s", msg)
}

// property is a command property's value (name=VALUE in "::cmd name=VALUE,k=v::").
func property(props, key string) string {
	for _, p := range strings.Split(props, ",") {
		if k, v, ok := strings.Cut(p, "="); ok && strings.TrimSpace(k) == key {
			return unescapeProperty(v)
		}
	}
	return ""
}

// unescapeProperty undoes @actions/core's escaping of property values.
func unescapeProperty(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

// unescapeData undoes @actions/core's escaping of a command's data.
func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}
