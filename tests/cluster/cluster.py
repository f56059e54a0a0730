"""Real keel-server clusters under faults, for tests/cluster/ (issue #7).

- Cluster: N nodes on 127.0.0.1 (or each in its own network namespace, see
  NetLab), each with its own data directory under one temporary root;
  leader discovery through INFO raft; kill -9, SIGSTOP/SIGCONT, restart;
  convergence (same indexes and DEBUG DIGEST on every node).
- History and Client: operations as clients saw them, with monotonic-clock
  call and return times, written in keel-lincheck's format
  (cmd/keel-lincheck.c) and checked with it.
- Load: client threads issuing SET/GET on register keys, INCR/GET on counter
  keys and APPEND/GET on append keys, rotating over the nodes.
- ClusterTestCase: a unittest base class that closes every cluster it made
  (processes killed, directories removed), and on a failure first prints
  each node's last log lines and saves the history and logs under
  $KEEL_CLUSTER_ARTIFACTS (when set: meson points it into the build tree).

An operation's outcome: a reply is known; -CLUSTERDOWN, -NOTLEADER and
-TRYAGAIN say it did not happen (left out of the history); -UNKNOWN, any
other error, a timeout or a dropped connection make it unknown ('?': it may
have happened at any point after its call, or never).

Nothing binds or connects anywhere but 127.0.0.1, except the nodes of a
NetLab, which live in private namespaces of their own. Every wait polls
with a deadline (wait_until); fixed sleeps only let load run.
"""
import atexit
import contextlib
import ctypes
import os
import random
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from keelserver import (RespConn, RespError, SKIP, encode, main, parse_value,  # noqa: E402,F401
                        skip_script, wait_until)

READY = re.compile(rb"Ready to accept connections\W*(?:fields\W*)?port=(\d+)")
HOST = "127.0.0.1"
ELECTION_MS = int(os.environ.get("KEEL_CLUSTER_ELECTION_MS", "300"))
# Errors after which the command certainly did not run.
DEFINITE = ("CLUSTERDOWN", "NOTLEADER", "TRYAGAIN")

_procs = set()        # live server processes
_roots = set()        # temporary roots to remove
_cleanups = []        # other things to undo at exit (NetLab)


def _cleanup_all():
    for p in list(_procs):
        try:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        _procs.discard(p)
    for fn in list(reversed(_cleanups)):
        try:
            fn()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    for d in list(_roots):
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_all)


def _on_term(signum, frame):
    # meson's timeout sends SIGTERM: unwind (the atexit hook cleans up).
    raise KeyboardInterrupt("signal %d" % signum)


signal.signal(signal.SIGTERM, _on_term)


def server_binary():
    p = os.environ.get("KEEL_SERVER")
    if not p:
        raise RuntimeError("KEEL_SERVER is not set (meson passes it)")
    return p


def lincheck_binary():
    p = os.environ.get("KEEL_LINCHECK")
    if not p:
        raise RuntimeError("KEEL_LINCHECK is not set (meson passes it)")
    return p


def _find_setpriv():
    p = shutil.which("setpriv")
    if p and "--pdeathsig" in subprocess.run([p, "--help"], capture_output=True, text=True).stdout:
        return p
    return None


_SETPRIV = _find_setpriv()


def log(msg):
    print(msg, flush=True)


def pick_ports(n):
    """n free TCP ports on 127.0.0.1 below the ephemeral range (so no
    outgoing connection is ever given one by the kernel meanwhile)."""
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    rng = random.SystemRandom()
    ports = []
    while len(ports) < n:
        p = rng.randrange(15000, lo) if lo > 16000 else 0
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, p))
            p = s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
        if p not in ports:
            ports.append(p)
    return ports


# -- network namespaces -------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
_ns_lock = threading.Lock()


@contextlib.contextmanager
def in_netns(name):
    """Runs the block's socket creation in network namespace `name` (this
    thread only); sockets made inside stay in it."""
    if name is None:
        yield
        return
    with open("/proc/thread-self/ns/net") as cur, open("/run/netns/" + name) as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (name, os.strerror(e)))
        try:
            yield
        finally:
            if _libc.setns(cur.fileno(), CLONE_NEWNET) != 0:
                # This thread would go on in the wrong namespace.
                os._exit(70)


# -- a connection -------------------------------------------------------------

