package gitlab

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// GitLab reads every duration of a CI file (timeout, start_in,
// artifacts:expire_in, environment:auto_stop_in, pages:expire_in) with
// ChronicDuration.parse, from its gitlab-chronic-duration gem (0.12), with
// raise_exceptions on (config/initializers/chronic_duration.rb) and the
// default 24-hour day and 30-day month. chronicDuration does what that
// parse does, step by step:
//
//  1. lower-case the text;
//  2. a clock form ("1:20", "4:01:01", up to "y:mo:d:h:m:s", spaces
//     ignored) becomes "N seconds", "N minutes"... from the right;
//  3. every number ([0-9]*\.?[0-9]+) gets a space on either side, runs of
//     spaces become one;
//  4. each word is a number, a unit (plurals and abbreviations: s, sec,
//     secs, second, seconds; m, min, mins, minute, minutes; h, hr, hrs,
//     hour, hours; d, dy, day, days; w, wk, wks, week, weeks; mo, mos,
//     month, months; y, yr, yrs, year, years), one of the joining words
//     and, with, plus (each may carry a leading or trailing comma), or an
//     error ("An invalid word ... was used");
//  5. a text that starts with a unit counts one of it ("day", "minute 30s");
//  6. each number counts in the unit after it; a number without one counts
//     in the unit below the last one written ("1h 30" is 90 minutes), or
//     in seconds when none was ("3600");
//  7. a total of zero is no duration: GitLab rejects "0" and "0s".
//
// A month is 30 days, a week 7 (30 / 4, in whole days), a year 365.25.

// durationUnits maps the words chronic_duration knows to its units.
var durationUnits = map[string]string{
	"seconds": "seconds", "second": "seconds", "secs": "seconds", "sec": "seconds", "s": "seconds",
	"minutes": "minutes", "minute": "minutes", "mins": "minutes", "min": "minutes", "m": "minutes",
	"hours": "hours", "hour": "hours", "hrs": "hours", "hr": "hours", "h": "hours",
	"days": "days", "day": "days", "dy": "days", "d": "days",
	"weeks": "weeks", "week": "weeks", "wks": "weeks", "wk": "weeks", "w": "weeks",
	"months": "months", "mo": "months", "mos": "months", "month": "months",
	"years": "years", "year": "years", "yrs": "years", "yr": "years", "y": "years",
}

// durationOrder lists the units from the smallest.
var durationOrder = []string{"seconds", "minutes", "hours", "days", "weeks", "months", "years"}

// durationSeconds is each unit's length.
var durationSeconds = map[string]float64{
	"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400,
	"weeks": 7 * 86400, "months": 30 * 86400, "years": 31557600,
}

var (
	// Ruby's ^ and $ match at line ends, hence (?m).
	durationClock  = regexp.MustCompile(`(?m)^[0-9]+:[0-9]+(:[0-9]+){0,4}(\.[0-9]*)?$`)
	durationNumber = regexp.MustCompile(`[0-9]*\.?[0-9]+`)
)

// durationError is why a text is not a duration.
type durationError struct {
	// word is the word GitLab does not know ("" when the text adds up to
	// nothing).
	word string
}

func (e *durationError) Error() string {
	if e.word == "" {
		return "it adds up to no time"
	}
	return fmt.Sprintf("GitLab does not know the word %q", e.word)
}

// chronicDuration returns the seconds s stands for, as GitLab reads it.
func chronicDuration(s string) (float64, error) {
	s = strings.ToLower(s)
	s = durationClockWords(s)
	s = durationNumber.ReplaceAllStringFunc(s, func(n string) string { return " " + n + " " })
	s = squeezeSpaces(s)
	s = strings.Trim(s, rubySpace+"\x00")
	var words []string
	for _, w := range rubyFields(s) {
		if durationNumber.MatchString(w) {
			words = append(words, w)
			continue
		}
		stripped := strings.TrimSuffix(strings.TrimPrefix(w, ","), ",")
		if u, ok := durationUnits[stripped]; ok {
			words = append(words, u)
		} else if stripped != "and" && stripped != "with" && stripped != "plus" {
			return 0, &durationError{word: w}
		}
	}
	if len(words) > 0 && durationUnits[words[0]] != "" {
		words = append([]string{"1"}, words...)
	}
	var total float64
	last := ""
	for i, w := range words {
		if !durationNumber.MatchString(w) {
			continue
		}
		unit := "seconds"
		switch {
		case i+1 < len(words) && durationSeconds[words[i+1]] > 0:
			unit = words[i+1]
			last = unit
		case last != "":
			if j := slices.Index(durationOrder, last); j > 0 {
				unit = durationOrder[j-1]
			} else {
				unit = last
			}
			last = unit
		}
		total += rubyNumber(w) * durationSeconds[unit]
	}
	if total == 0 {
		return 0, &durationError{}
	}
	return total, nil
}

// durationClockWords rewrites "h:m:s" as words, as filter_by_type does.
func durationClockWords(s string) string {
	compact := strings.ReplaceAll(s, " ", "")
	if !durationClock.MatchString(compact) {
		return s
	}
	units := slices.DeleteFunc(slices.Clone(durationOrder), func(u string) bool { return u == "weeks" })
	parts := strings.Split(compact, ":")
	words := make([]string, 0, len(parts))
	for k := range parts {
		// The clock form has at most six parts, one per unit.
		words = append(words, parts[len(parts)-1-k]+" "+units[k])
	}
	slices.Reverse(words)
	return strings.Join(words, " ")
}

