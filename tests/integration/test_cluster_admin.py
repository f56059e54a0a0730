"""Operating a cluster of real keel-server processes (issue #7, second
part): CLUSTER MYID/INFO/NODES, FAILOVER, FORGET, nodes joining with --join,
READONLY/READWRITE/CLUSTER CONSISTENCY, and the Raft figures on /metrics and
/health.

- every node of a 3-node cluster tells the same story through CLUSTER
  MYID/INFO/NODES; bad subcommands and ids are refused, and a server that is
  no cluster node refuses the cluster commands as Redis does;
- CLUSTER FAILOVER on a follower makes it the leader (on the leader: an
  error), FAILOVER TO <id> sent to a third node hands the leadership over;
- a node joins with --join under a writer while the leader has compacted its
  log (so it catches up from a snapshot), becomes a voter with all the data,
  and restarts later without --join; a joiner whose id is below every
  member's joins too;
- CLUSTER FORGET of a follower and then of the leader under a writer (the
  reply is OK even when the leader forgotten is the one it went through);
  a forgotten leader that keeps running is not taken back in;
- a follower whose disk was wiped comes back with --join under its old id;
- READONLY reads on a follower are served there, even with no majority (the
  default reads then fail fast instead of hanging); lease reads;
- /metrics (keel_raft_*, keel_bus_*), /health and /ready on cluster nodes.

Under every writer: each acknowledged INCR is counted (final value between
the acknowledged and the attempted), each acknowledged APPENDed token is
there exactly once and no token twice.
"""
import collections
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keelserver import KeelServer, RespError, main, parse_value, wait_until  # noqa: E402

ELECTION_MS = 300
NO_CLUSTER = "ERR This instance has cluster support disabled"
# What a command may get from a cluster that cannot serve it: never a hang.
UNAVAILABLE = ("CLUSTERDOWN", "UNKNOWN", "TRYAGAIN")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, describe, interval=0.05):
    """wait_until, with describe() (called on a time-out) saying what was
    awaited and what there is instead."""
    try:
        return wait_until(pred, timeout, interval=interval, what="...")
    except AssertionError:
        raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, describe()))


def call(server, *args):
    return parse_value(server.call(*args))


def fields(text):
    """key:value lines (INFO, CLUSTER INFO) as a dict of strings."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.split("\r\n"):
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def cluster_info(server):
    return fields(call(server, "CLUSTER", "INFO"))


def raft_info(server):
    return fields(call(server, "INFO", "raft"))


def cluster_nodes(server):
    """CLUSTER NODES as {id: {addr, flags, leader, term, link}}."""
    out = {}
    for line in call(server, "CLUSTER", "NODES").decode().splitlines():
        f = line.split(" ")
        if len(f) != 8:
            raise AssertionError("bad CLUSTER NODES line %r" % line)
        out[int(f[0])] = {"addr": f[1], "flags": f[2].split(","), "leader": f[3],
                          "ping": f[4], "pong": f[5], "term": int(f[6]), "link": f[7]}
    return out


class Cluster:
    """Nodes by id, each with its own bus port and data directory (which
    outlive its processes). The founders get --cluster-peers; others are
    started with --join."""

    def __init__(self, ids, snapshot_entries=None):
        self.founders = list(ids)
        self.ids = self.founders
        self.bus_ports = {i: free_port() for i in self.founders}
        self.peers = ",".join("%d@127.0.0.1:%d" % (i, self.bus_ports[i]) for i in self.founders)
        self.snapshot_entries = snapshot_entries
        self.dirs = {}
        self.nodes = {}

    def start(self, i, join=None):
        """Starts node i: a founder (unless join is a member id, whose bus
        it then joins through), or a node restarting from what it saved."""
        if i not in self.dirs:
            self.dirs[i] = tempfile.mkdtemp(prefix="keel-cadm-%d-" % i)
        if i not in self.bus_ports:
            self.bus_ports[i] = free_port()
        args = ["--node-id", str(i), "--cluster-port", str(self.bus_ports[i]),
                "--cluster-election-ms", str(ELECTION_MS), "--http-port", "0",
                "--dir", self.dirs[i]]
        if i in self.founders and join is None:
            args += ["--cluster-peers", self.peers]
        if join is not None:
            args += ["--join", "127.0.0.1:%d" % self.bus_ports[join]]
        if self.snapshot_entries is not None:
            args += ["--cluster-snapshot-entries", str(self.snapshot_entries)]
        s = KeelServer(*args)
        self.nodes[i] = s.start()
        m = re.search(rb"http_port=(\d+)", s.log)
        s.http_port = int(m.group(1)) if m else None
        return s

    def start_all(self):
        for i in self.founders:
            self.start(i)
        return self

    def wipe(self, i):
        shutil.rmtree(self.dirs.pop(i), ignore_errors=True)

    def stop_all(self, sig=signal.SIGKILL):
        for s in self.nodes.values():
            if s.alive():
                s.stop(sig=sig)

    def remove_dirs(self):
        for d in self.dirs.values():
            shutil.rmtree(d, ignore_errors=True)

    def alive(self, ids=None):
        return [i for i in (ids or sorted(self.nodes)) if self.nodes[i].alive()]

    def agreed_leader(self, ids=None, voters=None):
        """The leader every node of ids (default: the live ones) names, if
        they all name the same one, it says it leads and (when given) they
        all count that many voters; else None."""
        try:
            infos = {i: cluster_info(self.nodes[i]) for i in (ids or self.alive())}
            seen = {int(ci["cluster_leader_id"]) for ci in infos.values()}
            if voters is not None and any(int(ci["cluster_voters"]) != voters
                                          for ci in infos.values()):
                return None
            if len(seen) != 1:
                return None
            lead = seen.pop()
            if lead == 0 or lead not in self.nodes or not self.nodes[lead].alive() or \
                    (ids is not None and lead not in ids):
                return None
            if cluster_info(self.nodes[lead])["cluster_role"] != "leader":
                return None
            return lead
        except (OSError, EOFError):
            return None

    def views(self, ids=None):
        """Each node's leader, voters and learners, for failure messages."""
        out = {}
        for i in ids or self.alive():
            try:
                ci = cluster_info(self.nodes[i])
                out[i] = "leader=%s voters=%s learners=%s role=%s" % (
                    ci["cluster_leader_id"], ci["cluster_voters"], ci["cluster_learners"],
                    ci["cluster_role"])
            except (OSError, EOFError) as e:
                out[i] = repr(e)
        return out

    def wait_leader(self, ids=None, voters=None, timeout=15.0):
        return wait_for(lambda: self.agreed_leader(ids, voters), timeout,
                        lambda: "an agreed leader (voters=%s): %s" % (voters, self.views(ids)))

    def wait_leader_is(self, lead, ids=None, voters=None, timeout=15.0):
        """Waits for every node of ids to name lead as the leader."""
        wait_for(lambda: self.agreed_leader(ids, voters) == lead, timeout,
                 lambda: "node %d to lead (voters=%s): %s" % (lead, voters, self.views(ids)))
        return lead

    def admin(self, i, *args, timeout=10.0):
        """A CLUSTER command on node i, retried while it says TRYAGAIN (a
        leader that has not committed in its term yet, a change pending)."""
        deadline = time.monotonic() + timeout
        while True:
            r = call(self.nodes[i], "CLUSTER", *args)
            if not (isinstance(r, RespError) and r.startswith("TRYAGAIN")) or \
                    time.monotonic() > deadline:
                return r
            time.sleep(0.05)


