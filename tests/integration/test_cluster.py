"""A replicated cluster of real keel-server processes (issue #7, first part):
three nodes on 127.0.0.1 bootstrapped with --node-id/--cluster-peers, talking
over the cluster bus.

- writes, linearizable reads and transactions work on every node: a
  follower forwards them to the leader over the bus and relays the reply;
  a client blocked on a follower is served by a push on another node;
- kill -9 the leader under a stream of INCRs and APPENDs: a new leader serves
  within a few election timeouts and every acknowledged write is there, each
  appended string a prefix of what was sent (no loss, duplicate or reorder);
  the old leader comes back as a follower and catches up;
- stop every node at once and start them again: everything acknowledged is
  there.
"""
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keelserver import KeelServer, RespError, main, parse_value, wait_until  # noqa: E402

ELECTION_MS = 300


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self, n):
        self.ids = list(range(1, n + 1))
        self.bus_ports = {i: free_port() for i in self.ids}
        self.peers = ",".join("%d@127.0.0.1:%d" % (i, self.bus_ports[i]) for i in self.ids)
        self.dirs = {}
        self.nodes = {}

    def start(self, i):
        """Starts node i on its own data directory, which outlives the
        process (the later --dir wins over KeelServer's throwaway one)."""
        if i not in self.dirs:
            self.dirs[i] = tempfile.mkdtemp(prefix="keel-cluster-%d-" % i)
        s = KeelServer("--node-id", str(i), "--cluster-peers", self.peers, "--http-port", "-1",
                       "--cluster-election-ms", str(ELECTION_MS), "--dir", self.dirs[i])
        self.nodes[i] = s.start()
        return s

    def remove_dirs(self):
        for d in self.dirs.values():
            shutil.rmtree(d, ignore_errors=True)

    def start_all(self):
        for i in self.ids:
            self.start(i)
        return self

    def stop_all(self, sig=signal.SIGTERM):
        for s in self.nodes.values():
            if s.alive():
                s.stop(sig=sig)

    def leader(self):
        """The node whose INFO raft says it leads (and that commits: its
        first entry of the term is applied), or None."""
        for i, s in self.nodes.items():
            if not s.alive():
                continue
            try:
                info = parse_value(s.call("INFO", "raft")).decode()
            except (OSError, EOFError):
                continue
            if "role:leader\r\n" in info:
                return i
        return None

    def wait_leader(self, timeout=10.0):
        return wait_until(self.leader, timeout, interval=0.05, what="a leader")


def call(server, *args):
    return parse_value(server.call(*args))


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.c = Cluster(3).start_all()

    def tearDown(self):
        self.c.stop_all(sig=signal.SIGKILL)
        self.c.remove_dirs()

    def test_every_node_takes_writes_and_reads(self):
        self.c.wait_leader()
        for i, s in sorted(self.c.nodes.items()):
            self.assertEqual(call(s, "SET", "k", "v%d" % i), "OK")
            self.assertEqual(call(s, "GET", "k"), b"v%d" % i)
            self.assertEqual(call(s, "INCR", "n"), i)
        # INFO raft: each node's view; the leader lists its peers' replication.
        lead = self.c.leader()
        for i, s in sorted(self.c.nodes.items()):
            info = call(s, "INFO", "raft").decode()
            self.assertIn("# Raft\r\nnode_id:%d\r\n" % i, info)
            self.assertIn("role:%s\r\n" % ("leader" if i == lead else "follower"), info)
            self.assertIn("leader_id:%d\r\n" % lead, info)
            self.assertIn("voters:3\r\n", info)
        info = call(self.c.nodes[lead], "INFO", "raft").decode()
        for i in self.c.ids:
            if i != lead:
                self.assertRegex(info, r"peer%d:match=\d+,lag=\d+,state=\w+,voter=1,connected=1" % i)
        # A transaction on a follower runs at the leader as one entry.
        f = next(i for i in self.c.ids if i != self.c.leader())
        conn = self.c.nodes[f].conn()
        self.assertEqual(parse_value(conn.cmd("MULTI")), "OK")
        self.assertEqual(parse_value(conn.cmd("INCR", "n")), "QUEUED")
        self.assertEqual(parse_value(conn.cmd("GET", "k")), "QUEUED")
        self.assertEqual(parse_value(conn.cmd("EXEC")), [4, b"v3"])
        # Blocked on one follower, served by a push on another node.
        conn.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        other = next(i for i in self.c.ids if i != f)
        self.assertEqual(call(self.c.nodes[other], "RPUSH", "q", "x"), 1)
        self.assertEqual(parse_value(conn.reply()), [b"q", b"x"])
        conn.close()

    def _load(self, server, stop, acked):
        """INCR n and APPEND a unique token to s, one at a time, until stop
        or the connection fails; records what was acknowledged."""
        seq = 0
        try:
            conn = server.conn(timeout=2.0)
            while not stop.is_set():
                seq += 1
                tok = "t%d," % seq
                if isinstance(parse_value(conn.cmd("INCR", "n")), int):
                    acked["incr"] += 1
                r = parse_value(conn.cmd("APPEND", "s", tok))
                if isinstance(r, int):
                    acked["tokens"].append(tok)
        except (OSError, EOFError, socket.timeout):
            pass
        finally:
            acked["sent"] = seq

    def test_a_killed_leader_loses_nothing_acknowledged(self):
        l = self.c.wait_leader()
        stop = threading.Event()
        acked = {"incr": 0, "tokens": []}
        t = threading.Thread(target=self._load, args=(self.c.nodes[l], stop, acked))
        t.start()
        wait_until(lambda: acked["incr"] >= 50, 20, what="50 acknowledged writes")
        self.c.nodes[l].stop(sig=signal.SIGKILL)
        killed = time.monotonic()
        stop.set()
        t.join(10)
        l2 = self.c.wait_leader()
        took = time.monotonic() - killed
        self.assertNotEqual(l2, l)
        self.assertLess(took, 10 * ELECTION_MS / 1000.0 + 2, "a new leader took %.1fs" % took)
        s2 = self.c.nodes[l2]
        n = call(s2, "GET", "n")
        self.assertGreaterEqual(int(n), acked["incr"])
        self.assertLessEqual(int(n), acked["sent"])
        got = call(s2, "GET", "s").decode()
        sent = "".join("t%d," % k for k in range(1, acked["sent"] + 1))
        self.assertTrue(sent.startswith(got), "not a prefix of what was sent: %r" % got[-80:])
        for tok in acked["tokens"]:
            self.assertIn(tok, got)
        # The old leader comes back from its disk as a follower and serves.
        self.c.start(l)
        self.assertEqual(call(s2, "INCR", "after"), 1)
        wait_until(lambda: call(self.c.nodes[l], "GET", "after") == b"1", 10,
                   what="the old leader to answer through the new one")
        self.assertEqual(call(self.c.nodes[l], "GET", "n"), n)

    def test_a_full_restart_keeps_everything(self):
        l = self.c.wait_leader()
        for k in range(100):
            self.assertEqual(call(self.c.nodes[l], "RPUSH", "list", str(k)), k + 1)
        self.c.stop_all()
        self.c.start_all()
        l2 = self.c.wait_leader()
        self.assertEqual(call(self.c.nodes[l2], "LLEN", "list"), 100)
        self.assertEqual(call(self.c.nodes[l2], "LINDEX", "list", "99"), b"99")


if __name__ == "__main__":
    main()
