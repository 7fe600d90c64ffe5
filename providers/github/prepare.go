package github

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// GitHub's 2026 keys are unknown to actionlint v1.7.12, which refuses a
// workflow that has them: steps that run in the background, wait for or
// cancel them, parallel: groups of steps, services' entrypoint and command,
// and uses: $/path. Before actionlint parses a workflow, prepare takes them
// out of its text, keeping every other line and column where it was, and
// records them; the translator puts them back into the DAG.
//
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsbackground

// prepared is a workflow as actionlint can read it, and what was taken out.
type prepared struct {
	// src is the text actionlint parses: the original's lines, with the
	// 2026 keys blanked out and the steps of parallel: groups dedented.
	src []byte
	// shift is how many columns a line of src moved left (the steps of a
	// parallel: group, dedented to the level of their siblings).
	shift map[int]int
	// jobs are the step plans of the jobs, by lower-cased job id.
	jobs map[string]*stepPlan
	// services holds services' entrypoint and command, by lower-cased job
	// id, then service name.
	services map[string]map[string]*serviceExtra
	// self marks the uses: values written $/path (now ./path in src), by
	// their position.
	self map[lineCol]bool
	// diags are the findings of the preparation: misused 2026 keys, YAML
	// merge keys, number literals GitHub reads and actionlint refuses.
	diags diag.List
}

type lineCol struct{ line, col int }

func posKey(line, col int) lineCol { return lineCol{line, col} }

// stepPlan is a job's steps in the order of the file: the ones actionlint
// parses, found again by position, and the control steps it never sees.
type stepPlan struct {
	items []planItem
}

// planItem is one step of a plan.
type planItem struct {
	// at is where actionlint places the step: its first key that was kept,
	// in the original file's lines and columns.
	at lineCol
	// control is a wait, wait-all or cancel step, taken out of src.
	control *dag.Step
	// background is set by background: true or by a parallel: group.
	background bool
	// group is the 1-based parallel: group of the job the step is in.
	group int
	// groupEnd marks the last step of its group: the group's wait follows.
	groupEnd bool
	// groupPos is where the group's parallel: key is.
	groupPos diag.Pos
}

// serviceExtra is a service's entrypoint and command, as written.
type serviceExtra struct {
	entrypoint, command *wordList
}

type wordList struct {
	// words are the items of a list, or the one string.
	words []*yaml.Node
	// split says the value was one string, to be split into words.
	split bool
}

// prepare makes a workflow's text ready for actionlint. In a composite
// action's steps (composite), the step keys of the 2026 syntax are errors:
// GitHub allows neither background steps nor parallel: there.
func prepare(path string, data []byte, composite bool) *prepared {
	p := &prepared{src: data, shift: map[int]int{}, jobs: map[string]*stepPlan{}, services: map[string]map[string]*serviceExtra{}, self: map[lineCol]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		// actionlint reports the syntax error.
		return p
	}
	e := newEditor(path, data)
	e.mergeKeys(doc.Content[0], map[*yaml.Node]bool{})
	root := resolve(doc.Content[0])
	if jobs := mapValue(root, "jobs"); jobs != nil && jobs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(jobs.Content); i += 2 {
			id := strings.ToLower(jobs.Content[i].Value)
			job := resolve(jobs.Content[i+1])
			if job == nil || job.Kind != yaml.MappingNode {
				continue
			}
			if uses := mapValue(job, "uses"); uses != nil {
				e.selfRef(uses)
			}
			if steps := resolve(mapValue(job, "steps")); steps != nil && steps.Kind == yaml.SequenceNode {
				p.jobs[id] = e.steps(steps, composite)
			}
			if svcs := resolve(mapValue(job, "services")); svcs != nil && svcs.Kind == yaml.MappingNode {
				p.services[id] = e.services(svcs)
			}
		}
	}
	e.numbers(root, false)
	p.src, p.shift, p.self, p.diags = e.result(), e.dedent, e.self, e.diags
	return p
}

