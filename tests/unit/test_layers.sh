#!/bin/bash
# Checks the layering that docs/architecture.rst describes, from the
# #include lines of every source file: format/core depends on nothing of
# ours, the other format/ folders only on the ones listed below, and the two
# programs' folders (online/, offline/) on format/ but never on each other.
set -u
cd "$(dirname "$0")/../.."

# folder -> the folders its files may include from (besides its own).
declare -A allowed=(
    [format/core]=""
    [format/hs]="format/core"
    [format/transfer]="format/core"
    [format/config]="format/core format/hs"
    [format/bundle]="format/core format/hs"
    [format/verbs]="format/core format/hs format/transfer format/config format/bundle"
    [online]="format/core format/hs format/transfer format/config format/bundle format/verbs"
    [offline]="format/core format/hs format/transfer format/config format/bundle format/verbs"
)

# header name -> folder that holds it
declare -A home=()
for dir in "${!allowed[@]}"; do
    for h in "$dir"/*.h; do
        [ -f "$h" ] || continue
        name=${h##*/}
        # online/ and offline/ may each have a header of the same name: a
        # quoted include finds the one beside the including file first.
        case $dir in online | offline) continue ;; esac
        if [ -n "${home[$name]:-}" ]; then
            echo "FAIL: $name is in both ${home[$name]} and $dir (includes would be ambiguous)"
            exit 1
        fi
        home[$name]=$dir
    done
done

fail=0 checked=0
for dir in "${!allowed[@]}"; do
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        while IFS= read -r inc; do
            checked=$((checked + 1))
            if [ -f "$dir/$inc" ]; then from=$dir; else from=${home[$inc]:-}; fi
            if [ -z "$from" ]; then
                echo "FAIL: $f includes \"$inc\", which is in none of the folders"
                fail=1
            elif [ "$from" != "$dir" ] && [[ " ${allowed[$dir]} " != *" $from "* ]]; then
                echo "FAIL: $f includes \"$inc\" from $from; $dir may use only: ${allowed[$dir]:-nothing of ours}"
                fail=1
            fi
        done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done
done
for f in format/*.c format/*.h; do
    [ -f "$f" ] && { echo "FAIL: $f is directly in format/, outside its folders"; fail=1; }
done
[ $checked -gt 100 ] || { echo "FAIL: only $checked includes found: is the tree there?"; fail=1; }
[ $fail -eq 0 ] && echo "layers: $checked includes in ${#allowed[@]} folders follow docs/architecture.rst"
exit $fail
