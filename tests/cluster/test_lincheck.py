"""keel-lincheck (cmd/keel-lincheck.c) on small histories whose verdict is
known: linearizable ones pass (exit 0), a stale read, a lost write, a
duplicated append and a read of a value nobody wrote are proved violations
(exit 1, the op's line named), a search out of budget and bad input give
exit 2; and a history written by tests/cluster/cluster.py's History round
trips through the format (escapes, unknown outcomes, errors).
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import History, RespError, lincheck_binary, main  # noqa: E402


def run(text, *args):
    p = subprocess.run([lincheck_binary()] + list(args) + ["-"], input=text, capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


GOOD = """\
# client call ret KIND key arg result
1 0 10 SET r =a OK
2 5 20 GET r - =a
3 15 40 SET r =b OK
2 25 30 GET r - =a
2 45 50 GET r - =b
1 0 10 INCR c - 1
2 5 15 INCR c - 2
3 8 ? INCR c - ?
1 20 30 GET c - =3
1 0 10 APPEND a =1.1, 4
2 2 12 APPEND a =2.1, 8
3 20 ? APPEND a =3.1, ?
1 30 40 GET a - =1.1,2.1,
4 0 5 GET x - nil
4 6 7 DEL x - 0
4 8 9 SET x =%20sp%25 OK
4 10 11 GET x - =%20sp%25
4 12 13 DEL x - 1
4 14 15 INCR x - 1
4 16 17 SET x =no OK
4 18 19 INCR x - ERR
"""


class LincheckCliTest(unittest.TestCase):
    def test_a_linearizable_history_passes(self):
        rc, out, err = run(GOOD)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("key=a ops=4 unknown=1 checker=append", out)
        self.assertIn("key=c ops=4 unknown=1 checker=search", out)
        self.assertTrue(out.rstrip().endswith("keys=4 ops=21 ok=4 violations=0 gave_up=0"), out)
        rc, out, err = run(GOOD, "--search-only")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("key=a ops=4 unknown=1 checker=search", out)

    def test_violations_are_proved(self):
        cases = {
            # A read that returns the value a later-acknowledged SET replaced.
            "stale read": "1 0 10 SET r =a OK\n1 20 30 SET r =b OK\n2 40 50 GET r - =a\n",
            # An acknowledged INCR missing from a later read.
            "lost increment": "1 0 10 INCR c - 1\n2 20 30 INCR c - 2\n3 40 50 GET c - =1\n",
            # An acknowledged append missing, by appendcheck.
            "lost append": "1 0 10 APPEND a =x, 2\n2 20 30 GET a - nil\n",
            # The same token twice: a duplicated append.
            "duplicate": "1 0 10 APPEND a =x, 2\n2 20 30 GET a - =x,x,\n",
            # A value nobody wrote.
            "phantom": "1 0 10 SET r =a OK\n2 20 30 GET r - =z\n",
            # Two INCRs both answered 1.
            "double": "1 0 10 INCR c - 1\n2 20 30 INCR c - 1\n",
        }
        for name, text in cases.items():
            with self.subTest(name):
                rc, out, err = run(text)
                self.assertEqual(rc, 1, name + ": " + out + err)
                self.assertIn("VIOLATION", out)
                self.assertIn("violations=1", out)

    def test_unknown_outcomes_may_or_may_not_apply(self):
        text = "1 0 ? SET r =a ?\n2 20 30 GET r - nil\n3 40 50 GET r - =a\n"
        self.assertEqual(run(text)[0], 0)
        text = "1 0 ? SET r =a ?\n2 20 30 GET r - =a\n3 40 50 GET r - nil\n"
        self.assertEqual(run(text)[0], 1)
        # An unknown op cannot take effect before its call.
        text = "2 0 10 GET r - =a\n1 20 ? SET r =a ?\n"
        self.assertEqual(run(text)[0], 1)

    def test_budget_and_bad_input(self):
        # Many concurrent INCRs of unknown outcome and a read that no
        # subset can explain: the search needs more than 5 steps.
        lines = ["%d 0 ? INCR c - ?" % i for i in range(1, 16)]
        lines.append("99 100 110 GET c - =100")
        rc, out, err = run("\n".join(lines) + "\n", "--max-steps", "5")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("GAVE-UP", out)
        for bad, why in (("1 0 10 SET r =a\n", "expected 7 fields"),
                         ("1 0 10 PUT r =a OK\n", "KIND"),
                         ("1 10 0 SET r =a OK\n", "before call"),
                         ("1 0 10 SET r a OK\n", "string field"),
                         ("1 0 10 GET r - =%zz\n", "GET's result"),
                         ("1 0 10 INCR r - x\n", "not an integer"),
                         ("x 0 10 INCR r - 1\n", "client")):
            with self.subTest(bad):
                rc, out, err = run(bad)
                self.assertEqual(rc, 2, out + err)
                self.assertIn("line 1", err)
                self.assertIn(why, err)
        p = subprocess.run([lincheck_binary(), "/nonexistent/history"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([lincheck_binary(), "--no-such-option"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)

    def test_history_round_trip(self):
        h = History()
        h.add(1, 100, 200, "SET", "k e%y", "a b\r\n%", "OK")
        h.add(2, 150, 250, "GET", "k e%y", None, b"a b\r\n%")
        h.add(3, 300, None, "APPEND", "l", "t1,", None)
        h.add(3, 400, 500, "INCR", "n", None, 1)
        h.add(4, 420, 440, "SET", "m", "x", "OK")
        h.add(4, 450, 550, "INCR", "m", None, RespError("ERR value is not an integer"))
        h.add(5, 600, 700, "GET", "l", None, None, node=2)
        with tempfile.TemporaryDirectory() as d:
            rc, out = h.check(os.path.join(d, "h.txt"))
            self.assertEqual(rc, 0, out)
            self.assertIn("key=k%20e%25y ops=2", out)
            with open(os.path.join(d, "h.txt")) as f:
                text = f.read()
        self.assertIn("1 100 200 SET k%20e%25y =a%20b%0D%0A%25 OK\n", text)
        self.assertIn("3 300 ? APPEND l =t1, ?\n", text)
        self.assertIn("4 450 550 INCR m - ERR\n", text)
        self.assertIn("5 600 700 GET l - nil # node 2\n", text)


if __name__ == "__main__":
    main()
