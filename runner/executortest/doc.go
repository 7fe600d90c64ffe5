// Package executortest is the conformance suite of runner.Executor: the
// behaviour every executor (host, buildkit) must have, checked the same way
// for each. An executor's tests call Run with a constructor.
//
// The suite's commands need a POSIX shell and the commands env, cat, sleep
// and pwd in the executor's environment, as busybox provides them.
package executortest
