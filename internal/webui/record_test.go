package webui

import (
	"encoding/json"
	"testing"
)

// appendJSONString writes what encoding/json would decode back to what
// json.Marshal reads the string as.
func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "<b>&amp;</b>", "é ✓ 日本", "bad \xff\xfe utf-8", "\u2028\u2029", "\x1b[31mred\x1b[0m"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q: %s is not JSON: %v", s, b, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantS string
		json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Errorf("%q: decodes to %q, json.Marshal's to %q", s, got, wantS)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\n\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("%q: %q, want %q", s, got, wantS)
		}
	})
}
