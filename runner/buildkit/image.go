package buildkit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
	"github.com/gantry-ci/gantry/internal/ocilayout"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
)

// defaultPath is the PATH of a container whose image names none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultImages are the images runs-on labels map to when -P names none:
// runner-like images of the same Ubuntu release (git, curl, node, the
// usual build tools), the ones act's users run GitHub workflows in
// (catthehacker/ubuntu:act-*), as a workflow expects of GitHub's runner.
// They are registry references; where no registry is reachable, map the
// labels (or "default") to an oci-layout:// or rootfs:// image.
var DefaultImages = map[string]string{
	"ubuntu-latest": "docker.io/catthehacker/ubuntu:act-24.04",
	"ubuntu-24.04":  "docker.io/catthehacker/ubuntu:act-24.04",
	"ubuntu-22.04":  "docker.io/catthehacker/ubuntu:act-22.04",
	"ubuntu-20.04":  "docker.io/catthehacker/ubuntu:act-20.04",
	"default":       "docker.io/catthehacker/ubuntu:act-24.04",
}

// imageRef picks a node's image: its own (container:, image:), or the
// image -P maps that one to, else the image mapped to its runs-on label,
// else the one mapped to "default"; the second result says where it came
// from, for the node's output.
func (e *Executor) imageRef(n *dag.Node) (ref, why string) {
	return imageFor(n, e.opts.Images, e.mapImage)
}

// ImageFor is the image a node runs in on BuildKit with these -P
// mappings, and why (what --dry-run shows).
func ImageFor(n *dag.Node, images map[string]string) (ref, why string) {
	mapped := mappedNames(images)
	return imageFor(n, images, func(ref string) (string, bool) { return lookupMapped(mapped, ref) })
}

// mappedNames are the -P images by the normalised name of their label
// (labels that are no image name, runs-on labels, are left out).
func mappedNames(images map[string]string) map[string]string {
	mapped := map[string]string{}
	for label, img := range images {
		if l, err := imageref.Parse(label); err == nil && !l.Local() && img != "" {
			mapped[l.Name] = img
		}
	}
	return mapped
}

// lookupMapped is the image mapped to ref's normalised name.
func lookupMapped(mapped map[string]string, ref string) (string, bool) {
	r, err := imageref.Parse(ref)
	if err != nil || r.Local() {
		return ref, false
	}
	if m, ok := mapped[r.Name]; ok {
		return m, true
	}
	return ref, false
}

func imageFor(n *dag.Node, images map[string]string, mapImage func(string) (string, bool)) (ref, why string) {
	if n.Image != "" {
		if m, ok := mapImage(n.Image); ok {
			return m, fmt.Sprintf("the job's image %s, mapped with -P", n.Image)
		}
		return n.Image, "the job's image"
	}
	if n.Platform != "" {
		if ref := images[n.Platform]; ref != "" {
			return ref, fmt.Sprintf("mapped to runs-on %q", n.Platform)
		}
		if ref := DefaultImages[n.Platform]; ref != "" && images["default"] == "" {
			return ref, fmt.Sprintf("gantry's default for runs-on %q (-P %s=IMAGE to change it)", n.Platform, n.Platform)
		}
	}
	if ref := images["default"]; ref != "" {
		if n.Platform != "" {
			return ref, fmt.Sprintf("runs-on %q is not mapped; the image mapped to \"default\"", n.Platform)
		}
		return ref, "the job names no image; the image mapped to \"default\""
	}
	return DefaultImages["default"], "the job names no image; gantry's default (-P default=IMAGE to change it)"
}

// mapImage is the image -P maps ref to, matched by normalised name:
// -P alpine=rootfs://./a serves alpine, alpine:latest and
// docker.io/library/alpine alike. ok is false when no mapping names it.
func (e *Executor) mapImage(ref string) (mapped string, ok bool) {
	e.mappedOnce.Do(func() { e.mapped = mappedNames(e.opts.Images) })
	return lookupMapped(e.mapped, ref)
}

