package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/providers/github"
	"github.com/gantry-ci/gantry/translate"
	"github.com/spf13/cobra"
)

type lockOptions struct {
	GitHub     githubFlags
	ActionDirs []string
	Source     sourceFlags
}

func newLockCmd(io *IO) *cobra.Command {
	opts := &lockOptions{}
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Write gantry.lock: the commits and hashes of every remote action and reusable workflow",
		Long: `Lock resolves every remote action and reusable workflow the repository's
pipelines use (GitHub workflows and DAGs under .gantry/pipelines) to the
commit its ref names now, fetches it into the cache, and writes gantry.lock
with the commit and a hash of its content, plus the images the pipelines
name (local images with a hash of what they hold).

gantry run --locked then uses exactly those commits, checks their content
against the hashes, and works offline from the cache; a plain gantry run
warns when gantry.lock is stale.`,
		Example: `  gantry lock
  gantry run --locked --offline`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLock(cmd.Context(), io, opts)
		},
	}
	opts.GitHub.register(cmd)
	cmd.Flags().StringArrayVar(&opts.ActionDirs, "action-dir", nil, "OWNER/REPO@REF=PATH: use a local checkout for an action (repeatable)")
	opts.Source.register(cmd)
	return cmd
}

func runLock(ctx context.Context, io *IO, opts *lockOptions) error {
	remote, err := opts.GitHub.remote(opts.Source.Offline, opts.ActionDirs)
	if err != nil {
		return err
	}
	topts, err := opts.Source.options("")
	if err != nil {
		return err
	}
	var lock translate.Lock
	var mu sync.Mutex
	var firstErr error
	record := func(uses string) (string, error) {
		dir, sha, err := remote.Action(ctx, uses)
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", uses, err)
			}
			mu.Unlock()
			return "", err
		}
		h, err := translate.TreeHash(dir)
		if err != nil {
			return "", err
		}
		mu.Lock()
		lock.Actions = append(lock.Actions, translate.LockedAction{Uses: uses, SHA: sha, Hash: h})
		mu.Unlock()
		return dir, nil
	}
	topts.Actions = record
	topts.Included = func(kind, ref string, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		lock.Includes = append(lock.Includes, translate.LockedInclude{Kind: kind, Ref: ref, Hash: translate.ContentHash(data)})
		return nil
	}
	files := discover(opts.Source.Dir)
	if len(files) == 0 {
		return usagef("no pipeline found in %s", opts.Source.Dir)
	}
	pipelines, err := load(ctx, io, files, topts)
	if err != nil {
		return err
	}
	for _, p := range pipelines {
		// Actions kept as references (JavaScript ones) are locked too.
		for _, n := range p.Nodes {
			for _, s := range n.Steps {
				if remoteUses(s.Uses) {
					record(s.Uses)
				}
			}
			if remoteUses(n.Uses) {
				record(n.Uses)
			}
		}
		lock.AddImages(p)
	}
	if firstErr != nil {
		return firstErr
	}
	var b bytes.Buffer
	if err := lock.Write(&b); err != nil {
		return err
	}
	path := filepath.Join(opts.Source.Dir, translate.LockFile)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "%s: %d actions and workflows, %d remote includes, %d images\n", path, len(lock.Actions), len(lock.Includes), len(lock.Images))
	return nil
}

// remoteUses says whether a uses: names a remote GitHub action or
// reusable workflow that gantry fetches.
func remoteUses(uses string) bool {
	if uses == "" || strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "docker://") || strings.Contains(uses, "${{") || !strings.Contains(uses, "@") {
		return false
	}
	if dag.BuiltinAction(uses) {
		return false
	}
	name, _, _ := strings.Cut(uses, "@")
	return strings.Count(name, "/") >= 1
}

// lockedIncludes checks the remote files a run includes against the lock:
// with locked, each must be in it with the same content; otherwise a
// changed one is a warning.
func lockedIncludes(lock *translate.Lock, locked bool, warn func(string)) func(kind, ref string, data []byte) error {
	return func(kind, ref string, data []byte) error {
		entry, ok := lock.Include(kind, ref)
		h := translate.ContentHash(data)
		switch {
		case locked && !ok:
			return fmt.Errorf("not in gantry.lock: run gantry lock")
		case locked && entry.Hash != h:
			return fmt.Errorf("its content (%s) is not what gantry.lock says (%s); run gantry lock again if that is expected", h, entry.Hash)
		case ok && entry.Hash != h:
			warn(fmt.Sprintf("gantry.lock is stale: include:%s %s changed (run gantry lock, or gantry run --locked)", kind, ref))
		}
		return nil
	}
}

// lockedActions resolves actions for a run: with locked, exactly the
// commits of gantry.lock, their content checked against its hashes;
// otherwise as the refs name them now, with one warning per action whose
// commit differs from the lock's.
func lockedActions(remote *github.Remote, lock *translate.Lock, locked bool, warn func(string)) func(ctx context.Context, uses string) (string, error) {
	var mu sync.Mutex
	warned := map[string]bool{}
	return func(ctx context.Context, uses string) (string, error) {
		entry, inLock := lock.Action(uses)
		if !locked {
			dir, sha, err := remote.Action(ctx, uses)
			if err == nil && inLock && sha != entry.SHA {
				mu.Lock()
				if !warned[uses] {
					warned[uses] = true
					warn(fmt.Sprintf("gantry.lock is stale: %s now names %s, the lock says %s (run gantry lock, or gantry run --locked)", uses, sha, entry.SHA))
				}
				mu.Unlock()
			}
			return dir, err
		}
		if !inLock {
			return "", fmt.Errorf("%s is not in gantry.lock: run gantry lock", uses)
		}
		spec, _, _ := strings.Cut(uses, "@")
		dir, _, err := remote.Action(ctx, spec+"@"+entry.SHA)
		if err != nil {
			return "", err
		}
		h, err := translate.TreeHash(dir)
		if err != nil {
			return "", err
		}
		if h != entry.Hash {
			return "", fmt.Errorf("%s at %s does not match gantry.lock's hash (%s, found %s): the cache or the repository changed; run gantry lock again if that is expected", uses, entry.SHA, entry.Hash, h)
		}
		return dir, nil
	}
}
