// Package translate is the one entry point from source files to pipelines:
// it finds which provider owns a file (GitHub Actions, GitLab CI, or a
// gantry DAG itself) and asks that provider to translate it.
//
// Adding a provider is one folder under providers/ plus one line in the
// registry in registry.go.
package translate
