#!/usr/bin/env python3
"""hsprobe.py - ask every HSDir for an onion service's descriptor, every N s.

    hsprobe.py PORT COOKIE ADDRESS SECONDS INTERVAL OUT
    hsprobe.py --summary OUT INTERVAL     (the summary of an OUT file again)

Connects to a tor's control port on 127.0.0.1:PORT (cookie authentication,
the cookie file COOKIE), and every INTERVAL seconds for SECONDS seconds sends
    HSFETCH <address> SERVER=$fp1 SERVER=$fp2 ...
naming every relay of that tor's consensus with the HSDir flag.  With SERVER=
tor asks exactly those HSDirs, each once, whatever it asked before and
whatever it holds in its own cache: each probe sees what the HSDirs hold at
that moment.  An HSDir that holds a descriptor for the address' blinded key of
the tor's current time period answers with it (HS_DESC RECEIVED, then the
content); one that does not, with 404 (HS_DESC FAILED REASON=NOT_FOUND).

One line per probe goes to OUT:
    <unix time> <UTC> served <k>/<n> [rev <counter>@<nick> ...] [failed <nick>:<reason> ...]
and at the end one summary line (see summary()).  A probe is served (some
HSDir gave the descriptor), absent (none did, and some said it has none:
404) or unknown (no HSDir answered in time: a loaded machine, the probe says
nothing).  Exit status 0 when no run of unserved probes holds an absent one,
1 otherwise, 2 for setup errors.
Only 127.0.0.1 is ever contacted.
"""
import base64
import binascii
import socket
import sys
import time


class Ctl:
    def __init__(self, port, cookie_path):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        cookie = open(cookie_path, "rb").read()
        self.cmd("AUTHENTICATE " + binascii.hexlify(cookie).decode())

    def line(self, deadline):
        while b"\r\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise EOFError("tor closed the control connection")
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", "replace")

    def reply(self, deadline):
        """One reply or event: a list of (status line, data lines)."""
        out = []
        while True:
            ln = self.line(deadline)
            if ln is None:
                return None
            if len(ln) >= 4 and ln[3] == "+":
                data = []
                while True:
                    d = self.line(deadline + 10)
                    if d is None or d == ".":
                        break
                    data.append(d[1:] if d.startswith("..") else d)
                out.append((ln, data))
                continue
            out.append((ln, None))
            if len(ln) >= 4 and ln[3] == " ":
                return out

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        deadline = time.time() + 30
        while True:
            r = self.reply(deadline)
            if r is None:
                raise RuntimeError("no answer to " + text.split()[0])
            if r[0][0].startswith("650"):
                self.events.append(r)
                continue
            if not r[-1][0].startswith("250"):
                raise RuntimeError("%s: %s" % (text.split()[0], r[-1][0]))
            return r

    events = []


def hsdirs(ctl):
    """(fingerprint, nickname) of every relay with the HSDir flag."""
    r = ctl.cmd("GETINFO ns/all")
    lines = []
    for st, data in r:
        if data:
            lines += data
    out, cur = [], None
    for ln in lines:
        f = ln.split()
        if f and f[0] == "r" and len(f) > 2:
            ident = f[2] + "=" * (-len(f[2]) % 4)
            cur = (binascii.hexlify(base64.b64decode(ident)).decode().upper(), f[1])
        elif f and f[0] == "s" and cur is not None:
            if "HSDir" in f[1:]:
                out.append(cur)
            cur = None
    return out


def probe(ctl, address, dirs, wait):
    """Ask every HSDir once; {nick: ("ok", revision) | ("failed", reason)}."""
    res = {}
    ctl.events = []
    ctl.cmd("HSFETCH %s %s" % (address, " ".join("SERVER=$" + fp for fp, _ in dirs)))
    nick_of = {fp: n for fp, n in dirs}
    deadline = time.time() + wait
    pending = list(ctl.events)
    while len(res) < len(dirs):
        if pending:
            ev = pending.pop(0)
        else:
            ev = ctl.reply(deadline)
            if ev is None:
                break
        st, data = ev[0]
        f = st[4:].split()
        if not f:
            continue
        if f[0] == "HS_DESC" and len(f) > 4 and f[1] == "FAILED" and f[2] == address:
            fp = f[4].lstrip("$").split("~")[0].split("=")[0]
            reason = ([x[7:] for x in f if x.startswith("REASON=")] or ["?"])[0]
            res.setdefault(nick_of.get(fp, fp[:8]), ("failed", reason))
        elif f[0] == "HS_DESC_CONTENT" and len(f) > 3 and f[1] == address:
            fp = f[3].lstrip("$").split("~")[0].split("=")[0]
            rev = None
            for d in data or []:
                if d.startswith("revision-counter "):
                    rev = d.split()[1]
            if rev is not None:
                res[nick_of.get(fp, fp[:8])] = ("ok", rev)
            else:
                res.setdefault(nick_of.get(fp, fp[:8]), ("failed", "empty"))
    for fp, n in dirs:
        res.setdefault(n, ("failed", "no-answer"))
    return res


