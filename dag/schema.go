package dag

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gantry-ci/gantry/diag"
)

// Schema is the JSON Schema of the format: the contract every file gantry
// writes meets, and what editors can use to check hand-written ones.
//
//go:embed schema.json
var Schema []byte

// SchemaURL is the schema's $id.
const SchemaURL = "https://gantry.dev/schema/gantry-v1.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(SchemaURL)
})

// fieldNames are every property name the schema knows, for "did you mean".
var fieldNames = sync.OnceValue(func() []string {
	var doc any
	_ = json.Unmarshal(Schema, &doc)
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for k := range props {
					seen[k] = true
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
})

// ValidateSchema checks a decoded JSON document (as from json.Unmarshal into
// any, with UseNumber or float64 numbers) against the schema. It is what
// tests use to prove that every DAG gantry writes is valid.
func ValidateSchema(doc any) diag.List {
	return schemaDiagnostics(doc, func(string) diag.Pos { return diag.Pos{} })
}

func schemaDiagnostics(v any, pos func(ptr string) diag.Pos) diag.List {
	sch, err := compiled()
	if err != nil {
		// The schema is embedded and tested; this is gantry's bug, not the user's.
		panic(fmt.Sprintf("dag: embedded schema does not compile: %v", err))
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return diag.List{diag.Errorf(pos(""), "dag-schema", "%v", err)}
	}
	var l diag.List
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			if _, ok := e.ErrorKind.(*kind.OneOf); ok && strings.HasSuffix(e.SchemaURL, "$defs/step") {
				add(&l, seen, pos, e.InstanceLocation, "step-run-or-uses",
					"%s must have exactly one of \"run\" or \"uses\"", fieldPath(e.InstanceLocation))
				return
			}
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		code, msg, hint := describe(e)
		loc := e.InstanceLocation
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok && len(ap.Properties) > 0 {
			// Point at the unknown key itself, not at its mapping.
			loc = append(slices.Clone(loc), ap.Properties[0]+keySuffix)
		}
		if d := add(&l, seen, pos, loc, code, "%s", msg); d != nil {
			d.Hint = hint
		}
	}
	walk(ve)
	return l
}

func add(l *diag.List, seen map[string]bool, pos func(string) diag.Pos, loc []string, code, format string, args ...any) *diag.Diagnostic {
	msg := fmt.Sprintf(format, args...)
	ptr := pointer(loc)
	ptr = strings.Replace(ptr, escapePointer(keySuffix), keySuffix, 1)
	if seen[ptr+"\x00"+msg] {
		return nil
	}
	seen[ptr+"\x00"+msg] = true
	return l.Errorf(pos(ptr), code, "%s", msg)
}

func describe(e *jsonschema.ValidationError) (code, msg, hint string) {
	field := fieldPath(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		names := make([]string, len(k.Properties))
		for i, p := range k.Properties {
			names[i] = strconv.Quote(p)
		}
		if s := diag.Closest(k.Properties[0], fieldNames()); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		}
		return "dag-unknown-field", fmt.Sprintf("unknown field %s in %s", strings.Join(names, ", "), field), hint
	case *kind.Required:
		names := make([]string, len(k.Missing))
		for i, p := range k.Missing {
			names[i] = strconv.Quote(p)
		}
		return "dag-missing-field", fmt.Sprintf("%s is missing required field %s", field, strings.Join(names, ", ")), ""
	case *kind.Type:
		return "dag-type", fmt.Sprintf("%s: expected %s, found %s", field, strings.Join(k.Want, " or "), k.Got), ""
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprintf("%v", w)
		}
		return "dag-enum", fmt.Sprintf("%s: %s is not one of %s", field, quoteAny(k.Got), strings.Join(want, ", ")), ""
	case *kind.Const:
		return "dag-value", fmt.Sprintf("%s: expected %s, found %s", field, quoteAny(k.Want), quoteAny(k.Got)), ""
	case *kind.Pattern:
		switch {
		case strings.HasSuffix(e.SchemaURL, "$defs/duration"):
			return "dag-duration", fmt.Sprintf("%s: bad duration %q; expected a number with a unit, such as \"90s\", \"30m\" or \"1h30m\"", field, k.Got), ""
		case strings.HasSuffix(e.SchemaURL, "$defs/id"):
			return "dag-id", fmt.Sprintf("%s: bad node id %q; use letters, digits, '_', '.' and '-', not starting with '.' or '-'", field, k.Got), ""
		case strings.HasSuffix(e.SchemaURL, "$defs/sourcePos"):
			return "dag-pos", fmt.Sprintf("%s: bad source position %q; expected path:line:col", field, k.Got), ""
		}
		return "dag-pattern", fmt.Sprintf("%s: %q does not match %s", field, k.Got, k.Want), ""
	case *kind.Minimum, *kind.Maximum, *kind.MinLength:
		return "dag-value", fmt.Sprintf("%s: %s", field, e.ErrorKind.LocalizedString(printer)), ""
	}
	return "dag-schema", fmt.Sprintf("%s: %s", field, e.ErrorKind.LocalizedString(printer)), ""
}

var printer = message.NewPrinter(language.English)

func quoteAny(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}

// pointer joins instance location tokens into a JSON pointer.
func pointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

// fieldPath names a location the way a user reads it: nodes[2].steps[0].run.
func fieldPath(loc []string) string {
	if len(loc) == 0 {
		return "the pipeline"
	}
	var b strings.Builder
	for _, t := range loc {
		if _, err := strconv.Atoi(t); err == nil {
			fmt.Fprintf(&b, "[%s]", t)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}
