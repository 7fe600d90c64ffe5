package gitlab

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Remote reads what includes name on GitLab instances, through each
// instance's API (the official client): project files at a ref,
// components' releases, the instance's CI templates, and include:remote
// URLs on a GitLab host (with that instance's token). Everything it reads
// lands in a content-addressed cache, from which it also answers offline.
type Remote struct {
	opts    RemoteOptions
	mu      sync.Mutex
	clients map[string]*gl.Client
}

// RemoteOptions configure a Remote.
type RemoteOptions struct {
	// URLs maps an instance's host (gitlab.com, gitlab.gnome.org) to the
	// base URL its API is reached at, when it is not https://HOST: a
	// self-managed instance behind another name, a mirror, a test server.
	URLs map[string]string
	// Credentials are the tokens, by host; the one under "" serves the
	// other hosts.
	Credentials map[string]Credential
	// CacheDir holds what was fetched. Default: $XDG_CACHE_HOME/gantry/gitlab.
	CacheDir string
	// Offline answers from the cache only.
	Offline bool
	// HTTPClient makes the requests; default one with a 30 s timeout.
	HTTPClient *http.Client
}

// Credential is a token and where it came from, which messages name (the
// value never appears in a message, the cache or the lock).
type Credential struct {
	Token string
	// From names its source: GITLAB_TOKEN, CI_JOB_TOKEN, --gitlab HOST.
	From string
	// Job says it is a CI job token (sent as JOB-TOKEN).
	Job bool
}

// maxFetched bounds what one include may weigh.
const maxFetched = 4 << 20

// NewRemote makes a Remote.
func NewRemote(opts RemoteOptions) (*Remote, error) {
	if opts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for GitLab includes: %w", err)
		}
		opts.CacheDir = filepath.Join(dir, "gantry", "gitlab")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	for host, u := range opts.URLs {
		if _, err := url.Parse(u); err != nil || !strings.Contains(u, "://") {
			return nil, fmt.Errorf("the URL of GitLab instance %s, %q, is not an http(s) URL", host, u)
		}
	}
	return &Remote{opts: opts, clients: map[string]*gl.Client{}}, nil
}

// baseURL is where the instance at host is reached.
func (r *Remote) baseURL(host string) string {
	if u, ok := r.opts.URLs[host]; ok {
		return strings.TrimSuffix(u, "/")
	}
	return "https://" + host
}

// credential is the token used for host, if any.
func (r *Remote) credential(host string) (Credential, bool) {
	if c, ok := r.opts.Credentials[host]; ok && c.Token != "" {
		return c, true
	}
	c, ok := r.opts.Credentials[""]
	return c, ok && c.Token != ""
}

// known reports whether host is a GitLab instance gantry was told of.
func (r *Remote) known(host string) bool {
	_, mapped := r.opts.URLs[host]
	_, cred := r.opts.Credentials[host]
	return mapped || cred || host == "gitlab.com"
}

func (r *Remote) client(host string) (*gl.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[host]; ok {
		return c, nil
	}
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(r.baseURL(host) + "/api/v4"),
		gl.WithHTTPClient(r.opts.HTTPClient),
		gl.WithCustomRetryMax(2),
		// Busy answers are tried again; an instance that cannot be
		// reached is not waited for: the cache may serve.
		gl.WithCustomRetry(func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if ctx.Err() != nil || err != nil || resp == nil {
				return false, ctx.Err()
			}
			return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, nil
		}),
		gl.WithCustomRetryWaitMinMax(200*time.Millisecond, 2*time.Second),
		gl.WithUserAgent("gantry"),
	}
	var (
		c   *gl.Client
		err error
	)
	switch cred, ok := r.credential(host); {
	case !ok:
		c, err = gl.NewAuthSourceClient(gl.Unauthenticated{}, opts...)
	case cred.Job:
		c, err = gl.NewJobClient(cred.Token, opts...)
	default:
		c, err = gl.NewClient(cred.Token, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("GitLab instance %s: %w", host, err)
	}
	r.clients[host] = c
	return c, nil
}

// fetched is a file read from an instance, with the commit it was read at.
type fetched struct {
	data   []byte
	commit string
	// unreached names the instance that could not be reached, when the
	// cache answered in its place.
	unreached string
}

