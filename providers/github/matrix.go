package github

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// combo is one combination of matrix values.
type combo struct {
	keys   []string       // in the order of the matrix, then of include
	values map[string]any // JSON-like values
	value  expr.Value     // the same, as the matrix context
	// fromInclude marks a combination that an include entry added.
	fromInclude bool
}

func (c *combo) set(k string, v any) {
	if _, ok := c.values[k]; !ok {
		c.keys = append(c.keys, k)
	}
	c.values[k] = v
}

func (c *combo) finish() *combo {
	c.value = expr.FromGo(c.values)
	return c
}

// label is how GitHub shows a combination after the job name: its values,
// comma-separated.
func (c *combo) label() string {
	parts := make([]string, len(c.keys))
	for i, k := range c.keys {
		parts[i] = expr.FromGo(c.values[k]).String()
	}
	return strings.Join(parts, ", ")
}

// idSuffix is the readable part of a node id: values joined with '-'.
func (c *combo) idSuffix() string {
	parts := make([]string, len(c.keys))
	for i, k := range c.keys {
		parts[i] = expr.FromGo(c.values[k]).String()
	}
	return dag.SanitizeID(strings.Join(parts, "-"))
}

// matrixResult is what a strategy.matrix expands to at translate time:
// the combinations, or the expression that yields the matrix at run time.
type matrixResult struct {
	combos  []*combo
	runtime string
}

// expandMatrix expands a matrix as GitHub documents: the cross product of
// the rows in their order, minus exclude (partial matches), then include
// (extends matching combinations without overwriting original values,
// otherwise adds a combination). Literal fromJSON is evaluated; anything
// else known only at run time makes the whole matrix a run-time one.
func (t *translator) expandMatrix(m *actionlint.Matrix) (matrixResult, bool) {
	if m.Expression != nil {
		v, static, ok := t.staticValue(m.Expression)
		if !ok {
			return matrixResult{}, false
		}
		if !static {
			return matrixResult{runtime: m.Expression.Value}, true
		}
		return t.matrixFromValue(m.Pos, v)
	}
	var rows []rowValues
	dynamic := false
	for key, r := range m.Rows {
		rv := rowValues{name: rowName(key, r), pos: rowPos(r)}
		if r.Name != nil && expr.HasExpr(r.Name.Value) {
			name, dyn, ok := t.matrixKey(r.Name)
			if !ok {
				return matrixResult{}, false
			}
			dynamic = dynamic || dyn
			rv.name = name
		}
		if r.Expression != nil {
			v, static, ok := t.staticValue(r.Expression)
			if !ok {
				return matrixResult{}, false
			}
			if !static {
				dynamic = true
			} else if arr, isArr := v.([]any); isArr {
				rv.values = arr
			} else {
				t.errorf(r.Expression.Pos, "matrix", "matrix row %q must be an array, but %s is %s", rv.name, r.Expression.Value, describeJSON(v))
				return matrixResult{}, false
			}
		} else {
			for _, v := range r.Values {
				val, dyn, ok := t.matrixValue(v)
				if !ok {
					return matrixResult{}, false
				}
				dynamic = dynamic || dyn
				rv.values = append(rv.values, val)
			}
		}
		rows = append(rows, rv)
	}
	slices.SortFunc(rows, func(a, b rowValues) int { return comparePos(a.pos, b.pos) })
	include, incDyn, ok := t.combinations(m.Include)
	if !ok {
		return matrixResult{}, false
	}
	exclude, excDyn, ok := t.combinations(m.Exclude)
	if !ok {
		return matrixResult{}, false
	}
	if dynamic || incDyn || excDyn {
		rt, ok := t.runtimeMatrixExpr(m)
		return matrixResult{runtime: rt}, ok
	}
	return t.product(m.Pos, rows, include, exclude)
}

