package dag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/diag"
)

// Limits that keep decoding of hostile input bounded in time and memory.
const (
	// MaxFileSize is the largest DAG file Decode reads.
	MaxFileSize = 8 << 20
	// maxDepth bounds nesting of mappings and sequences.
	maxDepth = 64
	// maxValues bounds the values produced, so that alias bombs fail fast.
	maxValues = 250_000
)

// Decode reads a pipeline from YAML or JSON. file names the input in
// diagnostics. Findings in the input come back as a diag.List (all of them,
// not just the first); the pipeline is nil when the list has errors.
// Decode validates against the JSON Schema and then with Validate.
func Decode(data []byte, file string) (*Pipeline, diag.List) {
	var l diag.List
	if len(data) > MaxFileSize {
		l.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "dag-too-large",
			"file is %s; gantry reads DAG files of at most %s", byteSize(len(data)), byteSize(MaxFileSize)).
			Hint = "a DAG this large is likely not one; check the file name"
		return nil, l
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		l.Add(YAMLError(file, err))
		return nil, l
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		l.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "dag-empty", "file is empty; expected a pipeline starting with \"version: %s\"", Version)
		return nil, l
	}
	c := converter{file: file, positions: map[string]diag.Pos{}}
	v, err := c.value(root.Content[0], "", 0)
	if err != nil {
		var d diag.Diagnostic
		if errors.As(err, &d) {
			l.Add(d)
			return nil, l
		}
		l.Errorf(diag.Pos{File: file}, "dag-decode", "%v", err)
		return nil, l
	}
	if m, ok := v.(map[string]any); ok {
		if ver, ok := m["version"].(string); ok && ver != Version {
			l.Errorf(c.pos("/version"), "dag-version", "unsupported version %q; this gantry reads %q", ver, Version).
				Hint = "upgrade gantry, or translate the source pipeline again"
			return nil, l
		}
	}
	l.Add(schemaDiagnostics(v, c.pos)...)
	stripExtensions(v)
	raw, err := json.Marshal(v)
	if err != nil {
		l.Errorf(diag.Pos{File: file}, "dag-decode", "%v", err)
		return nil, l
	}
	p := new(Pipeline)
	dec := json.NewDecoder(bytes.NewReader(raw))
	if !l.HasErrors() {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(p); err != nil {
		if !l.HasErrors() {
			// The schema should have caught it; say where as well as we can.
			l.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "dag-decode", "%v", err)
		}
		l.Sort()
		return nil, l
	}
	// Even with schema findings, report what Validate finds too, so that
	// one run shows every problem; but not the same one twice.
	p.positions = c.positions
	upgradeLegacy(p)
	schemaFailed := l.HasErrors()
	seen := map[string]bool{}
	for _, d := range l {
		seen[d.Pos.String()+d.Code] = true
	}
	for _, d := range p.Validate() {
		// A misspelt "steps" also leaves the node empty; say it once.
		if !seen[d.Pos.String()+d.Code] && !(schemaFailed && d.Code == "dag-empty-node") {
			l.Add(d)
		}
	}
	l.Sort()
	if l.HasErrors() {
		return nil, l
	}
	return p, l
}