// editor edits a copy of a file in place, so that lines and columns stay
// where they were: removed text becomes spaces, one per character.
type editor struct {
	path  string
	data  []byte
	out   []byte
	drop  []bool // bytes that go (the tail of a blanked multi-byte character)
	lines []int  // offsets where lines start
	// dedent is how many leading columns go from a line.
	dedent map[int]int
	done   map[*yaml.Node]bool
	// grouped are the parallel: steps planned already (an alias plans the
	// same text again).
	grouped map[*yaml.Node]bool
	self    map[lineCol]bool
	diags   diag.List
	groups  int
}

func newEditor(path string, data []byte) *editor {
	e := &editor{path: path, data: data, out: bytes.Clone(data), drop: make([]bool, len(data)), lines: []int{0},
		dedent: map[int]int{}, done: map[*yaml.Node]bool{}, grouped: map[*yaml.Node]bool{}, self: map[lineCol]bool{}}
	for i, c := range data {
		if c == '\n' {
			e.lines = append(e.lines, i+1)
		}
	}
	return e
}

func (e *editor) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: e.path, Line: max(n.Line, 1), Col: max(n.Column, 1)}
}

func (e *editor) errorf(n *yaml.Node, code, format string, args ...any) *diag.Diagnostic {
	return e.diags.Errorf(e.pos(n), code, format, args...)
}

// line is the text of the 1-based line n, without its newline.
func (e *editor) line(n int) string {
	if n < 1 || n > len(e.lines) {
		return ""
	}
	return string(e.data[e.lines[n-1]:e.lineEnd(n)])
}

// lineEnd is the offset of the newline that ends line n (or of the end).
func (e *editor) lineEnd(n int) int {
	if n < len(e.lines) {
		return e.lines[n] - 1
	}
	return len(e.data)
}

// off is the offset of the 1-based column col (in characters) of line n.
func (e *editor) off(n, col int) int {
	if n < 1 {
		return 0
	}
	if n > len(e.lines) {
		return len(e.data)
	}
	o, end := e.lines[n-1], e.lineEnd(n)
	for c := 1; c < col && o < end; c++ {
		_, size := utf8.DecodeRune(e.data[o:end])
		o += size
	}
	return o
}

func (e *editor) nodeOff(n *yaml.Node) int { return e.off(n.Line, n.Column) }

// blank turns the characters in [from, to) into spaces, newlines kept.
func (e *editor) blank(from, to int) {
	for i := from; i < to && i < len(e.data); {
		r, size := utf8.DecodeRune(e.data[i:])
		if r != '\n' && r != '\r' {
			e.out[i] = ' '
			for j := 1; j < size; j++ {
				e.drop[i+j] = true
			}
		}
		i += size
	}
}