class Conn(RespConn):
    """keelserver.RespConn (whole-reply reads), made in a network namespace
    when asked, with TCP_NODELAY; cmd() returns the parsed value."""

    def __init__(self, port, timeout=2.0, netns=None, host=HOST):
        with in_netns(netns):
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self._rx = bytearray(1 << 16)
        self._rxv = memoryview(self._rx)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def settimeout(self, t):
        self.sock.settimeout(t)

    def cmd(self, *args):
        self.send(encode(*args))
        return parse_value(self.reply())


CONN_ERRORS = (OSError, EOFError, ValueError)  # socket.timeout is an OSError


# -- nodes and clusters -------------------------------------------------------

class Node:
    def __init__(self, cluster, i):
        self.cluster = cluster
        self.id = i
        self.dir = os.path.join(cluster.root, "node%d" % i)
        os.makedirs(self.dir)
        self.netns = cluster.lab.ns(i) if cluster.lab else None
        self.proc = None
        self.port = None
        self.paused = False
        self.lives = 0
        self._log = []
        self._lock = threading.Lock()

    def command(self):
        c = self.cluster
        cmd = [server_binary(), "--bind", HOST, "--port", "0", "--dir", self.dir,
               "--node-id", str(self.id), "--cluster-peers", c.peers,
               "--cluster-election-ms", str(c.election_ms), "--http-port", "-1"] + c.extra_args
        if _SETPRIV:
            # Dies with the thread that started it (nodes are started from
            # the main thread): a test runner killed with -9 leaves no node.
            cmd = [_SETPRIV, "--pdeathsig", "KILL"] + cmd
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd  # exec's: same pid
        return cmd

    def start(self, timeout=20.0):
        assert not self.alive()
        self.lives += 1
        self.port = None
        self.paused = False
        with self._lock:
            self._log.append(b"=== node %d start #%d at %.3f ===\n" % (self.id, self.lives, time.monotonic()))
        proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _procs.add(proc)
        self.proc = proc
        ready = threading.Event()
        port = []

        def drain():
            try:
                for line in iter(proc.stdout.readline, b""):
                    with self._lock:
                        self._log.append(line)
                    if not port:
                        m = READY.search(line)
                        if m:
                            port.append(int(m.group(1)))
                            ready.set()
            finally:
                ready.set()
                proc.stdout.close()

        threading.Thread(target=drain, daemon=True).start()
        ready.wait(timeout)
        if not port:
            self.kill()
            raise RuntimeError("node %d did not start:\n%s" % (self.id, self.log_tail(30)))
        self.port = port[0]
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        """kill -9 (a paused node too) and wait for it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        _procs.discard(self.proc)
        self.proc = None
        self.paused = False

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def log_tail(self, n):
        with self._lock:
            lines = list(self._log[-n:])
        return b"".join(lines).decode(errors="replace")

    @property
    def log(self):
        with self._lock:
            return b"".join(self._log)

    # -- talking to it --

    def conn(self, timeout=2.0):
        if not self.alive() or self.port is None:
            raise ConnectionRefusedError("node %d is down" % self.id)
        return Conn(self.port, timeout=timeout, netns=self.netns)

    def call(self, *args, timeout=2.0):
        """One command on a fresh connection: the parsed reply (errors as
        RespError). Raises CONN_ERRORS when it cannot get a reply."""
        c = self.conn(timeout)
        try:
            return c.cmd(*args)
        finally:
            c.close()

    def info(self, timeout=1.0):
        """INFO raft as a dict, or None when the node does not answer."""
        if not self.alive() or self.paused:
            return None
        try:
            v = self.call("INFO", "raft", timeout=timeout)
        except CONN_ERRORS:
            return None
        if not isinstance(v, bytes):
            return None
        d = {}
        for line in v.decode().split("\r\n"):
            if ":" in line and not line.startswith("#"):
                k, _, val = line.partition(":")
                d[k] = int(val) if re.fullmatch(r"-?\d+", val) else val
        return d


class Cluster:
    """N keel-server nodes forming one Raft group.

    lab: a NetLab (each node in its own network namespace) or None (all on
    127.0.0.1)."""

    def __init__(self, n, election_ms=ELECTION_MS, lab=None, extra_args=()):
        self.n = n
        self.ids = list(range(1, n + 1))
        self.election_ms = election_ms
        self.lab = lab
        self.extra_args = list(extra_args)
        self.root = tempfile.mkdtemp(prefix="keel-ct-")
        _roots.add(self.root)
        self.history = History()
        self._set_peers()
        self.nodes = {i: Node(self, i) for i in self.ids}

    def _set_peers(self):
        if self.lab:
            addrs = {i: (self.lab.addr(i), 7000) for i in self.ids}
        else:
            ports = pick_ports(self.n)
            addrs = {i: (HOST, ports[k]) for k, i in enumerate(self.ids)}
        self.peers = ",".join("%d@%s:%d" % (i, h, p) for i, (h, p) in sorted(addrs.items()))

    @property
    def election_s(self):
        return self.election_ms / 1000.0

    def start_all(self):
        for attempt in range(3):
            try:
                for i in self.ids:
                    self.nodes[i].start()
                return self
            except RuntimeError as e:
                # A bus port taken meanwhile by someone else: new ports.
                if "could not listen" not in str(e) or self.lab or attempt == 2:
                    raise
                for nd in self.nodes.values():
                    nd.kill()
                self._set_peers()
        return self

    def kill_all(self):
        """SIGKILL every node at once (signals first, then the waits)."""
        for nd in self.nodes.values():
            if nd.alive():
                nd.proc.kill()
        for nd in self.nodes.values():
            nd.kill()

    def close(self):
        for nd in self.nodes.values():
            if nd.alive():
                nd.resume()
            nd.kill()
        shutil.rmtree(self.root, ignore_errors=True)
        _roots.discard(self.root)

    def alive(self):
        return [i for i in self.ids if self.nodes[i].alive() and not self.nodes[i].paused]

    def infos(self, among=None):
        ids = among if among is not None else self.alive()
        out = {}
        for i in ids:
            d = self.nodes[i].info()
            if d is not None:
                out[i] = d
        return out

    def leader(self, among=None, min_term=0):
        """The node that says it leads with the highest term (at least
        min_term) among the nodes that answer, or None."""
        best = None
        for i, d in self.infos(among).items():
            if d.get("role") == "leader" and d.get("term", 0) >= min_term:
                if best is None or d["term"] > best[1]:
                    best = (i, d["term"])
        return best[0] if best else None

    def wait_leader(self, timeout=None, among=None, min_term=0):
        timeout = timeout or max(10.0, 20 * self.election_s)
        return wait_until(lambda: self.leader(among, min_term), timeout, interval=0.05,
                          what="a leader (term >= %d)" % min_term)

    def wait_write(self, among=None, timeout=None, key="probe"):
        """Sends SET key through every node of `among` (default: the live
        ones) in parallel, again and again, until one is acknowledged;
        returns (the monotonic time of the first acknowledgement, node id).
        The probe key is not part of any checked history."""
        timeout = timeout or max(15.0, 30 * self.election_s)
        ids = list(among if among is not None else self.alive())
        done = threading.Event()
        first = []
        lock = threading.Lock()
        deadline = time.monotonic() + timeout

        def probe(i):
            seq = 0
            while not done.is_set() and time.monotonic() < deadline:
                seq += 1
                try:
                    v = self.nodes[i].call("SET", key, "%d.%d" % (i, seq), timeout=1.0)
                except CONN_ERRORS:
                    time.sleep(0.02)
                    continue
                if v == "OK":
                    t = time.monotonic()
                    with lock:
                        if not first:
                            first.append((t, i))
                    done.set()
                    return
                time.sleep(0.02)

        ts = [threading.Thread(target=probe, args=(i,), daemon=True) for i in ids]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout + 2)
        done.set()
        if not first:
            raise AssertionError("no write through %s was acknowledged within %.1fs" % (ids, timeout))
        return first[0]

    def digests(self, among=None):
        out = {}
        for i in (among if among is not None else self.alive()):
            try:
                out[i] = self.nodes[i].call("DEBUG", "DIGEST", timeout=2.0)
            except CONN_ERRORS:
                out[i] = None
        return out

    def converged(self, among=None):
        """Every node of `among` (default all) answers, one of them leads,
        all have the same commit and applied index (applied == commit) and
        the same DEBUG DIGEST. Returns the common state or None."""
        ids = among if among is not None else self.ids
        infos = self.infos(ids)
        if len(infos) != len(ids):
            return None
        if not any(d.get("role") == "leader" for d in infos.values()):
            return None
        commits = {d.get("commit_index") for d in infos.values()}
        applied = {d.get("applied_index") for d in infos.values()}
        if len(commits) != 1 or commits != applied:
            return None
        dg = self.digests(ids)
        if len(set(dg.values())) != 1 or None in dg.values():
            return None
        return {"commit_index": commits.pop(), "digest": next(iter(dg.values()))}

    def wait_converged(self, among=None, timeout=30.0):
        return wait_until(lambda: self.converged(among), timeout, interval=0.1,
                          what="nodes %s to converge (same indexes and digest)" % (among or self.ids))

    def wait_caught_up(self, i, timeout=30.0):
        """Waits until node i follows a leader and has applied everything
        the leader had committed when the wait began (the cluster may be
        under load meanwhile). Returns node i's INFO raft."""
        l = self.wait_leader(among=[j for j in self.alive() if j != i] or None)
        target = self.nodes[l].info()["commit_index"]

        def ok():
            d = self.nodes[i].info()
            if d and d.get("role") == "follower" and d.get("leader_id", 0) != 0 \
                    and d.get("applied_index", 0) >= target:
                return d
            return None
        return wait_until(ok, timeout, interval=0.05,
                          what="node %d to follow and apply up to %d" % (i, target))

    def describe(self):
        """One line per node: alive, role, term, indexes."""
        lines = []
        for i in self.ids:
            nd = self.nodes[i]
            d = nd.info(timeout=0.5)
            state = "down" if not nd.alive() else "paused" if nd.paused else "up"
            if d:
                lines.append("  node %d %s role=%s term=%s leader=%s commit=%s applied=%s last=%s" % (
                    i, state, d.get("role"), d.get("term"), d.get("leader_id"), d.get("commit_index"),
                    d.get("applied_index"), d.get("last_index")))
            else:
                lines.append("  node %d %s (no answer)" % (i, state))
        return "\n".join(lines)

    def save_artifacts(self, name):
        base = os.environ.get("KEEL_CLUSTER_ARTIFACTS")
        if not base:
            return None
        d = os.path.join(base, "%s-%d" % (re.sub(r"[^\w.-]", "_", name), int(time.time())))
        os.makedirs(d, exist_ok=True)
        self.history.write(os.path.join(d, "history.txt"))
        for i, nd in self.nodes.items():
            with open(os.path.join(d, "node%d.log" % i), "wb") as f:
                f.write(nd.log)
        return d


