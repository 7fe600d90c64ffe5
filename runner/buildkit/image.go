package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
	"github.com/gantry-ci/gantry/internal/ocilayout"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
)

// defaultPath is the PATH of a container whose image names none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultImages are the images runs-on labels map to when -P names none:
// GitHub's ubuntu-* runners stand for the same Ubuntu release's image.
// They are registry references; where no registry is reachable, map the
// labels (or "default") to an oci-layout:// or rootfs:// image.
var DefaultImages = map[string]string{
	"ubuntu-latest": "docker.io/library/ubuntu:24.04",
	"ubuntu-24.04":  "docker.io/library/ubuntu:24.04",
	"ubuntu-22.04":  "docker.io/library/ubuntu:22.04",
	"ubuntu-20.04":  "docker.io/library/ubuntu:20.04",
	"default":       "docker.io/library/ubuntu:24.04",
}

// imageRef picks a node's image: its own (container:, image:), else the
// image mapped to its runs-on label, else the one mapped to "default"; the
// second result says where it came from, for the node's output.
func (e *Executor) imageRef(n *dag.Node) (ref, why string) {
	if n.Image != "" {
		return n.Image, "the job's image"
	}
	if n.Platform != "" {
		if ref := e.opts.Images[n.Platform]; ref != "" {
			return ref, fmt.Sprintf("mapped to runs-on %q", n.Platform)
		}
		if ref := DefaultImages[n.Platform]; ref != "" && e.opts.Images["default"] == "" {
			return ref, fmt.Sprintf("gantry's default for runs-on %q (-P %s=IMAGE to change it)", n.Platform, n.Platform)
		}
	}
	if ref := e.opts.Images["default"]; ref != "" {
		if n.Platform != "" {
			return ref, fmt.Sprintf("runs-on %q is not mapped; the image mapped to \"default\"", n.Platform)
		}
		return ref, "the job names no image; the image mapped to \"default\""
	}
	return DefaultImages["default"], "the job names no image; gantry's default (-P default=IMAGE to change it)"
}

// image is a base image ready for a node's session.
type image struct {
	state llb.State
	env   []string
	// entrypoint and cmd are the image's own command, for services.
	entrypoint, cmd []string
	stores          map[string]content.Store
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
		return image{state: llb.Image(r.Name)}, nil
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

// config reads a registry image's environment through the gateway.
func (img *image) config(ctx context.Context, gw gateway.Client, ref string) error {
	if img.env != nil {
		return nil
	}
	_, _, dt, err := gw.ResolveImageConfig(ctx, ref, sourceresolver.Opt{})
	if err != nil {
		return fmt.Errorf("image %q: %w", ref, err)
	}
	return img.readConfig(dt)
}

func (img *image) readConfig(dt []byte) error {
	var cfg struct {
		Config struct {
			Env        []string `json:"Env"`
			Entrypoint []string `json:"Entrypoint"`
			Cmd        []string `json:"Cmd"`
		} `json:"config"`
	}
	if err := json.Unmarshal(dt, &cfg); err != nil {
		return fmt.Errorf("reading the image's configuration: %w", err)
	}
	img.env, img.entrypoint, img.cmd = cfg.Config.Env, cfg.Config.Entrypoint, cfg.Config.Cmd
	if !hasVar(img.env, "PATH") {
		img.env = append(img.env, "PATH="+defaultPath)
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
