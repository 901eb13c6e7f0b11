#!/bin/bash
# make install / install-offline / uninstall with PREFIX and DESTDIR
# (docs/packaging.rst), on the programs already built (make is told not to
# remake them): every file where the table says, the unit's ExecStart naming
# the installed program, the completion under both names, the offline-only
# install without any online file, and uninstall leaving no file behind.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
for p in ob-online ob-offline; do [ -x "$B/$p" ] || { echo "skip: $B/$p not built"; exit 77; }; done
command -v make >/dev/null || { echo "skip: no make"; exit 77; }
T=$(mktemp -d /tmp/ob-test-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mk() { make -s --no-print-directory BUILD="$B" -o "$B/ob-online" -o "$B/ob-offline" "$@" >"$T/make.log" 2>&1 ||
    fail "make $*: $(cat "$T/make.log")"; }
files() { (cd "$1" && find . -type f | sort); }

mk install DESTDIR="$T/a" PREFIX=/opt/ob
want="./opt/ob/bin/ob-offline
./opt/ob/bin/ob-online
./opt/ob/lib/systemd/system/ob-online.service
./opt/ob/lib/sysusers.d/ob-online.conf
./opt/ob/lib/tmpfiles.d/ob-online.conf
./opt/ob/share/bash-completion/completions/ob-offline
./opt/ob/share/bash-completion/completions/ob-online
./opt/ob/share/doc/onionbalance-offline/README.rst
./opt/ob/share/doc/onionbalance-offline/examples/ob-online.yaml
./opt/ob/share/man/man1/ob-offline.1
./opt/ob/share/man/man1/ob-online.1"
got=$(files "$T/a" | grep -v '/share/doc/onionbalance-offline/[a-z0-9-]*\.rst$')
[ "$got" = "$want" ] && echo "ok: make install: the files of docs/packaging.rst" ||
    fail "make install: $(diff <(echo "$want") <(echo "$got"))"
ndocs=$(ls docs/*.rst | wc -l)
[ "$(ls "$T"/a/opt/ob/share/doc/onionbalance-offline/*.rst | wc -l)" -eq $((ndocs + 1)) ] &&
    echo "ok: README and all $ndocs docs installed" || fail "docs: $(ls "$T"/a/opt/ob/share/doc/onionbalance-offline)"
cmp -s "$B/ob-online" "$T/a/opt/ob/bin/ob-online" && [ "$(stat -c %a "$T/a/opt/ob/bin/ob-online")" = 755 ] &&
    echo "ok: the program, mode 0755" || fail "installed ob-online differs or mode"
grep -qx 'ExecStart=/opt/ob/bin/ob-online run -c /etc/ob-online/config.yaml' "$T/a/opt/ob/lib/systemd/system/ob-online.service" &&
    echo "ok: the unit runs the installed program" ||
    fail "ExecStart: $(grep ExecStart "$T/a/opt/ob/lib/systemd/system/ob-online.service")"
[ "$(grep -v ExecStart "$T/a/opt/ob/lib/systemd/system/ob-online.service")" = "$(grep -v ExecStart dist/systemd/ob-online.service)" ] &&
    echo "ok: the unit is otherwise unchanged" || fail "the installed unit differs beyond ExecStart"
cmp -s dist/bash-completion/onionbalance-offline "$T/a/opt/ob/share/bash-completion/completions/ob-offline" &&
    echo "ok: completion installed" || fail "completion"
mk uninstall DESTDIR="$T/a" PREFIX=/opt/ob
[ -z "$(files "$T/a")" ] && echo "ok: make uninstall leaves no file" || fail "left after uninstall: $(files "$T/a")"

mk install-offline DESTDIR="$T/b" PREFIX=/usr
got=$(files "$T/b")
want="./usr/bin/ob-offline
./usr/share/bash-completion/completions/ob-offline
./usr/share/man/man1/ob-offline.1"
[ "$got" = "$want" ] && echo "ok: make install-offline: ob-offline alone" || fail "install-offline: $got"

echo "$fails failed"
[ $fails -eq 0 ]