class Writer(threading.Thread):
    """INCR n and APPEND a unique token to s, one command at a time, through
    the nodes targets() names (the next one after an error or a lost
    connection). Every command sent is attempted; an integer reply is an
    acknowledgement."""

    def __init__(self, cluster, targets):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.targets = targets
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.attempted = 0
        self.acked = 0
        self.sent_tokens = set()
        self.acked_tokens = []
        self.errors = collections.Counter()
        self.crash = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # shown by the waits, not lost in the thread
            self.crash = e
            raise

    def _run(self):
        conn, turn, seq = None, 0, 0
        while not self.stop_ev.is_set():
            try:
                if conn is None:
                    ids = [i for i in self.targets() if self.cluster.nodes[i].alive()]
                    if not ids:
                        time.sleep(0.05)
                        continue
                    turn += 1
                    conn = self.cluster.nodes[ids[turn % len(ids)]].conn(timeout=5.0)
                seq += 1
                tok = "t%d" % seq
                with self.lock:
                    self.attempted += 1
                r = parse_value(conn.cmd("INCR", "n"))
                if isinstance(r, int):
                    with self.lock:
                        self.acked += 1
                else:
                    self.errors[r.split(" ")[0]] += 1
                with self.lock:
                    self.sent_tokens.add(tok)
                r = parse_value(conn.cmd("APPEND", "s", tok + ","))
                if isinstance(r, int):
                    with self.lock:
                        self.acked_tokens.append(tok)
                else:
                    self.errors[r.split(" ")[0]] += 1
                    conn.close()  # errors: try the next node
                    conn = None
            except (OSError, EOFError, ValueError):
                self.errors["connection"] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)
        if conn is not None:
            conn.close()

    def wait_acked(self, count, timeout=20.0):
        wait_for(lambda: self.acked >= count or self.crash, timeout,
                 lambda: "%d acknowledged INCRs (have %d; errors %s)" % (
                     count, self.acked, dict(self.errors)), interval=0.02)
        if self.crash:
            raise AssertionError("the writer failed: %r" % self.crash)

    def wait_progress(self, more=20, timeout=20.0):
        """Writes go on: `more` further acknowledgements."""
        self.wait_acked(self.acked + more, timeout)

    def finish(self):
        self.stop_ev.set()
        self.join(15)
        if self.is_alive():
            raise AssertionError("the writer did not stop")
        if self.crash:
            raise AssertionError("the writer failed: %r" % self.crash)

    def check(self, test, n, s):
        """n and s as read from the cluster once the writer stopped."""
        n = int(n or 0)
        test.assertGreaterEqual(n, self.acked, "an acknowledged INCR was lost")
        test.assertLessEqual(n, self.attempted, "more INCRs applied than sent")
        toks = (s or b"").decode().split(",")
        test.assertEqual(toks[-1], "", "s does not end with a whole token")
        counts = collections.Counter(toks[:-1])
        twice = [t for t, c in counts.items() if c > 1]
        test.assertEqual(twice, [], "tokens appended more than once")
        unknown = [t for t in counts if t not in self.sent_tokens]
        test.assertEqual(unknown, [], "tokens never sent")
        missing = [t for t in self.acked_tokens if t not in counts]
        test.assertEqual(missing, [], "acknowledged APPENDs lost")


