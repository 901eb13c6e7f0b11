#!/usr/bin/python3
"""Seeds for the fuzz targets that Python can make from the test data
(tests/fuzz/make_seeds.sh runs it; the input layouts are in each target's
header comment).

  seeds.py ctl DIR          fuzz_ctl: streams and whole sessions (tor's side)
  seeds.py hsdir DIR        fuzz_hsdir: consensuses and microdescriptors
  seeds.py hsv2 DIR         fuzz_hsv2: v2 samples and intro-point plaintexts
  seeds.py hsv3 DIR         fuzz_hsv3_desc: v3 samples, each layer, per mode
  seeds.py layers DIR       fuzz_hsv3_layers: the samples' decrypted layers
  seeds.py cert DIR         fuzz_hsv3_cert: certificates, binary and PEM
  seeds.py config DIR       fuzz_config: one small config per rule
  seeds.py keys DIR         fuzz_keys: PEM keys (cryptography, openssl)
  seeds.py clog DIR         fuzz_clog: a log naming the target's digest

Everything but the keys is deterministic.  Reads $OB_TESTDATA (default
tests/data/vectors) and tests/data.
"""
import base64
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VEC = os.environ.get("OB_TESTDATA", os.path.join(ROOT, "tests", "data", "vectors"))


def read(*path):
    with open(os.path.join(*path), "rb") as f:
        return f.read()


def write(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def v2_sample(name):
    text = read(VEC, "v2", name)
    assert text.startswith(b"@type ")
    return text[text.index(b"\n") + 1:]


def dot_encode(text):
    out = []
    for line in text.decode().rstrip("\n").split("\n"):
        out.append(("." + line if line.startswith(".") else line) + "\r\n")
    return "".join(out) + ".\r\n"


def b64(b, pad=False):
    s = base64.b64encode(b).decode()
    return s if pad else s.rstrip("=")


# ---- the control port ----

HSDIR = "$9695DFC35FFEB861329B9F1AB04C46397020CE31~hsdir1"
V3 = "pg2vmlup4zkpsqdywejorkmlu6ib7bj242k35v7a4oiqxlieszspudyd"


def consensus(seed, mode):
    """hsdir_ring.py's synthetic consensus and microdescriptors."""
    with tempfile.TemporaryDirectory() as t:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "unit", "hsdir_ring.py"),
                        str(seed), mode, t], check=True)
        doc = read(t, "consensus")
        mds = {}
        for fp in sorted(os.listdir(os.path.join(t, "md"))):
            mds[fp] = read(t, "md", fp)
    return doc, mds


def events_v3():
    desc = read(VEC, "v3", "hidden_service_v3")
    return ("650 HS_DESC REQUESTED %s NO_AUTH %s AAAA\r\n" % (V3, HSDIR) +
            "650 HS_DESC RECEIVED %s NO_AUTH %s AAAA\r\n" % (V3, HSDIR) +
            "650+HS_DESC_CONTENT %s AAAA %s\r\n" % (V3, HSDIR) + dot_encode(desc) + "650 OK\r\n" +
            "650 HS_DESC FAILED %s NO_AUTH %s AAAA REASON=NOT_FOUND\r\n" % (V3, HSDIR) +
            "650 HS_DESC UPLOAD %s UNKNOWN %s AAAA HSDIR_INDEX=%s\r\n" % (V3, HSDIR, "AB" * 32) +
            "650 HS_DESC UPLOADED %s UNKNOWN %s\r\n" % (V3, HSDIR) +
            "650 HS_DESC FAILED %s UNKNOWN %s REASON=UPLOAD_REJECTED\r\n" % (V3, HSDIR) +
            "650 HS_DESC_CONTENT %s AAAA %s\r\n" % (V3, HSDIR) +
            "650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n")


