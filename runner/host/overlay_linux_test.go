package host

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mainThreadEnv makes the test binary, re-run by
// TestMountNSNotOnMainThread, start a namespace from the process's main
// thread before any test runs.
const mainThreadEnv = "GANTRY_TEST_NS_FROM_MAIN_THREAD"

func init() {
	dir := os.Getenv(mainThreadEnv)
	if dir == "" {
		return
	}
	// init runs on the main thread; locked, it stays there.
	runtime.LockOSThread()
	ns := &mountNS{fns: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	ns.run(errc)
	if err := <-errc; err != nil {
		fmt.Println("skip:", err)
		os.Exit(0)
	}
	var merr error
	if err := ns.do(func() { merr = unix.Mount("tmpfs", dir, "tmpfs", 0, "") }); err != nil || merr != nil {
		fmt.Println("mount:", err, merr)
		os.Exit(1)
	}
	info, _ := os.ReadFile("/proc/self/mountinfo")
	fmt.Printf("main=%v seen=%v\n", ns.tid == unix.Getpid(), strings.Contains(string(info), " "+dir+" "))
	ns.close()
	os.Exit(0)
}

// TestMountNSNotOnMainThread: a namespace asked for while the goroutine
// is on the main thread is made on another one, so that /proc/self (the
// main thread's view) still shows the machine's mounts and the main
// thread is not parked in a job's namespace for good.
func TestMountNSNotOnMainThread(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainThreadEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if strings.HasPrefix(got, "skip:") {
		t.Skip(got)
	}
	if got != "main=false seen=false" {
		t.Errorf("a namespace asked for on the main thread: %s, want main=false seen=false", got)
	}
}
