package runner

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// A job's runs-on labels say which operating system and architecture it
// wants (GitHub-hosted labels: ubuntu-*, windows-*, macos-*, *-arm; the
// self-hosted ones: linux, windows, macOS, X64, ARM64). A job this machine
// cannot give them to is skipped with the reason, unless its label is
// mapped to an image (-P) or --platform-host runs it here anyway: a
// windows-latest job must not run `git config --global` on a Linux
// developer's machine, nor a macos-latest one pass as if it ran on macOS.

// wantedPlatform is the OS (GOOS spelling) and architecture (GOARCH) a
// node's labels ask for; "" for either means any.
func wantedPlatform(labels string) (goos, goarch string) {
	for _, l := range strings.Split(labels, ",") {
		l = strings.ToLower(strings.TrimSpace(l))
		switch {
		case strings.HasPrefix(l, "macos"):
			goos = "darwin"
			if strings.HasSuffix(l, "-large") || strings.HasSuffix(l, "-intel") || l == "macos-13" {
				goarch = "amd64"
			} else if l != "macos" {
				goarch = "arm64" // GitHub's macos-14 and later run on Apple silicon
			}
		case strings.HasPrefix(l, "windows"):
			goos = "windows"
		case strings.HasPrefix(l, "ubuntu"), l == "linux":
			goos = "linux"
		}
		switch {
		case l == "arm64" || strings.HasSuffix(l, "-arm") || strings.HasSuffix(l, "-arm64"):
			goarch = "arm64"
		case l == "arm":
			goarch = "arm"
		case l == "x64" || l == "amd64":
			goarch = "amd64"
		}
	}
	return goos, goarch
}

var osNames = map[string]string{"darwin": "macOS", "windows": "Windows", "linux": "Linux"}

// platformMismatch says why this machine cannot run a job with these
// labels, or "" when it can (or the labels say nothing it can check).
func platformMismatch(labels string, mapped []string) string {
	if labels == "" || slices.Contains(mapped, labels) {
		return ""
	}
	goos, goarch := wantedPlatform(labels)
	var want []string
	if goos != "" && goos != runtime.GOOS {
		want = append(want, osNames[goos])
	}
	if goarch != "" && goarch != runtime.GOARCH {
		want = append(want, goarch)
	}
	if len(want) == 0 {
		return ""
	}
	return fmt.Sprintf("runs-on %q asks for %s, and this machine is %s/%s: map the label to an image with -P %s=IMAGE, or run it here anyway with --platform-host",
		labels, strings.Join(want, " on "), runtime.GOOS, runtime.GOARCH, labels)
}

// runnerOS and runnerArch are RUNNER_OS and RUNNER_ARCH as GitHub spells
// them, for this machine.
func runnerOS() string {
	switch runtime.GOOS {
	case "darwin":
		return "macOS"
	case "windows":
		return "Windows"
	}
	return "Linux"
}

func runnerArch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "ARM64"
	case "arm":
		return "ARM"
	case "386":
		return "X86"
	}
	return "X64"
}