// result is the edited text, lines dedented.
func (e *editor) result() []byte {
	var b bytes.Buffer
	b.Grow(len(e.out))
	for n := 1; n <= len(e.lines); n++ {
		start, end := e.lines[n-1], e.lineEnd(n)
		k := e.dedent[n]
		for i := start; i < end; i++ {
			if e.drop[i] {
				continue
			}
			if k > 0 && e.out[i] == ' ' {
				k--
				continue
			}
			k = 0
			b.WriteByte(e.out[i])
		}
		if end < len(e.out) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// indent is the number of leading spaces of line n, and whether the line
// holds anything else.
func (e *editor) indent(n int) (int, bool) {
	l := e.line(n)
	t := strings.TrimLeft(l, " ")
	return len(l) - len(t), strings.TrimSpace(t) != ""
}

// lastLineOf is the last line of node v, including the lines after it that
// are indented at least minIndent columns (a multi-line scalar's, whose
// end the YAML library does not give).
func (e *editor) lastLineOf(v *yaml.Node, minIndent int) int {
	last := lastLine(v)
	for n := last + 1; n <= len(e.lines); n++ {
		ind, content := e.indent(n)
		if !content {
			continue
		}
		if ind < minIndent {
			break
		}
		last = n
	}
	return last
}

// dashBefore finds the "-" that starts the sequence item at offset o, or -1.
func (e *editor) dashBefore(o int) int {
	for i := o - 1; i >= 0; i-- {
		switch e.data[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '-':
			return i
		}
		return -1
	}
	return -1
}

// colOf is the 1-based column of offset o.
func (e *editor) colOf(o int) (line, col int) {
	line = 1
	for line < len(e.lines) && e.lines[line] <= o {
		line++
	}
	return line, utf8.RuneCount(e.data[e.lines[line-1]:o]) + 1
}

// flowEnd is where the flow value that starts at offset o ends: at the
// first ",", "}" or "]" outside brackets and quotes.
func (e *editor) flowEnd(o int) int {
	depth := 0
	for i := o; i < len(e.data); i++ {
		switch c := e.data[i]; c {
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		case '\'', '"':
			for i++; i < len(e.data) && e.data[i] != c; i++ {
				if c == '"' && e.data[i] == '\\' {
					i++
				}
			}
		}
	}
	return len(e.data)
}

// flowRange widens [from, to) of a flow item to take a comma with it: the
// one after, or else the one before.
func (e *editor) flowRange(from, to int) (int, int) {
	j := to
	for j < len(e.data) && (e.data[j] == ' ' || e.data[j] == '\t') {
		j++
	}
	if j < len(e.data) && e.data[j] == ',' {
		return from, j + 1
	}
	i := from - 1
	for i >= 0 && strings.ContainsRune(" \t\r\n", rune(e.data[i])) {
		i--
	}
	if i >= 0 && e.data[i] == ',' {
		return i, to
	}
	return from, to
}

// entryRange is the text of the i-th entry (key and value) of mapping m.
func (e *editor) entryRange(m *yaml.Node, i int) (int, int) {
	k, v := m.Content[2*i], m.Content[2*i+1]
	from := e.nodeOff(k)
	if m.Style&yaml.FlowStyle != 0 {
		return e.flowRange(from, e.flowEnd(from))
	}
	if 2*i+2 < len(m.Content) {
		return from, e.nodeOff(m.Content[2*i+2])
	}
	return from, e.lineEnd(e.lastLineOf(v, k.Column))
}

// itemRange is the text of the i-th item of sequence s, its "-" included.
func (e *editor) itemRange(s *yaml.Node, i int) (int, int) {
	it := s.Content[i]
	from := e.nodeOff(it)
	if s.Style&yaml.FlowStyle != 0 {
		return e.flowRange(from, e.flowEnd(from))
	}
	dash := e.dashBefore(from)
	if dash >= 0 {
		from = dash
	}
	if i+1 < len(s.Content) {
		next := e.nodeOff(s.Content[i+1])
		if d := e.dashBefore(next); d >= 0 {
			next = d
		}
		return from, next
	}
	_, dcol := e.colOf(from)
	return from, e.lineEnd(e.lastLineOf(it, dcol))
}

// resolve follows an alias to its anchor's node.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// mapValue is the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mergeKeys reports every YAML merge key: GitHub supports anchors and
// aliases (since 2025-09), but not merge keys.
// https://docs.github.com/en/actions/reference/workflows-and-actions/reusing-workflow-configurations#yaml-anchors-and-aliases
func (e *editor) mergeKeys(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 {
				e.errorf(k, "yaml-merge-key", "YAML merge key \"<<\" is not supported: GitHub Actions supports anchors and aliases, but not merge keys").
					Hint = "repeat the keys, or alias the whole mapping (key: *anchor)"
			}
		}
	}
	for _, c := range n.Content {
		e.mergeKeys(c, seen)
	}
}

