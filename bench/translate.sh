#!/usr/bin/env bash
# bench/translate.sh — `gantry translate` of GitHub's starter workflows as
# one process, next to actionlint linting the same files (gantry lints
# with actionlint's parser and rules, then translates), and the start-up
# of both (`version`), with peak memory beside each time.
#
# Usage: bash bench/translate.sh [-n RUNS] [-b BASE_COMMIT]
#   -n RUNS   timed runs of each command, interleaved (default 15, env BENCH_RUNS)
#   -b REV    also time gantry built from this commit (a git worktree in the temp dir)
# Environment:
#   GANTRY_CORPUS  the corpus directory (github/starter-workflows/*/*.yml);
#                  default ../shared/corpus beside the repository
set -uo pipefail

RUNS="${BENCH_RUNS:-15}"
BASE=""
while getopts "n:b:h" opt; do
	case "$opt" in
	n) RUNS="$OPTARG" ;;
	b) BASE="$OPTARG" ;;
	h) sed -n '2,13p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO/bench/lib.sh"
CORPUS="${GANTRY_CORPUS:-$REPO/../shared/corpus}"
mapfile -t FILES < <(find "$CORPUS/github/starter-workflows" -name '*.yml' 2>/dev/null | sort)
((${#FILES[@]} > 0)) || { echo "translate.sh: no starter workflows under $CORPUS/github/starter-workflows (set GANTRY_CORPUS)" >&2; exit 1; }
TIME=/usr/bin/time
"$TIME" -v true >/dev/null 2>&1 || { echo "translate.sh: needs GNU time at /usr/bin/time (Debian package time)" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gantry-trbench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "== building gantry and actionlint (the version in gantry's go.mod)" >&2
(cd "$REPO" && go build -o "$WORK/gantry" ./cmd/gantry && go build -o "$WORK/actionlint" github.com/rhysd/actionlint/cmd/actionlint) || exit 1
COMMIT="$(cd "$REPO" && git rev-parse --short HEAD)"
[[ -n "$(cd "$REPO" && git status --porcelain -- . ':!bench' ':!docs' 2>/dev/null)" ]] && COMMIT+="+changes"
CMDS=(gantry actionlint gantry-version actionlint-version)
if [[ -n "$BASE" ]]; then
	git -C "$REPO" worktree add -q "$WORK/base" "$BASE" || exit 1
	(cd "$WORK/base" && go build -o "$WORK/gantry-base" ./cmd/gantry) || exit 1
	git -C "$REPO" worktree remove --force "$WORK/base"
	CMDS=(gantry-base gantry actionlint gantry-base-version gantry-version actionlint-version)
fi

cmdline() {
	case "$1" in
	gantry | gantry-base) echo "$WORK/$1" translate "${FILES[@]}" ;;
	actionlint) echo "$WORK/actionlint" -no-color "${FILES[@]}" ;;
	*-version) echo "$WORK/${1%-version}" -version ;; # gantry: help (its version may ask git)
	esac
}
label() {
	case "$1" in
	gantry) echo "gantry translate ($COMMIT)" ;;
	gantry-base) echo "gantry translate ($BASE)" ;;
	actionlint) echo "actionlint $("$WORK/actionlint" -version | head -1)" ;;
	gantry-version) echo "gantry help ($COMMIT): start-up" ;;
	gantry-base-version) echo "gantry help ($BASE): start-up" ;;
	actionlint-version) echo "actionlint -version: start-up" ;;
	esac
}

busy_cpu() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / 100 }' /proc/stat; }
B0="$(busy_cpu)" W0=$EPOCHREALTIME
for i in $(seq 0 "$RUNS"); do
	for c in "${CMDS[@]}"; do
		read -r -a argv <<<"$(cmdline "$c")"
		[[ "$c" == *-version && "$c" == gantry* ]] && argv=("${argv[0]}" help)
		t0=$EPOCHREALTIME
		"$TIME" -v -o "$WORK/t" "${argv[@]}" >/dev/null 2>"$WORK/err"
		t1=$EPOCHREALTIME
		((i == 0)) && continue # warm-up
		echo $(((${t1/./} - ${t0/./}) / 1000)) >>"$WORK/$c.ms"
		awk -F': *' '/Maximum resident set size/ {print $2}' "$WORK/t" >>"$WORK/$c.kb"
		awk -F': *' '/User time|System time/ {t += $2} END {printf "%d\n", t * 1000}' "$WORK/t" >>"$WORK/$c.cpu"
	done
done
B1="$(busy_cpu)" W1=$EPOCHREALTIME

echo
echo "# gantry translate vs actionlint — $(date -u +%Y-%m-%d), ${#FILES[@]} starter workflows, $RUNS runs each (median, interleaved)"
echo
echo "- machine: $(nproc) CPUs, Linux $(uname -r); the machine's busy CPU during the runs: $(awk -v b0="$B0" -v b1="$B1" -v w0="$W0" -v w1="$W1" -v n="$(nproc)" 'BEGIN { printf "%.0f%% of %d CPUs (the commands themselves included)", 100 * (b1 - b0) / ((w1 - w0) * n), n }')"
echo
echo "| command | median wall | min | max | CPU (user+sys) | peak RSS |"
echo "|---|---:|---:|---:|---:|---:|"
for c in "${CMDS[@]}"; do
	echo "| $(label "$c") | $(median <"$WORK/$c.ms") ms | $(sort -n "$WORK/$c.ms" | head -1) ms | $(sort -n "$WORK/$c.ms" | tail -1) ms | $(median <"$WORK/$c.cpu") ms | $(($(sort -n "$WORK/$c.kb" | tail -1) / 1024)) MB |"
done
g="$(median <"$WORK/gantry.ms")" a="$(median <"$WORK/actionlint.ms")"
echo
echo "gantry / actionlint: $(awk -v g="$g" -v a="$a" 'BEGIN { printf "%.2f", g / a }')× (target ≤ 1.5×)"
echo
echo "Package initialisation at start-up (GODEBUG=inittrace=1, gantry help), the largest:"
echo
GODEBUG=inittrace=1 "$WORK/gantry" help 2>&1 >/dev/null | sed -nE 's/^init ([^ ]+) @[0-9.]+ ms, ([0-9.]+) ms clock.*/\2 \1/p' | sort -rn >"$WORK/init"
echo "- all packages: $(awk '{s += $1} END {printf "%.1f ms", s}' "$WORK/init") over $(wc -l <"$WORK/init") packages"
head -5 "$WORK/init" | awk '{printf "- %s: %.1f ms\n", $2, $1}'
