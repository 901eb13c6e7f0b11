#!/usr/bin/python3
"""A control port that answers like tor 0.4.5.10 did for v2 (or like a
0.4.6+ tor, with --modern), on 127.0.0.1 only, for tests/interop/test_online_v2.sh.

  fake_tor_v2.py PORTFILE LOG DESCDIR [--modern] [--missing ADDR] [--reject-once FP]

Serves PROTOCOLINFO (AUTH METHODS=NULL, VERSION), AUTHENTICATE, SETEVENTS,
GETCONF TestingTorNetwork, GETINFO version / consensus-microdesc (a synthetic
40-relay consensus written to DESCDIR/../consensus), HSFETCH <v2 addr>
(DESCDIR/<addr>.desc as HS_DESC RECEIVED + HS_DESC_CONTENT, or FAILED
NOT_FOUND + empty content), +HSPOST SERVER=... (UPLOAD, then UPLOADED, or
FAILED UPLOAD_REJECTED the first time for --reject-once).  Every command
line is appended to LOG; an HSPOST body to LOG.posts/N.
Shapes: tor-0.4.5.10 src/feature/control/control_events.c.  A --modern tor
answers 513 to a v2 HSFETCH and nothing at all to HSPOST without HSADDRESS.
"""
import base64
import os
import random
import socket
import sys
import threading
import time

args = sys.argv[1:]
portfile, logpath, descdir = args[0], args[1], args[2]
modern = "--modern" in args
missing = args[args.index("--missing") + 1] if "--missing" in args else None
reject = args[args.index("--reject-once") + 1] if "--reject-once" in args else None
rejected = []
posts = [0]
lock = threading.Lock()

rng = random.Random(7)
now = int(time.time())
va = now - now % 3600


def iso(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


cons = ["network-status-version 3 microdesc", "valid-after " + iso(va),
        "fresh-until " + iso(va + 3600), "valid-until " + iso(va + 3 * 3600)]
for i in range(40):
    ident = bytes(rng.getrandbits(8) for _ in range(20))
    cons.append("r relay%d %s 2026-11-22 00:00:00 10.0.0.%d 9001 0" %
                (i, base64.b64encode(ident).decode().rstrip("="), i + 1))
    cons.append("s Fast%s Running Stable Valid" % (" HSDir" if i % 4 else ""))
    cons.append("pr HSDir=1")
cons.append("directory-footer")
cons_text = "\n".join(cons) + "\n"
with open(os.path.join(descdir, "..", "consensus"), "w") as f:
    f.write(cons_text)


def block(text):
    out = []
    for line in text.rstrip("\n").split("\n"):
        out.append(("." + line if line.startswith(".") else line) + "\r\n")
    return "".join(out) + ".\r\n"


def log(line):
    with lock, open(logpath, "a") as f:
        f.write(line + "\n")


def serve(conn):
    f = conn.makefile("rb")
    send = lambda s: conn.sendall(s.encode())
    while True:
        raw = f.readline()
        if not raw:
            return
        line = raw.decode().rstrip("\r\n")
        log(line)
        w = line.split(" ")
        if w[0] == "PROTOCOLINFO":
            send('250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250-VERSION Tor="%s"\r\n250 OK\r\n'
                 % ("0.4.9.11" if modern else "0.4.5.10"))
        elif w[0] in ("AUTHENTICATE", "SETEVENTS"):
            send("250 OK\r\n")
        elif line == "GETCONF TestingTorNetwork":
            send("250 TestingTorNetwork=0\r\n")
        elif line == "GETINFO version":
            send("250-version=%s\r\n250 OK\r\n" % ("0.4.9.11" if modern else "0.4.5.10"))
        elif line == "GETINFO dir/status-vote/current/consensus-microdesc":
            send("250+dir/status-vote/current/consensus-microdesc=\r\n" + block(cons_text) + "250 OK\r\n")
        elif w[0] == "HSFETCH" and len(w) == 2:
            a = w[1]
            if modern or len(a) != 16:
                send('513 Invalid argument "%s"\r\n' % a)
                continue
            send("250 OK\r\n")
            hd = "$9695DFC35FFEB861329B9F1AB04C46397020CE31~hsdir1"
            did = "a" * 32
            path = os.path.join(descdir, a + ".desc")
            send("650 HS_DESC REQUESTED %s NO_AUTH %s %s\r\n" % (a, hd, did))
            if a == missing or not os.path.exists(path):
                send("650 HS_DESC FAILED %s NO_AUTH %s %s REASON=NOT_FOUND\r\n" % (a, hd, did))
                send("650+HS_DESC_CONTENT %s %s %s\r\n\r\n.\r\n650 OK\r\n" % (a, did, hd))
            else:
                body = open(path).read()
                send("650 HS_DESC RECEIVED %s NO_AUTH %s %s\r\n" % (a, hd, did))
                send("650+HS_DESC_CONTENT %s %s %s\r\n" % (a, did, hd) + block(body) + "650 OK\r\n")
        elif w[0] == "+HSPOST":
            body = []
            while True:
                l = f.readline().decode().rstrip("\r\n")
                if l == ".":
                    break
                body.append(l[1:] if l.startswith(".") else l)
            text = "\n".join(body) + "\n"
            with lock:
                posts[0] += 1
                n = posts[0]
            with open("%s.posts.%d" % (logpath, n), "w") as pf:
                pf.write(text)
            if modern and not any(x.startswith("HSADDRESS=") for x in w):
                continue
            servers = [x[len("SERVER="):].lstrip("$") for x in w[1:] if x.startswith("SERVER=")]
            send("250 OK\r\n")
            # the master address (base32 of SHA1(permanent-key DER)[:10]) comes
            # from the test, which knows it
            addr = os.environ.get("OB_FAKE_TOR_ADDR", "UNKNOWN")
            for k, s in enumerate(servers):
                send("650 HS_DESC UPLOAD %s UNKNOWN $%s~r%d %s\r\n" % (addr, s, k, "b" * 32))
            for k, s in enumerate(servers):
                if s == reject and not rejected:
                    rejected.append(s)
                    send("650 HS_DESC FAILED %s UNKNOWN $%s~r%d REASON=UPLOAD_REJECTED\r\n" % (addr, s, k))
                else:
                    send("650 HS_DESC UPLOADED %s UNKNOWN $%s~r%d\r\n" % (addr, s, k))
        else:
            send("510 Unrecognized command \"%s\"\r\n" % w[0])


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
