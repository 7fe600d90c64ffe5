package ghcachefake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func call(t *testing.T, s *Server, token, method string, body map[string]any) (int, map[string]any) {
	t.Helper()
	dt, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/twirp/github.actions.results.api.v1.CacheService/"+method, bytes.NewReader(dt))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func put(t *testing.T, url, data string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(data))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// save makes a finalized entry of key with data.
func save(t *testing.T, s *Server, key, data string) {
	t.Helper()
	code, out := call(t, s, s.Token, "CreateCacheEntry", map[string]any{"key": key, "version": "v1"})
	if code != http.StatusOK || out["ok"] != true {
		t.Fatalf("CreateCacheEntry %s: %d %v", key, code, out)
	}
	if code := put(t, out["signed_upload_url"].(string), data); code != http.StatusCreated {
		t.Fatalf("upload %s: %d", key, code)
	}
	if code, out := call(t, s, s.Token, "FinalizeCacheEntryUpload", map[string]any{"key": key, "version": "v1", "size_bytes": len(data)}); code != http.StatusOK || out["ok"] != true {
		t.Fatalf("FinalizeCacheEntryUpload %s: %d %v", key, code, out)
	}
}

func TestKeyRules(t *testing.T) {
	s := New()
	defer s.Close()
	if code, _ := call(t, s, "not-the-token", "CreateCacheEntry", map[string]any{"key": "k", "version": "v1"}); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", code)
	}
	save(t, s, "index#1", "one")
	save(t, s, "index#2", "two")
	// An entry is immutable: the key is taken.
	if code, out := call(t, s, s.Token, "CreateCacheEntry", map[string]any{"key": "index#1", "version": "v1"}); code != http.StatusConflict || out["code"] != "already_exists" {
		t.Errorf("the same key again: %d %v, want 409 already_exists", code, out)
	}
	// A restore key prefix finds the newest; the exact key wins.
	for _, c := range []struct {
		key     string
		restore []string
		want    string
		tail    string // its content from byte 1
	}{
		{key: "index#", restore: []string{"index#"}, want: "index#2", tail: "wo"},
		{key: "index#1", restore: []string{"index#"}, want: "index#1", tail: "ne"},
		{key: "other", restore: []string{"other"}, want: ""},
	} {
		code, out := call(t, s, s.Token, "GetCacheEntryDownloadURL", map[string]any{"key": c.key, "restore_keys": c.restore, "version": "v1"})
		if code != http.StatusOK {
			t.Fatalf("lookup %s: %d", c.key, code)
		}
		if c.want == "" {
			if out["ok"] != false {
				t.Errorf("lookup %s: %v, want no entry", c.key, out)
			}
			continue
		}
		if out["matched_key"] != c.want {
			t.Errorf("lookup %s: matched %v, want %s", c.key, out["matched_key"], c.want)
		}
		url := out["signed_download_url"].(string)
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("x-ms-range", "bytes=1-")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || string(data) != c.tail {
			t.Errorf("download %s from byte 1: %d %q", c.want, resp.StatusCode, data)
		}
		// Without its signature the URL is refused.
		resp, err = http.Get(strings.Split(url, "?")[0])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("an unsigned URL: %d, want 403", resp.StatusCode)
		}
	}
	if got := strings.Join(s.Keys(), " "); got != "index#1 index#2" {
		t.Errorf("Keys: %q", got)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-", "bytes=1-3", "bytes=5-2", "bytes=-1", "bytes=9999999999999999999-", "items=0-1", ""} {
		f.Add(h, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, n int64) {
		from, to, ok := parseRange(h, n)
		if ok && (from < 0 || from > to || to >= n) {
			t.Fatalf("parseRange(%q, %d) = %d-%d: outside the blob", h, n, from, to)
		}
	})
}
