"""keel-check-wal on logs written by walfmt.py (a Python writer of the format
in docs/decisions/0006-wal-format.md): the summary, --verbose, the exit
statuses, --fix of a torn tail (the cut bytes saved to .torn), the refusal
to fix corruption and --fix --force-truncate-corrupt (saved to .corrupt).

The binary is $KEEL_CHECK_WAL, or keel-check-wal next to $KEEL_SERVER (what
Meson passes)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import walfmt  # noqa: E402
from keelserver import main, skip_script  # noqa: E402

GROUP = 3


def binary():
    path = os.environ.get("KEEL_CHECK_WAL")
    if path:
        return path
    server = os.environ.get("KEEL_SERVER")
    if not server:
        raise RuntimeError("set KEEL_CHECK_WAL (or KEEL_SERVER, as meson does)")
    return os.path.join(os.path.dirname(server), "keel-check-wal")


def run(*args):
    p = subprocess.run([binary()] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def three_segments():
    """A log of three segments: hard states, 30 entries, a new term."""
    a = walfmt.Segment(GROUP, 1, 1)
    a.hard_state(1, 0).hard_state(1, 1).add(walfmt.ENTRY_NOOP, 1, 1)
    for i in range(2, 11):
        a.entry(1, i, b"set k%d v" % i)
    b = walfmt.Segment(GROUP, 2, 11, prev_term=1)
    b.hard_state(1, 1)
    for i in range(11, 21):
        b.entry(1, i, b"x" * i)
    c = walfmt.Segment(GROUP, 3, 21, prev_term=1)
    c.hard_state(1, 1).hard_state(2, 2).add(walfmt.ENTRY_NOOP, 2, 21)
    for i in range(22, 31):
        c.add(walfmt.ENTRY_CONFIG if i == 25 else walfmt.ENTRY_NORMAL, 2, i, b"payload")
    return [a, b, c]


class CheckWal(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="keel-check-wal-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, segs):
        for s in segs:
            with open(os.path.join(self.dir, s.name), "wb") as f:
                f.write(s.data)

    def path(self, seg):
        return os.path.join(self.dir, seg.name)

    def test_clean_log(self):
        self.write(three_segments())
        code, out = run(self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("segments: 3", out)
        self.assertIn("group: 3", out)
        self.assertIn("records: 35 (30 entries, 5 hard states, 0 snapshot marks", out)
        self.assertIn("log: indexes 1..30, last term 2", out)
        self.assertIn("hard state: term 2, vote 2", out)
        self.assertIn("status: OK", out)

    def test_verbose_lists_every_record(self):
        segs = three_segments()
        self.write(segs)
        code, out = run("--verbose", self.dir)
        self.assertEqual(code, 0, out)
        lines = out.splitlines()
        self.assertEqual(sum(1 for ln in lines if " ENTRY_" in ln), 30)
        self.assertEqual(sum(1 for ln in lines if " HARD_STATE" in ln), 5)
        self.assertIn("ENTRY_CONFIG  index 25 term 2 group 3 payload 7", out)
        self.assertIn("HARD_STATE    term 2 vote 2 group 3 payload 0", out)
        self.assertIn("seq 2, first index 11, prev term 1", out)

    def test_files_instead_of_a_directory(self):
        segs = three_segments()
        self.write(segs)
        # Given out of order: taken in name order.
        code, out = run(self.path(segs[2]), self.path(segs[0]), self.path(segs[1]))
        self.assertEqual(code, 0, out)
        code, out = run(self.path(segs[0]), self.path(segs[2]))
        self.assertEqual(code, 2, out)
        self.assertIn("segment sequence number does not follow", out)

    def test_torn_tail_and_fix(self):
        segs = three_segments()
        last = segs[2]
        whole = bytes(last.data)
        extra = walfmt.record(len(whole), last.salt, walfmt.ENTRY_NORMAL, GROUP, 2, 31, b"q" * 50)
        last.data += extra[:40]  # the write was torn
        self.write(segs)
        code, out = run(self.dir)
        self.assertEqual(code, 1, out)
        self.assertIn("status: TORN_TAIL in %s at offset %d (expected index 31)" %
                      (self.path(last), len(whole)), out)
        self.assertIn("record cut short; 40 bytes would be cut", out)
        self.assertIn("run with --fix", out)

        code, out = run("--fix", self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("after the fix:", out)
        with open(self.path(last), "rb") as f:
            self.assertEqual(f.read(), whole)
        with open(self.path(last) + ".torn", "rb") as f:
            self.assertEqual(f.read(), extra[:40])
        code, out = run(self.dir)
        self.assertEqual(code, 0, out)

        # Zeros after the last record are a preallocated segment's unused
        # space: clean, nothing to fix, nothing cut.
        with open(self.path(last), "ab") as f:
            f.write(b"\0" * 100)
        code, out = run("--verbose", self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("the rest zeros (preallocated, not written)", out)
        code, out = run("--fix", self.dir)
        self.assertEqual(code, 0, out)
        self.assertEqual(os.path.getsize(self.path(last)), len(whole) + 100)
        self.assertFalse(os.path.exists(self.path(last) + ".torn.1"))

        # A second torn tail (in those zeros) is saved next to the first,
        # not over it: up to its last non-zero byte, not the zeros after.
        with open(self.path(last), "r+b") as f:
            f.seek(len(whole))
            f.write(b"\1" * 30)
        code, out = run("--fix", self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("record cut short", out)
        with open(self.path(last) + ".torn.1", "rb") as f:
            saved = f.read()  # to the last non-zero byte, rounded up to 4 KiB
        self.assertEqual(saved[:30], b"\1" * 30)
        self.assertEqual(saved[30:], b"\0" * (len(saved) - 30))
        self.assertLessEqual(len(saved), 100)
        with open(self.path(last), "rb") as f:
            self.assertEqual(f.read(), whole)

    def test_torn_segment_header_is_removed(self):
        segs = three_segments()
        new = walfmt.Segment(GROUP, 4, 31, prev_term=2)
        new.data = new.data[:20]  # created, header half written
        self.write(segs + [new])
        code, out = run(self.dir)
        self.assertEqual(code, 1, out)
        self.assertIn("the whole file: its header is torn", out)
        code, out = run("--fix", self.dir)
        self.assertEqual(code, 0, out)
        self.assertFalse(os.path.exists(self.path(new)))
        self.assertEqual(os.path.getsize(self.path(new) + ".torn"), 20)

    def test_corruption_is_refused_then_forced(self):
        segs = three_segments()
        mid = segs[1]
        off = mid.offsets[4]
        mid.data[off + 30] ^= 0x10  # a payload byte of entry 14
        self.write(segs)
        code, out = run(self.dir)
        self.assertEqual(code, 2, out)
        self.assertIn("status: CORRUPT in %s at offset %d, expected index 14: record checksum "
                      "mismatch" % (self.path(mid), off), out)
        self.assertIn("a valid record follows at offset %d" % mid.offsets[5], out)
        self.assertIn("1 later segment(s) not checked", out)

        before = {s.name: os.path.getsize(self.path(s)) for s in segs}
        code, out = run("--fix", self.dir)
        self.assertEqual(code, 2, out)
        self.assertIn("not fixed", out)
        self.assertEqual(before, {s.name: os.path.getsize(self.path(s)) for s in segs})

        code, out = run("--fix", "--force-truncate-corrupt", self.dir)
        self.assertEqual(code, 0, out)
        self.assertEqual(os.path.getsize(self.path(mid)), off)
        self.assertFalse(os.path.exists(self.path(segs[2])))
        with open(self.path(segs[2]) + ".corrupt", "rb") as f:
            self.assertEqual(f.read(), bytes(segs[2].data))
        with open(self.path(mid) + ".corrupt", "rb") as f:
            self.assertEqual(f.read(), bytes(mid.data[off:]))
        code, out = run(self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("log: indexes 1..13, last term 1", out)

    def test_replacement_and_mark_segments(self):
        segs = three_segments()
        # A follower replaces entries from 15 (in segment 2) on: a new
        # segment announces it; then it installs a snapshot at 40.
        d = walfmt.Segment(GROUP, 4, 15, prev_term=1)
        d.hard_state(2, 2).hard_state(3, 0).entry(3, 15).entry(3, 16)
        e = walfmt.Segment(GROUP, 5, 41, prev_term=3, flags=walfmt.SEG_MARK)
        e.hard_state(3, 0).add(walfmt.SNAPSHOT_MARK, 3, 40).entry(3, 41)
        self.write(segs + [d, e])
        code, out = run("--verbose", self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("(replaces the entries from here)", out)
        self.assertIn("(discards the log before it)", out)
        self.assertIn("begins with a snapshot mark", out)
        self.assertIn("log: indexes 41..41, last term 3", out)
        self.assertIn("1 entries replaced a conflicting tail", out)

    def test_rule_violations(self):
        # An index gap: checksums fine, the log is not.
        s = walfmt.Segment(GROUP, 1, 1)
        s.hard_state(1, 0).entry(1, 1).entry(1, 2).entry(1, 4)
        self.write([s])
        code, out = run(self.dir)
        self.assertEqual(code, 2, out)
        self.assertIn("at offset %d, expected index 3: entry index skips ahead of the log "
                      "(IDX_GAP); the record: ENTRY_NORMAL index 4 term 1" % s.offsets[3], out)
        os.unlink(self.path(s))
        # A term regression.
        s = walfmt.Segment(GROUP, 1, 1)
        s.hard_state(3, 0).entry(3, 1).entry(2, 2)
        self.write([s])
        code, out = run(self.dir)
        self.assertEqual(code, 2, out)
        self.assertIn("TERM_REGRESSION", out)
        # Corruption is not fixed by --fix, even at the end.
        code, out = run("--fix", self.dir)
        self.assertEqual(code, 2, out)

    def test_wrong_name_and_group(self):
        segs = three_segments()
        self.write(segs)
        wrong = os.path.join(self.dir, walfmt.segment_name(2, 12))
        os.rename(self.path(segs[1]), wrong)
        code, out = run(self.dir)
        self.assertEqual(code, 2, out)
        self.assertIn("file name does not match the segment header", out)
        os.rename(wrong, self.path(segs[1]))
        code, out = run("--group", GROUP + 1, self.dir)
        self.assertEqual(code, 2, out)
        self.assertIn("segment belongs to another group", out)
        code, out = run("--group", GROUP, self.dir)
        self.assertEqual(code, 0, out)

    def test_usage_errors(self):
        self.assertEqual(run()[0], 3)
        self.assertEqual(run("--bogus", self.dir)[0], 3)
        self.assertEqual(run("--force-truncate-corrupt", self.dir)[0], 3)
        self.assertEqual(run("--group", "x", self.dir)[0], 3)
        code, out = run(os.path.join(self.dir, "missing"))
        self.assertEqual(code, 3)
        self.assertIn("No such file or directory", out)
        code, out = run("--help")
        self.assertEqual(code, 0)
        self.assertIn("usage: keel-check-wal", out)
        # An empty directory is an empty log.
        code, out = run(self.dir)
        self.assertEqual(code, 0, out)
        self.assertIn("segments: 0", out)


if __name__ == "__main__":
    if not walfmt.available():
        skip_script("libxxhash (libxxhash0) cannot be loaded with ctypes")
    main()
