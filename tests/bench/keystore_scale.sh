#!/bin/bash
# Key stores at the documented cap (make bench; figures in docs/keys.rst).
#
#   tests/bench/keystore_scale.sh [--quick]     (--quick: 4000 keys only)
#
# For 4000 and 20000 keys: build the store (tests/bench/keystore_scale.c,
# real Argon2id cost), open it in-process and print the time and VmLck; then
# as an ordinary user (nobody, via setpriv, when run as root) under the usual
# 8 MiB RLIMIT_MEMLOCK: `ob-offline address` (exit 0 means every secret was
# locked: the program refuses otherwise) and `ob-offline sign` of two of its
# services, and under 4 MiB the refusal that names the limit.
set -eu
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build}
out=$B/bench
mkdir -p "$out"
CC=${CC:-cc}
INC="-Iformat/core -Iformat/hs -Iformat/bundle -Iformat/config -Iformat/transfer -Iformat/verbs -Ioffline"
$CC -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror $INC \
    -o "$out/keystore_scale" tests/bench/keystore_scale.c "$B/liboboffline.a" "$B/libobformat.a" \
    $(pkg-config --libs libcrypto libsodium yaml-0.1 libqrencode zbar zlib libpng)
${MAKE:-make} -s BUILD="$B" "$B/tests/test_ceremony_fixture" >/dev/null

T=$(mktemp -d /tmp/ob-bench-keys.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
printf 'correct horse\n' >"$T/pass"
as_user=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
fi
OFF=$(cd "$B" && pwd)/ob-offline
sizes="4000 20000"
[ "${1:-}" = --quick ] && sizes=4000

for n in $sizes; do
    echo "-- $n keys (Argon2id opslimit 3, memlimit 256 MiB)"
    "$out/keystore_scale" "$n" "$T/s$n" "$T/pass"
    chmod 644 "$T/s$n" "$T/pass"
    s=$EPOCHREALTIME
    if "${as_user[@]}" prlimit --memlock=$((8 << 20)) "$OFF" address "$T/s$n" --passphrase-file "$T/pass" \
        >"$T/addr" 2>"$T/err"; then
        echo "  ob-offline address as uid $("${as_user[@]}" id -u), RLIMIT_MEMLOCK 8 MiB:" \
            "exit 0, $(wc -l <"$T/addr") addresses, every secret locked," \
            "$(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $s }") s"
    else
        echo "  ob-offline address under 8 MiB FAILED: $(cat "$T/err")"
        exit 1
    fi
    if "${as_user[@]}" prlimit --memlock=$((4 << 20)) "$OFF" address "$T/s$n" --passphrase-file "$T/pass" \
        >/dev/null 2>"$T/err"; then
        echo "  under RLIMIT_MEMLOCK 4 MiB: opens"
    else
        echo "  under RLIMIT_MEMLOCK 4 MiB: $(cat "$T/err")"
    fi

    # sign two of its services (two shared backends), as the ceremony does.
    K=$T/c$n
    mkdir -p "$K/descs"
    OB_CEREMONY_GEN=$K/descs OB_CEREMONY_N=2 "$B/tests/test_ceremony_fixture" >/dev/null
    printf 'ceremony_log: ceremony.log\nservices:\n' >"$K/offline.yaml"
    echo "services:" >"$K/online.yaml"
    for a in $(sed -n '1p;$p' "$T/addr"); do
        printf '  - key: %s\n    address: %s\n    instances:\n' "$T/s$n" "$a" >>"$K/offline.yaml"
        printf '  - address: %s\n    instances:\n' "$a" >>"$K/online.yaml"
        for b in $(cat "$K/descs/instances.txt"); do
            printf '      - address: %s.onion\n' "$b" | tee -a "$K/offline.yaml" >>"$K/online.yaml"
        done
    done
    OB_REQUEST_STORE=$K/requests "$B/ob-online" collect -c "$K/online.yaml" --descriptors-from "$K/descs" \
        -o "$K/req.obb" >/dev/null
    chmod -R a+rwX "$K"
    s=$EPOCHREALTIME
    if "${as_user[@]}" prlimit --memlock=$((8 << 20)) "$OFF" sign -c "$K/offline.yaml" -i "$K/req.obb" \
        -o "$K/resp.obb" --yes --passphrase-file "$T/pass" >"$K/out" 2>"$T/err"; then
        echo "  ob-offline sign, 2 services of the store, RLIMIT_MEMLOCK 8 MiB: exit 0," \
            "$(grep -o 'Signed [0-9]* descriptors' "$K/out"), every key locked," \
            "$(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $s }") s"
    else
        echo "  ob-offline sign under 8 MiB FAILED: $(cat "$T/err")"
        exit 1
    fi
done
