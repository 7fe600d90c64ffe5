package buildkit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	// Registered connection helpers: docker-container://, kube-pod://,
	// podman-container://, nerdctl-container:// and ssh:// addresses.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)

// DefaultAddr is where buildkitd listens when it runs as root with its
// defaults.
const DefaultAddr = "unix:///run/buildkit/buildkitd.sock"

// Options configure an Executor. The zero value connects to BUILDKIT_HOST,
// or DefaultAddr.
type Options struct {
	// Addr is the daemon's address: unix://PATH, tcp://HOST:PORT,
	// docker-container://NAME, kube-pod://POD, podman-container://NAME,
	// ssh://USER@HOST. Default: $BUILDKIT_HOST, then DefaultAddr.
	Addr string
	// TLS configures tcp:// connections; empty fields are not used.
	TLS TLS
	// Images maps runs-on labels to images (-P label=image); the label
	// "default" serves nodes with no image and no mapped label. A key that
	// is an image name maps that image wherever it is named (a job's
	// image, a service's, a docker:// step's, a Dockerfile's FROM), by
	// normalised name: "alpine" serves alpine:latest and
	// docker.io/library/alpine. Images are registry references,
	// oci-layout://DIR[:TAG] or rootfs://DIR.
	Images map[string]string
	// Pinned maps registry images, by normalised name
	// (docker.io/library/alpine:3), to the references by digest they are
	// pulled as (gantry run --locked: the digests gantry.lock recorded),
	// wherever they are named, -P's mappings included.
	Pinned map[string]string
	// Secrets are the run's secrets by name, for the registry passwords
	// of container.credentials.
	Secrets map[string]string
	// CacheImports and CacheExports are BuildKit cache backends shared
	// with other engines (--cache-from, --cache-to): each node imports
	// and exports its own entry in them (see nodeCacheKey), and exports
	// only the steps that may be shared (see workspace.shared).
	CacheImports, CacheExports []CacheOption
	// NoCache runs every step, as if nothing were cached.
	NoCache bool
	// StateDir is where the executor remembers which steps failed, so that
	// they are not cache hits on the next run. Default:
	// $XDG_CACHE_HOME/gantry/buildkit.
	StateDir string
	// Progress receives BuildKit's own progress display of every solve
	// (vertices, cache hits, transfers) in ProgressMode: "tty", "plain",
	// "rawjson" or "auto"; nil or "quiet" shows none.
	Progress     io.Writer
	ProgressMode string
	// Notice receives the executor's messages for the user about a node
	// (which image it runs in, and why); nil drops them.
	Notice func(nodeID, message string)
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// TLS holds the certificate files for a tcp:// daemon.
type TLS struct {
	// ServerName overrides the name checked in the daemon's certificate.
	ServerName string
	// CA is the CA certificate that signed the daemon's certificate.
	CA string
	// Cert and Key are the client's certificate and key.
	Cert, Key string
}

// Executor runs nodes on a BuildKit daemon. It is safe for concurrent use.
type Executor struct {
	c        *client.Client
	addr     string
	opts     Options
	failures *failures
	log      *slog.Logger
	sealOnce sync.Once
	sealKey  []byte
	// localExport lets one node's cache export to a type=local directory
	// run at a time: BuildKit's client takes the directory's index lock
	// without waiting, and fails the export of a node that ends while
	// another one's is being written.
	localExport sync.Mutex
	// exportsOff is set once the daemon could not set up the cache
	// exports: the nodes after that export nothing rather than each
	// waiting for the same refusal (see prepare).
	exportsOff atomic.Bool

	// spares are sessions opened ahead for the next nodes; filling counts
	// those being opened (see session).
	spareMu sync.Mutex
	spares  []*buildSession
	filling int
	closing bool
	refills sync.WaitGroup

	// sources are the repositories' listings (see sourceFS); lastSource
	// is the one a node asked for last (see warm).
	sourcesMu  sync.Mutex
	sources    map[string]fsutil.FS
	lastSource string
	// sourceID is the local unique id of the repository's local source in
	// every node's definition: the same op in every session, so that the
	// daemon sends the repository once a run, the nodes after the first
	// sharing the transfer while a session that made it is open (see
	// sourceCopy).
	sourceID string

	// mapped are the -P images by normalised name (see mapImage).
	mappedOnce sync.Once
	mapped     map[string]string

	// reported are the messages given once (see reportOnce).
	reported sync.Map

	// layouts are the OCI layouts made from rootfs:// directories.
	layoutMu sync.Mutex
	layouts  map[string]string

	// progress feeds the progress display; routes counts the sessions
	// still sending to it.
	progress chan *client.SolveStatus
	routes   sync.WaitGroup
	shown    chan error
}

// New connects to the daemon and checks that it answers.
func New(ctx context.Context, opts Options) (*Executor, error) {
	if err := checkCaches(opts.CacheExports); err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = os.Getenv("BUILDKIT_HOST")
	}
	if addr == "" {
		addr = DefaultAddr
	}
	var copts []client.ClientOpt
	if opts.TLS.CA != "" {
		copts = append(copts, client.WithServerConfig(opts.TLS.ServerName, opts.TLS.CA))
	}
	if opts.TLS.Cert != "" || opts.TLS.Key != "" {
		copts = append(copts, client.WithCredentials(opts.TLS.Cert, opts.TLS.Key))
	}
	c, err := client.New(ctx, addr, copts...)
	if err != nil {
		return nil, fmt.Errorf("buildkit at %s: %w", addr, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	workers, err := c.ListWorkers(pingCtx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("no BuildKit daemon answers at %s (set BUILDKIT_HOST or --addr, or start buildkitd): %w", addr, err)
	}
	if len(workers) == 0 {
		c.Close()
		return nil, fmt.Errorf("the BuildKit daemon at %s has no worker", addr)
	}
	if opts.StateDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		opts.StateDir = filepath.Join(dir, "gantry", "buildkit")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Executor{c: c, addr: addr, opts: opts, failures: loadFailures(filepath.Join(opts.StateDir, "failed-steps")), log: log, sourceID: identity.NewID()}
	if opts.Progress != nil && opts.ProgressMode != "" && opts.ProgressMode != string(progressui.QuietMode) {
		d, err := progressui.NewDisplay(opts.Progress, progressui.DisplayMode(opts.ProgressMode))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("progress %q: %w", opts.ProgressMode, err)
		}
		e.progress, e.shown = make(chan *client.SolveStatus, 256), make(chan error, 1)
		go func() {
			_, err := d.UpdateFrom(context.Background(), e.progress)
			e.shown <- err
		}()
	}
	return e, nil
}

// Name is "buildkit".
func (e *Executor) Name() string { return "buildkit" }

// seal is v's HMAC-SHA256 under the executor's own key, kept in StateDir
// (made on first use, readable by its owner only).
func (e *Executor) seal(v string) string {
	e.sealOnce.Do(func() {
		path := filepath.Join(e.opts.StateDir, "cache-key")
		key, err := os.ReadFile(path)
		if err != nil || len(key) < 32 {
			key = make([]byte, 32)
			rand.Read(key)
			if os.MkdirAll(e.opts.StateDir, 0o700) == nil {
				os.WriteFile(path, key, 0o600)
			}
		}
		e.sealKey = key
	})
	m := hmac.New(sha256.New, e.sealKey)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// StateDir is where the executor remembers failed steps.
func (e *Executor) StateDir() string { return e.opts.StateDir }

// Addr is the daemon's address.
func (e *Executor) Addr() string { return e.addr }

// Client is the connection to the daemon, for callers that ask it more
// (disk usage, running containers).
func (e *Executor) Client() *client.Client { return e.c }

// Close saves what the executor learnt and closes the connection.
func (e *Executor) Close() error {
	e.spareMu.Lock()
	e.closing = true
	e.spareMu.Unlock()
	e.refills.Wait()
	var closing sync.WaitGroup
	for _, s := range e.spares {
		closing.Go(s.close)
	}
	closing.Wait()
	e.spares = nil
	var shown error
	if e.progress != nil {
		e.routes.Wait()
		close(e.progress)
		shown = <-e.shown
		e.progress = nil
	}
	return errors.Join(e.failures.save(), shown, e.c.Close())
}

func (e *Executor) notice(nodeID, format string, args ...any) {
	if e.opts.Notice != nil {
		e.opts.Notice(nodeID, fmt.Sprintf(format, args...))
	}
}

// shortName is a step's name in BuildKit's progress: the node and the
// command, one line.
func shortName(nodeID string, step int, argv []string) string {
	cmd := strings.Join(argv, " ")
	if i := strings.IndexByte(cmd, '\n'); i >= 0 {
		cmd = cmd[:i] + " …"
	}
	if len(cmd) > 80 {
		cmd = cmd[:79] + "…"
	}
	return fmt.Sprintf("[%s] #%d %s", nodeID, step, cmd)
}

var _ io.Closer = (*Executor)(nil)
