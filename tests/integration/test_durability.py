"""Durability: the write-ahead log, group commit, snapshots and crash
recovery (keel-server --appendonly yes --appendfsync always|everysec|no).

- crash under load: 8 clients, each INCRing its own counter and APPENDing
  unique tokens to its own string, one command at a time; kill -9 at a random
  moment (seeded: the seed is printed, KEEL_CRASH_SEED=N repeats it);
  restart on the same data; every acknowledged write is there, unacknowledged
  ones may be, and each string is a prefix of what was sent (no duplicate, gap
  or reordering). KEEL_CRASH_ROUNDS rounds (default 5; 50+ for a soak), the
  state accumulating over them.
- clean restart (SIGTERM) keeps every key of every type, with appendfsync
  always, everysec and no.
- SAVE, BGSAVE, LASTSAVE and INFO persistence; recovery from a snapshot plus
  the log after it; --wal-snapshot-threshold keeps the number of log files
  bounded.
- keel's own: the files in <dir>/0/ (segments, snapshots), INFO's wal_*
  fields, a torn tail (cut, saved to .torn), a corrupt record (refused,
  then --wal-repair-corrupt yes), and the disk fault switch KEEL_WAL_FAULT
  (ENOSPC, EIO on fsync: -MISCONF, reads go on, nothing refused comes back).

Against Redis's AOF (the crash logic is the same; keel's own tests skip):

    KEEL_SERVER=$PWD/tests/integration/redis_durable_as_keel.py python3 tests/integration/test_durability.py -v

(KEEL_SERVER=.../redis_as_keel.py works too: it is swapped for
redis_durable_as_keel.py, since it turns the AOF off.)
"""
import glob
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import keelserver  # noqa: E402
import walfmt  # noqa: E402
from keelserver import (KeelServer, RespConn, RespError, encode, main, parse_value,  # noqa: E402
                        server_binary, wait_until)


def target():
    """The server binary; redis_as_keel.py (which turns the AOF off) is
    replaced by redis_durable_as_keel.py."""
    path = server_binary()
    if os.path.basename(path) == "redis_as_keel.py":
        path = os.path.join(HERE, "redis_durable_as_keel.py")
    return path


REDIS = os.path.basename(os.environ.get("KEEL_SERVER", "")).startswith("redis")
keel_only = unittest.skipIf(REDIS, "keel's own files, log lines or switches (running against Redis)")

GROUP_DIR = "0"  # the single node's Raft group: its log and snapshots
SEGMENT_NAME = re.compile(r"^\d{20}-\d{20}\.wal$")
N_CLIENTS = 8
CRASH_ROUNDS = int(os.environ.get("KEEL_CRASH_ROUNDS", "5"))
MAX_KILL_DELAY = 1.0  # seconds of load before the kill, at most


# -- servers on a data directory that outlives them -------------------------

