#!/usr/bin/env bash
# bench/buildkit-shared.sh — results shared between engines: a cold run on a
# fresh engine, against the first run on another fresh engine that imports
# what a third one exported (--cache-to / --cache-from), through a local
# directory, an S3 bucket (bench/s3server, on 127.0.0.1) and, when the
# test registry runs, through it.
#
# Usage: bash bench/buildkit-shared.sh [-n RUNS]
#   -n RUNS  measured rounds (default 5, env BENCH_RUNS); each round makes a
#            fresh repository and three fresh engines (their own state):
#            C runs cold with no cache option, A runs cold and exports, B
#            imports A's export and runs (then the same from S3 and the
#            registry),
#            each run with gantry's state empty, B in a clone of its own
# BENCH_KEEP=1 keeps the runs' logs (the directory is printed).
# Needs root and the engine binaries of scripts/buildkit-up (run when
# GANTRY_BUILDKITD is unset); the registry of scripts/registry-up is used
# when GANTRY_TEST_REGISTRY is set.
#
# The pipeline is bench/buildkit.sh's (5 jobs: a 15 MB artifact, a matrix
# of 2 sorting it, a lint that sleeps 1 s, a report), every job in the
# busybox image.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS="${BENCH_RUNS:-5}"
while getopts "n:h" opt; do
	case "$opt" in
	n) RUNS="$OPTARG" ;;
	h) sed -n '2,22p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
if [[ -z "${GANTRY_BUILDKITD:-}" || -z "${GANTRY_TEST_ROOTFS:-}" ]]; then
	eval "$(scripts/buildkit-up)"
