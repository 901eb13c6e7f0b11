#!/bin/bash
# The man pages and the programs agree.
#
# For ob-online and ob-offline:
#   1. the man page renders without a single groff warning (-ww);
#   2. its SYNOPSIS, rendered wide enough that no line wraps, equals the
#      program's --help output line for line (the "usage:" column stripped);
#   3. every command of the synopsis has its own entry under COMMANDS;
#   4. every verb main.c still routes to the "not implemented yet" stub is
#      named in the page's BUGS section (marker ".\" not-implemented: ..."),
#      so the page never presents a missing command as done.
# Fails with a diff or the offending name.
set -u
cd "$(dirname "$0")/../.."
OB_BUILD=${OB_BUILD:-build/san}
command -v groff >/dev/null || { echo "SKIP: groff not installed (make deps)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for prog in ob-online ob-offline; do
    page=man/$prog.1
    side=${prog#ob-}
    bin=$OB_BUILD/$prog
    [ -f "$page" ] || { echo "FAIL: $page missing"; fail=1; continue; }
    [ -x "$bin" ] || { echo "FAIL: $bin not built"; fail=1; continue; }

    # 1. No warnings at all, in the device man(1) uses.
    if ! groff -man -Tutf8 -ww -z "$page" 2>"$tmp/warn" || [ -s "$tmp/warn" ]; then
        echo "FAIL: $page: groff warnings:"
        cat "$tmp/warn"
        fail=1
    fi

    # 2. SYNOPSIS == --help.  Plain ASCII, no bold/underline, very long lines.
    groff -man -Tascii -P-c -P-b -P-u -rLL=2000n "$page" 2>/dev/null >"$tmp/$prog.txt"
    awk '/^SYNOPSIS/ { f = 1; next } /^[A-Z]/ { f = 0 } f && NF' "$tmp/$prog.txt" |
        sed -e 's/^ *//' -e 's/ *$//' >"$tmp/$prog.man"
    if ! "$bin" --help >"$tmp/$prog.out" 2>&1; then
        echo "FAIL: $prog --help exited non-zero"
        fail=1
    fi
    cut -c8- "$tmp/$prog.out" >"$tmp/$prog.help"
    if [ ! -s "$tmp/$prog.man" ]; then
        echo "FAIL: no SYNOPSIS lines found in $page"
        fail=1
    elif ! diff -u --label "$page SYNOPSIS" --label "$prog --help" "$tmp/$prog.man" \
        "$tmp/$prog.help"; then
        echo "FAIL: $page SYNOPSIS and $prog --help differ (mirror online|offline/main.c usage[])"
        fail=1
    else
        echo "ok: $page SYNOPSIS equals $prog --help ($(wc -l <"$tmp/$prog.help") lines)"
    fi

    # 3. Each command ("keygen", "qr show", ...) has an entry under COMMANDS.
    awk '/^COMMANDS/ { f = 1; next } /^[A-Z]/ { f = 0 } f' "$tmp/$prog.txt" >"$tmp/$prog.cmds"
    n=0
    while read -r _ verb sub _; do
        [ "$verb" = qr ] && verb="qr $sub"
        n=$((n + 1))
        # A short tag shares its line with the text (.TP): "       run    The daemon".
        if ! grep -qE "^       $verb( |$)" "$tmp/$prog.cmds"; then
            echo "FAIL: $page has no COMMANDS entry for '$verb'"
            fail=1
        fi
    done <"$tmp/$prog.help"
    echo "ok: checked $n COMMANDS entries of $page"

    # 4. Stubs are admitted in BUGS.
    todo=$(grep -o '"[a-z-]*", *[a-z]*_cmd_todo' "$side/main.c" | cut -d'"' -f2 | sort)
    marked=$(sed -n 's/^\.\\" not-implemented:\(.*\)$/\1/p' "$page" | tr ' ' '\n' | sed '/^$/d' |
        sort)
    for v in $todo; do
        if ! grep -qx "$v" <<<"$marked"; then
            echo "FAIL: '$prog $v' is not implemented yet, but $page does not say so in BUGS"
            fail=1
        fi
        # The BUGS text a person reads must name it too, not only the marker.
        awk '/^BUGS/ { f = 1; next } /^[A-Z]/ { f = 0 } f' "$tmp/$prog.txt" >"$tmp/$prog.bugs"
        grep -qw -- "$v" "$tmp/$prog.bugs" || {
            echo "FAIL: BUGS of $page does not name '$v' in its text"
            fail=1
        }
    done
    for v in $marked; do
        grep -qx "$v" <<<"$todo" ||
            echo "note: $page says '$v' is not implemented, but main.c routes it to real code:" \
                "update BUGS"
    done
    echo "ok: stubs in $side/main.c: ${todo:-none}; named in BUGS: ${marked:-none}" | tr '\n' ' '
    echo
done

[ $fail -eq 0 ] && echo "PASS: man pages match the programs"
exit $fail
