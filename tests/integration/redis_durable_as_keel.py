#!/usr/bin/env python3
"""Runs Debian's redis-server (7.0) as if it were a keel-server with the
write-ahead log, to check test_durability.py's expectations against Redis's
AOF:

    KEEL_SERVER=$PWD/tests/integration/redis_durable_as_keel.py python3 tests/integration/test_durability.py -v

(test_durability.py also takes KEEL_SERVER=.../redis_as_keel.py and uses this
wrapper instead, since that one appends --appendonly no.)

Like redis_as_keel.py: keel-server's arguments in ([config] --bind 127.0.0.1
--port 0 --dir D ...), a free port on 127.0.0.1 for --port 0, " port=N"
appended to the "Ready to accept connections" line, signals passed on, Redis
dies with the wrapper (even on SIGKILL), Redis's exit code out. Different:
persistence is left as the arguments say (--appendonly yes --appendfsync X
are Redis's own directives; the AOF goes to D/appendonlydir), only RDB save
points are turned off (--save "", before the arguments), and keel's WAL flags
become Redis's nearest equivalent or are dropped:

    --wal-snapshot-threshold N  ->  --auto-aof-rewrite-min-size N
                                    --auto-aof-rewrite-percentage 100
    --wal-repair-corrupt X      ->  (dropped: the tests that use it are keel's own)
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_as_keel import REDIS_SERVER, die_with_parent  # noqa: E402


def translate(args):
    """keel-server's argument list -> (redis-server's, the port picked for --port 0)."""
    import socket
    conf = [args.pop(0)] if args and not args[0].startswith("--") else []
    out, port, i = [], None, 0
    while i < len(args):
        a = args[i]
        v = args[i + 1] if i + 1 < len(args) else None
        if a == "--port" and v == "0":
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            out += ["--port", str(port)]
            i += 2
        elif a == "--wal-snapshot-threshold" and v is not None:
            out += ["--auto-aof-rewrite-min-size", v, "--auto-aof-rewrite-percentage", "100"]
            i += 2
        elif a == "--wal-repair-corrupt" and v is not None:
            i += 2
        else:
            out.append(a)
            i += 1
    return conf + ["--save", ""] + out, port


def main():
    args, port = translate(sys.argv[1:])
    p = subprocess.Popen([REDIS_SERVER] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
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
