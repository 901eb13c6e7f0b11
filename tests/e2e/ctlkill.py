#!/usr/bin/env python3
"""ctlkill.py LISTEN_PORT TOR_PORT PIDFILE [AFTER_PORT] - kill tor mid-upload.

A relay for tor's control port on 127.0.0.1:LISTEN_PORT.  Every connection
is passed through to 127.0.0.1:TOR_PORT unchanged (authentication included).
The first time tor answers an HSPOST with 250 (it took the descriptor and
starts uploading it), the relay kills tor with SIGKILL, by the pid in
PIDFILE, right after passing that answer on: the publisher is then
mid-upload, waiting for the HS_DESC events.  Connections made later go to
127.0.0.1:AFTER_PORT (default TOR_PORT: whatever listens there by then, a
restarted tor; another port: a tor that is up already, "tor back at once"),
and nothing else is killed.  One line per event on standard output.
"""
import os
import select
import signal
import socket
import sys
import time


def log(msg):
    print("%.3f %s" % (time.time(), msg), flush=True)


def main():
    listen_port, tor_port, pidfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    after_port = int(sys.argv[4]) if len(sys.argv) > 4 else tor_port
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(8)
    log("listening on %d for tor's control port %d" % (listen_port, tor_port))
    peer = {}  # socket -> the socket it relays to
    state = {}  # client socket -> 0 nothing, 1 HSPOST sent
    killed = False
    while True:
        r, _, _ = select.select([srv] + list(peer), [], [])
        for s in r:
            if s is srv:
                c, _ = srv.accept()
                t = socket.socket()
                try:
                    t.connect(("127.0.0.1", after_port if killed else tor_port))
                except OSError as e:
                    log("connection: tor is not there (%s)" % e)
                    c.close()
                    continue
                peer[c], peer[t] = t, c
                state[c] = 0
                log("connection relayed")
                continue
            if s not in peer:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            other = peer[s]
            if not data:
                for x in (s, other):
                    peer.pop(x, None)
                    state.pop(x, None)
                    x.close()
                log("connection closed")
                continue
            if s in state and not killed and b"+HSPOST" in data:
                state[s] = 1
                log("HSPOST sent to tor")
            other.sendall(data)
            if (other in state and state[other] == 1 and not killed and
                    any(line.startswith(b"250") for line in data.split(b"\r\n"))):
                with open(pidfile) as f:
                    pid = int(f.read().split()[0])
                os.kill(pid, signal.SIGKILL)
                killed = True
                log("tor (pid %d) took the HSPOST; killed it" % pid)


if __name__ == "__main__":
    main()
