//go:build unix && !linux

package host

import (
	"errors"
	"syscall"
)

// groupAlive reports whether a process group has a process.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