// product expands rows, exclude and include into combinations.
func (t *translator) product(pos *actionlint.Pos, rows []rowValues, include, exclude []*combo) (matrixResult, bool) {
	// The cross product, guarding against sizes no one can run.
	total := 1
	for _, r := range rows {
		total *= max(len(r.values), 1)
		if total > 100*t.opts.MaxMatrix {
			t.errorf(pos, "matrix-too-large", "matrix has more than %d combinations; GitHub allows at most %d", 100*t.opts.MaxMatrix, t.opts.MaxMatrix).
				Hint = "split the job, or move some values into include"
			return matrixResult{}, false
		}
	}
	combos := []*combo{}
	if len(rows) > 0 {
		combos = []*combo{{values: map[string]any{}}}
		for _, r := range rows {
			if len(r.values) == 0 {
				t.errorf(cmpPos(r.pos, pos), "matrix", "matrix row %q has no values, so the job would run no combination", r.name)
				return matrixResult{}, false
			}
			var next []*combo
			for _, c := range combos {
				for _, v := range r.values {
					n := &combo{keys: slices.Clone(c.keys), values: clone(c.values)}
					n.set(r.name, v)
					next = append(next, n)
				}
			}
			combos = next
		}
	}
	original := map[string]bool{}
	for _, r := range rows {
		original[r.name] = true
	}
	// GitHub's exclude and include rules, shared with run-time matrices.
	dc := make([]*dag.MatrixCombo, len(combos))
	for i, c := range combos {
		dc[i] = &dag.MatrixCombo{Keys: c.keys, Values: c.values}
	}
	ex := make([]map[string]any, len(exclude))
	for i, e := range exclude {
		ex[i] = e.values
	}
	in := make([]map[string]any, len(include))
	inKeys := make([][]string, len(include))
	for i, e := range include {
		in[i], inKeys[i] = e.values, e.keys
	}
	combos = combos[:0]
	for _, c := range dag.FilterMatrix(dc, original, in, ex, inKeys) {
		combos = append(combos, &combo{keys: c.Keys, values: c.Values, fromInclude: c.FromInclude})
	}
	if len(combos) > t.opts.MaxMatrix {
		t.errorf(pos, "matrix-too-large", "matrix expands to %d combinations; GitHub allows at most %d", len(combos), t.opts.MaxMatrix).
			Hint = "split the job, or exclude combinations"
		return matrixResult{}, false
	}
	if len(combos) == 0 {
		t.errorf(pos, "matrix-empty", "matrix has no combinations left after exclude, so the job would run nothing").
			Hint = "remove the job, or exclude fewer combinations"
		return matrixResult{}, false
	}
	for _, c := range combos {
		c.finish()
	}
	return matrixResult{combos: combos}, true
}

func cmpPos(p, fallback *actionlint.Pos) *actionlint.Pos {
	if p != nil {
		return p
	}
	return fallback
}