class ClusterTestCase(unittest.TestCase):
    ids = (1, 2, 3)
    snapshot_entries = None

    def setUp(self):
        self.c = Cluster(self.ids, self.snapshot_entries).start_all()
        self.writer = None

    def tearDown(self):
        if self.writer is not None:
            self.writer.stop_ev.set()
            self.writer.join(15)
        self.c.stop_all()
        self.c.remove_dirs()

    def start_writer(self, targets):
        self.writer = Writer(self.c, targets)
        self.writer.start()
        return self.writer

    def final_check(self, via):
        """Stops the writer and checks n and s, read (linearizably) through
        node via."""
        self.writer.finish()
        s = self.c.nodes[via]
        self.writer.check(self, call(s, "GET", "n"), call(s, "GET", "s"))

    def http(self, i, path):
        """GET on node i's observability port: (status, body)."""
        url = "http://127.0.0.1:%d%s" % (self.c.nodes[i].http_port, path)
        try:
            r = urllib.request.urlopen(url, timeout=5)
            return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def readonly_values(self, i, keys=("n", "s")):
        conn = self.c.nodes[i].conn()
        try:
            self.assertEqual(parse_value(conn.cmd("READONLY")), "OK")
            return [parse_value(conn.cmd("GET", k)) for k in keys]
        finally:
            conn.close()

    def wait_applied(self, i, upto, timeout=20.0):
        """Node i has applied at least index upto."""
        wait_until(lambda: int(cluster_info(self.c.nodes[i])["cluster_applied_index"]) >= upto,
                   timeout, what="node %d to apply index %d" % (i, upto))

    def assert_same_data(self, i, lead):
        """Node i's own state (READONLY) equals the leader's, once it has
        applied all the leader committed."""
        self.wait_applied(i, int(cluster_info(self.c.nodes[lead])["cluster_commit_index"]))
        self.assertEqual(self.readonly_values(i), self.readonly_values(lead))


