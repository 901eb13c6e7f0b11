#!/bin/bash
# ob-offline keygen / address / passwd / import, end to end through the CLI.
# Addresses are checked independently (openssl + python hashlib for v2),
# wrong passphrases, existing outputs and 2048-bit RSA must fail with the
# documented exit status, and files must stay untouched on failure.
set -u
OFF=${OB_BUILD:-build/san}/ob-offline
[ -x "$OFF" ] || { echo "no $OFF"; exit 1; }
export OB_INSECURE_TEST_KDF=1 # test-only: cheap Argon2id
T=$(mktemp -d /tmp/ob-test-keys.XXXXXX)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# Run "$@" without a controlling terminal; record stdout, stderr and status.
run() {
    setsid -w "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}
expect() { # expect RC "text in stderr" description
    if [ "$rc" -ne "$1" ]; then
        fail "$3: exit $rc, expected $1; stderr: $(cat "$T/err")"
    elif [ -n "$2" ] && ! grep -q -- "$2" "$T/err"; then
        fail "$3: stderr lacks '$2': $(cat "$T/err")"
    else
        ok "$3"
    fi
}
mode() { stat -c %a "$1"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
# v2 address computed without ob-offline: base32(SHA1(PKCS#1 DER public key)[:10]).
v2addr() { # v2addr KEYFILE [passfile]
    local pass=()
    [ $# -gt 1 ] && pass=(-passin "file:$2")
    openssl rsa -in "$1" "${pass[@]}" -RSAPublicKey_out -outform DER 2>/dev/null |
        $PY -c 'import sys,hashlib,base64
print(base64.b32encode(hashlib.sha1(sys.stdin.buffer.read()).digest()[:10]).decode().lower() + ".onion")'
}
v3check() { # v3 address checksum and version byte, per rend-spec-v3, in python
    $PY -c 'import sys,hashlib,base64
a=sys.argv[1]; assert a.endswith(".onion"); raw=base64.b32decode(a[:-6].upper())
pk,ck,v=raw[:32],raw[32:34],raw[34]
assert v==3 and ck==hashlib.sha3_256(b".onion checksum"+pk+b"\x03").digest()[:2]' "$1"
}

printf 'correct horse\n' >"$T/pass"
printf 'battery staple\n' >"$T/pass2"
printf 'wrong\n' >"$T/bad"

# --- keygen v3 ---
run "$OFF" keygen --version 3 -o "$T/k3" --passphrase-file "$T/pass"
expect 0 "" "keygen v3"
a3=$(cat "$T/out")
[[ $a3 =~ ^[a-z2-7]{56}\.onion$ ]] && v3check "$a3" && ok "v3 address well-formed" || fail "v3 address '$a3'"
[ "$(mode "$T/k3")" = 600 ] && ok "v3 key mode 0600" || fail "v3 key mode $(mode "$T/k3")"
head -c 8 "$T/k3" | grep -q OBKSTORE && ok "v3 key is a store" || fail "v3 key magic"
run "$OFF" address "$T/k3" --passphrase-file "$T/pass"
expect 0 "" "address v3"
[ "$(cat "$T/out")" = "$a3" ] && ok "address v3 = keygen output" || fail "address v3 '$(cat "$T/out")' != '$a3'"

# --- a short new passphrase is warned of (fewer than 12 characters), not refused ---
printf 'twelve chars\n' >"$T/twelve"
run "$OFF" keygen --version 3 -o "$T/k3-twelve" --passphrase-file "$T/twelve"
expect 0 "" "keygen with 12 characters"
grep -q "fewer than 12 characters" "$T/err" && fail "keygen warned of 12 characters" || ok "no warning for 12 characters"
printf 'short pw\n' >"$T/short"
printf '\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\n' >"$T/short-utf8" # 11 characters, 22 bytes
for f in short short-utf8; do
    run "$OFF" keygen --version 3 -o "$T/k3-$f" --passphrase-file "$T/$f"
    expect 0 "warning: the new passphrase has fewer than 12 characters" "keygen with a short passphrase ($f): warned"
    [ -s "$T/k3-$f" ] && ok "short passphrase ($f): key written" || fail "short passphrase ($f): no key"
done
run "$OFF" passwd "$T/k3-short" --passphrase-file "$T/short" --new-passphrase-file "$T/short-utf8"
expect 0 "fewer than 12 characters" "passwd to a short passphrase: warned"

# --- failures leave files alone ---
before=$(sum "$T/k3")
run "$OFF" keygen --version 3 -o "$T/k3" --passphrase-file "$T/pass"
expect 2 "already exists" "keygen refuses an existing file"
[ "$(sum "$T/k3")" = "$before" ] && ok "existing file unchanged" || fail "existing file changed"
run "$OFF" address "$T/k3" --passphrase-file "$T/bad"
expect 1 "wrong passphrase or corrupted key file" "wrong passphrase"
run "$OFF" address "$T/k3"
expect 2 "no terminal" "no terminal and no passphrase file"
printf '\n' >"$T/empty"
run "$OFF" keygen --version 3 -o "$T/k3e" --passphrase-file "$T/empty"
expect 1 "empty" "empty passphrase refused"
[ -e "$T/k3e" ] && fail "key written with an empty passphrase" || ok "no key file after refusal"
run "$OFF" keygen --version 4 -o "$T/x"
expect 2 "" "keygen --version 4 is a usage error"
run "$OFF" keygen --version 3 -o "$T/x" --passphrase-file "$T/pass" --no-passphrase
expect 2 "exclude" "--passphrase-file with --no-passphrase"
run "$OFF" keygen -o "$T/x" --passphrase-file "$T/pass"
expect 2 "required" "keygen without --version"

# --- passwd v3 ---
run "$OFF" passwd "$T/k3" --passphrase-file "$T/bad" --new-passphrase-file "$T/pass2"
expect 1 "wrong passphrase" "passwd with a wrong old passphrase"
[ "$(sum "$T/k3")" = "$before" ] && ok "passwd failure leaves the file" || fail "passwd failure changed the file"
run "$OFF" passwd "$T/k3" --passphrase-file "$T/pass" --new-passphrase-file "$T/pass2"
expect 0 "" "passwd v3"
[ "$(mode "$T/k3")" = 600 ] && ok "mode 0600 after passwd" || fail "mode $(mode "$T/k3") after passwd"
run "$OFF" address "$T/k3" --passphrase-file "$T/pass"
expect 1 "wrong passphrase" "old passphrase no longer opens the key"
run "$OFF" address "$T/k3" --passphrase-file "$T/pass2"
expect 0 "" "new passphrase opens the key"
[ "$(cat "$T/out")" = "$a3" ] && ok "address unchanged by passwd" || fail "address changed by passwd"
ls "$T" | grep -q tmp- && fail "temporary file left behind" || ok "no temporary files left"

# --- keygen v2 ---
run "$OFF" keygen --version 2 -o "$T/k2" --passphrase-file "$T/pass"
expect 0 "" "keygen v2"
a2=$(cat "$T/out")
[[ $a2 =~ ^[a-z2-7]{16}\.onion$ ]] && ok "v2 address well-formed" || fail "v2 address '$a2'"
[ "$(mode "$T/k2")" = 600 ] && ok "v2 key mode 0600" || fail "v2 key mode"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$T/k2" && ok "v2 key is encrypted PKCS#8" || fail "v2 key format"
openssl pkey -in "$T/k2" -passin "file:$T/pass" -noout 2>/dev/null && ok "openssl pkey reads the v2 key" || fail "openssl pkey cannot read the v2 key"
openssl asn1parse -in "$T/k2" 2>/dev/null | grep -q ":scrypt" && ok "v2 key uses scrypt" || fail "v2 key KDF is not scrypt"
openssl asn1parse -in "$T/k2" 2>/dev/null | grep -q ":aes-256-cbc" && ok "v2 key uses AES-256-CBC" || fail "v2 key cipher is not AES-256-CBC"
[ "$(openssl pkey -in "$T/k2" -passin "file:$T/pass" -noout -text 2>/dev/null | head -1)" = "Private-Key: (1024 bit, 2 primes)" ] && ok "v2 key has 1024 bits" || fail "v2 key size"
[ "$(v2addr "$T/k2" "$T/pass")" = "$a2" ] && ok "v2 address = SHA1(DER)[:10] (openssl+python)" || fail "v2 address mismatch: $(v2addr "$T/k2" "$T/pass") vs $a2"
run "$OFF" address "$T/k2" --passphrase-file "$T/bad"
expect 1 "wrong passphrase" "v2 wrong passphrase"
run "$OFF" passwd "$T/k2" --passphrase-file "$T/pass" --new-passphrase-file "$T/pass2"
expect 0 "" "passwd v2"
openssl pkey -in "$T/k2" -passin "file:$T/pass2" -noout 2>/dev/null && ok "openssl reads v2 after passwd" || fail "openssl after passwd"
run "$OFF" address "$T/k2" --passphrase-file "$T/pass2"
[ "$(cat "$T/out")" = "$a2" ] && ok "v2 address unchanged by passwd" || fail "v2 address changed by passwd"

# --- unencrypted keys ---
run "$OFF" keygen --version 3 -o "$T/k3p" --no-passphrase
expect 0 "NOT encrypted" "keygen v3 --no-passphrase warns"
a3p=$(cat "$T/out")
grep -q "BEGIN PRIVATE KEY" "$T/k3p" && ok "v3 plain key is PKCS#8 PEM" || fail "v3 plain format"
[ "$(mode "$T/k3p")" = 600 ] && ok "plain key mode 0600" || fail "plain key mode"
run "$OFF" address "$T/k3p"
[ "$(cat "$T/out")" = "$a3p" ] && ok "address of a plain v3 key" || fail "plain v3 address"
run "$OFF" keygen --version 2 -o "$T/k2p" --no-passphrase
expect 0 "NOT encrypted" "keygen v2 --no-passphrase"
[ "$(v2addr "$T/k2p")" = "$(cat "$T/out")" ] && ok "plain v2 address (openssl+python)" || fail "plain v2 address"

# --- import ---
run "$OFF" import "$T/k3p" -o "$T/imp3" --passphrase-file "$T/pass"
expect 0 "" "import OnionBalance PEM"
[ "$(cat "$T/out")" = "$a3p" ] && ok "import keeps the address" || fail "import address"
run "$OFF" address "$T/imp3" --passphrase-file "$T/pass"
[ "$(cat "$T/out")" = "$a3p" ] && ok "imported store opens" || fail "imported store"
# Adding to an existing store (same passphrase), then the duplicate is refused.
run "$OFF" import "$T/k3" -o "$T/imp3" --passphrase-file "$T/pass" --source-passphrase-file "$T/pass2"
expect 0 "" "import adds a key to an existing store"
run "$OFF" address "$T/imp3" --passphrase-file "$T/pass"
[ "$(cat "$T/out")" = "$(printf '%s\n%s' "$a3p" "$a3")" ] && ok "store lists both addresses" || fail "store addresses: $(cat "$T/out")"
before=$(sum "$T/imp3")
run "$OFF" import "$T/k3p" -o "$T/imp3" --passphrase-file "$T/pass"
expect 2 "already holds" "import refuses a duplicate key"
run "$OFF" import "$T/k3p" -o "$T/imp3" --passphrase-file "$T/bad"
expect 1 "wrong passphrase" "import into a store with a wrong passphrase"
[ "$(sum "$T/imp3")" = "$before" ] && ok "store unchanged after failed imports" || fail "store changed"
run "$OFF" import "$T/k3" -o "$T/k2p" --passphrase-file "$T/pass" --source-passphrase-file "$T/pass2"
expect 2 "already exists" "import refuses to overwrite a non-store file"

# RSA: traditional PEM encrypted with DEK-Info (AES-128-CBC and DES-EDE3-CBC), and PKCS#8.
for ciph in aes128 des3; do
    openssl genrsa -traditional -$ciph -passout "file:$T/pass" -out "$T/trad-$ciph.pem" 1024 2>/dev/null
    grep -q "Proc-Type: 4,ENCRYPTED" "$T/trad-$ciph.pem" || fail "openssl did not write a traditional encrypted key"
    want=$(v2addr "$T/trad-$ciph.pem" "$T/pass")
    run "$OFF" address "$T/trad-$ciph.pem" --passphrase-file "$T/pass"
    [ "$(cat "$T/out")" = "$want" ] && ok "address of traditional $ciph RSA PEM" || fail "traditional $ciph: $(cat "$T/out") $(cat "$T/err")"
    run "$OFF" import "$T/trad-$ciph.pem" -o "$T/imp2-$ciph" --source-passphrase-file "$T/pass" --passphrase-file "$T/pass2"
    expect 0 "" "import traditional $ciph RSA"
    [ "$(cat "$T/out")" = "$want" ] && ok "import keeps the v2 address" || fail "import v2 address"
    openssl pkey -in "$T/imp2-$ciph" -passin "file:$T/pass2" -noout 2>/dev/null && ok "imported v2 readable by openssl" || fail "imported v2 unreadable"
    [ "$(mode "$T/imp2-$ciph")" = 600 ] && ok "imported v2 mode 0600" || fail "imported v2 mode"
done
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -aes-256-cbc -pass "file:$T/pass" -out "$T/p8enc.pem" 2>/dev/null
run "$OFF" address "$T/p8enc.pem" --passphrase-file "$T/pass"
[ "$(cat "$T/out")" = "$(v2addr "$T/p8enc.pem" "$T/pass")" ] && ok "address of encrypted PKCS#8 RSA" || fail "encrypted PKCS#8 RSA"
run "$OFF" address "$T/p8enc.pem" --passphrase-file "$T/bad"
expect 1 "wrong passphrase" "encrypted PKCS#8 RSA, wrong passphrase"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa2048.pem" 2>/dev/null
run "$OFF" address "$T/rsa2048.pem"
expect 1 "1024-bit RSA" "2048-bit RSA refused"
run "$OFF" import "$T/rsa2048.pem" -o "$T/imp2048" --passphrase-file "$T/pass"
expect 1 "1024-bit RSA" "import refuses 2048-bit RSA"
[ -e "$T/imp2048" ] && fail "output written for a refused key" || ok "no output for a refused key"

# A v2 HiddenServiceDir as tor 0.4.5 left it: private_key (traditional PEM) and hostname.
mkdir -p "$T/hsv2"
openssl genrsa -traditional -out "$T/hsv2/private_key" 1024 2>/dev/null
v2addr "$T/hsv2/private_key" >"$T/hsv2/hostname"
run "$OFF" address "$T/hsv2"
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$(cat "$T/hsv2/hostname")" ] && ok "v2 HiddenServiceDir" || fail "v2 dir: $(cat "$T/out") $(cat "$T/err")"
# Ed25519 in encrypted PKCS#8 (OpenSSL's form), address checked with python.
openssl genpkey -algorithm ed25519 -aes-256-cbc -pass "file:$T/pass" -out "$T/ed-enc.pem" 2>/dev/null
want=$(openssl pkey -in "$T/ed-enc.pem" -passin "file:$T/pass" -pubout -outform DER 2>/dev/null | $PY -c 'import sys,hashlib,base64
pk=sys.stdin.buffer.read()[-32:]
print(base64.b32encode(pk+hashlib.sha3_256(b".onion checksum"+pk+b"\x03").digest()[:2]+b"\x03").decode().lower()+".onion")')
run "$OFF" address "$T/ed-enc.pem" --passphrase-file "$T/pass"
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$want" ] && ok "encrypted PKCS#8 Ed25519" || fail "encrypted Ed25519: $(cat "$T/out") vs $want $(cat "$T/err")"
run "$OFF" address "$T/ed-enc.pem" --passphrase-file "$T/bad"
expect 1 "wrong passphrase" "encrypted PKCS#8 Ed25519, wrong passphrase"

# tor's key file format, built from a known expanded key (tor's own vector 0).
$PY - "$T/hs_ed25519_secret_key" <<'PYEOF'
import sys
exp = bytes.fromhex("c0a4de23cc64392d85aa1da82b3defddbea946d13bb053bf8489fa9296281f49"
                    "5022f1f7ec0dcf52f07d4c7965c4eaed121d5d88d0a8ff546b06116a20e97755")
open(sys.argv[1], "wb").write(b"== ed25519v1-secret: type0 ==\0\0\0" + exp)
PYEOF
want=$($PY -c 'import hashlib,base64
pk=bytes.fromhex("c2247870536a192d142d056abefca68d6193158e7c1a59c1654c954eccaff894")
print(base64.b32encode(pk+hashlib.sha3_256(b".onion checksum"+pk+b"\x03").digest()[:2]+b"\x03").decode().lower()+".onion")')
run "$OFF" address "$T/hs_ed25519_secret_key"
[ "$(cat "$T/out")" = "$want" ] && ok "address of a tor secret key file" || fail "tor secret key: $(cat "$T/out") vs $want"
run "$OFF" passwd "$T/hs_ed25519_secret_key" --new-passphrase-file "$T/pass"
expect 1 "import" "passwd on a tor key points to import"

# --- OB_INSECURE_TEST_KDF: only stores made under it are cheap, and they say so ---
hdr() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; } # hdr FILE OFFSET COUNT
run "$OFF" keygen --version 3 -o "$T/ktest" --passphrase-file "$T/pass"
expect 0 "made with the insecure test KDF" "making a test store warns"
[ "$(hdr "$T/ktest" 11 1)" = 01 ] && ok "a store made under the variable is marked (flag 1)" || fail "test store flag $(hdr "$T/ktest" 11 1)"
run "$OFF" address "$T/ktest" --passphrase-file "$T/pass"
expect 0 "made with the insecure test KDF" "opening a test store warns"
run env -u OB_INSECURE_TEST_KDF "$OFF" address "$T/ktest" --passphrase-file "$T/pass"
expect 0 "made with the insecure test KDF" "opening a test store warns without the variable too"
# A real store: made without the variable, so opslimit 3, memlimit 256 MiB, no flag.
run env -u OB_INSECURE_TEST_KDF "$OFF" keygen --version 3 -o "$T/real" --passphrase-file "$T/pass"
expect 0 "" "keygen without the variable"
areal=$(cat "$T/out")
grep -q "insecure" "$T/err" && fail "a real store warned about the test KDF: $(cat "$T/err")"
real_cost=00000000000000030000000010000000
[ "$(hdr "$T/real" 11 17)" = "00$real_cost" ] && ok "real store: no flag, MODERATE cost" || fail "real store header $(hdr "$T/real" 11 17)"
run "$OFF" address "$T/real" --passphrase-file "$T/pass"
expect 0 "" "a real store opens with the variable set"
grep -q "insecure" "$T/err" && fail "real store: test-KDF warning on open"
# passwd with the variable set keeps the full cost (and says the variable was ignored).
run "$OFF" passwd "$T/real" --passphrase-file "$T/pass" --new-passphrase-file "$T/pass2"
expect 0 "OB_INSECURE_TEST_KDF=1 ignored" "passwd of a real store under the variable"
[ "$(hdr "$T/real" 11 17)" = "00$real_cost" ] && ok "passwd kept the full cost" || fail "passwd weakened the store: $(hdr "$T/real" 11 17)"
# import into it with the variable set: cost, flag and salt unchanged (one Argon2id run, the open's).
salt=$(hdr "$T/real" 0 44)
"$OFF" keygen --version 3 -o "$T/plain-add" --no-passphrase >/dev/null 2>&1
run "$OFF" import "$T/plain-add" -o "$T/real" --passphrase-file "$T/pass2"
expect 0 "" "import into a real store under the variable"
[ "$(hdr "$T/real" 0 44)" = "$salt" ] && ok "import kept cost, flag and salt" || fail "import changed the header: $(hdr "$T/real" 0 44)"
run "$OFF" address "$T/real" --passphrase-file "$T/pass2"
[ "$rc" -eq 0 ] && [ "$(head -n1 "$T/out")" = "$areal" ] && [ "$(wc -l <"$T/out")" -eq 2 ] && ok "real store holds both keys" || fail "real store after import: $(cat "$T/out") $(cat "$T/err")"
# The flag cleared on a test store: its weak cost is refused before any passphrase.
cp "$T/ktest" "$T/unmarked"
printf '\0' | dd of="$T/unmarked" bs=1 seek=11 conv=notrunc 2>/dev/null
run "$OFF" address "$T/unmarked"
expect 1 "below opslimit 3, memlimit 256 MiB" "weak cost without the mark refused (no passphrase asked)"

# --- symbolic links where a key path is decided ---
ln -s "$T/k3" "$T/k3-link"
run "$OFF" address "$T/k3-link" --passphrase-file "$T/pass"
expect 2 "symbolic link" "a key path that is a symlink is refused"
mkdir -p "$T/hsdir-real"
cp "$T/hs_ed25519_secret_key" "$T/hsdir-real/"
ln -s "$T/hsdir-real" "$T/hsdir-link"
run "$OFF" address "$T/hsdir-real"
expect 0 "" "a tor directory"
for p in "$T/hsdir-link" "$T/hsdir-link/"; do
    run "$OFF" address "$p"
    expect 2 "symbolic link" "a symlink to a tor directory ($p) is refused"
done
run "$OFF" import "$T/hsdir-real" -o "$T/k3-link" --passphrase-file "$T/pass"
expect 2 "already exists" "import -o a symlink to a store is refused"
[ "$(readlink "$T/k3-link")" = "$T/k3" ] && ok "the link is untouched" || fail "import replaced the link"

# --- the terminal: echo off, 3 tries, new passphrases asked twice ---
# A pseudo-terminal becomes the controlling terminal of ob-offline, so its
# /dev/tty prompts are answered here.
cat >"$T/ptydrive.py" <<'PYEOF'
import os, pty, select, sys, time
argv = sys.argv[1:sys.argv.index("--")]
answers = [a.split("=", 1) for a in sys.argv[sys.argv.index("--") + 1:]]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, i, seen, end = b"", 0, {}, time.time() + 60
while time.time() < end:
    if i < len(answers):
        want = answers[i][0].encode()
        if out.count(want) > seen.get(want, 0):
            seen[want] = seen.get(want, 0) + 1
            os.write(fd, answers[i][1].encode() + b"\n")
            i += 1
            continue
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(st))
PYEOF
tty_run() { $PY "$T/ptydrive.py" "$@" >"$T/tty" 2>&1; rc=$?; }
tty_run "$OFF" keygen --version 3 -o "$T/ktty" -- "New passphrase=abc" "Repeat=abd" "New passphrase=tty secret" "Repeat=tty secret"
[ $rc -eq 0 ] && grep -q "differ" "$T/tty" && ok "keygen on a terminal: mismatch, then retry" || fail "keygen tty: rc=$rc $(cat "$T/tty")"
atty=$(grep -o '[a-z2-7]\{56\}\.onion' "$T/tty")
grep -q "tty secret" "$T/tty" && fail "passphrase echoed on the terminal" || ok "passphrase not echoed"
tty_run "$OFF" address "$T/ktty" -- "Passphrase for=nope" "Passphrase for=tty secret"
[ $rc -eq 0 ] && grep -q "Wrong passphrase" "$T/tty" && grep -q "$atty" "$T/tty" && ok "address on a terminal: wrong, then right" || fail "address tty: rc=$rc $(cat "$T/tty")"
tty_run "$OFF" address "$T/ktty" -- "Passphrase for=a" "Passphrase for=b" "Passphrase for=c" "Passphrase for=tty secret"
[ $rc -eq 1 ] && [ "$(grep -c 'Passphrase for' "$T/tty")" -eq 3 ] && ok "three wrong passphrases: exit 1 after 3 prompts" || fail "3 tries: rc=$rc $(cat "$T/tty")"

[ $fails -eq 0 ] && echo "all key CLI checks passed" || echo "$fails key CLI checks failed"
[ $fails -eq 0 ]
