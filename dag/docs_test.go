package dag_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// docsFile is the format's reference, relative to this package.
const docsFile = "../docs/dag.md"

// docBlock is a fenced code block of docs/dag.md.
type docBlock struct {
	lang string // the first word of the info string
	line int    // line of the first content line in docs/dag.md, 1-based
	text string
}

// complete reports whether the block is a whole pipeline: YAML whose first
// line other than comments is "version: gantry/v1", or a JSON object with
// that version.
func (b docBlock) complete() bool {
	switch b.lang {
	case "yaml":
		for l := range strings.Lines(b.text) {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			return l == "version: "+dag.Version
		}
	case "json":
		var v struct {
			Version string `json:"version"`
		}
		return json.Unmarshal([]byte(b.text), &v) == nil && v.Version == dag.Version
	}
	return false
}

// docPos maps a position inside the block to docs/dag.md.
func (b docBlock) docPos(p diag.Pos) string {
	if p.Line == 0 {
		return fmt.Sprintf("%s:%d", docsFile, b.line)
	}
	return fmt.Sprintf("%s:%d:%d", docsFile, b.line+p.Line-1, p.Col)
}

func readDocs(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatalf("the format reference is missing: %v", err)
	}
	return string(data)
}

// docBlocks returns the fenced code blocks of the docs, in order.
func docBlocks(t *testing.T, docs string) []docBlock {
	t.Helper()
	var (
		out   []docBlock
		cur   *docBlock
		text  strings.Builder
		lines = strings.Split(docs, "\n")
	)
	for i, l := range lines {
		fence := strings.HasPrefix(strings.TrimSpace(l), "```")
		switch {
		case cur == nil && fence:
			info := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "```"))
			cur = &docBlock{line: i + 2}
			if len(info) > 0 {
				cur.lang = info[0]
			}
			text.Reset()
		case cur != nil && fence:
			cur.text = text.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			text.WriteString(l)
			text.WriteByte('\n')
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block is not closed", docsFile, cur.line-1)
	}
	return out
}

// TestDocsExamples decodes every complete pipeline in docs/dag.md and
// expects no findings, and no findings again after writing it back. Every
// other YAML and JSON block must at least parse.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	docs := readDocs(t)
	complete := map[string]int{}
	for _, b := range docBlocks(t, docs) {
		if !b.complete() {
			switch b.lang {
			case "yaml":
				var n yaml.Node
				if err := yaml.Unmarshal([]byte(b.text), &n); err != nil {
					d := dag.YAMLError(docsFile, err)
					t.Errorf("%s: YAML fragment does not parse: %s", b.docPos(d.Pos), d.Message)
				}
			case "json":
				if !json.Valid([]byte(b.text)) {
					t.Errorf("%s: JSON block does not parse", b.docPos(diag.Pos{}))
				}
			}
			continue
		}
		complete[b.lang]++
		t.Run(fmt.Sprintf("line-%d", b.line), func(t *testing.T) {
			t.Parallel()
			p, l := dag.Decode([]byte(b.text), "example")
			for _, d := range l {
				t.Errorf("%s: %s [%s]", b.docPos(d.Pos), d.Message, d.Code)
			}
			if p == nil {
				t.Fatalf("%s: example does not decode to a pipeline", b.docPos(diag.Pos{}))
			}
			var buf bytes.Buffer
			if err := dag.EncodeYAML(&buf, p); err != nil {
				t.Fatal(err)
			}
			if _, l := dag.Decode(buf.Bytes(), "encoded"); len(l) > 0 {
				t.Errorf("%s: example written back by EncodeYAML has findings:\n%v\n%s", b.docPos(diag.Pos{}), l.Err(), buf.String())
			}
		})
	}
	if complete["yaml"] < 4 {
		t.Errorf("%s has %d complete YAML pipelines (starting with \"version: %s\"); want at least 4", docsFile, complete["yaml"], dag.Version)
	}
}

// docSection returns the lines of the section under the heading "title"
// (any level), up to the next heading of the same or a higher level, and
// the line number of the heading.
func docSection(docs, title string) (lines []string, at int) {
	all := strings.Split(docs, "\n")
	level := 0
	inFence := false
	for i, l := range all {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
		}
		if inFence && level > 0 {
			lines = append(lines, l)
			continue
		}
		if inFence {
			continue
		}
		hashes := len(l) - len(strings.TrimLeft(l, "#"))
		isHeading := hashes > 0 && strings.HasPrefix(l[hashes:], " ")
		switch {
		case level == 0 && isHeading && strings.TrimSpace(l[hashes:]) == title:
			level, at = hashes, i+1
		case level > 0 && isHeading && hashes <= level:
			return lines, at
		case level > 0:
			lines = append(lines, l)
		}
	}
	return lines, at
}

var (
	tableName   = regexp.MustCompile("^\\|\\s*`([^`]+)`\\s*\\|")
	headingName = regexp.MustCompile("^#+\\s+`([^`]+)`")
)

// docFieldOrder returns the backquoted names of the rows of tables whose
// first column is headed header, in order.
func docFieldOrder(section []string, header string) []string {
	var out []string
	first := ""
	for i, l := range section {
		if strings.HasPrefix(l, "|") && (i == 0 || !strings.HasPrefix(section[i-1], "|")) {
			first = strings.TrimSpace(strings.Split(strings.Trim(l, "| "), "|")[0])
			continue
		}
		if m := tableName.FindStringSubmatch(l); m != nil && first == header {
			out = append(out, m[1])
		}
	}
	return out
}

