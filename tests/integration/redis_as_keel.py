#!/usr/bin/env python3
"""Runs Debian's redis-server (7.0) as if it were keel-server, to check an
integration test's expectations against Redis itself:

    KEEL_SERVER=tests/integration/redis_as_keel.py python3 tests/integration/test_protocol_errors.py

It takes keel-server's arguments ([config] --bind 127.0.0.1 --port 0 ...),
picks a free port on 127.0.0.1 for --port 0 (Redis cannot), adds
--save "" --appendonly no, and appends "port=N" to Redis's "Ready to accept
connections" line as keel prints it. Signals are passed on; the exit code is
Redis's. Not registered with Meson: a tool for when a test's expectation is
in doubt. Tests of keel's own behaviour (its log lines, its config messages,
the memory bound for clients that do not read) fail against Redis."""
import ctypes
import os
import signal
import socket
import subprocess
import sys

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")


def die_with_parent():
    """Redis goes when this wrapper goes, even on SIGKILL."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main():
    args = sys.argv[1:]
    conf = [args.pop(0)] if args and not args[0].startswith("--") else []
    out, port, i = [], None, 0
    while i < len(args):
        if args[i] == "--port" and i + 1 < len(args) and args[i + 1] == "0":
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            out += ["--port", str(port)]
            i += 2
        else:
            out.append(args[i])
            i += 1
    p = subprocess.Popen([REDIS_SERVER] + conf + out + ["--save", "", "--appendonly", "no"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, f: p.send_signal(n))
    for line in iter(p.stdout.readline, b""):
        if port is not None and b"Ready to accept connections" in line:
            line = line.rstrip(b"\n") + b" port=%d\n" % port
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
    sys.exit(p.wait())


if __name__ == "__main__":
    main()