def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _gone(pid):
    """Dead, or a zombie (which holds no file and no socket)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def _stop_tree(root):
    """SIGSTOPs root and every descendant (stopped, none can fork any
    more); returns their pids, root first."""
    tree = [root]
    os.kill(root, signal.SIGSTOP)
    while True:
        found = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                pid = int(d)
                if pid not in tree and _ppid(pid) in tree:
                    found.append(pid)
        if not found:
            return tree
        for pid in found:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        tree += found


class Server(KeelServer):
    """A KeelServer on a data directory the test owns: stopping the server
    leaves the directory, so the next one recovers from it. env: extra
    environment variables (KEEL_WAL_FAULT)."""

    def __init__(self, datadir, *args, env=None, timeout=60.0):
        super().__init__(*args, timeout=timeout, binary=target())
        os.rmdir(self.dir)
        self.dir = datadir
        self.env = dict(env or {})

    def start(self):
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return super().start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _finish(self):
        # KeelServer._finish without removing the data directory.
        if self.proc is None:
            return
        if self._reader:
            self._reader.join(5)
        self.proc.stdout.close()
        keelserver._live.discard(self.proc)
        self.returncode = self.proc.returncode
        self.proc = None

    def crash(self):
        """kill -9: the server and every process it started (a fork
        writing a snapshot, the redis-server under the Redis wrapper) die
        at the same instant, as in a power cut; returns when all are gone."""
        tree = _stop_tree(self.proc.pid)
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(30)
        self._finish()
        wait_until(lambda: all(_gone(p) for p in tree), 30, what="the killed processes to go")

    def run_to_exit(self, timeout=60):
        """Runs the server's command expecting it NOT to start: returns
        (exit code, output)."""
        env = dict(os.environ, **self.env)
        p = subprocess.run(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout, env=env)
        return p.returncode, p.stdout.decode("utf-8", "replace")


def val(raw):
    return parse_value(raw)


def cmd(c, *args):
    """One command; its decoded reply, which must not be an error."""
    v = val(c.cmd(*args))
    if isinstance(v, RespError):
        raise AssertionError("%s -> -%s" % (" ".join(map(str, args))[:80], v))
    return v


def info(c, section="persistence"):
    text = val(c.cmd("INFO", section))
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


# -- the whole data set, read back ------------------------------------------

def dump_state(port, dbs=range(16)):
    """{(db, key): (type, value, has_ttl)} of every key of every database."""
    c = RespConn(port, timeout=60)
    out = {}
    try:
        for db in dbs:
            cmd(c, "SELECT", db)
            keys, cur = set(), b"0"
            while True:
                cur, batch = cmd(c, "SCAN", cur, "COUNT", 1000)
                keys.update(batch)
                if cur == b"0":
                    break
            for k in keys:
                t = cmd(c, "TYPE", k)
                if t == "string":
                    v = cmd(c, "GET", k)
                elif t == "list":
                    v = tuple(cmd(c, "LRANGE", k, 0, -1))
                elif t == "hash":
                    flat = cmd(c, "HGETALL", k)
                    v = frozenset(zip(flat[::2], flat[1::2]))
                elif t == "set":
                    v = frozenset(cmd(c, "SMEMBERS", k))
                elif t == "zset":
                    flat = cmd(c, "ZRANGE", k, 0, -1, "WITHSCORES")
                    v = tuple(zip(flat[::2], flat[1::2]))
                elif t == "none":  # expired between SCAN and TYPE
                    continue
                else:
                    raise AssertionError("unexpected type %r of %r" % (t, k))
                ttl = cmd(c, "PTTL", k)
                out[(db, k)] = (t, v, ttl > 0)
        cmd(c, "SELECT", 0)
    finally:
        c.close()
    return out


def fill(c, scale=1):
    """Keys of every type in several databases, with overwrites, deletes,
    expiry and binary values."""
    for i in range(300 * scale):
        cmd(c, "SET", "s:%d" % i, "value-%d" % i)
    for i in range(0, 300 * scale, 7):
        cmd(c, "SET", "s:%d" % i, "over-%d" % i)
    for i in range(0, 300 * scale, 11):
        cmd(c, "DEL", "s:%d" % i)
    cmd(c, "SET", "bin", bytes(range(256)) + b"\r\n\0\r\n*3\r\n$3\r\nSET\r\n")
    cmd(c, "SET", "big", os.urandom(200_000))
    cmd(c, "SET", "empty", "")
    for _ in range(100):
        cmd(c, "INCR", "counter")
    cmd(c, "INCRBY", "counter", -1000)
    cmd(c, "INCRBYFLOAT", "float", "3.25")
    cmd(c, "INCRBYFLOAT", "float", "-0.125")
    for i in range(50):
        cmd(c, "APPEND", "appended", "%d," % i)
    cmd(c, "SETRANGE", "appended", 3, "XYZ")
    for i in range(20):
        cmd(c, "RPUSH", "list:%d" % i, *["e%d" % j for j in range(40)])
        cmd(c, "LPUSH", "list:%d" % i, "head")
        cmd(c, "LPOP", "list:%d" % i)
        cmd(c, "RPOP", "list:%d" % i)
        cmd(c, "LSET", "list:%d" % i, 5, "changed")
    cmd(c, "RPUSH", "biglist", *["item-%d" % j for j in range(5000)])
    cmd(c, "LTRIM", "biglist", 100, -100)
    for i in range(20):
        cmd(c, "HSET", "hash:%d" % i, *sum((["f%d" % j, "v%d" % j] for j in range(30)), []))
        cmd(c, "HDEL", "hash:%d" % i, "f3", "f4")
        cmd(c, "HINCRBY", "hash:%d" % i, "n", 42)
    cmd(c, "HSET", "bighash", *sum((["field-%d" % j, "x" * (j % 50)] for j in range(3000)), []))
    for i in range(20):
        cmd(c, "SADD", "set:%d" % i, *["m%d" % j for j in range(30)])
        cmd(c, "SADD", "iset:%d" % i, *[str(j) for j in range(30)])
        cmd(c, "SREM", "set:%d" % i, "m7")
    cmd(c, "SADD", "bigset", *["member-%d" % j for j in range(3000)])
    for i in range(20):
        cmd(c, "ZADD", "zset:%d" % i, *sum(([str(j * 1.5), "z%d" % j] for j in range(30)), []))
        cmd(c, "ZADD", "zset:%d" % i, "-inf", "low", "+inf", "high")
        cmd(c, "ZINCRBY", "zset:%d" % i, "2.5", "z1")
        cmd(c, "ZREM", "zset:%d" % i, "z2")
    cmd(c, "ZADD", "bigzset", *sum(([str(j), "member-%d" % j] for j in range(3000)), []))
    cmd(c, "PFADD", "hll", *["h%d" % j for j in range(100)])
    cmd(c, "SET", "ttl:ex", "v", "EX", 100000)
    cmd(c, "SET", "ttl:persisted", "v", "EX", 100000)
    cmd(c, "PERSIST", "ttl:persisted")
    cmd(c, "HSET", "ttl:hash", "f", "v")
    cmd(c, "PEXPIRE", "ttl:hash", 50_000_000)
    cmd(c, "SET", "gone", "v", "PX", 1)
    wait_until(lambda: cmd(c, "EXISTS", "gone") == 0, 10, what="the 1 ms key to expire")
    cmd(c, "SET", "renamed-from", "r")
    cmd(c, "RENAME", "renamed-from", "renamed-to")
    cmd(c, "SELECT", 5)
    for i in range(50):
        cmd(c, "SET", "db5:%d" % i, i)
    cmd(c, "SELECT", 7)
    cmd(c, "SET", "flushed", "x")
    cmd(c, "FLUSHDB")
    cmd(c, "SELECT", 0)


# -- keel's log files -------------------------------------------------------

def segments(datadir):
    """The group's segment files, oldest first (names sort by seq)."""
    return sorted(glob.glob(os.path.join(datadir, GROUP_DIR, "*.wal")))


def records(data):
    """(offset, length, type, index, payload) of the whole records of a
    segment's bytes, in order (docs/durability.md)."""
    out, off = [], walfmt.SEG_HEADER
    while off + walfmt.REC_MIN <= len(data):
        total, rtype = struct.unpack_from("<IB", data, off)
        if total < walfmt.REC_MIN or off + total > len(data) or rtype == 0:
            break
        index = struct.unpack_from("<Q", data, off + 20)[0]
        payload = bytes(data[off + walfmt.REC_HEADER:off + total - 8])
        out.append((off, total, rtype, index, payload))
        off += total
    return out


