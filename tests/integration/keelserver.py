"""Starts and stops a keel-server for integration tests, and small helpers
the test scripts share.

Each server listens on 127.0.0.1 with a port the OS picks (--port 0): the
server prints the port it bound in its "Ready to accept connections" line,
which is awaited, so there is no race for a free port and no sleep. After
that a thread keeps reading the server's output (so a full pipe can never
block the server) and keeps it in .log for the assertions and for failures.

Nothing here ever connects anywhere but 127.0.0.1, and every wait is
bounded.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

READY = re.compile(rb"Ready to accept connections\W*(?:fields\W*)?port=(\d+)")
HOST = "127.0.0.1"


_live = set()  # servers started and not yet stopped


@atexit.register
def _kill_leftovers():
    """A script that dies halfway leaves no server behind."""
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def server_binary():
    path = os.environ.get("KEEL_SERVER")
    if not path:
        raise RuntimeError("KEEL_SERVER is not set (meson passes it)")
    return path


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() until it is true; raises AssertionError after timeout
    seconds. Returns pred()'s value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class KeelServer:
    """keel-server [config] --bind 127.0.0.1 --port 0 --dir TMP [args...]."""

    def __init__(self, *args, config=None, timeout=10.0, binary=None):
        self.args = list(args)
        self.config = config
        self.timeout = timeout
        self.binary = binary or server_binary()
        self.proc = None
        self.port = None
        self.returncode = None
        self._log = []
        self._lock = threading.Lock()
        self._reader = None
        self.dir = tempfile.mkdtemp(prefix="keel-it-")

    # -- life cycle ---------------------------------------------------------

    def command(self):
        cmd = [self.binary]
        if self.config:
            cmd.append(self.config)
        cmd += ["--bind", HOST, "--port", "0", "--dir", self.dir]
        return cmd + self.args

    def start(self):
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _live.add(self.proc)
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        # The reader sets the event at the ready line, or at EOF (exit).
        self._ready.wait(self.timeout)
        if self.port is not None:
            return self
        self.stop(timeout=2)
        raise RuntimeError("keel-server did not start: %r" % self.log)

    def _drain(self):
        """Keeps reading the server's output (so it never blocks on a full
        pipe), watching for the ready line."""
        try:
            for line in iter(self.proc.stdout.readline, b""):
                with self._lock:
                    self._log.append(line)
                if self.port is None:
                    m = READY.search(line)
                    if m:
                        self.port = int(m.group(1))
                        self._ready.set()
        finally:
            self._ready.set()

    @property
    def log(self):
        with self._lock:
            return b"".join(self._log)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        """Waits for the process to exit by itself; returns its exit code."""
        code = self.proc.wait(timeout)
        self._finish()
        return code

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals the server and waits for it; returns its exit code (-9
        if it had to be killed after timeout seconds)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._finish()
        return self.returncode

    def _finish(self):
        if self.proc is None:
            return
        if self._reader:
            self._reader.join(5)
        self.proc.stdout.close()
        _live.discard(self.proc)
        self.returncode = self.proc.returncode
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- probes -------------------------------------------------------------

    def rss_kb(self):
        """VmRSS of the server process, in kB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def connect(self, timeout=None):
        return socket.create_connection((HOST, self.port), timeout=timeout or self.timeout)

    def conn(self, timeout=5.0):
        return RespConn(self.port, timeout=timeout)

    def call(self, *args):
        """One command on a fresh connection; returns the raw RESP reply."""
        c = self.conn()
        try:
            c.send(encode(*args))
            return c.reply()
        finally:
            c.close()


