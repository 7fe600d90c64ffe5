#!/usr/bin/env bash
# bench/workspace.sh — what a job's workspace costs as the repository
# grows: gantry's host executor with each workspace strategy, next to act
# and gitlab-ci-local, on generated repositories of 2,000 and 20,000 files
# (31.8 and 318 MB), with 1, 4 and 16 jobs that each read a file of the
# checkout; the bare commands give the floor.
#
# Usage: bash bench/workspace.sh [-n RUNS] [-s FILES,...] [-j JOBS,...] [-r RUNNERS] [-k]
#   -n RUNS     timed runs per runner and case, interleaved (default 9, env BENCH_RUNS)
#   -s FILES    repository sizes in files, 15.9 kB each (default 2000,20000)
#   -j JOBS     job counts (default 1,4,16)
#   -r RUNNERS  comma-separated subset of: bare,overlay,reflink,copy,gantry-gl,act,glci,glci-iso
#   -k          keep the repositories and logs
# Environment:
#   GANTRY_BENCH_TOOLS  where bench/compare.sh installed act and gitlab-ci-local
#                       (default $HOME/.cache/gantry-bench); a peer not there is
#                       reported absent (run bench/compare.sh once to install them)
#   BENCH_TIMEOUT       seconds before one run is abandoned (default 600)
#   BENCH_SLOW          a runner whose warm-up run takes longer than this many
#                       seconds in a case is timed BENCH_SLOW_RUNS times there
#                       (default 20 s, 3 runs), and one over BENCH_SKIP seconds
#                       (default 90) not at all: its warm-up time is reported
#                       (act and the copy take minutes at 318 MB and 16 jobs)
#
# reflink needs a filesystem that clones files (btrfs, XFS): as root with
# mkfs.xfs, the script makes a loop-mounted XFS image for it and runs that
# row there; otherwise the row says why it is missing. overlay needs root.
set -uo pipefail

RUNS="${BENCH_RUNS:-9}"
TIMEOUT="${BENCH_TIMEOUT:-600}"
SLOW_MS=$((${BENCH_SLOW:-20} * 1000))
SLOW_RUNS="${BENCH_SLOW_RUNS:-3}"
SKIP_MS=$((${BENCH_SKIP:-90} * 1000))
SIZES="2000,20000"
JOBCOUNTS="1,4,16"
ONLY=""
KEEP=0
while getopts "n:s:j:r:kh" opt; do
	case "$opt" in
	n) RUNS="$OPTARG" ;;
	s) SIZES="$OPTARG" ;;
	j) JOBCOUNTS="$OPTARG" ;;
	r) ONLY="$OPTARG" ;;
	k) KEEP=1 ;;
	h) sed -n '2,23p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "workspace.sh: -n needs a positive number" >&2; exit 2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO/bench/lib.sh"
