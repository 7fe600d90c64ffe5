#!/usr/bin/env bash
# bench/buildkit.sh — gantry on BuildKit: a first run (nothing cached)
# against an unchanged re-run of the same pipeline, and BuildKit against the
# host executor, side by side in one run on this machine.
#
# Usage: bash bench/buildkit.sh [-n RUNS]
#   -n RUNS  measured rounds (default 9, env BENCH_RUNS); each round makes a
#            fresh repository (so the first run misses the cache), runs it on
#            BuildKit twice, then once on the host executor
# Needs the engine of scripts/buildkit-up (started when BUILDKIT_HOST is unset)
# and /usr/bin/time. GANTRY=PATH measures that gantry binary instead of
# building one.
#
# The pipeline (a GitHub workflow, 5 jobs): build makes a 2,000,000-line data
# file and an artifact from it; test (a matrix of 2) sorts it two ways; lint
# hashes the sources; report needs them all. Every job runs in the busybox
# image (-P default=rootfs://...) on BuildKit, and in a copy of the repository
# on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS="${BENCH_RUNS:-9}"
while getopts "n:h" opt; do
	case "$opt" in
	n) RUNS="$OPTARG" ;;
	h) sed -n '2,18p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
if [[ -z "${BUILDKIT_HOST:-}" || -z "${GANTRY_TEST_ROOTFS:-}" ]]; then
	eval "$(scripts/buildkit-up)"
fi
[[ -x /usr/bin/time ]] || { echo "bench/buildkit.sh: needs /usr/bin/time (Debian's time package) for peak memory" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -n "${GANTRY:-}" ]]; then
	cp "$GANTRY" "$work/gantry" # another build of gantry (an older commit's), measured the same way
else
	go build -o "$work/gantry" ./cmd/gantry
fi
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
export XDG_CACHE_HOME="$work/cache"

pipeline() {
	mkdir -p "$1/.github/workflows" "$1/src"
	for i in $(seq 1 50); do echo "package src // file $i" >"$1/src/f$i.go"; done
	date +%s%N >"$1/seed.txt" # a new repository every round: the first run misses
	cat >"$1/.github/workflows/ci.yml" <<'YAML'
name: bench
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: seq 1 2000000 > data.txt && cat seed.txt >> data.txt
      - run: sha256sum data.txt | tee data.sum
      - uses: actions/upload-artifact@v4
        with:
          name: data
          path: data.txt
  test:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      matrix:
        order: [n, r]
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: data
      - run: sort -${{ matrix.order }} data.txt | sha256sum
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: cat src/*.go | sha256sum && sleep 1
  report:
    needs: [test, lint]
    runs-on: ubuntu-latest
    steps:
      - run: echo all done
YAML
	(cd "$1" && git init -q -b main && git add -A && git commit -q -m bench)
}

# run LABEL DIR ARGS...: wall seconds of one gantry run, appended to
# $work/LABEL, and its peak memory (max RSS, MB) to $work/LABEL.rss
run() {
	local label="$1" dir="$2"
	shift 2
	local start end
	start=$EPOCHREALTIME
	(cd "$dir" && /usr/bin/time -f %M -o "$work/$label.last" "$work/gantry" run "$@" .github/workflows/ci.yml >"$work/$label.log" 2>&1) || {
		echo "gantry run ($label) failed; its output:" >&2
		tail -30 "$work/$label.log" >&2
		exit 1
	}
	end=$EPOCHREALTIME
	awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}' >>"$work/$label"
	awk '{printf "%.1f\n", $1 / 1024}' "$work/$label.last" >>"$work/$label.rss"
}

bk=(--executor buildkit -P "default=rootfs://$GANTRY_TEST_ROOTFS")
for round in $(seq 1 "$RUNS"); do
	repo="$work/repo-$round"
	pipeline "$repo"
	run first "$repo" "${bk[@]}"
	run rerun "$repo" "${bk[@]}"
	run host "$repo" --executor host
	echo "== round $round/$RUNS done" >&2
done

first=$(median_of "$work/first")
rerun=$(median_of "$work/rerun")
host=$(median_of "$work/host")
pct=$(calc "100 * $rerun / $first" 1)
row() { echo "| $1 | $(median_of "$work/$2") | $(spread "$work/$2") | $(median_of "$work/$2.rss" | cut -d. -f1) |"; }
echo
echo "## gantry on BuildKit, $RUNS rounds, medians (5 jobs; busybox image; buildkitd at $BUILDKIT_HOST)"
echo
echo "| run | wall (s) | rounds' range (s) | peak RSS (MB) |"
echo "|---|---:|---:|---:|"
row "BuildKit, first run (nothing cached)" first
row "BuildKit, unchanged re-run" rerun
row "host executor, same pipeline" host
echo
verdict="met"
if [[ "$(calc "$rerun > 0.05 * $first" 0)" == 1 ]]; then verdict="MISSED"; fi
echo "- re-run / first run: ${pct}% (target at most 5%: $verdict)"
echo "- BuildKit first run / host executor: $(calc "$first / $host")×"
echo "- BuildKit re-run / host executor: $(calc "$rerun / $host")×"
echo "- peak RSS: /usr/bin/time's max RSS, the largest of gantry's process and those it waited for (on the host, the jobs' sort); buildkitd's is not in it"