// selfRef rewrites a uses: value written $/path as ./path, which
// actionlint reads (and lints, with the action's or workflow's file), and
// records where it was.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#example-using-an-action-in-the-same-repository-as-the-workflow-at-the-running-commit-recommended
func (e *editor) selfRef(n *yaml.Node) {
	if n == nil || n.Kind != yaml.ScalarNode || !strings.HasPrefix(n.Value, "$/") || e.done[n] {
		return
	}
	e.done[n] = true
	if _, ref, ok := strings.Cut(n.Value, "@"); ok {
		e.errorf(n, "action-ref", "uses: %q: a $/ reference takes no @%s: it always names the running commit", n.Value, ref).
			Hint = "write uses: " + strings.SplitN(n.Value, "@", 2)[0]
	}
	o := e.nodeOff(n)
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		o++
	}
	if o < len(e.out) && e.out[o] == '$' {
		e.out[o] = '.'
		e.self[posKey(n.Line, n.Column)] = true
	}
}

// controlKeys are the keys a wait, wait-all or cancel step may have
// besides its own.
var controlKeys = map[string]bool{"name": true, "id": true, "continue-on-error": true}

// steps plans a job's steps (or a composite action's) and takes the 2026
// keys out of the text.
func (e *editor) steps(seq *yaml.Node, composite bool) *stepPlan {
	plan := &stepPlan{}
	e.groups = 0 // groups are numbered in each job
	e.stepItems(plan, seq, composite, 0, diag.Pos{})
	return plan
}

func (e *editor) stepItems(plan *stepPlan, seq *yaml.Node, composite bool, group int, groupPos diag.Pos) {
	for i, raw := range seq.Content {
		item := resolve(raw)
		if item == nil || item.Kind != yaml.MappingNode {
			plan.items = append(plan.items, planItem{at: posKey(raw.Line, raw.Column), group: group, background: group > 0, groupPos: groupPos})
			continue
		}
		keys := map[string]*yaml.Node{}
		for k := 0; k+1 < len(item.Content); k += 2 {
			keys[item.Content[k].Value] = item.Content[k]
		}
		switch {
		case keys["parallel"] != nil:
			e.parallel(plan, seq, i, item, keys, composite, group)
		case keys["wait"] != nil || keys["wait-all"] != nil || keys["cancel"] != nil:
			if st := e.control(seq, i, item, keys, composite, group); st != nil {
				plan.items = append(plan.items, planItem{control: st})
			}
		default:
			plan.items = append(plan.items, e.step(item, composite, group, groupPos))
		}
	}
}

// step takes background: out of a step and says where actionlint will
// place the step.
func (e *editor) step(item *yaml.Node, composite bool, group int, groupPos diag.Pos) planItem {
	it := planItem{group: group, background: group > 0, groupPos: groupPos}
	first := -1
	for k := 0; k+1 < len(item.Content); k += 2 {
		key, val := item.Content[k], item.Content[k+1]
		switch key.Value {
		case "background":
			if !e.done[key] {
				e.done[key] = true
				e.blank(e.entryRange(item, k/2))
			}
			if composite {
				e.errorf(key, "composite-background", "a step of a composite action cannot run in the background").
					Hint = "GitHub allows background: in workflow steps only; the composite action itself may run as a background step"
				continue
			}
			b, ok := boolNode(val)
			if !ok {
				e.errorf(val, "step-background", "background must be true or false, not %q", val.Value)
			}
			it.background = it.background || b
			continue
		case "uses":
			e.selfRef(val)
		}
		if first < 0 {
			first = k
		}
	}
	switch {
	case item.Style&yaml.FlowStyle != 0 || item.Anchor != "" || first < 0:
		// A flow mapping is at its "{", an anchored one at its anchor.
		it.at = posKey(item.Line, item.Column)
	default:
		it.at = posKey(item.Content[first].Line, item.Content[first].Column)
	}
	return it
}

// boolNode reads a YAML boolean.
func boolNode(n *yaml.Node) (bool, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, false
	}
	b, err := strconv.ParseBool(strings.ToLower(n.Value))
	return b, err == nil
}

