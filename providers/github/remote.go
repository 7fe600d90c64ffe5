package github

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	gogithub "github.com/google/go-github/v60/github"
)

// RemoteOptions configure a Remote.
type RemoteOptions struct {
	// Token authenticates to the API (GITHUB_TOKEN); "" for none.
	Token string
	// BaseURL is a GitHub Enterprise (or test) API address; "" for
	// api.github.com.
	BaseURL string
	// CacheDir holds fetched repositories by owner/repo/sha. Default:
	// $XDG_CACHE_HOME/gantry/actions.
	CacheDir string
	// Offline uses only the cache.
	Offline bool
	// MaxArchive bounds an archive's unpacked size (default 256 MiB).
	MaxArchive int64
	// HTTPClient is the client under the API's (default http.DefaultClient).
	HTTPClient *http.Client
	// ActionDirs maps "owner/repo@ref" to a local checkout used instead
	// of fetching (--action-dir).
	ActionDirs map[string]string
}

// Remote resolves and fetches actions and reusable workflows from GitHub.
type Remote struct {
	api  *gogithub.Client
	http *http.Client
	opts RemoteOptions
}

// NewRemote makes a Remote.
func NewRemote(opts RemoteOptions) (*Remote, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.MaxArchive == 0 {
		opts.MaxArchive = 256 << 20
	}
	if opts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for actions: %w", err)
		}
		opts.CacheDir = filepath.Join(dir, "gantry", "actions")
	}
	api := gogithub.NewClient(opts.HTTPClient)
	if opts.Token != "" {
		api = api.WithAuthToken(opts.Token)
	}
	if opts.BaseURL != "" {
		var err error
		if api, err = api.WithEnterpriseURLs(opts.BaseURL, opts.BaseURL); err != nil {
			return nil, err
		}
	}
	return &Remote{api: api, http: opts.HTTPClient, opts: opts}, nil
}

// ResolveRef returns the commit SHA that ref (a tag, branch or SHA) of
// owner/repo names now.
func (r *Remote) ResolveRef(ctx context.Context, owner, repo, ref string) (string, error) {
	if fullSHA.MatchString(ref) {
		return ref, nil
	}
	if r.opts.Offline {
		return "", fmt.Errorf("%s/%s@%s: offline, and a ref must be resolved through the GitHub API: run once online, or pin it (gantry pin)", owner, repo, ref)
	}
	sha, _, err := r.api.Repositories.GetCommitSHA1(ctx, owner, repo, ref, "")
	if err != nil {
		return "", fmt.Errorf("resolving %s/%s@%s: %w", owner, repo, ref, err)
	}
	if !fullSHA.MatchString(sha) {
		return "", fmt.Errorf("resolving %s/%s@%s: the API answered %q, not a commit SHA", owner, repo, ref, sha)
	}
	return sha, nil
}

// Fetch makes the repository owner/repo at commit sha available in the
// cache and returns its directory: from the cache when it is there, else
// downloaded as the API's tarball and unpacked with checks (no path out of
// the directory, no link pointing out of it, a size limit).
func (r *Remote) Fetch(ctx context.Context, owner, repo, sha string) (string, error) {
	if !fullSHA.MatchString(sha) {
		return "", fmt.Errorf("fetch %s/%s: %q is not a full commit SHA", owner, repo, sha)
	}
	dir := filepath.Join(r.opts.CacheDir, owner, repo, sha)
	if _, err := os.Stat(filepath.Join(dir, ".gantry-sha")); err == nil {
		return dir, nil
	}
	if r.opts.Offline {
		return "", fmt.Errorf("%s/%s@%s is not in the cache (%s) and gantry is offline: run once without --offline to fetch it, or map it to a checkout with --action-dir %s/%s@REF=PATH", owner, repo, sha, r.opts.CacheDir, owner, repo)
	}
	link, _, err := r.api.Repositories.GetArchiveLink(ctx, owner, repo, gogithub.Tarball, &gogithub.RepositoryContentGetOptions{Ref: sha}, 3)
	if err != nil {
		return "", fmt.Errorf("fetching %s/%s@%s: %w", owner, repo, sha, err)
	}
	link = r.api.BaseURL.ResolveReference(link) // a relative Location (GitHub's is absolute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return "", err
	}
	if r.opts.Token != "" && sameHost(link.Host, r.api.BaseURL.Host) {
		req.Header.Set("Authorization", "Bearer "+r.opts.Token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching %s/%s@%s: %w", owner, repo, sha, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching %s/%s@%s: %s", owner, repo, sha, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".fetch-")
	if err != nil {
		return "", err
	}
	if err := unpack(resp.Body, tmp, r.opts.MaxArchive); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpacking %s/%s@%s: %w", owner, repo, sha, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".gantry-sha"), []byte(sha+"\n"), 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, ".gantry-sha")); serr == nil {
			return dir, nil // fetched by another gantry meanwhile
		}
		return "", err
	}
	return dir, nil
}

