//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/containerd/console"
)

const terminalWorkflow = `on: push
jobs:
  ok:
    runs-on: ubuntu-latest
    steps:
      - run: echo fine
  bad:
    runs-on: ubuntu-latest
    steps:
      - run: exit 1
  after-bad:
    needs: bad
    runs-on: ubuntu-latest
    steps:
      - run: echo never
`

// runOnTerminal runs gantry with stdout and stderr on a pseudo-terminal,
// as in a person's shell, and gives what the terminal showed.
func runOnTerminal(t *testing.T, args ...string) string {
	t.Helper()
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer pty.Close()
	tty, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(&shown, pty) // until the terminal closes (EIO)
	}()
	run(args, strings.NewReader(""), tty, tty)
	tty.Close()
	wg.Wait()
	return shown.String()
}

// TestTerminalColours: on a terminal the status marks and words are
// coloured as they read (a success green, a failure red, a skip dim), in
// the progress lines and the summary, and the failing job's prefix is
// neither green nor red; NO_COLOR and output that is not a terminal get
// no colour at all.
func TestTerminalColours(t *testing.T) {
	if os.Getenv("NO_COLOR") != "" {
		t.Skip("NO_COLOR is set for the tests")
	}
	repo := t.TempDir()
	wf := filepath.Join(repo, "ci.yml")
	if err := os.WriteFile(wf, []byte(terminalWorkflow), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--executor", "host", "--dir", repo, "-p", "1", wf}

	shown := runOnTerminal(t, args...)
	for _, want := range []string{
		"\x1b[32m✓\x1b[0m ok: \x1b[32msuccess\x1b[0m",
		"\x1b[31m✗\x1b[0m bad: \x1b[31mfailure\x1b[0m",
		"\x1b[90m-\x1b[0m after-bad: \x1b[90mskipped\x1b[0m",
		"\x1b[31mfailure\x1b[0m", // the summary's STATUS column
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, shown)
		}
	}
	for _, line := range strings.Split(shown, "\n") {
		if strings.Contains(line, "[bad") && (strings.HasPrefix(line, "\x1b[32m[") || strings.HasPrefix(line, "\x1b[31m[")) {
			t.Errorf("the failing job's prefix is green or red: %q", line)
		}
	}

	// The summary's columns line up: tabwriter counts colour codes as
	// width, so the header is padded as a painted status is.
	plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(shown, "")
	header := regexp.MustCompile(`(?m)^  NODE +STATUS +DURATION +WHY`).FindString(plain)
	row := regexp.MustCompile(`(?m)^  ok +success +[0-9.]+m?s`).FindString(plain)
	if header == "" || row == "" {
		t.Errorf("no summary table:\n%s", plain)
	} else if h, r := strings.Index(header, "DURATION"), strings.LastIndex(row, " ")+1; h != r {
		t.Errorf("the DURATION column starts at %d in the header and %d in a row:\n%s\n%s", h, r, header, row)
	}

	var out, errOut strings.Builder
	run(args, strings.NewReader(""), &out, &errOut)
	if strings.Contains(out.String()+errOut.String(), "\x1b[") {
		t.Errorf("colour in output that is not a terminal:\n%q", out.String())
	}

	t.Setenv("NO_COLOR", "1")
	shown = runOnTerminal(t, args...)
	if strings.Contains(shown, "\x1b[") {
		t.Errorf("colour on a terminal with NO_COLOR set:\n%q", shown)
	}
	if !strings.Contains(shown, "✗ bad: failure") {
		t.Errorf("no status line with NO_COLOR:\n%q", shown)
	}
}
