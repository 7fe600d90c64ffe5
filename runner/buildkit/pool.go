package buildkit

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	digest "github.com/opencontainers/go-digest"
)

// buildSession is an open BuildKit session: a Build whose callback waits
// until the session is cancelled, so that a node's steps can be solved in
// it one by one. It serves one node.
type buildSession struct {
	gw      gateway.Client
	dirs    *dirSource
	secrets *secretStore
	auth    *registryAuth
	unique  string
	stores  string // which content stores it has (storesKey)
	// remote are the node's cache imports and exports (nil: none); a
	// session with some serves the node it was opened for.
	remote *nodeCaches
	// result, sent once, ends the session's build with what its cache
	// exports take (see workspace.exportCache).
	result chan *gateway.Result
	cancel context.CancelCauseFunc
	done   chan struct{}

	buildErr error

	// The running steps' output, routed from the session's status by
	// their exec ops' names (background steps run beside the others).
	mu      sync.Mutex
	names   map[digest.Digest]string
	streams map[string]*stream
	// importErrs are the cache imports whose failure was reported.
	importErrs map[string]bool
}

// stream is where a running step's output goes, and how much of it went.
type stream struct {
	out      [3]io.Writer // stdout, stderr
	streamed [3]int64
}

// listen routes the output of the exec op called name to stdout and
// stderr until the returned function is called; that returns how many
// bytes of each were routed.
func (s *buildSession) listen(name string, stdout, stderr io.Writer) func() [3]int64 {
	st := &stream{out: [3]io.Writer{nil, stdout, stderr}}
	s.mu.Lock()
	if s.streams == nil {
		s.streams = map[string]*stream{}
	}
	s.streams[name] = st
	s.mu.Unlock()
	return func() [3]int64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.streams, name)
		return st.streamed
	}
}

// storesKey names a set of content stores.
func storesKey(stores map[string]content.Store) string {
	keys := make([]string, 0, len(stores))
	for k := range stores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// spareSessions is how many sessions are kept open ahead: two, so that
// both nodes of a matrix of two (or a job and its neighbour) find one.
const spareSessions = 2

// session gives a node an open session with these content stores: a spare
// one opened while earlier nodes ran, when one has them, else a new one;
// then it opens the next spare in the background. Opening a session costs
// 35-45 ms, which nodes after the first thus do not wait for.
func (e *Executor) session(ctx context.Context, stores map[string]content.Store, caches *nodeCaches) (*buildSession, error) {
	if caches != nil {
		// The caches are the node's own: no spare has them.
		return e.openSession(ctx, stores, caches)
	}
	key := storesKey(stores)
	var s, stale *buildSession
	e.spareMu.Lock()
	if i := slices.IndexFunc(e.spares, func(s *buildSession) bool { return s.stores == key }); i >= 0 {
		s = e.spares[i]
		e.spares = slices.Delete(e.spares, i, i+1)
	} else if len(e.spares) == spareSessions {
		// Spares of other images than this run's nodes ask for now: the
		// oldest makes room for one of these.
		stale, e.spares = e.spares[0], e.spares[1:]
	}
	e.spareMu.Unlock()
	if stale != nil {
		e.refills.Go(stale.close)
	}
	if s == nil {
		var err error
		if s, err = e.openSession(ctx, stores, nil); err != nil {
			return nil, err
		}
	}
	e.refills.Add(1)
	go func() {
		defer e.refills.Done()
		e.spareMu.Lock()
		busy := e.closing || len(e.spares)+e.filling >= spareSessions
		if !busy {
			e.filling++
		}
		e.spareMu.Unlock()
		if busy {
			return
		}
		spare, err := e.openSession(context.Background(), stores, nil)
		e.spareMu.Lock()
		e.filling--
		if err != nil {
			e.spareMu.Unlock()
			return
		}
		if e.closing || len(e.spares) >= spareSessions {
			e.spareMu.Unlock()
			spare.close()
			return
		}
		e.spares = append(e.spares, spare)
		e.spareMu.Unlock()
		// The next node may take it meanwhile: its solves share what this
		// one started.
		e.warm(spare)
	}()
	return s, nil
}

// openSession opens a session and waits until it can solve.
func (e *Executor) openSession(ctx context.Context, stores map[string]content.Store, caches *nodeCaches) (*buildSession, error) {
	s := &buildSession{dirs: &dirSource{}, secrets: &secretStore{}, auth: newRegistryAuth(), unique: identity.NewID(), stores: storesKey(stores),
		remote: caches, result: make(chan *gateway.Result, 1), done: make(chan struct{})}
	sessionCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	s.cancel = cancel
	ready := make(chan error, 1)
	status := make(chan *client.SolveStatus)
	opt := client.SolveOpt{
		Session:   []session.Attachable{filesync.NewFSSyncProvider(s.dirs), secretsprovider.NewSecretProvider(s.secrets), s.auth.attachable()},
		OCIStores: stores,
		Ref:       "gantry-" + s.unique,
	}
	if caches != nil {
		opt.CacheImports, opt.CacheExports = caches.imports, caches.exports
		// Not nil: the client copies the imports into it (and panics on
		// a nil map, as of v0.34.2).
		opt.FrontendAttrs = map[string]string{}
	}
	if e.progress != nil {
		e.routes.Add(1)
	}
	go s.route(e, status)
	go func() {
		defer close(s.done)
		_, err := e.c.Build(sessionCtx, opt, "gantry", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
			s.gw = gw
			ready <- nil
			select {
			case <-ctx.Done():
				return gateway.NewResult(), nil
			case res := <-s.result:
				return res, nil
			}
		}, status)
		s.buildErr = err
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.close()
			return nil, err
		}
	case <-ctx.Done():
		s.close()
		return nil, ctx.Err()
	}
	return s, nil
}