// control translates a wait, wait-all or cancel step (taken out of the
// text: actionlint does not know them). Such a step always runs and has
// no if:.
func (e *editor) control(seq *yaml.Node, i int, item *yaml.Node, keys map[string]*yaml.Node, composite bool, group int) *dag.Step {
	if !e.done[item] {
		e.done[item] = true
		e.blank(e.itemRange(seq, i))
	}
	at := resolve(seq.Content[i])
	if composite {
		e.errorf(at, "composite-background", "a composite action cannot wait for or cancel background steps: it has none").
			Hint = "GitHub allows wait, wait-all and cancel in workflow steps only"
		return nil
	}
	if group > 0 {
		e.errorf(at, "step-parallel", "a parallel: group cannot hold wait, wait-all or cancel steps: it waits for its steps itself")
		return nil
	}
	st := &dag.Step{Pos: dag.SourcePos{Pos: e.pos(at)}}
	kinds := 0
	ok := true
	for k := 0; k+1 < len(item.Content); k += 2 {
		key, val := item.Content[k], resolve(item.Content[k+1])
		switch key.Value {
		case "wait":
			kinds++
			switch {
			case val.Kind == yaml.ScalarNode && val.Tag != "!!null" && val.Value != "":
				st.Wait = []string{val.Value}
			case val.Kind == yaml.SequenceNode && len(val.Content) > 0:
				for _, id := range val.Content {
					if id = resolve(id); id.Kind != yaml.ScalarNode || id.Value == "" {
						e.errorf(id, "step-wait", "wait: takes step ids")
						ok = false
						continue
					}
					st.Wait = append(st.Wait, id.Value)
				}
			default:
				e.errorf(val, "step-wait", "wait: takes the id of a background step, or a list of them")
				ok = false
			}
		case "wait-all":
			kinds++
			// wait-all: takes no argument; wait-all: true is the same.
			if b, isBool := boolNode(val); val.Tag != "!!null" && (!isBool || !b) {
				e.errorf(val, "step-wait", "wait-all takes no value (or true), not %q", val.Value)
				ok = false
			}
			st.WaitAll = true
		case "cancel":
			kinds++
			if val.Kind != yaml.ScalarNode || val.Value == "" || val.Tag == "!!null" {
				e.errorf(val, "step-wait", "cancel: takes the id of one background step")
				ok = false
				continue
			}
			st.Cancel = val.Value
		case "name":
			st.Name = val.Value
		case "id":
			st.ID = val.Value
		case "continue-on-error":
			b, isBool := boolNode(val)
			if !isBool {
				e.errorf(val, "step-wait", "continue-on-error of a wait, wait-all or cancel step must be true or false")
				ok = false
			}
			st.ContinueOnError = dag.FlagOf(b)
		case "if":
			e.errorf(key, "step-wait", "a %s step always runs: it takes no if:", controlKind(keys)).
				Hint = "put the condition on the steps that come after it"
			ok = false
		default:
			if !controlKeys[key.Value] {
				e.errorf(key, "step-wait", "unexpected key %q in a %s step; it takes %s and name, id, continue-on-error", key.Value, controlKind(keys), controlKind(keys))
				ok = false
			}
		}
	}
	if kinds > 1 {
		e.errorf(at, "step-wait", "a step has one of wait, wait-all and cancel, not several")
		ok = false
	}
	if !ok {
		return nil
	}
	return st
}

func controlKind(keys map[string]*yaml.Node) string {
	for _, k := range []string{"wait", "wait-all", "cancel"} {
		if keys[k] != nil {
			return k
		}
	}
	return "wait"
}

