#!/bin/sh
# Fails when a tracked C file is not in the one style .clang-format defines.
set -eu
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "lint: clang-format not installed (make deps)"; exit 2; }
files=$( (git ls-files '*.c' '*.h'; git ls-files --others --exclude-standard '*.c' '*.h') | sort -u)
bad=0
for f in $files; do
    [ -f "$f" ] || continue
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then
        echo "lint: $f is not clang-format clean (run: make fmt)"
        bad=1
    fi
done
[ $bad -eq 0 ] && echo "lint: $(echo "$files" | wc -w) files clean"
exit $bad