// fullSHA matches a commit id, which names the same content forever.
var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ProjectFile reads file of project on host at ref (the default branch
// when ref is empty), and says which commit ref resolved to.
func (r *Remote) projectFile(ctx context.Context, host, project, ref, file string) (fetched, error) {
	file = strings.TrimPrefix(file, "/")
	if fullSHA.MatchString(ref) {
		if f, ok := r.cachedFile(host, project, ref, file); ok {
			return f, nil
		}
	}
	return r.answer(
		func() (fetched, error) { return r.fetchFile(ctx, host, project, ref, file) },
		func() (fetched, error) { return r.offlineFile(host, project, ref, file) })
}

// answer asks the instance (fetch, which caches what it gets), or the
// cache (cached) when offline, and when the instance cannot be reached at
// all: what was read before serves.
func (r *Remote) answer(fetch, cached func() (fetched, error)) (fetched, error) {
	if r.opts.Offline {
		return cached()
	}
	f, err := fetch()
	var netErr *unreachable
	if errors.As(err, &netErr) {
		if c, cerr := cached(); cerr == nil {
			c.unreached = netErr.host
			return c, nil
		}
	}
	return f, err
}

// cachedBlob is the blob the index has under key, or what notCached says.
func (r *Remote) cachedBlob(key string, notCached error) (fetched, error) {
	sum, ok := r.recall(key)
	data, ok2 := r.load(sum)
	if !ok || !ok2 {
		return fetched{}, notCached
	}
	return fetched{data: data}, nil
}

func (r *Remote) fetchFile(ctx context.Context, host, project, ref, file string) (fetched, error) {
	c, err := r.client(host)
	if err != nil {
		return fetched{}, err
	}
	asked := ref
	if ref == "" {
		p, resp, err := c.Projects.GetProject(project, nil, gl.WithContext(ctx))
		if err != nil {
			return fetched{}, r.apiError(host, fmt.Sprintf("project %s", project), resp, err)
		}
		ref = p.DefaultBranch
		if ref == "" {
			return fetched{}, fmt.Errorf("project %s on %s has no default branch (an empty repository?): name a ref:", project, host)
		}
	}
	f, resp, err := c.RepositoryFiles.GetFile(project, file, &gl.GetFileOptions{Ref: gl.Ptr(ref)}, gl.WithContext(ctx))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound && asked != "" {
			// One answer for a missing project, ref or file: the project
			// tells which.
			if _, presp, perr := c.Projects.GetProject(project, nil, gl.WithContext(ctx)); perr != nil {
				return fetched{}, r.apiError(host, fmt.Sprintf("project %s", project), presp, perr)
			}
		}
		return fetched{}, r.apiError(host, fmt.Sprintf("file %s of project %s at %s", file, project, ref), resp, err)
	}
	if f.Size > maxFetched {
		return fetched{}, fmt.Errorf("file %s of project %s at %s is %d bytes: more than the %d an include may be", file, project, ref, f.Size, maxFetched)
	}
	data, err := base64.StdEncoding.DecodeString(f.Content)
	if err != nil || f.Encoding != "" && f.Encoding != "base64" {
		return fetched{}, fmt.Errorf("file %s of project %s: %s answered content gantry cannot decode (encoding %q)", file, project, host, f.Encoding)
	}
	commit := f.CommitID
	if commit == "" {
		commit = f.LastCommitID
	}
	r.remember(refKey(host, project, asked), commit)
	r.remember(fileKey(host, project, commit, file), r.store(data))
	return fetched{data: data, commit: commit}, nil
}

func (r *Remote) cachedFile(host, project, commit, file string) (fetched, bool) {
	sum, ok := r.recall(fileKey(host, project, commit, file))
	if !ok {
		return fetched{}, false
	}
	data, ok := r.load(sum)
	return fetched{data: data, commit: commit}, ok
}

func (r *Remote) offlineFile(host, project, ref, file string) (fetched, error) {
	commit := ref
	if !fullSHA.MatchString(ref) {
		var ok bool
		if commit, ok = r.recall(refKey(host, project, ref)); !ok {
			return fetched{}, fmt.Errorf("%s of project %s at %s is not in the cache (%s) and gantry is offline: run once with network access", file, project, refName(ref), r.opts.CacheDir)
		}
	}
	f, ok := r.cachedFile(host, project, commit, file)
	if !ok {
		return fetched{}, fmt.Errorf("%s of project %s at %s is not in the cache (%s) and gantry is offline: run once with network access", file, project, refName(ref), r.opts.CacheDir)
	}
	return f, nil
}

func refName(ref string) string {
	if ref == "" {
		return "its default branch"
	}
	return ref
}

// release is a project's release as component versions are resolved.
type release struct {
	Tag    string `json:"tag"`
	Commit string `json:"commit"`
}