def log_files(datadir):
    """The names of the log's files: keel's segments; under Redis, its AOF
    files (base and increments)."""
    if REDIS:
        return sorted(os.path.basename(p) for p in glob.glob(
            os.path.join(datadir, "appendonlydir", "*.aof")))
    return [os.path.basename(p) for p in segments(datadir)]


def read(path):
    with open(path, "rb") as f:
        return f.read()


# -- the crash test's clients -----------------------------------------------

class Client(threading.Thread):
    """INCR ctr, then APPEND a token "<id>:<seq>," to str, one command at a
    time, until the connection dies; keeps what it sent and what was
    acknowledged. base_count, base_str: the keys' values when it started."""

    def __init__(self, port, cid, base_count, base_str, first_seq):
        super().__init__(daemon=True)
        self.port = port
        self.cid = cid
        self.ctr = "crash:ctr:%d" % cid
        self.str = "crash:str:%d" % cid
        self.base_count = base_count
        self.base_str = base_str
        self.seq = first_seq
        self.incr_sent = 0
        self.incr_acked = 0
        self.tokens = []        # every token sent, in order
        self.append_acked = 0   # how many of them were acknowledged
        self.error = None
        self.conn = RespConn(port, timeout=30)

    def run(self):
        length = len(self.base_str)
        try:
            while True:
                self.incr_sent += 1
                self.conn.send(encode("INCR", self.ctr))
                r = self.conn.reply()
                if r != b":%d\r\n" % (self.base_count + self.incr_sent):
                    raise AssertionError("client %d: INCR #%d (from %d) got %r"
                                         % (self.cid, self.incr_sent, self.base_count, r))
                self.incr_acked += 1
                tok = b"%d:%d," % (self.cid, self.seq)
                self.seq += 1
                self.tokens.append(tok)
                self.conn.send(encode("APPEND", self.str, tok))
                r = self.conn.reply()
                length += len(tok)
                if r != b":%d\r\n" % length:
                    raise AssertionError("client %d: APPEND #%d got %r, expected length %d"
                                         % (self.cid, len(self.tokens), r, length))
                self.append_acked += 1
        except (OSError, EOFError):
            pass  # the server was killed
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.conn.close()

    def check(self, count, s):
        """The recovered values against what was sent and acknowledged;
        returns a list of complaints."""
        bad = []
        lo, hi = self.base_count + self.incr_acked, self.base_count + self.incr_sent
        if not lo <= count <= hi:
            bad.append("client %d: counter %d, expected %d..%d (acknowledged..sent)"
                       % (self.cid, count, lo, hi))
        if not s.startswith(self.base_str):
            bad.append("client %d: the string lost what it held before this round "
                       "(%d bytes then, %d now)" % (self.cid, len(self.base_str), len(s)))
            return bad
        rest, pos, k = s[len(self.base_str):], 0, 0
        while k < len(self.tokens) and rest.startswith(self.tokens[k], pos):
            pos += len(self.tokens[k])
            k += 1
        if pos != len(rest):
            bad.append("client %d: after %d tokens in order the string has %r, expected %r"
                       % (self.cid, k, rest[pos:pos + 40],
                          self.tokens[k] if k < len(self.tokens) else b"(end)"))
        elif k < self.append_acked:
            bad.append("client %d: %d tokens survived, %d were acknowledged (lost: %r...)"
                       % (self.cid, k, self.append_acked, self.tokens[k]))
        return bad


# -- the tests --------------------------------------------------------------

