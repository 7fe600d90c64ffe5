package runner

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The step protocol: the files a step writes its outputs, environment,
// PATH entries, summary and state to, and the workflow commands it prints.

// protocolFiles names the step protocol's files: environment variable →
// file name in the step's protocol directory.
var protocolFiles = map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_PATH": "path", "GITHUB_STEP_SUMMARY": "summary", "GITHUB_STATE": "state"}

// readProtocolFiles takes in what a step wrote to the protocol's files in
// dir: outputs into outputs, the rest into the job.
func (j *job) readProtocolFiles(dir string, outputs map[string]string) error {
	if err := readKeyValues(filepath.Join(dir, "output"), outputs); err != nil {
		return err
	}
	if err := readKeyValues(filepath.Join(dir, "env"), j.exported); err != nil {
		return err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "path")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				j.paths = append([]string{line}, j.paths...)
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil && len(data) > 0 {
		j.summary.Write(data)
		if !strings.HasSuffix(string(data), "\n") {
			j.summary.WriteByte('\n')
		}
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
// interpreting workflow commands where the DAG says they are on.
func (j *job) lineWriter(stream string) io.WriteCloser {
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
					rep.Line(j.n.ID, stream, mask.Mask(line))
				}
				continue
			}
			if j.behavior.WorkflowCommands && strings.HasPrefix(line, "::") && j.workflowCommand(line, &stop) {
				continue
			}
			rep.Line(j.n.ID, stream, mask.Mask(line))
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
func (j *job) workflowCommand(line string, stop *string) bool {
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
				v = unescapeData(v)
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
	case "debug":
	case "set-output", "set-env", "add-path":
		j.say("::%s is disabled, as on GitHub; write to $%s instead", cmd, map[string]string{"set-output": "GITHUB_OUTPUT", "set-env": "GITHUB_ENV", "add-path": "GITHUB_PATH"}[cmd])
	case "stop-commands":
		*stop = msg
	case "save-state", "echo":
	default:
		return false
	}
	return true
}

func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}
