#!/bin/bash
# The separation of the two programs, proved on the built binaries.
#
# ob-offline (air-gapped) must contain no network or control-port code:
#   - no imported socket/resolver function (socket, connect, getaddrinfo, ...)
#     and no OpenSSL socket BIO or TLS connection;
#   - no symbol of any online/*.o object, and none with the onl_ prefix;
#   - no control-port command string (PROTOCOLINFO, SETEVENTS, HSPOST, ...).
# ob-online (networked) must contain no master-key code:
#   - no symbol of any offline/*.o object, and none with the ofl_ prefix
#     (all master-key loading and signing lives in offline/ as ofl_*);
#   - no imported private-key loading, key-store decryption or private-key
#     signing function (crypto_pwhash, PEM_read_bio_PrivateKey, ...).
# ob-online must not contain the private-key blinding or key-store unlocking
# the delegated mode's certification needs (by name and by constant string).
# Positive controls make sure the scan sees something: ob-online does import
# socket() (it talks to tor) and ob-offline does import crypto_pwhash (its
# key store).  Binaries: $OB_BUILD/ob-{online,offline}, default build/san.
set -u
cd "$(dirname "$0")/../.."
OB_BUILD=${OB_BUILD:-build/san}
command -v nm >/dev/null || { echo "SKIP: nm not installed (binutils; make deps)"; exit 77; }
command -v strings >/dev/null || { echo "SKIP: strings not installed (binutils)"; exit 77; }

# Network: sockets, name resolution, and OpenSSL's own socket/TLS paths.
NET_IMPORTS="socket socketpair connect bind listen accept accept4 send recv sendto recvfrom
sendmsg recvmsg sendmmsg recvmmsg getaddrinfo freeaddrinfo gai_strerror getnameinfo
gethostbyname gethostbyname2 gethostbyname_r gethostbyname2_r gethostbyaddr
gethostbyaddr_r getservbyname res_query res_search __res_query __res_search
BIO_s_socket BIO_new_socket BIO_s_connect BIO_new_connect BIO_s_accept BIO_new_accept
BIO_socket BIO_connect BIO_lookup BIO_lookup_ex SSL_new SSL_connect SSL_CTX_new
curl_easy_init curl_easy_perform"
# Master keys: loading and decrypting private keys, the key store's KDF and
# AEAD, generating keys, and signing with a private key.
KEY_IMPORTS="crypto_pwhash crypto_pwhash_str crypto_pwhash_argon2id crypto_pwhash_scryptsalsa208sha256
crypto_aead_xchacha20poly1305_ietf_decrypt crypto_aead_xchacha20poly1305_ietf_encrypt
PEM_read_bio_PrivateKey PEM_read_PrivateKey PEM_read_bio_RSAPrivateKey PEM_read_RSAPrivateKey
PEM_read_bio_PKCS8 PEM_read_bio_PKCS8_PRIV_KEY_INFO PEM_write_bio_PrivateKey
PEM_write_bio_PKCS8PrivateKey PEM_write_bio_PKCS8 d2i_PrivateKey d2i_AutoPrivateKey
d2i_PrivateKey_bio d2i_PKCS8PrivateKey_bio d2i_PKCS8_PRIV_KEY_INFO EVP_PKCS82PKEY
OSSL_DECODER_from_bio OSSL_DECODER_from_data OSSL_DECODER_from_fp OSSL_DECODER_CTX_new_for_pkey
EVP_PKEY_get_raw_private_key EVP_PKEY_Q_keygen EVP_PKEY_keygen EVP_PKEY_generate
RSA_generate_key_ex RSA_private_encrypt RSA_sign EVP_PKEY_sign EVP_PKEY_sign_init
EVP_DigestSign EVP_DigestSignInit EVP_DigestSignFinal crypto_sign crypto_sign_detached
crypto_sign_ed25519 crypto_sign_ed25519_detached crypto_sign_keypair crypto_sign_seed_keypair
crypto_sign_ed25519_keypair crypto_sign_ed25519_seed_keypair crypto_sign_ed25519_sk_to_seed
crypto_sign_ed25519_sk_to_curve25519"
# Control-port commands as they are sent (a string that starts with one).
CTL_STRINGS='^(PROTOCOLINFO|AUTHCHALLENGE|AUTHENTICATE|SETEVENTS|GETINFO|HSFETCH|HSPOST|SIGNAL)( |$)'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for b in ob-online ob-offline; do
    [ -x "$OB_BUILD/$b" ] || { echo "FAIL: $OB_BUILD/$b not built (make BUILD=$OB_BUILD)"; exit 1; }
    nm -D --undefined-only "$OB_BUILD/$b" | awk '{ print $NF }' | sed 's/@.*//' |
        sort -u >"$tmp/$b.imports"
    # Every symbol the binary defines (static ones too): nm of an unstripped binary.
    nm --defined-only "$OB_BUILD/$b" 2>/dev/null | awk 'NF == 3 { print $3 }' |
        sort -u >"$tmp/$b.defined"
    if [ ! -s "$tmp/$b.defined" ] || [ ! -s "$tmp/$b.imports" ]; then
        echo "FAIL: $OB_BUILD/$b has no symbol table (stripped?): nothing can be checked"
        exit 1
    fi
    echo "$b: $(wc -l <"$tmp/$b.imports") imported and $(wc -l <"$tmp/$b.defined") defined symbols"
