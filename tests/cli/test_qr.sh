#!/bin/bash
# qr encode/decode/show/scan from the outside: byte-for-byte round trips
# through PNG files and zbar, any order, duplicates, missing and foreign
# frames, pictures degraded by an independent tool (Pillow), the terminal
# rendering read back, and the refusals (overwrite, --gif which is gone,
# symlinks, usage, no camera).
set -u
B=${OB_BUILD:-build/san}
ON=$B/ob-online
OFF=$B/ob-offline
PY=/usr/bin/python3
[ -x "$ON" ] && [ -x "$OFF" ] || { echo "binaries missing in $B"; exit 2; }
$PY -c 'import PIL' 2>/dev/null || { echo "python3-pil missing (tests/deps.sh)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # check DESC CMD...: CMD must succeed
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
short_digest() { # first 8 bytes of SHA-256, as the programs print it for a file not a bundle
    sha256sum "$1" | cut -c1-16 | sed 's/\(........\)\(........\)/\1 \2/'
}

# Round trips: online encodes, offline decodes the frames shuffled and each
# twice.  These are not bundles: decode writes them only with --any.  Sizes: empty, 1 byte, exactly one full frame (666 - 26 - 37 bytes
# of incompressible data), one byte more, many frames, and compressible text.
head -c 603 /dev/urandom >"$T/one.bin"
head -c 604 /dev/urandom >"$T/two.bin"
head -c 1 /dev/urandom >"$T/byte.bin"
: >"$T/empty.bin"
head -c 12000 /dev/urandom >"$T/many.bin"
for i in $(seq 1 400); do echo "introduction-point AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$i"; done >"$T/text.bin"
for f in empty byte one two many text; do
    rm -rf "$T/fr"
    if ! "$ON" qr encode "$T/$f.bin" -o "$T/fr" >"$T/enc.out" 2>&1; then
        bad "$f: encode"
        cat "$T/enc.out"
        continue
    fi
    grep -q "id $(short_digest "$T/$f.bin")," "$T/enc.out" || bad "$f: encode prints the id"
    n=$(ls "$T/fr" | wc -l)
    case $f in
    empty | byte | one) [ "$n" -eq 1 ] || bad "$f: expected 1 frame, got $n" ;;
    two) [ "$n" -eq 2 ] || bad "$f: expected 2 frames, got $n" ;;
    text) grep -q "zlib" "$T/enc.out" || bad "$f: compressible input not compressed" ;;
    esac
    rm -f "$T/$f.out"
    # shellcheck disable=SC2046
    if "$OFF" qr decode --any -o "$T/$f.out" $(ls "$T"/fr/*.png "$T"/fr/*.png | shuf) >"$T/dec.out" 2>&1 &&
        cmp -s "$T/$f.bin" "$T/$f.out"; then
        ok "$f: round trip ($n frames), shuffled and duplicated"
    else
        bad "$f: round trip"
        cat "$T/dec.out"
    fi
    grep -q "id $(short_digest "$T/$f.bin") (not a bundle: only its SHA-256 is checked)" "$T/dec.out" ||
        bad "$f: decode prints the id, and that it is no bundle"
    # Without --any such bytes are refused: nothing written, exit 1.
    rm -f "$T/$f.raw"
    "$OFF" qr decode -o "$T/$f.raw" "$T"/fr/*.png >"$T/dec.out" 2>&1
    rc=$?
    [ $rc -eq 1 ] && [ ! -e "$T/$f.raw" ] && grep -q "are not a bundle (.*); nothing written" "$T/dec.out" ||
        bad "$f: decode without --any: exit $rc: $(tail -n 1 "$T/dec.out")"
done

# One fingerprint per bundle: a bundle's QR message id is the short digest
# inspect prints, on encode, show, decode's progress and result, and
# --expect takes it (and the full digest collect and sign print).
for f in tests/data/bundle/example-request.obb tests/data/bundle/example-response.obb; do
    want=$("$ON" inspect "$f" | sed -n 's/^digest: *\([0-9a-f]\{8\} [0-9a-f]\{8\}\)$/\1/p')
    full=$("$ON" inspect "$f" | sed -n '/^digest:/{n;s/^ *\([0-9a-f]\{64\}\)$/\1/p}')
    [ -n "$want" ] && [ ${#full} -eq 64 ] || { bad "$f: inspect gave no digest"; continue; }
    [ "$want" != "$(short_digest "$f")" ] || bad "$f: the test cannot tell the digest from the SHA-256"
    rm -rf "$T/fb" "$T/fb.out"
    "$ON" qr encode "$f" -o "$T/fb" >"$T/enc.out" 2>&1
    grep -q ": [0-9]* bytes, digest $want, " "$T/enc.out" && ok "$f: encode names it by its digest $want" ||
        bad "$f: encode: $(cat "$T/enc.out"), want $want"
    "$ON" qr show "$f" >"$T/show.out" 2>&1
    grep -q "digest $want," "$T/show.out" && ok "$f: show names it $want" || bad "$f: show: $(head -n 1 "$T/show.out")"
    "$OFF" qr decode -o "$T/fb.out" --expect "$want" "$T"/fb/*.png >"$T/dec.out" 2>&1
    rc=$?
    [ $rc -eq 0 ] && cmp -s "$f" "$T/fb.out" && grep -q ": $want [0-9]*/[0-9]*" "$T/dec.out" &&
        grep -q "digest $want (checked: digest and every field)" "$T/dec.out" && ok "$f: decode --expect $want, progress and result name it" ||
        bad "$f: decode: exit $rc: $(cat "$T/dec.out")"
    rm -f "$T/fb.out"
    "$OFF" qr decode -o "$T/fb.out" --expect "$full" "$T"/fb/*.png >"$T/dec.out" 2>&1 &&
        cmp -s "$f" "$T/fb.out" && ok "$f: --expect takes the full digest" || bad "$f: --expect full: $(cat "$T/dec.out")"
done

# Real files: the example bundles (both kinds) and a tor-made v3 descriptor.
for f in tests/data/bundle/example-request.obb tests/data/bundle/example-response.obb \
    "${OB_TESTDATA:-tests/data/vectors}/v3/hidden_service_v3"; do
    [ -f "$f" ] || { echo "skip $f (absent)"; continue; }
    rm -rf "$T/fr" "$T/real.out"
    if "$ON" qr encode "$f" -o "$T/fr" >/dev/null 2>&1 &&
        "$OFF" qr decode --any -o "$T/real.out" $(ls "$T"/fr/*.png | shuf) >/dev/null 2>&1 &&
        cmp -s "$f" "$T/real.out"; then
        ok "$(basename "$f"): round trip ($(ls "$T/fr" | wc -l) frames)"
    else
        bad "$(basename "$f"): round trip"
    fi
done

# Missing frames: exit 1, the missing parts named, nothing written.
rm -rf "$T/fr" "$T/miss.out"
"$ON" qr encode "$T/many.bin" -o "$T/fr" >/dev/null
n=$(ls "$T/fr" | wc -l)
"$OFF" qr decode --any -o "$T/miss.out" $(ls "$T"/fr/*.png | grep -v -e frame-003 -e frame-017) >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 1 ] && ok "missing frames: exit 1" || bad "missing frames: exit $rc"
grep -q "incomplete: $((n - 2))/$n, missing 3 17; nothing written" "$T/dec.out" &&
    ok "missing frames: named" || { bad "missing frames: message"; cat "$T/dec.out"; }
[ ! -e "$T/miss.out" ] && ok "missing frames: no output" || bad "missing frames: output written"

# Foreign frames are ignored with a note, never mixed in.
rm -rf "$T/fr2"
"$ON" qr encode "$T/one.bin" -o "$T/fr2" >/dev/null
rm -rf "$T/fr4" "$T/mix.out"
"$ON" qr encode "$T/two.bin" -o "$T/fr4" >/dev/null
"$OFF" qr decode --any -o "$T/mix.out" "$T"/fr/*.png "$T/fr4/frame-002.png" >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s "$T/many.bin" "$T/mix.out" && ok "foreign frame: transfer still completes" ||
    bad "foreign frame: exit $rc"
grep -q "ignored 1 frame of another message $(short_digest "$T/two.bin") (1/2, missing 1)" "$T/dec.out" &&
    ok "foreign frame: noted" || { bad "foreign frame: no note"; cat "$T/dec.out"; }
# A one-frame message among them is complete too: which one was meant is
# not guessed.
rm -f "$T/mix.out"
"$OFF" qr decode --any -o "$T/mix.out" "$T"/fr/*.png "$T/fr2/frame-001.png" >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/mix.out" ] && grep -q "message $(short_digest "$T/one.bin"): 1/1" "$T/dec.out" &&
    ok "complete one-frame foreign message: ambiguous, exit 1" || { bad "one-frame foreign: exit $rc"; cat "$T/dec.out"; }
# ... also when a frame of another (two-part) message comes first: the first
# frame does not decide; the message that completes is written.
rm -f "$T/mix.out"
"$OFF" qr decode --any -o "$T/mix.out" "$T/fr4/frame-001.png" "$T"/fr/*.png >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s "$T/many.bin" "$T/mix.out" &&
    grep -q "ignored 1 frame of another message $(short_digest "$T/two.bin") (1/2, missing 2)" "$T/dec.out" &&
    ok "foreign frame first: the complete message is written, the other named" ||
    { bad "foreign first: exit $rc"; cat "$T/dec.out"; }
# Two whole transfers in one folder, in any order: ambiguous, nothing is
# written, both are named; --expect (short id or full SHA-256) picks either.
rm -f "$T/mix.out"
# shellcheck disable=SC2046
"$OFF" qr decode --any -o "$T/mix.out" $(ls "$T"/fr/*.png "$T"/fr4/*.png | shuf) >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/mix.out" ] && grep -q "several complete messages" "$T/dec.out" &&
    grep -q "message $(short_digest "$T/two.bin"): 2/2" "$T/dec.out" &&
    grep -q "message $(short_digest "$T/many.bin"): $n/$n" "$T/dec.out" &&
    ok "two complete messages: exit 1, both named, nothing written" ||
    { bad "two complete messages: exit $rc"; cat "$T/dec.out"; }
# shellcheck disable=SC2046
"$OFF" qr decode --any --expect "$(short_digest "$T/two.bin")" -o "$T/mix.out" \
    $(ls "$T"/fr/*.png "$T"/fr4/*.png | shuf) >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s "$T/two.bin" "$T/mix.out" &&
    grep -q "ignored $n frames of another message $(short_digest "$T/many.bin")" "$T/dec.out" &&
    ok "--expect short id picks the two-part message" || { bad "--expect short: exit $rc"; cat "$T/dec.out"; }
rm -f "$T/mix.out"
# shellcheck disable=SC2046
"$OFF" qr decode --any -o "$T/mix.out" --expect "$(sha256sum "$T/many.bin" | cut -c1-64)" \
    $(ls "$T"/fr/*.png "$T"/fr4/*.png | shuf) >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s "$T/many.bin" "$T/mix.out" && ok "--expect full SHA-256 picks the other" ||
    { bad "--expect sha256: exit $rc"; cat "$T/dec.out"; }
rm -f "$T/mix.out"
"$OFF" qr decode --any -o "$T/mix.out" --expect "$(short_digest "$T/one.bin")" "$T"/fr4/*.png >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/mix.out" ] && grep -q "no frame of the expected message" "$T/dec.out" &&
    ok "--expect a message not shown: exit 1" || { bad "--expect absent: exit $rc"; cat "$T/dec.out"; }
"$OFF" qr decode --any -o "$T/mix.out" --expect "abcd" "$T"/fr4/*.png >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/mix.out" ] && ok "--expect not an id: exit 2" || bad "--expect bad: exit $rc"
# Neither complete: both named with what they lack, nothing written.
"$OFF" qr decode --any -o "$T/mix.out" "$T/fr4/frame-002.png" "$T/fr/frame-001.png" >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/mix.out" ] && grep -q "none of the 2 messages read is complete" "$T/dec.out" &&
    grep -q "message $(short_digest "$T/two.bin"): 1/2, missing 1" "$T/dec.out" &&
    ok "two incomplete messages: exit 1, both named" || { bad "two incomplete: exit $rc"; cat "$T/dec.out"; }

# A picture that is no QR code, and a file that is no PNG.
$PY -c "from PIL import Image; Image.new('L', (300, 300), 255).save('$T/blank.png')"
echo "not a png" >"$T/notpng.png"
rm -f "$T/x.out"
"$OFF" qr decode --any -o "$T/x.out" "$T/blank.png" "$T/notpng.png" "$T"/fr2/*.png >"$T/dec.out" 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s "$T/one.bin" "$T/x.out" && ok "blank and non-PNG pictures skipped" ||
    bad "blank/non-PNG: exit $rc"
grep -q "blank.png: no QR code found" "$T/dec.out" || bad "blank picture not reported"
grep -q "notpng.png: picture ignored" "$T/dec.out" || bad "non-PNG not reported"

# A file name with terminal escape sequences (a shell glob over a stick
# someone else wrote) is printed with its control characters replaced.
evil=$(printf '%s/x\033]0;owned\007\033[2J.png' "$T")
cp "$T/blank.png" "$evil"
"$OFF" qr decode --any -o "$T/x2.out" "$evil" "$T"/fr2/*.png >"$T/dec.out" 2>&1
if grep -q "x?]0;owned??\[2J.png: no QR code found" "$T/dec.out" && ! LC_ALL=C grep -q "$(printf '\033')" "$T/dec.out"; then
    ok "control characters in file names are not printed"
else
    bad "control characters in a file name reach the terminal"
    od -c "$T/dec.out" | head
fi

# Degraded pictures (made by Pillow, independently of our C helpers) decode at
# the default settings: scaled to half, blurred, noisy, rotated 3 degrees.
rm -rf "$T/deg"
mkdir "$T/deg"
$PY - "$T/fr" "$T/deg" <<'EOF'
import glob, os, random, sys
from PIL import Image, ImageFilter
src, dst = sys.argv[1], sys.argv[2]
rnd = random.Random(7)
for i, p in enumerate(sorted(glob.glob(src + "/*.png"))):
    im = Image.open(p).convert("L")
    kind = i % 4
    if kind == 0:
        im = im.resize((im.width // 2, im.height // 2), Image.BILINEAR)
    elif kind == 1:
        im = im.filter(ImageFilter.GaussianBlur(2))
    elif kind == 2:
        px = im.load()
        for y in range(im.height):
            for x in range(im.width):
                px[x, y] = max(0, min(255, px[x, y] + rnd.randint(-90, 90)))
    else:
        im = im.rotate(3, resample=Image.BILINEAR, fillcolor=255)
    im.save(os.path.join(dst, os.path.basename(p)))
EOF
rm -f "$T/deg.out"
if "$OFF" qr decode --any -o "$T/deg.out" "$T"/deg/*.png >"$T/dec.out" 2>&1 && cmp -s "$T/many.bin" "$T/deg.out"; then
    ok "degraded pictures (half size, blur, noise, 3 degrees) decode"
else
    bad "degraded pictures"
    tail -5 "$T/dec.out"
fi

# There is no GIF any more (qr decode reads PNG only, as libpng does):
# --gif is an unknown option, and a GIF given to decode is named as such.
"$ON" qr encode "$T/many.bin" -o "$T/gifout" --gif "$T/a.gif" >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--gif'" "$T/out" && [ ! -e "$T/a.gif" ] && [ ! -e "$T/gifout" ] &&
    ok "encode --gif: unknown option, exit 2" || bad "encode --gif: exit $rc: $(cat "$T/out")"
$PY -c 'from PIL import Image; Image.new("L", (64, 64), 255).save("'"$T"'/x.gif")'
"$OFF" qr decode --any -o "$T/gif.out" "$T/x.gif" >"$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "x.gif.*PNG" "$T/out" && [ ! -e "$T/gif.out" ] && ok "decode names a GIF as not a PNG" ||
    bad "decode of a GIF: exit $rc: $(cat "$T/out")"

# qr show on a non-terminal prints every part once; the half-block picture,
# turned back into pixels by Python, decodes to the same bundle.
"$ON" qr show "$T/two.bin" >"$T/show.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '^frame ' "$T/show.out")" -eq 2 ] && ok "show prints 2 frames off a terminal" ||
    bad "show: exit $rc"
grep -q "id $(short_digest "$T/two.bin")," "$T/show.out" || bad "show prints the id"
rm -rf "$T/term"
mkdir "$T/term"
$PY - "$T/show.out" "$T/term" <<'EOF'
import re, sys
from PIL import Image
text = open(sys.argv[1], encoding="utf-8").read()
frames = re.split(r"^frame \d+/\d+\n", text, flags=re.M)[1:]
for k, fr in enumerate(frames):
    rows = [re.sub(r"\x1b\[[0-9;]*m", "", l) for l in fr.splitlines() if l.startswith("\x1b[30;107m")]
    w, h = len(rows[0]), 2 * len(rows)
    im = Image.new("L", (w, h), 255)
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            top = ch in "\u2588\u2580"
            bot = ch in "\u2588\u2584"
            if top: im.putpixel((x, 2 * y), 0)
            if bot: im.putpixel((x, 2 * y + 1), 0)
    im.resize((w * 6, h * 6), Image.NEAREST).save("%s/t%d.png" % (sys.argv[2], k))
EOF
rm -f "$T/term.out"
"$OFF" qr decode --any -o "$T/term.out" "$T"/term/*.png >"$T/dec.out" 2>&1 && cmp -s "$T/two.bin" "$T/term.out" &&
    ok "terminal rendering reads back" || { bad "terminal rendering"; tail -3 "$T/dec.out"; }

# qr show on a (pseudo) terminal: animates on the alternate screen, stops at
# a key or at SIGINT, and puts the terminal back (echo on, cursor shown,
# normal screen); a terminal too small is refused with exit 2.
$PY - "$ON" "$T/many.bin" <<'EOF'
import fcntl, os, pty, select, signal, struct, sys, termios, time
prog, bundle = sys.argv[1], sys.argv[2]
def run(cols, rows, stop):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(prog, [prog, "qr", "show", bundle, "--fps", "20"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""
    def drain(secs):
        nonlocal out
        end = time.time() + secs
        while time.time() < end:
            try:
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    out += os.read(fd, 65536)
            except OSError:
                return
    drain(2.5)
    if stop == "key":
        os.write(fd, b"q")
    elif stop == "int":
        os.kill(pid, signal.SIGINT)
    drain(1.5)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out
fails = 0
for stop in ("key", "int"):
    rc, out = run(240, 120, stop)
    frames = out.count(b"\x1b[H")
    start = out.find(b"\x1b[?1049h\x1b[?25l")
    end = out.rfind(b"\x1b[?25h\x1b[?1049l")
    good = rc == 0 and 0 <= start < end and frames >= 10 and b"mixed frame" in out and b"showed " in out
    print(("ok  " if good else "FAIL") + " show on a terminal, stopped by %s: exit %d, %d frames" % (stop, rc, frames))
    fails += not good
# 80x24 holds no QR version at all: say the size needed, suggest no option.
rc, out = run(80, 24, "none")
good = (rc == 2 and b"the terminal is 80x24; qr show needs at least 45x25 (QR version 5, the smallest)" in out
        and b"105x55 for version 20" in out and b"--qr-version" not in out)
print(("ok  " if good else "FAIL") + " show on an 80x24 terminal: exit %d: %r" % (rc, out[-300:]))
fails += not good
# 100x40 holds version 12 (73x39) but not 20: that one is suggested.
rc, out = run(100, 40, "none")
good = rc == 2 and b"the terminal is 100x40; QR version 20 needs 105x55" in out and b"--qr-version 12 (the largest that fits" in out
print(("ok  " if good else "FAIL") + " show on a 100x40 terminal: exit %d: %r" % (rc, out[-300:]))
fails += not good
sys.exit(1 if fails else 0)
EOF
[ $? -eq 0 ] && ok "show on terminals" || bad "show on terminals"

# Refusals: the output exists, is a (dangling) symlink, frames exist.
echo keep >"$T/exists.out"
"$OFF" qr decode --any -o "$T/exists.out" "$T"/fr2/*.png >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && [ "$(cat "$T/exists.out")" = keep ] && ok "existing output not overwritten (exit 2)" ||
    bad "existing output: exit $rc"
ln -s "$T/elsewhere" "$T/link.out"
"$OFF" qr decode --any -o "$T/link.out" "$T"/fr2/*.png >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/elsewhere" ] && ok "symlinked output refused" || bad "symlink output: exit $rc"
"$ON" qr encode "$T/one.bin" -o "$T/fr2" >"$T/enc.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "frame-001.png exists" "$T/enc.out" && ok "existing frames not overwritten" ||
    bad "encode over frames: exit $rc"
"$ON" qr decode --any -o "$T/nope.out" "$T/does-not-exist.png" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok "missing picture file: exit 2" || bad "missing picture: exit $rc"

# Usage errors exit 2; scan without a camera says so and exits 2.
for args in "qr" "qr frob" "qr decode x.png" "qr encode $T/one.bin" "qr show" \
    "qr show $T/one.bin --fps 0" "qr show $T/one.bin --fps 31" "qr encode $T/one.bin -o $T/q --level X" \
    "qr scan" "qr scan -o $T/s.out extra" "qr scan -o $T/s.out --expect 12345" \
    "qr scan -o $T/s.out --expect" "qr encode $T/one.bin -o $T/q --expect abcdabcdabcdabcd"; do
    # shellcheck disable=SC2086
    "$ON" $args >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] && ok "usage: $args" || bad "usage: '$args' exit $rc"
done
"$OFF" qr scan -o "$T/scan.out" --device "$T/video9" >"$T/scan.err" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "no such device" "$T/scan.err" && [ ! -e "$T/scan.out" ] &&
    ok "scan: no such device (exit 2)" || { bad "scan: exit $rc"; cat "$T/scan.err"; }

"$OFF" qr scan -o "$T/scan.out" --device /dev/null >"$T/scan.err" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "cannot use this video device" "$T/scan.err" && [ ! -e "$T/scan.out" ] &&
    ok "scan: a device that is no camera (exit 2)" || { bad "scan /dev/null: exit $rc"; cat "$T/scan.err"; }

# Other QR settings round trip too.
rm -rf "$T/fr3" "$T/v.out"
"$ON" qr encode "$T/many.bin" -o "$T/fr3" --qr-version 10 --level H >"$T/enc.out" 2>&1 &&
    grep -q "QR 10-H" "$T/enc.out" &&
    "$OFF" qr decode --any -o "$T/v.out" "$T"/fr3/*.png >/dev/null 2>&1 && cmp -s "$T/many.bin" "$T/v.out" &&
    ok "version 10-H round trip" || bad "version 10-H"

echo "$fails failure(s)"
[ $fails -eq 0 ]
