#!/usr/bin/python3
"""Independent checks of our v2 descriptors with stem 1.8 and hashlib.

Usage: v2_stem_check.py EMIT_DIR TESTDATA_V2_DIR TEST_BINARY

EMIT_DIR holds what `test_hsv2` wrote in emit mode: backend*.desc (made with
throwaway RSA-1024 keys by our builder and signer), master*.desc (the output
of ofl_hsv2_sign_master for those backends), digestinfo.desc and a manifest.
TEST_BINARY in verify mode (OB_HSV2_VERIFY_FILE) is our verifier.
Exit 0 when every check holds; prints one line per failed check.
"""
import base64
import calendar
import hashlib
import os
import struct
import subprocess
import sys
import time

import stem.descriptor.hidden_service as hs

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def pem_der(block):
    lines = block.strip().split("\n")
    return base64.b64decode("".join(lines[1:-1]))


def expected_ids(desc, tp, replica, cookie=None):
    """descriptor-id and secret-id-part computed from scratch (rend-spec-v2 1.3)."""
    pid = hashlib.sha1(pem_der(desc.permanent_key)).digest()[:10]
    sid = hashlib.sha1(struct.pack(">I", tp) + (cookie or b"") + bytes([replica])).digest()
    did = hashlib.sha1(pid + sid).digest()
    b32 = lambda b: base64.b32encode(b).decode().lower()
    return pid, b32(did), b32(sid)