// namedContexts are the Dockerfile frontend's named contexts for the
// images -P maps, so that a FROM naming one (by any spelling of its name:
// alpine, alpine:latest, docker.io/library/alpine) takes the mapped image:
// context:NAME, NAME the familiar name the frontend looks a FROM up by. A
// local image is an input of the request, a registry one a docker-image://
// reference. Labels that are no image name (runs-on labels with upper case
// or commas) are left out.
func (e *Executor) namedContexts(ctx context.Context) (opts map[string]string, inputs map[string]*pb.Definition, err error) {
	opts, inputs = map[string]string{}, map[string]*pb.Definition{}
	// Images gantry.lock pinned, for a FROM naming one; a -P mapping of
	// the same name wins below.
	for name, pinned := range e.opts.Pinned {
		if r, err := imageref.Parse(name); err == nil {
			opts["context:"+r.Familiar()] = "docker-image://" + pinned
		}
	}
	for label, ref := range e.opts.Images {
		l, err := imageref.Parse(label)
		if err != nil || l.Local() {
			continue
		}
		name := l.Familiar()
		r, err := imageref.Parse(ref)
		if err != nil {
			continue
		}
		if !r.Local() {
			opts["context:"+name] = "docker-image://" + cmp.Or(e.opts.Pinned[r.Name], r.Name)
			continue
		}
		li, err := e.loadImage(ref)
		if err != nil {
			continue
		}
		def, err := li.state.Marshal(ctx)
		if err != nil {
			return nil, nil, err
		}
		input := "gantry-" + shortHash(name)
		inputs[input] = def.ToPB()
		opts["context:"+name] = "input:" + input
	}
	return opts, inputs, nil
}

// image is a base image ready for a node's session.
type image struct {
	state llb.State
	// name is a registry image's normalised reference, for its
	// configuration; empty for local images, whose configuration is read
	// when they are loaded.
	name   string
	cfg    imageConfig
	loaded bool // cfg is read
	stores map[string]content.Store
}