def session(method, cons, mds):
    auth = {0: "NULL", 1: "HASHEDPASSWORD", 2: "COOKIE,SAFECOOKIE", 3: "COOKIE,SAFECOOKIE"}[method]
    s = ("250-PROTOCOLINFO 1\r\n"
         "250-AUTH METHODS=%s COOKIEFILE=\"/var/lib/tor/control_auth_cookie\"\r\n"
         "250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n" % auth)
    if method == 3:
        s += ("250 AUTHCHALLENGE SERVERHASH=%s SERVERNONCE=%s\r\n" % ("8B" * 32, "80" * 32))
    else:
        s += "250 OK\r\n"
    s += "250-version=0.4.9.11\r\n250 OK\r\n"          # GETINFO version
    s += "250 OK\r\n"                                   # SETEVENTS
    s += "250 OK\r\n650 HS_DESC REQUESTED %s NO_AUTH %s AAAA\r\n" % (V3, HSDIR)  # HSFETCH
    s += "250 OK\r\n"                                   # HSPOST
    s += "250 TestingTorNetwork=1\r\n"                  # GETCONF
    s += ("250+dir/status-vote/current/consensus-microdesc=\r\n" + dot_encode(cons) +
          "250 OK\r\n")
    s += "".join("250+md/id/%s=\r\n%s" % (fp, dot_encode(md)) for fp, md in mds.items())
    s += "250 OK\r\n"
    return s + events_v3()


def gen_ctl(d):
    live = read(VEC, "control", "live_transcript_tor_0.4.9.11.txt").decode()
    # The server's side of the recorded session, as tor sent it.
    server, on = [], False
    for line in live.split("\n"):
        if line.startswith("S: "):
            on, line = True, line[3:]
        elif line.startswith("C: ") or line.startswith("#"):
            on = False
            continue
        if on and line.strip().endswith("\\r\\n"):
            server.append(line.strip()[:-4] + "\r\n")
    write(d, "stream-live", b"\x00" + "".join(server).encode())
    for name in ("hsfetch_v2.recv", "hspost_v2.recv"):
        write(d, "stream-" + name.split(".")[0], b"\x00" + read(ROOT, "tests", "data", "v2-control", name))
    write(d, "stream-events", b"\x00" + events_v3().encode())
    cons, mds = consensus(7, "testing")
    for m in range(4):
        write(d, "session-%d" % m, bytes([1 | m << 1]) + session(m, cons, mds).encode())
    # tor refusing: no consensus, an unknown relay in a batch of microdescriptors
    write(d, "session-refusals", b"\x01" + (
        "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250 OK\r\n250 OK\r\n"
        "552 Unrecognized key \"version\"\r\n250 OK\r\n"
        "513 Invalid argument\r\n554 Invalid descriptor\r\n"
        "552 Unrecognized configuration key\r\n551 Not found\r\n").encode())


def gen_hsdir(d):
    for seed, mode, first in ((3, "live", 1), (7, "testing", 0), (11, "testing", 2), (12, "live", 1)):
        cons, mds = consensus(seed, mode)
        md = next(iter(mds.values()), b"")
        write(d, "consensus-%d-%s" % (seed, mode), bytes([first]) + cons + md)


# ---- descriptors ----

def gen_hsv2(d):
    for name in ("hidden_service_duckduckgo", "hidden_service_facebook",
                 "hidden_service_basic_auth", "hidden_service_stealth_auth"):
        write(d, name, v2_sample(name))
        pt = os.path.join(VEC, "v2", name + ".expected_intro_points_plaintext")
        if os.path.exists(pt):
            write(d, name + ".intro", read(pt))


V3_FILES = ("hidden_service_v3", "known_key_v3_descriptor")


def gen_hsv3(d):
    for name in V3_FILES:
        write(d, "0-" + name, b"\x00" + read(VEC, "v3", name))
        write(d, "1-" + name, b"\x01" + read(VEC, "v3", name))
        write(d, "2-" + name, b"\x02" + read(VEC, "v3", name + ".expected_superencrypted_plaintext"))
        write(d, "3-" + name, b"\x03" + read(VEC, "v3", name + ".expected_encrypted_plaintext"))
    write(d, "1-outer", b"\x01" + read(VEC, "v3", "hidden_service_v3_outer_layer"))
    write(d, "3-inner", b"\x03" + read(VEC, "v3", "hidden_service_v3_inner_layer"))
    write(d, "3-intro", b"\x03create2-formats 2\n" + read(VEC, "v3", "hidden_service_v3_intro_point"))


