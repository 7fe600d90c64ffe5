package runner

import (
	"os"
	"path/filepath"
)

// memoryDir is where scratch directories go when the machine keeps one in
// memory (tmpfs). Each step makes its protocol's five files and a script:
// on a disk those creations were most of the runner's own cost per step.
var memoryDir = "/dev/shm"

// scratchDir makes the default Options.ScratchDir of a run: private to it
// (0700: scripts may hold secrets), in memory when it can be, and returns
// what removes it.
func scratchDir(runDir string) (string, func()) {
	if st, err := os.Stat(memoryDir); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp(memoryDir, "gantry-"+filepath.Base(runDir)+"-"); err == nil {
			return dir, func() { os.RemoveAll(dir) }
		}
	}
	return filepath.Join(runDir, "nodes"), func() {}
}
