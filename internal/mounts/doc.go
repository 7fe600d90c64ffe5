// Package mounts finds and detaches the mounts under a directory: what a
// BuildKit daemon killed in the middle of a step leaves mounted under its
// state directory (its containers' root filesystems and cache mounts),
// which would otherwise outlive the test that started it.
package mounts
