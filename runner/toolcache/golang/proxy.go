package golang

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
)

// Module is the module the Go toolchain is distributed as.
const Module = "golang.org/toolchain"

// ErrOff is returned when GOPROXY=off forbids a download.
var ErrOff = errors.New("module lookup disabled by GOPROXY=off")

// errNotFound is a proxy's 404 or 410: the next proxy of a "," list is
// tried.
var errNotFound = errors.New("not found")

// proxy is one entry of GOPROXY; anyError says the entry after it is
// tried on any error ("|"), not only when this one does not have it.
type proxy struct {
	url      string // "off", or a base URL (direct is directURL)
	anyError bool
}

// proxies parses GOPROXY as the go command does, for module.
func proxies(e Env) ([]proxy, error) {
	if module.MatchPrefixPatterns(e.GONOPROXY, Module) {
		return []proxy{{url: directURL}}, nil
	}
	var out []proxy
	s := strings.TrimSpace(e.GOPROXY)
	for s != "" {
		var entry string
		anyError := false
		if i := strings.IndexAny(s, ",|"); i >= 0 {
			entry, anyError, s = s[:i], s[i] == '|', s[i+1:]
		} else {
			entry, s = s, ""
		}
		entry = strings.TrimSpace(entry)
		switch entry {
		case "":
			continue
		case "off":
			out = append(out, proxy{url: "off"})
			continue
		case "direct":
			entry = directURL
		case "noproxy":
			// Only the go command's own test servers mean anything by it.
			continue
		}
		if !strings.Contains(entry, "://") {
			entry = "https://" + entry
		}
		u, err := url.Parse(entry)
		if err != nil || u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file" {
			return nil, fmt.Errorf("GOPROXY: invalid proxy URL %q", entry)
		}
		out = append(out, proxy{url: strings.TrimSuffix(entry, "/"), anyError: anyError})
	}
	if len(out) == 0 {
		return nil, errors.New("GOPROXY list is empty")
	}
	return out, nil
}

// fetch opens path (relative to a proxy's root, as "/golang.org/...") from
// the first proxy of the list that has it, as the go command goes down
// GOPROXY. It returns the proxy's URL too, for messages.
func (in *Installer) fetch(ctx context.Context, list []proxy, path string) (io.ReadCloser, int64, string, error) {
	var errs []error
	for _, p := range list {
		if p.url == "off" {
			errs = append(errs, ErrOff)
			break
		}
		body, size, err := in.open(ctx, p.url+path)
		if err == nil {
			return body, size, p.url, nil
		}
		errs = append(errs, err)
		if !p.anyError && !errors.Is(err, errNotFound) {
			break
		}
	}
	return nil, 0, "", errors.Join(errs...)
}

// open opens one URL: http(s) or file.
func (in *Installer) open(ctx context.Context, rawURL string) (io.ReadCloser, int64, error) {
	if rest, ok := strings.CutPrefix(rawURL, "file://"); ok {
		u, err := url.Parse(rawURL)
		if err == nil {
			rest = u.Path
		}
		f, err := os.Open(filepath.FromSlash(rest))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("reading %s: %w", rawURL, errNotFound)
		}
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			f.Close()
			return nil, 0, fmt.Errorf("reading %s: %w", rawURL, errNotFound)
		}
		return f, st.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	client := in.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", rawURL, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Body, resp.ContentLength, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		resp.Body.Close()
		return nil, 0, fmt.Errorf("reading %s: %s: %w", rawURL, resp.Status, errNotFound)
	}
	resp.Body.Close()
	return nil, 0, fmt.Errorf("reading %s: %s", rawURL, resp.Status)
}

// readAll fetches a small file through the proxies.
func (in *Installer) readAll(ctx context.Context, list []proxy, path string) ([]byte, string, error) {
	body, _, from, err := in.fetch(ctx, list, path)
	if err != nil {
		return nil, "", err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, 16<<20))
	return data, from, err
}
