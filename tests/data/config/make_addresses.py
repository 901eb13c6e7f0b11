#!/usr/bin/python3
"""Print the v3 onion addresses the config tests and fixtures use.

Each comes from a fixed ed25519 seed (32 bytes of the index), so the list is
reproducible: rend-spec-v3 section 6, base32(pubkey | checksum | 0x03) with
checksum = SHA3-256(".onion checksum" | pubkey | 0x03)[:2].  The last line is
the first address with one checksum character changed (a wrong checksum).
"""
import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def address(pub: bytes) -> str:
    check = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + check + b"\x03").decode().lower()


addrs = []
for i in range(1, 9):
    key = Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    addrs.append(address(pub))
for i, a in enumerate(addrs, 1):
    print(f"A{i} {a}")
bad = addrs[0]
# Characters 52..53 carry the checksum; change one of them.
pos = 52
bad = bad[:pos] + ("a" if bad[pos] != "a" else "b") + bad[pos + 1:]
print(f"BAD {bad}")
