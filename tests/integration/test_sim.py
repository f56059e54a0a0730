"""keel-sim, the deterministic simulator (sim/world.h): the same seed gives
the same digest (twice in a row, with or without --trace, alone or in a
range, with membership churn too), the CLI's usage errors exit 64, and
every planted Raft bug (--list-bugs) makes the checker fail within a
bounded range of seeds, with a replay command that reproduces the failure
and its digest.

The binary is $KEEL_SIM (what Meson passes)."""
import os
import re
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keelserver import main  # noqa: E402

LINE = re.compile(r"^seed=(\d+) .* digest=([0-9a-f]{16}) (ok|FAIL)")


def run(*args, timeout=300):
    binary = os.environ.get("KEEL_SIM")
    if not binary:
        raise RuntimeError("set KEEL_SIM (meson does)")
    p = subprocess.run([binary] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def digests(out):
    """seed -> digest, from the per-seed summary lines."""
    found = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            found[int(m.group(1))] = m.group(2)
    return found


class Determinism(unittest.TestCase):
    def check_twice(self, *args):
        rc1, out1 = run(*args)
        rc2, out2 = run(*args)
        d1, d2 = digests(out1), digests(out2)
        self.assertTrue(d1, out1)
        self.assertEqual(d1, d2, "the same seed gave two digests:\n%s\n%s" % (out1, out2))
        self.assertEqual(rc1, rc2)
        return d1

    def test_one_node_twice(self):
        self.check_twice("--seed", 7, "--nodes", 1, "--ops", 500, "--faults", "disk")

    def test_cluster_twice(self):
        self.check_twice("--seed", 3, "--nodes", 3, "--ops", 500)

    def test_five_nodes_twice(self):
        self.check_twice("--seed", 11, "--nodes", 5, "--ops", 500, "--faults", "net")

    def test_membership_churn_twice(self):
        # Removals, re-adds (some with a wiped disk), promotions, transfers.
        d = self.check_twice("--seeds", "1..4", "--nodes", 5, "--ops", 500, "--faults", "member")
        self.assertEqual(sorted(d), [1, 2, 3, 4])
        self.check_twice("--seeds", "1..4", "--nodes", 3, "--ops", 500, "--faults", "member")

    def test_member_trace_does_not_change_the_run(self):
        _, plain = run("--seed", 6, "--nodes", 5, "--ops", 500, "--faults", "member")
        _, traced = run("--replay", 6, "--trace", "--nodes", 5, "--ops", 500, "--faults", "member")
        self.assertEqual(digests(plain), digests(traced))
        self.assertIn("operator:", traced, "the operator's requests are traced")

    def test_trace_does_not_change_the_run(self):
        _, plain = run("--seed", 5, "--nodes", 3, "--ops", 300)
        _, traced = run("--replay", 5, "--trace", "--nodes", 3, "--ops", 300)
        self.assertEqual(digests(plain), digests(traced))
        self.assertGreater(len(traced.splitlines()), 100, "--trace prints one line per event")
        self.assertIn("profile:", traced, "the options the seed drew come first")

    def test_range_equals_single_seeds(self):
        _, out = run("--seeds", "4..6", "--nodes", 1, "--ops", 300)
        together = digests(out)
        self.assertEqual(sorted(together), [4, 5, 6])
        for seed in (4, 6):
            _, one = run("--seed", seed, "--nodes", 1, "--ops", 300)
            self.assertEqual(digests(one)[seed], together[seed])


class Cli(unittest.TestCase):
    def test_list_bugs(self):
        rc, out = run("--list-bugs")
        self.assertEqual(rc, 0)
        self.assertIn("commit-no-quorum", out.split())

    def test_usage_errors(self):
        for args in (["--nodes"], ["--faults", "lots"], ["--seeds", "5..2"], ["--bug", "nope"],
                     ["--frobnicate"]):
            rc, out = run(*args)
            self.assertEqual(rc, 64, "%s: %s" % (args, out))

    def test_first_failure_stops(self):
        rc, out = run("--seeds", "1..50", "--nodes", 3, "--faults", "none", "--ops", 200,
                      "--bug", "ack-before-sync", "--first-failure")
        self.assertEqual(rc, 1, out)
        self.assertEqual(sorted(digests(out)), [1], "stops after the first failing seed")

    def test_summary_line(self):
        rc, out = run("--seeds", "1..2", "--nodes", 1, "--ops", 200, "--faults", "none")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"seeds=2 passed=2 failed=0 events/s=\d+ seeds/min=")


class Regressions(unittest.TestCase):
    """Seeds that once failed, each for a bug since fixed: they must pass."""

    def test_no_read_state_left_by_a_forwarded_read(self):
        # A leader's read round confirmed, the leader deposed before the
        # apply, the read forwarded: its READ_OK stayed on the connection,
        # and the node, leader again (term 18), served the connection's next
        # GET without a round ("answered a GET before committing an entry of
        # its term").
        rc, out = run("--seed", 2900120, "--nodes", 5, "--faults", "all", "--ops", 1000)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"seed=2900120 .* ok")


class PlantedBug(unittest.TestCase):
    def test_ack_before_sync_is_caught(self):
        # The durability contract is checked on the wire: the first early
        # acknowledgement fails the seed, with or without faults.
        rc, out = run("--seed", 1, "--nodes", 3, "--faults", "none", "--ops", 200,
                      "--bug", "ack-before-sync")
        self.assertEqual(rc, 1, out)
        self.assertIn("while only", out)

    def test_commit_without_quorum_is_caught(self):
        args = ["--nodes", 3, "--faults", "net", "--ops", 1000, "--bug", "commit-no-quorum"]
        rc, out = run("--seeds", "1..20", *args)
        self.assertEqual(rc, 1, "a safety violation exits 1:\n" + out)
        m = re.search(r"replay: keel-sim (--replay (\d+) .*)$", out, re.M)
        self.assertTrue(m, out)
        seed = int(m.group(2))
        rc2, again = run(*m.group(1).split())
        self.assertEqual(rc2, 1)
        self.assertEqual(digests(again)[seed], digests(out)[seed], "the replay is the same run")
        self.assertIn("FAIL (safety)", again)


# Where each planted bug shows best (keel-sim --seeds 1..200 --bug NAME, faults
# all): nodes, seeds. A bug not listed runs with three nodes.
BUG_SETTINGS = {
    "commit-no-quorum": (3, "1..300"),
    "commit-old-term": (5, "1..300"),
    "forget-vote": (3, "1..300"),
    "ack-before-sync": (3, "1..300"),
    "lease-no-drift": (5, "1..300"),
    "lease-no-check-quorum": (5, "1..300"),
    "read-index-early": (3, "1..300"),
    "conf-early": (5, "1..300"),
    "apply-uncommitted": (3, "1..300"),
    "vote-any-log": (3, "1..300"),
    "no-truncate": (5, "1..300"),
    "no-startup-sync": (3, "1..300"),
}


def catch(bug):
    """Runs the bug's seeds up to the first failure, then its replay.
    Returns (rc, out, seed, replay_rc, replay_out)."""
    nodes, seeds = BUG_SETTINGS.get(bug, (3, "1..300"))
    rc, out = run("--seeds", seeds, "--nodes", nodes, "--faults", "all", "--ops", 1000,
                  "--bug", bug, "--first-failure")
    m = re.search(r"replay: keel-sim (--replay (\d+) .*)$", out, re.M)
    if rc == 0 or not m:
        return rc, out, None, None, None
    rrc, again = run(*m.group(1).split())
    return rc, out, int(m.group(2)), rrc, again


class EveryPlantedBug(unittest.TestCase):
    def test_every_bug_is_caught_and_replays(self):
        rc, out = run("--list-bugs")
        self.assertEqual(rc, 0, out)
        bugs = out.split()
        self.assertGreaterEqual(len(bugs), 11, out)
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = dict(zip(bugs, pool.map(catch, bugs)))
        for bug in bugs:
            rc, out, seed, rrc, again = results[bug]
            with self.subTest(bug=bug):
                self.assertNotEqual(rc, 0, "%s was not caught:\n%s" % (bug, out[-2000:]))
                self.assertIn(rc, (1, 2, 3, 4), out[-2000:])
                self.assertIsNotNone(seed, "no replay command:\n" + out[-2000:])
                self.assertIn("--bug %s" % bug, out, "the replay plants the bug")
                self.assertEqual(rrc, rc, "the replay fails the same way:\n" + again[-2000:])
                self.assertEqual(digests(again).get(seed), digests(out)[seed],
                                 "the replay is the same run")
                self.assertIn("FAIL", again)


if __name__ == "__main__":
    main()
