#!/usr/bin/python3
"""Independent check of ob-online's v2 HSDir choice (rend-spec-v2 1.4).

Reads what test_online_v2 wrote with OB_ONLINE_V2_EMIT_DIR=DIR:
  DIR/consensus   the synthetic microdesc consensus the plan used
  DIR/descN       the signed v2 descriptors of the response
  DIR/plan        per descriptor: file, descriptor-id (base32), group_count,
                  group, then the HSDir fingerprints ob-online chose
and recomputes with hashlib alone: descriptor-id = SHA1(permanent-id |
secret-id-part) with permanent-id = SHA1(DER(permanent-key))[:10]; the
relays sorted by identity digest, the first >= descriptor-id, then the
next 3 with the HSDir flag (wrapping); a distinct descriptor (group_count
3) goes only to the group-th of them.  Exit 0 when all agree.
"""
import base64
import hashlib
import sys


def relays(path):
    out = []
    for line in open(path, encoding="ascii"):
        f = line.split()
        if not f:
            continue
        if f[0] == "r":
            ident = base64.b64decode(f[2] + "=" * (-len(f[2]) % 4))
            assert len(ident) == 20
            out.append([ident, False])
        elif f[0] == "s" and out:
            out[-1][1] = "HSDir" in f[1:]
    return out


def desc_id(text):
    lines = text.split("\n")
    assert lines[0].startswith("rendezvous-service-descriptor ")
    i = lines.index("-----BEGIN RSA PUBLIC KEY-----")
    j = lines.index("-----END RSA PUBLIC KEY-----")
    der = base64.b64decode("".join(lines[i + 1:j]))
    pid = hashlib.sha1(der).digest()[:10]
    sid = [l for l in lines if l.startswith("secret-id-part ")][0].split()[1]
    sid = base64.b32decode(sid.upper())
    did = hashlib.sha1(pid + sid).digest()
    assert base64.b32encode(did).decode().lower() == lines[0].split()[1], "descriptor-id line"
    return did


def responsible(rs, did):
    rs = sorted(rs, key=lambda r: r[0])
    start = next((k for k, r in enumerate(rs) if r[0] >= did), 0)
    got = []
    for k in range(len(rs)):
        r = rs[(start + k) % len(rs)]
        if r[1]:
            got.append(r[0].hex().upper())
            if len(got) == 3:
                break
    return got


def main(d):
    rs = relays(d + "/consensus")
    n = 0
    for line in open(d + "/plan", encoding="ascii"):
        f = line.split()
        name, did32, gc, g, fps = f[0], f[1], int(f[2]), int(f[3]), f[4:]
        did = desc_id(open(d + "/" + name, encoding="ascii").read())
        if base64.b32encode(did).decode().lower() != did32:
            sys.exit("%s: descriptor-id %s, ours %s" % (name, did32, base64.b32encode(did)))
        want = responsible(rs, did)
        if gc > 1:
            want = want[g:g + 1]
        if fps != want:
            sys.exit("%s: ob-online chose %s, expected %s" % (name, fps, want))
        n += 1
    if n == 0:
        sys.exit("no plan lines")
    print("v2 HSDir choice agrees for %d descriptors over %d relays" % (n, len(rs)))


if __name__ == "__main__":
    main(sys.argv[1])
