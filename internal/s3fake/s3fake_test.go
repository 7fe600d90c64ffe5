package s3fake

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoresObjectsAsFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(dir, "cache")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/cache/blobs/one", strings.NewReader("layer bytes"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s", resp.Status)
	}
	resp, err = http.Get(s.URL + "/cache/blobs/one")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "layer bytes" {
		t.Fatalf("GET: %q", got)
	}
	data, err := os.ReadFile(filepath.Join(dir, "objects", "blobs", "one"))
	if err != nil || string(data) != "layer bytes" {
		t.Fatalf("the object's file: %q, %v", data, err)
	}
	resp, err = http.Get(s.URL + "/other/blobs/one")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another bucket: %s, want 404", resp.Status)
	}
}
