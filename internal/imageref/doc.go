// Package imageref parses the image references gantry takes wherever an
// image is named (a node's image, a service's, a docker:// step or
// action, a Dockerfile's FROM, -P LABEL=IMAGE): a registry reference,
// rootfs://DIR (a root filesystem directory) or oci-layout://DIR[:TAG] (an
// OCI image layout directory). It is the one parser of those forms; the
// BuildKit executor, gantry lock and the CLI all use it.
//
// Registry references are normalised as Docker normalises them
// (github.com/distribution/reference, the library Docker and BuildKit
// use): a name without a registry host is on Docker Hub, an official
// image's name gains library/, and a reference with neither tag nor
// digest is :latest. So alpine is docker.io/library/alpine:latest,
// catthehacker/ubuntu:act-latest is docker.io/catthehacker/ubuntu:act-latest
// (catthehacker is a Docker Hub user, not a host: a host has a '.' or a
// ':' or is localhost), and localhost:5000/x and ghcr.io/o/x keep theirs.
package imageref
