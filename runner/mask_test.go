package runner

import (
	"bytes"
	"strings"
	"testing"
)

func TestMaskerSplitWrites(t *testing.T) {
	t.Parallel()
	var m Masker
	m.Add("hunter2-secret", "x")
	var out bytes.Buffer
	w := m.Writer(&out)
	for _, chunk := range []string{"token=hunt", "er2-sec", "ret and again hunter2-", "secret\npartial hunter2-se", "cret"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "hunter2") {
		t.Fatalf("secret leaked: %q", got)
	}
	if want := "token=*** and again ***\npartial ***"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMaskerMultiline(t *testing.T) {
	t.Parallel()
	var m Masker
	m.Add("line-one\nline-two")
	if got := m.Mask("a line-two b line-one"); got != "a *** b ***" {
		t.Errorf("got %q", got)
	}
}
