"""A leader frozen with SIGSTOP (tests/cluster/cluster.py).

Three nodes under load. Each round: a value is written through the leader;
the leader is stopped (SIGSTOP) for four election timeouts, during which
the two others elect a new leader and a new value is written through it; a
GET is queued on a connection to the old leader before it wakes (SIGCONT),
and another sent on a fresh connection right after. Neither may return the
old value (the new value or an error, as a linearizable read must); the old
leader steps down (INFO raft: role follower, a later term) and then serves
the new value. The whole history, the load's included, is linearizable.

KEEL_CLUSTER_ROUNDS (default 3) rounds; KEEL_CLUSTER_SEED repeats the
load's seed.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Client, ClusterTestCase, Load, log, main, wait_until  # noqa: E402

ROUNDS = int(os.environ.get("KEEL_CLUSTER_ROUNDS", "3"))
PAUSE_TIMEOUTS = 4


class PauseTest(ClusterTestCase):
    def test_a_paused_leader_never_serves_a_stale_read(self):
        s = int(os.environ.get("KEEL_CLUSTER_SEED", random.randrange(1 << 30)))
        log("seed %d" % s)
        c = self.cluster(3).start_all()
        c.wait_leader()
        load = Load(c, clients=6, seed=s).start()
        load.wait_acks(200)
        for r in range(1, ROUNDS + 1):
            key = "p%d" % r
            old, new = "old%d" % r, "new%d" % r
            l = c.wait_leader()
            term = c.nodes[l].info()["term"]
            others = [i for i in c.ids if i != l]
            self.write(c, key, old, [l])
            stale = Client(c, l)
            stale.connect()
            c.nodes[l].pause()
            paused = time.monotonic()
            l2 = c.wait_leader(among=others, min_term=term + 1)
            elected = time.monotonic() - paused
            self.write(c, key, new, [l2] + [i for i in others if i != l2])
            left = PAUSE_TIMEOUTS * c.election_s - (time.monotonic() - paused)
            if left > 0:
                time.sleep(left)  # keep it frozen for several election timeouts
            # Queued before it wakes: the first thing it may answer.
            stale.begin([("GET", key, None)])
            c.nodes[l].resume()
            fresh = Client(c, l)
            got_fresh = fresh.op("GET", key)
            got_stale = stale.end()
            frozen = time.monotonic() - paused
            for what, (res, v) in (("queued", got_stale), ("fresh", got_fresh)):
                self.assertNotEqual(v, old.encode(), "round %d: the woken old leader %d served the stale "
                                    "value to the %s GET" % (r, l, what))
                if res == "ok":
                    self.assertEqual(v, new.encode(), "round %d: %s GET" % (r, what))

            def stepped_down():
                d = c.nodes[l].info()
                return d if d and d["role"] == "follower" and d["term"] > term else None
            d = wait_until(stepped_down, max(5.0, 10 * c.election_s), interval=0.02,
                           what="the old leader %d to step down" % l)
            res, v = Client(c, l).op("GET", key)
            log("round %d: leader %d frozen %.2fs, leader %d elected after %.2fs; after SIGCONT the "
                "queued GET got %s %r, a fresh GET %s %r; node %d is a follower in term %d (was %d); "
                "then GET through it: %s %r" % (r, l, frozen, l2, elected, got_stale[0], got_stale[1],
                                                got_fresh[0], got_fresh[1], l, d["term"], term, res, v))
            self.assertEqual((res, v), ("ok", new.encode()))
            stale.drop()
            fresh.drop()
        load.stop()
        c.wait_converged()
        self.assert_linearizable(c)


if __name__ == "__main__":
    main()
