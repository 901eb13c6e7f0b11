#!/usr/bin/python3
"""stem's side of tests/interop/test_v3_stem.sh (run with /usr/bin/python3, which has stem).

  v3_stem.py gen DIR    make backend descriptors with stem's builder (10 backends x 3 intro
                        points, current time period) plus tampered ones, and DIR/backends.txt
                        ("<file> <address> <tp>") for our verifier; DIR/expect.txt says what
                        our verifier must answer for each file.
  v3_stem.py check DIR  after test_hsv3_build ran in interop mode: our verdicts equal
                        expect.txt; every master descriptor we signed parses, signature-checks
                        and decrypts with stem, its certificates verify, its blinded key is the
                        master address's for the period, it holds 20 intro points, all of them
                        the backends' (compared by auth key), and together they cover all 30;
                        a flipped signature byte is refused by stem.

  v3_stem.py tor DIR    start the installed tor (DisableNetwork, control port on 127.0.0.1
                        only) and HSPOST every master descriptor: tor's own parser must accept
                        each (250), and refuse one with a flipped signature byte (554).  tor
                        checks the outer layer here: certificate, expiry, signature, size.

  v3_stem.py fresh DIR  write DIR/fresh.desc, a descriptor stem builds now for the current
                        period (its certificate valid for 54 hours), and its address in
                        DIR/fresh.addr.  A recorded descriptor cannot serve: its certificate
                        expires (known_key_v3_descriptor's did on 2026-11-24).

Exit status: 0 pass, 1 fail, 77 when stem or cryptography (or, for "tor", tor) is missing.
"""
import base64
import datetime
import hashlib
import os
import sys
import time

try:
    import stem.client.datatype as dt
    from stem.descriptor.hidden_service import (HiddenServiceDescriptorV3, InnerLayer,
                                                IntroductionPointV3, _blinded_pubkey,
                                                _blinded_sign)
    from stem.descriptor.certificate import (CertType, Ed25519CertificateV1, Ed25519Extension,
                                             ExtensionType)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                   Ed25519PublicKey)
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives import serialization
except ImportError as e:
    print('stem or cryptography missing: %s' % e)
    sys.exit(77)

BSTR = (b'(15112221349535400772501151409588531511454012693041857206046113283949847762202, '
        b'46316835694926478169428394003475163141307993866256225615783033603165251855960)')
PERIOD = 1440
N_BACKENDS, N_INTROS = 10, 3


