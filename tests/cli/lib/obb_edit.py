#!/usr/bin/env python3
"""obb_edit.py - craft hostile bundles for the CLI tests (docs/bundle-format.rst).

    obb_edit.py IN OUT EDIT...

reads the bundle IN (any kind), applies every EDIT in order, recomputes every
record length, body_len and the digest, and writes OUT.  Written from the
format's documentation, independently of format/bundle/bundle.c, so a test can
make a bundle the project's own writer would refuse to make.

EDIT:
  TAG=N          set the unsigned value of every field TAG (hex, e.g. 0x8401)
                 to N, keeping the field's width
  TAG#K=N        only the K-th (0-based, in file order) field TAG
  TAG=text:S     replace the value of every field TAG with the bytes of S
  TAG#K=text:S   the same for the K-th
  del:TAG#K      remove the K-th field TAG (del:TAG removes every one)
  add:REC#K:TAG=text:S
                 append field TAG (text) to the K-th record REC (e.g. a
                 request's origin: add:0x0000#0:0x0102=text:x for the top)
Numbers may be decimal, hex (0x...) or 2^E[-D] / 2^E[+D].
"""
import hashlib
import struct
import sys

MAGIC = b"\x89OBB\r\n\x1a\n"
RECORDS = {0x8103, 0x8104, 0x8303, 0x8304, 0x8604}


def parse(body):
    out, off = [], 0
    while off < len(body):
        tag, n = struct.unpack(">HI", body[off:off + 6])
        val = body[off + 6:off + 6 + n]
        if len(val) != n:
            sys.exit("obb_edit: truncated field 0x%04x at %d" % (tag, off))
        out.append([tag, parse(val) if tag in RECORDS else val])
        off += 6 + n
    return out


def encode(fields):
    b = b""
    for tag, val in fields:
        v = encode(val) if isinstance(val, list) else val
        b += struct.pack(">HI", tag, len(v)) + v
    return b


def walk(fields, tag, found):
    for f in fields:
        if f[0] == tag:
            found.append((fields, f))
        if isinstance(f[1], list):
            walk(f[1], tag, found)


def number(s):
    if s.startswith("2^"):
        for sign in "+-":
            if sign in s[2:]:
                e, dlt = s[2:].split(sign)
                return (1 << int(e)) + (int(dlt) if sign == "+" else -int(dlt))
        return 1 << int(s[2:])
    return int(s, 0)


def select(tree, spec):
    tag, _, k = spec.partition("#")
    found = []
    if int(tag, 16) == 0:
        return [(None, [0, tree])]
    walk(tree, int(tag, 16), found)
    if k != "":
        if int(k) >= len(found):
            sys.exit("obb_edit: no field %s#%s" % (tag, k))
        found = [found[int(k)]]
    if not found:
        sys.exit("obb_edit: no field %s" % tag)
    return found


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data = open(sys.argv[1], "rb").read()
    if data[:8] != MAGIC:
        sys.exit("obb_edit: not a bundle")
    body_len = struct.unpack(">I", data[12:16])[0]
    tree = parse(data[16:16 + body_len])
    for e in sys.argv[3:]:
        if e.startswith("del:"):
            for parent, f in select(tree, e[4:]):
                parent.remove(f)
        elif e.startswith("add:"):
            rec, _, rest = e[4:].partition(":")
            tag, _, val = rest.partition("=text:")
            for _, f in select(tree, rec):
                f[1].append([int(tag, 16), val.encode()])
        else:
            spec, _, val = e.partition("=")
            for _, f in select(tree, spec):
                if val.startswith("text:"):
                    f[1] = val[5:].encode()
                else:
                    w = len(f[1])
                    f[1] = number(val).to_bytes(w, "big")
    body = encode(tree)
    head = data[:12] + struct.pack(">I", len(body))
    out = head + body
    open(sys.argv[2], "wb").write(out + hashlib.sha256(out).digest())


if __name__ == "__main__":
    main()
