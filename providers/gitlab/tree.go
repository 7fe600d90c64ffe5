package gitlab

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/diag"
)

// kind is the shape of a value in a GitLab file.
type kind int

const (
	scalarKind kind = iota
	mapKind
	seqKind
	refKind // a !reference [job, key, ...] not resolved yet
)

// node is a YAML value with its position, after anchors and merge keys are
// applied. Mappings keep their key order.
type node struct {
	kind kind
	pos  diag.Pos
	// scalars
	tag    string // !!str, !!int, !!float, !!bool, !!null
	value  string
	quoted bool // written in quotes: its text starts one column later
	// mappings
	keys   []string
	fields map[string]*node
	keyPos map[string]diag.Pos
	// sequences
	items []*node
	// references
	ref []string
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != mapKind {
		return nil
	}
	return n.fields[key]
}

func (n *node) has(key string) bool {
	if n == nil || n.kind != mapKind {
		return false
	}
	_, ok := n.fields[key]
	return ok
}

// keyAt is where a key of a mapping was written.
func (n *node) keyAt(key string) diag.Pos {
	if p, ok := n.keyPos[key]; ok {
		return p
	}
	return n.pos
}

func (n *node) isNull() bool { return n == nil || (n.kind == scalarKind && n.tag == "!!null") }

// str is a scalar's text; other kinds give "".
func (n *node) str() string {
	if n == nil || n.kind != scalarKind || n.tag == "!!null" {
		return ""
	}
	return n.value
}

func (n *node) set(key string, v *node, at diag.Pos) {
	if n.fields == nil {
		n.fields = map[string]*node{}
		n.keyPos = map[string]diag.Pos{}
	}
	if _, ok := n.fields[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.fields[key] = v
	n.keyPos[key] = at
}

func (n *node) del(key string) {
	if n == nil || n.fields == nil {
		return
	}
	if _, ok := n.fields[key]; !ok {
		return
	}
	delete(n.fields, key)
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i:i], n.keys[i+1:]...)
			break
		}
	}
}

// clone copies a value deeply, so that merges never share structure.
func (n *node) clone() *node {
	if n == nil {
		return nil
	}
	c := *n
	if n.fields != nil {
		c.keys = append([]string(nil), n.keys...)
		c.fields = make(map[string]*node, len(n.fields))
		c.keyPos = make(map[string]diag.Pos, len(n.keyPos))
		for k, v := range n.fields {
			c.fields[k] = v.clone()
		}
		for k, v := range n.keyPos {
			c.keyPos[k] = v
		}
	}
	if n.items != nil {
		c.items = make([]*node, len(n.items))
		for i, v := range n.items {
			c.items[i] = v.clone()
		}
	}
	return &c
}

// deepMerge returns base with over merged in as GitLab merges extends,
// include and default: mappings merge key by key; anything else in over
// replaces what base has.
func deepMerge(base, over *node) *node {
	if base == nil {
		return over.clone()
	}
	if over == nil {
		return base.clone()
	}
	if base.kind != mapKind || over.kind != mapKind {
		return over.clone()
	}
	out := base.clone()
	for _, k := range over.keys {
		out.set(k, deepMerge(out.fields[k], over.fields[k]), over.keyPos[k])
	}
	out.pos = over.pos
	return out
}

// strings reads a string or a list of strings.
func (n *node) strings() []string {
	switch {
	case n == nil || n.isNull():
		return nil
	case n.kind == scalarKind:
		return []string{n.value}
	case n.kind == seqKind:
		var out []string
		for _, it := range n.items {
			if it.kind == scalarKind && !it.isNull() {
				out = append(out, it.value)
			}
		}
		return out
	}
	return nil
}

// limits against hostile input: alias bombs, deep nesting.
const (
	maxValues = 500_000
	maxDepth  = 100
)

// converter builds nodes from yaml.v3's tree.
type converter struct {
	file   string
	values int
	diags  diag.List
	// merging are the mappings whose keys a << is merging now: one that
	// merges itself, directly or not, would never end.
	merging map[*yaml.Node]bool
}

func (c *converter) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: c.file, Line: n.Line, Col: n.Column}
}

