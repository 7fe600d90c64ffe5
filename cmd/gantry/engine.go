package main

import (
	"cmp"
	"context"
	gojson "encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/host"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// engineFlags choose and configure the BuildKit engine.
type engineFlags struct {
	Addr     string
	TLS      buildkit.TLS
	Images   []string
	NoCache  bool
	Progress string
	// CacheFrom and CacheTo are BuildKit cache backends shared with
	// other engines (--cache-from, --cache-to).
	CacheFrom, CacheTo []string
	// secrets are the run's, for container.credentials' passwords;
	// pinned the images --locked pulls by digest.
	secrets map[string]string
	pinned  map[string]string
	// pipelines are the run's, whose run: settings give the caches when
	// neither the flags nor the environment do.
	pipelines []*dag.Pipeline
	// cacheSecrets are the credentials the cache options carry, which
	// connect finds: the run masks them.
	cacheSecrets []string
}

func (f *engineFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Addr, "addr", "", "the BuildKit daemon: unix://, tcp://, docker-container://, kube-pod://, ... (default $BUILDKIT_HOST, then "+buildkit.DefaultAddr+")")
	fl.StringVar(&f.TLS.CA, "tlscacert", "", "CA certificate of a tcp:// daemon")
	fl.StringVar(&f.TLS.Cert, "tlscert", "", "client certificate for a tcp:// daemon")
	fl.StringVar(&f.TLS.Key, "tlskey", "", "client key for a tcp:// daemon")
	fl.StringVar(&f.TLS.ServerName, "tlsservername", "", "the name in the daemon's certificate, when not the address's host")
	fl.StringArrayVarP(&f.Images, "platform", "P", nil, "LABEL=IMAGE: the image for a runs-on label, or in place of an image named by a job, service, docker:// step or Dockerfile FROM (alpine maps alpine:latest and docker.io/library/alpine too); \"default\" serves jobs with none (IMAGE: a registry reference, oci-layout://DIR[:TAG] or rootfs://DIR) (repeatable)")
	fl.BoolVar(&f.NoCache, "no-cache", false, "run every step on BuildKit, cached or not")
	fl.StringArrayVar(&f.CacheFrom, "cache-from", nil, "a BuildKit cache to import step results from, as buildx writes it: type=registry,ref=REF | type=local,src=DIR | type=gha | type=s3,bucket=B,region=R | type=azblob,account_url=URL (repeatable; default $GANTRY_CACHE_FROM)")
	fl.StringArrayVar(&f.CacheTo, "cache-to", nil, "a BuildKit cache to export the shareable step results to: type=registry,ref=REF[,mode=max] | type=local,dest=DIR | type=gha | type=s3,... (repeatable; default $GANTRY_CACHE_TO)")
	fl.StringVar(&f.Progress, "progress", "quiet", "BuildKit's own progress display on stderr, beside the jobs' output: quiet, plain, tty, rawjson or auto")
}

// connect opens the BuildKit executor that the --executor choice asks for:
// nil for the host. With auto, a daemon that does not answer means the
// host, and why says so.
func (f *engineFlags) connect(ctx context.Context, choice string, progress io.Writer, notice func(nodeID, msg string)) (e *buildkit.Executor, why string, err error) {
	if choice == "host" {
		return nil, "", nil
	}
	switch f.Progress {
	case "quiet", "plain", "tty", "rawjson", "auto":
	default:
		return nil, "", usagef("--progress %q: use quiet, plain, tty, rawjson or auto", f.Progress)
	}
	images := map[string]string{}
	for _, kv := range f.Images {
		label, img, ok := strings.Cut(kv, "=")
		if !ok || label == "" || img == "" {
			return nil, "", usagef("-P %q: want LABEL=IMAGE, e.g. -P ubuntu-latest=rootfs://./rootfs", kv)
		}
		if _, err := imageref.Parse(img); err != nil {
			return nil, "", usagef("-P %q: %v", kv, err)
		}
		images[label] = img
	}
	imports, err := parseCaches("--cache-from", f.CacheFrom, "GANTRY_CACHE_FROM", f.dagCaches(false), false)
	if err != nil {
		return nil, "", err
	}
	exports, err := parseCaches("--cache-to", f.CacheTo, "GANTRY_CACHE_TO", f.dagCaches(true), true)
	if err != nil {
		return nil, "", err
	}
	for _, o := range append(slices.Clone(imports), exports...) {
		f.cacheSecrets = append(f.cacheSecrets, o.Secrets()...)
	}
	addr := f.addr()
	if choice == "auto" && addr == "" && !defaultDaemon() {
		return nil, " (no BuildKit daemon: BUILDKIT_HOST is unset and " + buildkit.DefaultAddr + " does not exist)", nil
	}
	e, err = buildkit.New(ctx, buildkit.Options{Addr: addr, TLS: f.TLS, Images: images, NoCache: f.NoCache, Notice: notice, Secrets: f.secrets, Pinned: f.pinned,
		CacheImports: imports, CacheExports: exports,
		Progress: progress, ProgressMode: f.Progress})
	if err != nil {
		if choice == "auto" {
			return nil, fmt.Sprintf(" (%v)", err), nil
		}
		if st, ok := status.FromError(err); ok && (st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded) {
			// No daemon at the address the user gave (or BUILDKIT_HOST):
			// theirs to fix, not gantry's failure.
			return nil, "", usageError{err: err}
		}
		return nil, "", err
	}
	return e, "", nil
}

