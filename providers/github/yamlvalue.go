package github

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/expr"
	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// actionlint keeps matrix values as text with object keys lower-cased: it
// knows neither that 3.10 was written unquoted (a number on GitHub, 3.1)
// nor that a key was Name. The values are read again from the workflow's
// own YAML nodes, found by the positions actionlint took from them, as
// GitHub's runner reads them.

// nodeKey finds a node by where it starts and what it is: a block mapping
// starts where its first key does.
type nodeKey struct {
	line, col int
	kind      yaml.Kind
}

// yamlNode is the workflow's node that actionlint read v from, or nil
// (another file's value, or an alias).
func (t *translator) yamlNode(v actionlint.RawYAMLValue) *yaml.Node {
	if t.nodes == nil {
		t.nodes = map[nodeKey]*yaml.Node{}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n == nil {
				return
			}
			k := nodeKey{n.Line, n.Column, n.Kind}
			if _, seen := t.nodes[k]; !seen {
				t.nodes[k] = n
			}
			if n.Kind != yaml.AliasNode {
				for _, c := range n.Content {
					walk(c)
				}
			}
		}
		// The text actionlint parsed, whose positions it has.
		src := t.src
		if t.prep != nil && t.prep.src != nil {
			src = t.prep.src
		}
		var doc yaml.Node
		if yaml.Unmarshal(src, &doc) == nil {
			walk(&doc)
		}
	}
	p := v.Pos()
	if p == nil {
		return nil
	}
	kind := yaml.ScalarNode
	switch v.(type) {
	case *actionlint.RawYAMLObject:
		kind = yaml.MappingNode
	case *actionlint.RawYAMLArray:
		kind = yaml.SequenceNode
	}
	return t.nodes[nodeKey{p.Line, p.Col, kind}]
}

// propKeys maps an object's lower-cased keys, as actionlint has them, to
// the keys as written.
func (t *translator) propKeys(v *actionlint.RawYAMLObject) map[string]string {
	out := make(map[string]string, len(v.Props))
	for k := range v.Props {
		out[k] = k
	}
	if n := t.yamlNode(v); n != nil {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, ok := out[strings.ToLower(k)]; ok {
				out[strings.ToLower(k)] = k
			}
		}
	}
	return out
}

// githubScalar is a scalar as GitHub's runner reads it (YamlObjectReader,
// the YAML 1.2 core schema): a quoted or block scalar is a string; a
// plain one is null, a boolean or a number when it matches those forms
// (3.10 is the number 3.1, 0x1F is 31, 007 is 7), else a string.
func githubScalar(n *yaml.Node) any {
	s := n.Value
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 || n.Tag == "!!str" && n.Style&yaml.TaggedStyle != 0 {
		return s
	}
	switch s {
	case "", "null", "Null", "NULL", "~":
		return nil
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	// .inf and .nan stay strings: a DAG is JSON, which has no such
	// numbers.
	if f, ok := yamlNumber(s); ok {
		return f
	}
	return s
}

// yamlNumber reads the core schema's integers ([-+]?[0-9]+, 0x.., 0o..)
// and floats ([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?).
func yamlNumber(s string) (float64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') {
		base := 16
		if s[1] == 'o' {
			base = 8
		}
		if strings.ContainsAny(s[2:], "+-_") {
			return 0, false
		}
		n, err := strconv.ParseInt(s[2:], base, 32)
		return float64(n), err == nil
	}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	whole := digits()
	frac := false
	if i < len(s) && s[i] == '.' {
		i++
		frac = digits()
	}
	if !whole && !frac {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// yamlValue is a node as GitHub reads it: scalars by githubScalar,
// mappings with their keys as written.
func yamlValue(n *yaml.Node) any {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = yamlValue(n.Content[i+1])
		}
		return out
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = yamlValue(c)
		}
		return out
	case yaml.ScalarNode:
		return githubScalar(n)
	}
	return nil
}

// warnNumbers warns, once per scalar, about plain scalars under n that
// GitHub reads as numbers which print otherwise than written (3.10 is
// 3.1, 1.20 is 1.2): the classic surprise of version matrices.
func (t *translator) warnNumbers(n *yaml.Node) {
	if n == nil || t.warnedNumbers[n] {
		return
	}
	if t.warnedNumbers == nil {
		t.warnedNumbers = map[*yaml.Node]bool{}
	}
	t.warnedNumbers[n] = true
	switch n.Kind {
	case yaml.ScalarNode:
		f, isNum := githubScalar(n).(float64)
		if !isNum {
			return
		}
		if shown := expr.FormatNumber(f); shown != n.Value {
			t.warnf(&actionlint.Pos{Line: n.Line, Col: n.Column}, "matrix-number", "matrix value %s is the number %s on GitHub (an unquoted YAML number), and reads %q in expressions and job names", n.Value, shown, shown).
				Hint = fmt.Sprintf("quote it (%q) to keep the text as written", n.Value)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			t.warnNumbers(n.Content[i])
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			t.warnNumbers(c)
		}
	}
}
