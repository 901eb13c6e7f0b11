# ceremony.sh - fixtures shared by the ceremony tests (sourced).
#
#   cer_setup VERSION N INTROS DIR   throwaway backends (tests/test_ceremony_fixture),
#                                    a master key (passphrase file DIR/pass), and the
#                                    two configs DIR/online.yaml, DIR/offline.yaml
#   cer_mutate WHAT IN OUT           a doctored copy of a request (see the fixture)
# Needs $B (build dir).  Sets MASTER (address without .onion).
cer_setup() {
    local v=$1 n=$2 ni=$3 dir=$4 a
    mkdir -p "$dir/descs"
    OB_CEREMONY_GEN=$dir/descs OB_CEREMONY_VERSION=$v OB_CEREMONY_N=$n OB_CEREMONY_INTROS=$ni \
        "$B/tests/test_ceremony_fixture" || return 1
    printf 'correct horse battery staple\n' >"$dir/pass"
    if [ "$v" = 2 ]; then
        "$B/ob-offline" keygen --version 2 -o "$dir/master.key" --passphrase-file "$dir/pass" >/dev/null || return 1
    else
        "$B/ob-offline" keygen --version 3 -o "$dir/master.key" --passphrase-file "$dir/pass" >/dev/null || return 1
    fi
    MASTER=$("$B/ob-offline" address "$dir/master.key" --passphrase-file "$dir/pass") || return 1
    MASTER=${MASTER%.onion}
    {
        echo "services:"
        echo "  - address: $MASTER.onion"
        echo "    instances:"
        while read -r a; do echo "      - address: $a.onion"; done <"$dir/descs/instances.txt"
    } >"$dir/online.yaml"
    {
        echo "ceremony_log: ceremony.log"
        echo "services:"
        echo "  - key: master.key"
        echo "    instances:"
        while read -r a; do echo "      - address: $a.onion"; done <"$dir/descs/instances.txt"
    } >"$dir/offline.yaml"
}

cer_mutate() {
    OB_CEREMONY_MUTATE=$1 OB_CEREMONY_IN=$2 OB_CEREMONY_OUT=$3 "$B/tests/test_ceremony_fixture"
}