class ViewTest(ClusterTestCase):
    def test_every_node_tells_the_same_story(self):
        lead = self.c.wait_leader(voters=3)
        term = int(cluster_info(self.c.nodes[lead])["cluster_current_epoch"])
        # Every link comes up (the lower id dials).
        wait_until(lambda: all(n["link"] == "connected" for i in self.c.ids
                               for n in cluster_nodes(self.c.nodes[i]).values()),
                   10, what="every bus link up")
        for i in self.c.ids:
            s = self.c.nodes[i]
            self.assertEqual(call(s, "CLUSTER", "MYID"), str(i).encode())
            ci = cluster_info(s)
            self.assertEqual(ci["cluster_state"], "ok")
            self.assertEqual(ci["cluster_known_nodes"], "3")
            self.assertEqual(ci["cluster_size"], "3")
            self.assertEqual(ci["cluster_voters"], "3")
            self.assertEqual(ci["cluster_learners"], "0")
            self.assertEqual(ci["cluster_my_id"], str(i))
            self.assertEqual(ci["cluster_leader_id"], str(lead))
            self.assertEqual(ci["cluster_role"], "leader" if i == lead else "follower")
            self.assertEqual(int(ci["cluster_current_epoch"]), term)
            nodes = cluster_nodes(s)
            self.assertEqual(sorted(nodes), list(self.c.ids))
            for j, n in nodes.items():
                self.assertEqual(n["addr"], "127.0.0.1:%d@%d" % (self.c.nodes[j].port,
                                                                self.c.bus_ports[j]))
                self.assertEqual("myself" in n["flags"], i == j, (i, j, n))
                role = "master" if j == lead else "slave"
                self.assertIn(role, n["flags"])
                self.assertNotIn("nofailover", n["flags"])
                self.assertEqual(n["leader"], "-" if j == lead else str(lead))
                self.assertEqual(n["term"], term)
                self.assertEqual(n["link"], "connected")
        # The commit and applied indexes follow the writes.
        for k in range(10):
            self.assertEqual(call(self.c.nodes[self.c.ids[k % 3]], "INCR", "n"), k + 1)
        commit = int(cluster_info(self.c.nodes[lead])["cluster_commit_index"])
        self.assertGreaterEqual(commit, 10)
        for i in self.c.ids:
            self.wait_applied(i, commit)

    def test_bad_subcommands_and_ids(self):
        lead = self.c.wait_leader(voters=3)
        f = next(i for i in self.c.ids if i != lead)
        for i in (lead, f):
            s = self.c.nodes[i]
            r = call(s, "CLUSTER", "NOSUCH")
            self.assertIsInstance(r, RespError)
            self.assertTrue(r.startswith("ERR unknown subcommand 'NOSUCH'"), r)
            for args in (("FORGET", "abc"), ("FAILOVER", "TO", "abc"), ("FORGET", "1x")):
                self.assertEqual(call(s, "CLUSTER", *args),
                                 "ERR value is not an integer or out of range", args)
            self.assertEqual(call(s, "CLUSTER", "FORGET", "0"), "ERR Unknown node 0")
            self.assertEqual(call(s, "CLUSTER", "FORGET", "-3"), "ERR Unknown node -3")
            self.assertEqual(self.c.admin(i, "FORGET", "99"), "ERR Unknown node 99")
            self.assertEqual(self.c.admin(i, "FAILOVER", "TO", "99"), "ERR Unknown node 99")
            self.assertEqual(call(s, "CLUSTER", "FAILOVER", "BOGUS"), "ERR syntax error")
            self.assertEqual(call(s, "CLUSTER", "FAILOVER", "FORCE", "x"), "ERR syntax error")
            self.assertEqual(call(s, "CLUSTER", "CONSISTENCY", "bogus"), "ERR syntax error")
            for args in (("MYID", "x"), ("FORGET",), ("INFO", "x")):
                r = call(s, "CLUSTER", *args)
                self.assertIsInstance(r, RespError)
                self.assertTrue(r.startswith("ERR wrong number of arguments"), (args, r))
        # Nothing changed.
        self.c.wait_leader_is(lead, voters=3)
        self.assertEqual(cluster_info(self.c.nodes[lead])["cluster_learners"], "0")


class NoClusterTest(unittest.TestCase):
    def test_cluster_commands_without_cluster_mode(self):
        with KeelServer() as s:
            conn = s.conn()
            try:
                for args in (("READONLY",), ("READWRITE",), ("CLUSTER", "INFO"),
                             ("CLUSTER", "NODES"), ("CLUSTER", "MYID"), ("CLUSTER", "FAILOVER"),
                             ("CLUSTER", "FAILOVER", "TO", "1"), ("CLUSTER", "FORGET", "1"),
                             ("CLUSTER", "CONSISTENCY"), ("CLUSTER", "CONSISTENCY", "stale")):
                    self.assertEqual(parse_value(conn.cmd(*args)), NO_CLUSTER, args)
                # The connection still works as before.
                self.assertEqual(parse_value(conn.cmd("SET", "k", "v")), "OK")
                self.assertEqual(parse_value(conn.cmd("GET", "k")), b"v")
                self.assertIsInstance(parse_value(conn.cmd("CLUSTER", "HELP")), list)
            finally:
                conn.close()


class FailoverTest(ClusterTestCase):
    def test_failover_and_failover_to(self):
        lead = self.c.wait_leader(voters=3)
        w = self.start_writer(lambda: self.c.ids)
        w.wait_acked(30)
        term0 = int(cluster_info(self.c.nodes[lead])["cluster_current_epoch"])
        # On a follower: it becomes the leader.
        f = next(i for i in self.c.ids if i != lead)
        self.assertEqual(self.c.admin(f, "FAILOVER"), "OK")
        self.c.wait_leader_is(f, voters=3)
        term1 = int(cluster_info(self.c.nodes[f])["cluster_current_epoch"])
        self.assertGreater(term1, term0)
        w.wait_progress()
        # On the leader: refused, and nothing changes.
        for args in (("FAILOVER",), ("FAILOVER", "FORCE"), ("FAILOVER", "TAKEOVER")):
            self.assertEqual(call(self.c.nodes[f], "CLUSTER", *args),
                             "ERR You should send CLUSTER FAILOVER to a replica")
        self.assertEqual(self.c.agreed_leader(), f)
        # FAILOVER TO, sent to the third node (forwarded to the leader).
        third = next(i for i in self.c.ids if i not in (lead, f))
        self.assertEqual(self.c.admin(third, "FAILOVER", "TO", str(lead)), "OK")
        self.c.wait_leader_is(lead, voters=3)
        self.assertGreater(int(cluster_info(self.c.nodes[lead])["cluster_current_epoch"]), term1)
        w.wait_progress()
        # TAKEOVER on a follower, sent while writes go on.
        self.assertEqual(self.c.admin(third, "FAILOVER", "TAKEOVER"), "OK")
        self.c.wait_leader_is(third, voters=3)
        w.wait_progress()
        self.final_check(third)
        for i in self.c.ids:
            self.assert_same_data(i, third)


