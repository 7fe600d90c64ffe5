// Package executortest is the conformance suite of runner.Executor: the
// behaviour every executor (host, buildkit) must have, checked the same way
// for each. An executor's tests call Run with a constructor.
//
// The suite's commands need a POSIX shell (sh) and env, cat, sleep, ls,
// mkdir, chmod, ln, rm and true in the executor's environment, all of which
// busybox provides. The source it copies, the state directory and the
// files the tests check are on the host.
package executortest