def summary(rows, interval):
    """The longest gap, as a line.  rows: (time, state), state "served" (an
    HSDir gave the descriptor), "absent" (none did, and at least one said it
    has none) or "unknown" (no HSDir answered at all: the probe says
    nothing).  A gap is a run of probes not served with at least one absent."""
    runs, cur, prev_ok = [], [], None
    for t, st in rows + [(None, "served")]:
        if st == "served":
            if any(x == "absent" for _, x in cur):
                runs.append((cur, prev_ok, t))
            cur, prev_ok = [], t
        else:
            cur.append((t, st))
    times = [t for t, _ in rows]
    span = (times[-1] - times[0]) if times else 0
    holes = max((b - a for a, b in zip(times, times[1:])), default=0)
    n_abs = sum(1 for _, st in rows if st == "absent")
    n_unk = sum(1 for _, st in rows if st == "unknown")
    head = ("summary: %d probes every %ds over %.1f min (longest interval between probes %d s); "
            "%d absent, %d without any answer"
            % (len(rows), interval, span / 60.0, holes, n_abs, n_unk))
    if not runs:
        return head + "; no gap: longest gap 0 s"
    worst = max(runs, key=lambda r: (r[2] or times[-1]) - (r[1] or times[0]))
    probes, before, after = worst
    lo = probes[-1][0] - probes[0][0]
    hi = (after - before) if (after is not None and before is not None) else None
    return (head + "; %d gap(s), the longest %d probe(s) from %s: at least %d s, at most %s s "
            "between served probes"
            % (len(runs), len(probes), time.strftime("%H:%M:%S", time.gmtime(probes[0][0])), lo,
               "%d" % hi if hi is not None else "?"))


def read_log(path):
    """(time, state) of each probe line of an OUT file."""
    rows = []
    for ln in open(path):
        f = ln.split()
        if f and f[0] == "probe|":
            f = f[1:]  # as the scenario's log quotes them
        if len(f) < 4 or f[2] != "served" or not f[0].isdigit():
            continue
        ok = int(f[3].split("/")[0])
        absent = "NOT_FOUND" in ln
        rows.append((int(f[0]), "served" if ok else ("absent" if absent else "unknown")))
    return rows


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--summary":
        rows = read_log(sys.argv[2])
        print(summary(rows, int(sys.argv[3])))
        return 0 if rows and "no gap" in summary(rows, int(sys.argv[3])) else 1
    if len(sys.argv) != 7:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    port, cookie, address, secs, interval, out = sys.argv[1:]
    address = address.replace(".onion", "")
    secs, interval = int(secs), int(interval)
    try:
        ctl = Ctl(int(port), cookie)
        ctl.cmd("SETEVENTS HS_DESC HS_DESC_CONTENT")
    except (OSError, RuntimeError, EOFError) as e:
        print("hsprobe: %s" % e, file=sys.stderr)
        return 2
    rows = []
    end = time.time() + secs
    with open(out, "a") as f:
        while time.time() < end:
            t0 = time.time()
            try:
                dirs = hsdirs(ctl)
                res = probe(ctl, address, dirs, min(25, interval - 2))
            except (OSError, RuntimeError, EOFError) as e:
                print("hsprobe: %s" % e, file=sys.stderr)
                return 2
            ok = [(n, r[1]) for n, r in sorted(res.items()) if r[0] == "ok"]
            bad = [(n, r[1]) for n, r in sorted(res.items()) if r[0] != "ok"]
            rows.append((int(t0), "served" if ok else (
                "absent" if any(r == "NOT_FOUND" for _, r in bad) else "unknown")))
            f.write("%d %s served %d/%d%s%s\n" % (
                t0, time.strftime("%H:%M:%S", time.gmtime(t0)), len(ok), len(dirs),
                "".join(" rev %s@%s" % (r, n) for n, r in ok),
                (" failed " + " ".join("%s:%s" % (n, r) for n, r in bad)) if bad else ""))
            f.flush()
            time.sleep(max(0, t0 + interval - time.time()))
        line = summary(rows, interval)
        f.write(line + "\n")
    print(line)
    return 0 if rows and "no gap" in line else 1


if __name__ == "__main__":
    sys.exit(main())
