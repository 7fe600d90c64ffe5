package github

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// PinChange is one uses: that Pin rewrote, or would.
type PinChange struct {
	Line int    `json:"line"`
	Uses string `json:"uses"`
	Ref  string `json:"ref"`
	SHA  string `json:"sha"`
}

// RefResolver gives the commit SHA that a ref of a repository names.
type RefResolver func(ctx context.Context, owner, repo, ref string) (string, error)

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// usesLine is a line holding a uses: key: its indentation (and list dash),
// the value (maybe quoted) and what follows it.
var usesLine = regexp.MustCompile(`^(\s*(?:-\s+)?uses:\s*)("[^"]*"|'[^']*'|[^\s#]+)(.*)$`)

// Pin rewrites every third-party uses: of a workflow (steps' actions and
// reusable workflows) that names a tag or a branch to the full commit SHA
// it names now, with the original ref as a trailing comment (kept as it is
// when the line has a comment already). Nothing else of the file changes:
// comments, quoting, order and blank lines stay byte for byte. Local
// (./...) and docker:// references, and refs that are already full SHAs,
// are left alone.
func Pin(ctx context.Context, data []byte, resolve RefResolver) ([]byte, []PinChange, error) {
	wf, errs := actionlint.Parse(data)
	if wf == nil {
		if len(errs) > 0 {
			return nil, nil, fmt.Errorf("%d:%d: %s", errs[0].Line, errs[0].Column, errs[0].Message)
		}
		return nil, nil, fmt.Errorf("not a workflow")
	}
	// The lines where actionlint saw a uses:, so that text in a script that
	// looks like one is never touched.
	lines := map[int]string{}
	for _, j := range wf.Jobs {
		if j == nil {
			continue
		}
		if j.WorkflowCall != nil && j.WorkflowCall.Uses != nil && j.WorkflowCall.Uses.Pos != nil {
			lines[j.WorkflowCall.Uses.Pos.Line] = j.WorkflowCall.Uses.Value
		}
		for _, s := range j.Steps {
			if a, ok := s.Exec.(*actionlint.ExecAction); ok && a.Uses != nil && a.Uses.Pos != nil {
				lines[a.Uses.Pos.Line] = a.Uses.Value
			}
		}
	}
	nums := make([]int, 0, len(lines))
	for n := range lines {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	src := bytes.SplitAfter(data, []byte("\n"))
	var changes []PinChange
	for _, n := range nums {
		uses := lines[n]
		spec, ref, ok := strings.Cut(uses, "@")
		if !ok || strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "docker://") || fullSHA.MatchString(ref) || strings.Contains(uses, "${{") {
			continue
		}
		parts := strings.SplitN(spec, "/", 3)
		if len(parts) < 2 || n-1 >= len(src) {
			continue
		}
		line := string(src[n-1])
		eol := ""
		for _, suffix := range []string{"\r\n", "\n"} {
			if strings.HasSuffix(line, suffix) {
				line, eol = strings.TrimSuffix(line, suffix), suffix
				break
			}
		}
		m := usesLine.FindStringSubmatch(line)
		if m == nil || strings.Trim(m[2], `"'`) != uses {
			continue // a flow mapping or a key spread over lines: left alone
		}
		sha, err := resolve(ctx, parts[0], parts[1], ref)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %s: %w", n, uses, err)
		}
		value := strings.Replace(m[2], "@"+ref, "@"+sha, 1)
		rest := m[3]
		if !strings.Contains(rest, "#") {
			rest = strings.TrimRight(rest, " \t") + " # " + ref
		}
		src[n-1] = []byte(m[1] + value + rest + eol)
		changes = append(changes, PinChange{Line: n, Uses: uses, Ref: ref, SHA: sha})
	}
	return bytes.Join(src, nil), changes, nil
}