class JoinTest(ClusterTestCase):
    snapshot_entries = 50

    def test_join_under_writes_through_a_snapshot_then_restart(self):
        lead = self.c.wait_leader(voters=3)
        f = next(i for i in self.c.ids if i != lead)
        w = self.start_writer(lambda: self.c.ids)
        # The leader compacts its log: the joiner cannot get it all.
        wait_until(lambda: int(raft_info(self.c.nodes[lead])["snapshot_index"]) > 0, 30,
                   what="a snapshot on the leader")
        w.wait_acked(100)
        new = 4
        self.c.start(new, join=f)  # through a follower's bus port
        self.c.wait_leader_is(lead, voters=4)
        nodes = cluster_nodes(self.c.nodes[lead])
        self.assertEqual(sorted(nodes), [1, 2, 3, new])
        self.assertEqual(nodes[new]["addr"], "127.0.0.1:%d@%d" % (self.c.nodes[new].port,
                                                                 self.c.bus_ports[new]))
        self.assertNotIn("nofailover", nodes[new]["flags"])
        self.assertEqual(nodes[new]["flags"], ["slave"])
        ci = cluster_info(self.c.nodes[new])
        self.assertEqual((ci["cluster_voters"], ci["cluster_learners"], ci["cluster_my_id"]),
                         ("4", "0", str(new)))
        self.assertEqual(ci["cluster_role"], "follower")
        self.assertIn("myself", cluster_nodes(self.c.nodes[new])[new]["flags"])
        # It got the state as a snapshot.
        self.assertGreater(int(raft_info(self.c.nodes[new])["snapshot_index"]), 0)
        self.assertGreater(int(fields(call(self.c.nodes[new], "INFO", "persistence"))
                               ["wal_snapshot_index"]), 0)
        w.wait_progress()
        self.final_check(lead)
        self.assert_same_data(new, lead)
        # Restarted without --join: it finds the members in what it saved.
        self.c.nodes[new].stop()
        self.assertEqual(self.c.nodes[new].returncode, 0)
        self.assertEqual(call(self.c.nodes[lead], "SET", "after", "1"), "OK")
        self.c.start(new)
        self.c.wait_leader_is(lead, voters=4)
        self.assertEqual(call(self.c.nodes[new], "INCR", "after"), 2)  # forwarded
        self.assertEqual(call(self.c.nodes[new], "GET", "after"), b"2")
        wait_until(lambda: self.readonly_values(new, ("after",)) == [b"2"], 10,
                   what="the restarted node to apply")
        self.assert_same_data(new, lead)
        self.assertNotIn("nofailover", cluster_nodes(self.c.nodes[lead])[new]["flags"])


class LowIdJoinTest(ClusterTestCase):
    ids = (5, 6, 7)

    def test_a_joiner_below_every_member(self):
        lead = self.c.wait_leader(voters=3)
        for k in range(20):
            self.assertEqual(call(self.c.nodes[lead], "RPUSH", "l", str(k)), k + 1)
        new = 2
        self.c.start(new, join=max(self.c.ids))
        self.c.wait_leader_is(lead, voters=4)
        nodes = cluster_nodes(self.c.nodes[lead])
        self.assertEqual(sorted(nodes), [2, 5, 6, 7])
        self.assertEqual(nodes[new]["flags"], ["slave"])
        self.assertEqual(nodes[new]["addr"], "127.0.0.1:%d@%d" % (self.c.nodes[new].port,
                                                                 self.c.bus_ports[new]))
        # It dials every member (the lower id dials): all links up.
        wait_until(lambda: all(n["link"] == "connected"
                               for n in cluster_nodes(self.c.nodes[new]).values()),
                   10, what="the joiner's links")
        self.assertEqual(call(self.c.nodes[new], "RPUSH", "l", "20"), 21)
        self.assertEqual(call(self.c.nodes[new], "LRANGE", "l", "-2", "-1"), [b"19", b"20"])
        self.wait_applied(new, int(cluster_info(self.c.nodes[lead])["cluster_commit_index"]))
        conn = self.c.nodes[new].conn()
        self.assertEqual(parse_value(conn.cmd("READONLY")), "OK")
        self.assertEqual(parse_value(conn.cmd("LLEN", "l")), 21)
        conn.close()


