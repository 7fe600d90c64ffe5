package main

import (
	"github.com/gantry-ci/gantry/internal/s3fake"
	"github.com/rogpeppe/go-internal/testscript"
)

// startS3 serves an S3-compatible API of the script's own (see
// internal/s3fake) with one bucket, "gantry", its objects under dir, and
// returns its URL. It stops when the script ends.
func startS3(ts *testscript.TestScript, dir string) string {
	s, err := s3fake.Start(dir, "gantry")
	ts.Check(err)
	ts.Defer(func() { s.Close() })
	return s.URL
}
