"""Check a ceremony's master descriptors with stem, independently of our code.

usage: ceremony_stem_check.py v3|v2 MASTER DESCS_DIR EXTRACT_DIR WANT_INTROS

DESCS_DIR holds the backends' descriptors (<address>.desc, instances.txt);
EXTRACT_DIR the master descriptors `ob-online inspect --extract` wrote.
v3: stem validates each master descriptor (signature), decrypts both layers
with the master address, and finds WANT_INTROS intro points, each one a
backend's (same auth key, onion key and link specifiers as stem decrypted
from that backend), and every backend intro point in some descriptor.
v2: stem validates each (signature, descriptor id) and parses the intro
points, each one a backend's.
"""
import os
import sys

from stem.descriptor.hidden_service import (HiddenServiceDescriptorV2,
                                            HiddenServiceDescriptorV3)


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def v3_key(ip):
    return (ip.auth_key_cert.key, ip.onion_key_raw, ip.enc_key_raw,
            tuple(ls.pack() for ls in ip.link_specifiers))


def check_v3(master, descs, extract, want):
    backend = set()
    for addr in open(os.path.join(descs, 'instances.txt')).read().split():
        text = open(os.path.join(descs, addr + '.desc')).read()
        d = HiddenServiceDescriptorV3.from_str(text, validate=True)
        for ip in d.decrypt(addr).introduction_points:
            backend.add(v3_key(ip))
    files = sorted(f for f in os.listdir(extract) if f.endswith('.desc'))
    if not files:
        fail('no master descriptors extracted')
    covered = set()
    revisions = {}
    for f in files:
        if not f.startswith(master + '-'):
            fail('%s: not named for the master %s' % (f, master))
        d = HiddenServiceDescriptorV3.from_str(open(os.path.join(extract, f)).read(),
                                               validate=True)
        base, _, rev = f[:-len('.desc')].partition('-r')
        revisions.setdefault(base, {})[int(rev or 0)] = d.revision_counter
        ips = d.decrypt(master).introduction_points
        if len(ips) != want:
            fail('%s: %d intro points, want %d' % (f, len(ips), want))
        for ip in ips:
            k = v3_key(ip)
            if k not in backend:
                fail('%s: an intro point is not among the backends\'' % f)
            covered.add(k)
    if covered != backend:
        fail('%d of %d backend intro points are in no master descriptor' %
             (len(backend - covered), len(backend)))
    # Revisions of one descriptor (<name>-r<i>.desc): numbered 1..n without
    # holes, and their counters strictly increase from the descriptor's own.
    for base, revs in sorted(revisions.items()):
        if sorted(revs) != list(range(len(revs))):
            fail('%s: revisions %s, expected 0..%d' % (base, sorted(revs), len(revs) - 1))
        counters = [revs[i] for i in range(len(revs))]
        if any(b <= a for a, b in zip(counters, counters[1:])):
            fail('%s: revision counters do not strictly increase: %s' % (base, counters))
    print('stem: %d v3 master descriptors valid (%d descriptors, %d further revisions with '
          'increasing counters), %d intro points each, all %d backend intro points covered'
          % (len(files), len(revisions), len(files) - len(revisions), want, len(backend)))


def check_v2(master, descs, extract, want):
    backend = set()
    for addr in open(os.path.join(descs, 'instances.txt')).read().split():
        d = HiddenServiceDescriptorV2(open(os.path.join(descs, addr + '.desc'), 'rb').read(),
                                      validate=True)
        for ip in d.introduction_points():
            backend.add((ip.identifier, ip.address, ip.port))
    files = sorted(f for f in os.listdir(extract) if f.endswith('.desc'))
    if not files:
        fail('no master descriptors extracted')
    for f in files:
        raw = open(os.path.join(extract, f), 'rb').read()
        d = HiddenServiceDescriptorV2(raw, validate=True)
        ips = d.introduction_points()
        if len(ips) != want:
            fail('%s: %d intro points, want %d' % (f, len(ips), want))
        for ip in ips:
            if (ip.identifier, ip.address, ip.port) not in backend:
                fail('%s: an intro point is not among the backends\'' % f)
    print('stem: %d v2 master descriptors valid, %d intro points each' % (len(files), want))


def main():
    kind, master, descs, extract, want = sys.argv[1:6]
    (check_v3 if kind == 'v3' else check_v2)(master, descs, extract, int(want))


if __name__ == '__main__':
    main()
