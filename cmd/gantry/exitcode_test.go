package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want int
		says string
	}{
		{name: "success", want: exitOK},
		{name: "a failed job", err: failedError{"a job failed"}, want: exitFindings, says: "a job failed"},
		{name: "a bad command line", err: usagef("no such flag"), want: exitUsage},
		{name: "a lost engine and nothing else failed", err: infraError{"an infrastructure failure, not the pipeline's: build: the BuildKit engine at tcp://x was lost"},
			want: exitInternal, says: "the BuildKit engine at tcp://x was lost"},
		{name: "gantry's own failure", err: errors.New("boom"), want: exitInternal, says: "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			if got := report(newIO(nil, &bytes.Buffer{}, &stderr), tc.err, false); got != tc.want {
				t.Errorf("exit %d, want %d", got, tc.want)
			}
			if !strings.Contains(stderr.String(), tc.says) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.says)
			}
			if _, ok := tc.err.(infraError); ok && strings.Contains(stderr.String(), "internal error") {
				t.Errorf("an infrastructure failure is called gantry's internal error: %q", stderr.String())
			}
		})
	}
}

// The summary tells an infrastructure failure from a failed step, in text
// and in --json.
func TestSummaryInfrastructure(t *testing.T) {
	t.Parallel()
	res := &runner.Result{Pipeline: "ci", InfrastructureFailed: true, Nodes: []runner.NodeResult{
		{ID: "build", Status: dag.StatusFailure, Reason: "the BuildKit engine at tcp://x was lost", Infrastructure: true},
		{ID: "test", Status: dag.StatusSkipped, Reason: "a job it needs did not succeed"},
	}}
	var text, js bytes.Buffer
	printSummary(&text, res, summaryOptions{})
	if !strings.Contains(text.String(), "failure (infrastructure)") {
		t.Errorf("text summary:\n%s", text.String())
	}
	printSummary(&js, res, summaryOptions{json: true})
	var got struct {
		Infra bool `json:"infrastructure_failed"`
		Nodes []struct {
			ID    string `json:"id"`
			Infra bool   `json:"infrastructure"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Infra || len(got.Nodes) != 2 || !got.Nodes[0].Infra || got.Nodes[1].Infra {
		t.Errorf("json summary: %s", js.String())
	}
}