func sameHost(a, b string) bool { return strings.EqualFold(a, b) }

// Action makes the action or reusable workflow that uses: names
// (owner/repo[/path]@ref) available and returns its directory on this
// machine and the commit it is at. Online, the ref is resolved again on
// every call (a tag that moved is followed) and the commit fetched unless
// cached; offline, the commit the ref named when last resolved is used from
// the cache.
func (r *Remote) Action(ctx context.Context, uses string) (dir, sha string, err error) {
	spec, ref, ok := strings.Cut(uses, "@")
	parts := strings.SplitN(spec, "/", 3)
	if !ok || len(parts) < 2 || parts[0] == "" || parts[1] == "" || ref == "" {
		return "", "", fmt.Errorf("uses %q: want owner/repo[/path]@ref", uses)
	}
	owner, repo, sub := parts[0], parts[1], ""
	if len(parts) == 3 {
		sub = parts[2]
		if path.Clean(sub) != sub || strings.HasPrefix(sub, "../") || path.IsAbs(sub) {
			return "", "", fmt.Errorf("uses %q: the path %q leaves the repository", uses, sub)
		}
	}
	if local, ok := r.opts.ActionDirs[owner+"/"+repo+"@"+ref]; ok {
		return filepath.Join(local, filepath.FromSlash(sub)), ref, nil
	}
	refFile := filepath.Join(r.opts.CacheDir, owner, repo, "refs", strings.ReplaceAll(ref, "/", "%2F"))
	switch {
	case fullSHA.MatchString(ref):
		sha = ref
	case r.opts.Offline:
		b, err := os.ReadFile(refFile)
		if err != nil {
			return "", "", fmt.Errorf("%s is not in the cache and gantry is offline: run once without --offline to fetch it, or map it to a checkout with --action-dir %s@%s=PATH", uses, owner+"/"+repo, ref)
		}
		sha = strings.TrimSpace(string(b))
	default:
		if sha, err = r.ResolveRef(ctx, owner, repo, ref); err != nil {
			return "", "", err
		}
		if os.MkdirAll(filepath.Dir(refFile), 0o755) == nil {
			_ = os.WriteFile(refFile, []byte(sha+"\n"), 0o644)
		}
	}
	root, err := r.Fetch(ctx, owner, repo, sha)
	if err != nil {
		return "", "", err
	}
	return filepath.Join(root, filepath.FromSlash(sub)), sha, nil
}

// ErrUnsafeArchive is wrapped by the errors of archives that try to write
// outside their directory or are too large.
var ErrUnsafeArchive = errors.New("unsafe archive")

// unpack reads a gzipped tarball as GitHub serves them (everything under
// one top directory, which is dropped) into dir.
func unpack(r io.Reader, dir string, limit int64) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	var total int64
	var links [][2]string
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if entries > 100000 {
			return fmt.Errorf("%w: more than 100000 entries", ErrUnsafeArchive)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if path.IsAbs(h.Name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%w: entry %q leaves the archive", ErrUnsafeArchive, h.Name)
		}
		_, rel, ok := strings.Cut(name, "/")
		if !ok || rel == "" {
			continue // the top directory itself
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > limit {
				return fmt.Errorf("%w: more than %d bytes unpacked", ErrUnsafeArchive, limit)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
			if err != nil {
				return err
			}
			n, err := io.Copy(f, io.LimitReader(tr, h.Size+1))
			f.Close()
			if err != nil {
				return err
			}
			if n > h.Size {
				return fmt.Errorf("%w: entry %q is larger than its header says", ErrUnsafeArchive, h.Name)
			}
		case tar.TypeSymlink:
			// A link must point inside the directory, as seen from where
			// it is.
			if path.IsAbs(h.Linkname) {
				return fmt.Errorf("%w: link %q points to the absolute path %q", ErrUnsafeArchive, h.Name, h.Linkname)
			}
			resolved := path.Clean(path.Join(path.Dir(rel), h.Linkname))
			if resolved == ".." || strings.HasPrefix(resolved, "../") {
				return fmt.Errorf("%w: link %q points out of the archive (%q)", ErrUnsafeArchive, h.Name, h.Linkname)
			}
			links = append(links, [2]string{h.Linkname, target})
		case tar.TypeLink:
			return fmt.Errorf("%w: hard link %q", ErrUnsafeArchive, h.Name)
		default:
			// Devices, fifos: nothing an action needs.
		}
	}
	// Links last, so that no file is written through one.
	for _, l := range links {
		if err := os.MkdirAll(filepath.Dir(l[1]), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}