// runtimeMatrixExpr builds one expression that yields the whole matrix at
// run time: the static parts as JSON, the run-time parts spliced in with
// format() and toJSON().
func (t *translator) runtimeMatrixExpr(m *actionlint.Matrix) (string, bool) {
	var (
		b    strings.Builder
		args []string
	)
	// Placeholders are marked with NUL bytes while the JSON is built, so
	// that the braces of the JSON can be escaped for format() afterwards.
	spliceExpr := func(inner string) {
		fmt.Fprintf(&b, "\x00%d\x00", len(args))
		args = append(args, "toJSON("+inner+")")
	}
	splice := func(s *actionlint.String) {
		inner := strings.TrimSpace(s.Value)
		spliceExpr(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(inner, "${{"), "}}")))
	}
	lit := func(v any) {
		j, _ := json.Marshal(v)
		b.Write(j)
	}
	// str writes a key or a string value: literal text as JSON, what is
	// known now evaluated, a run-time one spliced in.
	str := func(s *actionlint.String) bool {
		v, static, ok := t.staticValue(s)
		switch {
		case !ok:
			return false
		case static:
			lit(v)
		default:
			// One ${{ e }} keeps e's type; text around ${{ }} is the
			// string GitHub makes of it, format('text{0}', e).
			spliceExpr(expr.ArgOf(s.Value).Text)
		}
		return true
	}
	key := func(s *actionlint.String) bool {
		if !expr.HasExpr(s.Value) {
			lit(s.Value)
			return true
		}
		return str(s)
	}
	var value func(v actionlint.RawYAMLValue) bool
	value = func(v actionlint.RawYAMLValue) bool {
		switch v := v.(type) {
		case *actionlint.RawYAMLString:
			if expr.HasExpr(v.Value) {
				return str(&actionlint.String{Value: v.Value, Pos: v.Pos()})
			}
		case *actionlint.RawYAMLArray:
			b.WriteByte('[')
			for i, e := range v.Elems {
				if i > 0 {
					b.WriteByte(',')
				}
				if !value(e) {
					return false
				}
			}
			b.WriteByte(']')
			return true
		case *actionlint.RawYAMLObject:
			b.WriteByte('{')
			keys := t.propKeys(v)
			for i, k := range slices.Sorted(maps.Keys(v.Props)) {
				if i > 0 {
					b.WriteByte(',')
				}
				lit(keys[k])
				b.WriteByte(':')
				if !value(v.Props[k]) {
					return false
				}
			}
			b.WriteByte('}')
			return true
		}
		lit(t.rawValue(v))
		return true
	}
	type namedRow struct {
		name string
		row  *actionlint.MatrixRow
	}
	rows := make([]namedRow, 0, len(m.Rows))
	for key, r := range m.Rows {
		rows = append(rows, namedRow{rowName(key, r), r})
	}
	slices.SortFunc(rows, func(a, b namedRow) int { return comparePos(rowPos(a.row), rowPos(b.row)) })
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	for _, nr := range rows {
		r := nr.row
		sep()
		if r.Name == nil || !key(r.Name) {
			if r.Name != nil {
				return "", false
			}
			lit(nr.name)
		}
		b.WriteByte(':')
		if r.Expression != nil {
			if !r.Expression.IsExpressionAssigned() {
				t.unsupported(r.Expression.Pos, "a matrix row mixing text and ${{ }}", "it cannot be spliced into the run-time matrix", "make the row one ${{ }} expression")
				return "", false
			}
			splice(r.Expression)
			continue
		}
		b.WriteByte('[')
		for i, v := range r.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			if !value(v) {
				return "", false
			}
		}
		b.WriteByte(']')
	}
	for _, part := range []struct {
		name string
		cs   *actionlint.MatrixCombinations
	}{{"include", m.Include}, {"exclude", m.Exclude}} {
		if part.cs == nil {
			continue
		}
		sep()
		lit(part.name)
		b.WriteByte(':')
		if part.cs.Expression != nil {
			splice(part.cs.Expression)
			continue
		}
		b.WriteByte('[')
		for i, mc := range part.cs.Combinations {
			if mc.Expression != nil {
				t.unsupported(mc.Expression.Pos, "a run-time expression as one "+part.name+" entry", "gantry expands run-time matrices from one expression", "make the whole "+part.name+" list one expression")
				return "", false
			}
			if i > 0 {
				b.WriteByte(',')
			}
			assigns := slices.Collect(maps.Values(mc.Assigns))
			slices.SortFunc(assigns, func(a, b *actionlint.MatrixAssign) int { return comparePos(a.Key.Pos, b.Key.Pos) })
			b.WriteByte('{')
			for j, a := range assigns {
				if j > 0 {
					b.WriteByte(',')
				}
				if !key(a.Key) {
					return "", false
				}
				b.WriteByte(':')
				if !value(a.Value) {
					return "", false
				}
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	tmpl := strings.NewReplacer("{", "{{", "}", "}}", "'", "''").Replace(b.String())
	for i := range args {
		tmpl = strings.Replace(tmpl, fmt.Sprintf("\x00%d\x00", i), fmt.Sprintf("{%d}", i), 1)
	}
	return fmt.Sprintf("${{ fromJSON(format('%s', %s)) }}", tmpl, strings.Join(args, ", ")), true
}

// rowName is a row's name as written; actionlint leaves Name nil for a
// row given as one ${{ }}, and keys the map by the name.
func rowName(key string, r *actionlint.MatrixRow) string {
	if r.Name != nil {
		return r.Name.Value
	}
	return key
}

func rowPos(r *actionlint.MatrixRow) *actionlint.Pos {
	switch {
	case r.Name != nil:
		return r.Name.Pos
	case r.Expression != nil:
		return r.Expression.Pos
	}
	return nil
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// combinations reads include: or exclude: entries.
func (t *translator) combinations(cs *actionlint.MatrixCombinations) (out []*combo, dynamic, ok bool) {
	if cs == nil {
		return nil, false, true
	}
	if cs.Expression != nil {
		v, static, ok := t.staticValue(cs.Expression)
		if !ok {
			return nil, false, false
		}
		if !static {
			return nil, true, true
		}
		arr, isArr := v.([]any)
		if !isArr {
			t.errorf(cs.Expression.Pos, "matrix", "include/exclude must be an array of objects, but %s is %s", cs.Expression.Value, describeJSON(v))
			return nil, false, false
		}
		for _, e := range arr {
			obj, isObj := e.(map[string]any)
			if !isObj {
				t.errorf(cs.Expression.Pos, "matrix", "include/exclude entries must be objects, found %s", describeJSON(e))
				return nil, false, false
			}
			c := &combo{values: map[string]any{}}
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				c.set(k, obj[k])
			}
			out = append(out, c)
		}
		return out, false, true
	}
	for _, mc := range cs.Combinations {
		if mc.Expression != nil {
			v, static, ok := t.staticValue(mc.Expression)
			if !ok {
				return nil, false, false
			}
			if !static {
				return nil, true, true
			}
			obj, isObj := v.(map[string]any)
			if !isObj {
				t.errorf(mc.Expression.Pos, "matrix", "include/exclude entries must be objects, found %s", describeJSON(v))
				return nil, false, false
			}
			c := &combo{values: map[string]any{}}
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				c.set(k, obj[k])
			}
			out = append(out, c)
			continue
		}
		assigns := make([]*actionlint.MatrixAssign, 0, len(mc.Assigns))
		for _, a := range mc.Assigns {
			assigns = append(assigns, a)
		}
		slices.SortFunc(assigns, func(a, b *actionlint.MatrixAssign) int { return comparePos(a.Key.Pos, b.Key.Pos) })
		c := &combo{values: map[string]any{}}
		for _, a := range assigns {
			k, kdyn, ok := t.matrixKey(a.Key)
			if !ok {
				return nil, false, false
			}
			v, vdyn, ok := t.matrixValue(a.Value)
			if !ok {
				return nil, false, false
			}
			if kdyn || vdyn {
				return nil, true, true
			}
			c.set(k, v)
		}
		out = append(out, c)
	}
	return out, false, true
}

// matrixValue is a matrix value as GitHub reads it: a string holding
// ${{ }} that reads no context is evaluated now (a whole ${{ }} keeps its
// value's type); one that reads a context (the strategy key has github,
// inputs, vars and needs) is dynamic, and the matrix is then a run-time
// one. Inside arrays and objects too.
// https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#context-availability
func (t *translator) matrixValue(v actionlint.RawYAMLValue) (out any, dynamic, ok bool) {
	switch v := v.(type) {
	case *actionlint.RawYAMLString:
		if !expr.HasExpr(v.Value) {
			break
		}
		val, static, ok := t.staticValue(&actionlint.String{Value: v.Value, Pos: v.Pos()})
		return val, !static, ok
	case *actionlint.RawYAMLArray:
		arr := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			val, dyn, ok := t.matrixValue(e)
			if !ok {
				return nil, false, false
			}
			dynamic = dynamic || dyn
			arr[i] = val
		}
		return arr, dynamic, true
	case *actionlint.RawYAMLObject:
		obj := make(map[string]any, len(v.Props))
		keys := t.propKeys(v)
		for k, e := range v.Props {
			val, dyn, ok := t.matrixValue(e)
			if !ok {
				return nil, false, false
			}
			dynamic = dynamic || dyn
			obj[keys[k]] = val
		}
		return obj, dynamic, true
	}
	return t.rawValue(v), false, true
}