def encode(*args):
    """A RESP2 multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespConn:
    """A raw connection that sends bytes and reads whole RESP2 replies,
    keeping whatever arrived after the reply for the next read."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = bytearray()  # grows in place: big replies stay linear
        # One receive buffer for the connection's life: recv(1 MiB) would
        # allocate (and, under meson's MALLOC_PERTURB_, fill) 1 MiB a call.
        self._rx = bytearray(1 << 20)
        self._rxv = memoryview(self._rx)

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, *args):
        self.send(encode(*args))
        return self.reply()

    def _fill(self):
        n = self.sock.recv_into(self._rxv)
        if not n:
            raise EOFError(bytes(self.buf))
        self.buf += self._rxv[:n]

    def _parse(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                break
            self._fill()
        t = self.buf[pos:pos + 1]
        if t in (b"+", b"-", b":"):
            return end + 2
        n = int(self.buf[pos + 1:end])
        if t == b"$":
            if n < 0:
                return end + 2
            while len(self.buf) < end + 2 + n + 2:
                self._fill()
            return end + 2 + n + 2
        if t == b"*":
            p = end + 2
            for _ in range(max(n, 0)):
                p = self._parse(p)
            return p
        raise ValueError("bad reply %r" % self.buf[:200])

    def reply(self):
        end = self._parse(0)
        r = bytes(self.buf[:end])
        del self.buf[:end]
        return r

    def closed_by_peer(self, timeout=5.0):
        """True once the server has closed the connection (EOF or reset)
        within timeout seconds; False if it is still open then. Data that
        arrives meanwhile is kept in .buf."""
        deadline = time.monotonic() + timeout
        old = self.sock.gettimeout()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                try:
                    self._fill()
                except EOFError:
                    return True
                except socket.timeout:
                    return False
                except OSError:
                    return True
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass


def parse_value(raw):
    """Decodes one raw RESP2 reply into Python values (errors as
    RespError instances)."""
    v, _ = _value(raw, 0)
    return v


class RespError(str):
    pass


def _value(b, p):
    end = b.index(b"\r\n", p)
    t, body = b[p:p + 1], b[p + 1:end]
    if t == b"+":
        return body.decode(), end + 2
    if t == b"-":
        return RespError(body.decode()), end + 2
    if t == b":":
        return int(body), end + 2
    if t == b"$":
        n = int(body)
        if n < 0:
            return None, end + 2
        return b[end + 2:end + 2 + n], end + 2 + n + 2
    if t == b"*":
        n = int(body)
        if n < 0:
            return None, end + 2
        out, q = [], end + 2
        for _ in range(n):
            v, q = _value(b, q)
            out.append(v)
        return out, q
    raise ValueError("bad reply %r" % b[p:p + 100])


# -- running a script -------------------------------------------------------

SKIP = 77


def main():
    """unittest.main with Meson's conventions: the standard summary ("Ran
    N tests", then "OK" or "FAILED (...)"), exit 0 on success, 1 on failure
    and 77 (SKIP) when every test was skipped."""
    # One stream (stdout), so the summary is the last thing printed.
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    prog = unittest.main(module="__main__", exit=False, testRunner=runner)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.testsRun > 0 and len(r.skipped) == r.testsRun:
        sys.exit(SKIP)
    sys.exit(0)


def skip_script(why):
    """Skips a whole script: Meson reports SKIP."""
    print("SKIP: %s" % why, flush=True)
    sys.exit(SKIP)


def reexec_for_module(module):
    """Makes `import module` work: if this interpreter lacks it (a pyenv
    python3 ahead of Debian's in PATH, say), re-runs the script under
    /usr/bin/python3, which has Debian's python3-* packages. Returns False
    if no interpreter has it."""
    try:
        __import__(module)
        return True
    except ImportError:
        pass
    debian = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(debian) and os.access(debian, os.X_OK) \
            and not os.environ.get("KEEL_IT_REEXEC"):
        probe = subprocess.run([debian, "-c", "import " + module], capture_output=True)
        if probe.returncode == 0:
            os.environ["KEEL_IT_REEXEC"] = "1"
            sys.stdout.flush()
            os.execv(debian, [debian] + sys.argv)
    return False
