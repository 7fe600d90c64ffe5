// Package node provisions Node.js into the tool cache as actions/setup-node
// does on GitHub, from Node's distribution: the release index (index.json)
// and each release's linux tarball, checked against the release's
// SHASUMS256.txt before anything of it enters the cache. The distribution
// is https://nodejs.org/dist or a mirror laid out the same way.
package node
