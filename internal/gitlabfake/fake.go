// Package gitlabfake is a GitLab instance for tests: an httptest server
// that answers the REST API calls gantry makes for includes as GitLab's
// API documentation gives them (project lookup by URL-encoded path,
// repository files with base64 content and the commit id, releases, CI
// YAML templates, the version), plus raw file URLs, for several hosts at
// once, and records each request for the test to check.
package gitlabfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is the fake instance (or instances: each host is served under
// /h/HOST, see URL).
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	projects map[string]*Project // by host + "/" + lower-cased path
	// Templates are the CI YAML templates API's, by key (Go, Bash).
	Templates map[string]string
	// Version is what GET /version answers.
	Version, Revision string
	// Token, when set, is the token every API request must carry
	// (PRIVATE-TOKEN or JOB-TOKEN) for a private project.
	Token    string
	requests []Request
	nextID   int
}

// Request is one request the server answered.
type Request struct {
	Host, Method, Path string // Path as sent, still escaped
	Query              url.Values
	// Token is the PRIVATE-TOKEN or JOB-TOKEN header's value.
	Token, TokenHeader string
	Status             int
}

// Project is one repository of the fake.
type Project struct {
	ID            int
	Path          string
	DefaultBranch string
	// Private projects answer 404 without the server's Token, as GitLab
	// hides them.
	Private  bool
	refs     map[string]string            // branch or tag → commit
	commits  map[string]map[string][]byte // commit → path → content
	releases []release
	// mu is the server's: a test may push while requests are answered.
	mu *sync.Mutex
}

type release struct{ tag, commit string }

// New starts a fake; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{projects: map[string]*Project{}, Templates: map[string]string{}, Version: "18.6.0-ee", Revision: "0123456789abcdef0123456789abcdef01234567"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// URL is the base URL of the instance at host.
func (s *Server) URL(host string) string { return s.Server.URL + "/h/" + host }

// Project adds (or returns) a project on host.
func (s *Server) Project(host, path string) *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := host + "/" + strings.ToLower(path)
	if p, ok := s.projects[key]; ok {
		return p
	}
	s.nextID++
	p := &Project{ID: s.nextID, Path: path, DefaultBranch: "main", refs: map[string]string{}, commits: map[string]map[string][]byte{}, mu: &s.mu}
	s.projects[key] = p
	return p
}

// Commit records files as a commit that ref (a branch or tag) names, and
// returns its id, a hash of the content.
func (p *Project) Commit(ref string, files map[string]string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := sha1.New()
	for _, name := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%s\x00", name, files[name])
	}
	fmt.Fprintf(h, "%s\x00", p.Path)
	id := hex.EncodeToString(h.Sum(nil))
	tree := map[string][]byte{}
	for name, data := range files {
		tree[strings.TrimPrefix(name, "/")] = []byte(data)
	}
	p.commits[id] = tree
	if ref != "" {
		p.refs[ref] = id
	}
	return id
}

// Head is the commit ref names.
func (p *Project) Head(ref string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refs[ref]
}

// Files are the files at ref, to build a next commit from.
func (p *Project) Files(ref string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for name, data := range p.commits[p.refs[ref]] {
		out[name] = string(data)
	}
	return out
}

// Release publishes a release of tag, at the commit tag names.
func (p *Project) Release(tag string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releases = append(p.releases, release{tag: tag, commit: p.refs[tag]})
}

