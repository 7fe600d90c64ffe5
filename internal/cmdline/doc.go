// Package cmdline splits command lines as GitHub's runner has them split
// (.NET's rules for a process's argument string, not a shell's): the
// options of job and service containers, and the args of a docker:// step.
package cmdline
