#!/bin/bash
# The bash completion (dist/bash-completion/onionbalance-offline) against the
# programs, so neither can drift from the other:
#   1. every verb (and qr or delegate sub-verb) the usage text (--help) lists is offered
#      as the first word;
#   2. every option a verb's usage line shows, and every option the verb's
#      own --help shows where the verb has one, is offered after "VERB -";
#   3. every option the completion offers is a string in the program itself
#      (a renamed or removed option would leave a dead completion);
#   4. option values: --version, --auth, --level complete to what the
#      programs accept.
# The completion function is run as bash runs it (COMP_WORDS, COMP_CWORD).
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
SCRIPT=dist/bash-completion/onionbalance-offline
for p in ob-online ob-offline; do [ -x "$B/$p" ] || { echo "skip: $B/$p not built"; exit 77; }; done
command -v strings >/dev/null || { echo "skip: strings (binutils) missing"; exit 77; }
bash -n "$SCRIPT" || { echo "FAIL: $SCRIPT does not parse"; exit 1; }
# shellcheck source=/dev/null
. "$SCRIPT"
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# complete WORD... : COMPREPLY for the cursor at the last word, one per line.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _ob_complete
    printf '%s\n' "${COMPREPLY[@]}"
}
# The options in a usage text: words starting with - or -- and a letter.
options_in() { grep -oE '(^|[][ |])--?[a-zA-Z][-a-zA-Z0-9]*' | sed 's/^[][ |]*//' | sort -u; }

for prog in ob-online ob-offline; do
    help=$("$B/$prog" --help) || fail "$prog --help exited non-zero"
    verbs=$(sed 's/^usage://' <<<"$help" | awk '{ print $2 }' | sort -u)
    offered=$(complete_words "$prog" "")
    for v in $verbs; do
        checks=$((checks + 1))
        grep -qx -- "$v" <<<"$offered" || fail "$prog: verb '$v' of --help is not completed"
    done
    strings_of=$(strings -n 2 "$B/$prog")
    while read -r line; do
        line=${line#usage: }
        set -- $line
        verb=$2 sub=""
        rest=${line#* "$verb"}
        if [ "$verb" = qr ] || [ "$verb" = delegate ]; then
            sub=$3
            rest=${rest#* "$sub"}
            checks=$((checks + 1))
            complete_words "$prog" "$verb" "" | grep -qx -- "$sub" ||
                fail "$prog: '$verb $sub' is not completed"
        fi
        want=$(options_in <<<"$rest")
        # The verb's own --help, where it has one, may list more.
        if vhelp=$("$B/$prog" $verb $sub --help 2>/dev/null); then
            want=$(printf '%s\n%s\n' "$want" "$(options_in <<<"$vhelp")" | sed '/^$/d' | sort -u)
        fi
        got=$(complete_words "$prog" $verb $sub -)
        for o in $want; do
            [ "$o" = -h ] || [ "$o" = --help ] && continue
            checks=$((checks + 1))
            grep -qx -- "$o" <<<"$got" || fail "$prog $verb${sub:+ $sub}: option $o is not completed"
        done
        for o in $got; do
            checks=$((checks + 1))
            grep -qx -- "$o" <<<"$strings_of" || fail "$prog $verb${sub:+ $sub}: completes $o, which $prog does not know"
        done
    done <<<"$help"
done

# Values.
check_values() { # check_values "WANT..." WORD...
    local want=$1 got
    shift
    got=$(complete_words "$@" | sort | tr '\n' ' ')
    checks=$((checks + 1))
    [ "$got" = "$want" ] || fail "completion of '$*': '$got', want '$want'"
}
check_values "2 3 " ob-offline keygen --version ""
check_values "v2 v3 " ob-offline config-gen --hs-version ""
check_values "auto cookie null password safecookie " ob-online tor-check --auth ""
check_values "H L M Q " ob-online qr encode f -o d --level ""
# Each --auth value is one tor-check accepts (it names them all in one message).
grep -q "auto, null, password, cookie or safecookie" <(strings "$B/ob-online") || fail "tor-check --auth values changed"
checks=$((checks + 1))

echo "$checks completion checks, $fails failed"
[ $fails -eq 0 ]
