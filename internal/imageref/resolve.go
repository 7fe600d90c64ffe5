package imageref

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	dockerconfig "github.com/docker/cli/cli/config"
)

// Resolve asks the registry which digest a registry reference names now
// (the manifest or index its tag points at; a digest reference names
// itself), as docker pull would: credentials from docker login's config
// ($DOCKER_CONFIG, ~/.docker/config.json), plain HTTP for localhost and
// 127.0.0.1 registries, as BuildKit talks to them. It gives up after
// timeout (0: 30 s).
func Resolve(ctx context.Context, ref string, timeout time.Duration) (string, error) {
	r, err := Parse(ref)
	if err != nil {
		return "", err
	}
	if r.Local() {
		return "", fmt.Errorf("image %q is no registry image", ref)
	}
	if d := r.Digest(); d != "" {
		return d, nil
	}
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := dockerconfig.LoadDefaultConfigFile(io.Discard)
	creds := func(host string) (string, string, error) {
		key := host
		if host == "registry-1.docker.io" {
			key = "https://index.docker.io/v1/"
		}
		ac, err := cfg.GetAuthConfig(key)
		if err != nil {
			return "", "", err
		}
		if ac.IdentityToken != "" {
			return "", ac.IdentityToken, nil
		}
		return ac.Username, ac.Password, nil
	}
	client := &http.Client{Timeout: timeout}
	hosts := docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(docker.MatchLocalhost),
		docker.WithClient(client),
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthClient(client), docker.WithAuthCreds(creds))),
	)
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
	_, desc, err := resolver.Resolve(ctx, r.Name)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	return desc.Digest.String(), nil
}

// Pinned is the reference by digest of a registry image: its repository
// and the digest (127.0.0.1:5000/busybox@sha256:...).
func (r Ref) Pinned(digest string) string {
	return r.Repository() + "@" + digest
}