// imageConfig is what gantry reads of an image's configuration.
type imageConfig struct {
	Env        []string `json:"Env"`
	Entrypoint []string `json:"Entrypoint"`
	Cmd        []string `json:"Cmd"`
	User       string   `json:"User"`
	WorkingDir string   `json:"WorkingDir"`
	// Healthcheck is the image's HEALTHCHECK, as Docker records it.
	Healthcheck  *healthConfig       `json:"Healthcheck"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
}

// healthConfig is a Docker health check: Test is ["NONE"], ["CMD", argv...]
// or ["CMD-SHELL", command]; durations are nanoseconds in the JSON.
type healthConfig struct {
	Test        []string      `json:"Test"`
	Interval    time.Duration `json:"Interval"`
	Timeout     time.Duration `json:"Timeout"`
	StartPeriod time.Duration `json:"StartPeriod"`
	Retries     int           `json:"Retries"`
}

// loadImage turns a reference into a state. Local images (rootfs://,
// oci-layout://) are read in the session; registry references are pulled
// by the daemon, and their configuration asked through the gateway.
func (e *Executor) loadImage(ref string) (image, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return image{}, err
	}
	switch r.Kind {
	case imageref.RootFS:
		dir, err := filepath.Abs(r.Dir)
		if err != nil {
			return image{}, err
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return image{}, fmt.Errorf("image %q: %s is not a directory", ref, dir)
		}
		layout, err := e.rootfsLayout(dir)
		if err != nil {
			return image{}, fmt.Errorf("image %q: %w", ref, err)
		}
		return loadLayout(ref, layout, "")
	case imageref.OCILayout:
		return loadLayout(ref, r.Dir, r.Tag)
	default:
		name := r.Name
		if pinned, ok := e.opts.Pinned[r.Name]; ok {
			name = pinned
		}
		return image{state: llb.Image(name), name: name}, nil
	}
}

// localImage reports whether ref names an image on this machine
// (rootfs://, oci-layout://).
func localImage(ref string) bool {
	r, err := imageref.Parse(ref)
	return err == nil && r.Local()
}

// rootfsLayout is an OCI layout made from a root filesystem directory, made
// once and kept in StateDir while the directory does not change (see
// ocilayout.Fingerprint): BuildKit then finds the image by digest in every
// session, where a directory sent as a local source is walked and hashed
// again in each.
func (e *Executor) rootfsLayout(dir string) (string, error) {
	e.layoutMu.Lock()
	defer e.layoutMu.Unlock()
	if l, ok := e.layouts[dir]; ok {
		return l, nil
	}
	fp, err := ocilayout.Fingerprint(dir)
	if err != nil {
		return "", err
	}
	layout := filepath.Join(e.opts.StateDir, "rootfs", shortHash(dir)+"-"+fp[:16])
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		// Layouts of the directory's earlier contents go.
		old, _ := filepath.Glob(filepath.Join(e.opts.StateDir, "rootfs", shortHash(dir)+"-*"))
		for _, o := range old {
			os.RemoveAll(o)
		}
		if err := os.MkdirAll(filepath.Dir(layout), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(layout), "new-")
		if err != nil {
			return "", err
		}
		if _, err := ocilayout.Write(tmp, ocilayout.Image{Rootfs: dir, Env: []string{"PATH=" + defaultPath}}); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		if err := os.Rename(tmp, layout); err != nil {
			os.RemoveAll(tmp)
			if _, serr := os.Stat(filepath.Join(layout, "index.json")); serr != nil {
				return "", err // not made by another gantry meanwhile
			}
		}
	}
	if e.layouts == nil {
		e.layouts = map[string]string{}
	}
	e.layouts[dir] = layout
	return layout, nil
}

// config reads a registry image's configuration through the gateway,
// once; ref is the image as the user named it, for messages.
func (img *image) config(ctx context.Context, gw gateway.Client, ref string, auth *registryAuth) error {
	if img.loaded {
		return nil
	}
	_, _, dt, err := gw.ResolveImageConfig(ctx, img.name, sourceresolver.Opt{})
	if err != nil {
		if rerr := registryError(ref, img.name, auth, err); rerr != nil {
			return rerr
		}
		short := img.name
		if r, perr := imageref.Parse(img.name); perr == nil {
			short = r.Familiar()
		}
		return fmt.Errorf("image %q (%s): %w (without a registry, map it to a local image: -P %s=rootfs://DIR)", ref, img.name, err, short)
	}
	return img.readConfig(dt)
}

func (img *image) readConfig(dt []byte) error {
	var cfg struct {
		Config imageConfig `json:"config"`
	}
	if err := json.Unmarshal(dt, &cfg); err != nil {
		return fmt.Errorf("reading the image's configuration: %w", err)
	}
	img.cfg, img.loaded = cfg.Config, true
	if !hasVar(img.cfg.Env, "PATH") {
		img.cfg.Env = append(img.cfg.Env, "PATH="+defaultPath)
	}
	return nil
}

// loadLayout reads the image tagged tag of the OCI image layout directory
// dir, tag "" meaning the layout's only image or "latest"; ref is the
// image as the user named it, for messages.
func loadLayout(ref, dir, tag string) (image, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return image{}, err
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	dt, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return image{}, fmt.Errorf("image %q: not an OCI layout: %w", ref, err)
	}
	if err := json.Unmarshal(dt, &index); err != nil {
		return image{}, fmt.Errorf("image %q: index.json: %w", ref, err)
	}
	var dgst string
	var tags []string
	for _, m := range index.Manifests {
		name := m.Annotations["org.opencontainers.image.ref.name"]
		tags = append(tags, name)
		if name == tag || (tag == "" && (len(index.Manifests) == 1 || name == "latest")) {
			dgst = m.Digest
		}
	}
	if dgst == "" {
		return image{}, fmt.Errorf("image %q: no image tagged %q in %s (tags: %s)", ref, tag, dir, strings.Join(tags, ", "))
	}
	store, err := local.NewStore(dir)
	if err != nil {
		return image{}, fmt.Errorf("image %q: %w", ref, err)
	}
	storeID := "layout-" + shortHash(dir)
	img := image{
		state:  llb.OCILayout("gantry.local/"+storeID+"@"+dgst, llb.OCIStore("", storeID)),
		stores: map[string]content.Store{storeID: store},
	}
	// The configuration, for the image's environment.
	blob := func(d string) ([]byte, error) {
		algo, hex, _ := strings.Cut(d, ":")
		return os.ReadFile(filepath.Join(dir, "blobs", algo, hex))
	}
	mdt, err := blob(dgst)
	if err != nil {
		return image{}, fmt.Errorf("image %q: %w", ref, err)
	}
	var manifest struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal(mdt, &manifest); err != nil || manifest.Config.Digest == "" {
		return image{}, fmt.Errorf("image %q: manifest %s is not an image manifest", ref, dgst)
	}
	cdt, err := blob(manifest.Config.Digest)
	if err != nil {
		return image{}, fmt.Errorf("image %q: %w", ref, err)
	}
	if err := img.readConfig(cdt); err != nil {
		return image{}, err
	}
	return img, nil
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
