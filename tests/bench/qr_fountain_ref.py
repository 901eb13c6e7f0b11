#!/usr/bin/env python3
"""Independent reference for the QR frame layout and the fountain rule, written
from docs/qr-transfer.rst alone (not from format/transfer/qrframe.c).

  qr_fountain_ref.py BUNDLE CAPACITY SEQ    print SHA-256 of the sender's frame SEQ

tests/unit/test_qrframe.c pins the value this prints for its fixed bundle, so
the C code and the written specification cannot drift apart unnoticed.
"""
import hashlib
import struct
import sys
import zlib


def frames_geometry(bundle, capacity):
    digest = hashlib.sha256(bundle).digest()
    z = zlib.compress(bundle, 9)
    use_zlib = len(bundle) > 0 and len(z) < len(bundle)
    body = z if use_zlib else bundle
    stream = bytes([1 if use_zlib else 0]) + struct.pack(">I", len(bundle)) + digest + body
    per = capacity - 26
    n = -(-len(stream) // per)
    f = -(-len(stream) // n)
    padded = stream + bytes(n * f - len(stream))
    frags = [padded[i * f:(i + 1) * f] for i in range(n)]
    return message_id(bundle, digest), stream, n, f, frags


def message_id(bundle, digest):
    """A payload that ends with the SHA-256 of what precedes it (a bundle) is
    named by that digest; any other by its own SHA-256 (docs/qr-transfer.rst)."""
    if len(bundle) > 32 and hashlib.sha256(bundle[:-32]).digest() == bundle[-32:]:
        return bundle[-32:-24]
    return digest[:8]


def mix_set(msgid, n, length, seq):
    seed = hashlib.sha256(b"OQ fountain v1" + msgid + struct.pack(">HII", n, length, seq)).digest()
    words = []
    j = 0
    while len(words) * 32 < n:
        block = hashlib.sha256(seed + struct.pack(">I", j)).digest()
        words += struct.unpack(">8I", block)
        j += 1
    chosen = [i for i in range(n) if (words[i // 32] >> (31 - i % 32)) & 1]
    return chosen or [seq % n]


def frame(bundle, capacity, seq):
    msgid, stream, n, f, frags = frames_geometry(bundle, capacity)
    if seq < n:
        ftype, data = 1, frags[seq]
    else:
        ftype, data = 2, bytearray(f)
        for i in mix_set(msgid, n, len(stream), seq):
            data = bytearray(a ^ b for a, b in zip(data, frags[i]))
    head = b"OQ" + bytes([1, ftype]) + msgid + struct.pack(">IHI", seq, n, len(stream))
    body = head + bytes(data)
    return body + struct.pack(">I", zlib.crc32(body))


def main():
    bundle = open(sys.argv[1], "rb").read()
    print(hashlib.sha256(frame(bundle, int(sys.argv[2]), int(sys.argv[3]))).hexdigest())


if __name__ == "__main__":
    main()