peer_paths
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gantry-wsbench.XXXXXX")"
XFS=""
cleanup() {
	[[ -n "$XFS" ]] && umount "$XFS" 2>/dev/null
	if [[ "$KEEP" == 1 ]]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { printf '== %s\n' "$*" >&2; }
TIME=/usr/bin/time
"$TIME" -v true >/dev/null 2>&1 || { echo "workspace.sh: needs GNU time at /usr/bin/time (Debian package time)" >&2; exit 1; }

declare -A UNAVAILABLE=()
[[ -x "$ACT" ]] || UNAVAILABLE[act]="not installed in $TOOLS (bash bench/compare.sh installs it)"
if [[ ! -x "$NODE22" || ! -f "$GLCI_JS" ]]; then
	UNAVAILABLE[glci]="not installed in $TOOLS (bash bench/compare.sh installs it)"
elif ! command -v rsync >/dev/null; then
	UNAVAILABLE[glci]="rsync is missing (gitlab-ci-local needs it)"
fi
UNAVAILABLE[glci-iso]="${UNAVAILABLE[glci]:-}"

log "building gantry"
GANTRY="$WORK/gantry"
GANTRY_COMMIT="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null)"
[[ -n "$(cd "$REPO" && git status --porcelain -- . ':!bench' ':!docs/benchmarks.md' 2>/dev/null)" ]] && GANTRY_COMMIT+="+changes"
(cd "$REPO" && go build -o "$GANTRY" ./cmd/gantry) || { echo "workspace.sh: gantry does not build" >&2; exit 1; }

# The reflink row: a loop-mounted XFS image, when this machine allows it.
if [[ "$(id -u)" == 0 ]] && command -v mkfs.xfs >/dev/null; then
	XFS="$WORK/xfs"
	mkdir -p "$XFS"
	truncate -s 8G "$WORK/xfs.img"
	if ! { mkfs.xfs -q "$WORK/xfs.img" && mount -o loop "$WORK/xfs.img" "$XFS"; } >"$WORK/xfs.log" 2>&1; then
		UNAVAILABLE[reflink]="no loop-mounted XFS here: $(tail -1 "$WORK/xfs.log")"
		XFS=""
	fi
else
	UNAVAILABLE[reflink]="no btrfs/XFS here, and making a loop-mounted XFS image needs root and mkfs.xfs (xfsprogs)"
fi

# make_repo FILES DIR: FILES files of 15.9 kB of random bytes in
# directories of 100, one commit; plus the pipelines for each job count.
make_repo() {
	local files="$1" dir="$2"
	mkdir -p "$dir/.github/workflows"
	(
		cd "$dir" || exit 1
		git init -q -b main
		git config user.email bench@gantry.invalid
		git config user.name bench
		# No background gc packing the loose objects while a runner
		# copies .git (gitlab-ci-local's rsync failed on vanished files).
		git config gc.auto 0
		git remote add origin https://gitlab.example.com/bench/pipeline.git
		head -c $((files * 15900)) /dev/urandom >all.bin
		split -n "$files" -d -a 5 all.bin f
		rm all.bin
		for d in $(seq 0 $((files / 100 - 1))); do
			dd="$(printf 'd%03d' "$d")"
			mkdir "$dd"
			mv $(printf 'f%03d' "$d")?? "$dd"/
		done
		printf 'gantry bench repository, %d files\n' "$files" >README
		printf 'dist/\n' >.gitignore
		for n in ${JOBCOUNTS//,/ }; do
			{
				printf 'name: j%d\non: push\njobs:\n' "$n"
				for i in $(seq 1 "$n"); do
					printf '  j%02d:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: test -s d000/f00000 && echo ok\n' "$i"
				done
			} >".github/workflows/j$n.yml"
			{
				printf 'stages: [test]\n'
				for i in $(seq 1 "$n"); do
					printf 'j%02d:\n  stage: test\n  script: ["test -s d000/f00000 && echo ok"]\n' "$i"
				done
			} >".gitlab-ci-j$n.yml"
			{
				for _ in $(seq 1 "$n"); do
					printf "bash --noprofile --norc -e -o pipefail -c 'test -s d000/f00000 && echo ok'\n"
				done
			} >"bare-j$n.sh"
		done
		git -c core.compression=0 -c core.looseCompression=0 add -A
		git commit -q -m "bench: $files files"
		git update-ref refs/remotes/origin/main HEAD
		git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
	)
}

runner_label() {
	case "$1" in
	bare) echo "bash (bare commands)" ;;
	overlay) echo "gantry --workspace=overlay" ;;
	reflink) echo "gantry --workspace=reflink (XFS)" ;;
	copy) echo "gantry --workspace=copy" ;;
	gantry-gl) echo "gantry (.gitlab-ci.yml, auto)" ;;
	act) echo "act (-self-hosted)" ;;
	glci) echo "gitlab-ci-local (shell)" ;;
	glci-iso) echo "gitlab-ci-local (shell, --shell-isolation)" ;;
	esac
}

# runner_cmd RUNNER JOBS DIR: the command, one word per line.
runner_cmd() {
	local r="$1" n="$2" dir="$3"
	case "$r" in
	bare) printf '%s\n' bash --noprofile --norc "bare-j$n.sh" ;;
	overlay | copy | reflink) printf '%s\n' "$GANTRY" run --executor host "--workspace=$r" ".github/workflows/j$n.yml" ;;
	gantry-gl) printf '%s\n' "$GANTRY" run --executor host ".gitlab-ci-j$n.yml" ;;
	act) printf '%s\n' "$ACT" push -W ".github/workflows/j$n.yml" -P ubuntu-latest=-self-hosted --action-offline-mode \
		--action-cache-path "$dir.act-cache" --no-cache-server ;;
	glci) printf '%s\n' "$NODE22" "$GLCI_JS" --shell-executor-no-image --file ".gitlab-ci-j$n.yml" ;;
	glci-iso) printf '%s\n' "$NODE22" "$GLCI_JS" --shell-executor-no-image --shell-isolation --file ".gitlab-ci-j$n.yml" ;;
	esac
}