// matrixKey is a row or include key: ${{ }} in it is evaluated now when it
// reads no context, else the key is dynamic.
func (t *translator) matrixKey(s *actionlint.String) (string, bool, bool) {
	if !expr.HasExpr(s.Value) {
		return s.Value, false, true
	}
	v, static, ok := t.staticValue(s)
	if !ok || !static {
		return "", !static, ok
	}
	if k, isStr := v.(string); isStr {
		return k, false, true
	}
	return expr.FromGo(v).String(), false, true
}

// staticValue evaluates an expression that reads no context (such as
// fromJSON of a literal) at translate time. static is false when it reads
// a context; ok is false when it is broken (and reported).
func (t *translator) staticValue(s *actionlint.String) (v any, static, ok bool) {
	tpl := t.checkTemplate(s, nil)
	if tpl == nil {
		if expr.HasExpr(s.Value) {
			return nil, false, false
		}
		return s.Value, true, true
	}
	for _, e := range tpl.Exprs() {
		if len(e.Contexts()) > 0 {
			return nil, false, true
		}
	}
	val, err := tpl.Value(&expr.Env{})
	if err != nil {
		t.diags.Add(diag.AsList(err)...)
		return nil, false, false
	}
	return val.Go(), true, true
}

func (t *translator) matrixFromValue(pos *actionlint.Pos, v any) (matrixResult, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		t.errorf(pos, "matrix", "matrix must be an object, but the expression gives %s", describeJSON(v))
		return matrixResult{}, false
	}
	// Rebuild it as YAML actionlint would have parsed, by going through
	// the same expansion on plain values.
	var rows []rowValues
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if k == "include" || k == "exclude" {
			continue
		}
		arr, isArr := obj[k].([]any)
		if !isArr {
			t.errorf(pos, "matrix", "matrix row %q must be an array, found %s", k, describeJSON(obj[k]))
			return matrixResult{}, false
		}
		rows = append(rows, rowValues{name: k, values: arr})
	}
	var include, exclude []*combo
	for _, kind := range []string{"include", "exclude"} {
		raw, present := obj[kind]
		if !present {
			continue
		}
		arr, isArr := raw.([]any)
		if !isArr {
			t.errorf(pos, "matrix", "matrix %s must be an array of objects, found %s", kind, describeJSON(raw))
			return matrixResult{}, false
		}
		for _, e := range arr {
			eo, isObj := e.(map[string]any)
			if !isObj {
				t.errorf(pos, "matrix", "matrix %s entries must be objects, found %s", kind, describeJSON(e))
				return matrixResult{}, false
			}
			c := &combo{values: map[string]any{}}
			for _, k := range slices.Sorted(maps.Keys(eo)) {
				c.set(k, eo[k])
			}
			if kind == "include" {
				include = append(include, c)
			} else {
				exclude = append(exclude, c)
			}
		}
	}
	return t.product(pos, rows, include, exclude)
}

