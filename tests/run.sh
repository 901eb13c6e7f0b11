#!/bin/bash
# Run the test suite and print one line per test and a closing tally.
#
#   tests/run.sh [PATTERN...]     run tests whose path contains any PATTERN
#
# Kinds, in order: unit (cmocka programs in $OB_BUILD/tests), cli and unit
# shell tests (tests/{unit,cli}/*.sh), interop (tests/interop/*), e2e
# (tests/e2e/test_*.sh).  A test passes with exit 0, is skipped with 77, and
# fails otherwise; a failed test's output is printed.  The binaries under test
# are $OB_BUILD/ob-online and $OB_BUILD/ob-offline (default build/san).
set -u
cd "$(dirname "$0")/.."
export OB_BUILD=${OB_BUILD:-build/san}
export OB_ROOT=$PWD
# The test vectors the project carries (tests/data/vectors/README.rst).
export OB_TESTDATA=${OB_TESTDATA:-$PWD/tests/data/vectors}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$OB_BUILD/test-logs
mkdir -p "$logdir"
# ob-online keeps copies of the requests it sends (docs/online.rst); tests
# keep theirs here instead of under $HOME.
export OB_REQUEST_STORE=${OB_REQUEST_STORE:-$PWD/$OB_BUILD/test-requests}
rm -rf "$OB_REQUEST_STORE" && mkdir -p "$OB_REQUEST_STORE"
# The delegated key store (online/dkeys.h) likewise; ob-online creates it (0700).
export OB_DELEGATED_STORE=${OB_DELEGATED_STORE:-$PWD/$OB_BUILD/test-delegated}
rm -rf "$OB_DELEGATED_STORE"

tests=()
for t in "$OB_BUILD"/tests/test_*; do [ -x "$t" ] && tests+=("$t"); done
for t in tests/unit/*.sh tests/cli/*.sh tests/interop/*.sh tests/interop/*.py tests/e2e/test_*.sh; do
    [ -f "$t" ] && tests+=("$t")
done

pass=0 fail=0 skip=0 failed=()
for t in "${tests[@]}"; do
    if [ $# -gt 0 ]; then
        want=0
        for pat in "$@"; do case "$t" in *"$pat"*) want=1 ;; esac; done
        [ $want -eq 1 ] || continue
    fi
    name=${t#"$OB_BUILD"/}
    log=$logdir/$(echo "$name" | tr '/' '_').log
    start=$EPOCHREALTIME
    case "$t" in
        *.py) python3 "$t" >"$log" 2>&1 ;;
        *.sh) bash "$t" >"$log" 2>&1 ;;
        *) "$t" >"$log" 2>&1 ;;
    esac
    rc=$?
    secs=$(awk "BEGIN { print $EPOCHREALTIME - $start }")
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf 'PASS %-50s %6.2fs\n' "$name" "$secs"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); printf 'SKIP %-50s (%s)\n' "$name" "$(tail -n1 "$log")"
    else
        fail=$((fail + 1)); failed+=("$name"); printf 'FAIL %-50s (exit %d)\n' "$name" $rc
        sed 's/^/    | /' "$log" | tail -n 60
    fi
done
echo
[ $fail -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