// releases lists a project's releases, newest first as GitLab lists them.
func (r *Remote) releases(ctx context.Context, host, project string) ([]release, error) {
	key := "releases\x00" + host + "\x00" + strings.ToLower(project)
	f, err := r.answer(
		func() (fetched, error) {
			out, err := r.fetchReleases(ctx, host, project)
			if err != nil {
				return fetched{}, err
			}
			b, err := json.Marshal(out)
			if err != nil {
				return fetched{}, err
			}
			r.remember(key, r.store(b))
			return fetched{data: b}, nil
		},
		func() (fetched, error) {
			return r.cachedBlob(key, fmt.Errorf("the releases of project %s on %s are not in the cache (%s) and gantry is offline: run once with network access", project, host, r.opts.CacheDir))
		})
	if err != nil {
		return nil, err
	}
	var out []release
	if err := json.Unmarshal(f.data, &out); err != nil {
		return nil, fmt.Errorf("the cached releases of %s: %w", project, err)
	}
	return out, nil
}

func (r *Remote) fetchReleases(ctx context.Context, host, project string) ([]release, error) {
	c, err := r.client(host)
	if err != nil {
		return nil, err
	}
	var out []release
	opt := &gl.ListReleasesOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for page := 0; page < 10; page++ {
		rels, resp, err := c.Releases.ListReleases(project, opt, gl.WithContext(ctx))
		if err != nil {
			return nil, r.apiError(host, fmt.Sprintf("the releases of project %s", project), resp, err)
		}
		for _, rel := range rels {
			out = append(out, release{Tag: rel.TagName, Commit: rel.Commit.ID})
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return out, nil
}

// templateSource is the project GitLab's own templates come from, on
// gitlab.com: lib/gitlab/ci/templates at the revision an instance runs.
const (
	templateProject = "gitlab-org/gitlab"
	templateDir     = "lib/gitlab/ci/templates/"
)

// template reads an include:template as the instance at host serves it:
// its templates API for the templates that API knows (top-level ones),
// else the file of GitLab's source at the revision the instance runs.
func (r *Remote) template(ctx context.Context, host, name string) (fetched, error) {
	key := "template\x00" + host + "\x00" + name
	return r.answer(
		func() (fetched, error) {
			f, err := r.fetchTemplate(ctx, host, name)
			if err == nil {
				r.remember(key, r.store(f.data))
				r.remember(key+"\x00commit", f.commit)
			}
			return f, err
		},
		func() (fetched, error) {
			f, err := r.cachedBlob(key, fmt.Errorf("template %s of %s is not in the cache (%s) and gantry is offline: run once with network access, or pass --template-dir", name, host, r.opts.CacheDir))
			f.commit, _ = r.recall(key + "\x00commit")
			return f, err
		})
}

func (r *Remote) fetchTemplate(ctx context.Context, host, name string) (fetched, error) {
	c, err := r.client(host)
	if err != nil {
		return fetched{}, err
	}
	if key, ok := strings.CutSuffix(name, ".gitlab-ci.yml"); ok && !strings.Contains(key, "/") {
		t, resp, err := c.CIYMLTemplate.GetTemplate(key, gl.WithContext(ctx))
		if err == nil {
			return fetched{data: []byte(t.Content)}, nil
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			return fetched{}, r.apiError(host, "template "+name, resp, err)
		}
	}
	// Templates in directories (Jobs/, Security/, Workflows/) are not in
	// the templates API: they are read from GitLab's source at the
	// revision the instance runs (its version's, when it gives none).
	rev, at := "", "GitLab's default branch"
	v, resp, err := c.Version.GetVersion(gl.WithContext(ctx))
	switch {
	case err == nil:
		rev = cmp.Or(v.Revision, "v"+v.Version)
		at = fmt.Sprintf("GitLab %s, revision %s", v.Version, rev)
	case resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
		// The version is for signed-in users: without a token, the
		// templates of GitLab's default branch serve.
	default:
		return fetched{}, r.apiError(host, "the version of the instance (to find template "+name+")", resp, err)
	}
	f, err := r.projectFile(ctx, "gitlab.com", templateProject, rev, templateDir+name)
	if err != nil {
		return fetched{}, fmt.Errorf("template %s (%s): %w", name, at, err)
	}
	return f, nil
}

// remoteFile reads an include:remote URL, with the instance's token when
// the URL is on a GitLab instance gantry knows.
func (r *Remote) remoteFile(ctx context.Context, raw string) (fetched, error) {
	key := "remote\x00" + raw
	return r.answer(
		func() (fetched, error) {
			f, err := r.fetchRemote(ctx, raw)
			if err == nil {
				r.remember(key, r.store(f.data))
			}
			return f, err
		},
		func() (fetched, error) {
			return r.cachedBlob(key, fmt.Errorf("%s is not in the cache (%s) and gantry is offline: run once with network access, or download it and use include:local", raw, r.opts.CacheDir))
		})
}

func (r *Remote) fetchRemote(ctx context.Context, raw string) (fetched, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fetched{}, fmt.Errorf("%q is not a URL", raw)
	}
	target, host := raw, u.Hostname()
	if mapped, ok := r.opts.URLs[host]; ok {
		// The same path on the URL the instance is reached at.
		target = strings.TrimSuffix(mapped, "/") + u.RequestURI()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fetched{}, err
	}
	cred, hasCred := r.credential(host)
	if hasCred && r.known(host) {
		if cred.Job {
			req.Header.Set("JOB-TOKEN", cred.Token)
		} else {
			req.Header.Set("PRIVATE-TOKEN", cred.Token)
		}
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return fetched{}, &unreachable{host: host, err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fetched{}, fmt.Errorf("%s answered %s%s", host, resp.Status, r.tokenSaid(host, hasCred && r.known(host)))
	case resp.StatusCode != http.StatusOK:
		return fetched{}, fmt.Errorf("%s answered %s", host, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetched+1))
	if err != nil {
		return fetched{}, &unreachable{host: host, err: err}
	}
	if len(data) > maxFetched {
		return fetched{}, fmt.Errorf("%s is more than %d bytes, more than an include may be", raw, maxFetched)
	}
	return fetched{data: data}, nil
}

// unreachable is a failure to reach an instance at all (not an answer).
type unreachable struct {
	host string
	err  error
}

func (u *unreachable) Error() string {
	return fmt.Sprintf("%s cannot be reached: %v", u.host, u.err)
}

func (u *unreachable) Unwrap() error { return u.err }

// apiError says what an API call's failure means, naming the token used
// (by where it came from) for refusals.
func (r *Remote) apiError(host, what string, resp *gl.Response, err error) error {
	if resp == nil || resp.Response == nil {
		var ne net.Error
		var ue *url.Error
		if errors.As(err, &ne) || errors.As(err, &ue) {
			return &unreachable{host: host, err: err}
		}
		return fmt.Errorf("%s on %s: %w", what, host, err)
	}
	_, hasCred := r.credential(host)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%s: not found on %s%s", what, host, r.tokenSaid(host, hasCred))
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s: %s refused it (%s)%s", what, host, resp.Status, r.tokenSaid(host, hasCred))
	}
	return fmt.Errorf("%s: %s answered %s", what, host, resp.Status)
}

// tokenSaid names the token a request used, or says none was.
func (r *Remote) tokenSaid(host string, used bool) string {
	if !used {
		return "; no token was sent (a private project needs GITLAB_TOKEN, or --gitlab " + host + "=URL,token-env=VAR)"
	}
	cred, _ := r.credential(host)
	return "; the token from " + cred.From + " was sent (check that it may read this project)"
}

// The cache: blobs by their SHA-256, and an index from what was asked
// (a ref, a file at a commit, a template, a URL) to a commit or a blob.

func (r *Remote) blobPath(sum string) string {
	return filepath.Join(r.opts.CacheDir, "blobs", sum)
}

// store keeps data and returns its hash.
func (r *Remote) store(data []byte) string {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	p := r.blobPath(sum)
	if _, err := os.Stat(p); err == nil {
		return sum
	}
	writeAtomic(p, data)
	return sum
}

// load reads a blob, checking that it is what its name says.
func (r *Remote) load(sum string) ([]byte, bool) {
	if sum == "" {
		return nil, false
	}
	data, err := os.ReadFile(r.blobPath(sum))
	if err != nil {
		return nil, false
	}
	h := sha256.Sum256(data)
	return data, hex.EncodeToString(h[:]) == sum
}

func (r *Remote) indexPath(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(r.opts.CacheDir, "index", hex.EncodeToString(h[:16]))
}

func (r *Remote) remember(key, value string) {
	if value == "" {
		return
	}
	writeAtomic(r.indexPath(key), []byte(value))
}

func (r *Remote) recall(key string) (string, bool) {
	data, err := os.ReadFile(r.indexPath(key))
	if err != nil || len(data) == 0 {
		return "", false
	}
	return string(data), true
}

// writeAtomic writes a cache file so that a concurrent reader sees all of
// it or none; a cache that cannot be written only costs a later fetch.
func writeAtomic(p string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}

func refKey(host, project, ref string) string {
	return "ref\x00" + host + "\x00" + strings.ToLower(project) + "\x00" + ref
}

func fileKey(host, project, commit, file string) string {
	return "file\x00" + host + "\x00" + strings.ToLower(project) + "\x00" + commit + "\x00" + file
}
