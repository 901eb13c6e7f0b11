#!/usr/bin/env python3
"""Independent reference for online/hsdir.c (used by tests/unit/test_hsdir.c).

Writes a synthetic microdesc consensus, microdescriptors and the HSDirs tor
would upload a blinded key's two descriptors to, computed here from
rend-spec-v3 2.2 and tor's hs_common.c rules with hashlib only:

  usage: hsdir_ring.py SEED live|testing OUTDIR

OUTDIR/consensus      network-status-version 3 microdesc ... directory-footer
OUTDIR/md/<HEXFP>     one microdescriptor per relay that has one
OUTDIR/expected       key = value lines (see the end of main())
"""
import base64
import bisect
import datetime
import hashlib
import os
import random
import sys


def sha3(*parts):
    return hashlib.sha3_256(b"".join(parts)).digest()


def int8(x):
    return x.to_bytes(8, "big")


def b64(b, pad=False):
    s = base64.b64encode(b).decode()
    return s if pad else s.rstrip("=")


def isotime(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def main():
    seed, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rnd = random.Random(seed)
    testing = mode == "testing"
    vi = rnd.choice([10, 20, 30, 300]) if testing else 3600
    # a valid-after on the voting schedule, somewhere in 2020..2030
    va = rnd.randrange(1577836800, 1893456000)
    va -= va % vi
    fu, vu = va + vi, va + 3 * vi

    params = {}
    if rnd.random() < 0.7:
        params["hsdir_n_replicas"] = rnd.choice([1, 2, 3, 0, 40])  # 0 and 40 get clamped
    if rnd.random() < 0.7:
        params["hsdir_spread_store"] = rnd.choice([1, 3, 4, 6, 200])
    if rnd.random() < 0.5:
        params["hsdir_interval"] = rnd.choice([60, 720, 1440, 10, 20000])  # ignored if testing
    params["CircuitPriorityHalflifeMsec"] = 30000
    replicas = min(max(params.get("hsdir_n_replicas", 2), 1), 16)
    spread = min(max(params.get("hsdir_spread_store", 4), 1), 128)

    offset = (12 * vi) // 60
    length = (24 * vi) // 60 if testing else min(max(params.get("hsdir_interval", 1440), 30), 14400)

    srv_prev = rnd.randbytes(32) if rnd.random() < 0.8 else None
    srv_cur = rnd.randbytes(32) if rnd.random() < 0.8 else None

    n = rnd.randrange(3, 60)
    relays = []
    for i in range(n):
        r = {
            "nick": "relay%d" % i,
            "id": rnd.randbytes(20),
            "ed": rnd.randbytes(32),
            "hsdir_flag": rnd.random() < 0.8,
            "proto": rnd.choice(["HSDir=2", "HSDir=1-2", "HSDir=1", "HSDir=2,4", "HSDir=1,3-5", None]),
            "has_md": rnd.random() < 0.9,
            "md_has_ed": rnd.random() < 0.95,
        }
        relays.append(r)

    lines = ["network-status-version 3 microdesc", "vote-status consensus", "consensus-method 33",
             "valid-after " + isotime(va), "fresh-until " + isotime(fu), "valid-until " + isotime(vu),
             "voting-delay 4 4", "known-flags Exit Fast Guard HSDir Running Stable V2Dir Valid",
             "params " + " ".join("%s=%d" % kv for kv in sorted(params.items()))]
    if srv_prev:
        lines.append("shared-rand-previous-value 9 " + b64(srv_prev, True))
    if srv_cur:
        lines.append("shared-rand-current-value 9 " + b64(srv_cur, True))
    lines.append("dir-source a0 0000000000000000000000000000000000000000 127.0.0.1 127.0.0.1 7000 5000")
    os.makedirs(os.path.join(out, "md"), exist_ok=True)
    for r in relays:
        lines.append("r %s %s %s 127.0.0.1 5000 0" % (r["nick"], b64(r["id"]), isotime(va - 600)))
        lines.append("m " + b64(rnd.randbytes(32)))
        flags = ["Fast", "Running", "Valid"] + (["HSDir"] if r["hsdir_flag"] else [])
        lines.append("s " + " ".join(sorted(flags)))
        lines.append("v Tor 0.4.9.11")
        if r["proto"]:
            lines.append("pr Cons=1-2 Desc=1-2 DirCache=2 %s HSIntro=4-5 Link=1-5 Relay=1-4" % r["proto"])
        lines.append("w Bandwidth=20")
        if r["has_md"]:
            md = "onion-key\nntor-onion-key %s\nfamily $%s\n" % (b64(rnd.randbytes(32), True), r["id"].hex().upper())
            if r["md_has_ed"]:
                md += "id ed25519 %s\n" % b64(r["ed"])
            with open(os.path.join(out, "md", r["id"].hex().upper()), "w") as f:
                f.write(md)
    lines += ["directory-footer", "bandwidth-weights Wbd=0", "directory-signature sha256 AA BB",
              "-----BEGIN SIGNATURE-----", "AAAA", "-----END SIGNATURE-----"]
    with open(os.path.join(out, "consensus"), "w") as f:
        f.write("\n".join(lines) + "\n")

    def proto_ok(p):
        if not p:
            return False
        for part in p.split("=")[1].split(","):
            lo, _, hi = part.partition("-")
            if int(lo) <= 2 <= int(hi or lo):
                return True
        return False

    ring_nodes = [r for r in relays if r["hsdir_flag"] and proto_ok(r["proto"]) and r["has_md"] and r["md_has_ed"]]

    # tor: hs_get_time_period_num, hs_in_period_between_tp_and_srv
    def tp_num(t):
        return (t // 60 - offset) // length

    tp = tp_num(va)
    run = 24 * vi
    srv_start = va - ((va // vi) % 24) * vi
    next_tp_start = ((tp_num(srv_start) + 1) * length + offset) * 60
    between_srv_and_tp = srv_start <= va < next_tp_start
    if between_srv_and_tp:
        slots = [(tp, False), (tp + 1, True)]
    else:
        slots = [(tp - 1, False), (tp, True)]
    del run

    blinded = rnd.randbytes(32)
    exp = ["blinded = " + blinded.hex(), "testing = %d" % testing, "length = %d" % length,
           "offset = %d" % offset, "tp = %d" % tp, "replicas = %d" % replicas, "spread = %d" % spread,
           "ring = %d" % len(ring_nodes)]
    for k, (stp, use_cur) in enumerate(slots):
        srv = srv_cur if use_cur else srv_prev
        if srv is None:
            srv = sha3(b"shared-random-disaster", int8(length), int8(stp))
        ring = sorted((sha3(b"node-idx", r["ed"], srv, int8(stp), int8(length)), r["id"].hex().upper())
                      for r in ring_nodes)
        keys = [x[0] for x in ring]
        chosen = []
        for replica in range(1, replicas + 1):
            hs_index = sha3(b"store-at-idx", blinded, int8(replica), int8(length), int8(stp))
            start = bisect.bisect_left(keys, hs_index)
            if start == len(ring):
                start = 0
            i, added = start, 0
            while added < spread and ring:
                if ring[i][1] not in chosen:
                    chosen.append(ring[i][1])
                    added += 1
                i = (i + 1) % len(ring)
                if i == start:
                    break
        exp.append("slot%d = %d %s %s %s" % (k, stp, int(use_cur), srv.hex(), ",".join(chosen) or "-"))
    with open(os.path.join(out, "expected"), "w") as f:
        f.write("\n".join(exp) + "\n")


if __name__ == "__main__":
    main()
