// Package s3fake serves an S3-compatible API on 127.0.0.1 for tests and
// benchmarks of BuildKit's s3 cache backend: gofakes3, path-style
// addressing, one bucket whose objects are files under a directory (so
// that a test can read what was stored). BuildKit speaks to it as to AWS:
// signed requests (any keys are taken), multipart uploads, copies.
package s3fake

import (
	"net"
	"net/http"
	"path/filepath"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// Server is a running fake.
type Server struct {
	// URL is its endpoint (http://127.0.0.1:PORT).
	URL string
	srv *http.Server
}

// Start serves bucket, its objects kept under dir/objects (their
// metadata under dir/meta), until Close.
func Start(dir, bucket string) (*Server, error) {
	objects, err := s3afero.NewBasePathFs(afero.NewOsFs(), filepath.Join(dir, "objects"), s3afero.FsPathCreateAll)
	if err != nil {
		return nil, err
	}
	meta, err := s3afero.NewBasePathFs(afero.NewOsFs(), filepath.Join(dir, "meta"), s3afero.FsPathCreateAll)
	if err != nil {
		return nil, err
	}
	backend, err := s3afero.SingleBucket(bucket, objects, meta)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: gofakes3.New(backend).Server()}}
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }
