"""A real network partition (tests/cluster/cluster.py, NetLab): each node
in its own network namespace, its interface a veth pair's end whose other
end is on a bridge in a hub namespace (10.77.0.<id>/24, nothing in the
caller's namespace). Clients reach each node on 127.0.0.1 inside its
namespace, so they keep talking to a node that is cut off.

Three nodes under load. The leader's link is set down: the two others elect
a new leader and serve writes (the time is printed); the old leader steps
down (check-quorum) and, while cut off, answers no read with the old value
and acknowledges no write. Healed, it follows the new leader and catches
up. At the end the nodes converge, nothing acknowledged was lost and the
history is linearizable.

A second scenario splits five nodes into {leader, a follower} and the
other three (the two still reach each other): reads through the cut-off
follower, which forwards them to the old leader, must never be older than a
write the majority acknowledged before they were sent.

Needs root and `ip netns`; otherwise the script is skipped (exit 77).
Namespaces are named keelct<pid>-*; those of a run that died are removed
at the start of the next.
"""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import (Client, ClusterTestCase, Load, NetLab, log, main, skip_script,  # noqa: E402
                     wait_until)

SLACK = float(os.environ.get("KEEL_CLUSTER_FAILOVER_SLACK", "3"))


class PartitionTest(ClusterTestCase):
    def netlab(self, n):
        lab = NetLab(range(1, n + 1))
        self.after_clusters(lab.close)  # once the nodes in it are gone
        return lab.setup()

    def test_partitioned_leader(self):
        s = int(os.environ.get("KEEL_CLUSTER_SEED", random.randrange(1 << 30)))
        log("seed %d" % s)
        self.lab = self.netlab(3)
        c = self.cluster(3, lab=self.lab).start_all()
        l = c.wait_leader()
        term = c.nodes[l].info()["term"]
        self.write(c, "pk", "old", [l])
        load = Load(c, clients=6, seed=s, pipeline=4).start()
        load.wait_acks(300)

        # From the cut on, clients of the cut-off node alternate GET pk and
        # SET iso on it; INFO is polled apart to see it step down.
        stop = threading.Event()
        seen = []  # (op, call_ns, result, value)
        stepped = []

        def hammer():
            cl = Client(c, l, timeout=5.0)
            k = 0
            while not stop.is_set():
                k += 1
                for op, args in (("GET", ("pk",)), ("SET", ("iso", "w%d.%d" % (cl.id, k)))):
                    t = time.monotonic_ns()
                    res, v = cl.op(op, *args)
                    seen.append((op, t, res, v))
            cl.drop()

        def watch():
            while not stepped and not stop.is_set():
                d = c.nodes[l].info()
                if d and d["role"] != "leader":
                    stepped.append(time.monotonic() - cut)
                time.sleep(0.02)

        self.lab.cut(l)
        cut = time.monotonic()
        threads = [threading.Thread(target=f, daemon=True) for f in (hammer, hammer, hammer, watch)]
        for t in threads:
            t.start()
        try:
            others = [i for i in c.ids if i != l]
            acked, via = c.wait_write(among=others)
            l2 = c.wait_leader(among=others, min_term=term + 1)
            bound = 2 * c.election_s + SLACK
            log("leader %d cut off; a write through node %d acknowledged %.3fs later (bound %.1fs); "
                "new leader %d" % (l, via, acked - cut, bound, l2))
            self.assertLess(acked - cut, bound)
            self.write(c, "pk", "new", [l2])
            new_acked = time.monotonic_ns()
            # Keep it cut off for a while, under load on the majority.
            time.sleep(max(2.0, 6 * c.election_s))
            load.wait_acks(300)
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        self.assertTrue(stepped, "the cut-off node %d still says it leads" % l)
        kinds = {}
        for op, t, res, v in seen:
            what = "%s %s %s" % (op, res, str(v).split(" ")[0])
            kinds[what] = kinds.get(what, 0) + 1
        log("cut-off node %d stepped down %.2fs after the cut; its replies meanwhile: %s"
            % (l, stepped[0], ", ".join("%s x%d" % kv for kv in sorted(kinds.items()))))
        for op, t, res, v in seen:
            self.assertFalse(op == "SET" and res == "ok", "the cut-off node %d acknowledged a write" % l)
            self.assertFalse(op == "GET" and v == b"old" and t > new_acked,
                             "the cut-off node %d served the stale value after the new one was "
                             "acknowledged" % l)
        self.assertLess(stepped[0], bound, "the cut-off leader did not step down in time")

        self.lab.heal(l)
        healed = time.monotonic()
        d = c.wait_caught_up(l)
        log("healed: node %d follows %d in term %d, caught up in %.2fs"
            % (l, d["leader_id"], d["term"], time.monotonic() - healed))
        self.assertNotEqual(d["leader_id"], l)
        res, v = Client(c, l).op("GET", "pk")
        self.assertEqual((res, v), ("ok", b"new"))
        load.wait_acks(200)
        self.settle_and_check(c, load)


    def test_leader_and_a_follower_cut_off_from_the_majority(self):
        """Five nodes; {leader, one follower} split from the other three
        (the two still reach each other). While a writer keeps writing
        increasing versions of one key through the majority, readers read
        it through the cut-off follower, which forwards to the old leader
        for as long as it believes in it: no read may return a version
        older than one acknowledged before the read was sent. Rounds:
        KEEL_CLUSTER_ROUNDS (default 3)."""
        s = int(os.environ.get("KEEL_CLUSTER_SEED", random.randrange(1 << 30)))
        log("seed %d" % s)
        rng = random.Random(s)
        lab = self.netlab(5)
        c = self.cluster(5, lab=lab).start_all()
        c.wait_leader()
        rounds = int(os.environ.get("KEEL_CLUSTER_ROUNDS", "3"))
        for r in range(1, rounds + 1):
            l = c.wait_leader()
            term = c.nodes[l].info()["term"]
            f = rng.choice([i for i in c.ids if i != l])
            majority = [i for i in c.ids if i not in (l, f)]
            key = "v%d" % r
            stop = threading.Event()
            acked = []  # (return time, version) of the writer's SETs
            reads = []  # (call time, node, result, value)

            def writer():
                cl = Client(c, majority[0])
                k = 0
                while not stop.is_set():
                    k += 1
                    try:
                        res, _ = cl.op("SET", key, str(k))
                    except OSError:
                        res = "refused"
                    if res == "ok":
                        acked.append((time.monotonic_ns(), k))
                    else:
                        cl.drop()
                        cl.node_id = majority[k % len(majority)]
                        stop.wait(0.01)
                cl.drop()

            def reader(node):
                cl = Client(c, node, timeout=3.0)
                while not stop.is_set():
                    t = time.monotonic_ns()
                    res, v = cl.op("GET", key)
                    reads.append((t, node, res, v))
                    if res != "ok":
                        cl.drop()
                        stop.wait(0.005)
                cl.drop()

            threads = [threading.Thread(target=writer, daemon=True)]
            threads += [threading.Thread(target=reader, args=(n,), daemon=True) for n in (f, f, l)]
            for t in threads:
                t.start()
            try:
                wait_until(lambda: len(acked) >= 20, 10, what="writes before the split")
                lab.split([l, f])
                cut = time.monotonic()
                l2 = c.wait_leader(among=majority, min_term=term + 1)
                elected = time.monotonic() - cut
                nacked = len(acked)
                wait_until(lambda: len(acked) >= nacked + 50, 15, what="writes through the majority")
                time.sleep(max(1.0, 3 * c.election_s))
            finally:
                stop.set()
                for t in threads:
                    t.join(10)
            lab.join()
            infos = {i: c.nodes[i].info() for i in (l, f)}
            # What each read must at least see: the newest version acknowledged
            # before it was sent.
            stale = []
            j = best = 0
            for t, node, res, v in sorted(reads):
                while j < len(acked) and acked[j][0] < t:
                    best = max(best, acked[j][1])
                    j += 1
                if res == "ok" and (int(v) if v is not None else 0) < best:
                    stale.append("GET %s through node %d at +%.3fs returned %s, but %d was acknowledged "
                                 "before it was sent" % (key, node, t / 1e9 - cut, v, best))
            ok = sum(1 for x in reads if x[2] == "ok")
            log("round %d: leader %d and follower %d split off; leader %d elected by the majority %.2fs "
                "later; %d writes acknowledged; %d reads through the cut-off nodes (%d answered), %d stale; "
                "after the split node %d was %s, node %d %s"
                % (r, l, f, l2, elected, len(acked), len(reads), ok, len(stale), l, infos[l] and infos[l]["role"],
                   f, infos[f] and infos[f]["role"]))
            for line in stale[:10]:
                log("  " + line)
            self.assertFalse(stale, "%d stale reads through the cut-off follower %d (it forwards to the "
                             "deposed leader %d):\n%s" % (len(stale), f, l, "\n".join(stale[:10])))
            c.wait_caught_up(l)
            c.wait_caught_up(f)
        c.wait_converged()
        self.assert_linearizable(c)


if __name__ == "__main__":
    why = NetLab.available()
    if why:
        skip_script("network namespaces are not available (%s)" % why)
    main()
