package host

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Without root, a job's overlay lives in a user namespace of its own
// (unprivileged overlayfs, Linux 5.11 and later), which a multithreaded
// process cannot enter (setns and unshare of a user namespace want a
// single thread). So a helper process holds it: gantry itself, started
// again in a new user and mount namespace, with the user's own uid and
// gid mapped to themselves and CAP_SYS_ADMIN in that namespace only. It
// mounts the overlay, says so, and waits for its standard input to
// close. The job's commands enter its namespaces through nsenter (a
// single-threaded program, util-linux's), keeping the user's credentials
// and no capability; gantry sees the workspace at /proc/PID/root/DIR.
//
// Such an overlay takes its attributes from user.overlay.* and cannot
// redirect directories (the kernel refuses userxattr with redirect_dir):
// rename(2) of a directory that comes from the repository fails with
// EXDEV, as between two filesystems (mv copies then), and a hard link to
// one of its files reports another inode number than the file. In the
// user namespace, root is not mapped, so setuid programs (sudo) do not
// work. That is why --workspace=auto does not choose it.

// unprivileged says whether overlays are made the unprivileged way.
var unprivileged = os.Geteuid() != 0

// helperEnv names the variable that makes gantry's process the overlay
// helper (see init).
const helperEnv = "GANTRY_OVERLAY_HELPER"

func init() {
	if os.Getenv(helperEnv) != "1" || len(os.Args) != 3 {
		return
	}
	os.Exit(overlayHelper(os.Args[1], os.Args[2]))
}

// overlayHelper is the helper's life: mount data at dir, say "ready",
// wait for standard input to close, detach the overlay (processes the
// job left keep their working directory only) and end.
func overlayHelper(dir, data string) int {
	// gantry reads the workspace through /proc/PID/root.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "make the mount namespace private: %v\n", err)
		return 1
	}
	if err := unix.Mount("overlay", dir, "overlay", 0, data); err != nil {
		fmt.Fprintf(os.Stderr, "mount an overlay at %s (%s): %v\n", dir, data, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = unix.Unmount(dir, unix.MNT_DETACH)
	return 0
}

// helperCaps are the helper's capabilities, in its user namespace only:
// mounting, and what overlayfs asks of its mounter as it sets up its
// work directory (CAP_SYS_ADMIN alone is refused with EACCES).
var helperCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER}

// nsenterPath finds nsenter in PATH, else where util-linux puts it: a
// job's PATH need not have it.
func nsenterPath() (string, error) {
	p, err := exec.LookPath("nsenter")
	if err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/nsenter", "/bin/nsenter"} {
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", err
}

// nsHelper is a running overlay helper.
type nsHelper struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	nsenter string
}

// startHelper starts a helper that mounts data at dir.
func startHelper(dir, data string) (*nsHelper, error) {
	nsenter, err := nsenterPath()
	if err != nil {
		return nil, fmt.Errorf("%w: an overlay without root needs nsenter (util-linux) to run the job's commands in it: %v", errStrategy, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStrategy, err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	cmd := exec.Command(exe, dir, data)
	cmd.Env = []string{helperEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		AmbientCaps: helperCaps,
		Setpgid:     true,
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: a user namespace for the overlay: %v", errStrategy, err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%w: an overlay in a user namespace: %s", errStrategy, strings.TrimSpace(stderr.String()))
	}
	return &nsHelper{cmd: cmd, stdin: stdin, nsenter: nsenter}, nil
}

// enter is the command line that runs argv in the helper's namespaces,
// in dir, with the caller's credentials. nsenter opens the working
// directory before it enters: through /proc, so that it is the overlay's.
func (h *nsHelper) enter(dir string, argv []string) []string {
	return append([]string{h.nsenter, "--user", "--mount", "--preserve-credentials",
		"--target", strconv.Itoa(h.cmd.Process.Pid), "--wd=" + h.hostPath(dir), "--"}, argv...)
}

// hostPath is where the namespace's path p is seen from gantry.
func (h *nsHelper) hostPath(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", h.cmd.Process.Pid, p)
}

// stop ends the helper: the overlay is detached, and the namespace goes
// with the last of the job's processes.
func (h *nsHelper) stop() error {
	h.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("the overlay's helper: %v", err)
		}
		return nil
	case <-time.After(5 * time.Second):
		_ = h.cmd.Process.Kill()
		<-done
		return errors.New("the overlay's helper did not end; killed")
	}
}