// close ends the session and waits for it.
func (s *buildSession) close() {
	s.cancel(errors.New("session closed"))
	<-s.done
}

// route passes the running step's output, as BuildKit reports it, to the
// step's writers (and everything to the progress display).
func (s *buildSession) route(e *Executor, status chan *client.SolveStatus) {
	if e.progress != nil {
		defer e.routes.Done()
	}
	for st := range status {
		if e.progress != nil {
			e.progress <- st
		}
		s.mu.Lock()
		for _, v := range st.Vertexes {
			if s.names == nil {
				s.names = map[digest.Digest]string{}
			}
			s.names[v.Digest] = v.Name
			// BuildKit goes on without a cache it could not import, and
			// says so only in the vertex: a notice, once a cache.
			if s.remote != nil && v.Error != "" && strings.HasPrefix(v.Name, importVertexPrefix) {
				if s.importErrs == nil {
					s.importErrs = map[string]bool{}
				}
				if !s.importErrs[v.Name] {
					s.importErrs[v.Name] = true
					e.notice(s.remote.node, "cache: nothing imported from %s: %s", strings.TrimPrefix(v.Name, importVertexPrefix), briefError(v.Error))
				}
			}
		}
		s.mu.Unlock()
		for _, l := range st.Logs {
			if l.Stream != 1 && l.Stream != 2 {
				continue
			}
			s.mu.Lock()
			if st := s.streams[s.names[l.Vertex]]; st != nil && st.out[l.Stream] != nil {
				st.out[l.Stream].Write(l.Data)
				st.streamed[l.Stream] += int64(len(l.Data))
			}
			s.mu.Unlock()
		}
	}
}

// warm sends the repository the last node copied to a spare session and
// copies it as a node's workspace does (a root's, see prepare), so that
// the next node's first step does not wait for that: 10-40 ms a node on
// the bench's pipeline. What it solved the node's solve finds done.
func (e *Executor) warm(s *buildSession) {
	e.sourcesMu.Lock()
	src, fs := e.lastSource, e.sources[e.lastSource]
	e.sourcesMu.Unlock()
	if fs == nil {
		return
	}
	s.dirs.add("workspace", fs)
	def, err := sourceCopy(llb.Scratch(), src, e.sourceID, "/", &llb.CopyInfo{CopyDirContentsOnly: true}).Marshal(context.Background(), llb.LocalUniqueID(s.unique))
	if err != nil {
		return
	}
	_, _ = s.gw.Solve(context.Background(), gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true})
}