// parallel plans a parallel: group: its steps become steps of the job,
// dedented in the text to the level of their siblings, each run in the
// background, and a wait for all of them follows.
func (e *editor) parallel(plan *stepPlan, seq *yaml.Node, i int, item *yaml.Node, keys map[string]*yaml.Node, composite bool, group int) {
	key := keys["parallel"]
	val := resolve(mapValue(item, "parallel"))
	drop := func() {
		if !e.done[item] {
			e.done[item] = true
			e.blank(e.itemRange(seq, i))
		}
	}
	switch {
	case composite:
		e.errorf(key, "composite-background", "parallel: cannot be used in a composite action").
			Hint = "GitHub allows parallel: in workflow steps only"
		drop()
		return
	case group > 0:
		e.errorf(key, "step-parallel", "parallel: groups cannot nest").
			Hint = "list the steps of the inner group in the outer one"
		drop()
		return
	case len(keys) > 1:
		for k := 0; k+1 < len(item.Content); k += 2 {
			if item.Content[k].Value != "parallel" {
				e.errorf(item.Content[k], "step-parallel", "unexpected key %q beside parallel:; a parallel: step has nothing else", item.Content[k].Value)
			}
		}
		drop()
		return
	case val == nil || val.Kind != yaml.SequenceNode || len(val.Content) == 0:
		e.errorf(key, "step-parallel", "parallel: takes a list of steps")
		drop()
		return
	case val.Style&yaml.FlowStyle != 0 || seq.Style&yaml.FlowStyle != 0 || item.Style&yaml.FlowStyle != 0 || val.Line == key.Line:
		e.unsupportedf(key, "parallel: written in flow style ([...])", "write the group as a block list of steps, one \"- \" per step")
		drop()
		return
	}
	if e.grouped[item] {
		// An alias of a group planned already: the same text, the same plan.
		e.group(plan, val, composite, key)
		return
	}
	e.grouped[item] = true
	outer := e.dashBefore(e.nodeOff(item))
	inner := e.dashBefore(e.nodeOff(resolve(val.Content[0])))
	if outer < 0 || inner < 0 {
		e.unsupportedf(key, "this layout of parallel:", "write \"- parallel:\" with the steps below it, one \"- \" each")
		drop()
		return
	}
	_, outerCol := e.colOf(outer)
	_, innerCol := e.colOf(inner)
	k := innerCol - outerCol
	if k <= 0 {
		e.unsupportedf(key, "this layout of parallel:", "indent the steps of the group below \"- parallel:\"")
		drop()
		return
	}
	// The "- parallel:" line goes; the group's lines move left by k.
	e.blank(outer, e.lineEnd(key.Line))
	last := e.lastLineOf(val, outerCol)
	if i+1 < len(seq.Content) {
		next := resolve(seq.Content[i+1])
		if nl, _ := e.colOf(max(e.dashBefore(e.nodeOff(next)), 0)); nl-1 < last {
			last = nl - 1
		}
	}
	for n := key.Line + 1; n <= last; n++ {
		e.dedent[n] = k
	}
	e.group(plan, val, composite, key)
}

// group plans the steps of a parallel: group; its last step ends it.
func (e *editor) group(plan *stepPlan, val *yaml.Node, composite bool, key *yaml.Node) {
	e.groups++
	before := len(plan.items)
	e.stepItems(plan, val, composite, e.groups, e.pos(key))
	if len(plan.items) > before {
		plan.items[len(plan.items)-1].groupEnd = true
	}
}

func (e *editor) unsupportedf(n *yaml.Node, what, todo string) {
	e.errorf(n, "unsupported", "%s is not supported", what).Hint = todo
}

// services takes entrypoint: and command: out of services (GitHub,
// 2026-04), which actionlint does not know.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idservices
func (e *editor) services(svcs *yaml.Node) map[string]*serviceExtra {
	out := map[string]*serviceExtra{}
	for i := 0; i+1 < len(svcs.Content); i += 2 {
		name := svcs.Content[i].Value
		svc := resolve(svcs.Content[i+1])
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		var x serviceExtra
		for k := 0; k+1 < len(svc.Content); k += 2 {
			key, val := svc.Content[k], resolve(svc.Content[k+1])
			var dst **wordList
			switch key.Value {
			case "entrypoint":
				dst = &x.entrypoint
			case "command":
				dst = &x.command
			default:
				continue
			}
			if !e.done[key] {
				e.done[key] = true
				e.blank(e.entryRange(svc, k/2))
			}
			switch {
			case val.Kind == yaml.ScalarNode && val.Tag != "!!null":
				*dst = &wordList{words: []*yaml.Node{val}, split: true}
			case val.Kind == yaml.SequenceNode:
				wl := &wordList{}
				for _, w := range val.Content {
					if w = resolve(w); w.Kind != yaml.ScalarNode {
						e.errorf(w, "service", "%s of service %q: each item must be a string", key.Value, name)
						continue
					}
					wl.words = append(wl.words, w)
				}
				*dst = wl
			default:
				e.errorf(val, "service", "%s of service %q must be a string or a list of strings", key.Value, name)
			}
		}
		if x.entrypoint != nil || x.command != nil {
			out[name] = &x
		}
	}
	return out
}

