// Package imageref parses the image references gantry takes wherever an
// image is named (a node's image, a service's, -P LABEL=IMAGE): a registry
// reference, rootfs://DIR (a root filesystem directory) or
// oci-layout://DIR[:TAG] (an OCI image layout directory). It is the one
// parser of those forms; the BuildKit executor, gantry lock and the CLI
// all use it.
package imageref
