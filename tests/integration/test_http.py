"""The observability port: /health, /ready, /metrics (Prometheus text)."""
import json
import re
import unittest
import urllib.error
import urllib.request

from keelserver import KeelServer, main, reexec_for_module, skip_script

if not reexec_for_module("redis"):
    skip_script("redis-py is not installed (Debian package python3-redis)")

import redis  # noqa: E402


class HttpTest(unittest.TestCase):
    def setUp(self):
        self.srv = KeelServer("--http-port", "0").start()
        m = re.search(rb"http_port=(\d+)", self.srv.log)
        self.assertIsNotNone(m, self.srv.log)
        self.base = "http://127.0.0.1:%d" % int(m.group(1))

    def tearDown(self):
        self.srv.stop()

    def get(self, path):
        try:
            r = urllib.request.urlopen(self.base + path, timeout=5)
            return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def test_health_and_ready(self):
        status, ctype, body = self.get("/health")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/json")
        health = json.loads(body)
        self.assertEqual(health["status"], "ok")
        self.assertEqual(health["role"], "master")
        self.assertGreaterEqual(health["uptime_seconds"], 0)
        self.assertEqual(self.get("/ready")[0], 200)
        self.assertEqual(self.get("/nosuch")[0], 404)

    def test_metrics_follow_the_server(self):
        r = redis.Redis(host="127.0.0.1", port=self.srv.port)
        for i in range(25):
            r.set("k%d" % i, "v")
        r.get("k1")
        r.get("missing")
        status, ctype, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        values = dict(re.findall(r"^(keel_[a-z_]+(?:\{[^}]*\})?) (\S+)$", body, re.M))
        self.assertEqual(float(values["keel_keys"]), 25)
        self.assertEqual(float(values['keel_command_calls_total{cmd="set"}']), 25)
        self.assertEqual(float(values["keel_keyspace_hits_total"]), 1)
        self.assertEqual(float(values["keel_keyspace_misses_total"]), 1)
        self.assertEqual(float(values["keel_connected_clients"]), 1)
        self.assertGreater(float(values["keel_memory_used_bytes"]), 0)
        # The latency histogram of SET: cumulative buckets ending in +Inf
        # at the call count, and a sum that is the time measured.
        buckets = re.findall(
            r'^keel_command_duration_seconds_bucket\{cmd="set",le="([^"]+)"\} (\d+)$', body, re.M)
        self.assertGreater(len(buckets), 5)
        self.assertEqual(buckets[-1], ("+Inf", "25"))
        counts = [int(c) for _, c in buckets]
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(float(values['keel_command_duration_seconds_count{cmd="set"}']), 25)
        self.assertGreater(float(values['keel_command_duration_seconds_sum{cmd="set"}']), 0)
        # Every sample has HELP and TYPE lines.
        for name in ("keel_keys", "keel_commands_processed_total"):
            self.assertIn("# TYPE %s " % name, body)
            self.assertIn("# HELP %s " % name, body)
        r.close()

    def test_info_memory_and_cpu_come_from_the_runtime(self):
        r = redis.Redis(host="127.0.0.1", port=self.srv.port)
        info = r.info("all")
        self.assertGreater(info["used_memory"], 0)
        self.assertIn("used_cpu_user", info)
        self.assertEqual(info["tcp_port"], self.srv.port)
        # Commands are timed: usec in commandstats, percentiles in latencystats.
        r.set("x", "y")
        self.assertGreater(r.info("commandstats")["cmdstat_set"]["usec"], 0)
        lat = r.info("latencystats")["latency_percentiles_usec_set"]
        self.assertLessEqual(lat["p50"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["p99.9"])
        self.assertIn("master_repl_offset", r.info("replication"))
        r.close()

    def test_maxmemory_refuses_writes_and_evicts(self):
        r = redis.Redis(host="127.0.0.1", port=self.srv.port)
        for i in range(100):
            r.set("k%d" % i, "v" * 100)
        r.config_set("maxmemory", "1")
        with self.assertRaises(redis.exceptions.ResponseError) as cm:
            r.set("more", "v")
        self.assertEqual(str(cm.exception),
                         "OOM command not allowed when used memory > 'maxmemory'.")
        self.assertEqual(r.get("k1"), b"v" * 100)  # reads go on
        self.assertEqual(r.info("memory")["maxmemory_policy"], "noeviction")
        # allkeys-random: every key goes, and still over the limit: OOM.
        r.config_set("maxmemory-policy", "allkeys-random")
        with self.assertRaises(redis.exceptions.ResponseError):
            r.set("more", "v")
        self.assertEqual(r.dbsize(), 0)
        self.assertEqual(r.info("stats")["evicted_keys"], 100)
        r.config_set("maxmemory", "0")
        self.assertTrue(r.set("more", "v"))
        r.close()


if __name__ == "__main__":
    main()
