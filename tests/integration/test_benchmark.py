"""keel-server under Debian's redis-benchmark (redis-tools)."""
import os
import re
import shutil
import subprocess
import unittest

from keelserver import KeelServer, main, skip_script

REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
RESULT = re.compile(r"^\s*([A-Z_0-9]+(?: \([^)]*\))?): ([0-9.]+) requests per second")

# redis-benchmark's default tests, by their -t names.
DEFAULT_TESTS = ["ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "rpush", "lpop",
                 "rpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100", "lrange_300",
                 "lrange_500", "lrange_600", "mset"]
# keel implements every command of the default set: each must pass.
MUST_PASS = set(DEFAULT_TESTS)


def parse(out):
    """{test name: requests per second} from -q output (progress lines end
    in \\r, results in \\n)."""
    res = {}
    for line in re.split(r"[\r\n]", out):
        m = RESULT.match(line)
        if m:
            res[m.group(1)] = float(m.group(2))
    return res


class BenchmarkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, "keel-server exited %r\n%s" % (code, cls.server.log.decode(errors="replace"))

    def bench(self, *args, timeout=120):
        p = subprocess.run([REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(self.server.port), "-q"]
                           + list(args), capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def check_plausible(self, args, expect):
        code, out, err = self.bench(*args)
        self.assertEqual(code, 0, out + err)
        res = parse(out)
        self.assertEqual(sorted(res), sorted(expect), out + err)
        for name, rps in res.items():
            # 20,000 requests on loopback: well over 500/s on any machine
            # this runs on, and far from absurd.
            self.assertTrue(500 < rps < 50_000_000, "%s: %s requests per second" % (name, rps))
        print("\n  " + "\n  ".join("%s: %.0f rps" % kv for kv in res.items()))
        if "Could not fetch server CONFIG" in out + err:
            print("  (redis-benchmark: WARNING: Could not fetch server CONFIG -- "
                  "CONFIG GET save/appendonly answered without a value)")
        self.assertTrue(self.server.alive())

    def test_set_get_incr_hset(self):
        self.check_plausible(["-n", "20000", "-t", "set,get,incr,hset"], ["SET", "GET", "INCR", "HSET"])

    def test_set_get_incr_hset_pipelined(self):
        self.check_plausible(["-n", "20000", "-P", "16", "-t", "set,get,incr,hset"],
                             ["SET", "GET", "INCR", "HSET"])

    def test_random_keys_and_big_values(self):
        self.check_plausible(["-n", "20000", "-r", "10000", "-d", "1000", "-c", "20", "-t", "set,get"],
                             ["SET", "GET"])

    def test_default_test_set(self):
        """Each default test alone with a small -n: every one must run."""
        passed, missing = {}, {}
        for t in DEFAULT_TESTS:
            code, out, err = self.bench("-n", "2000", "-t", t, timeout=60)
            res = parse(out)
            errs = re.findall(r"Error from server: (.*)", out + err)
            if code == 0 and res:
                passed[t] = res
            else:
                missing[t] = (errs[0].strip() if errs else "exit %d: %s" % (code, (out + err)[-200:]))
            self.assertTrue(self.server.alive(), "server died during %s" % t)
        print()
        for t in DEFAULT_TESTS:
            if t in passed:
                print("  %-12s ok    %s" % (t, ", ".join("%s %.0f rps" % kv for kv in passed[t].items())))
            else:
                print("  %-12s not yet: %s" % (t, missing[t]))
        for t in MUST_PASS:
            self.assertIn(t, passed, "redis-benchmark -t %s failed: %s" % (t, missing.get(t)))
        for t, why in missing.items():
            # Only a missing command may fail a test.
            self.assertIn("unknown command", why, "redis-benchmark -t %s: %s" % (t, why))
        self.assertEqual(self.server.call("PING"), b"+PONG\r\n")


if __name__ == "__main__":
    if not os.access(REDIS_BENCHMARK, os.X_OK):
        skip_script("redis-benchmark not found (Debian package redis-tools)")
    main()
