// Package toolcache is gantry's tool cache: toolchains that setup-*
// actions provision, laid out as GitHub's runner lays out
// RUNNER_TOOL_CACHE (TOOL/VERSION/ARCH, with an ARCH.complete marker
// beside each finished version), shared by every job and run.
//
// A version appears all at once or not at all: it is fetched, verified and
// extracted into a temporary directory beside its place, and renamed into
// place only when whole. Jobs that provision the same version at once
// (threads of one gantry or several gantry processes) take a lock file: one
// fetches, the others wait and then use what it left.
package toolcache