def time_period(unix, pid):
    return (unix + pid[0] * 86400 // 256) // 86400


def ours(binary, path, cookie=None, period=None):
    env = dict(os.environ, OB_HSV2_VERIFY_FILE=path)
    if period:
        env["OB_HSV2_VERIFY_PERIOD"], env["OB_HSV2_VERIFY_REPLICA"] = period
    if cookie:
        env["OB_HSV2_VERIFY_COOKIE"] = cookie
    r = subprocess.run([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout.decode(errors="replace").strip()


def stem_parse(raw):
    return hs.HiddenServiceDescriptorV2(raw, validate=True)


def intro_key(ip):
    return (ip.identifier, ip.address, ip.port, ip.onion_key.strip(), ip.service_key.strip())


def main():
    emit, v2dir, binary = sys.argv[1:4]
    manifest = [l.split() for l in open(os.path.join(emit, "manifest"))]
    backends = [m for m in manifest if m[0] == "backend"]
    masters = [m for m in manifest if m[0] == "master"]
    check(len(backends) == 3, "3 backends emitted")
    check(len(masters) >= 6, "master descriptors for both replicas emitted")

    # Backends: stem validates them (signature included) and our ids match hashlib.
    backend_intros = set()
    kinds = set()
    for _, name, onion, replica, cookie in backends:
        cookie = None if cookie == "-" else cookie
        raw = open(os.path.join(emit, name), "rb").read()
        d = stem_parse(raw)
        pid, did, sid = expected_ids(d, 0, 0)
        check(base64.b32encode(pid).decode().lower() == onion, name + ": onion address")
        kind = d.introduction_points_content[0]
        kinds.add(kind)
        stealth = kind == 2
        tp = time_period(calendar.timegm(d.published.timetuple()), pid)
        _, did, sid = expected_ids(d, tp, int(replica),
                                   base64.b64decode(cookie) if stealth else None)
        check(d.descriptor_id == did, name + ": descriptor-id (stem vs hashlib)")
        check(d.secret_id_part == sid, name + ": secret-id-part (stem vs hashlib)")
        ips = d.introduction_points(cookie) if cookie else d.introduction_points()
        check(len(ips) == 4, name + ": 4 intro points in stem")
        backend_intros.update(intro_key(ip) for ip in ips)
        rc, out = ours(binary, os.path.join(emit, name), cookie)
        check(rc == 0 and out.endswith("4 intro points"), name + ": ours verifies (" + out + ")")
        if cookie:
            rc, out = ours(binary, os.path.join(emit, name), "AAAAAAAAAAAAAAAAAAAAAA==")
            check(rc == 1, name + ": ours refuses the wrong cookie (" + out + ")")
    check(kinds == {ord("i"), 1, 2}, "backends cover no auth, basic and stealth")

    # Masters: stem validates each; ids from scratch; intro points come from the backends.
    seen = set()
    replicas = set()
    now = int(time.time())
    for _, name, tp, replica, slot in masters:
        raw = open(os.path.join(emit, name), "rb").read()
        d = stem_parse(raw)
        pid, did, sid = expected_ids(d, int(tp), int(replica))
        check(d.descriptor_id == did, name + ": descriptor-id (stem vs hashlib)")
        check(d.secret_id_part == sid, name + ": secret-id-part (stem vs hashlib)")
        check(d.version == 2 and d.protocol_versions == [2, 3], name + ": version fields")
        pub = calendar.timegm(d.published.timetuple())
        check(pub % 3600 == 0 and now - 3 * 86400 <= pub <= now + 86400,
              name + ": publication-time on the hour and inside the HSDir window")
        ips = d.introduction_points()
        check(0 < len(ips) <= 10, name + ": 1..10 intro points")
        for ip in ips:
            check(intro_key(ip) in backend_intros, name + ": intro point %s is a backend's" % ip.identifier)
            seen.add(intro_key(ip))
        replicas.add(int(replica))
        rc, out = ours(binary, os.path.join(emit, name), period=(tp, replica))
        check(rc == 0, name + ": our verifier accepts it (" + out + ")")
    check(replicas == {0, 1}, "master descriptors for both replicas")
    check(seen == backend_intros, "every backend intro point appears in some master descriptor")

    # Tampered master: rejected by stem and by us.
    raw = open(os.path.join(emit, masters[0][1]), "rb").read()
    i = raw.index(b"publication-time ") + len(b"publication-time 20")
    bad = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1:]
    path = os.path.join(emit, "tampered.desc")
    open(path, "wb").write(bad)
    try:
        stem_parse(bad)
        check(False, "stem rejects the tampered descriptor")
    except ValueError:
        pass
    rc, out = ours(binary, path, period=(masters[0][2], masters[0][3]))
    check(rc == 1 and "signature" in out, "our verifier rejects the tampered descriptor (" + out + ")")

    # DigestInfo-style signature over the right digest: rejected by both.
    raw = open(os.path.join(emit, "digestinfo.desc"), "rb").read()
    try:
        stem_parse(raw)
        check(False, "stem rejects the DigestInfo-signed descriptor")
    except ValueError:
        pass
    rc, out = ours(binary, os.path.join(emit, "digestinfo.desc"), period=(masters[0][2], masters[0][3]))
    check(rc == 1 and "35-byte" in out, "our verifier rejects DigestInfo (" + out + ")")

    # The four samples: stem and our verifier agree, cookies decrypt, wrong cookie fails.
    cookie = "dCmx3qIvArbil8A0KM4KgQ=="
    wrong = "aCmx3qIvArbil8A0KM4KgQ=="
    for name, ck in (("hidden_service_duckduckgo", None), ("hidden_service_facebook", None),
                     ("hidden_service_basic_auth", cookie), ("hidden_service_stealth_auth", cookie)):
        raw = open(os.path.join(v2dir, name), "rb").read()
        body = raw[raw.index(b"\n") + 1:]
        path = os.path.join(emit, name)
        open(path, "wb").write(body)
        d = stem_parse(body)
        stem_ips = d.introduction_points(ck) if ck else d.introduction_points()
        rc, out = ours(binary, path, ck)
        check(rc == 0 and out.endswith("%d intro points" % len(stem_ips)),
              name + ": ours verifies and decodes as many intro points as stem (" + out + ")")
        if ck:
            rc, out = ours(binary, path, wrong)
            check(rc == 1 and "rejected" in out, name + ": wrong cookie rejected (" + out + ")")
            try:
                d.introduction_points(wrong)
                check(False, name + ": stem also fails with the wrong cookie")
            except Exception:
                pass

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all v2 interop checks passed (%d masters, %d backend intro points)" % (len(masters), len(backend_intros)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
