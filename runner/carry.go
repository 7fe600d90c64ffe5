package runner

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// carried is the run's artifacts that an engine carries between nodes
// (see ArtifactCarrier), by name, in the order they were uploaded.
type carried struct {
	mu     sync.Mutex
	byName map[string][]*kept
	// exports are the host copies being written.
	exports sync.WaitGroup
}

// kept is one upload an engine carries.
type kept struct {
	from string // the node that uploaded it
	a    CarriedArtifact
	// copied is closed once the host copy is written.
	copied chan struct{}
}

// keep records an upload the engine carries and writes its host copy in
// the background, after the earlier uploads of the same name: on the
// host a later upload of a name is copied over the earlier ones.
func (r *run) keep(from, name string, a CarriedArtifact) {
	k := &kept{from: from, a: a, copied: make(chan struct{})}
	c := &r.carried
	c.mu.Lock()
	if c.byName == nil {
		c.byName = map[string][]*kept{}
	}
	var prev *kept
	if ks := c.byName[name]; len(ks) > 0 {
		prev = ks[len(ks)-1]
	}
	c.byName[name] = append(c.byName[name], k)
	c.mu.Unlock()
	c.exports.Add(1)
	go func() {
		defer c.exports.Done()
		defer close(k.copied)
		if prev != nil {
			<-prev.copied
		}
		// Not the node's context: the node ends before its copy does.
		if err := a.Export(context.Background(), r.artifactDir("_named", name)); err != nil {
			r.opts.Reporter.Line(from, "gantry", r.opts.Masker.Mask(fmt.Sprintf("artifact %q: not copied to the run's record: %v", name, err)))
		}
	}()
}

// carriedAs is the uploads of name the engine carries.
func (r *run) carriedAs(name string) []*kept {
	r.carried.mu.Lock()
	defer r.carried.mu.Unlock()
	return slices.Clone(r.carried.byName[name])
}

// endCarried waits for the host copies, then lets the engine drop what it
// carried: once the run's nodes are done, none will take it.
func (r *run) endCarried() {
	r.carried.exports.Wait()
	r.carried.mu.Lock()
	defer r.carried.mu.Unlock()
	for _, ks := range r.carried.byName {
		for _, k := range ks {
			k.a.Release()
		}
	}
	r.carried.byName = nil
}

// uploadArtifact keeps the files the globs match and the excludes do not,
// at their paths relative to the deepest directory common to the globs,
// as the artifact name: carried by the engine when the workspace's can,
// else copied to the host. It returns how many files matched, and whether
// the engine carries them.
func (j *job) uploadArtifact(ctx context.Context, name string, globs, excludes []string) (int, bool, error) {
	if ca, ok := j.ws.(ArtifactCarrier); ok {
		fsys, err := ca.ListFiles(ctx, exportPatterns(globs))
		if err != nil {
			return 0, false, err
		}
		base := commonBase(fsys, globs)
		sub := fsys
		if base != "" {
			if sub, err = fs.Sub(fsys, base); err != nil {
				return 0, false, err
			}
		}
		files, err := matchGlobs(sub, base, relGlobs(base, globs), excludes)
		if err != nil || len(files) == 0 {
			return 0, false, err
		}
		unique := slices.Clone(files)
		slices.Sort(unique)
		a, err := ca.CarryArtifact(ctx, base, slices.Compact(unique))
		if err != nil {
			return 0, false, err
		}
		if a != nil {
			j.r.keep(j.n.ID, name, a)
			return len(files), true, nil
		}
	}
	root, err := j.hostRoot(ctx, globs)
	if err != nil {
		return 0, false, err
	}
	base := commonBase(os.DirFS(root), globs)
	count, err := copyGlobsUnder(root, base, relGlobs(base, globs), excludes, j.r.artifactDir("_named", name))
	return count, false, err
}

// relGlobs are the globs relative to base, a directory they all lie in.
func relGlobs(base string, globs []string) []string {
	rel := make([]string, len(globs))
	for i, g := range globs {
		rel[i] = strings.TrimPrefix(strings.TrimPrefix(filepath.ToSlash(filepath.Clean(g)), base), "/")
		if rel[i] == "" {
			rel[i] = "."
		}
	}
	return rel
}

// downloadArtifact puts the artifact name (every artifact of the run, each
// in a directory of its name, when name is "") at dst in the workspace:
// from the engine when it carries it and the workspace can take it from
// there, else from the host copy (this run's, or else the earlier run's
// whose jobs stand for needs not run).
func (j *job) downloadArtifact(ctx context.Context, name, dst string) error {
	r := j.r
	if name != "" {
		if ok, err := j.takeCarried(ctx, name, dst); ok || err != nil {
			return err
		}
		src, ok := r.uploaded(name)
		if !ok {
			return fmt.Errorf("download-artifact: no artifact %q was uploaded in this run", name)
		}
		return j.putInto(ctx, src, dst)
	}
	root := filepath.Join(r.opts.RunDir, "artifacts", "_named")
	r.carried.mu.Lock()
	names := slices.Collect(maps.Keys(r.carried.byName))
	r.carried.mu.Unlock()
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		if ok, err := j.takeCarried(ctx, name, filepath.Join(dst, name)); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if err := j.putInto(ctx, filepath.Join(root, name), filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	return nil
}

// takeCarried puts the uploads of name the engine carries at dst when the
// workspace can take them from the engine. When it cannot, it waits for
// their host copy and returns false.
func (j *job) takeCarried(ctx context.Context, name, dst string) (bool, error) {
	ks := j.r.carriedAs(name)
	if len(ks) == 0 {
		return false, nil
	}
	if ca, ok := j.ws.(ArtifactCarrier); ok {
		var from []string
		for _, k := range ks {
			took, err := ca.TakeArtifact(ctx, k.a, dst)
			if err != nil {
				return false, err
			}
			if !took {
				from = nil
				break
			}
			from = append(from, k.from)
		}
		if from != nil {
			j.say("download-artifact: %q taken from the engine as %s left it, not through the host", name, strings.Join(slices.Compact(from), ", "))
			return true, nil
		}
	}
	for _, k := range ks {
		select {
		case <-k.copied:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return false, nil
}

// exportPatterns are the globs an executor selects files by: without
// excludes, cleaned, relative.
func exportPatterns(globs []string) []string {
	var patterns []string
	for _, g := range globs {
		if !strings.HasPrefix(g, "!") {
			patterns = append(patterns, strings.TrimPrefix(filepath.ToSlash(filepath.Clean(g)), "./"))
		}
	}
	return patterns
}