// docFields returns the backquoted names that start the rows of tables
// whose first column is headed header, and that head subsections, with the
// text of their row.
func docFields(section []string, header string) map[string]string {
	out := map[string]string{}
	first := ""
	for i, l := range section {
		if strings.HasPrefix(l, "|") && (i == 0 || !strings.HasPrefix(section[i-1], "|")) {
			cells := strings.Split(strings.Trim(l, "| "), "|")
			first = strings.TrimSpace(cells[0])
			continue
		}
		if m := tableName.FindStringSubmatch(l); m != nil && first == header {
			out[m[1]] = l
		}
		if m := headingName.FindStringSubmatch(l); m != nil {
			out[m[1]] = l
		}
	}
	return out
}

// TestDocsCoverSchema checks that docs/dag.md documents every property of
// every object the schema defines (the pipeline, its nodes, steps and the
// rest), in the section of that type, marks exactly the required ones
// **required**, lists every enum value, and documents no field the schema
// does not have. So the reference cannot fall behind the schema.
func TestDocsCoverSchema(t *testing.T) {
	t.Parallel()
	docs := readDocs(t)
	var schema struct {
		schemaObject
		Defs map[string]schemaObject `json:"$defs"`
	}
	if err := json.Unmarshal(dag.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	types := map[string]schemaObject{"Pipeline": schema.schemaObject}
	for name, def := range schema.Defs {
		if def.Properties != nil {
			types[strings.ToUpper(name[:1])+name[1:]] = def
		}
	}
	for _, want := range []string{"Pipeline", "Node", "Step"} {
		if _, ok := types[want]; !ok {
			t.Fatalf("schema has no %s definition with properties", want)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		def := types[typ]
		section, at := docSection(docs, typ)
		if at == 0 {
			t.Errorf("%s: no section \"### %s\" documenting the schema's %s", docsFile, typ, typ)
			continue
		}
		fields := docFields(section, "field")
		for _, prop := range slices.Sorted(maps.Keys(def.Properties)) {
			row, ok := fields[prop]
			if !ok {
				t.Errorf("%s:%d: section %s does not document field `%s` (a table row starting with `%s`)", docsFile, at, typ, prop, prop)
				continue
			}
			if req := slices.Contains(def.Required, prop); req != strings.Contains(row, "**required**") {
				t.Errorf("%s:%d: %s.%s: required in the schema is %v, but the docs say otherwise:\n%s", docsFile, at, typ, prop, req, row)
			}
			for _, v := range def.Properties[prop].Enum {
				if s, ok := v.(string); ok && !strings.Contains(row, "`"+s+"`") {
					t.Errorf("%s:%d: %s.%s: the docs do not list the value `%s`", docsFile, at, typ, prop, s)
				}
			}
		}
		for name := range fields {
			if _, ok := def.Properties[name]; !ok {
				t.Errorf("%s:%d: section %s documents field `%s`, which the schema does not have", docsFile, at, typ, name)
			}
		}
	}
	when, at := docSection(docs, "When")
	values := docFields(when, "value")
	for _, w := range dag.Whens {
		if _, ok := values[string(w)]; !ok {
			t.Errorf("%s:%d: section When does not document the value `%s`", docsFile, at, w)
		}
	}
}

type schemaObject struct {
	Properties map[string]struct {
		Enum []any `json:"enum"`
	} `json:"properties"`
	Required []string `json:"required"`
}

// diagCode matches the string literals of diagnostic codes in the package.
var diagCode = regexp.MustCompile(`"((?:dag|yaml|step)-[a-z]+(?:-[a-z]+)*)"`)

// TestDocsDiagnosticCodes checks that every diagnostic code the package
// can report is in the tables of "Diagnostic codes" in docs/dag.md, and
// that the tables name no code the package does not have.
func TestDocsDiagnosticCodes(t *testing.T) {
	t.Parallel()
	docs := readDocs(t)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range diagCode.FindAllStringSubmatch(string(data), -1) {
			codes[m[1]] = f
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no diagnostic codes in the package's sources")
	}
	section, at := docSection(docs, "Diagnostic codes")
	if at == 0 {
		t.Fatalf("%s: no section \"### Diagnostic codes\"", docsFile)
	}
	documented := docFields(section, "code")
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		if _, ok := documented[code]; !ok {
			t.Errorf("%s:%d: code %q (reported in dag/%s) is not documented", docsFile, at, code, codes[code])
		}
	}
	for code := range documented {
		if _, ok := codes[code]; !ok {
			t.Errorf("%s:%d: documented code %q is not reported by package dag", docsFile, at, code)
		}
	}
}

// TestDocsFieldOrder checks that each type's table lists its fields in the
// order gantry writes them (the Go struct's field order), as the docs say.
func TestDocsFieldOrder(t *testing.T) {
	t.Parallel()
	docs := readDocs(t)
	for _, v := range []any{
		dag.Pipeline{}, dag.Source{}, dag.Trigger{}, dag.Input{}, dag.SecretSpec{},
		dag.Defaults{}, dag.Concurrency{}, dag.Node{}, dag.Container{}, dag.Credentials{},
		dag.Strategy{}, dag.Service{}, dag.Step{}, dag.Artifacts{}, dag.Artifact{},
		dag.ArtifactRef{}, dag.Cache{}, dag.Environment{}, dag.Retry{},
	} {
		typ := reflect.TypeOf(v)
		var want []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.IsExported() && name != "" && name != "-" {
				want = append(want, name)
			}
		}
		section, at := docSection(docs, typ.Name())
		if at == 0 {
			t.Errorf("%s: no section \"### %s\"", docsFile, typ.Name())
			continue
		}
		if got := docFieldOrder(section, "field"); !slices.Equal(got, want) {
			t.Errorf("%s:%d: the fields of %s are documented as\n  %v\nbut gantry writes them as\n  %v", docsFile, at, typ.Name(), got, want)
		}
	}
}