// stripExtensions drops x-* keys of the pipeline and its nodes: places for
// anchors and tool-specific notes that the format allows and ignores.
func stripExtensions(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	drop := func(m map[string]any) {
		for k := range m {
			if strings.HasPrefix(k, "x-") {
				delete(m, k)
			}
		}
	}
	drop(m)
	nodes, _ := m["nodes"].([]any)
	for _, n := range nodes {
		if nm, ok := n.(map[string]any); ok {
			drop(nm)
		}
	}
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// YAMLError turns a yaml.v3 error (a plain "yaml: line N: ..." string) into
// a positioned diagnostic.
func YAMLError(file string, err error) diag.Diagnostic {
	msg := err.Error()
	pos := diag.Pos{File: file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if m[1] != "" {
			pos.Line, _ = strconv.Atoi(m[1])
			// For parser errors yaml.v3 reports the 0-based line of the
			// construct left open.
			if strings.HasPrefix(msg, "did not find expected") {
				pos.Line++
			}
		}
	}
	if pos.Line == 0 {
		pos.Line = 1
	}
	pos.Col = 1
	return diag.Errorf(pos, "yaml-syntax", "invalid YAML: %s", msg)
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// converter turns a yaml.Node tree into plain JSON-like values, recording
// the position of every value by JSON pointer.
type converter struct {
	file      string
	positions map[string]diag.Pos
	values    int
}

func (c *converter) pos(ptr string) diag.Pos {
	for {
		if p, ok := c.positions[ptr]; ok {
			return p
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return diag.Pos{File: c.file, Line: 1, Col: 1}
		}
		ptr = ptr[:i]
	}
}

func (c *converter) errorf(n *yaml.Node, code, format string, args ...any) error {
	return diag.Errorf(diag.Pos{File: c.file, Line: n.Line, Col: n.Column}, code, format, args...)
}

func (c *converter) value(n *yaml.Node, ptr string, depth int) (any, error) {
	c.values++
	if c.values > maxValues {
		return nil, c.errorf(n, "yaml-too-large", "document expands to more than %d values (an alias bomb?)", maxValues)
	}
	if depth > maxDepth {
		return nil, c.errorf(n, "yaml-too-deep", "nesting deeper than %d levels", maxDepth)
	}
	if _, seen := c.positions[ptr]; !seen {
		c.positions[ptr] = diag.Pos{File: c.file, Line: n.Line, Col: n.Column}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], ptr, depth)
	case yaml.AliasNode:
		return c.value(n.Alias, ptr, depth+1)
	case yaml.ScalarNode:
		return c.scalar(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, ptr+"/"+strconv.Itoa(i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		if err := c.mapping(n, ptr, depth, out, map[string]bool{}); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, c.errorf(n, "yaml-syntax", "unexpected YAML node")
}

// mapping fills out from n, applying merge keys (<<) so that explicit keys
// win over merged ones, as YAML 1.1 says.
func (c *converter) mapping(n *yaml.Node, ptr string, depth int, out map[string]any, explicit map[string]bool) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return c.errorf(k, "yaml-key", "mapping keys must be strings")
		}
		if explicit[k.Value] {
			return c.errorf(k, "yaml-duplicate-key", "key %q appears twice in this mapping", k.Value)
		}
		explicit[k.Value] = true
		child := ptr + "/" + escapePointer(k.Value)
		c.positions[child+keySuffix] = diag.Pos{File: c.file, Line: k.Line, Col: k.Column}
		val, err := c.value(v, child, depth+1)
		if err != nil {
			return err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			for s.Kind == yaml.AliasNode {
				s = s.Alias
			}
			if s.Kind != yaml.MappingNode {
				return c.errorf(m, "yaml-merge", "merge key << needs a mapping or a list of mappings")
			}
			// A merge of the mapping that holds it would never end; the
			// depth bounds merges of merges.
			if depth > maxDepth {
				return c.errorf(m, "yaml-merge", "merge keys nest deeper than %d levels (does a << merge the mapping that holds it?)", maxDepth)
			}
			merged := map[string]any{}
			if err := c.mapping(s, ptr, depth+1, merged, map[string]bool{}); err != nil {
				return err
			}
			for k, v := range merged {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return nil
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, c.errorf(n, "yaml-value", "bad boolean %q", n.Value)
		}
		return b, nil
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.errorf(n, "yaml-value", "bad number %q", n.Value)
		}
		var i int64
		if n.ShortTag() == "!!int" && n.Decode(&i) == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case "!!str", "!!binary", "!!timestamp":
		return n.Value, nil
	}
	return nil, c.errorf(n, "yaml-tag", "unsupported YAML tag %q", n.Tag)
}

// keySuffix marks the position of a mapping key rather than of its value.
const keySuffix = "#key"

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// EncodeJSON writes p as indented JSON with a stable key order.
func EncodeJSON(w io.Writer, p *Pipeline) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// EncodeYAML writes p as YAML. Keys come in the order of the JSON encoding
// (struct field order, sorted map keys), so the same pipeline always gives
// the same bytes.
func EncodeYAML(w io.Writer, p *Pipeline) error {
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, p); err != nil {
		return err
	}
	n, err := jsonToYAML(&buf)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}

// jsonToYAML builds a yaml.Node tree from JSON, keeping the key order.
func jsonToYAML(r io.Reader) (*yaml.Node, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var build func() (*yaml.Node, error)
	build = func() (*yaml.Node, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' {
				m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					v, err := build()
					if err != nil {
						return nil, err
					}
					m.Content = append(m.Content, strNode(kt.(string)), v)
				}
				_, err := dec.Token()
				return m, err
			}
			s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := build()
				if err != nil {
					return nil, err
				}
				s.Content = append(s.Content, v)
			}
			if len(s.Content) > 0 && allScalars(s.Content) && len(s.Content) <= 8 {
				s.Style = yaml.FlowStyle
			}
			_, err := dec.Token()
			return s, err
		case string:
			return strNode(t), nil
		case json.Number:
			tag := "!!int"
			if strings.ContainsAny(t.String(), ".eE") {
				tag = "!!float"
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
		case bool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
		case nil:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
		}
		return nil, fmt.Errorf("unexpected JSON token %v", tok)
	}
	return build()
}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(strings.TrimSuffix(s, "\n"), "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func allScalars(ns []*yaml.Node) bool {
	for _, n := range ns {
		if n.Kind != yaml.ScalarNode || n.Style == yaml.LiteralStyle || len(n.Value) > 40 {
			return false
		}
	}
	return true
}