# -- histories ----------------------------------------------------------------

def esc(b):
    """keel-lincheck's string field body: %XX for anything but printable
    ASCII other than space and '%'."""
    if isinstance(b, str):
        b = b.encode()
    return "".join(chr(c) if 0x20 < c < 0x7f and c != 0x25 else "%%%02X" % c for c in b)


class History:
    """Operations as clients saw them (thread-safe)."""

    def __init__(self):
        self.ops = []  # (client, call, ret|None, kind, key, arg, result, node)
        self.failed = 0  # definite errors, left out
        self.errors = {}  # error code -> count (definite and unknown)
        self.lock = threading.Lock()

    def add(self, client, call, ret, kind, key, arg, result, node=None):
        with self.lock:
            self.ops.append((client, call, ret, kind, key, arg, result, node))

    def count_error(self, code, definite):
        with self.lock:
            self.errors[code] = self.errors.get(code, 0) + 1
            if definite:
                self.failed += 1

    def lines(self):
        with self.lock:
            ops = sorted(self.ops, key=lambda o: o[1])
        out = []
        for client, call, ret, kind, key, arg, result, node in ops:
            a = "-" if arg is None else "=" + esc(arg)
            if ret is None:
                r, rs = "?", "?"
            else:
                r = str(ret)
                if kind == "GET":
                    rs = "nil" if result is None else "=" + esc(result)
                elif isinstance(result, RespError):
                    rs = "ERR"
                elif kind == "SET":
                    rs = "OK"
                else:
                    rs = str(result)
            note = "" if node is None else " # node %d" % node  # the node the client talked to
            out.append("%d %d %s %s %s %s %s%s" % (client, call, r, kind, esc(key), a, rs, note))
        return out

    def write(self, path):
        with open(path, "w") as f:
            f.write("# client call ret KIND key arg result (cmd/keel-lincheck.c)\n")
            for line in self.lines():
                f.write(line + "\n")

    def summary(self):
        with self.lock:
            known = sum(1 for o in self.ops if o[2] is not None)
            return "ops=%d known=%d unknown=%d failed=%d errors=%s" % (
                len(self.ops), known, len(self.ops) - known, self.failed,
                ",".join("%s:%d" % kv for kv in sorted(self.errors.items())) or "none")

    def check(self, path):
        """Writes the history to path and runs keel-lincheck on it: (exit
        code, output)."""
        self.write(path)
        t0 = time.monotonic()
        p = subprocess.run([lincheck_binary(), path], capture_output=True, text=True, timeout=300)
        took = time.monotonic() - t0
        return p.returncode, (p.stdout + p.stderr).strip() + "\n(keel-lincheck took %.2fs)" % took

    # -- what the ops say about the final values --

    def acked(self, kind, key):
        with self.lock:
            return [o for o in self.ops if o[3] == kind and o[4] == key and o[2] is not None
                    and not isinstance(o[6], RespError)]

    def unknown(self, kind, key):
        with self.lock:
            return [o for o in self.ops if o[3] == kind and o[4] == key and o[2] is None]


