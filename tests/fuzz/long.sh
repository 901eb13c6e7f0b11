#!/bin/bash
# long.sh - run fuzz targets for a fixed time each and tabulate the result
# (`make fuzz-long`; docs/fuzzing.rst).
#
#   FUZZ_DIR=build/fuzz FUZZ_TIME=600 FUZZ_JOBS=2 tests/fuzz/long.sh TARGET...
#
# Each target runs under nice 19 on a scratch copy of its committed corpus
# (FUZZ_DIR/long/TARGET/corpus) for FUZZ_TIME seconds, at most FUZZ_JOBS at
# a time; crash, leak, timeout and out-of-memory inputs land in
# FUZZ_DIR/long/TARGET/artifacts/.  The summary (FUZZ_DIR/long/summary.txt)
# has one line per target: executions, executions per second, coverage
# (cov: edges, ft: features), corpus size at the end, and artifacts found.
# The targets that write files (keys, logs, decoded bundles) keep them in
# FUZZ_TMP, by default /dev/shm: on a disk they spend their time waiting for
# it (ten times fewer executions).
# Exit 1 when any target left an artifact.
set -u
cd "$(dirname "$0")/../.."
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
FUZZ_TIME=${FUZZ_TIME:-600}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_TMP=${FUZZ_TMP:-/dev/shm}
[ -d "$FUZZ_TMP" ] && [ -w "$FUZZ_TMP" ] || FUZZ_TMP=${TMPDIR:-/tmp}
L=$FUZZ_DIR/long
mkdir -p "$L"

# Largest input worth trying per target (the seeds' sizes, with room).
max_len() {
    case $1 in
    fuzz_hsv3_cert) echo 4096 ;;
    fuzz_compact) echo 8192 ;;
    fuzz_keys | fuzz_clog) echo 16384 ;;
    fuzz_hsv3_desc | fuzz_hsv3_layers) echo 60000 ;;
    fuzz_bundle | fuzz_ctl) echo 131072 ;;
    *) echo 65536 ;;
    esac
}

run_one() {
    local t=$1 dir=$L/$1
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
    TMPDIR=$FUZZ_TMP nice -n 19 "$FUZZ_DIR/$t" -max_total_time="$FUZZ_TIME" -max_len="$(max_len "$t")" \
        -timeout=25 -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
    echo $? >"$dir/rc"
}

pids=()
for t in "$@"; do
    [ -x "$FUZZ_DIR/$t" ] || { echo "long: $FUZZ_DIR/$t is not built (make fuzz)"; exit 2; }
    while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do wait -n; done
    echo "long: $t for ${FUZZ_TIME}s"
    run_one "$t" &
    pids+=($!)
done
wait

fail=0
{
    printf '%-18s %12s %8s %6s %7s %7s %9s %4s\n' target execs exec/s cov ft corpus size found
    for t in "$@"; do
        dir=$L/$t
        last=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1)
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
        cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
        corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/\([0-9]*[a-zA-Z]*\).*/\1 \2/p')
        found=$(ls "$dir/artifacts" | wc -l)
        [ "$found" -gt 0 ] && fail=1
        printf '%-18s %12s %8s %6s %7s %7s %9s %4s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
            "${ft:-?}" ${corp:-? ?} "$found"
    done
} | tee "$L/summary.txt"
exit $fail