class ForgetTest(ClusterTestCase):
    ids = (1, 2, 3, 4)

    def test_forget_a_follower_then_the_leader(self):
        lead = self.c.wait_leader(voters=4)
        # Node 4 leads: once forgotten it does not dial the others (the
        # lower id dials), so this does not depend on whether a forgotten
        # node asks back in (ForgottenLeaderTest).
        if lead != 4:
            self.assertEqual(self.c.admin(lead, "FAILOVER", "TO", "4"), "OK")
            self.c.wait_leader_is(4, voters=4)
        w = self.start_writer(lambda: [1, 2])
        w.wait_acked(30)
        term = int(cluster_info(self.c.nodes[4])["cluster_current_epoch"])
        # A follower, forgotten through another follower (forwarded).
        self.assertEqual(self.c.admin(1, "FORGET", "3"), "OK")
        self.c.wait_leader_is(4, ids=[1, 2, 4], voters=3)
        self.assertEqual(sorted(cluster_nodes(self.c.nodes[4])), [1, 2, 4])
        self.assertEqual(sorted(cluster_nodes(self.c.nodes[1])), [1, 2, 4])
        self.assertEqual(self.c.admin(2, "FORGET", "3"), "ERR Unknown node 3")
        w.wait_progress()
        # Node 3 still runs (and does not know it left): it disturbs nobody.
        self.assertEqual(int(cluster_info(self.c.nodes[4])["cluster_current_epoch"]), term)
        # The leader itself, through a follower: the two others elect one of
        # theirs and the writes go on.
        forget_leader = self.c.admin(2, "FORGET", "4")
        lead2 = self.c.wait_leader(ids=[1, 2], voters=2)
        w.wait_progress()
        self.assertEqual(sorted(cluster_nodes(self.c.nodes[lead2])), [1, 2])
        self.final_check(lead2)
        self.assert_same_data(3 - lead2, lead2)
        # The reply to FORGET of the leader sent to a follower: the removal
        # was carried out, so it is no -UNKNOWN.
        self.assertEqual(forget_leader, "OK")


class ForgottenLeaderTest(ClusterTestCase):
    def test_a_forgotten_leader_stays_out(self):
        lead = self.c.wait_leader(voters=3)
        # Node 1 leads: with the lowest id, it dials the others once they
        # dropped it, and could ask back in.
        if lead != 1:
            self.assertEqual(self.c.admin(lead, "FAILOVER", "TO", "1"), "OK")
            self.c.wait_leader_is(1, voters=3)
        self.assertEqual(self.c.admin(1, "FORGET", "1"), "OK")
        lead2 = self.c.wait_leader(ids=[2, 3], voters=2)
        self.assertEqual(call(self.c.nodes[lead2], "SET", "k", "v"), "OK")
        self.assertNotIn(1, cluster_nodes(self.c.nodes[lead2]))
        # Node 1 still runs, and is not taken back in: two rounds of its
        # HEALTH (and JOIN) messages.
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            ci = cluster_info(self.c.nodes[lead2])
            self.assertEqual((ci["cluster_voters"], ci["cluster_learners"]), ("2", "0"),
                             "the forgotten leader came back: %r" %
                             call(self.c.nodes[lead2], "CLUSTER", "NODES"))
            time.sleep(0.1)
        self.assertEqual(call(self.c.nodes[lead2], "GET", "k"), b"v")


class WipedDiskTest(ClusterTestCase):
    snapshot_entries = 50

    def test_a_wiped_follower_comes_back_with_join(self):
        lead = self.c.wait_leader(voters=3)
        f = next(i for i in self.c.ids if i != lead)
        others = [i for i in self.c.ids if i != f]
        w = self.start_writer(lambda: others)
        w.wait_acked(60)
        self.c.nodes[f].stop(sig=signal.SIGKILL)
        self.c.wipe(f)
        w.wait_progress()  # two of three carry on
        self.c.start(f, join=lead)
        # Taken out (it lost what it had voted and logged), back in as a
        # learner, promoted once caught up: the leader's membership leaves
        # 3 voters for a while ...
        wait_until(lambda: (cluster_info(self.c.nodes[lead])["cluster_voters"],
                            cluster_info(self.c.nodes[lead])["cluster_learners"]) != ("3", "0"),
                   10, interval=0.005, what="the wiped node to be taken out")
        # ... and comes back to it, the node itself among them.
        self.c.wait_leader_is(lead, voters=3, timeout=30)
        ci = cluster_info(self.c.nodes[lead])
        self.assertEqual(ci["cluster_learners"], "0")
        self.assertEqual(cluster_nodes(self.c.nodes[lead])[f]["flags"], ["slave"])
        self.assertEqual(cluster_info(self.c.nodes[f])["cluster_role"], "follower")
        w.wait_progress()
        self.final_check(lead)
        self.assert_same_data(f, lead)