_client_ids = iter(range(1, 1 << 30))
_client_lock = threading.Lock()


def new_client_id():
    with _client_lock:
        return next(_client_ids)


class Client:
    """One client: a connection to one node at a time; every operation goes
    into the cluster's history."""

    def __init__(self, cluster, node_id, timeout=2.0):
        self.cluster = cluster
        self.id = new_client_id()
        self.node_id = node_id
        self.timeout = timeout
        self.conn = None
        self.pending = []
        self.broken = None

    def drop(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def connect(self, node_id=None):
        """Connects to node_id (default: the current one); raises
        CONN_ERRORS when it cannot."""
        if node_id is not None and node_id != self.node_id:
            self.drop()
            self.node_id = node_id
        if self.conn is None:
            self.conn = self.cluster.nodes[self.node_id].conn(timeout=self.timeout)
        return self.conn

    def op(self, kind, key, arg=None):
        """Runs one command and records it. Returns ("ok", value),
        ("failed", error) or ("unknown", error-or-exception). Raises
        CONN_ERRORS only when it could not connect (nothing was sent)."""
        return self.pipeline([(kind, key, arg)])[0]

    def pipeline(self, cmds):
        """Sends every (kind, key, arg) of cmds at once, then reads their
        replies in order; one outcome each, as op() returns."""
        self.begin(cmds)
        return [self.end() for _ in cmds]

    def begin(self, cmds):
        """Sends commands without waiting for their replies (end() reads
        one). Raises CONN_ERRORS only when it could not connect."""
        if isinstance(cmds, str):
            raise TypeError("begin takes a list of (kind, key, arg)")
        conn = self.connect()
        call = time.monotonic_ns()
        self.pending = [(kind, key, arg, call) for kind, key, arg in cmds]
        self.broken = None
        try:
            conn.send(b"".join(encode(*([kind, key] + ([arg] if arg is not None else [])))
                               for kind, key, arg in cmds))
        except CONN_ERRORS as e:
            self.broken = e

    def end(self):
        """The outcome of the oldest command begin() sent, recorded. Once
        the connection fails, every command still out is unknown."""
        kind, key, arg, call = self.pending.pop(0)
        h = self.cluster.history
        try:
            if self.broken is not None:
                raise self.broken
            raw = self.conn.reply()
            ret = time.monotonic_ns()
            v = parse_value(raw)
        except CONN_ERRORS as e:
            self.broken = e
            self.drop()
            h.add(self.id, call, None, kind, key, arg, None, self.node_id)
            h.count_error(type(e).__name__, False)
            return "unknown", e
        if isinstance(v, RespError):
            code = v.split(" ", 1)[0]
            if code in DEFINITE:
                h.count_error(code, True)
                return "failed", v
            h.count_error(code, False)
            h.add(self.id, call, None, kind, key, arg, None, self.node_id)
            return "unknown", v
        h.add(self.id, call, ret, kind, key, arg, v, self.node_id)
        return "ok", v


# -- load ---------------------------------------------------------------------

class Load:
    """Client threads issuing a random mix of operations on a few keys,
    each client on one node at a time; after an error it moves on to the
    next live node (a paused node looks alive: its clients time out).

    Keys: r<k> registers (SET of a unique value, GET), c<k> counters (INCR,
    GET), a<k> append keys (APPEND of a unique token "<client>.<seq>,", GET).
    With pipeline > 1 each client sends 1..pipeline commands at once (a
    follower forwards them in one request); each op's interval runs from
    the send to its own reply.
    """

    def __init__(self, cluster, clients=6, keys=2, reads=0.4, seed=None, timeout=2.0, among=None,
                 think=0.004, pipeline=1):
        self.cluster = cluster
        self.pipeline = pipeline  # each round trip sends 1..pipeline commands
        self.think = think  # each client waits up to this long between ops
        self.nclients = clients
        self.keys = keys
        self.reads = reads
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.timeout = timeout
        self.among = among
        self.stop_ev = threading.Event()
        self.threads = []
        self.clients = []
        self.acks = 0
        self.lock = threading.Lock()
        self.tokens = {}  # client id -> [(key, token, acked)] in issue order

    def start(self):
        ids = list(self.among or self.cluster.ids)
        for k in range(self.nclients):
            c = Client(self.cluster, ids[k % len(ids)], timeout=self.timeout)
            self.clients.append(c)
            self.tokens[c.id] = []
            t = threading.Thread(target=self._run, args=(c, random.Random(self.seed + k)), daemon=True)
            self.threads.append(t)
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(self.timeout + 10)
            if t.is_alive():
                raise AssertionError("a load thread did not stop")
        for c in self.clients:
            c.drop()

    def wait_acks(self, n, timeout=20.0):
        start = self.acks
        wait_until(lambda: self.acks - start >= n, timeout, interval=0.02,
                   what="%d acknowledged operations" % n)

    def _next_node(self, c):
        ids = list(self.among or self.cluster.ids)
        k = ids.index(c.node_id) if c.node_id in ids else -1
        return ids[(k + 1) % len(ids)]

    def _run(self, c, rng):
        seq = 0
        while not self.stop_ev.is_set():
            try:
                c.connect()
            except CONN_ERRORS:
                c.node_id = self._next_node(c)
                self.stop_ev.wait(0.02)
                continue
            cmds = []
            for _ in range(rng.randint(1, self.pipeline)):
                kind = rng.choice("rca")
                key = "%s%d" % (kind, rng.randrange(self.keys))
                seq += 1
                if rng.random() < self.reads:
                    cmds.append(("GET", key, None))
                elif kind == "r":
                    cmds.append(("SET", key, "%d.%d" % (c.id, seq)))
                elif kind == "c":
                    cmds.append(("INCR", key, None))
                else:
                    cmds.append(("APPEND", key, "%d.%d," % (c.id, seq)))
            try:
                outcomes = c.pipeline(cmds)
            except CONN_ERRORS:
                continue  # could not connect: nothing was sent
            for (kind, key, arg), (res, _) in zip(cmds, outcomes):
                if kind == "APPEND":
                    with self.lock:
                        self.tokens[c.id].append((key, arg, res))
            if all(res == "ok" for res, _ in outcomes):
                with self.lock:
                    self.acks += len(outcomes)
                if self.think:
                    self.stop_ev.wait(rng.uniform(0, self.think))
            else:
                with self.lock:
                    self.acks += sum(1 for res, _ in outcomes if res == "ok")
                # Elsewhere for a while: the node may be down or cut off.
                c.drop()
                c.node_id = self._next_node(c)
                self.stop_ev.wait(0.01)


def final_reads(cluster, keys, through=None):
    """GETs of every key through each node of `through` (default: all
    live), recorded in the history; returns {key: {node: value}} for the
    known replies."""
    out = {}
    for i in (through if through is not None else cluster.alive()):
        cl = Client(cluster, i, timeout=5.0)
        for key in keys:
            for _ in range(20):
                try:
                    res, v = cl.op("GET", key)
                except CONN_ERRORS:
                    res = "refused"
                if res == "ok":
                    out.setdefault(key, {})[i] = v
                    break
                time.sleep(0.1)
        cl.drop()
    return out


def check_no_loss(tc, load, values):
    """Asserts what the acknowledged writes say about final values (one
    per key, read after everything settled): counters between the
    acknowledged INCRs and those attempted; every acknowledged token
    present once, tokens only from APPENDs sent, each client's acknowledged
    tokens in the order it sent them; registers hold a value that was SET.
    Returns a one-line summary."""
    h = load.cluster.history
    stats = []
    for key, v in sorted(values.items()):
        if key[0] == "c":
            acked = len(h.acked("INCR", key))
            tried = acked + len(h.unknown("INCR", key))
            n = int(v) if v is not None else 0
            tc.assertGreaterEqual(n, acked, "%s: an acknowledged INCR was lost" % key)
            tc.assertLessEqual(n, tried, "%s: more INCRs applied than were sent" % key)
            stats.append("%s=%d(acked %d, sent %d)" % (key, n, acked, tried))
        elif key[0] == "a":
            got = (v or b"").decode()
            toks = [t + "," for t in got.split(",")[:-1]]
            tc.assertTrue(got == "" or got.endswith(","), "%s: a torn token: %r" % (key, got[-40:]))
            pos = {}
            for k, t in enumerate(toks):
                tc.assertNotIn(t, pos, "%s: token %s appears twice" % (key, t))
                pos[t] = k
            sent = set()
            nacked = 0
            for cid, lst in load.tokens.items():
                last = -1
                for (k2, tok, res) in lst:
                    if k2 != key:
                        continue
                    if res != "failed":
                        sent.add(tok)
                    if res == "ok":
                        nacked += 1
                        tc.assertIn(tok, pos, "%s: acknowledged token %s was lost" % (key, tok))
                        tc.assertGreater(pos[tok], last, "%s: client %d's token %s out of order" % (key, cid, tok))
                        last = pos[tok]
            for t in toks:
                tc.assertIn(t, sent, "%s: token %s was never sent (or failed)" % (key, t))
            stats.append("%s=%d tokens(acked %d)" % (key, len(toks), nacked))
        elif key[0] == "r":
            sets = {o[5].encode() for o in h.acked("SET", key)} | {o[5].encode() for o in h.unknown("SET", key)}
            if v is not None:
                tc.assertIn(v, sets, "%s: a value nobody SET: %r" % (key, v))
            stats.append("%s=%s" % (key, v.decode() if v is not None else "nil"))
    return " ".join(stats)


def load_keys(load):
    return ["%s%d" % (k, i) for k in "rca" for i in range(load.keys)]


# -- network namespaces -------------------------------------------------------

class NetLab:
    """Each node in its own network namespace, its interface e0 (address
    10.77.0.<id>/24) a veth whose other end is on a bridge in a hub
    namespace; nothing is created in the caller's namespace. Cutting node i
    off sets its hub end down; healing sets it up.

    Names start with "keelct<pid>-"; leftovers of a process that is gone
    (a run killed before it could clean up) are removed at start."""

    PREFIX = "keelct"

    def __init__(self, ids):
        self.ids = list(ids)
        self.tag = "%s%d" % (self.PREFIX, os.getpid())
        self.hub = self.tag + "-hub"
        self.made = []
        self.made_bridges = set()
        _cleanups.append(self.close)

    @staticmethod
    def available():
        """None if namespaces can be used, else why not."""
        if os.geteuid() != 0:
            return "not root"
        if shutil.which("ip") is None:
            return "no ip(8)"
        name = "%sprobe%d" % (NetLab.PREFIX, os.getpid())
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if r.returncode != 0:
            return "ip netns add failed: %s" % r.stderr.strip()
        try:
            r = subprocess.run(["ip", "-n", name, "link", "add", "b0", "type", "bridge"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                return "no bridge in a namespace: %s" % r.stderr.strip()
            r = subprocess.run(["ip", "-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                return "no veth: %s" % r.stderr.strip()
        finally:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        return None

    @classmethod
    def remove_leftovers(cls):
        r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            m = re.match(r"%s(?:probe)?(\d+)" % cls.PREFIX, name)
            if not m or os.path.exists("/proc/%s" % m.group(1)):
                continue
            # Servers a killed run left inside: ours, by construction.
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            log("removed a leftover namespace %s" % name)

    def ns(self, i):
        return "%s-n%d" % (self.tag, i)

    def addr(self, i):
        return "10.77.0.%d" % i

    def _ip(self, *args):
        r = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))

    def _add_ns(self, name):
        self._ip("netns", "add", name)
        self.made.append(name)
        self._ip("-n", name, "link", "set", "lo", "up")

    def setup(self):
        self.remove_leftovers()
        self._add_ns(self.hub)
        self._ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        self._ip("-n", self.hub, "link", "set", "br0", "up")
        for i in self.ids:
            ns = self.ns(i)
            self._add_ns(ns)
            self._ip("-n", self.hub, "link", "add", "h%d" % i, "type", "veth", "peer", "name", "e0", "netns", ns)
            self._ip("-n", self.hub, "link", "set", "h%d" % i, "master", "br0")
            self._ip("-n", self.hub, "link", "set", "h%d" % i, "up")
            self._ip("-n", ns, "addr", "add", self.addr(i) + "/24", "dev", "e0")
            self._ip("-n", ns, "link", "set", "e0", "up")
        return self

    def cut(self, i):
        self._ip("-n", self.hub, "link", "set", "h%d" % i, "down")

    def split(self, group):
        """Partitions the nodes of `group` from the others: their links move
        to a second bridge (they still reach each other). join() undoes it."""
        if "br1" not in self.made_bridges:
            self._ip("-n", self.hub, "link", "add", "br1", "type", "bridge")
            self._ip("-n", self.hub, "link", "set", "br1", "up")
            self.made_bridges.add("br1")
        for i in group:
            self._ip("-n", self.hub, "link", "set", "h%d" % i, "master", "br1")

    def join(self):
        for i in self.ids:
            self._ip("-n", self.hub, "link", "set", "h%d" % i, "master", "br0")

    def heal(self, i):
        self._ip("-n", self.hub, "link", "set", "h%d" % i, "up")

    def close(self):
        for name in reversed(self.made):
            # Deleting a namespace deletes the veth ends in it (and so
            # their peers) and the bridge.
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.made = []


# -- the test base ------------------------------------------------------------

class ClusterTestCase(unittest.TestCase):
    """Clusters made with self.cluster() are closed after the test (all
    processes killed, directories removed); on a failure each node's last
    log lines are printed and the history and logs saved first."""

    def cluster(self, n, **kw):
        c = Cluster(n, **kw)
        self._clusters.append(c)
        return c

    def after_clusters(self, fn):
        """fn() runs once this test's clusters are closed, pass or fail."""
        self._after.append(fn)

    def run(self, result=None):
        self._clusters = []
        self._after = []
        before = len(result.failures) + len(result.errors) if result is not None else 0
        t0 = time.monotonic()
        try:
            return super().run(result)
        finally:
            failed = result is not None and len(result.failures) + len(result.errors) > before
            for c in self._clusters:
                if failed:
                    try:
                        log("--- cluster state at the failure:\n" + c.describe())
                        for i, nd in c.nodes.items():
                            log("--- node %d, last lines of its log:\n%s" % (i, nd.log_tail(25)))
                        log("--- history: " + c.history.summary())
                        d = c.save_artifacts(self.id())
                        if d:
                            log("--- history and logs saved in %s" % d)
                    except Exception as e:  # noqa: BLE001 - reporting must not hide the failure
                        log("(could not report: %r)" % e)
                c.close()
            for fn in reversed(self._after):
                fn()
            log("%s took %.1fs" % (self.id().split(".")[-1], time.monotonic() - t0))

    def write(self, c, key, value, among, timeout=15.0):
        """SET through the nodes of `among`, in turn, until one
        acknowledges it. An unknown outcome stays in the history: the later
        SET wins anyway only if it is acknowledged after it."""
        deadline = time.monotonic() + timeout
        k = 0
        while time.monotonic() < deadline:
            cl = Client(c, among[k % len(among)])
            k += 1
            try:
                res, v = cl.op("SET", key, value)
            except OSError:
                res = "refused"
            cl.drop()
            if res == "ok":
                return
            time.sleep(0.05)
        self.fail("SET %s %s was not acknowledged within %.0fs" % (key, value, timeout))

    def settle_and_check(self, c, load):
        """Stops the load, waits for every node to hold the same state,
        reads every key through every node (recorded) and checks the
        final values against the acknowledged writes and the whole
        history for linearizability. Returns the final value of each key.
        (Stopping a load twice is harmless.)"""
        load.stop()
        state = c.wait_converged()
        vals = final_reads(c, load_keys(load))
        for key, by_node in sorted(vals.items()):
            self.assertEqual(sorted(by_node), c.ids, "%s: no answer from some node" % key)
            self.assertEqual(len(set(by_node.values())), 1, "%s: nodes disagree: %r" % (key, by_node))
        log("converged at commit index %d, digest %s" % (state["commit_index"], state["digest"]))
        final = {k: next(iter(v.values())) for k, v in vals.items()}
        log("final: " + check_no_loss(self, load, final))
        self.assert_linearizable(c)
        return final

    def assert_linearizable(self, c, name="history"):
        path = os.path.join(c.root, name + ".txt")
        rc, out = c.history.check(path)
        log("keel-lincheck (%s): %s\n%s" % (name, c.history.summary(), out))
        self.assertEqual(rc, 0, "the history is not linearizable (or the check gave up):\n" + out)