// addr is the daemon asked for: --addr, else $BUILDKIT_HOST.
func (f *engineFlags) addr() string { return cmp.Or(f.Addr, os.Getenv("BUILDKIT_HOST")) }

// defaultDaemon reports whether BuildKit's default socket exists.
func defaultDaemon() bool {
	_, err := os.Stat(strings.TrimPrefix(buildkit.DefaultAddr, "unix://"))
	return err == nil
}

// hostOnly reports whether connect, given choice, leaves the run on the
// host executor without asking a daemon.
func (f *engineFlags) hostOnly(choice string) bool {
	return choice == "host" || choice == "auto" && f.addr() == "" && !defaultDaemon()
}

// labels are the runs-on labels -P maps to an image.
// images are the -P mappings as given (malformed ones left out; connect
// refuses them).
func (f *engineFlags) images() map[string]string {
	out := map[string]string{}
	for _, kv := range f.Images {
		if label, img, ok := strings.Cut(kv, "="); ok && label != "" && img != "" {
			out[label] = img
		}
	}
	return out
}

func (f *engineFlags) labels() []string {
	var out []string
	for _, kv := range f.Images {
		if label, _, ok := strings.Cut(kv, "="); ok && label != "" {
			out = append(out, label)
		}
	}
	return out
}

// sayWorkspaces says how the host executor makes the run's workspaces:
// one line on stderr, or a JSON event; engineWhy says why not BuildKit.
func sayWorkspaces(ios *IO, out io.Writer, json bool, e *host.Executor, root, engineWhy string) error {
	s, why, err := e.Workspaces(root)
	if err != nil {
		return err
	}
	if json {
		b, _ := gojson.Marshal(map[string]string{"event": "executor", "executor": "host", "workspace": s.String(), "why": why})
		fmt.Fprintln(out, string(b))
		return nil
	}
	what := map[host.Strategy]string{
		host.Overlay: "an overlay (copy-on-write, in a mount namespace of its own) of",
		host.Reflink: "its own reflink copy (copy-on-write) of",
		host.Copy:    "its own copy of",
	}[s]
	if why != "" {
		why = " (" + why + ")"
	}
	fmt.Fprintf(ios.Err, "gantry: running on the host executor%s: each job in %s %s%s\n", engineWhy, what, root, why)
	return nil
}

// dagCaches are the pipelines' run: cache-from (or cache-to) settings,
// each once, with where they are written.
func (f *engineFlags) dagCaches(export bool) []string {
	var out []string
	for _, p := range f.pipelines {
		if p.Run == nil {
			continue
		}
		list := p.Run.CacheFrom
		if export {
			list = p.Run.CacheTo
		}
		for _, c := range list {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// parseCaches reads --cache-from or --cache-to: the flags, else the
// environment variable env (options separated by spaces or newlines),
// else the pipelines' run: settings.
func parseCaches(flag string, values []string, env string, fromDAG []string, export bool) ([]buildkit.CacheOption, error) {
	from := flag
	if len(values) == 0 {
		values, from = strings.Fields(os.Getenv(env)), "$"+env
	}
	if len(values) == 0 {
		values, from = fromDAG, "the pipeline's run settings"
	}
	var out []buildkit.CacheOption
	for _, v := range values {
		o, err := buildkit.ParseCacheOption(v, export)
		if err != nil {
			if from != flag {
				return nil, usagef("%s: %v", from, err)
			}
			return nil, usagef("%v", err)
		}
		out = append(out, o)
	}
	return out, nil
}
