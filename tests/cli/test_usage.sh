#!/bin/bash
# The man pages and the programs agree.
#
# For ob-online and ob-offline:
#   1. the man page renders without a single groff warning (-ww);
#   2. its SYNOPSIS, rendered wide enough that no line wraps, equals the
#      program's --help output line for line (the "usage:" column stripped);
#   3. every command of the synopsis has its own entry under COMMANDS;
#   4. no verb is a placeholder ("not implemented yet", *_cmd_todo): every
#      command the synopsis lists is real;
#   5. "PROG VERB --help" and "PROG VERB -h" (and "qr SUB --help") print
#      exactly that verb's synopsis lines on stdout, nothing on stderr, exit 0;
#   6. every option the program's source accepts (each "-x"/"--xyz" string
#      literal of its verbs' files) is in its --help text and described in
#      the page's COMMANDS or OPTIONS section, and the page mentions -h/--help.
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

    # 4. Every verb is real: no placeholder that answers "not implemented".
    if grep -rlq "not implemented yet\|_cmd_todo" "$side"/*.c "$side"/*.h; then
        echo "FAIL: $side/ has a placeholder verb: $(grep -rl "not implemented yet\|_cmd_todo" "$side"/*.c "$side"/*.h)"
        fail=1
    fi
    grep -q 'not-implemented:' "$page" && { echo "FAIL: $page still marks a verb as not implemented"; fail=1; }
done

# 5. Per-verb help.
for prog in ob-online ob-offline; do
    bin=$OB_BUILD/$prog
    [ -x "$bin" ] || continue
    cut -c8- "$tmp/$prog.out" >"$tmp/$prog.lines"
    n=0
    while read -r _ verb sub _; do
        words=$verb
        [ "$verb" = qr ] && words="qr $sub"
        [ "$verb" = version ] && continue
        for h in --help -h; do
            # shellcheck disable=SC2086 # words is "verb" or "qr sub"
            "$bin" $words $h >"$tmp/vh.out" 2>"$tmp/vh.err"
            rc=$?
            grep -E "^$prog $words( |\$)" "$tmp/$prog.lines" >"$tmp/vh.want"
            if [ $rc -ne 0 ] || [ -s "$tmp/vh.err" ] || ! head -n1 "$tmp/vh.out" | grep -q "^usage: $prog $words" ||
                ! diff -q <(cut -c8- "$tmp/vh.out") "$tmp/vh.want" >/dev/null; then
                echo "FAIL: '$prog $words $h': exit $rc, stdout: $(cat "$tmp/vh.out"), stderr: $(cat "$tmp/vh.err")"
                fail=1
            fi
            n=$((n + 1))
        done
    done <"$tmp/$prog.lines"
    echo "ok: $n per-verb --help/-h answers of $prog"
done

# 6. Every option: in the source, so in --help and in the page.
options_of() { # the option literals of a program's verbs
    local files
    case $1 in
    ob-online) files="online/*.c format/verbs/inspect.c format/verbs/qr_cmd.c" ;;
    ob-offline) files="offline/*.c format/verbs/qr_cmd.c" ;;
    esac
    # shellcheck disable=SC2086 # globs
    grep -hoE '"--?[a-zA-Z][a-zA-Z0-9-]*"' $files | tr -d '"' | sort -u
}
for prog in ob-online ob-offline; do
    [ -s "$tmp/$prog.txt" ] || continue
    awk '/^(COMMANDS|OPTIONS)/ { f = 1; next } /^[A-Z]/ { f = 0 } f' "$tmp/$prog.txt" >"$tmp/$prog.body"
    n=0
    for opt in $(options_of "$prog"); do
        # config-gen names these only to refuse them: a passphrase is never an argument.
        [ "$prog" = ob-offline ] && { [ "$opt" = -p ] || [ "$opt" = --password ]; } && continue
        n=$((n + 1))
        grep -qw -e "$opt" "$tmp/$prog.out" || { echo "FAIL: $prog accepts $opt, but --help does not show it"; fail=1; }
        grep -qw -e "$opt" "$tmp/$prog.body" || { echo "FAIL: $prog accepts $opt, but man/$prog.1 COMMANDS or OPTIONS does not describe it"; fail=1; }
    done
    grep -q -e "--help" "$tmp/$prog.txt" && grep -qw -e "-h" "$tmp/$prog.txt" ||
        { echo "FAIL: man/$prog.1 does not mention -h/--help"; fail=1; }
    echo "ok: $n options of $prog checked in --help and man/$prog.1"
done

[ $fail -eq 0 ] && echo "PASS: man pages match the programs"
exit $fail
