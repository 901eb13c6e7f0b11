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

# cer_pty OUT STEPS CMD...   run CMD on a fresh pty (its controlling terminal),
# save everything it wrote there in OUT, return its exit status.  STEPS is a
# '|'-separated list of PROMPT=>ANSWER: each ANSWER is typed once PROMPT has
# appeared (after the previous step's), so a prompt that never comes leaves
# its answer untyped.  120 s at most.
cer_pty() {
    local out=$1 steps=$2
    shift 2
    /usr/bin/python3 - "$out" "$steps" "$@" <<'PY'
import os, pty, select, sys, time
out, steps, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
steps = [s.split("=>", 1) for s in steps.split("|") if s]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf, pos, i, end = b"", 0, 0, time.time() + 120
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
    while i < len(steps):
        at = buf.find(steps[i][0].encode(), pos)
        if at < 0:
            break
        pos = at + len(steps[i][0])
        os.write(fd, steps[i][1].encode() + b"\n")
        i += 1
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
open(out, "wb").write(buf)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 3)
PY
}