def gen_layers(d):
    """The samples' layers, re-encrypted by the target for its own keys."""
    for name in V3_FILES:
        mid = read(VEC, "v3", name + ".expected_superencrypted_plaintext")
        inner = read(VEC, "v3", name + ".expected_encrypted_plaintext")
        at = mid.find(b"encrypted\n-----BEGIN MESSAGE-----")
        tmpl = (mid[:at] + b"@ENC") if at >= 0 else mid
        tmpl = tmpl.rstrip(b"\0")
        write(d, "sample-" + name, b"\x00" + struct.pack(">H", len(tmpl)) + tmpl + inner)


PEM_CERT = re.compile(rb"-----BEGIN ED25519 CERT-----\n(.*?)-----END ED25519 CERT-----\n", re.S)


def gen_cert(d):
    seen, k = set(), 0
    for name in V3_FILES:
        for f in (name, name + ".expected_encrypted_plaintext"):
            for m in PEM_CERT.finditer(read(VEC, "v3", f)):
                der = base64.b64decode(m.group(1))
                if der in seen:
                    continue
                seen.add(der)
                write(d, "cert%02d.bin" % k, der)
                if k < 3:
                    write(d, "cert%02d.pem" % k, m.group(0))
                k += 1


# ---- config ----

CONFIGS = {
    "minimal-online": "services:\n- address: {m}\n  instances:\n  - address: {a}\n",
    "minimal-offline": "services:\n  - key: master.key\n    instances:\n      - address: {a}.onion\n",
    "globals": ("REFRESH_INTERVAL: 600\nPUBLISH_CHECK_INTERVAL: 300\nINITIAL_DELAY: 45\n"
                "DESCRIPTOR_VALIDITY_PERIOD: 86400\nDESCRIPTOR_OVERLAP_PERIOD: 3600\n"
                "DESCRIPTOR_UPLOAD_PERIOD: 3600\nDISTINCT_DESCRIPTORS: true\nREPLICAS: 2\n"
                "HSDIR_SET: 3\nMAX_INTRO_POINTS: 10\nSTATUS_SOCKET_LOCATION: /run/ob/control\n"
                "TOR_CONTROL_SOCKET: /run/tor/control\nTOR_ADDRESS: 127.0.0.1\nTOR_PORT: 9051\n"
                "TOR_CONTROL_PASSWORD: \"s3cret\"\nLOG_LEVEL: warning\nLOG_LOCATION: /var/log/ob\n"
                "time_period_length: 1440\ndescriptor_lifetime: 180\npresign_window: 1440\n"
                "ceremony_log: ceremony.log\ninbox: in\noutbox: out\nmax_clock_skew: 900\n"
                "services:\n- address: {m}\n  version: 3\n  descriptor_lifetime: 30\n"
                "  presign_window: 60\n  instances:\n  - address: {a}\n    name: node1\n"
                "    client_auth_key: keys/node1.auth\n"),
    "v2": ("services:\n- key: private_key\n  instances:\n  - address: {v2}.onion\n"
           "    auth_cookie: dCmx3qIvArbil8A0KM4KgQ==\n"),
    "flow": ("services: [{{address: {m}, instances: [{{address: {a}, name: 'n 1'}}]}}]\n"),
    "unknown-keys": ("Services_typo: 1\nservices:\n- address: {m}\n  colour: blue\n  instances:\n"
                     "  - address: {a}\n    Name: x\n"),
    "null-values": "TOR_PORT:\nLOG_LEVEL: ~\nservices:\n- address: {m}\n  version: null\n  instances:\n  - address: {a}\n",
    "anchor": "x: &a 1\ny: *a\nservices:\n- address: {m}\n  instances:\n  - address: {a}\n",
    "tag": "TOR_PORT: !!str 9051\nservices:\n- address: {m}\n  instances:\n  - address: {a}\n",
    "two-docs": "services:\n- address: {m}\n  instances:\n  - address: {a}\n---\nservices: []\n",
    "duplicate": "services:\n- address: {m}\n  instances:\n  - address: {a}\n  - address: {a}\n",
    "nested": "services:\n- address: {m}\n  instances: " + "[" * 40 + "]" * 40 + "\n",
    "block-scalars": "services:\n- address: >-\n    {m}\n  instances:\n  - address: |\n      {a}\n",
    "bad-number": "TOR_PORT: 0x1f\nREPLICAS: 6e2\nservices:\n- address: {m}\n  instances:\n  - address: {a}\n",
}


