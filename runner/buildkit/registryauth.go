package buildkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
)

// registryAuth answers the daemon's questions for registry credentials in
// one session: a node's container.credentials (and its services') for
// their registries, else $DOCKER_AUTH_CONFIG (GitLab's way of giving a
// job's images credentials: a config.json's text in a CI/CD variable),
// else what docker login keeps (~/.docker/config.json, $DOCKER_CONFIG,
// credential helpers). Sessions are opened before they know their node,
// so the node's credentials are set afterwards.
type registryAuth struct {
	docker *configfile.ConfigFile
	base   authprovider.AuthConfigProvider
	// variable is $DOCKER_AUTH_CONFIG's, when set and readable.
	variable map[string]types.AuthConfig

	mu    sync.Mutex
	hosts map[string]types.AuthConfig // by registry host
}

func newRegistryAuth() *registryAuth {
	cfg := dockerconfig.LoadDefaultConfigFile(io.Discard)
	a := &registryAuth{docker: cfg, base: authprovider.LoadAuthConfig(cfg)}
	if v := os.Getenv("DOCKER_AUTH_CONFIG"); v != "" {
		var vc configfile.ConfigFile
		if vc.LoadFromReader(strings.NewReader(v)) == nil {
			a.variable = map[string]types.AuthConfig{}
			for k, ac := range vc.AuthConfigs {
				// Keys as docker login writes them: a host, or a URL.
				host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://"), "/v1/")
				a.variable[registryHost(strings.TrimSuffix(host, "/"))] = ac
			}
		}
	}
	return a
}

func (a *registryAuth) attachable() session.Attachable {
	return authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{AuthConfigProvider: a.provide})
}

func (a *registryAuth) provide(ctx context.Context, host string, scope []string, cacheCheck authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
	a.mu.Lock()
	ac, ok := a.hosts[registryHost(host)]
	a.mu.Unlock()
	if ok {
		return ac, nil
	}
	if ac, ok := a.variable[registryHost(host)]; ok {
		return ac, nil
	}
	return a.base(ctx, host, scope, cacheCheck)
}

// registryHost is the name a registry goes by in docker's config: Docker
// Hub's several hosts are docker.io.
func registryHost(host string) string {
	switch host {
	case "registry-1.docker.io", "index.docker.io", "https://index.docker.io/v1/":
		return "docker.io"
	}
	return host
}

// set gives the session these credentials for the registry host.
func (a *registryAuth) set(host, user, password string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hosts == nil {
		a.hosts = map[string]types.AuthConfig{}
	}
	a.hosts[registryHost(host)] = types.AuthConfig{Username: user, Password: password, ServerAddress: host}
}

// source says where the session's credentials for host come from, for
// messages: "" for none.
func (a *registryAuth) source(host string) string {
	a.mu.Lock()
	_, ok := a.hosts[registryHost(host)]
	a.mu.Unlock()
	if ok {
		return "container.credentials"
	}
	if _, ok := a.variable[registryHost(host)]; ok {
		return "$DOCKER_AUTH_CONFIG"
	}
	key := host
	if registryHost(host) == "docker.io" {
		key = "https://index.docker.io/v1/"
	}
	if ac, err := a.docker.GetAuthConfig(key); err == nil && (ac.Username != "" || ac.IdentityToken != "" || ac.RegistryToken != "" || ac.Auth != "") {
		return "docker login (" + a.docker.Filename + ")"
	}
	return ""
}

// useCredentials gives the session the credentials of the node's
// container and services for their images' registries, their passwords
// read from the run's secrets by name.
func (w *workspace) useCredentials(n *dag.Node, jobRef string) error {
	use := func(what, ref string, c *dag.Credentials) error {
		if c == nil || c.Username == "" && c.PasswordSecret == "" {
			return nil
		}
		r, err := imageref.Parse(ref)
		if err != nil || r.Local() {
			return nil
		}
		password, ok := w.e.opts.Secrets[c.PasswordSecret]
		if !ok || password == "" {
			return fmt.Errorf("%s's credentials for %s: the password's secret %s is not set (give it with --secret %s)", what, r.Host(), c.PasswordSecret, c.PasswordSecret)
		}
		w.auth.set(r.Host(), c.Username, password)
		return nil
	}
	if n.Container != nil {
		if err := use("the job's container", jobRef, n.Container.Credentials); err != nil {
			return err
		}
	}
	for _, s := range n.Services {
		if err := use(fmt.Sprintf("service %q", s.Name), s.Image, s.Credentials); err != nil {
			return err
		}
	}
	return nil
}

// unauthorized reports whether a registry error is a refusal of the
// credentials (or of none).
func unauthorized(err error) bool {
	s := err.Error()
	return strings.Contains(s, "401 Unauthorized") || strings.Contains(s, "403 Forbidden") ||
		strings.Contains(s, "failed to authorize") || strings.Contains(s, "insufficient_scope") ||
		strings.Contains(s, "unauthorized:")
}

// registryError says what a registry's refusal means and what to do: with
// no credentials, log in; with some, they are wrong.
func registryError(ref, name string, auth *registryAuth, err error) error {
	r, perr := imageref.Parse(name)
	if perr != nil || !unauthorized(err) {
		return nil
	}
	host := r.Host()
	if src := auth.source(host); src != "" {
		return fmt.Errorf("image %q: the registry %s refused the credentials from %s: %w (check the user name and password)", ref, host, src, err)
	}
	return fmt.Errorf("image %q: the registry %s wants credentials: %w (docker login %s, the job's container.credentials, or $DOCKER_AUTH_CONFIG)", ref, host, err, host)
}