class ConsistencyTest(ClusterTestCase):
    def get_calls(self, i):
        stats = fields(call(self.c.nodes[i], "INFO", "commandstats"))
        m = re.match(r"calls=(\d+)", stats.get("cmdstat_get", "calls=0"))
        return int(m.group(1))

    def timed(self, conn, *args):
        t0 = time.monotonic()
        r = parse_value(conn.cmd(*args))
        return r, time.monotonic() - t0

    def test_readonly_lease_readwrite(self):
        lead = self.c.wait_leader(voters=3)
        f = next(i for i in self.c.ids if i != lead)
        self.assertEqual(call(self.c.nodes[lead], "SET", "k", "v1"), "OK")
        fc = self.c.nodes[f].conn(timeout=15.0)
        self.assertEqual(parse_value(fc.cmd("CLUSTER", "CONSISTENCY")), b"linearizable")
        # Linearizable on a follower: the read runs at the leader.
        before = self.get_calls(lead)
        self.assertEqual(parse_value(fc.cmd("GET", "k")), b"v1")
        self.assertEqual(self.get_calls(lead), before + 1)
        # READONLY: served from the follower's own state.
        self.assertEqual(parse_value(fc.cmd("READONLY")), "OK")
        self.assertEqual(parse_value(fc.cmd("CLUSTER", "CONSISTENCY")), b"stale")
        before = self.get_calls(lead)
        wait_until(lambda: parse_value(fc.cmd("GET", "k")) == b"v1", 5, what="v1 on the follower")
        for _ in range(5):
            self.assertEqual(parse_value(fc.cmd("GET", "k")), b"v1")
        self.assertEqual(self.get_calls(lead), before)
        # Writes still go to the leader.
        self.assertEqual(parse_value(fc.cmd("SET", "k", "v2")), "OK")
        wait_until(lambda: parse_value(fc.cmd("GET", "k")) == b"v2", 5, what="v2 on the follower")
        # Lease reads, through the follower and on the leader.
        self.assertEqual(parse_value(fc.cmd("CLUSTER", "CONSISTENCY", "lease")), "OK")
        self.assertEqual(parse_value(fc.cmd("CLUSTER", "CONSISTENCY")), b"lease")
        self.assertEqual(parse_value(fc.cmd("SET", "k", "v3")), "OK")
        self.assertEqual(parse_value(fc.cmd("GET", "k")), b"v3")
        lc = self.c.nodes[lead].conn()
        self.assertEqual(parse_value(lc.cmd("CLUSTER", "CONSISTENCY", "LEASE")), "OK")
        for k in range(5):
            self.assertEqual(parse_value(lc.cmd("SET", "k", "l%d" % k)), "OK")
            self.assertEqual(parse_value(lc.cmd("GET", "k")), b"l%d" % k)
            self.assertEqual(parse_value(fc.cmd("GET", "k")), b"l%d" % k)
        lc.close()
        # READWRITE: linearizable again.
        self.assertEqual(parse_value(fc.cmd("READWRITE")), "OK")
        self.assertEqual(parse_value(fc.cmd("CLUSTER", "CONSISTENCY")), b"linearizable")
        before = self.get_calls(lead)
        self.assertEqual(parse_value(fc.cmd("GET", "k")), b"l4")
        self.assertEqual(self.get_calls(lead), before + 1)
        self.assertEqual(parse_value(fc.cmd("CLUSTER", "CONSISTENCY", "stale")), "OK")
        self.wait_applied(f, int(cluster_info(self.c.nodes[lead])["cluster_commit_index"]))
        # The two others stop: no majority, no leader.
        for i in self.c.ids:
            if i != f:
                self.c.nodes[i].stop(sig=signal.SIGKILL)
        # Stale reads are served at once ...
        r, took = self.timed(fc, "GET", "k")
        self.assertEqual(r, b"l4")
        self.assertLess(took, 1.0)
        self.assertEqual(parse_value(fc.cmd("MGET", "k", "nokey")), [b"l4", None])
        # ... the default reads, lease reads and writes fail within a bound.
        dc = self.c.nodes[f].conn(timeout=15.0)
        for mode in ("linearizable", "lease"):
            self.assertEqual(parse_value(dc.cmd("CLUSTER", "CONSISTENCY", mode)), "OK")
            for args in (("GET", "k"), ("SET", "k", "x")):
                r, took = self.timed(dc, *args)
                self.assertIsInstance(r, RespError, (mode, args, r))
                self.assertTrue(r.startswith(UNAVAILABLE), (mode, args, r))
                self.assertLess(took, 10 * ELECTION_MS / 1000.0 + 2, (mode, args, took))
        # Once the follower knows there is no leader: CLUSTERDOWN, and the
        # probes say so.
        wait_until(lambda: cluster_info(self.c.nodes[f])["cluster_state"] == "fail", 10,
                   what="cluster_state:fail")
        self.assertEqual(cluster_info(self.c.nodes[f])["cluster_leader_id"], "0")
        self.assertEqual(parse_value(dc.cmd("CLUSTER", "CONSISTENCY", "linearizable")), "OK")
        r, took = self.timed(dc, "GET", "k")
        self.assertTrue(isinstance(r, RespError) and r.startswith("CLUSTERDOWN"), r)
        self.assertLess(took, 10 * ELECTION_MS / 1000.0 + 2)
        self.assertEqual(self.http(f, "/ready")[0], 503)
        health = json.loads(self.http(f, "/health")[1])
        self.assertEqual((health["node_id"], health["leader_id"]), (f, 0))
        # A READONLY connection still reads.
        self.assertEqual(parse_value(dc.cmd("READONLY")), "OK")
        self.assertEqual(parse_value(dc.cmd("GET", "k")), b"l4")
        r, took = self.timed(fc, "GET", "k")
        self.assertEqual(r, b"l4")
        self.assertLess(took, 1.0)
        dc.close()
        fc.close()


