//go:build unix

package host

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

const processGroups = true

const sigterm = syscall.SIGTERM

// errNotSupported is for systems without process groups.
var errNotSupported = errors.New("not supported on this system")

// sysProcAttr puts a command in a process group of its own, whose id is
// its pid.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to every process in the group; os.ErrProcessDone
// when there is none.
func signalGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// exitCode is a process's exit status, or 128+signal when a signal ended
// it, as shells report it.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// endGroup ends the processes of a group: SIGTERM (when term is set; the
// caller has sent it otherwise), then SIGKILL to whatever is still alive
// after grace or once ctx is done.
func endGroup(ctx context.Context, pgid int, grace time.Duration, term bool) {
	if term {
		if !groupAlive(pgid) {
			return
		}
		_ = signalGroup(pgid, syscall.SIGTERM)
	}
	// A stopped process acts on SIGTERM only once continued.
	_ = signalGroup(pgid, syscall.SIGCONT)
	if waitGone(ctx, pgid, grace) {
		return
	}
	_ = signalGroup(pgid, syscall.SIGKILL)
	waitGone(context.Background(), pgid, 2*time.Second)
}

// waitGone waits until the group has no live process, for at most d or
// until ctx is done, and reports whether it has none.
func waitGone(ctx context.Context, pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	pause := time.Millisecond
	for {
		if !groupAlive(pgid) {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			return false
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// processAlive reports whether a process with this id exists (a zombie
// counts; EPERM means it exists and is another user's).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
