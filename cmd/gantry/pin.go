package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry/providers/github"
	"github.com/gantry-ci/gantry/translate"
	"github.com/spf13/cobra"
)

// githubFlags reach the GitHub API.
type githubFlags struct {
	Token string
	API   string
}

func (f *githubFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Token, "github-token", "", "token for the GitHub API (default $GITHUB_TOKEN)")
	fl.StringVar(&f.API, "github-api", "", "a GitHub Enterprise API address (default api.github.com; $GITHUB_API_URL)")
}

// remote is the GitHub API client the flags describe, with the action
// cache; actionDirs are OWNER/REPO@REF=PATH mappings.
func (f *githubFlags) remote(offline bool, actionDirs []string) (*github.Remote, error) {
	dirs := map[string]string{}
	for _, kv := range actionDirs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.Contains(k, "@") || v == "" {
			return nil, usagef("--action-dir %q: want OWNER/REPO@REF=PATH", kv)
		}
		abs, err := filepath.Abs(v)
		if err != nil {
			return nil, err
		}
		dirs[k] = abs
	}
	token, api := f.api()
	return github.NewRemote(github.RemoteOptions{Token: token, BaseURL: api, Offline: offline, ActionDirs: dirs})
}

// api is the token and the API address the flags (or the environment:
// GITHUB_TOKEN, GITHUB_API_URL) give; "" for api.github.com.
func (f *githubFlags) api() (token, baseURL string) {
	token = f.Token
	if token == "" {
		token = os.Getenv("GITHUB_TOKEN")
	}
	baseURL = f.API
	if baseURL == "" {
		baseURL = os.Getenv("GITHUB_API_URL")
		if baseURL == "https://api.github.com" {
			baseURL = ""
		}
	}
	return token, baseURL
}

type pinOptions struct {
	Check  bool
	JSON   bool
	GitHub githubFlags
	Dir    string
}

func newPinCmd(io *IO) *cobra.Command {
	opts := &pinOptions{}
	cmd := &cobra.Command{
		Use:   "pin [FILE...]",
		Short: "Pin the actions and reusable workflows of GitHub workflows to commit SHAs",
		Long: `Pin rewrites every third-party uses: of the workflows (by default
.github/workflows/*.yml) that names a tag or a branch to the full commit SHA
the ref names now, with the ref as a trailing comment:

    uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2

Nothing else of a file changes: comments, quoting, order and blank lines
stay byte for byte. Refs are resolved through the GitHub API (--github-token
or $GITHUB_TOKEN, --github-api for GitHub Enterprise).

Exit codes: 0 done (with --check: everything is pinned), 1 something is
unpinned (--check), 2 usage, 3 the API failed.`,
		Example: `  gantry pin
  gantry pin --check                 # in CI: fail while anything is unpinned
  gantry pin .github/workflows/release.yml --json`,
		RunE: func(cmd *cobra.Command, files []string) error {
			return runPin(cmd.Context(), io, files, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "change nothing; exit 1 when a uses: is not pinned")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the changes as JSON")
	cmd.Flags().StringVar(&opts.Dir, "dir", ".", "the repository, for the default files")
	opts.GitHub.register(cmd)
	return cmd
}

func runPin(ctx context.Context, io *IO, files []string, opts *pinOptions) error {
	if len(files) == 0 {
		for _, f := range translate.Discover(opts.Dir) {
			if f.Provider.Name == "github" {
				files = append(files, f.Path)
			}
		}
		if len(files) == 0 {
			return usagef("no workflow found: name files, or run in a repository with .github/workflows/*.yml")
		}
	}
	remote, err := opts.GitHub.remote(false, nil)
	if err != nil {
		return err
	}
	type fileChanges struct {
		File    string             `json:"file"`
		Changes []github.PinChange `json:"changes"`
	}
	var all []fileChanges
	unpinned := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		resolve := remote.ResolveRef
		if opts.Check {
			// --check asks nothing of the API: every ref that is not a SHA
			// is unpinned.
			resolve = func(_ context.Context, owner, repo, ref string) (string, error) {
				return "0000000000000000000000000000000000000000", nil
			}
		}
		out, changes, err := github.Pin(ctx, data, resolve)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		unpinned += len(changes)
		all = append(all, fileChanges{File: f, Changes: changes})
		if opts.JSON {
			continue
		}
		for _, c := range changes {
			if opts.Check {
				fmt.Fprintf(io.Out, "%s:%d: %s is not pinned to a commit SHA\n", f, c.Line, c.Uses)
			} else {
				fmt.Fprintf(io.Out, "%s:%d: %s → %s\n", f, c.Line, c.Uses, c.SHA)
			}
		}
		if !opts.Check && len(changes) > 0 {
			if err := os.WriteFile(f, out, 0o644); err != nil {
				return err
			}
		}
	}
	if opts.JSON {
		b, _ := json.MarshalIndent(all, "", "  ")
		fmt.Fprintln(io.Out, string(b))
	}
	if opts.Check && unpinned > 0 {
		return failedError{fmt.Sprintf("%d uses: not pinned to a commit SHA (gantry pin pins them)", unpinned)}
	}
	return nil
}