// Requests are the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/h/")
	host, p, _ := strings.Cut(rest, "/")
	p = "/" + p
	tokenHeader, token := "PRIVATE-TOKEN", r.Header.Get("PRIVATE-TOKEN")
	if token == "" && r.Header.Get("JOB-TOKEN") != "" {
		tokenHeader, token = "JOB-TOKEN", r.Header.Get("JOB-TOKEN")
	}
	if token == "" {
		tokenHeader = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Recorded under s.mu, held until the handler returns.
	defer func() {
		s.requests = append(s.requests, Request{Host: host, Method: r.Method, Path: p, Query: r.URL.Query(), Token: token, TokenHeader: tokenHeader, Status: status})
	}()
	fail := func(code int, msg string) {
		status = code
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	if !ok || r.Method != http.MethodGet {
		fail(http.StatusNotFound, "404 Not Found")
		return
	}
	authorized := s.Token == "" || token == s.Token
	if s.Token != "" && token != "" && token != s.Token {
		fail(http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	api, isAPI := strings.CutPrefix(p, "/api/v4/")
	if !isAPI {
		// A raw file: /GROUP/PROJECT/-/raw/REF/PATH.
		proj, raw, found := strings.Cut(strings.TrimPrefix(p, "/"), "/-/raw/")
		ref, file, _ := strings.Cut(raw, "/")
		pr := s.lookup(host, unescape(proj), authorized)
		if !found || pr == nil {
			fail(http.StatusNotFound, "404 Not Found")
			return
		}
		data, ok := pr.file(unescape(ref), unescape(file))
		if !ok {
			fail(http.StatusNotFound, "404 File Not Found")
			return
		}
		w.Write(data)
		return
	}
	parts := strings.Split(api, "/")
	switch {
	case api == "version":
		if !authorized || token == "" {
			// GitLab asks for a token here.
			fail(http.StatusUnauthorized, "401 Unauthorized")
			return
		}
		reply(map[string]string{"version": s.Version, "revision": s.Revision})
	case len(parts) == 3 && parts[0] == "templates" && parts[1] == "gitlab_ci_ymls":
		key := unescape(parts[2])
		content, ok := s.Templates[key]
		if !ok {
			fail(http.StatusNotFound, "404 Template Not Found")
			return
		}
		reply(map[string]string{"name": key, "content": content})
	case len(parts) >= 2 && parts[0] == "projects":
		pr := s.lookup(host, unescape(parts[1]), authorized)
		if pr == nil {
			fail(http.StatusNotFound, "404 Project Not Found")
			return
		}
		switch {
		case len(parts) == 2:
			reply(map[string]any{"id": pr.ID, "path_with_namespace": pr.Path, "default_branch": pr.DefaultBranch})
		case len(parts) == 3 && parts[2] == "releases":
			var out []map[string]any
			for i := len(pr.releases) - 1; i >= 0; i-- { // newest first
				rel := pr.releases[i]
				out = append(out, map[string]any{"tag_name": rel.tag, "name": rel.tag, "commit": map[string]string{"id": rel.commit}})
			}
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			if page > 1 {
				out = nil
			}
			reply(out)
		case len(parts) == 5 && parts[2] == "repository" && parts[3] == "files":
			file := unescape(parts[4])
			ref := r.URL.Query().Get("ref")
			commit, ok := pr.resolve(ref)
			if !ok {
				fail(http.StatusNotFound, "404 Commit Not Found")
				return
			}
			data, ok := pr.commits[commit][file]
			if !ok {
				fail(http.StatusNotFound, "404 File Not Found")
				return
			}
			name := file[strings.LastIndex(file, "/")+1:]
			reply(map[string]any{
				"file_name": name, "file_path": file, "size": len(data), "encoding": "base64",
				"content": base64.StdEncoding.EncodeToString(data), "ref": ref,
				"blob_id": blobID(data), "commit_id": commit, "last_commit_id": commit,
			})
		default:
			fail(http.StatusNotFound, "404 Not Found")
		}
	default:
		fail(http.StatusNotFound, "404 Not Found")
	}
}

// lookup finds a project; the caller holds s.mu.
func (s *Server) lookup(host, path string, authorized bool) *Project {
	p := s.projects[host+"/"+strings.ToLower(path)]
	if p == nil || p.Private && !authorized {
		return nil
	}
	return p
}

func (p *Project) resolve(ref string) (string, bool) {
	if ref == "" {
		ref = p.DefaultBranch
	}
	if c, ok := p.refs[ref]; ok {
		return c, true
	}
	if _, ok := p.commits[ref]; ok {
		return ref, true
	}
	return "", false
}

func (p *Project) file(ref, path string) ([]byte, bool) {
	c, ok := p.resolve(ref)
	if !ok {
		return nil, false
	}
	data, ok := p.commits[c][path]
	return data, ok
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

func blobID(data []byte) string {
	h := sha1.Sum(fmt.Appendf(nil, "blob %d\x00%s", len(data), data))
	return hex.EncodeToString(h[:])
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
