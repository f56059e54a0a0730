"""Real keel-server clusters on 127.0.0.1 (tests/cluster/cluster.py):

- five nodes: writes and reads through every node, then a load on all of
  them; the nodes converge and the history is linearizable;
- kill -9 the leader under load, at three and five nodes: a write is
  acknowledged again within two election timeouts plus slack
  (KEEL_CLUSTER_FAILOVER_SLACK seconds, default 3; the time is printed),
  nothing acknowledged is lost, the old leader comes back as a follower and
  catches up, the history is linearizable;
- kill -9 every node at once (with snapshots every 200 entries, so they
  restart from a snapshot and a log after it) and start them again: reads
  sent through every node right away, and later ones, see every
  acknowledged write, and linearize with the writes before the crash.

The load's seed is printed; KEEL_CLUSTER_SEED repeats it.
"""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Client, ClusterTestCase, Load, load_keys, log, main  # noqa: E402

SLACK = float(os.environ.get("KEEL_CLUSTER_FAILOVER_SLACK", "3"))


def seed():
    s = int(os.environ.get("KEEL_CLUSTER_SEED", random.randrange(1 << 30)))
    log("seed %d (KEEL_CLUSTER_SEED=%d repeats the load's choices)" % (s, s))
    return s


class FailoverTest(ClusterTestCase):
    def test_five_nodes_serve_through_every_node(self):
        c = self.cluster(5).start_all()
        c.wait_leader()
        cl = {i: Client(c, i) for i in c.ids}
        for i in c.ids:
            self.assertEqual(cl[i].op("SET", "k", "v%d" % i), ("ok", "OK"))
            for j in c.ids:
                self.assertEqual(cl[j].op("GET", "k"), ("ok", b"v%d" % i), "GET through node %d" % j)
            self.assertEqual(cl[i].op("INCR", "n"), ("ok", i))
            self.assertEqual(cl[i].op("APPEND", "s", "%d," % i), ("ok", 2 * i))
        for j in c.ids:
            self.assertEqual(cl[j].op("GET", "s"), ("ok", b"1,2,3,4,5,"))
            self.assertEqual(cl[j].op("GET", "n"), ("ok", b"5"))
            cl[j].drop()
        load = Load(c, clients=10, seed=seed(), pipeline=4).start()
        load.wait_acks(1500)
        self.settle_and_check(c, load)

    def kill_leader_under_load(self, n):
        c = self.cluster(n).start_all()
        l = c.wait_leader()
        term = c.nodes[l].info()["term"]
        load = Load(c, clients=8, seed=seed(), pipeline=6).start()
        load.wait_acks(600)
        c.nodes[l].kill()
        killed = time.monotonic()
        others = [i for i in c.ids if i != l]
        acked, via = c.wait_write(among=others)
        took = acked - killed
        l2 = c.wait_leader(among=others, min_term=term + 1)
        bound = 2 * c.election_s + SLACK
        log("%d nodes: leader %d killed; a write through node %d acknowledged %.3fs later "
            "(bound %.1fs = 2 election timeouts + %.1fs); new leader %d" % (n, l, via, took, bound, SLACK, l2))
        self.assertLess(took, bound, "no write acknowledged within %.1fs of the kill" % bound)
        load.wait_acks(400)
        # The old leader comes back from its disk as a follower.
        c.nodes[l].start()
        wait = time.monotonic()
        info = c.wait_caught_up(l)
        log("the old leader rejoined as a follower of %d and caught up in %.2fs"
            % (info["leader_id"], time.monotonic() - wait))
        load.wait_acks(200)
        self.settle_and_check(c, load)

    def test_kill_the_leader_of_three(self):
        self.kill_leader_under_load(3)

    def test_kill_the_leader_of_five(self):
        self.kill_leader_under_load(5)

    def test_kill_every_node_at_once(self):
        # Snapshots every 200 entries: the nodes restart from a snapshot
        # plus a log after it.
        c = self.cluster(3, extra_args=["--cluster-snapshot-entries", "200"]).start_all()
        c.wait_leader()
        load = Load(c, clients=8, seed=seed(), pipeline=6).start()
        load.wait_acks(1000)
        c.kill_all()
        load.stop()
        c.start_all()
        t0 = time.monotonic()
        # Clients that read through every node at once, right away (before
        # a leader is known their reads wait, or fail): nothing is written
        # after the restart, so whatever they get must be the final values.
        keys = load_keys(load)
        early = {}

        def read_early(i):
            cl = Client(c, i, timeout=5.0)
            for key in keys:
                for _ in range(50):
                    try:
                        res, v = cl.op("GET", key)
                    except OSError:
                        res = "refused"
                    if res == "ok":
                        early[(i, key)] = v
                        break
                    time.sleep(0.05)
            cl.drop()
        readers = [threading.Thread(target=read_early, args=(i,), daemon=True) for i in c.ids]
        for t in readers:
            t.start()
        for t in readers:
            t.join(60)
        l = c.wait_leader()
        log("restarted: leader %d after %.2fs" % (l, time.monotonic() - t0))
        final = self.settle_and_check(c, load)
        stale = ["GET %s through node %d right after the restart: %s, later %s" % (
            key, i, short(v), short(final[key])) for (i, key), v in sorted(early.items()) if v != final[key]]
        log("%d reads right after the restart, %d stale%s" % (len(early), len(stale),
                                                             "".join("\n  " + x for x in stale)))
        self.assertFalse(stale, "stale reads after a full restart (acknowledged writes missing):\n"
                         + "\n".join(stale))


def short(v):
    if v is None:
        return "nil"
    v = v.decode(errors="replace")
    return v if len(v) < 40 else "%s...%s (%d bytes)" % (v[:12], v[-16:], len(v))


if __name__ == "__main__":
    main()