done

# Global symbols of one side's objects (main.o defines main in both).
side_symbols() {
    local o
    for o in "$OB_BUILD"/obj/"$1"/*.o; do
        [ -f "$o" ] || continue
        [ "$(basename "$o")" = main.o ] && continue
        nm --defined-only "$o" | awk -v o="$o" 'NF == 3 && $2 ~ /[TDRB]/ { print $3, o }'
    done | sort -u
}

# found LIST FILE: the words of LIST that are lines of FILE.
found() {
    tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -u | comm -12 - "$2"
}

# Positive controls: the scans do see the symbols they look for.
if grep -qx socket "$tmp/ob-online.imports"; then
    echo "control: ob-online imports socket() (it talks to tor): the import scan works"
else
    echo "FAIL: ob-online does not import socket(); the import scan sees nothing it should"
    fail=1
fi
if grep -qx crypto_pwhash "$tmp/ob-offline.imports"; then
    echo "control: ob-offline imports crypto_pwhash (its key store): the import scan works"
else
    echo "FAIL: ob-offline does not import crypto_pwhash; the import scan sees nothing it should"
    fail=1
fi
n_onl=$(grep -c '^onl_' "$tmp/ob-online.defined")
n_ofl=$(grep -c '^ofl_' "$tmp/ob-offline.defined")
if [ "$n_onl" -gt 0 ] && [ "$n_ofl" -gt 0 ]; then
    echo "control: ob-online defines $n_onl onl_ symbols, ob-offline $n_ofl ofl_ symbols"
else
    echo "FAIL: expected onl_ symbols in ob-online ($n_onl) and ofl_ in ob-offline ($n_ofl)"
    fail=1
fi

# ob-offline: no network, no online code, no control-port strings.
bad=$(found "$NET_IMPORTS" "$tmp/ob-offline.imports")
echo "ob-offline: checked $(wc -w <<<"$NET_IMPORTS") network imports"
for s in $bad; do
    echo "FAIL: ob-offline imports network function '$s'"
    fail=1
done
for s in $(grep '^onl_' "$tmp/ob-offline.defined"); do
    echo "FAIL: ob-offline contains online symbol '$s'"
    fail=1
done
side_symbols online >"$tmp/online.objsyms"
[ -s "$tmp/online.objsyms" ] || { echo "FAIL: no objects in $OB_BUILD/obj/online to compare"; fail=1; }
echo "ob-offline: checked $(wc -l <"$tmp/online.objsyms") symbols of online/*.o"
while read -r s o; do
    if grep -qx -- "$s" "$tmp/ob-offline.defined"; then
        echo "FAIL: ob-offline contains '$s' from $o"
        fail=1
    fi
done <"$tmp/online.objsyms"
strings -n 6 "$OB_BUILD/ob-offline" | grep -E "$CTL_STRINGS" | sort -u >"$tmp/ctl"
echo "ob-offline: checked strings for control-port commands"
while read -r s; do
    echo "FAIL: ob-offline contains the control-port command string '$s'"
    fail=1
done <"$tmp/ctl"

# ob-online: no master-key code.
bad=$(found "$KEY_IMPORTS" "$tmp/ob-online.imports")
echo "ob-online: checked $(wc -w <<<"$KEY_IMPORTS") key-loading and signing imports"
for s in $bad; do
    echo "FAIL: ob-online imports private-key function '$s'"
    fail=1
done
for s in $(grep '^ofl_' "$tmp/ob-online.defined"); do
    echo "FAIL: ob-online contains offline symbol '$s'"
    fail=1
done
side_symbols offline >"$tmp/offline.objsyms"
[ -s "$tmp/offline.objsyms" ] || { echo "FAIL: no objects in $OB_BUILD/obj/offline to compare"; fail=1; }
echo "ob-online: checked $(wc -l <"$tmp/offline.objsyms") symbols of offline/*.o"
while read -r s o; do
    if grep -qx -- "$s" "$tmp/ob-online.defined"; then
        echo "FAIL: ob-online contains '$s' from $o"
        fail=1
    fi
done <"$tmp/offline.objsyms"

# ob-online: nothing of the delegated mode's offline half (issue #13).  It
# certifies keys with the blinded private key, which only blinding the
# identity key gives; the online side must hold neither.  By name: the
# private-key blinding, the revision-counter key derived from a blinded
# secret, every way of unlocking a key store; by content: the constant
# strings only that code uses (the blinded nonce prefix of rend-spec-v3 A.2,
# tor's OPE key prefix, the key store's magic).  Positive controls: each
# name and string is in ob-offline.
BLIND_SYMBOLS="ofl_hsv3_blind_secret ofl_hsv3_blind_secret_with_param ofl_hsv3_rev_counter_key
ofl_keystore_open ofl_keystore_load_all ofl_key_load ofl_sign_unlock ofl_sign_unlock_services
ofl_certify_execute"
for s in $BLIND_SYMBOLS; do
    if grep -qx -- "$s" "$tmp/ob-online.defined"; then
        echo "FAIL: ob-online contains '$s' (private-key blinding or key-store unlocking)"
        fail=1
    fi
    if ! grep -qx -- "$s" "$tmp/ob-offline.defined"; then
        echo "FAIL: control: ob-offline does not define '$s'; the check looks for a stale name"
        fail=1
    fi
done
echo "ob-online: checked $(wc -w <<<"$BLIND_SYMBOLS") blinding and unlocking functions by name"
strings -n 6 "$OB_BUILD/ob-online" >"$tmp/online.strings"
strings -n 6 "$OB_BUILD/ob-offline" >"$tmp/offline.strings"
for s in "Derive temporary signing key hash input" "rev-counter-generation" "OBKSTORE"; do
    if grep -qF -- "$s" "$tmp/online.strings"; then
        echo "FAIL: ob-online contains the string '$s' (blinding or key-store code)"
        fail=1
    fi
    if ! grep -qF -- "$s" "$tmp/offline.strings"; then
        echo "FAIL: control: ob-offline lacks the string '$s'; the check sees nothing"
        fail=1
    fi
done
echo "ob-online: checked the strings of blinding a secret key, the OPE key and the key store"

# Not a failure: the shared signing primitive is not master-key code.  In
# the delegated mode (docs/online.rst) ob-online signs descriptors with
# descriptor-signing keys the offline side certified; it never holds the
# identity key or a blinded private key (no ofl_ symbol, checked above).
for s in ob_ed25519_sign_expanded; do
    grep -qx "$s" "$tmp/ob-online.defined" &&
        echo "note: ob-online links the shared signing primitive '$s' (the delegated mode)"
done

if [ $fail -eq 0 ]; then
    echo "PASS: ob-offline has no network code, ob-online no master-key code"
fi
exit $fail