# run_once RUNNER JOBS DIR OUT: prints "wall_ms rss_kb exit cpu_ms".
run_once() {
	local r="$1" n="$2" dir="$3" out="$4" cmd=() t0 t1 code rss cpu tmp="${TMPDIR:-/tmp}"
	mapfile -t cmd < <(runner_cmd "$r" "$n" "$dir")
	[[ "$r" == reflink ]] && tmp="$XFS/tmp"
	reset_repo "$dir"
	sync
	t0=$EPOCHREALTIME
	(cd "$dir" && TMPDIR="$tmp" exec timeout -k 5 "$TIMEOUT" "$TIME" -v -o "$out.time" "${cmd[@]}" </dev/null >"$out.log" 2>&1)
	code=$?
	t1=$EPOCHREALTIME
	rss=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$out.time" 2>/dev/null)
	cpu=$(awk -F': *' '/User time|System time/ {t += $2} END {printf "%d", t * 1000}' "$out.time" 2>/dev/null)
	echo "$(((${t1/./} - ${t0/./}) / 1000)) ${rss:-0} $code ${cpu:-0}"
}
busy_cpu() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / 100 }' /proc/stat; }
own_cpu() { awk '{ for (i = 1; i <= NF; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } } END { printf "%.2f", t }' "$WORK/times"; }

RUNNERS=(bare overlay reflink copy gantry-gl act glci glci-iso)
if [[ -n "$ONLY" ]]; then
	IFS=, read -r -a RUNNERS <<<"$ONLY"
	[[ " ${RUNNERS[*]} " == *" bare "* ]] || RUNNERS=(bare "${RUNNERS[@]}")
fi
declare -A MED=() MIN=() RSS=() CPU=() NOTE=() SIZE_MB=() NRUNS=() WARM=()
IFS=, read -r -a SLIST <<<"$SIZES"
IFS=, read -r -a JLIST <<<"$JOBCOUNTS"

times >"$WORK/times"
BUSY0="$(busy_cpu)" OWN0="$(own_cpu)" WALL0=$EPOCHREALTIME
for s in "${SLIST[@]}"; do
	log "making a repository of $s files"
	make_repo "$s" "$WORK/r$s"
	if [[ -n "$XFS" ]]; then
		mkdir -p "$XFS/tmp"
		cp -a "$WORK/r$s" "$XFS/r$s"
	fi
	size="$(du -sm --exclude=.git "$WORK/r$s" | cut -f1)"
	log "$s files, $size MB"
	SIZE_MB[$s]="$size"
	for n in "${JLIST[@]}"; do
		for r in "${RUNNERS[@]}"; do
			[[ -z "${UNAVAILABLE[$r]:-}" ]] || { NOTE[$s/$n/$r]="${UNAVAILABLE[$r]}"; continue; }
			dir="$WORK/r$s"
			[[ "$r" == reflink ]] && dir="$XFS/r$s"
			read -r ms kb code cpu < <(run_once "$r" "$n" "$dir" "$WORK/$s-$n-$r.warm")
			WARM[$s/$n/$r]="$ms $kb $cpu"
			NRUNS[$s/$n/$r]="$RUNS"
			((ms > SLOW_MS)) && NRUNS[$s/$n/$r]="$SLOW_RUNS"
			((ms > SKIP_MS)) && NRUNS[$s/$n/$r]=0
			if [[ "$code" == 124 ]]; then
				NOTE[$s/$n/$r]="no result in ${TIMEOUT} s (BENCH_TIMEOUT)"
			elif [[ "$code" != 0 ]]; then
				NOTE[$s/$n/$r]="fails (exit $code): $(grep -m1 -iE 'error|fail' "$WORK/$s-$n-$r.warm.log" | cut -c1-150)"
				cp "$WORK/$s-$n-$r.warm.log" "$WORK/FAILED-$s-$n-$r.log"
			fi
		done
		for i in $(seq 1 "$RUNS"); do
			for r in "${RUNNERS[@]}"; do
				[[ -z "${NOTE[$s/$n/$r]:-}" ]] || continue
				((i <= ${NRUNS[$s/$n/$r]:-0})) || continue
				dir="$WORK/r$s"
				[[ "$r" == reflink ]] && dir="$XFS/r$s"
				read -r ms kb code cpu < <(run_once "$r" "$n" "$dir" "$WORK/$s-$n-$r.$i")
				if [[ "$code" != 0 ]]; then
					NOTE[$s/$n/$r]="fails on run $i (exit $code)"
					continue
				fi
				echo "$ms" >>"$WORK/$s-$n-$r.ms"
				echo "$kb" >>"$WORK/$s-$n-$r.kb"
				echo "$cpu" >>"$WORK/$s-$n-$r.cpu"
			done
			log "$s files, $n jobs: run $i/$RUNS done"
		done
		for r in "${RUNNERS[@]}"; do
			if [[ -z "${NOTE[$s/$n/$r]:-}" && "${NRUNS[$s/$n/$r]:-}" == 0 ]]; then
				# Too slow to time: its one warm-up run stands in.
				read -r ms kb cpu <<<"${WARM[$s/$n/$r]}"
				echo "$ms" >"$WORK/$s-$n-$r.ms"
				echo "$kb" >"$WORK/$s-$n-$r.kb"
				echo "$cpu" >"$WORK/$s-$n-$r.cpu"
				NRUNS[$s/$n/$r]="1 (warm-up)"
			fi
			[[ -z "${NOTE[$s/$n/$r]:-}" && -s "$WORK/$s-$n-$r.ms" ]] || continue
			MED[$s/$n/$r]="$(median <"$WORK/$s-$n-$r.ms")"
			MIN[$s/$n/$r]="$(sort -n "$WORK/$s-$n-$r.ms" | head -1)"
			RSS[$s/$n/$r]="$(sort -n "$WORK/$s-$n-$r.kb" | tail -1)"
			CPU[$s/$n/$r]="$(median <"$WORK/$s-$n-$r.cpu")"
		done
	done
	rm -rf "$WORK/r$s" "$XFS/r$s" 2>/dev/null