// numbers finds the number literals of expressions that GitHub reads and
// actionlint's lexer refuses (a trailing ".", as in 3.) and writes them as
// actionlint reads them, the same number (3). inIf says n is an if:
// value, an expression without ${{ }}.
func (e *editor) numbers(n *yaml.Node, inIf bool) {
	if n == nil || e.done[n] && n.Kind == yaml.ScalarNode {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			e.numbers(n.Content[i+1], n.Content[i].Value == "if")
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			e.numbers(c, false)
		}
	case yaml.ScalarNode:
		if !inIf && !strings.Contains(n.Value, "${{") {
			return
		}
		if !strings.Contains(n.Value, ".") {
			return
		}
		e.done[n] = true
		from := e.nodeOff(n)
		to := e.lineEnd(e.lastLineOf(n, n.Column))
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		switch {
		case quoted:
			// Inside the quotes: the closing one is the last of the text.
			q := e.data[from]
			from++
			if i := bytes.LastIndexByte(e.data[from:max(to, from)], q); i >= 0 {
				to = from + i
			}
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !strings.Contains(n.Value, "\n"):
			to = min(to, e.lineEnd(n.Line))
		}
		if from > to {
			return
		}
		e.trailingDots(e.data[from:to], from, inIf && !strings.Contains(n.Value, "${{"))
	}
}

// trailingDots rewrites, inside the expressions of text (at offset base
// in the file), number literals that end with "." (3. is 3 on GitHub,
// whose lexer reads a number up to the next delimiter and parses it as a
// double). whole says text is one expression, without ${{ }}.
// https://github.com/actions/runner/blob/main/src/Sdk/DTExpressions2/Expressions2/Tokens/LexicalAnalyzer.cs
func (e *editor) trailingDots(text []byte, base int, whole bool) {
	for i := 0; i < len(text); {
		start, end := i, len(text)
		if !whole {
			j := bytes.Index(text[i:], []byte("${{"))
			if j < 0 {
				return
			}
			start = i + j + 3
			k := bytes.Index(text[start:], []byte("}}"))
			if k < 0 {
				return
			}
			end = start + k
		}
		e.dotsIn(text[start:end], base+start)
		if whole {
			return
		}
		i = end + 2
	}
}

// dotsIn rewrites the trailing-dot number literals of one expression.
func (e *editor) dotsIn(x []byte, base int) {
	boundary := func(c byte) bool { return strings.IndexByte("()[],!<>=&| \t\r\n", c) >= 0 }
	for i := 0; i < len(x); i++ {
		c := x[i]
		if c == '\'' {
			for i++; i < len(x); i++ {
				if x[i] == '\'' {
					if i+1 < len(x) && x[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
			continue
		}
		if c < '0' || c > '9' || i > 0 && !boundary(x[i-1]) {
			continue
		}
		j := i
		for j < len(x) && !boundary(x[j]) {
			j++
		}
		tok := x[i:j]
		if len(tok) >= 2 && tok[len(tok)-1] == '.' && strings.Count(string(tok), ".") == 1 && isDigits(tok[:len(tok)-1]) {
			o := base + j - 1
			e.out[o] = ' '
			line, col := e.colOf(base + i)
			d := e.diags.Errorf(diag.Pos{File: e.path, Line: line, Col: col}, "expression", "number literal %q ends with \".\"", tok)
			d.Hint = fmt.Sprintf("write %s or %s.0", tok[:len(tok)-1], tok[:len(tok)-1])
		}
		i = j - 1
	}
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
