//go:build !linux

package mounts

// Under lists nothing where mounts are not read.
func Under(dir string) ([]string, error) { return nil, nil }

// DetachUnder does nothing where mounts are not read.
func DetachUnder(dir string) error { return nil }
