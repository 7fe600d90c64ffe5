package lock

import (
	"context"
	"fmt"
	"sync"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// Recorder builds a lock while pipelines are translated (gantry lock):
// its Action and Include methods go into the translation's options
// (translate.Options.Actions and Included), Pipeline then adds what the
// translated pipeline names itself. It is safe for concurrent use.
type Recorder struct {
	fetch Fetcher

	mu   sync.Mutex
	file File
	err  error
	// dirs are the actions recorded so far: a matrix names the same one in
	// every node, and it is fetched and hashed once.
	dirs map[string]string
}

// NewRecorder makes a Recorder that fetches actions through fetch.
func NewRecorder(fetch Fetcher) *Recorder {
	return &Recorder{fetch: fetch}
}

// Action fetches uses, records its commit and the hash of its tree, and
// returns its directory.
func (r *Recorder) Action(ctx context.Context, uses string) (string, error) {
	r.mu.Lock()
	dir, done := r.dirs[uses]
	r.mu.Unlock()
	if done {
		return dir, nil
	}
	dir, sha, err := r.fetch.Action(ctx, uses)
	var h string
	if err == nil {
		h, err = TreeHash(dir)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("%s: %w", uses, err)
		}
		return "", err
	}
	if _, done := r.dirs[uses]; !done {
		if r.dirs == nil {
			r.dirs = map[string]string{}
		}
		r.dirs[uses] = dir
		r.file.Actions = append(r.file.Actions, Action{Uses: uses, SHA: sha, Hash: h})
	}
	return dir, nil
}

// Include records an included file: where it was read and its hash.
func (r *Recorder) Include(f gitlab.Fetched) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.file.Includes = append(r.file.Includes, Include{Kind: f.Kind, Ref: f.Key, Instance: f.Instance, Project: f.Project, Commit: f.Commit, Path: f.Path, Hash: ContentHash(f.Data)})
	return nil
}

// Pipeline records what a translated pipeline uses that its translation
// did not fetch: the remote actions kept as references (JavaScript ones)
// and the images.
func (r *Recorder) Pipeline(ctx context.Context, p *dag.Pipeline) {
	for _, n := range p.Nodes {
		for _, s := range n.Steps {
			if dag.RemoteAction(s.Uses) {
				r.Action(ctx, s.Uses)
			}
		}
		if dag.RemoteAction(n.Uses) {
			r.Action(ctx, n.Uses)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.file.AddImages(p)
}

// File returns the lock recorded so far, or the first error fetching an
// action.
func (r *Recorder) File() (*File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	f := r.file
	return &f, nil
}