type rowValues struct {
	name   string
	pos    *actionlint.Pos
	values []any
}

func describeJSON(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// rawValue converts a matrix value of actionlint's YAML tree as GitHub
// reads it, from the workflow's own node (yamlValue). Without one (an
// alias), scalars stay strings except true, false, null and plain
// integers.
func (t *translator) rawValue(v actionlint.RawYAMLValue) any {
	if n := t.yamlNode(v); n != nil {
		t.warnNumbers(n)
		return yamlValue(n)
	}
	switch v := v.(type) {
	case *actionlint.RawYAMLString:
		switch v.Value {
		case "true":
			return true
		case "false":
			return false
		case "null", "~":
			return nil
		}
		if n, err := strconv.ParseFloat(v.Value, 64); err == nil && isPlainNumber(v.Value) {
			return n
		}
		return v.Value
	case *actionlint.RawYAMLArray:
		out := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = t.rawValue(e)
		}
		return out
	case *actionlint.RawYAMLObject:
		out := map[string]any{}
		keys := t.propKeys(v)
		for k, e := range v.Props {
			out[keys[k]] = t.rawValue(e)
		}
		return out
	}
	return nil
}

// isPlainNumber accepts integers without leading zeros, so that a version
// such as 1.20 or 3.10 stays the string the user wrote.
func isPlainNumber(s string) bool {
	if s == "" || strings.ContainsAny(s, ".eE+xX_") {
		return false
	}
	s = strings.TrimPrefix(s, "-")
	return s == "0" || (s != "" && s[0] != '0')
}