def gen_config(d):
    m = "qe4xodvipulv6vvdkrtmgtd6ztfy3curwtxdpis56yhvxd6jwokbr4qd"
    a = "5vesrrri2hbmn2xjam4jawmvmeuvsjz2lrr7snrwyfdbjlehg7iuvmyd"
    for name, text in CONFIGS.items():
        write(d, name + ".yaml", text.format(m=m, a=a, v2="facebookcorewwwi"))
    for f in sorted(os.listdir(os.path.join(ROOT, "tests", "data", "config"))):
        if f.endswith(".yaml"):
            write(d, "data-" + f, read(ROOT, "tests", "data", "config", f))


# ---- keys (fuzz_keys: mode byte, then the file) ----

def gen_keys(d):
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    write(d, "pem-ed25519", b"\x00" + ed.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                                       ser.NoEncryption()))
    rk = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    write(d, "pem-rsa-traditional", b"\x00" + rk.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()))
    write(d, "pem-rsa-pkcs8", b"\x00" + rk.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    write(d, "pem-rsa-2048", b"\x00" + rsa.generate_private_key(65537, 2048).private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    trad = rk.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL,
                            ser.NoEncryption())
    pw = "pass:correct horse battery staple"
    with tempfile.TemporaryDirectory() as t:
        src = os.path.join(t, "k.pem")
        write(t, "k.pem", trad)
        # Proc-Type: 4,ENCRYPTED (one MD5 round: cheap to fuzz)
        out = subprocess.run(["openssl", "rsa", "-in", src, "-aes128", "-traditional",
                              "-passout", pw], check=True, capture_output=True).stdout
        write(d, "pem-rsa-proctype", b"\x00" + out)
        write(d, "pem-rsa-proctype-wrongpass", b"\x08" + out)
        # PKCS#8 encrypted with PBKDF2 of one iteration (the fuzzer may raise it)
        out = subprocess.run(["openssl", "pkcs8", "-topk8", "-in", src, "-v2", "aes-256-cbc",
                              "-iter", "1", "-passout", pw], check=True,
                             capture_output=True).stdout
        write(d, "pem-rsa-pkcs8-pbkdf2", b"\x00" + out)
    # HiddenServiceDirs with every file: v3 (tor's expanded key), v2 (the RSA key)
    import hashlib
    h = bytearray(hashlib.sha512(bytes(range(32))).digest())
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    pk = ed.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    ver = b"\x03"
    chk = hashlib.sha3_256(b".onion checksum" + pk + ver).digest()[:2]
    host = base64.b32encode(pk + chk + ver).decode().lower() + ".onion\n"
    sec = b"== ed25519v1-secret: type0 ==\0\0\0" + bytes(h)
    pub = b"== ed25519v1-public: type0 ==\0\0\0" + pk
    write(d, "tor-dir-v3", b"\x02" + struct.pack(">H", len(sec)) + sec + struct.pack(">H", len(pub)) +
          pub + host.encode())
    der = rk.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.PKCS1)
    host2 = base64.b32encode(hashlib.sha1(der).digest()[:10]).decode().lower() + ".onion\n"
    write(d, "tor-dir-v2", b"\x03" + struct.pack(">H", len(trad)) + trad + host2.encode())
    # client authorization keys
    sk = bytes(range(32, 64))
    write(d, "client-b64", b"\x04" + b64(sk, True).encode() + b"\n")
    b32 = base64.b32encode(sk).decode().rstrip("=")
    write(d, "client-auth-private", b"\x04" + ("%s:descriptor:x25519:%s\n" % (V3, b32)).encode())


def gen_clog(d):
    digest = bytes(range(32)).hex()
    write(d, "names-digest", "ceremony 2026-11-22T03:41:07Z ob-offline 0.1.0\nrequest %s\n"
          "response %s\nservice %s v3 periods 20778,20779 descriptors 2 instances 10 ok 0 "
          "missing 0 stale\nend\n" % (digest, "ab" * 32, V3))
    write(d, "damaged", "ceremony 2026-11-22T03:41:07Z ob-offline 0.1.0\nrequest 12\nend\n")


def main():
    what, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    random.seed(1)
    globals()["gen_" + what](d)


if __name__ == "__main__":
    main()