fi
work="$(mktemp -d)"
engines=()
cleanup() {
	for pid in "${engines[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${engines[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ -n "${BENCH_KEEP:-}" ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
go build -o "$work/gantry" ./cmd/gantry
# An S3 bucket on 127.0.0.1 (bench/s3server), the third backend.
go build -o "$work/s3server" ./bench/s3server
"$work/s3server" "$work/s3" gantry >"$work/s3.url" &
engines+=("$!")
s3pid=$!
for _ in $(seq 1 50); do [[ -s "$work/s3.url" ]] && break; sleep 0.1; done
s3="type=s3,bucket=gantry,region=us-east-1,endpoint_url=$(cat "$work/s3.url"),use_path_style=true,access_key_id=gantry-bench,secret_access_key=gantry-bench-s3-secret-7f3c"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

# The pipeline of bench/buildkit.sh, taken from it so the two stay one.
eval "$(sed -n '/^pipeline() {/,/^}/p' bench/buildkit.sh)"

# engine NAME: starts a buildkitd with its own state, sets ENGINE to its
# address.
engine() {
	local dir="$work/engine-$1"
	mkdir -p "$dir"
	"$GANTRY_BUILDKITD" --root "$dir/root" --addr "unix://$dir/sock" --oci-worker=true --containerd-worker=false >"$dir/log" 2>&1 &
	engines+=("$!")
	for _ in $(seq 1 100); do
		[[ -S "$dir/sock" ]] && { ENGINE="unix://$dir/sock"; return; }
		sleep 0.1
	done
	echo "buildkitd $1 did not start:" >&2
	cat "$dir/log" >&2
	exit 1
}

# stop_engines stops the engines started so far and removes their state.
stop_engines() {
	for pid in "${engines[@]}"; do
		[[ "$pid" == "$s3pid" ]] || kill "$pid" 2>/dev/null || true
	done
	for pid in "${engines[@]}"; do
		[[ "$pid" == "$s3pid" ]] || wait "$pid" 2>/dev/null || true
	done
	engines=("$s3pid")
	rm -rf "$work"/engine-*
}

# run LABEL DIR ARGS...: wall seconds and max RSS of one gantry run on
# $ENGINE, appended to $work/LABEL and $work/LABEL.rss
run() {
	local label="$1" dir="$2"
	shift 2
	# Each run is another machine's: gantry's own state (the root
	# filesystem's layout, kept copies of exported files) starts empty.
	rm -rf "$work/xdg"
	(cd "$dir" && XDG_CACHE_HOME="$work/xdg" BUILDKIT_HOST="$ENGINE" /usr/bin/time -f "%e %M" -o "$work/time" \
		"$work/gantry" run --executor buildkit -P "default=rootfs://$GANTRY_TEST_ROOTFS" "$@" .github/workflows/ci.yml >"$work/$label.log" 2>&1) || {
		echo "gantry run ($label) failed; its output:" >&2
		tail -30 "$work/$label.log" >&2
		exit 1
	}
	# The engine is done: stopped before the next run is measured, as a
	# runner's would be (one left running competed with the next run for
	# this machine's two cores while it wrote or dropped its results).
	stop_engines
	read -r secs kb <"$work/time"
	echo "$secs" >>"$work/$label"
	echo "$((kb / 1024))" >>"$work/$label.rss"
	# The importing runs must have replayed the steps from the cache, as
	# BuildKit's status says.
	if [[ "$label" == import-* ]] && ! grep -q '"cached":true' "$work/$label.log"; then
		echo "the $label run replayed nothing from the cache:" >&2
		tail -30 "$work/$label.log" >&2
		exit 1
	fi
}

for round in $(seq 1 "$RUNS"); do
	repo="$work/repo-$round"
	pipeline "$repo"
	remote=https://github.com/acme/bench.git
	git -C "$repo" remote add origin "$remote"
	engine "cold-$round"
	run cold "$repo"
	engine "export-$round"
	run export "$repo" --cache-to "type=local,dest=$work/cache-$round,mode=max" --cache-to "$s3,name=shared-$round,mode=max" \
		${GANTRY_TEST_REGISTRY:+--cache-to "type=registry,ref=$GANTRY_TEST_REGISTRY/bench/shared-$round,mode=max"}
	# The two imports take turns going first: the run right after the
	# export finds the machine's page cache and disk busiest.
	kinds=(local s3)
	[[ -n "${GANTRY_TEST_REGISTRY:-}" ]] && kinds+=(registry)
	# rotated a place each round
	for ((i = 0; i < round % ${#kinds[@]}; i++)); do kinds=("${kinds[@]:1}" "${kinds[0]}"); done
	for kind in "${kinds[@]}"; do
		engine "import-$kind-$round"
		# and its own checkout of the repository
		clone="$work/clone-$kind-$round"
		git clone -q "$repo" "$clone"
		# with the repository's remote: the run's github context comes
		# from it (GITHUB_REPOSITORY), and another is another input
		git -C "$clone" remote set-url origin "$remote"
		case "$kind" in
		local) run import-local "$clone" --progress rawjson --cache-from "type=local,src=$work/cache-$round" ;;
		registry) run import-registry "$clone" --progress rawjson --cache-from "type=registry,ref=$GANTRY_TEST_REGISTRY/bench/shared-$round" ;;
		s3) run import-s3 "$clone" --progress rawjson --cache-from "$s3,name=shared-$round" ;;
		esac
	done
	echo "== round $round/$RUNS done" >&2
done

cold=$(median_of "$work/cold")
echo
echo "## results shared between engines, $RUNS rounds, medians (5 jobs; busybox image; a fresh engine per run)"
echo
echo "| run | wall (s) | range (s) | peak RSS (MB) |"
echo "|---|---:|---:|---:|"
echo "| cold, no cache option (engine C) | $cold | $(spread "$work/cold") | $(median_of "$work/cold.rss") |"
echo "| cold, exporting to the caches (engine A) | $(median_of "$work/export") | $(spread "$work/export") | $(median_of "$work/export.rss") |"
for kind in local s3 registry; do
	[[ -s "$work/import-$kind" ]] || continue
	t=$(median_of "$work/import-$kind")
	echo "| first run importing A's $kind cache (engine B) | $t | $(spread "$work/import-$kind") | $(median_of "$work/import-$kind.rss") |"
done
echo
for kind in local s3 registry; do
	[[ -s "$work/import-$kind" ]] || continue
	t=$(median_of "$work/import-$kind")
	verdict="met"
	if [[ "$(calc "$t > 0.15 * $cold" 0)" == 1 ]]; then verdict="MISSED"; fi
	echo "- importing from $kind / cold: $(calc "100 * $t / $cold" 1)% (target at most 15%: $verdict)"
done
