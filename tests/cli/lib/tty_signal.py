#!/usr/bin/env python3
"""tty_signal.py - a signal at a passphrase prompt, on a pseudo-terminal.

    tty_signal.py SIGNAL PROMPT CMD...

runs CMD with a fresh pty as its controlling terminal, waits until PROMPT
appears there, checks that echo is off then (the prompt is really asking),
and delivers SIGNAL the way a person would: INT, QUIT and TSTP as the keys
^C, ^\\ and ^Z typed on the terminal, TERM and HUP with kill(2).  For TSTP
the program must stop with echo back on; it is then continued, must ask
again with echo off, and gets ^C.  At the end the terminal's state is read
with `stty -a -F <pty>`: echo must be on.  Exit 0 when all of that holds,
1 otherwise (the reason on stdout), 77 without a usable pty.
"""
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time

KEYS = {"INT": b"\x03", "QUIT": b"\x1c", "TSTP": b"\x1a"}
SIGS = {"INT": signal.SIGINT, "QUIT": signal.SIGQUIT, "TSTP": signal.SIGTSTP,
        "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def echo_on(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def wait_for(master, text, buf, timeout=60):
    end = time.time() + timeout
    while text not in buf[0]:
        if time.time() > end:
            fail("no %r on the terminal after %d s; it shows %r" % (text, timeout, buf[0][-300:]))
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                fail("the terminal closed before %r; it shows %r" % (text, buf[0][-300:]))
            buf[0] += chunk.decode("utf-8", "replace")


class Events:
    """Lines the session leader writes: "pid N", "stopped", "exit STATUS"."""

    def __init__(self, fd):
        self.fd, self.buf = fd, b""

    def next(self, what, timeout=60):
        end = time.time() + timeout
        while b"\n" not in self.buf:
            if time.time() > end:
                fail("no %s within %d s (hang)" % (what, timeout))
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                chunk = os.read(self.fd, 256)
                if not chunk:
                    fail("the session ended without %s" % what)
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def stty_echo(name):
    out = subprocess.run(["stty", "-a", "-F", name], capture_output=True, text=True).stdout
    words = out.replace(";", " ").split()
    return "echo" in words and "-echo" not in words, out


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in SIGS:
        sys.exit(__doc__)
    name, prompt, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        master, slave = os.openpty()
    except OSError as e:
        print("skip: no pty: %s" % e)
        sys.exit(77)
    slave_name = os.ttyname(slave)
    # A session like a shell's: its leader, and the program in a process
    # group of its own in the foreground.  (A program whose group has no
    # parent in the session is "orphaned" and ^Z cannot stop it.)
    rd, wr = os.pipe()
    leader = os.fork()
    if leader == 0:
        os.close(rd)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        prog = os.fork()
        if prog == 0:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            os.tcsetpgrp(slave, os.getpid())
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.close(master)
            os.execvp(argv[0], argv)
        try:
            os.setpgid(prog, prog)
        except OSError:
            pass  # the program did it first
        os.write(wr, b"pid %d\n" % prog)
        while True:
            _, st = os.waitpid(prog, os.WUNTRACED)
            if os.WIFSTOPPED(st):
                os.write(wr, b"stopped\n")
                continue
            os.write(wr, b"exit %d\n" % st)
            os._exit(0)
    os.close(wr)
    events = Events(rd)
    pid = int(events.next("pid").split()[1])
    buf = [""]
    wait_for(master, prompt, buf)
    time.sleep(0.2)  # the prompt is written after echo went off; let it settle
    if echo_on(slave):
        fail("echo is on at the prompt: the test would prove nothing")
    if name in KEYS:
        os.write(master, KEYS[name])
    else:
        os.kill(pid, SIGS[name])
    if name == "TSTP":
        ev = events.next("a stop")
        if ev != "stopped":
            fail("^Z: the program did not stop (%s)" % ev)
        ok, out = stty_echo(slave_name)
        if not ok:
            os.kill(pid, signal.SIGKILL)
            fail("stopped with echo off: %s" % out)
        buf[0] = ""
        os.kill(pid, signal.SIGCONT)
        wait_for(master, prompt, buf)  # asked again
        time.sleep(0.2)
        if echo_on(slave):
            fail("continued: echo is on at the new prompt")
        os.write(master, KEYS["INT"])
        sig = signal.SIGINT
    else:
        sig = SIGS[name]
    ev = events.next("the end")
    if not ev.startswith("exit "):
        os.kill(pid, signal.SIGKILL)
        fail("the program stopped instead of ending (%s)" % ev)
    status = int(ev.split()[1])
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig):
        fail("the program did not end by the signal (status %d)" % status)
    ok, out = stty_echo(slave_name)
    if not ok:
        fail("after %s the terminal has echo off: %s" % (name, out))
    if not echo_on(slave):
        fail("after %s tcgetattr says echo off" % name)
    print("ok: %s at the prompt: the program ended by it, echo is on" % name)


if __name__ == "__main__":
    main()
