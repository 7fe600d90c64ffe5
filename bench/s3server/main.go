// Command s3server serves an S3-compatible API on 127.0.0.1 for
// bench/buildkit-shared.sh (see internal/s3fake): one bucket, its objects
// under DIR. It prints its URL, then serves until it is stopped.
//
// Usage: go run ./bench/s3server DIR BUCKET
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gantry-ci/gantry/internal/s3fake"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: s3server DIR BUCKET")
		os.Exit(2)
	}
	s, err := s3fake.Start(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3server:", err)
		os.Exit(1)
	}
	fmt.Println(s.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	s.Close()
}
