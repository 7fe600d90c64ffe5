package main

import (
	"net"
	"net/http"
	"path/filepath"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/afero"
)

// startS3 serves an S3-compatible API on 127.0.0.1 (gofakes3, path-style
// addressing), with one bucket, "gantry", whose objects are files under
// dir, and returns its URL. BuildKit's s3 cache backend speaks to it as to
// AWS: signed requests, multipart uploads, copies. It stops when the
// script ends.
func startS3(ts *testscript.TestScript, dir string) string {
	objects, err := s3afero.NewBasePathFs(afero.NewOsFs(), filepath.Join(dir, "objects"), s3afero.FsPathCreateAll)
	ts.Check(err)
	meta, err := s3afero.NewBasePathFs(afero.NewOsFs(), filepath.Join(dir, "meta"), s3afero.FsPathCreateAll)
	ts.Check(err)
	backend, err := s3afero.SingleBucket("gantry", objects, meta)
	ts.Check(err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: gofakes3.New(backend).Server()}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
