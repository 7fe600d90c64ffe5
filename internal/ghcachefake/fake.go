// Package ghcachefake is GitHub Actions' cache service for tests, as a
// runner's job sees it: the results service's Twirp API (version 2, the
// one GitHub serves since 2025: CreateCacheEntry, FinalizeCacheEntryUpload,
// GetCacheEntryDownloadURL, JSON over POST, as actions/toolkit's cache
// client calls it) and the blob storage behind its signed URLs, which
// speaks the part of Azure Blob Storage's REST API that uploads and
// downloads use (Put Block, Put Block List, Put Blob, Get Blob with a
// range). It checks the runtime token and the URLs' signatures, applies
// GitHub's key rules (an exact key, else the newest entry a restore key
// prefixes; an entry is immutable), and shows the test what it stored.
package ghcachefake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the fake service.
type Server struct {
	*httptest.Server
	// Token is the runtime token jobs get (ACTIONS_RUNTIME_TOKEN): a JWT
	// with the access scopes of a push to main, which clients read.
	Token string

	mu      sync.Mutex
	sig     string
	entries map[string]*entry // by key and version
	blocks  map[string][]byte // uncommitted blocks, by blob and block id
}

type entry struct {
	key, version string
	blob         []byte
	done         bool // finalized
	created      time.Time
	seq          int
}

// New starts the fake; Close stops it.
func New() *Server {
	s := &Server{entries: map[string]*entry{}, blocks: map[string][]byte{}, sig: randomHex()}
	s.Token = runtimeToken()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /twirp/github.actions.results.api.v1.CacheService/{method}", s.twirp)
	mux.HandleFunc("/blob/{name}", s.blob)
	s.Server = httptest.NewServer(mux)
	return s
}

// ResultsURL is what a job's ACTIONS_RESULTS_URL says.
func (s *Server) ResultsURL() string { return s.URL + "/" }

// Keys are the finalized entries' keys.
func (s *Server) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, e := range s.entries {
		if e.done {
			keys = append(keys, e.key)
		}
	}
	slices.Sort(keys)
	return keys
}

// Blobs are the finalized entries' contents.
func (s *Server) Blobs() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, e := range s.entries {
		if e.done {
			out = append(out, e.blob)
		}
	}
	return out
}

func (s *Server) twirp(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		twirpError(w, http.StatusUnauthorized, "unauthenticated", "no valid runtime token")
		return
	}
	var req struct {
		Key         string   `json:"key"`
		RestoreKeys []string `json:"restore_keys"`
		Version     string   `json:"version"`
		SizeBytes   int64    `json:"size_bytes"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Key == "" || req.Version == "" {
		twirpError(w, http.StatusBadRequest, "invalid_argument", "key and version are required")
		return
	}
	method := r.PathValue("method")
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.Key + "\x00" + req.Version
	switch method {
	case "CreateCacheEntry":
		if _, ok := s.entries[id]; ok {
			twirpError(w, http.StatusConflict, "already_exists", "cache entry with the same key, version, and scope already exists")
			return
		}
		e := &entry{key: req.Key, version: req.Version, created: time.Now(), seq: len(s.entries)}
		s.entries[id] = e
		writeJSON(w, map[string]any{"ok": true, "signed_upload_url": s.blobURL(e)})
	case "FinalizeCacheEntryUpload":
		e, ok := s.entries[id]
		if !ok || e.done {
			writeJSON(w, map[string]any{"ok": false})
			return
		}
		if int64(len(e.blob)) != req.SizeBytes {
			twirpError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("size %d does not match the %d bytes uploaded", req.SizeBytes, len(e.blob)))
			return
		}
		e.done = true
		writeJSON(w, map[string]any{"ok": true, "entry_id": strconv.Itoa(e.seq)})
	case "GetCacheEntryDownloadURL":
		e := s.match(req.Key, req.RestoreKeys, req.Version)
		if e == nil {
			writeJSON(w, map[string]any{"ok": false})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "signed_download_url": s.blobURL(e), "matched_key": e.key})
	default:
		twirpError(w, http.StatusNotFound, "bad_route", "no method "+method)
	}
}

// match is GitHub's lookup: the entry of the key, else the newest one a
// restore key prefixes, of the same version.
func (s *Server) match(key string, restore []string, version string) *entry {
	if e, ok := s.entries[key+"\x00"+version]; ok && e.done {
		return e
	}
	for _, prefix := range restore {
		var best *entry
		for _, e := range s.entries {
			if e.done && e.version == version && strings.HasPrefix(e.key, prefix) && (best == nil || e.seq > best.seq) {
				best = e
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func (s *Server) blobURL(e *entry) string {
	return s.URL + "/blob/" + hex.EncodeToString([]byte(e.key+"\x00"+e.version)) + "?sv=2024-08-04&sig=" + s.sig
}

// blob serves the signed URLs as Azure Blob Storage does.
func (s *Server) blob(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("sig") != s.sig {
		azureError(w, http.StatusForbidden, "AuthenticationFailed", "the signature does not match")
		return
	}
	raw, err := hex.DecodeString(r.PathValue("name"))
	if err != nil {
		azureError(w, http.StatusNotFound, "BlobNotFound", "no such blob")
		return
	}
	name := string(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		azureError(w, http.StatusNotFound, "BlobNotFound", "no such blob")
		return
	}
	w.Header().Set("x-ms-request-id", randomHex())
	w.Header().Set("x-ms-version", "2024-08-04")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Get("comp") == "block":
		data, err := io.ReadAll(r.Body)
		if err != nil || e.done {
			azureError(w, http.StatusBadRequest, "InvalidInput", "cannot write this blob")
			return
		}
		s.blocks[name+"\x00"+q.Get("blockid")] = data
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodPut && q.Get("comp") == "blocklist":
		var list struct {
			IDs []string `xml:",any"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&list); err != nil || e.done {
			azureError(w, http.StatusBadRequest, "InvalidXmlDocument", "a block list is expected")
			return
		}
		var blob []byte
		for _, id := range list.IDs {
			b, ok := s.blocks[name+"\x00"+id]
			if !ok {
				azureError(w, http.StatusBadRequest, "InvalidBlockList", "block "+id+" was not uploaded")
				return
			}
			blob = append(blob, b...)
		}
		for _, id := range list.IDs {
			delete(s.blocks, name+"\x00"+id)
		}
		e.blob = blob
		w.Header().Set("ETag", `"`+randomHex()+`"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodPut:
		data, err := io.ReadAll(r.Body)
		if err != nil || e.done {
			azureError(w, http.StatusBadRequest, "InvalidInput", "cannot write this blob")
			return
		}
		e.blob = data
		w.Header().Set("ETag", `"`+randomHex()+`"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		if !e.done {
			azureError(w, http.StatusNotFound, "BlobNotFound", "no such blob")
			return
		}
		data := e.blob
		status := http.StatusOK
		rng := r.Header.Get("x-ms-range")
		if rng == "" {
			rng = r.Header.Get("Range")
		}
		if from, to, ok := parseRange(rng, int64(len(data))); ok {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(data)))
			data = data[from : to+1]
			status = http.StatusPartialContent
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.Header().Set("ETag", `"fixed"`)
		w.Header().Set("Last-Modified", e.created.UTC().Format(http.TimeFormat))
		w.WriteHeader(status)
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	default:
		azureError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", r.Method)
	}
}

// parseRange reads "bytes=FROM-[TO]" for a blob of size n.
func parseRange(h string, n int64) (from, to int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(spec, "-")
	from, err := strconv.ParseInt(a, 10, 64)
	if err != nil || from < 0 || from >= n {
		return 0, 0, false
	}
	to = n - 1
	if b != "" {
		t, err := strconv.ParseInt(b, 10, 64)
		if err != nil || t < from {
			return 0, 0, false
		}
		to = min(to, t)
	}
	return from, to, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func twirpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "msg": msg})
}

func azureError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runtimeToken is a JWT as the runner's: the access scopes ("ac") of a
// push to main, valid for an hour. Clients read it without checking its
// signature, which is a fake's.
func runtimeToken() string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"ac":  `[{"Scope":"refs/heads/main","Permission":3}]`,
		"nbf": now.Add(-time.Minute).Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"iss": "vstoken.actions.githubusercontent.com",
	})
	return header + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString([]byte(randomHex()))
}
