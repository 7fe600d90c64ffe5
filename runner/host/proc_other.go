//go:build !unix

package host

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// Without process groups, Exec refuses to run rather than leave a
// cancelled step's children behind.
const processGroups = false

const sigterm = syscall.Signal(15)

var errNotSupported = errors.New("the host executor needs a Unix system")

func sysProcAttr() *syscall.SysProcAttr                  { return nil }
func signalGroup(int, syscall.Signal) error              { return errNotSupported }
func exitCode(ps *os.ProcessState) int                   { return ps.ExitCode() }
func endGroup(context.Context, int, time.Duration, bool) {}
func groupAlive(int) bool                                { return false }

// processAlive is true: without a way to ask, nothing is swept.
func processAlive(int) bool { return true }
