// Command gantry translates GitHub Actions and GitLab CI configuration into
// a portable DAG, runs it anywhere, and writes back thin trigger files.
package main

import (
	"context"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/sirupsen/logrus"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so that tests
// can run the CLI in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Libraries under the BuildKit client print to the standard logger
	// (http2's server side of the session) and to logrus (containerd's
	// content store); gantry reports through its own output.
	log.SetOutput(io.Discard)
	logrus.SetOutput(io.Discard)
	// gantry's commands are short and allocate in bursts (translating
	// the 172 starter workflows: 27 MB in 250k allocations, of which
	// little stays live); at Go's default of 100 the collector ran about
	// a dozen times for that. GOGC still decides when it is set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	streams := newIO(stdin, stdout, stderr)
	root := newRootCmd(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return report(streams, err, ctx.Err() != nil)
}