done
times >"$WORK/times"
BUSY1="$(busy_cpu)" OWN1="$(own_cpu)" WALL1=$EPOCHREALTIME
FOREIGN="$(awk -v b0="$BUSY0" -v b1="$BUSY1" -v o0="$OWN0" -v o1="$OWN1" -v w0="$WALL0" -v w1="$WALL1" -v n="$(nproc)" 'BEGIN {
	f = (b1 - b0) - (o1 - o0); if (f < 0) f = 0; w = w1 - w0
	printf "%.1f CPU-s by other processes in %.0f s of benchmark (%.0f%% of the %d CPUs)", f, w, 100 * f / (w * n), n }')"

echo
echo "# Workspaces as the repository grows — $(date -u +%Y-%m-%d), $RUNS runs each (median)"
echo
echo "- machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r), temp dirs on $(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $2}')"
echo "- gantry built from ${GANTRY_COMMIT:-?}; act $("$ACT" --version 2>/dev/null | awk '{print $NF}'); gitlab-ci-local $([[ -x "$NODE22" ]] && "$NODE22" "$GLCI_JS" --version 2>/dev/null)"
echo "- other activity on the machine during the runs: ~$FOREIGN"
echo
echo "| files | MB | jobs | runner | runs | median wall | min wall | CPU | peak RSS | over bare, per job |"
echo "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
for s in "${SLIST[@]}"; do
	for n in "${JLIST[@]}"; do
		b="${MED[$s/$n/bare]:-}"
		for r in "${RUNNERS[@]}"; do
			label="$(runner_label "$r")"
			if [[ -n "${NOTE[$s/$n/$r]:-}" ]]; then
				echo "| $s | ${SIZE_MB[$s]} | $n | $label | | n/a | | | | ${NOTE[$s/$n/$r]//|/\\|} |"
				continue
			fi
			[[ -n "${MED[$s/$n/$r]:-}" ]] || continue
			over=""
			[[ "$r" != bare && -n "$b" ]] && over="$(awk -v g="${MED[$s/$n/$r]}" -v b="$b" -v n="$n" 'BEGIN { printf "%.0f ms", (g - b) / n }')"
			echo "| $s | ${SIZE_MB[$s]} | $n | $label | ${NRUNS[$s/$n/$r]} | ${MED[$s/$n/$r]} ms | ${MIN[$s/$n/$r]} ms | ${CPU[$s/$n/$r]} ms | $(awk -v k="${RSS[$s/$n/$r]}" 'BEGIN { printf "%.0f", k / 1024 }') MB | $over |"
		done
	done
done
echo
echo "over bare, per job: (median - bare median) / jobs; it carries each run's fixed cost (start-up, listing the checkout), so it falls as jobs are added."
echo "Peak RSS: /usr/bin/time's maximum resident set size, the largest single process of the run."
if [[ "$KEEP" == 1 ]]; then echo; echo "logs: $WORK"; fi
