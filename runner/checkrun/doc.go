// Package checkrun reports a run's nodes as GitHub check runs on a commit
// (gantry run --report github): each node in progress when it starts, and
// completed with its conclusion, duration, step summary and annotations
// when it ends. It is a runner.Reporter that talks to the GitHub API
// through go-github; it knows the runner's results, not the pipeline's
// provider, so a GitLab pipeline run in GitHub Actions reports the same way.
package checkrun
