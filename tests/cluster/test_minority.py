"""kill -9 a minority again and again (tests/cluster/cluster.py).

Five nodes under load from clients on every node. Each round kills two
nodes at once: in odd rounds two followers, in even rounds the leader and a
follower. The three left must go on acknowledging writes; then the two are
started again from their disks and must follow and catch up under load.
At the end every node has the same commit and applied index and the same
DEBUG DIGEST, reads of every key through every node agree, nothing
acknowledged was lost and the history is linearizable.

KEEL_CLUSTER_ROUNDS (default 6) rounds, with a snapshot every 300 entries (so
that a node started again often catches up from a snapshot); the seed (victims, load) is
printed, KEEL_CLUSTER_SEED repeats it.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase, Load, log, main  # noqa: E402

ROUNDS = int(os.environ.get("KEEL_CLUSTER_ROUNDS", "6"))
SNAPSHOT_ENTRIES = 300


class MinorityTest(ClusterTestCase):
    def test_kill_a_minority_repeatedly(self):
        s = int(os.environ.get("KEEL_CLUSTER_SEED", random.randrange(1 << 30)))
        log("seed %d (KEEL_CLUSTER_SEED=%d repeats the victims and the load's choices)" % (s, s))
        rng = random.Random(s)
        # Snapshots every few hundred entries: a node that comes back has
        # often been compacted past and catches up from a snapshot.
        c = self.cluster(5, extra_args=["--cluster-snapshot-entries", str(SNAPSHOT_ENTRIES)]).start_all()
        c.wait_leader()
        load = Load(c, clients=10, seed=s, pipeline=6).start()
        load.wait_acks(300)
        for r in range(1, ROUNDS + 1):
            l = c.wait_leader()
            followers = [i for i in c.ids if i != l]
            victims = sorted(rng.sample(followers, 2) if r % 2 else [l, rng.choice(followers)])
            for v in victims:
                c.nodes[v].proc.kill()  # both at once, then the waits
            for v in victims:
                c.nodes[v].kill()
            t0 = time.monotonic()
            survivors = [i for i in c.ids if i not in victims]
            acked, via = c.wait_write(among=survivors)
            load.wait_acks(300)
            for v in victims:
                c.nodes[v].start()
            for v in victims:
                c.wait_caught_up(v)
            log("round %d: killed %s (leader was %d); a write through %d %.2fs later; "
                "both back and caught up %.2fs after the kill"
                % (r, victims, l, via, acked - t0, time.monotonic() - t0))
            load.wait_acks(100)
        self.settle_and_check(c, load)


if __name__ == "__main__":
    main()