func (c *converter) convert(n *yaml.Node, depth int) (*node, error) {
	c.values++
	if c.values > maxValues {
		return nil, diag.Errorf(c.pos(n), "yaml-too-large", "the file expands to more than %d values (an alias bomb?)", maxValues).
			WithHint("anchors and aliases that refer to each other multiply; write the values out")
	}
	if depth > maxDepth {
		return nil, diag.Errorf(c.pos(n), "yaml-too-deep", "values nest deeper than %d levels", maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &node{kind: mapKind, pos: c.pos(n)}, nil
		}
		return c.convert(n.Content[0], depth)
	case yaml.AliasNode:
		return c.convert(n.Alias, depth+1)
	case yaml.ScalarNode:
		tag := n.ShortTag()
		switch tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!binary", "!!timestamp":
		case "!reference":
			return nil, diag.Errorf(c.pos(n), "reference", "!reference needs a list, such as !reference [.setup, script]")
		default:
			c.diags.Errorf(c.pos(n), "yaml-tag", "unknown YAML tag %q", n.Tag).Hint = "GitLab knows !reference only"
			tag = "!!str"
		}
		quoted := n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
		return &node{kind: scalarKind, pos: c.pos(n), tag: tag, value: n.Value, quoted: quoted}, nil
	case yaml.SequenceNode:
		out := &node{kind: seqKind, pos: c.pos(n), items: make([]*node, 0, len(n.Content))}
		for _, it := range n.Content {
			v, err := c.convert(it, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, v)
		}
		if n.Tag == "!reference" {
			ref := &node{kind: refKind, pos: c.pos(n)}
			for _, it := range out.items {
				if it.kind != scalarKind || it.isNull() {
					return nil, diag.Errorf(it.pos, "reference", "!reference takes names, such as !reference [.setup, script]")
				}
				ref.ref = append(ref.ref, it.value)
			}
			if len(ref.ref) == 0 {
				return nil, diag.Errorf(c.pos(n), "reference", "!reference needs at least a job name")
			}
			return ref, nil
		}
		return out, nil
	case yaml.MappingNode:
		out := &node{kind: mapKind, pos: c.pos(n)}
		if err := c.mapping(n, out, depth); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, diag.Errorf(c.pos(n), "yaml-syntax", "unexpected YAML node")
}

// mapping fills out from n. Keys apply in the order written, a merge key
// (<<) where it stands: GitLab's YAML loader (Ruby's Psych) lets whatever
// comes later win, whether written or merged.
func (c *converter) mapping(n *yaml.Node, out *node, depth int) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				for s.Kind == yaml.AliasNode {
					s = s.Alias
				}
				if s.Kind != yaml.MappingNode {
					return diag.Errorf(c.pos(v), "yaml-merge", "merge key << needs a mapping or a list of mappings")
				}
				if c.merging[s] || s == n {
					return diag.Errorf(c.pos(v), "yaml-merge", "merge key << refers to a mapping that holds it: the merge would never end").
						WithHint("merge an anchor defined outside this mapping")
				}
				if depth > maxDepth {
					return diag.Errorf(c.pos(v), "yaml-too-deep", "merge keys nest deeper than %d levels", maxDepth)
				}
				if c.merging == nil {
					c.merging = map[*yaml.Node]bool{}
				}
				c.merging[n] = true
				merged := &node{kind: mapKind}
				err := c.mapping(s, merged, depth+1)
				delete(c.merging, n)
				if err != nil {
					return err
				}
				for _, mk := range merged.keys {
					out.set(mk, merged.fields[mk], merged.keyPos[mk])
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return diag.Errorf(c.pos(k), "yaml-key", "mapping keys must be plain names")
		}
		if _, dup := out.fields[k.Value]; dup {
			c.diags.Errorf(c.pos(k), "yaml-duplicate-key", "key %q appears twice in this mapping; the last one wins", k.Value).Severity = diag.Warning
		}
		val, err := c.convert(v, depth+1)
		if err != nil {
			return err
		}
		out.set(k.Value, val, c.pos(k))
	}
	return nil
}

// parseYAML reads every document of a file.
func parseYAML(file string, data []byte) ([]*node, diag.List) {
	var l diag.List
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var docs []*node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			l.Add(yamlError(file, err))
			return nil, l
		}
		c := &converter{file: file}
		n, cerr := c.convert(&doc, 0)
		l.Add(c.diags...)
		if cerr != nil {
			l.Add(diag.AsList(cerr)...)
			return nil, l
		}
		docs = append(docs, n)
	}
	return docs, l
}

func yamlError(file string, err error) diag.Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, rest[i+2:]
				// Parser errors carry the 0-based line of what was left open.
				if strings.HasPrefix(msg, "did not find expected") {
					line++
				}
			}
		}
	}
	return diag.Errorf(diag.Pos{File: file, Line: line, Col: 1}, "yaml-syntax", "invalid YAML: %s", msg)
}

// describe names a value's kind for messages.
func (n *node) describe() string {
	switch {
	case n == nil || n.isNull():
		return "nothing"
	case n.kind == mapKind:
		return "a mapping"
	case n.kind == seqKind:
		return "a list"
	case n.kind == refKind:
		return "a !reference"
	}
	return fmt.Sprintf("%q", n.value)
}

// itemsOrSelf is a list's items, or the value itself as a one-item list.
func (n *node) itemsOrSelf() []*node {
	switch {
	case n == nil || n.isNull():
		return nil
	case n.kind == seqKind:
		return n.items
	}
	return []*node{n}
}
