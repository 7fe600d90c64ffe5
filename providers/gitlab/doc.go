// Package gitlab turns GitLab CI configuration (.gitlab-ci.yml and what it
// includes) into gantry pipelines.
//
// Files are read with gopkg.in/yaml.v3 at the node level, so every job,
// key and value keeps its file, line and column through anchors, merge
// keys, !reference tags, include, extends and default:. Rules, only and
// except become gantry rules whose conditions are expressions of package
// expr over the CI_* variables (env.CI_COMMIT_BRANCH, ...), evaluated by
// the runner.
package gitlab
