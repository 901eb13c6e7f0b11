#!/bin/bash
# Replays every fuzz target's committed corpus and every input that ever
# crashed it (tests/fuzz/corpus/<target>/, tests/fuzz/crashes/<target>/)
# through the target's entry point, built without libFuzzer by `make unit`
# with the build's compiler and sanitizers ($OB_BUILD/fuzz-replay/,
# tests/fuzz/replay.c).  A crash, a sanitizer report, a leak or a hang
# (300 s per target, for a loaded machine; all take seconds) fails; so does a
# target without a corpus.
# docs/fuzzing.rst has the targets and how to fuzz them for real.
set -u
cd "$(dirname "$0")/../.."
OB_BUILD=${OB_BUILD:-build/san}
R=$OB_BUILD/fuzz-replay
ls "$R"/fuzz_* >/dev/null 2>&1 || { echo "SKIP: no replay programs in $R (make unit)"; exit 77; }
export TMPDIR=${TMPDIR:-/tmp}
fail=0 total=0
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    if [ ! -x "$R/$t" ]; then
        echo "FAIL: $t: $R/$t is not built"
        fail=1
        continue
    fi
    corpus=tests/fuzz/corpus/$t crashes=tests/fuzz/crashes/$t
    if [ -z "$(ls "$corpus" 2>/dev/null)" ]; then
        echo "FAIL: $t has no seed corpus in $corpus"
        fail=1
        continue
    fi
    dirs=("$corpus")
    [ -d "$crashes" ] && dirs+=("$crashes")
    out=$(timeout 300 "$R/$t" "${dirs[@]}" 2>&1 >/dev/null)
    rc=$?
    n=$(echo "$out" | sed -n 's/^replay: \([0-9]*\) inputs, no crash$/\1/p')
    if [ $rc -ne 0 ] || [ -z "$n" ]; then
        echo "FAIL: $t (exit $rc):"
        echo "$out" | grep -v '^replay: ' | tail -n 40
        echo "$out" | grep '^replay: ' | tail -n 1
        fail=1
        continue
    fi
    echo "ok: $t: $n inputs"
    total=$((total + n))
done
echo "$total inputs replayed"
exit $fail
