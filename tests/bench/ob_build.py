#!/usr/bin/python3
"""OnionBalance's own descriptor building, timed for make bench (docs/performance.rst).

  ob_build.py DESCS_DIR [REPS]

Reads the backend descriptors DESCS_DIR/<address>.desc listed in
DESCS_DIR/instances.txt with OnionBalance's parser (not timed), then times
what OnionBalance does per service and publish round: for the first and the
second descriptor, the blinding parameter and OBDescriptor() (re-certify every
intro point with a fresh signing key, revision counter, stem's builder and
signer).  Prints "onionbalance_ms MEDIAN rev_counter_ms MEDIAN intro_points N":
the CPU time of one service (both descriptors), and the part of it spent in
OnionBalance's revision counter (a Python loop over every second since the
SRV run began, so it grows through the day: up to 48 h of seconds).  Exit 77 when onionbalance (Debian
package onionbalance, 0.2.2) or stem is not installed.
"""
import os
import statistics
import sys
import time

try:
    import logging
    import onionbalance.hs_v3.onionbalance as obmain
    from onionbalance.common import log as ob_log
    from onionbalance.hs_v3 import consensus as ob_consensus
    from onionbalance.hs_v3 import descriptor as ob_descriptor
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
except ImportError as e:
    print('onionbalance not installed: %s' % e)
    sys.exit(77)


class Clock(object):
    """Stands in for the consensus: the SRV run starts at 00:00 UTC (live network)."""

    def __init__(self):
        now = int(time.time())
        self.current = now - now % 86400

    def get_start_time_of_current_srv_run(self):
        return self.current

    def get_start_time_of_previous_srv_run(self):
        return self.current - 86400


def main():
    ob_log.get_logger().setLevel(logging.WARNING)
    descs = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    intros = []
    with open(os.path.join(descs, 'instances.txt')) as f:
        for addr in f.read().split():
            text = open(os.path.join(descs, addr + '.desc')).read()
            got = ob_descriptor.ReceivedDescriptor(text, addr + '.onion')
            intros.extend(got.get_intro_points())
    intros = intros[:20]
    spent = [0.0]
    orig = ob_descriptor.OBDescriptor._get_revision_counter

    def timed(self, *args):
        t = time.process_time()
        try:
            return orig(self, *args)
        finally:
            spent[0] += time.process_time() - t

    ob_descriptor.OBDescriptor._get_revision_counter = timed
    clock = Clock()
    obmain.my_onionbalance.consensus = clock
    # get_blinding_param() needs only the period length (is_testnet False: 1440).
    cons = ob_consensus.Consensus(do_refresh_consensus=False)
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    address = 'bench.onion'
    tp = int(time.time()) // 60 // 1440
    times, revs = [], []
    for _ in range(reps + 1):
        spent[0] = 0.0
        t0 = time.process_time()
        for first in (True, False):
            param = cons.get_blinding_param(pub, tp if first else tp + 1)
            ob_descriptor.OBDescriptor(address, key, param, list(intros), first)
        times.append((time.process_time() - t0) * 1000)
        revs.append(spent[0] * 1000)
    print('onionbalance_ms %.1f rev_counter_ms %.1f intro_points %d' %
          (statistics.median(times[1:]), statistics.median(revs[1:]), len(intros)))


if __name__ == '__main__':
    main()