class ObservabilityTest(ClusterTestCase):
    def metrics(self, i):
        status, body = self.http(i, "/metrics")
        self.assertEqual(status, 200)
        return {k: float(v) for k, v in
                re.findall(r"^(keel_[a-z_]+(?:\{[^}]*\})?) (\S+)$", body, re.M)}

    def test_metrics_health_ready(self):
        lead = self.c.wait_leader(voters=3)
        for k in range(20):
            self.assertEqual(call(self.c.nodes[self.c.ids[k % 3]], "INCR", "n"), k + 1)
        commit = int(cluster_info(self.c.nodes[lead])["cluster_commit_index"])
        for i in self.c.ids:
            self.wait_applied(i, commit)
        followers = [i for i in self.c.ids if i != lead]
        # Every bus link up, every follower caught up (as the leader sees it).
        wait_until(lambda: all(self.metrics(i).get('keel_bus_peer_connected{peer="%d"}' % j) == 1
                               for i in self.c.ids for j in self.c.ids if j != i),
                   10, what="every bus link up")
        wait_until(lambda: all(self.metrics(lead).get('keel_raft_peer_lag_entries{peer="%d"}' % j)
                               == 0 for j in followers), 10, what="no lag")
        m = {i: self.metrics(i) for i in self.c.ids}
        self.assertEqual(sum(m[i]["keel_raft_is_leader"] for i in self.c.ids), 1)
        self.assertEqual(m[lead]["keel_raft_is_leader"], 1)
        term = m[lead]["keel_raft_term"]
        for i in self.c.ids:
            self.assertEqual(m[i]["keel_raft_voters"], 3)
            self.assertEqual(m[i]["keel_raft_learners"], 0)
            self.assertEqual(m[i]["keel_raft_leader_id"], lead)
            self.assertEqual(m[i]["keel_raft_term"], term)
            self.assertGreaterEqual(m[i]["keel_raft_applied_index"], commit)
            self.assertGreaterEqual(m[i]["keel_raft_commit_index"], commit)
            self.assertGreaterEqual(m[i]["keel_raft_last_index"], m[i]["keel_raft_commit_index"])
            self.assertIn("keel_raft_snapshot_index", m[i])
            self.assertGreaterEqual(m[i]["keel_raft_leader_changes_total"], 1)
            self.assertIn("keel_bus_refused_connections_total", m[i])
            for j in self.c.ids:
                if j != i:
                    self.assertGreater(m[i]['keel_bus_sent_messages_total{peer="%d"}' % j], 0)
                    self.assertGreater(m[i]['keel_bus_received_messages_total{peer="%d"}' % j], 0)
            has_lag = any(k.startswith("keel_raft_peer_lag_entries") for k in m[i])
            self.assertEqual(has_lag, i == lead, i)
        for j in followers:
            self.assertGreaterEqual(m[lead]['keel_raft_peer_match_index{peer="%d"}' % j], commit)
            self.assertEqual(m[lead]['keel_raft_peer_lag_entries{peer="%d"}' % j], 0)
        # /health and /ready.
        for i in self.c.ids:
            status, body = self.http(i, "/health")
            self.assertEqual(status, 200)
            h = json.loads(body)
            self.assertEqual(h["status"], "ok")
            self.assertEqual(h["role"], "leader" if i == lead else "follower")
            self.assertEqual((h["node_id"], h["leader_id"], h["term"]), (i, lead, int(term)))
            self.assertEqual(self.http(i, "/ready"), (200, "ready\n"))
        # After a failover the figures follow.
        f = followers[0]
        self.assertEqual(self.c.admin(f, "FAILOVER"), "OK")
        self.c.wait_leader_is(f, voters=3)
        wait_until(lambda: [self.metrics(i)["keel_raft_is_leader"] for i in self.c.ids] ==
                   [1 if i == f else 0 for i in self.c.ids], 10, what="is_leader to follow")
        m = self.metrics(f)
        self.assertGreater(m["keel_raft_term"], term)
        self.assertIn('keel_raft_peer_lag_entries{peer="%d"}' % lead, m)
        self.assertEqual(json.loads(self.http(lead, "/health")[1])["role"], "follower")


if __name__ == "__main__":
    main()
