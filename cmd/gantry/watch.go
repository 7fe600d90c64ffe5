package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchRun runs the pipelines, then again each time a file of the
// repository changes (act's -w), until interrupted. A failed run does not
// end the watch; a usage error does.
func watchRun(ctx context.Context, io *IO, opts *runOptions) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("--watch: %w", err)
	}
	defer w.Close()
	root := opts.Source.Dir
	if !opts.Source.cmd.Flags().Changed("dir") && len(opts.Files) > 0 {
		root = projectRoot(opts.Files[0])
	}
	if err := watchTree(w, root); err != nil {
		return fmt.Errorf("--watch %s: %w", root, err)
	}
	for {
		o := opts.clone()
		err := runRun(ctx, io, &o)
		var ue usageError
		switch {
		case errors.As(err, &ue), ctx.Err() != nil:
			return err
		case err != nil:
			report(io, err, false)
		}
		fmt.Fprintf(io.Err, "gantry: watching %s for changes (Ctrl-C to stop)\n", root)
		changed, err := nextChange(ctx, w, root)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.Err, "gantry: %s changed: running again\n", changed)
	}
}

// skipDir names the directories a watch leaves out: git's, gantry's own
// records, and dependency trees.
func skipDir(name string) bool {
	return name == ".git" || name == ".gantry" || name == "node_modules"
}

// watchTree watches root and every directory under it (fsnotify watches
// one directory at a time).
func watchTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		return w.Add(p)
	})
}

// nextChange waits for a change under root and for the burst of events it
// comes with to settle (an editor writes a file in several steps), and
// returns the first path that changed.
func nextChange(ctx context.Context, w *fsnotify.Watcher, root string) (string, error) {
	first := ""
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case err := <-w.Errors:
			return "", fmt.Errorf("--watch: %w", err)
		case ev := <-w.Events:
			rel, _ := filepath.Rel(root, ev.Name)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			if slices.ContainsFunc(parts, skipDir) || ev.Op == fsnotify.Chmod {
				continue
			}
			if ev.Op&fsnotify.Create != 0 {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = watchTree(w, ev.Name)
				}
			}
			if first == "" {
				first = rel
			}
			settle = time.After(300 * time.Millisecond)
		case <-settle:
			return first, nil
		}
	}
}

// clone copies the options for one run of a watch: runRun adds to their
// lists (jobs from bare words, inputs from files).
func (o *runOptions) clone() runOptions {
	c := *o
	c.Files, c.Workflows, c.Jobs = slices.Clone(o.Files), slices.Clone(o.Workflows), slices.Clone(o.Jobs)
	c.Inputs, c.Vars, c.Secrets, c.Env = slices.Clone(o.Inputs), slices.Clone(o.Vars), slices.Clone(o.Secrets), slices.Clone(o.Env)
	c.Source.Vars = slices.Clone(o.Source.Vars)
	return c
}
