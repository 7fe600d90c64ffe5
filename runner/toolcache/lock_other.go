//go:build !unix

package toolcache

import "os"

// Without flock, the rename of a whole directory still keeps a version
// whole; two jobs may both fetch it.
func tryLock(*os.File) error { return nil }

func unlockFile(*os.File) {}
