#!/bin/bash
# Secrets must be locked in memory: with RLIMIT_MEMLOCK too low for a key
# store, ob-offline refuses before it asks for a passphrase, naming the limit
# and the value to raise it to; --allow-swap goes on with a warning; a limit
# large enough works silently.
#
# The limit binds only a process without CAP_IPC_LOCK, so as root the
# commands run as "nobody" (setpriv, util-linux); where that is impossible
# the test is skipped (exit 77) and says why.  Under ASan mlock() is a no-op
# (the sanitizer intercepts it), so in build/san this exercises the check
# made before the store is read; in a normal build ob_secalloc()'s own check
# stands behind it, and the "NOT locked" warning of --allow-swap is expected.
set -u
OFF=${OB_BUILD:-build/san}/ob-offline
[ -x "$OFF" ] || { echo "no $OFF"; exit 1; }
OFF=$(cd "$(dirname "$OFF")" && pwd)/ob-offline
export OB_INSECURE_TEST_KDF=1 # test-only: cheap Argon2id
T=$(mktemp -d /tmp/ob-test-memlock.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

command -v prlimit >/dev/null || { echo "SKIP: prlimit (util-linux) not installed"; exit 77; }
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null || { echo "SKIP: running as root and setpriv is missing"; exit 77; }
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
elif [ $((0x$(awk '/^CapEff/ { print $2 }' /proc/self/status) >> 14 & 1)) -eq 1 ]; then
    echo "SKIP: this user has CAP_IPC_LOCK, so no memlock limit applies"
    exit 77
fi
chmod 755 "$T"
"${as_user[@]}" test -x "$OFF" -a -r "$T" ||
    { echo "SKIP: user 65534 cannot run $OFF (a parent directory is not searchable)"; exit 77; }

printf 'correct horse\n' >"$T/pass"
"$OFF" keygen --version 3 -o "$T/k1" --passphrase-file "$T/pass" >/dev/null 2>&1 || { echo "keygen failed"; exit 1; }
for i in 2 3 4 5 6 7 8; do
    "$OFF" keygen --version 3 -o "$T/p$i" --no-passphrase >/dev/null 2>&1
    "$OFF" import "$T/p$i" -o "$T/k1" --passphrase-file "$T/pass" >/dev/null 2>&1 || fail "import $i"
done
chmod 644 "$T/k1" "$T/pass" "$T"/p*

# run LIMIT_BYTES ARGS...: as the unprivileged user, no terminal.
run() {
    local lim=$1
    shift
    setsid -w "${as_user[@]}" prlimit --memlock="$lim" "$OFF" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}

# 8 KiB: too little for a store (plaintext, keys, derived key, passphrase: a page each).
run 8192 address "$T/k1"
if [ $rc -eq 2 ] && grep -q "RLIMIT_MEMLOCK allows 8 KiB" "$T/err" && grep -q "raise it to at least [0-9]* KiB" "$T/err" &&
    grep -q "ulimit -l" "$T/err" && grep -q -- "--allow-swap" "$T/err"; then
    ok "low RLIMIT_MEMLOCK refused with the limit and the value to raise it to"
else
    fail "low limit: exit $rc: $(cat "$T/err")"
fi
grep -q "no terminal" "$T/err" && fail "the passphrase was asked for before the memlock refusal"
[ -s "$T/out" ] && fail "addresses printed despite the refusal"
need=$(sed -n 's/.*raise it to at least \([0-9]*\) KiB.*/\1/p' "$T/err")

# The value named is enough.
run $((need * 1024)) address "$T/k1" --passphrase-file "$T/pass"
[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 8 ] && ok "the limit it names ($need KiB) is enough" ||
    fail "at $need KiB: exit $rc: $(cat "$T/err")"
grep -q "warning" "$T/err" && grep -v "insecure test KDF" "$T/err" | grep -q "warning" &&
    fail "warnings with enough locked memory: $(cat "$T/err")"

# --allow-swap: goes on, says so.
run 8192 address "$T/k1" --passphrase-file "$T/pass" --allow-swap
[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 8 ] && grep -q "warning: --allow-swap" "$T/err" &&
    ok "--allow-swap goes on, with a warning" || fail "--allow-swap: exit $rc: $(cat "$T/err")"
if ldd "$OFF" 2>/dev/null | grep -q libasan; then
    echo "note: ASan build: mlock() is a no-op here, so the NOT-locked count is not checked"
else
    grep -q "NOT locked" "$T/err" && ok "--allow-swap reports what was left unlocked" ||
        fail "--allow-swap without the NOT-locked warning: $(cat "$T/err")"
fi

# The other verbs that read a key refuse the same way; import writes nothing.
cp "$T/k1" "$T/k1.before"
chmod 666 "$T/k1"
chmod 777 "$T"
run 8192 import "$T/p2" -o "$T/k1" --passphrase-file "$T/pass"
[ $rc -eq 2 ] && grep -q "RLIMIT_MEMLOCK" "$T/err" && ok "import refused under the low limit" ||
    fail "import: exit $rc: $(cat "$T/err")"
cmp -s "$T/k1" "$T/k1.before" && ok "store unchanged" || fail "import changed the store"
run 8192 passwd "$T/k1" --passphrase-file "$T/pass" --new-passphrase-file "$T/pass"
[ $rc -eq 2 ] && grep -q "RLIMIT_MEMLOCK" "$T/err" && ok "passwd refused under the low limit" ||
    fail "passwd: exit $rc: $(cat "$T/err")"
cmp -s "$T/k1" "$T/k1.before" && ok "store unchanged" || fail "passwd changed the store"

[ $fails -eq 0 ] && echo "all memlock checks passed" || echo "$fails memlock checks failed"
[ $fails -eq 0 ]