class Durability(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="keel-dur-")
        self.servers = []
        self.addCleanup(shutil.rmtree, self.data, True)

    def tearDown(self):
        for s in self.servers:
            if s.alive():
                s.stop(signal.SIGKILL)

    def server(self, *args, fsync="always", env=None):
        """A started server on this test's data directory."""
        s = Server(self.data, "--appendonly", "yes", "--appendfsync", fsync, *args, env=env)
        self.servers.append(s)
        return s.start()

    def stop_clean(self, s):
        code = s.stop(signal.SIGTERM, timeout=60)
        self.assertEqual(code, 0, "exit %s after SIGTERM: %s" % (code, s.log.decode(errors="replace")[-3000:]))

    def assert_keys(self, c, keys):
        """Every key of keys ({key: value}) reads back its value on c."""
        for k, v in keys.items():
            self.assertEqual(cmd(c, "GET", k), v, k)

    def write_keys(self, c, prefix, n, size=20):
        """n SETs, one at a time, each acknowledged: {key: value}."""
        out = {}
        for i in range(n):
            k, v = b"%s:%04d" % (prefix, i), b"v%04d-" % i + b"x" * size
            self.assertEqual(c.cmd("SET", k, v), b"+OK\r\n")
            out[k] = v
        return out

    # a. -------------------------------------------------------------------

    def test_crash_under_load(self):
        seed = int(os.environ.get("KEEL_CRASH_SEED") or random.SystemRandom().randrange(1 << 32))
        rng = random.Random(seed)
        print("\n  seed %d (KEEL_CRASH_SEED=%d repeats it), %d rounds (KEEL_CRASH_ROUNDS)"
              % (seed, seed, CRASH_ROUNDS), flush=True)
        where = "seed %d" % seed
        s = self.server()
        base = {i: (0, b"") for i in range(N_CLIENTS)}
        next_seq = {i: 1 for i in range(N_CLIENTS)}
        for rnd in range(1, CRASH_ROUNDS + 1):
            clients = [Client(s.port, i, base[i][0], base[i][1], next_seq[i])
                       for i in range(N_CLIENTS)]
            for c in clients:
                c.start()
            wait_until(lambda: all(c.append_acked >= 1 or not c.is_alive() for c in clients), 60,
                       what="every client to have a reply")
            for c in clients:
                self.assertIsNone(c.error, "round %d, %s: %s" % (rnd, where, c.error))
            delay = rng.uniform(0, MAX_KILL_DELAY)
            time.sleep(delay)  # the one intended sleep: a random moment under load
            s.crash()
            for c in clients:
                c.join(30)
                self.assertFalse(c.is_alive(), "a client outlived the server")
                self.assertIsNone(c.error, "round %d, %s: %s" % (rnd, where, c.error))
            s = self.server()
            conn = s.conn(timeout=30)
            bad, kept = [], 0
            for c in clients:
                count = cmd(conn, "GET", c.ctr)
                count = int(count) if count is not None else 0
                got = cmd(conn, "GET", c.str) or b""
                bad += c.check(count, got)
                kept += (count - c.base_count - c.incr_acked) + \
                    (got.count(b",") - c.base_str.count(b",") - c.append_acked)
                base[c.cid] = (count, got)
                next_seq[c.cid] = c.seq
            conn.close()
            acked = sum(c.incr_acked + c.append_acked for c in clients)
            sent = sum(c.incr_sent + len(c.tokens) for c in clients)
            print("  round %d: killed after %.3fs; %d writes acknowledged, %d sent, %d "
                  "unacknowledged found after the restart"
                  % (rnd, delay, acked, sent, kept), flush=True)
            self.assertEqual(bad, [], "round %d, %s:\n  %s\nlog of the restarted server:\n%s"
                             % (rnd, where, "\n  ".join(bad), s.log.decode(errors="replace")[-3000:]))
        self.stop_clean(s)

    # b, g. ----------------------------------------------------------------

    def clean_restart(self, fsync):
        s = self.server(fsync=fsync)
        c = s.conn(timeout=30)
        fill(c)
        self.assertEqual(info(c)["aof_enabled"], "1")
        c.close()
        before = dump_state(s.port)
        self.assertGreater(len(before), 400)
        self.stop_clean(s)
        s = self.server(fsync=fsync)
        after = dump_state(s.port)
        missing = sorted(set(before) - set(after))[:5]
        extra = sorted(set(after) - set(before))[:5]
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])[:5]
        self.assertEqual((missing, extra, changed), ([], [], []),
                         "after the restart (appendfsync %s): missing, extra, changed keys" % fsync)
        self.stop_clean(s)
        # A second restart, from what the first one recovered.
        s = self.server(fsync=fsync)
        self.assertEqual(dump_state(s.port), before)
        self.stop_clean(s)

    def test_clean_restart_keeps_everything(self):
        self.clean_restart("always")

    def test_clean_restart_everysec(self):
        self.clean_restart("everysec")

    def test_clean_restart_appendfsync_no(self):
        self.clean_restart("no")

    # c. -------------------------------------------------------------------

    def test_save_bgsave_lastsave(self):
        s = self.server()
        c = s.conn(timeout=60)
        a = self.write_keys(c, b"a", 300)
        i = info(c)
        self.assertEqual(i.get("aof_enabled"), "1", i)
        self.assertEqual(i.get("aof_last_write_status"), "ok", i)
        self.assertEqual(i.get("rdb_bgsave_in_progress"), "0", i)
        self.assertGreater(int(i["rdb_changes_since_last_save"]), 0, i)

        t0 = int(time.time())
        self.assertEqual(c.cmd("SAVE"), b"+OK\r\n")
        last = cmd(c, "LASTSAVE")
        self.assertTrue(t0 <= last <= time.time() + 1, (t0, last))
        i = info(c)
        self.assertEqual(i["rdb_changes_since_last_save"], "0", i)
        self.assertEqual(i["rdb_last_bgsave_status"], "ok", i)

        a.update(self.write_keys(c, b"b", 100))
        self.assertGreater(int(info(c)["rdb_changes_since_last_save"]), 0)
        t1 = int(time.time())
        self.assertEqual(c.cmd("BGSAVE"), b"+Background saving started\r\n")
        wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", 60, what="BGSAVE to finish")
        i = info(c)
        self.assertEqual(i["rdb_last_bgsave_status"], "ok", i)
        self.assertGreaterEqual(cmd(c, "LASTSAVE"), t1)

        # After the snapshot: new keys, overwrites and deletes, in the log only.
        a.update(self.write_keys(c, b"c", 100))
        for k in list(a)[:300:3]:
            a[k] = b"new-" + k
            self.assertEqual(c.cmd("SET", k, a[k]), b"+OK\r\n")
        for k in list(a)[1:300:3]:
            self.assertEqual(c.cmd("DEL", k), b":1\r\n")
            del a[k]
        c.close()
        before = dump_state(s.port)
        s.crash()
        s = self.server()
        self.assertEqual(dump_state(s.port), before)
        c = s.conn()
        self.assert_keys(c, a)
        self.assertEqual(cmd(c, "DBSIZE"), len(a))
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_appendonly_no_keeps_what_a_snapshot_saved(self):
        # No log: SAVE's snapshot is what a restart has (Redis's RDB).
        s = self.server("--appendonly", "no")
        c = s.conn()
        saved = self.write_keys(c, b"saved", 50)
        self.assertEqual(c.cmd("SAVE"), b"+OK\r\n")
        lost = self.write_keys(c, b"memory", 10)
        self.assertEqual(info(c)["aof_enabled"], "0")
        self.assertEqual(log_files(self.data), [], "a log without appendonly")
        c.close()
        self.stop_clean(s)
        s = self.server("--appendonly", "no")
        c = s.conn()
        self.assert_keys(c, saved)
        for k in lost:
            self.assertIsNone(cmd(c, "GET", k), k)
        c.close()
        self.stop_clean(s)
        # With save points, shutting down saves, as Redis does.
        s = self.server("--appendonly", "no", "--save", "3600 1")
        c = s.conn()
        more = self.write_keys(c, b"atexit", 5)
        c.close()
        self.stop_clean(s)
        s = self.server("--appendonly", "no")
        c = s.conn()
        self.assert_keys(c, more)
        self.assertEqual(cmd(c, "DBSIZE"), len(saved) + len(more))
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_config_set_appendonly_at_run_time(self):
        s = self.server("--appendonly", "no")
        c = s.conn()
        before = self.write_keys(c, b"before", 20)
        self.assertEqual(c.cmd("CONFIG", "SET", "appendonly", "yes"), b"+OK\r\n")
        self.assertEqual(cmd(c, "CONFIG", "GET", "appendonly"), [b"appendonly", b"yes"])
        self.assertEqual(info(c)["aof_enabled"], "1")
        during = self.write_keys(c, b"during", 20)
        self.assertEqual(c.cmd("SET", "ttl", "v", "EX", "100"), b"+OK\r\n")
        self.assertEqual(c.cmd("DEBUG", "LOADAOF"), b"+OK\r\n")
        self.assertTrue(90 <= cmd(c, "TTL", "ttl") <= 100)
        self.assertEqual(c.cmd("CONFIG", "SET", "appendonly", "no"), b"+OK\r\n")
        off = self.write_keys(c, b"off", 5)  # not logged
        self.assertEqual(c.cmd("CONFIG", "SET", "appendonly", "yes"), b"+OK\r\n")
        again = self.write_keys(c, b"again", 5)
        c.close()
        s.crash()
        s = self.server()
        c = s.conn()
        for d in (before, during, off, again):
            self.assert_keys(c, d)
        self.assertEqual(len(glob.glob(os.path.join(self.data, GROUP_DIR, "snapshot-*.snap"))), 1,
                         "older snapshots are removed")
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_bgsave_inside_a_logged_transaction(self):
        # It starts once the entry is applied (Redis schedules a BGSAVE run
        # inside EXEC); neither the snapshot nor the replay applies the
        # transaction twice.
        s = self.server()
        c = s.conn()
        self.assertEqual(c.cmd("MULTI"), b"+OK\r\n")
        self.assertEqual(c.cmd("INCR", "x"), b"+QUEUED\r\n")
        self.assertEqual(c.cmd("BGSAVE"), b"+QUEUED\r\n")
        self.assertEqual(c.cmd("EXEC"), b"*2\r\n:1\r\n+Background saving scheduled\r\n")
        wait_until(lambda: info(c)["rdb_saves"] == "1" and info(c)["rdb_bgsave_in_progress"] == "0",
                   30, what="the scheduled BGSAVE")
        self.assertEqual(cmd(c, "INCR", "y"), 1)
        c.close()
        for _ in range(2):
            s.crash()
            s = self.server()
            c = s.conn()
            self.assertEqual(cmd(c, "GET", "x"), b"1")
            self.assertEqual(cmd(c, "GET", "y"), b"1")
            c.close()
        self.stop_clean(s)

    @keel_only
    def test_spop_after_debug_reload_replays(self):
        s = self.server()
        c = s.conn()
        members = [b"m%d" % i for i in range(200)]
        self.assertEqual(cmd(c, "SADD", "s", *members), 200)
        self.assertEqual(c.cmd("DEBUG", "RELOAD"), b"+OK\r\n")
        popped = [cmd(c, "SPOP", "s") for _ in range(5)]
        left = set(cmd(c, "SMEMBERS", "s"))
        c.close()
        s.crash()
        s = self.server()
        c = s.conn()
        self.assertEqual(set(cmd(c, "SMEMBERS", "s")), left)
        for m in popped:
            self.assertEqual(cmd(c, "SISMEMBER", "s", m), 0, m)
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_a_snapshot_without_the_log_supersedes_an_old_log(self):
        s = self.server()
        c = s.conn()
        self.assertEqual(c.cmd("SET", "a", "1"), b"+OK\r\n")
        self.assertEqual(c.cmd("SAVE"), b"+OK\r\n")
        self.assertEqual(cmd(c, "INCR", "a"), 2)  # in the log only
        c.close()
        self.stop_clean(s)
        s = self.server("--appendonly", "no")  # loads the snapshot: a = 1
        c = s.conn()
        self.assertEqual(cmd(c, "GET", "a"), b"1")
        self.assertEqual(c.cmd("SET", "a", "10"), b"+OK\r\n")
        self.assertEqual(c.cmd("SAVE"), b"+OK\r\n")
        c.close()
        self.stop_clean(s)
        s = self.server()
        c = s.conn()
        self.assertEqual(cmd(c, "GET", "a"), b"10", "the old log's INCR replayed on the newer snapshot")
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_a_new_log_after_a_failed_one_takes_writes(self):
        s = self.server(env={"KEEL_WAL_FAULT": "enospc-after:2000"})
        c = s.conn()
        refused = None
        for i in range(200):
            r = c.cmd("SET", "k%d" % i, "x" * 50)
            if r.startswith(b"-MISCONF"):
                refused = i
                break
        self.assertIsNotNone(refused, "the fault never hit")
        self.assertEqual(c.cmd("CONFIG", "SET", "appendonly", "no"), b"+OK\r\n")
        self.assertEqual(c.cmd("CONFIG", "SET", "appendonly", "yes"), b"+OK\r\n")
        self.assertEqual(info(c)["aof_last_write_status"], "ok")
        self.assertEqual(c.cmd("SET", "after", "1"), b"+OK\r\n")
        c.close()
        s.crash()
        s = self.server()
        c = s.conn()
        self.assertEqual(cmd(c, "GET", "after"), b"1")
        self.assertEqual(cmd(c, "GET", "k0"), b"x" * 50)
        c.close()
        self.stop_clean(s)

    def test_snapshot_threshold_bounds_the_log(self):
        threshold = 256 * 1024
        s = self.server("--wal-snapshot-threshold", str(threshold))
        c = s.conn(timeout=60)
        value = os.urandom(2048)
        first, most, written = None, 0, 0
        batch = 100
        for b in range(60):  # 60 x 100 SETs of 2 KiB: about 12 MiB, 48 thresholds
            c.send(b"".join(encode("SET", "thr:%d" % ((b * batch + j) % 400), value + b"%d" % b)
                            for j in range(batch)))
            for _ in range(batch):
                self.assertEqual(c.reply(), b"+OK\r\n")
            written += batch * len(value)
            files = log_files(self.data)
            first = first or files
            most = max(most, len(files))
        self.assertTrue(first, "no log file")
        self.assertLessEqual(most, 32, "log files while writing: up to %d" % most)
        # Compaction catches up: few files, and the first ones are gone.
        wait_until(lambda: len(log_files(self.data)) <= 8, 60,
                   what="at most 8 log files (now %s)" % log_files(self.data))
        wait_until(lambda: first[0] not in log_files(self.data), 60,
                   what="the first log file (%s) to be deleted" % first[0])
        print("\n  up to %d log files while writing %.1f MiB (threshold %d KiB); then %s"
              % (most, written / 2**20, threshold // 1024, log_files(self.data)))
        if not REDIS:
            snaps = glob.glob(os.path.join(self.data, GROUP_DIR, "snapshot-*.snap"))
            self.assertTrue(snaps, "no snapshot after %d bytes of writes" % written)
        c.close()
        before = dump_state(s.port)
        self.assertEqual(len(before), 400)
        s.crash()
        s = self.server("--wal-snapshot-threshold", str(threshold))
        self.assertEqual(dump_state(s.port), before)
        self.stop_clean(s)

    @keel_only
    def test_a_snapshot_of_the_whole_log_removes_its_segments(self):
        """With no write after a snapshot's point, the snapshot holds all the
        log: its segments go (not only those before the newest), and the
        next write starts a new one right after it."""
        s = self.server()
        c = s.conn()
        keys = self.write_keys(c, b"w", 300)
        self.assertTrue(segments(self.data))
        self.assertEqual(c.cmd("BGSAVE"), b"+Background saving started\r\n")
        wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", 60, what="BGSAVE to finish")
        i = info(c)
        self.assertEqual(i["rdb_last_bgsave_status"], "ok", i)
        self.assertEqual(segments(self.data), [], "segments left behind a snapshot of the whole log")
        self.assertEqual(i["wal_segments"], "0", i)
        snap_index = int(i["wal_snapshot_index"])
        self.assertEqual(snap_index, int(i["wal_last_index"]), i)
        self.assertEqual(int(i["wal_first_index"]), snap_index + 1, "no entry is left in a file")
        keys.update(self.write_keys(c, b"after", 10))
        segs = segments(self.data)
        self.assertEqual(len(segs), 1, segs)
        first = int(os.path.basename(segs[0])[21:41])
        self.assertEqual(first, snap_index + 1, "the new segment does not follow the snapshot")
        i = info(c)
        self.assertEqual(int(i["wal_first_index"]), first, i)
        self.assertEqual(int(i["wal_last_index"]), snap_index + 10, i)
        c.close()
        s.crash()
        s = self.server()
        c = s.conn()
        self.assert_keys(c, keys)
        c.close()
        self.stop_clean(s)

    # keel's files and fields ----------------------------------------------

    @keel_only
    def test_layout_and_info_fields(self):
        s = self.server()
        c = s.conn()
        self.write_keys(c, b"k", 50)
        segs = segments(self.data)
        self.assertTrue(segs, "no *.wal in %s" % os.path.join(self.data, GROUP_DIR))
        for p in segs:
            self.assertRegex(os.path.basename(p), SEGMENT_NAME)
            self.assertEqual(read(p)[:8], walfmt.SEG_MAGIC, p)
        self.assertTrue(any(rec[2] == walfmt.ENTRY_NORMAL and b"k:0049" in rec[4]
                            for rec in records(read(segs[-1]))),
                        "the last SET is not a record of the newest segment")
        self.assertEqual(c.cmd("SAVE"), b"+OK\r\n")
        snaps = glob.glob(os.path.join(self.data, GROUP_DIR, "snapshot-*.snap"))
        self.assertTrue(snaps, os.listdir(os.path.join(self.data, GROUP_DIR)))
        for p in snaps:
            self.assertEqual(read(p)[:8], walfmt.SNAP_MAGIC, p)
        i = info(c)
        wal = sorted(k for k in i if k.startswith("wal_"))
        self.assertTrue(wal, "no wal_* field in INFO persistence: %s" % sorted(i))
        for k in ("aof_enabled", "aof_last_write_status", "rdb_bgsave_in_progress",
                  "rdb_last_bgsave_status", "rdb_changes_since_last_save"):
            self.assertIn(k, i)
        print("\n  INFO persistence: %s" % ", ".join("%s:%s" % (k, i[k]) for k in wal))
        c.close()
        self.stop_clean(s)

    def restart_untorn(self, keys, *args):
        """Starts a server after a kill -9: no torn tail was found (the
        zeros after the last record are unused space), every key of keys
        reads back. Returns (server, connection)."""
        s = self.server(*args)
        log = s.log.decode(errors="replace")
        self.assertNotIn("torn", log.lower(), log)
        c = s.conn()
        self.assertEqual(info(c)["wal_torn_bytes_cut"], "0")
        self.assert_keys(c, keys)
        return s, c

    @keel_only
    def test_segments_are_preallocated(self):
        """Each segment is preallocated to wal-segment-size (its fdatasyncs
        then have no file size to journal); the zeros after the last record
        are unused space, not a torn tail, across kill -9."""
        size = 4096
        s = self.server("--wal-segment-size", str(size))
        c = s.conn()
        keys = self.write_keys(c, b"pre", 200)
        segs = segments(self.data)
        self.assertGreater(len(segs), 2)
        self.assertEqual({p: os.path.getsize(p) for p in segs}, {p: size for p in segs})
        c.close()
        s.crash()
        s, c = self.restart_untorn(keys, "--wal-segment-size", str(size))
        keys.update(self.write_keys(c, b"inside", 20))  # written into the zeros
        c.close()
        s.crash()
        # Off: what it writes from now on grows as written.
        s = self.server("--wal-segment-size", str(size), "--wal-preallocate", "no")
        c = s.conn()
        self.assert_keys(c, keys)
        before = set(segments(self.data))
        keys.update(self.write_keys(c, b"grown", 200))
        new = [p for p in segments(self.data) if p not in before]
        self.assertGreater(len(new), 1)
        for p in new:
            self.assertLess(os.path.getsize(p), size, p)
        c.close()
        s.crash()
        s = self.server("--wal-segment-size", str(size))
        c = s.conn()
        self.assert_keys(c, keys)
        self.assertEqual(cmd(c, "DBSIZE"), len(keys))
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_failed_preallocation(self):
        """A segment whose preallocation fails (ENOSPC or EOPNOTSUPP, after
        the file's size was set) gets its size put back and grows as it is
        written: the failure is logged once, nothing written is lost, and a
        restart after kill -9 finds no torn tail."""
        size = 4096
        keys = {}
        for kind, errtext in (("0", "No space left on device"),
                              ("1", "Operation not supported")):
            s = self.server("--wal-segment-size", str(size),
                            env={"KEEL_WAL_FAULT": "fallocate:" + kind})
            c = s.conn()
            before = set(segments(self.data))
            keys.update(self.write_keys(c, b"fa" + kind.encode(), 200))
            new = [p for p in segments(self.data) if p not in before]
            self.assertGreater(len(new), 2)
            for p in new[:-1]:
                # Full segments: their records and nothing after them (the
                # size the failed call set was put back).
                data = read(p)
                off, total = records(data)[-1][:2]
                self.assertEqual(off + total, len(data), p)
            log = s.log.decode(errors="replace")
            self.assertEqual(log.count("segment preallocation failed"), 1, log)
            self.assertIn(errtext, log)
            c.close()
            s.crash()
        s, c = self.restart_untorn(keys, "--wal-segment-size", str(size))
        self.assertEqual(cmd(c, "DBSIZE"), len(keys))
        c.close()
        self.stop_clean(s)

    # d. -------------------------------------------------------------------

    @keel_only
    def test_torn_tail(self):
        s = self.server()
        c = s.conn()
        keys = self.write_keys(c, b"torn", 200)
        c.close()
        s.crash()
        seg = segments(self.data)[-1]
        data = read(seg)
        recs = records(data)
        self.assertTrue(recs, "no record in %s" % seg)
        off, total, rtype, _, payload = recs[-1]
        self.assertEqual(rtype, walfmt.ENTRY_NORMAL, "the newest record is not an entry")
        lost = {k for k in keys if k in payload}
        self.assertTrue(lost, "the newest record holds none of the keys written")
        end = off + total
        cut = 5
        with open(seg, "r+b") as f:
            f.truncate(end - cut)
        s = self.server()
        log = s.log.decode(errors="replace")
        self.assertIn("torn", log.lower(), log)
        # What was cut and saved: the torn record, as far as it reached.
        self.assertEqual(read(seg + ".torn"), data[off:end - cut])
        # Cut at the torn record (what the server appends after that, a new
        # term's records say, may follow).
        now = read(seg) if os.path.exists(seg) else b""
        self.assertEqual(now[:off], data[:off], "the records before the torn one changed")
        self.assertNotEqual(now[off:end - cut], data[off:end - cut], "the torn record is still there")
        c = s.conn()
        for k, v in keys.items():
            self.assertEqual(cmd(c, "GET", k), None if k in lost else v, k)
        # The log goes on from the cut: new writes survive another restart.
        more = self.write_keys(c, b"after", 20)
        c.close()
        self.stop_clean(s)
        s = self.server()
        c = s.conn()
        self.assert_keys(c, more)
        self.assertEqual(cmd(c, "DBSIZE"), len(keys) - len(lost) + len(more))
        c.close()
        self.stop_clean(s)

    # e. -------------------------------------------------------------------

    @keel_only
    def test_corrupt_record_refused_then_repaired(self):
        s = self.server()
        c = s.conn()
        keys = self.write_keys(c, b"bad", 300)
        c.close()
        s.crash()
        # An early entry of the newest segment, with many records after it.
        seg = segments(self.data)[-1]
        data = bytearray(read(seg))
        recs = [r for r in records(data) if r[2] == walfmt.ENTRY_NORMAL and b"bad:" in r[4]]
        self.assertGreaterEqual(len(recs), 30, "too few entries in %s" % seg)
        off, total = recs[len(recs) // 4][:2]
        data[off + walfmt.REC_HEADER + (total - walfmt.REC_MIN) // 2] ^= 0x20
        with open(seg, "wb") as f:
            f.write(data)
        before = set()  # the keys in records before the damaged one
        for p in segments(self.data):
            for r in records(read(p)):
                if p == seg and r[0] >= off:
                    break
                before.update(k for k in keys if k in r[4])
        self.assertTrue(before)

        code, out = Server(self.data, "--appendonly", "yes", "--appendfsync", "always").run_to_exit()
        self.assertNotEqual(code, 0, out)
        self.assertNotIn("Ready to accept connections", out)
        self.assertIn(os.path.basename(seg), out)
        self.assertRegex(out, r"\b%d\b" % off, "the offset of the damaged record")
        self.assertEqual(read(seg), bytes(data), "the refused log was changed")

        s = self.server("--wal-repair-corrupt", "yes")
        c = s.conn()
        for k in before:
            self.assertEqual(cmd(c, "GET", k), keys[k], k)
        self.assertEqual(c.cmd("SET", "after-repair", "1"), b"+OK\r\n")
        c.close()
        self.stop_clean(s)
        s = self.server()
        self.assertEqual(cmd(s.conn(), "GET", "after-repair"), b"1")
        self.stop_clean(s)

    # f. -------------------------------------------------------------------

    def refused_writes(self, c):
        for args in (("SET", "x", "1"), ("INCR", "n"), ("DEL", "x"), ("HSET", "h", "f", "v"),
                     ("RPUSH", "l", "a"), ("EXPIRE", "x", 100), ("FLUSHALL",)):
            r = c.cmd(*args)
            self.assertTrue(r.startswith(b"-MISCONF"), "%s after the fault: %r" % (args[0], r))

    @keel_only
    def test_enospc(self):
        s = self.server(env={"KEEL_WAL_FAULT": "enospc-after:200000"})
        acked, refused, errors = {}, {}, []
        lock = threading.Lock()

        def writer(t):
            try:
                c = s.conn(timeout=30)
                failed = 0
                for i in range(20000):
                    k, v = b"f:%d:%05d" % (t, i), b"%d-%d-" % (t, i) + b"y" * 100
                    r = c.cmd("SET", k, v)
                    with lock:
                        if r == b"+OK\r\n":
                            if failed:
                                errors.append("writer %d: %s acknowledged after a -MISCONF" % (t, k))
                                return
                            acked[k] = v
                        elif r.startswith(b"-MISCONF"):
                            refused[k] = v
                            failed += 1
                            if failed == 5:
                                return
                        else:
                            errors.append("writer %d: SET %s -> %r" % (t, k, r))
                            return
                errors.append("writer %d: 20000 SETs and no -MISCONF" % t)
            except Exception as e:  # noqa: BLE001
                errors.append("writer %d: %r" % (t, e))

        threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        self.assertTrue(acked, "no write succeeded before the fault")
        c = s.conn()
        self.refused_writes(c)
        # Reads go on, and show nothing that was refused.
        self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
        self.assert_keys(c, acked)
        for k in refused:
            self.assertIsNone(cmd(c, "GET", k), k)
        self.assertEqual(cmd(c, "DBSIZE"), len(acked))
        self.assertEqual(info(c)["aof_last_write_status"], "err")
        c.close()
        print("\n  %d SETs acknowledged, %d refused" % (len(acked), len(refused)))
        s.crash()

        s = self.server()
        c = s.conn()
        self.assert_keys(c, acked)
        for k in refused:
            self.assertIsNone(cmd(c, "GET", k), "%s got -MISCONF, and is there after the restart" % k)
        self.assertEqual(cmd(c, "DBSIZE"), len(acked))
        self.assertEqual(info(c)["aof_last_write_status"], "ok")
        self.assertEqual(c.cmd("SET", "x", "1"), b"+OK\r\n")
        c.close()
        self.stop_clean(s)

    @keel_only
    def test_eio_on_fsync(self):
        s = self.server(env={"KEEL_WAL_FAULT": "eio-fsync:30"})
        c = s.conn(timeout=30)
        acked, refused = {}, []
        for i in range(20000):
            k, v = b"e:%05d" % i, b"v%d" % i
            r = c.cmd("SET", k, v)
            if r == b"+OK\r\n":
                self.assertFalse(refused, "%s acknowledged after a -MISCONF" % k)
                acked[k] = v
            else:
                self.assertTrue(r.startswith(b"-MISCONF"), "SET -> %r" % r)
                refused.append(k)
                if len(refused) == 5:
                    break
        self.assertEqual(len(refused), 5, "no -MISCONF after 20000 SETs")
        self.refused_writes(c)
        self.assert_keys(c, acked)
        for k in refused:
            self.assertIsNone(cmd(c, "GET", k), k)
        self.assertEqual(info(c)["aof_last_write_status"], "err")
        c.close()
        s.crash()

        s = self.server()
        c = s.conn()
        self.assert_keys(c, acked)
        # The write whose fsync failed may have reached the disk anyway (it
        # is like one sent and never answered); the ones refused after it
        # were never written.
        for k in refused[1:] + [b"x", b"n", b"h", b"l"]:
            self.assertIsNone(cmd(c, "GET", k), "%s got -MISCONF, and is there after the restart" % k)
        self.assertEqual(c.cmd("SET", "x", "1"), b"+OK\r\n")
        c.close()
        self.stop_clean(s)


if __name__ == "__main__":
    main()