def raw_pub(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def blinding_param(pub, tp):
    """rend-spec-v3 A.2: h before clamping (stem clamps it itself)."""
    return hashlib.sha3_256(b'Derive temporary signing key\x00' + pub + BSTR + b'key-blind' +
                            tp.to_bytes(8, 'big') + PERIOD.to_bytes(8, 'big')).digest()


def current_tp():
    return (int(time.time()) // 60 - 720) // PERIOD


def backend(tp, expired=False):
    identity = Ed25519PrivateKey.generate()
    signing = Ed25519PrivateKey.generate()
    nonce = blinding_param(raw_pub(identity), tp)
    exp = datetime.datetime.utcnow() + datetime.timedelta(hours=54)
    intros = []
    for i in range(N_INTROS):
        specs = [dt.LinkByIPv4('192.0.2.%d' % (i + 1), 9001),
                 dt.LinkByFingerprint(os.urandom(20)), dt.LinkByEd25519(os.urandom(32))]
        intros.append(IntroductionPointV3.create_for_link_specifiers(
            specs, expiration=exp, onion_key=X25519PrivateKey.generate(),
            enc_key=X25519PrivateKey.generate(), auth_key=Ed25519PrivateKey.generate(),
            signing_key=signing))
    signing_cert = None
    if expired:
        blinded = _blinded_pubkey(identity, nonce)
        signing_cert = Ed25519CertificateV1(
            cert_type=CertType.HS_V3_DESC_SIGNING,
            expiration=datetime.datetime.utcnow() - datetime.timedelta(hours=2), key=signing,
            extensions=[Ed25519Extension(ExtensionType.HAS_SIGNING_KEY, None, blinded)])
        signing_cert.signature = _blinded_sign(signing_cert.pack(), identity, blinded, nonce)
    desc = HiddenServiceDescriptorV3.create(
        identity_key=identity, signing_key=signing, blinding_nonce=nonce,
        signing_cert=signing_cert, revision_counter=int(time.time()),
        inner_layer=InnerLayer.create(introduction_points=intros))
    address = HiddenServiceDescriptorV3.address_from_identity_key(identity, suffix=False)
    return address, str(desc).encode() + b'\n', identity


def flip_sig(text):
    at = text.index(b'\nsignature ') + 11
    return text[:at] + (b'B' if text[at:at + 1] == b'A' else b'A') + text[at + 1:]


def gen(d):
    tp = current_tp()
    lines, expect = [], []
    addrs = []
    for i in range(N_BACKENDS):
        addr, text, _ = backend(tp)
        name = 'ok-%d.desc' % i
        open(os.path.join(d, name), 'wb').write(text)
        lines.append('%s %s %d' % (name, addr, tp))
        expect.append('%s ok' % name)
        addrs.append((addr, text))
    addr0, text0 = addrs[0]
    bad = flip_sig(text0)
    open(os.path.join(d, 'bad-sig.desc'), 'wb').write(bad)
    lines.append('bad-sig.desc %s %d' % (addr0, tp))
    expect.append('bad-sig.desc bad signature')
    open(os.path.join(d, 'wrong-addr.desc'), 'wb').write(text0)
    lines.append('wrong-addr.desc %s %d' % (addrs[1][0], tp))
    expect.append('wrong-addr.desc wrong address')
    open(os.path.join(d, 'wrong-tp.desc'), 'wb').write(text0)
    lines.append('wrong-tp.desc %s %d' % (addr0, tp + 1))
    expect.append('wrong-tp.desc wrong time period')
    addr_e, text_e, _ = backend(tp, expired=True)
    open(os.path.join(d, 'expired.desc'), 'wb').write(text_e)
    lines.append('expired.desc %s %d' % (addr_e, tp))
    expect.append('expired.desc expired certificate')

    # stem's own view of the tampered backends, where stem checks it.
    try:
        HiddenServiceDescriptorV3.from_str(bad.decode(), validate=True)
        fail('stem accepted a flipped signature byte')
    except ValueError:
        pass
    try:
        HiddenServiceDescriptorV3.from_str(text0.decode(), validate=True).decrypt(addrs[1][0])
        fail('stem decrypted a backend descriptor with another address')
    except Exception:
        pass
    if not HiddenServiceDescriptorV3.from_str(text_e.decode(), validate=True).signing_cert.is_expired():
        fail('stem does not see the expired certificate as expired')

    open(os.path.join(d, 'backends.txt'), 'w').write('\n'.join(lines) + '\n')
    open(os.path.join(d, 'expect.txt'), 'w').write('\n'.join(expect) + '\n')
    open(os.path.join(d, 'tp.txt'), 'w').write('%d\n' % tp)


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def cert_ok(cert, signer):
    """Ed25519 signature of a cert by signer over every byte before the signature."""
    try:
        Ed25519PublicKey.from_public_bytes(signer).verify(cert.signature, cert.pack()[:-64])
        return True
    except Exception:
        return False


def check(d):
    tp = int(open(os.path.join(d, 'tp.txt')).read())
    got = open(os.path.join(d, 'verify.txt')).read().splitlines()
    want = open(os.path.join(d, 'expect.txt')).read().splitlines()
    if got != want:
        fail('our verifier answered %r, expected %r' % (got, want))
    print('our verifier: %d backend verdicts as expected' % len(got))

    backend_auth = set()
    for line in open(os.path.join(d, 'backends.txt')).read().splitlines():
        name, addr, _ = line.split()
        if not name.startswith('ok-'):
            continue
        desc = HiddenServiceDescriptorV3.from_str(
            open(os.path.join(d, name)).read(), validate=True)
        for ip in desc.decrypt(addr).introduction_points:
            backend_auth.add(ip.auth_key_cert.key)
    if len(backend_auth) != N_BACKENDS * N_INTROS:
        fail('expected %d backend intro points, stem found %d' % (N_BACKENDS * N_INTROS,
                                                                    len(backend_auth)))

    master = open(os.path.join(d, 'master.txt')).read().strip()
    identity = HiddenServiceDescriptorV3.identity_key_from_address(master)
    want_blinded = _blinded_pubkey(identity, blinding_param(identity, tp))
    files = sorted(f for f in os.listdir(d) if f.startswith('master-%d-' % tp))
    if len(files) != 2:
        fail('expected 2 master descriptors for %d intro points, got %r' % (
            N_BACKENDS * N_INTROS, files))
    covered = set()
    for f in files:
        text = open(os.path.join(d, f)).read()
        desc = HiddenServiceDescriptorV3.from_str(text, validate=True)  # checks the signature
        cert = desc.signing_cert
        if cert.signing_key() != want_blinded:
            fail('%s: blinded key is not the master address\'s for tp %d' % (f, tp))
        if not cert_ok(cert, want_blinded) or cert.is_expired():
            fail('%s: descriptor-signing-key certificate invalid or expired' % f)
        if desc.lifetime != 180 or len(text) >= 50000:
            fail('%s: lifetime %d, size %d' % (f, desc.lifetime, len(text)))
        inner = desc.decrypt(master)
        ips = inner.introduction_points
        if len(ips) != 20:
            fail('%s: %d intro points, expected 20' % (f, len(ips)))
        for ip in ips:
            if ip.auth_key_cert.key not in backend_auth:
                fail('%s: intro point not among the backends\'' % f)
            for c in (ip.auth_key_cert, ip.enc_key_cert):
                if c.signing_key() != cert.key or not cert_ok(c, cert.key) or c.is_expired():
                    fail('%s: intro point certificate not by the descriptor signing key' % f)
            covered.add(ip.auth_key_cert.key)
        try:
            HiddenServiceDescriptorV3.from_str(flip_sig(text.encode()).decode(), validate=True)
            fail('stem accepted our descriptor with a flipped signature byte')
        except ValueError:
            pass
        print('stem: %s parses, verifies, decrypts; 20 intro points from the backends' % f)
    if covered != backend_auth:
        fail('master descriptors cover %d of %d backend intro points' % (len(covered),
                                                                         len(backend_auth)))
    print('stem: every backend intro point is published in some master descriptor')


def tor(d):
    import random
    import shutil
    import stem.control
    import stem.process
    if shutil.which('tor') is None:
        print('tor is not installed')
        sys.exit(77)
    master = open(os.path.join(d, 'master.txt')).read().strip()
    files = sorted(f for f in os.listdir(d) if f.startswith('master-'))
    datadir = os.path.join(d, 'tor-data')
    os.mkdir(datadir, 0o700)
    proc = None
    for _ in range(5):
        port = random.randint(20000, 60000)
        try:
            proc = stem.process.launch_tor_with_config(
                config={'ControlPort': '127.0.0.1:%d' % port, 'SocksPort': '0',
                        'DisableNetwork': '1', 'DataDirectory': datadir,
                        'CookieAuthentication': '1', 'Log': 'notice stdout'},
                completion_percent=0, timeout=60, take_ownership=True)
            break
        except OSError as e:
            print('tor did not start on port %d: %s' % (port, e))
    if proc is None:
        fail('could not start tor')
    try:
        with stem.control.Controller.from_port(address='127.0.0.1', port=port) as c:
            c.authenticate()
            for f in files:
                text = open(os.path.join(d, f)).read()
                for body, want in ((text, '250'), (flip_sig(text.encode()).decode(), '554')):
                    reply = c.msg('HSPOST HSADDRESS=%s\n%s' % (master, body.rstrip('\n')))
                    got = '%s %s' % (reply.content()[0][0], reply.content()[0][2])
                    if not got.startswith(want):
                        fail('tor answered %r to %s%s' % (got, f, '' if want == '250' else
                                                          ' with a flipped signature byte'))
                print('tor %s: accepts %s, refuses it with a flipped signature byte' % (
                    c.get_version(), f))
    finally:
        proc.kill()
        proc.wait()


def fresh(d):
    address, text, _ = backend(current_tp())
    open(os.path.join(d, 'fresh.desc'), 'wb').write(text)
    open(os.path.join(d, 'fresh.addr'), 'w').write(address + '\n')


if __name__ == '__main__':
    modes = {'gen': gen, 'check': check, 'tor': tor, 'fresh': fresh}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        print(__doc__)
        sys.exit(2)
    modes[sys.argv[1]](sys.argv[2])