// rubySpace is what Ruby's String#split and #strip take for white space.
const rubySpace = " \t\n\v\f\r"

func rubyFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(rubySpace, r) })
}

func squeezeSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rubyNumber reads a number word as convert_to_number does: its float
// value (to_f), or its integer part when that has no fraction (to_i).
func rubyNumber(w string) float64 {
	f, _ := strconv.ParseFloat(w, 64) // a match of durationNumber; a range error gives ±Inf
	return f
}

// durationKind says how GitLab checks one duration keyword.
type durationKind struct {
	// key names the keyword in messages ("timeout", "artifacts:expire_in").
	key string
	// never accepts "never" (any case) for no limit: the keywords GitLab
	// validates with Gitlab::Ci::Build::DurationParser.
	never bool
	// max is GitLab's limit (0: none), as it writes it.
	max     time.Duration
	maxText string
}

var (
	// timeout is limited to Project::MAX_BUILD_TIMEOUT, 1.month in Rails
	// (2629746 seconds), which GitLab writes "1 mo 10 hrs 29 mins 6 secs".
	timeoutDuration  = durationKind{key: "timeout", max: 2629746 * time.Second, maxText: "1 month (30 days 10 hours 29 minutes 6 seconds)"}
	startInDuration  = durationKind{key: "start_in", max: 7 * 24 * time.Hour, maxText: "1 week"}
	expireInDuration = durationKind{key: "artifacts:expire_in", never: true}
	autoStopDuration = durationKind{key: "environment:auto_stop_in", never: true}
	pagesExpireIn    = durationKind{key: "pages:expire_in", never: true}
)

// duration reads a GitLab duration into the DAG. A null value is none;
// "never", where the keyword takes it, is none too. What GitLab rejects is
// a positioned error with a hint.
func (t *translator) duration(v *node, k durationKind) dag.Duration {
	if v == nil || v.isNull() {
		return ""
	}
	if v.kind != scalarKind || v.tag != "!!str" {
		found := v.describe()
		if v.kind == scalarKind {
			kinds := map[string]string{"!!int": "number", "!!float": "number", "!!bool": "boolean", "!!timestamp": "date"}
			found = fmt.Sprintf("the %s %s", cmp.Or(kinds[v.tag], strings.TrimPrefix(v.tag, "!!")), v.value)
		}
		d := t.diags.Errorf(t.scalarPos(v), "duration", "%s must be a duration written as a string, found %s", k.key, found)
		if v.kind == scalarKind && (v.tag == "!!int" || v.tag == "!!float") {
			d.Hint = fmt.Sprintf("quote it: %s: \"%s\" (seconds), or give a unit: \"%s seconds\"", lastKey(k.key), v.value, v.value)
		} else {
			d.Hint = durationHint(k)
		}
		return ""
	}
	if strings.EqualFold(v.value, "never") {
		if !k.never {
			t.diags.Errorf(t.scalarPos(v), "duration", "%s cannot be never; GitLab takes never only for artifacts:expire_in, environment:auto_stop_in and pages:expire_in", k.key).
				Hint = fmt.Sprintf("remove %s for the default, or give a duration", lastKey(k.key))
			return ""
		}
		return ""
	}
	secs, err := chronicDuration(v.value)
	if err != nil {
		d := t.diags.Errorf(t.scalarPos(v), "duration", "%s: %q is not a duration: %v", k.key, v.value, err)
		d.Hint = durationHint(k)
		if de, ok := err.(*durationError); ok && de.word != "" {
			words := make([]string, 0, len(durationUnits)+3)
			for w := range durationUnits {
				words = append(words, w)
			}
			slices.Sort(words)
			if k.never {
				words = append(words, "never")
			}
			if s := diag.Closest(strings.Trim(strings.ToLower(de.word), ","), words); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q? %s", s, d.Hint)
			}
		}
		return ""
	}
	// GitLab compares from_now times computed one after the other, so a
	// duration equal to the limit passes.
	if k.max > 0 && secs > k.max.Seconds() {
		t.diags.Errorf(t.scalarPos(v), "duration", "%s: %q is longer than GitLab allows (at most %s)", k.key, v.value, k.maxText)
		return ""
	}
	if math.IsInf(secs, 0) || secs >= float64(math.MaxInt64)/float64(time.Second) {
		t.diags.Warnf(t.scalarPos(v), "duration", "%s: %q is longer than a DAG duration can hold (about 292 years); gantry treats it as never", k.key, v.value)
		return ""
	}
	return dag.DurationOf(time.Duration(math.Round(secs * float64(time.Second))))
}

func durationHint(k durationKind) string {
	h := "write it as GitLab reads it: \"90 minutes\", \"1h 30m\", \"2 days and 4 hours\", \"1 week\", \"3 months\", or seconds as a string (\"3600\")"
	if k.never {
		h += ", or never"
	}
	return h
}

func lastKey(key string) string {
	if i := strings.LastIndexByte(key, ':'); i >= 0 {
		return key[i+1:]
	}
	return key
}
