package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/webui"
	"github.com/gantry-ci/gantry/runner"
)

type uiOptions struct {
	Dir  string
	Open bool
}

func newUICmd(io *IO) *cobra.Command {
	opts := &uiOptions{}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve a web view of the run records under .gantry/runs",
		Long: `Ui serves a page of the runs recorded under .gantry/runs, newest first, on
a free port of 127.0.0.1: each run's DAG coloured by how its jobs went, a
timeline, every job's steps with their logs (::group:: sections folded),
exit codes, outputs, step summaries, annotations and artifacts. A run that
another gantry is still running is followed as it goes. It serves until
Ctrl-C.

The page is what gantry run --ui shows while a run runs.`,
		Example: `  gantry ui
  gantry ui --open --dir ../app`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runUI(cmd.Context(), io, opts) },
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", ".", "the repository whose .gantry/runs to show (default: the nearest directory up from here that has one)")
	cmd.Flags().BoolVar(&opts.Open, "open", false, "open the page in the browser")
	return cmd
}

func runUI(ctx context.Context, io *IO, opts *uiOptions) error {
	runs, err := findRuns(opts.Dir)
	if err != nil {
		return err
	}
	token, err := webui.NewToken()
	if err != nil {
		return err
	}
	srv := webui.New(webui.Options{Runs: runs, Token: token})
	url, stop, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	url += "?token=" + token
	defer stop()
	fmt.Fprintf(io.Err, "gantry: the runs of %s: %s (Ctrl-C to stop)\n", filepath.Dir(filepath.Dir(runs)), url)
	if opts.Open {
		openBrowser(io, url)
	}
	<-ctx.Done()
	return nil
}

// findRuns is the .gantry/runs of dir, or of the nearest directory above
// it that has one.
func findRuns(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		runs := filepath.Join(d, ".gantry", "runs")
		if fi, err := os.Stat(runs); err == nil && fi.IsDir() {
			return runs, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", usagef("no run records in %s or above it (.gantry/runs): gantry run writes them", abs)
}

// openBrowser opens url in the desktop's browser; failing, it says so
// (the address is printed anyway).
func openBrowser(io *IO, url string) {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name = "explorer"
	}
	if b := os.Getenv("BROWSER"); b != "" {
		name = b
	}
	cmd := exec.Command(name, url)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(io.Err, "gantry: warning: could not open a browser (%v); open %s\n", err, url)
		return
	}
	go cmd.Wait()
}

// webView is gantry run --ui's server; nil without --ui, when runs are
// only recorded.
type webView struct {
	srv    *webui.Server
	stop   func()
	url    string
	open   bool
	opened bool
	io     *IO
}

// webViewHolder keeps --ui's server for the next run of a --watch, which
// shows in the same page.
type webViewHolder struct{ view *webView }

// startUI serves the run's page when --ui asks for it (the server of the
// watch's first run, for the next ones).
func (o *runOptions) startUI(ctx context.Context, io *IO, root string, m *runner.Masker) (*webView, error) {
	switch o.UI {
	case "":
		return nil, nil
	case "on", "open":
	default:
		return nil, usagef("--ui=%q: use --ui, or --ui=open to open the browser too", o.UI)
	}
	if o.DryRun {
		return nil, nil
	}
	if o.view != nil && o.view.view != nil {
		return o.view.view, nil
	}
	token, err := webui.NewToken()
	if err != nil {
		return nil, err
	}
	srv := webui.New(webui.Options{Runs: filepath.Join(root, ".gantry", "runs"), Masker: m, Token: token})
	url, stop, err := srv.Listen(ctx)
	if err != nil {
		return nil, err
	}
	url += "?token=" + token
	fmt.Fprintf(io.Err, "gantry: the run's page: %s\n", url)
	v := &webView{srv: srv, stop: stop, url: url, open: o.UI == "open", io: io}
	if o.view != nil {
		o.view.view = v
	}
	return v, nil
}

// record starts the record of a run of p (its events and DAG, for gantry
// ui), shown live when the view is on.
func (v *webView) record(io *IO, p *dag.Pipeline, dir, root string, m *runner.Masker) (*webui.Recorder, error) {
	rec, err := webui.NewRecorder(p, webui.RecorderOptions{Dir: dir, Source: root, Keep: v != nil, Masker: m})
	if err != nil {
		return nil, fmt.Errorf("the run's record: %w", err)
	}
	if v != nil {
		v.srv.Add(rec)
		if v.open && !v.opened {
			v.opened = true
			openBrowser(io, v.url)
		}
	}
	return rec, nil
}

// finish ends a record; a run that was not triggered leaves none.
func finishRecord(rec *webui.Recorder, dir string, res *runner.Result) error {
	err := rec.Finish(res)
	if res != nil && !res.Triggered {
		return errors.Join(err, os.RemoveAll(dir))
	}
	return err
}

func (v *webView) close() {
	if v != nil {
		v.stop()
		fmt.Fprintln(v.io.Err, "gantry: the run's page stopped with the run; gantry ui shows its record")
	}
}
