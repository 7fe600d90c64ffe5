// Package translate is the one entry point from source files to pipelines
// and back to provider files: the registry of providers (registry.go) says
// which provider owns a file (GitHub Actions, GitLab CI, or a gantry DAG
// itself), where each keeps its files in a repository (Discover), how it
// translates them, and how it writes the thin trigger file that runs a
// pipeline with gantry (Emit, Target); DAGPath is the one rule naming a
// translated file's DAG in the repository.
//
// Adding a provider is one folder under providers/ plus one Provider value
// (its adapter, in providers.go) and one line in the registry.
package translate
