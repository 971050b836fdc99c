#!/usr/bin/env bash
# Runs fuzz targets with libFuzzer at the lowest CPU priority, at most JOBS at a time, each
# until RUNS executions or SECONDS seconds, whichever comes first; then prints one line per
# target from its log. See FUZZING.md.
#
#   fuzz/run_all.sh [RUNS] [SECONDS] [TARGET...]      (default: 10000000 900, every target)
#   JOBS=2 fuzz/run_all.sh 10000000 900 score_csv gate_expr
#   fuzz/run_all.sh --summary                         (only summarise fuzz/logs/*.log)
#
# Build first: cargo +stable fuzz build -s none   (from the repository root)
# New corpus entries go to fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET), crashes to
# fuzz/artifacts/TARGET, logs to fuzz/logs/TARGET.log.
set -euo pipefail

FUZZ="$(cd "$(dirname "$0")" && pwd)"
BIN="${BIN:-$FUZZ/target/x86_64-unknown-linux-gnu/release}"
JOBS="${JOBS:-2}"

summary() {
    printf '%-20s %12s %6s %7s %6s %6s %6s %s\n' target execs secs exec/s cov ft corpus oom/timeout/crash
    for log in "$FUZZ"/logs/*.log; do
        # libFuzzer's fork mode reports the whole run on lines like
        # "#80048: cov: 3367 ft: 5779 corp: 510 exec/s: 3067 oom/timeout/crash: 0/0/0 time: 40s job: 6 ...".
        last="$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)"
        execs="$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")"
        secs="$(sed -n 's/.* time: \([0-9]*\)s.*/\1/p' <<<"$last")"
        rate="$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")"
        cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
        ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
        corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
        otc="$(sed -n 's/.* oom\/timeout\/crash: \([0-9\/]*\).*/\1/p' <<<"$last")"
        printf '%-20s %12s %6s %7s %6s %6s %6s %s\n' "$(basename "$log" .log)" "${execs:--}" "${secs:--}" \
            "${rate:--}" "${cov:--}" "${ft:--}" "${corp:--}" "${otc:--}"
    done
}

if [ "${1:-}" = "--summary" ]; then
    summary
    exit 0
fi

RUNS="${1:-10000000}"
SECONDS_MAX="${2:-900}"
shift 2 || true
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(ls "$FUZZ/fuzz_targets" | sed 's/\.rs$//')
fi

mkdir -p "$FUZZ/logs"
# Readers that take a path get their input through a file: keep those in memory.
SCRATCH="${SCRATCH:-/dev/shm}"

run_one() {
    local t="$1"
    mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
    # Each target's scratch files in a folder of its own, removed afterwards.
    local tmp="$SCRATCH/mia-fuzz-run-$t"
    mkdir -p "$tmp"
    # -fork=1 with -ignore_*: the fuzzing runs in a child process that is restarted after a
    # crash, a timeout (an input that takes 10 s: a hang) or running out of memory (2 GB), so
    # one finding does not end the run; each is saved in fuzz/artifacts/TARGET and counted.
    # The exit status is not checked here: the summary reads the log.
    TMPDIR="$tmp" nice -n 19 "$BIN/$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -runs="$RUNS" -max_total_time="$SECONDS_MAX" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$FUZZ/artifacts/$t/" \
        "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" >"$FUZZ/logs/$t.log" 2>&1 || true
    rm -rf "$tmp"
}
export -f run_one
export FUZZ BIN RUNS SECONDS_MAX SCRATCH

printf '%s\n' "${TARGETS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'
summary
