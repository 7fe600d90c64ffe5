package github

import (
	"regexp"
	"testing"
)

// FuzzTopKeys: topKeys answers as the regular expressions it replaced did.
func FuzzTopKeys(f *testing.F) {
	on := regexp.MustCompile(`(?m)^["']?on["']?:`)
	jobs := regexp.MustCompile(`(?m)^jobs:`)
	for _, s := range []string{"on: push\njobs: {}\n", "\"on\": x\r\njobs:\n", "'on:\njobs:", "on\":\njobs:", " on:\njobs:",
		"jobs:\non:", "on:", "\"\"on:\njobs:", "onx:\njobs:", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := on.Match(data) && jobs.Match(data)
		if got := topKeys(data); got != want {
			t.Errorf("topKeys(%q) = %v, the regular expressions say %v", data, got, want)
		}
	})
}
